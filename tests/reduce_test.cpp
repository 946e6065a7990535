// Reductions against float64 references over every axis set of a rank-3
// tensor (so every collapsed layout is hit), with keepdims, empty and 0-d
// inputs, plus argmax/argmin and the composite reductions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::Sum, op_name::Mean, op_name::Max, op_name::Min, op_name::Prod, op_name::All, op_name::Any, op_name::ArgMax, op_name::ArgMin, op_name::Cumsum, op_name::Cumprod, op_name::CumulativeLogsumexp};

using ReduceFn = std::function<Tensor(const Tensor&, Axes, bool)>;
using Combine = std::function<double(const std::vector<double>&)>;

struct ReduceCase {
  std::string name;
  ReduceFn op;
  Combine ref;
  std::vector<DType> dtypes;
  double lo, hi;
};

double sum_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double mean_of(const std::vector<double>& v) {
  return v.empty() ? NAN : sum_of(v) / double(v.size());
}

std::vector<ReduceCase> cases() {
  const std::vector<DType> numeric = {float32, float64, int32, int64};
  return {
      {"reduce_sum", reduce_sum, sum_of, numeric, -10, 10},
      {"reduce_mean", reduce_mean, mean_of, {float32, float64}, -10, 10},
      {"reduce_max", reduce_max, [](auto& v) { return *std::max_element(v.begin(), v.end()); },
       numeric, -10, 10},
      {"reduce_min", reduce_min, [](auto& v) { return *std::min_element(v.begin(), v.end()); },
       numeric, -10, 10},
      {"reduce_prod",
       reduce_prod,
       [](auto& v) { return std::accumulate(v.begin(), v.end(), 1.0, std::multiplies<>()); },
       {float32, float64, int64},
       0.5,
       1.5},
      {"reduce_logsumexp",
       reduce_logsumexp,
       [](auto& v) {
         double m = *std::max_element(v.begin(), v.end()), s = 0;
         for (double x : v) s += std::exp(x - m);
         return m + std::log(s);
       },
       {float32, float64},
       -10,
       10},
      {"reduce_variance",
       reduce_variance,
       [](auto& v) {
         double m = mean_of(v), s = 0;
         for (double x : v) s += (x - m) * (x - m);
         return s / double(v.size());
       },
       {float32, float64},
       -10,
       10},
      {"reduce_std",
       reduce_std,
       [](auto& v) {
         double m = mean_of(v), s = 0;
         for (double x : v) s += (x - m) * (x - m);
         return std::sqrt(s / double(v.size()));
       },
       {float32, float64},
       -10,
       10},
  };
}

// Reference: reduce `in` (of `shape`) over `axes`.
std::vector<double> reduce_ref(const std::vector<double>& in, const TensorShape& shape,
                               const std::vector<int64_t>& axes, const Combine& f,
                               TensorShape& out_shape, bool keepdims) {
  std::vector<bool> red(static_cast<size_t>(shape.rank()), false);
  for (int64_t a : axes) red[static_cast<size_t>(a < 0 ? a + shape.rank() : a)] = true;
  Dims kept, kept_keep;
  for (int i = 0; i < shape.rank(); ++i) {
    if (!red[static_cast<size_t>(i)]) kept.push_back(shape.dim(i));
    kept_keep.push_back(red[static_cast<size_t>(i)] ? 1 : shape.dim(i));
  }
  TensorShape ks(kept);
  out_shape = keepdims ? TensorShape(kept_keep) : ks;
  std::vector<std::vector<double>> groups(static_cast<size_t>(ks.num_elements()));
  for (int64_t i = 0; i < shape.num_elements(); ++i) {
    auto idx = unravel(i, shape);
    std::vector<int64_t> k;
    for (int d = 0; d < shape.rank(); ++d)
      if (!red[static_cast<size_t>(d)]) k.push_back(idx[static_cast<size_t>(d)]);
    groups[static_cast<size_t>(ravel(k, ks))].push_back(in[static_cast<size_t>(i)]);
  }
  std::vector<double> out;
  for (auto& g : groups) out.push_back(f(g));
  return out;
}

class ReduceTest : public DeviceTest {};

