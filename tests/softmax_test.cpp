// softmax and log_softmax against float64 references, on every axis, with
// extreme inputs that a naive formula would overflow.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/cpu/vec.h"
#include "kernels/online_softmax.h"
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::Softmax, op_name::LogSoftmax};

class SoftmaxTest : public DeviceTest {};

std::vector<double> softmax_ref(const std::vector<double>& in, const TensorShape& s, int axis,
                                bool log) {
  std::vector<double> out(in.size());
  int64_t n = s.dim(axis);
  for (int64_t i = 0; i < s.num_elements(); ++i) {
    auto idx = unravel(i, s);
    double m = -INFINITY, sum = 0;
    for (int64_t k = 0; k < n; ++k) {
      idx[static_cast<size_t>(axis)] = k;
      m = std::max(m, in[static_cast<size_t>(ravel(idx, s))]);
    }
    for (int64_t k = 0; k < n; ++k) {
      idx[static_cast<size_t>(axis)] = k;
      sum += std::exp(in[static_cast<size_t>(ravel(idx, s))] - m);
    }
    double x = in[static_cast<size_t>(i)];
    out[static_cast<size_t>(i)] = log ? x - m - std::log(sum) : std::exp(x - m) / sum;
  }
  return out;
}

TEST_P(SoftmaxTest, EveryAxisMatchesReference) {
  const TensorShape shape{3, 4, 70};
  uint32_t seed = 1;
  for (DType dt : {float32, float64}) {
    std::vector<double> in;
    Tensor x = random_tensor(shape, dt, -20, 20, seed++, &in);
    for (int axis : {0, 1, 2, -1}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " axis " + std::to_string(axis));
      int a = axis < 0 ? axis + 3 : axis;
      EXPECT_TRUE(all_close(softmax(x, axis), softmax_ref(in, shape, a, false), shape,
                            dt == float32 ? 1e-5 : 1e-12, 1e-7));
      EXPECT_TRUE(all_close(log_softmax(x, axis), softmax_ref(in, shape, a, true), shape,
                            dt == float32 ? 1e-5 : 1e-12, 1e-5));
    }
  }
}

TEST_P(SoftmaxTest, LargeRowsAndExtremeValues) {
  std::vector<double> in;
  Tensor x = random_tensor({64, 1024}, float32, -100, 100, 9, &in);
  EXPECT_TRUE(
      all_close(log_softmax(x), softmax_ref(in, {64, 1024}, 1, true), {64, 1024}, 1e-5, 1e-4));
  // Rows longer than 1024 (a block per row on CUDA), and a single long row.
  for (TensorShape s : {TensorShape{5, 3001}, TensorShape{1, 70000}}) {
    std::vector<double> v;
    Tensor t = random_tensor(s, float32, -30, 30, 11, &v);
    int64_t n = s.dim(1);
    std::vector<double> sm(v.size()), lsm(v.size());
    for (int64_t r = 0; r < s.dim(0); ++r) {
      auto row = v.begin() + r * n;
      double m = *std::max_element(row, row + n), z = 0;
      for (int64_t i = 0; i < n; ++i) z += std::exp(row[i] - m);
      for (int64_t i = 0; i < n; ++i) {
        sm[static_cast<size_t>(r * n + i)] = std::exp(row[i] - m) / z;
        lsm[static_cast<size_t>(r * n + i)] = row[i] - m - std::log(z);
      }
    }
    EXPECT_TRUE(all_close(softmax(t), sm, s, 1e-5, 1e-8));
    EXPECT_TRUE(all_close(log_softmax(t), lsm, s, 1e-5, 1e-4));
  }
  auto y = softmax(constant({{1000.f, 1000.f}, {-1000.f, 0.f}})).to_vector<float>();
  EXPECT_FLOAT_EQ(y[0], 0.5f);
  EXPECT_FLOAT_EQ(y[1], 0.5f);
  EXPECT_FLOAT_EQ(y[2], 0.0f);
  EXPECT_FLOAT_EQ(y[3], 1.0f);
  float inf = std::numeric_limits<float>::infinity();
  auto z = log_softmax(constant({-inf, 0.f})).to_vector<float>();
  EXPECT_EQ(z[0], -inf);
  EXPECT_EQ(z[1], 0.f);
}

