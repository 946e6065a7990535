// softmax and log_softmax against float64 references, on every axis, with
// extreme inputs that a naive formula would overflow.
#include <algorithm>
#include <cmath>
#include <limits>

#include "test_util.h"

namespace ember::test {
namespace {

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

EMBER_INSTANTIATE_DEVICE_TESTS(SoftmaxTest);

}  // namespace
}  // namespace ember::test