TEST_P(ReduceTest, EveryAxisSetMatchesFloat64Reference) {
  const TensorShape shape{4, 5, 6};
  const std::vector<std::vector<int64_t>> axis_sets = {{},     {0},    {1},       {2},  {0, 1},
                                                       {1, 2}, {0, 2}, {0, 1, 2}, {-1}, {2, 0}};
  uint32_t seed = 1;
  for (const auto& c : cases()) {
    for (DType dt : c.dtypes) {
      std::vector<double> in;
      Tensor x = random_tensor(shape, dt, c.lo, c.hi, seed++, &in);
      for (const auto& axes : axis_sets) {
        for (bool keep : {false, true}) {
          SCOPED_TRACE(c.name + " " + std::string(dtype_name(dt)) +
                       " axes=" + TensorShape(axes).to_debug_string() + (keep ? " keepdims" : ""));
          TensorShape want_shape;
          auto want = reduce_ref(in, shape, axes, c.ref, want_shape, keep);
          if (is_integer(dt))
            for (auto& w : want) w = std::trunc(w);
          EXPECT_TRUE(
              all_close(c.op(x, axes, keep), want, want_shape, dt == float32 ? 1e-5 : 1e-12, 1e-5));
        }
      }
      SCOPED_TRACE(c.name + " all axes");
      TensorShape all_shape;
      auto want = reduce_ref(in, shape, {0, 1, 2}, c.ref, all_shape, false);
      if (is_integer(dt)) want[0] = std::trunc(want[0]);
      EXPECT_TRUE(
          all_close(c.op(x, std::nullopt, false), want, {}, dt == float32 ? 1e-5 : 1e-12, 1e-5));
    }
  }
}

TEST_P(ReduceTest, LargeSumsAreAccurate) {
  // 2^22 + 12345 elements, across the threaded path; float32 values summed in double.
  const int64_t n = (int64_t{1} << 22) + 12345;
  std::vector<double> in;
  Tensor x = random_tensor({n}, float32, 0, 1, 3, &in);
  double want = sum_of(in);
  EXPECT_TRUE(all_close(reduce_sum(x), {want}, {}, 1e-6, 0));
  EXPECT_TRUE(all_close(reduce_mean(x), {want / double(n)}, {}, 1e-6, 0));
  std::vector<double> in2;
  Tensor y = random_tensor({2048, 2051}, float32, -1, 1, 4, &in2);
  TensorShape s0, s1;
  EXPECT_TRUE(all_close(reduce_sum(y, std::vector<int64_t>{0}),
                        reduce_ref(in2, {2048, 2051}, {0}, sum_of, s0, false), s0, 1e-5, 1e-5));
  EXPECT_TRUE(all_close(reduce_sum(y, std::vector<int64_t>{1}),
                        reduce_ref(in2, {2048, 2051}, {1}, sum_of, s1, false), s1, 1e-5, 1e-5));
}

TEST_P(ReduceTest, BoolReductions) {
  std::vector<double> in;
  Tensor x = random_tensor({3, 4}, bool_, 0, 1, 9, &in);
  TensorShape s;
  auto all_ref = [](auto& v) {
    return double(std::all_of(v.begin(), v.end(), [](double d) { return d != 0; }));
  };
  auto any_ref = [](auto& v) {
    return double(std::any_of(v.begin(), v.end(), [](double d) { return d != 0; }));
  };
  EXPECT_TRUE(all_close(reduce_all(x, std::vector<int64_t>{1}),
                        reduce_ref(in, {3, 4}, {1}, all_ref, s, false), s));
  EXPECT_TRUE(all_close(reduce_any(x, std::vector<int64_t>{0}),
                        reduce_ref(in, {3, 4}, {0}, any_ref, s, false), s));
  EXPECT_EQ(values(reduce_all(constant(std::vector<bool>{true, true}))), std::vector<double>{1});
  EXPECT_THROW(reduce_all(ones({2})), InvalidArgument);
  EXPECT_THROW(reduce_sum(constant(std::vector<bool>{true})), InvalidArgument);
}

