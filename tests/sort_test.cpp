// top_k and in_top_k against references: values and indices by a stable
// sort of each row, ties to the lower index, NaN first; sort and argsort
// against std::stable_sort and TensorFlow 2.21's values.
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

// k as a tensor: eagerly, and traced with k and the row's length unknown
// (tf.sort's top_k of k = tf.shape(x)[-1]).
TEST_P(SortTest, TopKTakesKAsATensor) {
  const Tensor x = constant({{3.f, 1.f, 4.f, 1.f, 5.f}, {9.f, 2.f, 6.f, 5.f, 3.f}});
  TopK eager = top_k(x, constant(int64_t{2}));
  EXPECT_EQ(eager.values.to_vector<float>(), (std::vector<float>{5, 4, 9, 6}));
  EXPECT_EQ(eager.indices.to_vector<int32_t>(), (std::vector<int32_t>{4, 2, 0, 2}));
  auto f = function([](Tensor in, Tensor k) {
    TopK t = top_k(in, k);
    EXPECT_EQ(t.values.shape(), (TensorShape{-1, -1}));
    return std::vector<Tensor>{t.values, t.indices};
  });
  auto traced = f.get_concrete_function(TensorSpec({-1, -1}, float32), TensorSpec({}, int32));
  std::vector<Tensor> r = traced.call({x, constant(3)});
  EXPECT_EQ(r[0].to_vector<float>(), (std::vector<float>{5, 4, 3, 9, 6, 5}));
  EXPECT_EQ(r[1].to_vector<int32_t>(), (std::vector<int32_t>{4, 2, 0, 0, 2, 3}));
  EXPECT_EQ(error_of<InvalidArgument>([&] { top_k(x, constant(6)); }), "[top_k] input must have at least k = 6 columns, got 5");
  EXPECT_THROW(top_k(x, constant({1, 2})), InvalidArgument);
}

// TensorFlow 2.21's tf.sort and tf.argsort of these values (ascending and
// descending, along the last axis and the first), and a float64 stable sort
// along each axis of a random tensor.
TEST_P(SortTest, SortAndArgsortAsTensorFlow) {
  const Tensor x = constant({{3.f, -1.f, 2.f, -1.f}, {0.5f, 4.f, 4.f, -2.f}});
  EXPECT_EQ(sort(x).to_vector<float>(), (std::vector<float>{-1, -1, 2, 3, -2, 0.5f, 4, 4}));
  EXPECT_EQ(argsort(x).to_vector<int32_t>(), (std::vector<int32_t>{1, 3, 2, 0, 3, 0, 1, 2}));
  EXPECT_EQ(sort(x, 0, true).to_vector<float>(), (std::vector<float>{3, 4, 4, -1, 0.5f, -1, 2, -2}));
  EXPECT_EQ(argsort(x, 0, true).to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 1, 0, 1, 0, 0, 1}));
  EXPECT_EQ(sort(constant({{3, INT32_MIN, INT32_MAX, 0}})).to_vector<int32_t>(),
            (std::vector<int32_t>{INT32_MIN, 0, 3, INT32_MAX}));
  EXPECT_EQ(argsort(constant({{3, INT32_MIN, INT32_MAX, 0}})).to_vector<int32_t>(), (std::vector<int32_t>{1, 3, 0, 2}));
  const std::vector<float> with_nan = sort(constant({1.f, NAN, -1.f})).to_vector<float>();
  EXPECT_TRUE(std::isnan(with_nan[0]));  // (first, as documented; TensorFlow's top_k has no rule for NaN)
  EXPECT_EQ(std::vector<float>(with_nan.begin() + 1, with_nan.end()), (std::vector<float>{-1, 1}));
  const Tensor u = cast(constant({3, 255, 0, 7}), uint8);
  EXPECT_EQ(values(sort(u)), (std::vector<double>{0, 3, 7, 255}));
  EXPECT_EQ(values(sort(u, -1, true)), (std::vector<double>{255, 7, 3, 0}));

  const TensorShape shape{4, 5, 6};
  std::vector<double> in;
  const Tensor r = random_tensor(shape, float64, -3, 3, 11, &in);
  for (int64_t axis = 0; axis < 3; ++axis)
    for (bool descending : {false, true}) {
      SCOPED_TRACE("axis " + std::to_string(axis) + (descending ? " descending" : ""));
      std::vector<double> want_v(in.size()), want_i(in.size());
      const int64_t n = shape.dim(static_cast<int>(axis));
      for (int64_t i = 0; i < shape.num_elements(); ++i) {
        std::vector<int64_t> at = unravel(i, shape);
        if (at[static_cast<size_t>(axis)] != 0) continue;  // once per line
        std::vector<int64_t> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        auto value = [&](int64_t k) {
          std::vector<int64_t> j = at;
          j[static_cast<size_t>(axis)] = k;
          return in[static_cast<size_t>(ravel(j, shape))];
        };
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t p, int64_t q) { return descending ? value(p) > value(q) : value(p) < value(q); });
        for (int64_t k = 0; k < n; ++k) {
          std::vector<int64_t> j = at;
          j[static_cast<size_t>(axis)] = k;
          want_v[static_cast<size_t>(ravel(j, shape))] = value(order[static_cast<size_t>(k)]);
          want_i[static_cast<size_t>(ravel(j, shape))] = double(order[static_cast<size_t>(k)]);
        }
      }
      EXPECT_EQ(values(sort(r, axis, descending)), want_v);
      EXPECT_EQ(values(argsort(r, axis, descending)), want_i);
    }
  EXPECT_EQ(error_of<InvalidArgument>([] { sort(constant(1.f)); }), "[sort] x must have rank >= 1, got a scalar");
  EXPECT_EQ(error_of<InvalidArgument>([&] { argsort(x, 2); }), "[argsort] axis 2 is out of range for rank 2");
}

EMBER_INSTANTIATE_DEVICE_TESTS(SortTest);

}  // namespace
}  // namespace ember::test
