// top_k and in_top_k against references: values and indices by a stable
// sort of each row, ties to the lower index, NaN first.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::TopKV2, op_name::InTopKV2};

class SortTest : public DeviceTest {};

TEST_P(SortTest, TopKMatchesAStableSort) {
  for (DType dt : {float32, float64, int32, int64})
    for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{9}}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " k=" + std::to_string(k));
      std::vector<double> xv;
      Tensor x = random_tensor({4, 3, 9}, dt, -4, 4, 7, &xv);  // integers tie often
      auto r = top_k(x, k);
      std::vector<double> want_v, want_i;
      for (int64_t row = 0; row < 12; ++row) {
        std::vector<int64_t> idx(9);
        std::iota(idx.begin(), idx.end(), 0);
        std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
          return xv[static_cast<size_t>(row * 9 + a)] > xv[static_cast<size_t>(row * 9 + b)];
        });
        for (int64_t j = 0; j < k; ++j) {
          want_v.push_back(xv[static_cast<size_t>(row * 9 + idx[static_cast<size_t>(j)])]);
          want_i.push_back(double(idx[static_cast<size_t>(j)]));
        }
      }
      EXPECT_EQ(r.values.shape(), (TensorShape{4, 3, k}));
      EXPECT_EQ(r.indices.dtype(), int32);
      EXPECT_EQ(values(r.values), want_v);
      EXPECT_EQ(values(r.indices), want_i);
    }
  auto n = top_k(constant({1.f, NAN, 3.f}), 2);
  EXPECT_TRUE(std::isnan(values(n.values)[0]));
  EXPECT_EQ(values(n.indices), (std::vector<double>{1, 2}));
  EXPECT_THROW(top_k(constant({1.f, 2.f}), 3), InvalidArgument);
  EXPECT_THROW(top_k(constant(1.f), 1), InvalidArgument);
}

TEST_P(SortTest, TopKGradientScattersBack) {
  Tensor x = cast(constant({{1.f, 5.f, 3.f}, {4.f, 2.f, 6.f}}), float64);
  GradientTape tape;
  tape.watch(x);
  Tensor v = top_k(x, 2).values;
  Tensor g = tape.gradient(v * cast(constant({{1.f, 2.f}, {3.f, 4.f}}), float64), x);
  EXPECT_EQ(values(g), (std::vector<double>{0, 1, 2, 4, 0, 3}));
}

TEST_P(SortTest, InTopK) {
  Tensor p = constant({{0.1f, 0.5f, 0.5f, 0.2f}, {0.3f, NAN, 0.1f, 0.9f}, {0.1f, 0.2f, 0.3f, 0.4f}});
  // Row 0: class 2 ties class 1 at the boundary of k = 1: both count.
  EXPECT_EQ(values(in_top_k(constant({2, 0, 9}), p, 1)), (std::vector<double>{1, 0, 0}));
  EXPECT_EQ(values(in_top_k(constant({0, 1, 1}), p, 3)), (std::vector<double>{0, 0, 1}));  // 0.1 is 4th
  EXPECT_EQ(values(in_top_k(constant({int64_t{3}, int64_t{3}, int64_t{3}}), p, 1)),
            (std::vector<double>{0, 1, 1}));
  EXPECT_THROW(in_top_k(constant({1, 2}), p, 1), InvalidArgument);
}

EMBER_INSTANTIATE_DEVICE_TESTS(SortTest);

}  // namespace
}  // namespace ember::test