TEST_P(ReduceTest, EmptyAndScalarInputs) {
  EXPECT_TRUE(all_close(reduce_sum(zeros({0, 3}), std::vector<int64_t>{0}), {0, 0, 0}, {3}, 0, 0));
  EXPECT_TRUE(all_close(reduce_sum(zeros({0, 3})), {0}, {}, 0, 0));
  EXPECT_TRUE(all_close(reduce_sum(zeros({0, 3}), std::vector<int64_t>{1}), {}, {0}, 0, 0));
  EXPECT_TRUE(all_close(reduce_prod(zeros({0})), {1}, {}, 0, 0));
  EXPECT_TRUE(std::isnan(reduce_mean(zeros({0})).item<float>()));
  EXPECT_EQ(reduce_max(zeros({0})).item<float>(), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(reduce_sum(constant(2.5f)).item<float>(), 2.5f);
  EXPECT_EQ(reduce_sum(constant(2.5f), std::vector<int64_t>{}).item<float>(), 2.5f);
}

TEST_P(ReduceTest, LogSumExpIsStable) {
  auto r = reduce_logsumexp(constant({1000.0, 1000.0}, float64));
  EXPECT_NEAR(r.item<double>(), 1000.0 + std::log(2.0), 1e-12);
  auto n = reduce_logsumexp(constant({-1000.0f, -1000.0f}));
  EXPECT_NEAR(n.item<float>(), -1000.0f + std::log(2.0f), 1e-3);
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(reduce_logsumexp(constant({-inf, -inf})).item<float>(), -inf);
}

TEST_P(ReduceTest, AxisErrors) {
  try {
    reduce_sum(ones({2, 3}), std::vector<int64_t>{2});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "[reduce_sum] axis 2 is out of range for a tensor of rank 2 (expected [-2, 2))");
  }
  EXPECT_THROW(reduce_sum(ones({2, 3}), std::vector<int64_t>{1, -1}), InvalidArgument);
  EXPECT_THROW(argmax(ones({2, 3}), 5), InvalidArgument);
  EXPECT_THROW(argmax(ones({0, 3}), 0), InvalidArgument);
}

class ArgTest : public DeviceTest {};

TEST_P(ArgTest, ArgmaxArgminMatchReference) {
  const TensorShape shape{3, 4, 5};
  for (DType dt : {float32, float64, int32, int64, uint8}) {
    std::vector<double> in;
    Tensor x =
        random_tensor(shape, dt, dt == uint8 ? 1 : -5, 5, 11, &in);  // small range: ties occur
    for (int64_t axis = -3; axis < 3; ++axis) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " axis " + std::to_string(axis));
      int64_t a = axis < 0 ? axis + 3 : axis;
      Dims od;
      for (int d = 0; d < 3; ++d)
        if (d != a) od.push_back(shape.dim(d));
      TensorShape os(od);
      std::vector<double> want_max, want_min;
      for (int64_t o = 0; o < os.num_elements(); ++o) {
        auto oi = unravel(o, os);
        int64_t bmax = 0, bmin = 0;
        double vmax = 0, vmin = 0;
        for (int64_t k = 0; k < shape.dim(static_cast<int>(a)); ++k) {
          std::vector<int64_t> idx = oi;
          idx.insert(idx.begin() + a, k);
          double v = in[static_cast<size_t>(ravel(idx, shape))];
          if (k == 0 || v > vmax) vmax = v, bmax = k;
          if (k == 0 || v < vmin) vmin = v, bmin = k;
        }
        want_max.push_back(double(bmax));
        want_min.push_back(double(bmin));
      }
      Tensor am = argmax(x, axis);
      EXPECT_EQ(am.dtype(), int64);
      EXPECT_TRUE(all_close(am, want_max, os));
      EXPECT_TRUE(all_close(argmin(x, axis), want_min, os));
    }
  }
}

// Running sums along every axis, with and without exclusive and reverse,
// against a float64 loop; and TensorFlow 2.21's values for a small case
// (tf.math.cumsum of [[1, 2, 3], [4, 5, 6]]).
class CumsumTest : public DeviceTest {};

