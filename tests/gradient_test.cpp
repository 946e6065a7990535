// Gradients of composites against central differences in float64 (each
// op's own is checked by the every-op loop, tests/every_op_test.cpp), and
// second derivatives of a selection of ops against finite differences of
// their first derivatives (a tape around a tape).
#include <cmath>

#include "test_util.h"

namespace ember::test {
namespace {

// Ops met here only as the gradients of others, checked against central differences.
const CoveredOps covered{op_name::Identity, op_name::StopGradient, op_name::StridedSliceGrad, op_name::MirrorPadGrad};

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct Input {
  TensorShape shape;
  double lo = -2, hi = 2;
};

// loss(x) = Σ f(x) · w for a fixed random w: its gradient checks the whole
// vector-Jacobian product, not just the gradient of the sum.
double loss(const Fn& f, const std::vector<Tensor>& xs, const Tensor& w) {
  return reduce_sum(f(xs) * w).item<double>();
}

::testing::AssertionResult gradcheck(const Fn& f, const std::vector<Input>& specs, uint32_t seed,
                                     double tol = 1e-6) {
  std::vector<Tensor> xs;
  std::vector<std::vector<double>> vals;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::vector<double> v;
    xs.push_back(random_tensor(specs[i].shape, float64, specs[i].lo, specs[i].hi,
                               seed + static_cast<uint32_t>(i), &v));
    vals.push_back(v);
  }
  Tensor y0 = f(xs);
  Tensor w = random_tensor(y0.shape(), float64, 0.5, 1.5, seed + 100);
  std::vector<Tensor> analytic;
  {
    GradientTape tape;
    std::vector<Source> sources;
    for (auto& x : xs) {
      tape.watch(x);
      sources.emplace_back(x);
    }
    Tensor l = reduce_sum(f(xs) * w);
    analytic = tape.gradient(l, sources, UnconnectedGradients::Zero);
  }
  const double eps = 1e-6;
  for (size_t i = 0; i < xs.size(); ++i) {
    auto got = values(analytic[i]);
    if (!(analytic[i].shape() == specs[i].shape))
      return ::testing::AssertionFailure()
             << "gradient " << i << " has shape " << analytic[i].shape();
    for (size_t k = 0; k < vals[i].size(); ++k) {
      auto perturbed = [&](double delta) {
        std::vector<Tensor> p = xs;
        std::vector<double> v = vals[i];
        v[k] += delta;
        p[i] = make(v, specs[i].shape, float64);
        return loss(f, p, w);
      };
      double numeric = (perturbed(eps) - perturbed(-eps)) / (2 * eps);
      if (std::abs(got[k] - numeric) > tol * (1 + std::abs(numeric)))
        return ::testing::AssertionFailure()
               << "d/dx" << i << "[" << k << "]: analytic " << got[k] << ", numeric " << numeric;
    }
  }
  return ::testing::AssertionSuccess();
}

// f's gradient (from an inner tape) as a function: checking it with
// gradcheck checks second derivatives.
Fn gradient_of(const Fn& f) {
  return [f](const std::vector<Tensor>& xs) {
    GradientTape inner;
    for (auto& x : xs) inner.watch(x);
    Tensor y = f(xs);
    Tensor w = random_tensor(y.shape(), float64, 0.5, 1.5, 999);
    return inner.gradient(reduce_sum(y * w), xs[0], UnconnectedGradients::Zero);
  };
}

struct Case {
  std::string name;
  Fn f;
  std::vector<Input> inputs;
};

using V = const std::vector<Tensor>&;
const TensorShape s23{2, 3};

// Composites of several ops (every op alone is checked by the every-op loop,
// tests/every_op_test.cpp).
std::vector<Case> composites() {
  return {
      {"reduce_logsumexp", [](V x) { return reduce_logsumexp(x[0], std::vector<int64_t>{1}); }, {{{2, 4}}}},
      {"reduce_variance", [](V x) { return reduce_variance(x[0], std::vector<int64_t>{0}); }, {{{4, 3}}}},
      {"reduce_std", [](V x) { return reduce_std(x[0]); }, {{{4, 3}}}},
      {"where_of_products", [](V x) { return where(x[0] > 0.0, x[0] * x[1], x[1]); }, {{{2, 3}}, {{3}}}},
      {"expand_squeeze", [](V x) { return squeeze(expand_dims(x[0], 1)) * x[0]; }, {{s23}}},
      {"unstack_product",
       [](V x) {
         auto p = unstack(x[0], 1);
         return p[0] * p[2];
       },
       {{s23}}},
  };
}

class GradientTest : public DeviceTest {};

TEST_P(GradientTest, CompositesMatchCentralDifferences) {
  uint32_t seed = 1;
  for (const auto& c : composites()) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(gradcheck(c.f, c.inputs, seed += 10));
  }
}

