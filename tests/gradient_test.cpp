// Every differentiable op's gradient against central differences in
// float64, and second derivatives of a selection of ops against finite
// differences of their first derivatives (a tape around a tape).
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

std::vector<Case> cases() {
  return {
      {"neg", [](V x) { return neg(x[0]); }, {{s23}}},
      {"abs", [](V x) { return abs(x[0]); }, {{s23, 0.2, 2}}},
      {"abs_negative", [](V x) { return abs(x[0]); }, {{s23, -2, -0.2}}},
      {"sign", [](V x) { return sign(x[0]) * x[0]; }, {{s23, 0.2, 2}}},
      {"exp", [](V x) { return exp(x[0]); }, {{s23}}},
      {"log", [](V x) { return log(x[0]); }, {{s23, 0.5, 3}}},
      {"log1p", [](V x) { return log1p(x[0]); }, {{s23, -0.5, 3}}},
      {"expm1", [](V x) { return expm1(x[0]); }, {{s23}}},
      {"sqrt", [](V x) { return sqrt(x[0]); }, {{s23, 0.5, 3}}},
      {"rsqrt", [](V x) { return rsqrt(x[0]); }, {{s23, 0.5, 3}}},
      {"square", [](V x) { return square(x[0]); }, {{s23}}},
      {"reciprocal", [](V x) { return reciprocal(x[0]); }, {{s23, 0.5, 3}}},
      {"sin", [](V x) { return sin(x[0]); }, {{s23}}},
      {"cos", [](V x) { return cos(x[0]); }, {{s23}}},
      {"tanh", [](V x) { return tanh(x[0]); }, {{s23}}},
      {"sigmoid", [](V x) { return sigmoid(x[0]); }, {{s23}}},
      {"relu", [](V x) { return relu(x[0]); }, {{{4, 5}, -2, 2}}},
      {"gelu", [](V x) { return gelu(x[0]); }, {{s23, -3, 3}}},
      {"gelu_tanh", [](V x) { return gelu(x[0], true); }, {{s23, -3, 3}}},
      {"softplus", [](V x) { return softplus(x[0]); }, {{s23, -3, 3}}},
      {"bias_add", [](V x) { return bias_add(x[0], x[1]); }, {{{2, 3, 4}}, {{4}}}},
      {"bias_add_nchw", [](V x) { return bias_add(x[0], x[1], "NCHW"); }, {{{2, 3, 4}}, {{3}}}},
      {"conv2d_same_s2", [](V x) { return conv2d(x[0], x[1], {.strides = {2}, .padding = "SAME"}); },
       {{{1, 5, 4, 2}}, {{3, 2, 2, 3}}}},
      {"conv2d_dilated", [](V x) { return conv2d(x[0], x[1], {.padding = "VALID", .dilations = {2}}); },
       {{{1, 6, 5, 2}}, {{2, 2, 2, 2}}}},
      {"depthwise_conv2d", [](V x) { return depthwise_conv2d(x[0], x[1], {.padding = "SAME"}); },
       {{{1, 4, 5, 2}}, {{3, 3, 2, 2}}}},
      {"max_pool2d", [](V x) { return max_pool2d(x[0], {2}, {1}, "SAME"); }, {{{1, 4, 5, 2}}}},
      {"avg_pool2d", [](V x) { return avg_pool2d(x[0], {3}, {2}, "SAME"); }, {{{1, 5, 5, 2}}}},
      {"fused_batch_norm",
       [](V x) { return fused_batch_norm(x[0], x[1], x[2], zeros({3}, float64), ones({3}, float64)).y; },
       {{{2, 2, 3, 3}}, {{3}, 0.5, 2}, {{3}}}},
      {"fused_batch_norm_inference",
       [](V x) { return fused_batch_norm(x[0], x[1], x[2], constant({0.1, -0.2, 0.3}, float64),
                                         constant({1.5, 0.5, 2.0}, float64), 0.001, false).y; },
       {{{2, 2, 3, 3}}, {{3}, 0.5, 2}, {{3}}}},
      {"leaky_relu", [](V x) { return leaky_relu(x[0], 0.1); }, {{{4, 5}, -2, 2}}},
      {"elu", [](V x) { return elu(x[0]); }, {{{4, 5}, -2, 2}}},
      {"selu", [](V x) { return selu(x[0]); }, {{{4, 5}, -2, 2}}},
      {"erf", [](V x) { return erf(x[0]); }, {{s23}}},
      {"identity", [](V x) { return identity(x[0]) * 2.0; }, {{s23}}},
      {"add_broadcast", [](V x) { return x[0] + x[1]; }, {{{2, 3}}, {{3}}}},
      {"sub_broadcast", [](V x) { return x[0] - x[1]; }, {{{2, 1}}, {{1, 3}}}},
      {"mul_broadcast", [](V x) { return x[0] * x[1]; }, {{{2, 3, 4}}, {{3, 1}}}},
      {"div_broadcast", [](V x) { return x[0] / x[1]; }, {{{2, 3}}, {{3}, 0.5, 2}}},
      {"pow", [](V x) { return pow(x[0], x[1]); }, {{s23, 0.5, 2}, {s23, -1.5, 1.5}}},
      {"maximum", [](V x) { return maximum(x[0], x[1]); }, {{{3, 4}}, {{4}}}},
      {"minimum", [](V x) { return minimum(x[0], x[1]); }, {{{3, 4}}, {{3, 1}}}},
      {"floormod", [](V x) { return floormod(x[0], x[1]); }, {{s23, 0.1, 0.9}, {s23, 1.1, 1.9}}},
      {"where", [](V x) { return where(x[0] > 0.0, x[0] * x[1], x[1]); }, {{{2, 3}}, {{3}}}},
      {"reduce_sum", [](V x) { return reduce_sum(x[0], std::vector<int64_t>{1}); }, {{{2, 3, 4}}}},
      {"reduce_sum_all", [](V x) { return reduce_sum(x[0]); }, {{{2, 3}}}},
      {"reduce_sum_keep",
       [](V x) {
         return reduce_sum(x[0], std::vector<int64_t>{0, 2}, true);
       },
       {{{2, 3, 4}}}},
      {"reduce_mean",
       [](V x) { return reduce_mean(x[0], std::vector<int64_t>{-1}); },
       {{{2, 3, 4}}}},
      {"reduce_max", [](V x) { return reduce_max(x[0], std::vector<int64_t>{1}); }, {{{3, 5}}}},
      {"reduce_min",
       [](V x) { return reduce_min(x[0], std::vector<int64_t>{0}, true); },
       {{{3, 5}}}},
      {"reduce_prod",
       [](V x) { return reduce_prod(x[0], std::vector<int64_t>{1}); },
       {{{2, 3}, 0.5, 2}}},
      {"reduce_logsumexp",
       [](V x) { return reduce_logsumexp(x[0], std::vector<int64_t>{1}); },
       {{{2, 4}}}},
      {"reduce_variance",
       [](V x) { return reduce_variance(x[0], std::vector<int64_t>{0}); },
       {{{4, 3}}}},
      {"reduce_std", [](V x) { return reduce_std(x[0]); }, {{{4, 3}}}},
      {"matmul", [](V x) { return matmul(x[0], x[1]); }, {{{2, 3}}, {{3, 4}}}},
      {"matmul_ta", [](V x) { return matmul(x[0], x[1], true, false); }, {{{3, 2}}, {{3, 4}}}},
      {"matmul_tb", [](V x) { return matmul(x[0], x[1], false, true); }, {{{2, 3}}, {{4, 3}}}},
      {"matmul_tatb", [](V x) { return matmul(x[0], x[1], true, true); }, {{{3, 2}}, {{4, 3}}}},
      {"batch_matmul", [](V x) { return matmul(x[0], x[1]); }, {{{2, 2, 3}}, {{3, 2}}}},
      {"batch_matmul_bcast",
       [](V x) { return matmul(x[0], x[1], false, true); },
       {{{1, 2, 3}}, {{2, 4, 3}}}},
      {"softmax", [](V x) { return softmax(x[0]); }, {{{2, 4}}}},
      {"softmax_axis0", [](V x) { return softmax(x[0], 0); }, {{{3, 2}}}},
      {"log_softmax", [](V x) { return log_softmax(x[0]); }, {{{2, 4}}}},
      {"softmax_xent", [](V x) { return softmax_cross_entropy_with_logits(softmax(x[1]), x[0]); },
       {{{3, 4}}, {{3, 4}}}},
      {"softmax_xent_axis0",
       [](V x) { return softmax_cross_entropy_with_logits(softmax(x[1], 0), x[0], 0); },
       {{{3, 4}}, {{3, 4}}}},
      {"sparse_softmax_xent",
       [](V x) { return sparse_softmax_cross_entropy_with_logits(constant({2, 0, 3}), x[0]); },
       {{{3, 4}}}},
      {"reshape",
       [](V x) {
         return reshape(x[0], {3, 2}) * x[1];
       },
       {{s23}, {{2}}}},
      {"expand_squeeze", [](V x) { return squeeze(expand_dims(x[0], 1)) * x[0]; }, {{s23}}},
      {"broadcast_to",
       [](V x) {
         return broadcast_to(x[0], {2, 3});
       },
       {{{3}}}},
      {"transpose",
       [](V x) {
         return transpose(x[0], {2, 0, 1});
       },
       {{{2, 3, 4}}}},
      {"slice",
       [](V x) {
         return slice(x[0], {0, 1}, {2, 2});
       },
       {{{3, 4}}}},
      {"strided_slice",
       [](V x) {
         return strided_slice(x[0], {0, 3}, {2, 0}, {1, -2});
       },
       {{{3, 5}}}},
      {"strided_slice_shrink",
       [](V x) { return strided_slice(x[0], {1}, {2}, {1}, {.shrink_axis_mask = 1}); },
       {{{3, 4}}}},
      {"concat",
       [](V x) {
         return concat({x[0], x[1], x[0]}, 1);
       },
       {{{2, 2}}, {{2, 3}}}},
      {"stack",
       [](V x) {
         return stack({x[0], x[1]}, 1);
       },
       {{s23}, {s23}}},
      {"unstack",
       [](V x) {
         auto p = unstack(x[0], 1);
         return p[0] * p[2];
       },
       {{s23}}},
      {"split",
       [](V x) {
         auto p = split(x[0], std::vector<int64_t>{1, 3}, 1);
         return p[1] * 2.0;
       },
       {{{2, 4}}}},
      {"tile",
       [](V x) {
         return tile(x[0], {2, 3});
       },
       {{{2, 2}}}},
      {"pad",
       [](V x) {
         return pad(x[0], {{1, 0}, {2, 1}});
       },
       {{s23}}},
      {"pad_reflect",
       [](V x) {
         return pad(x[0], {{1, 1}, {2, 1}}, PadMode::Reflect);
       },
       {{{3, 4}}}},
      {"pad_symmetric",
       [](V x) {
         return pad(x[0], {{2, 0}, {1, 3}}, PadMode::Symmetric);
       },
       {{{3, 4}}}},
      {"gather",
       [](V x) {
         return gather(x[0], constant({2, 0, 2}), 1);
       },
       {{{2, 3, 2}}}},
      {"gather_batch",
       [](V x) {
         return gather(x[0], constant({{1, 1}, {0, 2}}), 1, 1);
       },
       {{{2, 3, 2}}}},
      {"gather_nd",
       [](V x) {
         return gather_nd(x[0], constant({{1, 0}, {1, 0}, {0, 2}}));
       },
       {{{2, 3}}}},
      {"gather_nd_batch",
       [](V x) {
         return gather_nd(x[0], constant(std::vector<int32_t>{2, 0}, {2, 1, 1}), 1);
       },
       {{{2, 3, 2}}}},
      {"scatter_nd",
       [](V x) {
         return scatter_nd(constant({{1}, {3}, {1}}), x[0], {5, 2});
       },
       {{{3, 2}}}},
      {"tensor_scatter_add",
       [](V x) {
         return tensor_scatter_add(x[0], constant({{0}, {2}}), x[1]);
       },
       {{{3, 2}}, {{2, 2}}}},
      {"segment_sum",
       [](V x) {
         return unsorted_segment_sum(x[0], constant({2, 0, 2}), 4);
       },
       {{{3, 2}}}},
  };
}

class GradientTest : public DeviceTest {};

TEST_P(GradientTest, EveryOpMatchesCentralDifferences) {
  uint32_t seed = 1;
  for (const auto& c : cases()) {
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