TEST_P(SoftmaxTest, BadInput) {
  EXPECT_THROW(softmax(constant(1.f)), InvalidArgument);
  EXPECT_THROW(softmax(ones({2, 2}), 2), InvalidArgument);
  EXPECT_THROW(log_softmax(ones({2}, int32)), InvalidArgument);
  EXPECT_EQ(softmax(zeros({0, 3})).shape(), (TensorShape{0, 3}));
}

// The CUDA kernel's online arithmetic (kernels/online_softmax.h), run on the
// host in the kernel's order: lane l takes elements l, l + L, ...; lanes merge
// by the xor butterfly of the warp shuffles; warps merge in order. It must
// give what the CPU's three-pass softmax gives, special rows included.
template <int kRowThreads>
std::vector<float> online_softmax(const std::vector<float>& row, bool log) {
  using State = kernels::OnlineSoftmax<float>;
  std::vector<State> lanes(kRowThreads);
  for (size_t i = 0; i < row.size(); ++i) lanes[i % kRowThreads].add(row[i]);
  for (int offset = 16; offset > 0; offset /= 2) {
    std::vector<State> before = lanes;
    for (int l = 0; l < kRowThreads; ++l)
      lanes[static_cast<size_t>(l)].merge(before[static_cast<size_t>(l ^ offset)].m,
                                          before[static_cast<size_t>(l ^ offset)].s);
  }
  State acc = lanes[0];
  for (int w = 1; w < kRowThreads / 32; ++w)
    acc.merge(lanes[static_cast<size_t>(w * 32)].m, lanes[static_cast<size_t>(w * 32)].s);
  float shift, sum;
  acc.finish(shift, sum);
  std::vector<float> out;
  for (float x : row) out.push_back(log ? x - (shift + std::log(sum)) : fn::exp_(x - shift) * (1 / sum));
  return out;
}

TEST(OnlineSoftmax, MatchesTheCpuKernelInTheCudaKernelsOrder) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  std::vector<std::vector<float>> rows = {{1000.f, 1000.f}, {-inf, 0.f}, {-inf, -inf, -inf}, {3.f},
                                          {1.f, nan, 2.f}, {1.f, inf, 2.f}, {inf, -inf}};
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0, 20);
  for (int n : {5, 33, 70, 1024, 3001}) {
    std::vector<float> r(static_cast<size_t>(n));
    for (auto& v : r) v = normal(gen);
    if (n > 40) r[37] = -inf;
    rows.push_back(r);
  }
  for (const auto& row : rows) {
    for (bool log : {false, true}) {
      Tensor x = constant(row);
      std::vector<float> cpu = (log ? log_softmax(x) : softmax(x)).to_vector<float>();
      for (const auto& got : {online_softmax<32>(row, log), online_softmax<256>(row, log)}) {
        for (size_t i = 0; i < row.size(); ++i) {
          SCOPED_TRACE("row of " + std::to_string(row.size()) + ", element " + std::to_string(i) +
                       (log ? ", log" : ""));
          if (std::isnan(cpu[i]) || std::isinf(cpu[i])) {
            EXPECT_EQ(std::isnan(got[i]), std::isnan(cpu[i]));
            if (!std::isnan(cpu[i])) {
              EXPECT_EQ(got[i], cpu[i]);
            }
          } else {
            EXPECT_NEAR(got[i], cpu[i], 1e-5 * std::fabs(cpu[i]) + (log ? 1e-4 : 1e-7));
          }
        }
      }
    }
  }
}

EMBER_INSTANTIATE_DEVICE_TESTS(SoftmaxTest);

// The softmax rows' exp for non-positive arguments gives exp8's bits.
TEST(SoftmaxExp, NonPositiveExpMatchesExp8Bitwise) {
  for (float base = -100.f; base <= 0.f; base += 0.37f) {
    cpu::vec::f8 x;
    for (int l = 0; l < 8; ++l) x[l] = std::min(0.f, base + 0.041f * static_cast<float>(l));
    cpu::vec::f8 a = cpu::vec::exp8(x), b = cpu::vec::exp8_nonpositive(x);
    EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << "near " << base;
  }
  cpu::vec::f8 nan = cpu::vec::splat(std::nanf(""));
  cpu::vec::f8 r = cpu::vec::exp8_nonpositive(nan);
  for (int l = 0; l < 8; ++l) EXPECT_TRUE(std::isnan(r[l]));
}

}  // namespace
}  // namespace ember::test