TEST_P(GradientTest, SecondDerivativesMatchFiniteDifferencesOfTheFirst) {
  std::vector<Case> second = {
      {"exp", [](V x) { return exp(x[0]); }, {{s23}}},
      {"tanh", [](V x) { return tanh(x[0]); }, {{s23}}},
      {"sigmoid", [](V x) { return sigmoid(x[0]); }, {{s23}}},
      {"softplus", [](V x) { return softplus(x[0]); }, {{s23}}},
      {"gelu", [](V x) { return gelu(x[0]); }, {{s23}}},
      {"sqrt", [](V x) { return sqrt(x[0]); }, {{s23, 0.5, 2}}},
      {"log", [](V x) { return log(x[0]); }, {{s23, 0.5, 2}}},
      {"mul", [](V x) { return x[0] * x[0] * x[1]; }, {{s23}, {{3}}}},
      {"div", [](V x) { return x[1] / x[0]; }, {{s23, 0.5, 2}, {s23}}},
      {"pow", [](V x) { return pow(x[0], x[1]); }, {{s23, 0.5, 2}, {s23}}},
      {"softmax", [](V x) { return softmax(x[0]); }, {{{2, 4}}}},
      {"log_softmax", [](V x) { return log_softmax(x[0]); }, {{{2, 4}}}},
      {"conv2d", [](V x) { return conv2d(x[0], x[1], {.strides = {2}, .padding = "SAME"}); },
       {{{1, 4, 4, 2}}, {{2, 2, 2, 2}}}},
      {"avg_pool2d", [](V x) { return avg_pool2d(x[0] * x[0], {2}, {1}, "SAME"); }, {{{1, 3, 3, 2}}}},
      {"softmax_xent", [](V x) { return softmax_cross_entropy_with_logits(softmax(x[1]), x[0]); },
       {{{2, 4}}, {{2, 4}}}},
      {"sparse_softmax_xent",
       [](V x) { return sparse_softmax_cross_entropy_with_logits(constant({3, 1}), x[0]); },
       {{{2, 4}}}},
      {"matmul", [](V x) { return matmul(x[0], matmul(x[0], x[1])); }, {{{3, 3}}, {{3, 2}}}},
      {"reduce_max",
       [](V x) { return square(reduce_max(x[0], std::vector<int64_t>{1})); },
       {{{2, 4}}}},
      {"gather",
       [](V x) {
         return square(gather(x[0], constant({1, 1, 0})));
       },
       {{{2, 3}}}},
      {"strided_slice", [](V x) { return square(strided_slice(x[0], {0}, {3}, {2})); }, {{{4, 2}}}},
      {"pad_reflect",
       [](V x) {
         return square(pad(x[0], {{1, 1}}, PadMode::Reflect));
       },
       {{{3}}}},
  };
  uint32_t seed = 500;
  for (const auto& c : second) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(gradcheck(gradient_of(c.f), c.inputs, seed += 10, 1e-5));
  }
}

TEST_P(GradientTest, ReduceProdAtZeros) {
  // Rows with one zero, two zeros and none: d prod / d x_i is the product of the others.
  Tensor x = cast(constant({{2.0, 0.0, 3.0}, {0.0, 0.0, 4.0}, {1.0, 2.0, 3.0}}), float64);
  GradientTape tape;
  tape.watch(x);
  Tensor g = tape.gradient(reduce_prod(x, std::vector<int64_t>{1}), x);
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{0, 6, 0, 0, 0, 0, 6, 3, 2}));
  Tensor all = constant({0.0, 5.0}, float64);
  GradientTape t2;
  t2.watch(all);
  EXPECT_EQ(t2.gradient(reduce_prod(all), all).to_vector<double>(), (std::vector<double>{5, 0}));
}

