// Pooling against float64 references: max over the window's part inside the
// input, the average over that part only (TensorFlow's SAME semantics).
#include <cmath>

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::MaxPool, op_name::MaxPoolGrad, op_name::AvgPool, op_name::AvgPoolGrad};

class PoolTest : public DeviceTest {};

struct Case {
  TensorShape x;
  int64_t k, s;
  std::string padding;
};

void reference(const Case& c, const std::vector<double>& x, bool is_max, std::vector<double>& y,
               TensorShape& shape) {
  int64_t n = c.x.dim(0), h = c.x.dim(1), w = c.x.dim(2), ch = c.x.dim(3), oh, ow, pt = 0, pl = 0;
  if (c.padding == "VALID") {
    oh = (h - c.k) / c.s + 1, ow = (w - c.k) / c.s + 1;
  } else {
    oh = (h + c.s - 1) / c.s, ow = (w + c.s - 1) / c.s;
    pt = std::max<int64_t>((oh - 1) * c.s + c.k - h, 0) / 2;
    pl = std::max<int64_t>((ow - 1) * c.s + c.k - w, 0) / 2;
  }
  shape = TensorShape{n, oh, ow, ch};
  y.assign(static_cast<size_t>(shape.num_elements()), 0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t q = 0; q < ch; ++q) {
          double m = -INFINITY, sum = 0;
          int count = 0;
          for (int64_t a = 0; a < c.k; ++a)
            for (int64_t d = 0; d < c.k; ++d) {
              int64_t r = i * c.s - pt + a, col = j * c.s - pl + d;
              if (r < 0 || r >= h || col < 0 || col >= w) continue;
              double v = x[static_cast<size_t>(((b * h + r) * w + col) * ch + q)];
              m = std::max(m, v);
              sum += v;
              ++count;
            }
          y[static_cast<size_t>(((b * oh + i) * ow + j) * ch + q)] = is_max ? m : sum / count;
        }
}

TEST_P(PoolTest, MatchReferences) {
  uint32_t seed = 1;
  for (const Case& c : {Case{{2, 6, 7, 3}, 2, 2, "VALID"}, Case{{2, 6, 7, 3}, 3, 2, "SAME"},
                        Case{{1, 5, 5, 4}, 3, 1, "SAME"}, Case{{3, 4, 4, 1}, 4, 4, "VALID"}})
    for (DType dt : {float32, float64}) {
      SCOPED_TRACE(c.x.to_string() + " k" + std::to_string(c.k) + " s" + std::to_string(c.s) + " " +
                   c.padding + " " + std::string(dtype_name(dt)));
      std::vector<double> xv, y;
      Tensor x = random_tensor(c.x, dt, -5, 5, seed++, &xv);
      TensorShape shape;
      reference(c, xv, true, y, shape);
      EXPECT_TRUE(all_close(max_pool2d(x, {c.k}, {c.s}, c.padding), y, shape, 0, 0));
      reference(c, xv, false, y, shape);
      EXPECT_TRUE(all_close(avg_pool2d(x, {c.k}, {c.s}, c.padding), y, shape, 1e-6, 1e-6));
    }
}

TEST_P(PoolTest, MaxPoolGradGoesToTheFirstMaximum) {
  // Ties: the whole window equal; the gradient goes to its first element.
  Tensor x = ones({1, 2, 2, 1});
  GradientTape tape;
  tape.watch(x);
  Tensor y = max_pool2d(x, {2}, {2}, "VALID");
  EXPECT_EQ(values(tape.gradient(y, x)), (std::vector<double>{1, 0, 0, 0}));
  // AvgPoolGrad spreads evenly over the inside of each window.
  Tensor z = random_tensor({1, 3, 3, 1}, float32, -1, 1, 4);
  GradientTape t2;
  t2.watch(z);
  Tensor a = avg_pool2d(z, {2}, {2}, "SAME");  // windows of 4, 2, 2 and 1 elements
  EXPECT_EQ(values(t2.gradient(a, z)), (std::vector<double>{0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1}));
}

EMBER_INSTANTIATE_DEVICE_TESTS(PoolTest);

}  // namespace
}  // namespace ember::test