// The running sums (or products) of `in` along `axis`, in float64, each
// output reducing the elements it counts directly.
std::vector<double> scan_reference(const std::vector<double>& in, const TensorShape& shape, int64_t axis,
                                   bool exclusive, bool reverse, bool product) {
  const int64_t a = axis < 0 ? axis + shape.rank() : axis, n = shape.dim(static_cast<int>(a));
  std::vector<double> want(in.size());
  for (int64_t i = 0; i < shape.num_elements(); ++i) {
    std::vector<int64_t> idx = unravel(i, shape);
    const int64_t at = idx[static_cast<size_t>(a)];
    double acc = product ? 1 : 0;
    for (int64_t k = 0; k < n; ++k) {
      const bool counted = reverse ? (exclusive ? k > at : k >= at) : (exclusive ? k < at : k <= at);
      idx[static_cast<size_t>(a)] = k;
      const double v = in[static_cast<size_t>(ravel(idx, shape))];
      if (counted) acc = product ? acc * v : acc + v;
    }
    want[static_cast<size_t>(i)] = acc;
  }
  return want;
}

TEST_P(CumsumTest, MatchesTheReferenceAndTensorFlow) {
  const Tensor x = constant({{1, 2, 3}, {4, 5, 6}});
  struct Tf {
    int64_t axis;
    bool exclusive, reverse;
    std::vector<int32_t> want;
  };
  for (const Tf& t : std::vector<Tf>{{0, false, false, {1, 2, 3, 5, 7, 9}},
                                     {0, false, true, {5, 7, 9, 4, 5, 6}},
                                     {0, true, false, {0, 0, 0, 1, 2, 3}},
                                     {0, true, true, {4, 5, 6, 0, 0, 0}},
                                     {1, false, false, {1, 3, 6, 4, 9, 15}},
                                     {1, false, true, {6, 5, 3, 15, 11, 6}},
                                     {1, true, false, {0, 1, 3, 0, 4, 9}},
                                     {-1, true, true, {5, 3, 0, 11, 6, 0}}})
    EXPECT_EQ(cumsum(x, t.axis, t.exclusive, t.reverse).to_vector<int32_t>(), t.want)
        << t.axis << " " << t.exclusive << " " << t.reverse;

  const TensorShape shape{3, 17, 5};
  for (DType dt : {float32, float64, int64, bfloat16}) {
    std::vector<double> in;
    Tensor xs = random_tensor(shape, dt, -3, 3, 5, &in);
    for (int64_t axis = -3; axis < 3; ++axis)
      for (int flags = 0; flags < 4; ++flags) {
        const bool exclusive = flags & 1, reverse = flags & 2;
        SCOPED_TRACE(std::string(dtype_name(dt)) + " axis " + std::to_string(axis) + " flags " + std::to_string(flags));
        const std::vector<double> want = scan_reference(in, shape, axis, exclusive, reverse, false);
        Tensor y = cumsum(xs, axis, exclusive, reverse);
        EXPECT_EQ(y.dtype(), dt);
        EXPECT_TRUE(all_close(y, want, shape, dt == bfloat16 ? 8e-3 : dt == float32 ? 1e-6 : 1e-13, dt == bfloat16 ? 1e-2 : 1e-6));
      }
  }
  EXPECT_EQ(cumsum(Tensor::empty({0, 3}, float32, Device::cpu()).to(GetParam()), 0).shape(), TensorShape({0, 3}));
  EXPECT_EQ(cumsum(Tensor::empty({2, 0}, float32, Device::cpu()).to(GetParam()), 1).shape(), TensorShape({2, 0}));
  EXPECT_EQ(error_of<InvalidArgument>([&] { cumsum(x, 2); }),
            "[cumsum] axis 2 is out of range for a tensor of rank 2 (expected [-2, 2))");
  EXPECT_EQ(error_of<InvalidArgument>([&] { cumsum(constant(1.f)); }), "[cumsum] x must have rank >= 1, got a scalar");
}