// Inside a trace that does not know the batch: a broadcast add's gradient
// sums back to the bias (unbroadcast kept the unknown dimension instead of
// reshaping to a shape with two unknowns), and a reshape to a shape
// computed from the run-time shape passes its gradient back (the shape
// tensor, an attribute input, gets none).
TEST_P(GradientTest, GradientsInATraceOfUnknownDimensions) {
  auto f = function(
      [](Tensor x, Tensor b) {
        GradientTape tape;
        tape.watch(x);
        tape.watch(b);
        Tensor y = x * x + b;  // [batch, 2, 3] + [3]
        Tensor flat = reshape(y, concat({slice(shape(y, int64), {0}, {1}), constant(std::vector<int64_t>{6})}, 0));
        auto g = tape.gradient(reduce_sum(flat * flat), {x, b});
        return std::make_tuple(g[0], g[1]);
      },
      {.input_signature = std::vector<TensorSpec>{TensorSpec({-1, 2, 3}), TensorSpec({3})}});
  Tensor x = constant({1.f, -2.f, 0.5f, 3.f, 0.f, -1.f, 2.f, 1.f, -0.5f, 1.5f, 2.5f, -3.f}, {2, 2, 3});
  Tensor b = constant({0.5f, -1.f, 2.f});
  auto [gx, gb] = f(x, b);
  // d Σ (x² + b)² = 2(x² + b)·2x for x, Σ over batch and rows of 2(x² + b) for b.
  std::vector<double> xv = values(x), bv = values(b), want_x(12), want_b(3, 0);
  for (size_t i = 0; i < 12; ++i) {
    const double y = xv[i] * xv[i] + bv[i % 3];
    want_x[i] = 4 * y * xv[i];
    want_b[i % 3] += 2 * y;
  }
  EXPECT_TRUE(all_close(gx, want_x, {2, 2, 3}, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(gb, want_b, {3}, 1e-6, 1e-6));
}

// A broadcast the trace cannot see (dimensions or ranks it does not know):
// the gradients sum back to each input's run-time shape, as TensorFlow's
// BroadcastGradientArgs makes them; one concrete function serves both
// directions of the broadcast. Before, a [1, 5] input traced as [?, ?] got
// a [4, 5] gradient.
TEST_P(GradientTest, GradientsOfABroadcastTheTraceCannotSee) {
  auto grads = [](Tensor x, Tensor y) { return broadcast_product_gradients(x, y); };
  // d mean(z²) = 2z/n·(y + 1) for x and 2z/n·x for y, summed over what each was broadcast along.
  auto check = [](const Tensor& x, const Tensor& y, const Tensor& gx, const Tensor& gy) {
    const TensorShape out = broadcast_shapes(x.shape(), y.shape());
    const std::vector<double> xv = values(x), yv = values(y);
    std::vector<double> want_x(xv.size(), 0), want_y(yv.size(), 0);
    const auto n = static_cast<double>(out.num_elements());
    for (int64_t i = 0; i < out.num_elements(); ++i) {
      // The flat indices of x and y that output element i reads (right-aligned broadcast).
      int64_t rest = i, xi = 0, yi = 0, xs = 1, ys = 1;
      for (int a = out.rank() - 1; a >= 0; --a) {
        const int64_t at = rest % out.dim(a);
        rest /= out.dim(a);
        const int xa = a - (out.rank() - x.rank()), ya = a - (out.rank() - y.rank());
        if (xa >= 0) {
          xi += (x.dim(xa) == 1 ? 0 : at) * xs;
          xs *= x.dim(xa);
        }
        if (ya >= 0) {
          yi += (y.dim(ya) == 1 ? 0 : at) * ys;
          ys *= y.dim(ya);
        }
      }
      const double z = xv[static_cast<size_t>(xi)] * yv[static_cast<size_t>(yi)] + xv[static_cast<size_t>(xi)];
      want_x[static_cast<size_t>(xi)] += 2 * z / n * (yv[static_cast<size_t>(yi)] + 1);
      want_y[static_cast<size_t>(yi)] += 2 * z / n * xv[static_cast<size_t>(xi)];
    }
    EXPECT_TRUE(all_close(gx, want_x, x.shape(), 1e-12, 1e-12));
    EXPECT_TRUE(all_close(gy, want_y, y.shape(), 1e-12, 1e-12));
  };
  const Tensor a = random_tensor({4, 5}, float64, -1, 1, 1), row = random_tensor({1, 5}, float64, -1, 1, 2),
               col = random_tensor({4, 1}, float64, -1, 1, 3), vec = random_tensor({5}, float64, -1, 1, 4),
               cube = random_tensor({2, 4, 5}, float64, -1, 1, 5);
  {
    SCOPED_TRACE("unknown dimensions");
    ConcreteFunction cf = function(grads).get_concrete_function(TensorSpec({-1, -1}, float64), TensorSpec({-1, -1}, float64));
    for (const auto& [x, y] : {std::pair{a, row}, std::pair{row, a}, std::pair{col, row}, std::pair{a, a}}) {
      SCOPED_TRACE(x.shape().to_string() + " and " + y.shape().to_string());
      std::vector<Tensor> g = cf.call(std::vector<Tensor>{x, y});
      check(x, y, g[0], g[1]);
    }
  }
  {
    SCOPED_TRACE("unknown ranks");
    ConcreteFunction cf = function(grads).get_concrete_function(TensorSpec(TensorShape::unknown_rank(), float64),
                                                                TensorSpec(TensorShape::unknown_rank(), float64));
    for (const auto& [x, y] : {std::pair{cube, vec}, std::pair{vec, cube}, std::pair{a, col}, std::pair{vec, vec}}) {
      SCOPED_TRACE(x.shape().to_string() + " and " + y.shape().to_string());
      std::vector<Tensor> g = cf.call(std::vector<Tensor>{x, y});
      check(x, y, g[0], g[1]);
    }
  }
  // Where the trace knows enough (every shape, or matrices for a product),
  // no BroadcastGradientArgs: the sums are fixed when tracing.
  auto count = [](const ConcreteFunction& cf) {
    int n = 0;
    for (const Node& node : cf.graph().nodes) n += node.kind == Node::Kind::Op && node.op->name == op_name::BroadcastGradientArgs;
    return n;
  };
  EXPECT_EQ(count(function(grads).get_concrete_function(TensorSpec({4, 5}, float64), TensorSpec({1, 5}, float64))), 0);
  ConcreteFunction product = function([](Tensor x, Tensor w) {
                               GradientTape tape;
                               tape.watch(w);
                               return tape.gradient(reduce_sum(matmul(x, w)), std::vector<Source>{w})[0];
                             }).get_concrete_function(TensorSpec({-1, 5}, float64), TensorSpec({5, 3}, float64));
  EXPECT_EQ(count(product), 0) << product.graph().to_string();
  EXPECT_GT(count(function(grads).get_concrete_function(TensorSpec({-1, 5}, float64), TensorSpec({-1, 5}, float64))), 0);
}

TEST_P(GradientTest, NotDifferentiableOpsGiveNoGradient) {
  Tensor x = constant({1.5, -2.5}, float64);
  GradientTape tape({.persistent = true});
  tape.watch(x);
  EXPECT_FALSE(tape.gradient(floor(x), x).defined());
  EXPECT_FALSE(tape.gradient(round(x), x).defined());
  EXPECT_FALSE(tape.gradient(cast(argmax(x), float64), x).defined());
  EXPECT_FALSE(tape.gradient(stop_gradient(x) * 2.0, x).defined());
  EXPECT_FALSE(tape.gradient(cast(x > 0.0, float64), x).defined());
  EXPECT_EQ(tape.gradient(floor(x) + x, x).to_vector<double>(), (std::vector<double>{1, 1}));
}

EMBER_INSTANTIATE_DEVICE_TESTS(GradientTest);

}  // namespace
}  // namespace ember::test
