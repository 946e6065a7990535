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

const CoveredOps covered{op_name::Softmax, op_name::LogSoftmax, op_name::SoftmaxCrossEntropyWithLogits,
                         op_name::SparseSoftmaxCrossEntropyWithLogits};

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

// Cross-entropy against float64: loss = log Σexp(x) - Σ labels·x per row
// (labels summing to one), backprop = softmax - labels.
TEST_P(SoftmaxTest, CrossEntropyMatchesReference) {
  const int64_t rows = 37, n = 1500;  // rows longer than a warp's share on CUDA too
  for (int64_t classes : {int64_t{10}, n}) {
    for (DType dt : {float32, float64}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " classes " + std::to_string(classes));
      std::vector<double> x, raw;
      Tensor logits = random_tensor({rows, classes}, dt, -30, 30, 5, &x);
      Tensor weights = random_tensor({rows, classes}, dt, 0, 1, 6, &raw);
      Tensor labels = weights / reduce_sum(weights, 1, true);
      std::vector<double> lab = values(labels);
      std::vector<int32_t> sparse(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) sparse[static_cast<size_t>(r)] = static_cast<int32_t>((r * 7) % classes);
      std::vector<double> want_dense(static_cast<size_t>(rows)), want_sparse(static_cast<size_t>(rows));
      std::vector<double> bp_dense(x.size()), bp_sparse(x.size());
      for (int64_t r = 0; r < rows; ++r) {
        double m = -INFINITY, sum = 0;
        for (int64_t i = 0; i < classes; ++i) m = std::max(m, x[static_cast<size_t>(r * classes + i)]);
        for (int64_t i = 0; i < classes; ++i) sum += std::exp(x[static_cast<size_t>(r * classes + i)] - m);
        double lse = m + std::log(sum), dense = 0;
        for (int64_t i = 0; i < classes; ++i) {
          auto k = static_cast<size_t>(r * classes + i);
          dense += lab[k] * (lse - x[k]);
          double p = std::exp(x[k] - lse);
          bp_dense[k] = p - lab[k];
          bp_sparse[k] = p - (i == sparse[static_cast<size_t>(r)]);
        }
        want_dense[static_cast<size_t>(r)] = dense;
        want_sparse[static_cast<size_t>(r)] =
            lse - x[static_cast<size_t>(r * classes + sparse[static_cast<size_t>(r)])];
      }
      double rtol = dt == float32 ? 2e-5 : 1e-12, atol = dt == float32 ? 1e-5 : 1e-12;
      auto d = execute(op_def(op_name::SoftmaxCrossEntropyWithLogits), {logits, labels});
      EXPECT_TRUE(all_close(d[0], want_dense, {rows}, rtol, atol));
      EXPECT_TRUE(all_close(d[1], bp_dense, {rows, classes}, rtol, atol));
      for (DType index : {int32, int64}) {
        Tensor l = cast(constant(sparse), index);
        auto sp = execute(op_def(op_name::SparseSoftmaxCrossEntropyWithLogits), {logits, l});
        EXPECT_TRUE(all_close(sp[0], want_sparse, {rows}, rtol, atol));
        EXPECT_TRUE(all_close(sp[1], bp_sparse, {rows, classes}, rtol, atol));
      }
      EXPECT_TRUE(all_close(softmax_cross_entropy_with_logits(labels, logits), want_dense, {rows},
                            rtol, atol));
    }
  }
}

TEST_P(SoftmaxTest, CrossEntropyFrontEndsTakeAnyBatchShape) {
  Tensor logits = random_tensor({2, 3, 5}, float32, -3, 3, 8);
  Tensor labels = constant({0, 4, 2, 1, 1, 3}, TensorShape{2, 3});
  Tensor got = sparse_softmax_cross_entropy_with_logits(labels, logits);
  EXPECT_EQ(got.shape(), (TensorShape{2, 3}));
  Tensor want = -reduce_sum(log_softmax(logits) * one_hot(labels, 5), -1);
  EXPECT_TRUE(all_close(got, values(want), {2, 3}, 1e-6, 1e-6));
  // Along axis 1 of a [2, 5, 3]: the same numbers.
  Tensor t = transpose(logits, {0, 2, 1});
  Tensor dense = softmax_cross_entropy_with_logits(transpose(one_hot(labels, 5), {0, 2, 1}), t, 1);
  EXPECT_TRUE(all_close(dense, values(want), {2, 3}, 1e-6, 1e-6));
}

TEST_P(SoftmaxTest, CrossEntropyBadInput) {
  Tensor logits = random_tensor({2, 3}, float32, -1, 1, 3);
  auto expect = [](auto f, const std::string& text) {
    try {
      f();
      ADD_FAILURE() << "no error; expected " << text;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  expect([&] { sparse_softmax_cross_entropy_with_logits(constant({1, 2, 0}), logits); },
         "[sparse_softmax_cross_entropy_with_logits] labels must have the logits' shape");
  expect([&] { sparse_softmax_cross_entropy_with_logits(constant({1.f, 2.f}), logits); },
         "labels must be int32 or int64, got float32");
  expect([&] { softmax_cross_entropy_with_logits(constant({1.f, 2.f}), logits); },
         "[softmax_cross_entropy_with_logits] labels have shape [2], logits [2,3]");
  expect([&] { softmax_cross_entropy_with_logits(cast(logits, float64), logits); },
         "labels are float64, logits float32");
  if (device().is_cpu()) {
    expect([&] { sparse_softmax_cross_entropy_with_logits(constant({1, 3}), logits).to_vector<float>(); },
           "Received a label value of 3 which is outside the valid range of [0, 3).");
    expect([&] { sparse_softmax_cross_entropy_with_logits(constant({-1, 0}), logits); },
           "Received a label value of -1");
  } else {
    // TensorFlow's GPU kernel: a NaN loss, no error.
    auto l = sparse_softmax_cross_entropy_with_logits(constant({1, 3}), logits).to_vector<float>();
    EXPECT_FALSE(std::isnan(l[0]));
    EXPECT_TRUE(std::isnan(l[1]));
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
