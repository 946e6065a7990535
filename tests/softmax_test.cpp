// softmax and log_softmax against float64 references, on every axis, with
// extreme inputs that a naive formula would overflow.
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