// Running logsumexps against log Σ eˣ in long double (each output over the
// elements it counts, shifted by their own maximum) along every axis, with
// exclusive (-inf first) and reverse; and no overflow where eˣ would.
TEST_P(CumsumTest, CumulativeLogsumexpMatchesTheReference) {
  const TensorShape shape{3, 6, 4};
  for (DType dt : {float32, float64, float16}) {
    std::vector<double> in;
    Tensor xs = random_tensor(shape, dt, -20, 20, 13, &in);
    const int64_t rank = shape.rank();
    for (int64_t axis = -rank; axis < rank; ++axis)
      for (int flags = 0; flags < 4; ++flags) {
        const bool exclusive = flags & 1, reverse = flags & 2;
        SCOPED_TRACE(std::string(dtype_name(dt)) + " axis " + std::to_string(axis) + " flags " + std::to_string(flags));
        const int64_t a = axis < 0 ? axis + rank : axis, n = shape.dim(static_cast<int>(a));
        std::vector<double> want(in.size());
        for (int64_t i = 0; i < shape.num_elements(); ++i) {
          std::vector<int64_t> idx = unravel(i, shape);
          const int64_t at = idx[static_cast<size_t>(a)];
          std::vector<long double> terms;
          for (int64_t k = 0; k < n; ++k) {
            if (!(reverse ? (exclusive ? k > at : k >= at) : (exclusive ? k < at : k <= at))) continue;
            idx[static_cast<size_t>(a)] = k;
            terms.push_back(in[static_cast<size_t>(ravel(idx, shape))]);
          }
          if (terms.empty()) {
            want[static_cast<size_t>(i)] = -INFINITY;
            continue;
          }
          const long double top = *std::max_element(terms.begin(), terms.end());
          long double sum = 0;
          for (long double t : terms) sum += std::exp(t - top);
          want[static_cast<size_t>(i)] = static_cast<double>(top + std::log(sum));
        }
        const Tensor y = cumulative_logsumexp(xs, axis, exclusive, reverse);
        EXPECT_EQ(y.dtype(), dt);
        EXPECT_TRUE(all_close(y, want, shape, dt == float16 ? 2e-3 : dt == float32 ? 1e-6 : 1e-14, 1e-6));
      }
  }
  // e^1000 overflows even double; the logsumexp of [1000, 1000, -inf] does not.
  EXPECT_TRUE(all_close(cumulative_logsumexp(constant({1000.0, 1000.0, -double(INFINITY)}, float64)),
                        {1000.0, 1000.0 + std::log(2.0), 1000.0 + std::log(2.0)}, {3}, 1e-15, 0));
  // An exclusive scan over a -inf: -inf (the logaddexp of two -inf), as TensorFlow 2.21 gives.
  EXPECT_TRUE(all_close(cumulative_logsumexp(constant({-double(INFINITY), 1.0}, float64), 0, true),
                        {-INFINITY, -INFINITY}, {2}, 0, 0));
  EXPECT_EQ(error_of<InvalidArgument>([&] { cumulative_logsumexp(constant(std::vector<int32_t>{1, 2})); })
                .find("[cumulative_logsumexp]"),
            0u);
}

// Running products: TensorFlow 2.21's values and gradient for
// [[2, -1, 0.5], [3, 0, 2]] (tf.math.cumprod; its gradient divides by x and
// gives 0 at a zero, div_no_nan, which ember keeps), and a float64 loop
// along every axis.
TEST_P(CumsumTest, CumprodMatchesTheReferenceAndTensorFlow) {
  Variable v(constant({{2.f, -1.f, 0.5f}, {3.f, 0.f, 2.f}}));
  GradientTape tape;
  const Tensor y = cumprod(v.read_value(), 1);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2, -2, -1, 3, 0, 0}));
  EXPECT_EQ(tape.gradient(y, std::vector<Source>{v})[0].to_vector<float>(), (std::vector<float>{-0.5f, 3, -2, 1, 0, 0}));
  EXPECT_EQ(cumprod(v.read_value(), 1, true, true).to_vector<float>(), (std::vector<float>{-0.5f, 0.5f, 1, 0, 2, 1}));

  const TensorShape shape{3, 7, 5};
  for (DType dt : {float32, float64, int64}) {
    std::vector<double> in;
    Tensor xs = random_tensor(shape, dt, 0.5, 1.6, 9, &in);
    for (int64_t axis = -3; axis < 3; ++axis)
      for (int flags = 0; flags < 4; ++flags) {
        const bool exclusive = flags & 1, reverse = flags & 2;
        SCOPED_TRACE(std::string(dtype_name(dt)) + " axis " + std::to_string(axis) + " flags " + std::to_string(flags));
        const std::vector<double> want = scan_reference(in, shape, axis, exclusive, reverse, true);
        Tensor y2 = cumprod(xs, axis, exclusive, reverse);
        EXPECT_EQ(y2.dtype(), dt);
        EXPECT_TRUE(all_close(y2, want, shape, dt == float32 ? 1e-6 : 1e-13, 1e-6));
      }
  }
  EXPECT_EQ(error_of<InvalidArgument>([&] { cumprod(constant(1.f)); }), "[cumprod] x must have rank >= 1, got a scalar");
}

EMBER_INSTANTIATE_DEVICE_TESTS(ReduceTest);
EMBER_INSTANTIATE_DEVICE_TESTS(ArgTest);
EMBER_INSTANTIATE_DEVICE_TESTS(CumsumTest);

// float32 sums stay accurate over long runs (cascaded: float lanes per block,
// double across blocks): 2^25 ones is exact, where a float running sum stops
// at 2^24; random values agree with a float64 sum to float precision.
TEST(ReduceAccuracy, LongFloat32SumsAreCascaded) {
  DeviceScope cpu(Device::cpu());
  EXPECT_EQ(reduce_sum(ones({int64_t{1} << 25})).item<float>(), 33554432.f);
  std::vector<double> vals;
  Tensor x = test::random_tensor({3000001}, float32, -1, 3, 99, &vals);
  double want = 0;
  for (double v : vals) want += v;
  EXPECT_NEAR(reduce_sum(x).item<float>(), want, std::abs(want) * 2e-7);
  EXPECT_NEAR(reduce_mean(x).item<float>(), want / 3000001.0, std::abs(want / 3000001.0) * 2e-7);
}

// The axis argument takes what TensorFlow's does: an axis, a list, nothing.
// Column sums and means of 16-bit floats (a bias gradient's reduction):
// each column accumulated in double in row order and rounded once, bit for
// bit, over lanes of eight columns and a tail, with an outer axis and without.
TEST(ReduceAccuracy, SixteenBitColumnSumsAreDoubleSumsRoundedOnce) {
  DeviceScope cpu(Device::cpu());
  uint32_t seed = 70;
  for (DType dt : {bfloat16, float16})
    for (TensorShape shape : {TensorShape{37, 21}, TensorShape{3, 37, 21}}) {
      SCOPED_TRACE(detail::str_cat(dtype_name(dt), " ", shape.to_debug_string()));
      std::vector<double> v;
      Tensor x = random_tensor(shape, dt, -4, 4, seed++, &v);
      const int64_t outer = shape.rank() == 3 ? 3 : 1, rows = 37, cols = 21;
      const int64_t axis = shape.rank() - 2;
      std::vector<double> sums = values(reduce_sum(x, std::vector<int64_t>{axis}));
      std::vector<double> means = values(reduce_mean(x, std::vector<int64_t>{axis}));
      ASSERT_EQ(static_cast<int64_t>(sums.size()), outer * cols);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < cols; ++k) {
          double total = 0;
          for (int64_t r = 0; r < rows; ++r) total += v[static_cast<size_t>((o * rows + r) * cols + k)];
          const size_t at = static_cast<size_t>(o * cols + k);
          EXPECT_EQ(sums[at], round_to(total, dt)) << "column " << k;
          EXPECT_EQ(means[at], round_to(total / rows, dt)) << "column " << k;
        }
    }
}

TEST(ReduceAxes, AnAxisOrAListOfAxes) {
  DeviceScope cpu(Device::cpu());
  Tensor x = constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  EXPECT_EQ(reduce_sum(x, 0).to_vector<float>(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(reduce_sum(x, -1).to_vector<float>(), (std::vector<float>{6, 15}));
  EXPECT_EQ(reduce_sum(x, {0}).to_vector<float>(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(reduce_max(x, {0, 1}).item<float>(), 6.f);
  EXPECT_EQ(reduce_mean(x, int64_t{1}, /*keepdims=*/true).shape(), (TensorShape{2, 1}));
  EXPECT_EQ(reduce_sum(x).item<float>(), 21.f);
  EXPECT_EQ(reduce_sum(x, std::vector<int64_t>{}).shape(), x.shape());  // no axis: unchanged
  EXPECT_EQ(argmax(x, 1, int32).to_vector<int32_t>(), (std::vector<int32_t>{2, 2}));
  EXPECT_EQ(argmin(x, 0, int32).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(argmax(x, -1).dtype(), int64);
  EXPECT_THROW(argmax(x, 0, float32), InvalidArgument);
}

}  // namespace
}  // namespace ember::test
