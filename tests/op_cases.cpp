// The case table (op_cases.h): every op, by family, in the order of
// core/ops/. A case calls its op through the public front-end where there is
// one, else through the dispatch point with TensorFlow's attributes; index
// tensors and other fixed operands are made inside the body (on the device
// under test).
#include "op_cases.h"

#include <algorithm>

#include "core/collective.h"
#include "core/tensor_list.h"
#include "graph/control_flow.h"
#include "graph/function.h"

// Cases name only the fields they set (designated initializers); GCC warns
// about every field left to its default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ember::test {
namespace {

using X = const std::vector<Tensor>&;
using Shape = TensorShape;

const std::vector<DType> kFloat = {float32, float64, float16, bfloat16};
const std::vector<DType> kF32F64 = {float32, float64};
const std::vector<DType> kNumeric = {float32, float64, float16, bfloat16, int32, int64};
const std::vector<DType> kBool = {bool_};

std::vector<Tensor> run(std::string_view op, std::vector<Tensor> in, const Attrs& attrs = {}) {
  return execute(op_def(op), in, attrs);
}

/// A body returning one tensor.
template <typename F>
OpBody one(F f) {
  return [f](X x, DType) { return std::vector<Tensor>{f(x)}; };
}

/// An input of the case's dtype.
OpInput in(Shape s, double lo = -2, double hi = 2) {
  return {.shape = std::move(s), .lo = lo, .hi = hi};
}
/// An input of a fixed dtype that is not a gradient source (indices, predicates).
OpInput fixed(Shape s, DType t, double lo = -2, double hi = 2) {
  return {.shape = std::move(s), .lo = lo, .hi = hi, .fixed = t, .differentiable = false};
}
/// An input of the case's dtype that is not a gradient source.
OpInput constant_input(Shape s, double lo = -2, double hi = 2) {
  return {.shape = std::move(s), .lo = lo, .hi = hi, .differentiable = false};
}
/// An input handed over as a variable's handle.
OpInput var(Shape s, double lo = -2, double hi = 2) {
  return {.shape = std::move(s), .lo = lo, .hi = hi, .variable = true};
}

Tensor idx(std::vector<int32_t> v, Shape s) { return constant(v, s); }
Tensor idx(std::vector<int32_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return constant(v, Shape{n});
}
Tensor scalar_index(int32_t i) { return constant(i); }

using Ints = std::vector<int64_t>;

Attrs conv_attrs(Ints strides, std::string padding, Ints dilations = {1, 1, 1, 1}) {
  return {{"strides", std::move(strides)},
          {"padding", std::move(padding)},
          {"explicit_paddings", Ints{}},
          {"dilations", std::move(dilations)},
          {"data_format", std::string("NHWC")}};
}
Attrs pool_attrs(Ints ksize, Ints strides, std::string padding) {
  return {{"ksize", std::move(ksize)},
          {"strides", std::move(strides)},
          {"padding", std::move(padding)},
          {"data_format", std::string("NHWC")}};
}
Attrs bn_grad_attrs() {
  return {{"epsilon", 0.001}, {"data_format", std::string("NHWC")}, {"is_training", true}};
}
Attrs bn_attrs() {
  Attrs a = bn_grad_attrs();
  a.set("exponential_avg_factor", 1.0);
  return a;
}

void unary(std::vector<OpCase>& cases) {
  struct U {
    const char* op;
    Tensor (*f)(const Tensor&);
    double lo, hi;
    std::vector<DType> dtypes;
  };
  const std::vector<U> table = {
      {op_name::Neg, [](const Tensor& x) { return neg(x); }, -2, 2, kNumeric},
      {op_name::Abs, [](const Tensor& x) { return abs(x); }, 0.2, 2, kNumeric},
      {op_name::Sign, [](const Tensor& x) { return sign(x) * x; }, -2, 2, kNumeric},
      {op_name::Exp, [](const Tensor& x) { return exp(x); }, -2, 2, kFloat},
      {op_name::Log, [](const Tensor& x) { return log(x); }, 0.5, 3, kFloat},
      {op_name::Log1p, [](const Tensor& x) { return log1p(x); }, -0.5, 3, kFloat},
      {op_name::Expm1, [](const Tensor& x) { return expm1(x); }, -2, 2, kFloat},
      {op_name::Sqrt, [](const Tensor& x) { return sqrt(x); }, 0.5, 3, kFloat},
      {op_name::Rsqrt, [](const Tensor& x) { return rsqrt(x); }, 0.5, 3, kFloat},
      {op_name::Square, [](const Tensor& x) { return square(x); }, -2, 2, kNumeric},
      {op_name::Reciprocal, [](const Tensor& x) { return reciprocal(x); }, 0.5, 3, kFloat},
      {op_name::Sin, [](const Tensor& x) { return sin(x); }, -2, 2, kFloat},
      {op_name::Cos, [](const Tensor& x) { return cos(x); }, -2, 2, kFloat},
      {op_name::Tan, [](const Tensor& x) { return tan(x); }, -1.2, 1.2, kFloat},
      {op_name::Asin, [](const Tensor& x) { return asin(x); }, -0.9, 0.9, kFloat},
      {op_name::Acos, [](const Tensor& x) { return acos(x); }, -0.9, 0.9, kFloat},
      {op_name::Atan, [](const Tensor& x) { return atan(x); }, -2, 2, kFloat},
      {op_name::Sinh, [](const Tensor& x) { return sinh(x); }, -2, 2, kFloat},
      {op_name::Cosh, [](const Tensor& x) { return cosh(x); }, -2, 2, kFloat},
      {op_name::Asinh, [](const Tensor& x) { return asinh(x); }, -2, 2, kFloat},
      {op_name::Acosh, [](const Tensor& x) { return acosh(x); }, 1.2, 3, kFloat},
      {op_name::Atanh, [](const Tensor& x) { return atanh(x); }, -0.9, 0.9, kFloat},
      {op_name::Tanh, [](const Tensor& x) { return tanh(x); }, -2, 2, kFloat},
      {op_name::Sigmoid, [](const Tensor& x) { return sigmoid(x); }, -2, 2, kFloat},
      {op_name::Relu, [](const Tensor& x) { return relu(x); }, -2, 2, kNumeric},
      {op_name::Gelu, [](const Tensor& x) { return gelu(x); }, -3, 3, kFloat},
      {op_name::Softplus, [](const Tensor& x) { return softplus(x); }, -3, 3, kFloat},
      {op_name::LeakyRelu, [](const Tensor& x) { return leaky_relu(x, 0.1); }, -2, 2, kFloat},
      {op_name::Elu, [](const Tensor& x) { return elu(x); }, -2, 2, kFloat},
      {op_name::Selu, [](const Tensor& x) { return selu(x); }, -2, 2, kFloat},
      {op_name::Erf, [](const Tensor& x) { return erf(x); }, -2, 2, kFloat},
      {op_name::Erfc, [](const Tensor& x) { return erfc(x); }, -2, 2, kFloat},
      {op_name::Softsign, [](const Tensor& x) { return softsign(x); }, -2, 2, kFloat},
      {op_name::Lgamma, [](const Tensor& x) { return lgamma(x); }, 0.2, 4, kFloat},
      {op_name::Digamma, [](const Tensor& x) { return digamma(x); }, 0.2, 4, kFloat},
      {op_name::Erfinv, [](const Tensor& x) { return erfinv(x); }, -0.9, 0.9, kFloat},
      {op_name::CheckNumerics, [](const Tensor& x) { return check_numerics(x, "finite"); }, -2, 2, kFloat},
      {op_name::Floor, [](const Tensor& x) { return floor(x); }, -3, 3, kFloat},
      {op_name::Ceil, [](const Tensor& x) { return ceil(x); }, -3, 3, kFloat},
      {op_name::Round, [](const Tensor& x) { return round(x); }, -3, 3, kFloat},
      {op_name::Identity, [](const Tensor& x) { return identity(x); }, -2, 2, kNumeric},
      {op_name::Snapshot, [](const Tensor& x) { return snapshot(x); }, -2, 2, kNumeric},
      {op_name::StopGradient, [](const Tensor& x) { return stop_gradient(x); }, -2, 2, kNumeric},
      {op_name::OnesLike, [](const Tensor& x) { return ones_like(x); }, -2, 2, kNumeric},
      {op_name::ZerosLike, [](const Tensor& x) { return zeros_like(x); }, -2, 2, kNumeric},
  };
  for (const U& u : table) {
    auto f = u.f;
    cases.push_back({.op = u.op,
                     .inputs = {in({2, 3}, u.lo, u.hi)},
                     .body = one([f](X x) { return f(x[0]); }),
                     .dtypes = u.dtypes});
  }
  for (OpCase& c : cases)
    if (c.op == op_name::Gelu) c.exported_as = op_name::Erf;
  cases.push_back({.op = op_name::Abs,
                   .variant = "negative",
                   .inputs = {in({2, 3}, -2, -0.2)},
                   .body = one([](X x) { return abs(x[0]); })});
  cases.push_back({.op = op_name::Gelu,
                   .variant = "tanh",
                   .inputs = {in({2, 3}, -3, 3)},
                   .body = one([](X x) { return gelu(x[0], true); }),
                   .exported_as = op_name::Tanh});
  cases.push_back(
      {.op = op_name::Relu, .variant = "4x5", .inputs = {in({4, 5})}, .body = one([](X x) {
                                                                        return relu(x[0]);
                                                                      })});
  cases.push_back({.op = op_name::ReluGrad,
                   .inputs = {in({3, 4}), in({3, 4})},
                   .body = one([](X x) {
                     return run(op_name::ReluGrad, {x[0], x[1]})[0];
                   })});
  // GeluGrad (gelu's adjoint): its gradient, in dy and in x (gelu''), by
  // central differences; TensorFlow gets the formula's Tanh or Erf.
  for (bool approximate : {true, false})
    cases.push_back({.op = op_name::GeluGrad,
                     .variant = approximate ? "tanh" : "erf",
                     .inputs = {in({3, 4}), in({3, 4}, -3, 3)},
                     .body = one([approximate](X x) {
                       return run(op_name::GeluGrad, {x[0], x[1]}, {{"approximate", approximate}})[0];
                     }),
                     .exported_as = approximate ? op_name::Tanh : op_name::Erf});
  cases.push_back({.op = op_name::Check,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) { return check(x[0], constant(true), "holds"); }),
                   .exported_as = op_name::Identity});  // (TensorFlow's form drops ember's check)
  cases.push_back({.op = op_name::LogicalNot,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) { return logical_not(x[0]); }),
                   .dtypes = kBool});
  cases.push_back(
      {.op = op_name::Cast,
       .variant = "to float64",
       .inputs = {in({2, 3})},
       .body = one([](X x) { return cast(x[0], x[0].dtype() == float64 ? float32 : float64); }),
       .grad_eps = 1e-3,
       .grad_tol = 1e-4});  // through float32: the steps are rounded
  cases.push_back({.op = op_name::Cast,
                   .variant = "to int32",
                   .inputs = {in({2, 3}, -3, 3)},
                   .body = one([](X x) { return cast(x[0], int32); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Cast,
                   .variant = "to bool",
                   .inputs = {in({2, 3}, -3, 3)},
                   .body = one([](X x) { return cast(x[0], bool_); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::EnsureShape,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) {
                     return ensure_shape(x[0], Shape{2, -1});
                   }),
                   .dtypes = kNumeric});
}

void binary(std::vector<OpCase>& cases) {
  struct B {
    const char* op;
    Tensor (*f)(const Tensor&, const Tensor&);
    Shape a, b;
    double lo_b, hi_b;
    std::vector<DType> dtypes;
  };
  const std::vector<B> table = {
      {op_name::AddV2,
       [](const Tensor& a, const Tensor& b) { return a + b; },
       {2, 3},
       {3},
       -2,
       2,
       kNumeric},
      {op_name::Sub,
       [](const Tensor& a, const Tensor& b) { return a - b; },
       {2, 1},
       {1, 3},
       -2,
       2,
       kNumeric},
      {op_name::Mul,
       [](const Tensor& a, const Tensor& b) { return a * b; },
       {2, 3, 4},
       {3, 1},
       -2,
       2,
       kNumeric},
      {op_name::RealDiv,
       [](const Tensor& a, const Tensor& b) { return a / b; },
       {2, 3},
       {3},
       0.5,
       2,
       kFloat},
      {op_name::Maximum,
       [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       {3, 4},
       {4},
       -2,
       2,
       kNumeric},
      {op_name::Minimum,
       [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       {3, 4},
       {3, 1},
       -2,
       2,
       kNumeric},
      {op_name::FloorMod,
       [](const Tensor& a, const Tensor& b) { return floormod(a, b); },
       {2, 3},
       {2, 3},
       1.1,
       1.9,
       kFloat},
      {op_name::TruncateMod,
       [](const Tensor& a, const Tensor& b) { return truncatemod(a, b); },
       {2, 3},
       {2, 3},
       1.1,
       1.9,
       kFloat},
      {op_name::Atan2, [](const Tensor& y, const Tensor& x) { return atan2(y, x); }, {2, 3}, {3}, -2, 2, kFloat},
      {op_name::DivNoNan,
       [](const Tensor& a, const Tensor& b) { return div_no_nan(a, b); },
       {2, 3},
       {3},
       0.5,
       2,
       kFloat},
      {op_name::Xdivy, [](const Tensor& x, const Tensor& y) { return xdivy(x, y); }, {2, 3}, {2, 3}, 0.5, 2, kFloat},
      {op_name::Xlogy, [](const Tensor& x, const Tensor& y) { return xlogy(x, y); }, {2, 3}, {3}, 0.5, 2, kFloat},
      {op_name::Xlog1py,
       [](const Tensor& x, const Tensor& y) { return xlog1py(x, y); },
       {2, 1},
       {2, 3},
       0.5,
       2,
       kFloat},
  };
  for (const B& b : table) {
    auto f = b.f;
    cases.push_back({.op = b.op,
                     .inputs = {in(b.a), in(b.b, b.lo_b, b.hi_b)},
                     .body = one([f](X x) { return f(x[0], x[1]); }),
                     .dtypes = b.dtypes});
  }
  // ψ⁽ᵃ⁾ of orders 0, 1, 2 (a, integers, has no gradient); ζ(x, q) of x in (1.5, 4)
  // (x has none): the gradients flow to x and q.
  cases.push_back({.op = op_name::Polygamma,
                   .inputs = {in({2, 3}, 0.3, 3)},
                   .body = one([](X x) { return polygamma(cast(constant({0.0, 1.0, 2.0}), x[0].dtype()), x[0]); }),
                   .dtypes = kFloat});
  cases.push_back({.op = op_name::Zeta,
                   .inputs = {constant_input({3}, 1.5, 4), in({2, 3}, 0.3, 3)},
                   .body = one([](X x) { return zeta(x[0], x[1]); }),
                   .dtypes = kFloat});
  // d(sample)/d(alpha) on both branches (samples beyond 1 and alpha: the
  // continued fraction); TensorFlow defines no gradient of it, nor ember.
  cases.push_back({.op = op_name::RandomGammaGrad,
                   .inputs = {in({3}, 0.5, 4), in({2, 3}, 0.2, 6)},
                   .body = one([](X x) { return random::gamma_grad(x[0], x[1]); }),
                   .dtypes = kFloat,
                   .grad_refused = "no gradient is defined for op RandomGammaGrad"});
  cases.push_back({.op = op_name::Pow,
                   .inputs = {in({2, 3}, 0.5, 2), in({2, 3}, -1.5, 1.5)},
                   .body = one([](X x) { return pow(x[0], x[1]); }),
                   .dtypes = kFloat});
  // Integer division and remainder with both signs (TensorFlow's: Div
  // truncates, FloorDiv and FloorMod round toward negative infinity).
  cases.push_back({.op = op_name::Div,
                   .inputs = {in({2, 4}, -9, 9), in({4}, -3, 3)},
                   .body = one([](X x) { return div(x[0], x[1]); }),
                   .dtypes = {int32, int64}});
  cases.push_back({.op = op_name::FloorDiv,
                   .inputs = {in({2, 4}, -9, 9), in({4}, -3, 3)},
                   .body = one([](X x) { return floordiv(x[0], x[1]); }),
                   .dtypes = {int32, int64}});
  cases.push_back({.op = op_name::FloorDiv,
                   .variant = "floating",
                   .inputs = {in({2, 4}, -9, 9), in({4}, 0.7, 3)},
                   .body = one([](X x) { return floordiv(x[0], x[1]); }),
                   .dtypes = kF32F64});
  cases.push_back({.op = op_name::TruncateDiv,
                   .inputs = {in({2, 4}, -9, 9), in({4}, -3, 3)},
                   .body = one([](X x) { return truncatediv(x[0], x[1]); }),
                   .dtypes = {int32, int64}});
  cases.push_back({.op = op_name::TruncateDiv,
                   .variant = "floating",
                   .inputs = {in({2, 4}, -9, 9), in({4}, 0.7, 3)},
                   .body = one([](X x) { return truncatediv(x[0], x[1]); }),
                   .dtypes = kF32F64});
  cases.push_back({.op = op_name::TruncateMod,
                   .variant = "integer",
                   .inputs = {in({2, 4}, -9, 9), in({4}, -3, 3)},
                   .body = one([](X x) { return truncatemod(x[0], x[1]); }),
                   .dtypes = {int32, int64}});
  cases.push_back({.op = op_name::FloorMod,
                   .variant = "integer",
                   .inputs = {in({2, 4}, -9, 9), in({4}, -3, 3)},
                   .body = one([](X x) { return floormod(x[0], x[1]); }),
                   .dtypes = {int32, int64}});
  struct C {
    const char* op;
    Tensor (*f)(const Tensor&, const Tensor&);
  };
  const std::vector<C> compare = {
      {op_name::Equal, [](const Tensor& a, const Tensor& b) { return equal(a, b); }},
      {op_name::NotEqual, [](const Tensor& a, const Tensor& b) { return not_equal(a, b); }},
      {op_name::Less, [](const Tensor& a, const Tensor& b) { return less(a, b); }},
      {op_name::LessEqual, [](const Tensor& a, const Tensor& b) { return less_equal(a, b); }},
      {op_name::Greater, [](const Tensor& a, const Tensor& b) { return greater(a, b); }},
      {op_name::GreaterEqual, [](const Tensor& a, const Tensor& b) { return greater_equal(a, b); }},
  };
  for (const C& c : compare) {
    auto f = c.f;
    // Against another tensor (broadcast) and against itself: both outcomes.
    cases.push_back({.op = c.op,
                     .inputs = {in({2, 3}), in({3})},
                     .body =
                         [f](X x, DType) {
                           return std::vector<Tensor>{f(x[0], x[1]), f(x[0], x[0])};
                         },
                     .dtypes = kNumeric});
  }
  cases.push_back({.op = op_name::LogicalAnd,
                   .inputs = {in({2, 3}), in({3})},
                   .body = one([](X x) { return logical_and(x[0], x[1]); }),
                   .dtypes = kBool});
  cases.push_back({.op = op_name::LogicalOr,
                   .inputs = {in({2, 3}), in({3})},
                   .body = one([](X x) { return logical_or(x[0], x[1]); }),
                   .dtypes = kBool});
  // Bitwise: small values of both signs and shift counts from -3 (clamped
  // to 0) to 3, so that int32 gives int64's values; PopulationCount of
  // non-negative values (a negative one has as many more bits as the type is wider).
  const std::vector<C> bitwise = {
      {op_name::BitwiseAnd, [](const Tensor& a, const Tensor& b) { return bitwise_and(a, b); }},
      {op_name::BitwiseOr, [](const Tensor& a, const Tensor& b) { return bitwise_or(a, b); }},
      {op_name::BitwiseXor, [](const Tensor& a, const Tensor& b) { return bitwise_xor(a, b); }},
      {op_name::LeftShift, [](const Tensor& a, const Tensor& b) { return left_shift(a, b); }},
      {op_name::RightShift, [](const Tensor& a, const Tensor& b) { return right_shift(a, b); }},
  };
  for (const C& c : bitwise) {
    auto f = c.f;
    cases.push_back({.op = c.op,
                     .inputs = {in({2, 4}, -99, 99), in({4}, -3, 3)},
                     .body = one([f](X x) { return f(x[0], x[1]); }),
                     .dtypes = {int32, int64}});
  }
  cases.push_back({.op = op_name::Invert,
                   .inputs = {in({2, 3}, -99, 99)},
                   .body = one([](X x) { return invert(x[0]); }),
                   .dtypes = {int32, int64}});
  cases.push_back({.op = op_name::PopulationCount,
                   .inputs = {in({2, 3}, 0, 1000)},
                   .body = one([](X x) { return population_count(x[0]); }),
                   .dtypes = {int32, int64}});
  cases.push_back({.op = op_name::SelectV2,
                   .inputs = {fixed({2, 3}, bool_), in({2, 3}), in({3})},
                   .body = one([](X x) { return where(x[0], x[1], x[2]); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::BiasAdd,
                   .inputs = {in({2, 3, 4}), in({4})},
                   .body = one([](X x) { return bias_add(x[0], x[1]); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::BiasAdd,
                   .variant = "NCHW",
                   .inputs = {in({2, 3, 4}), in({3})},
                   .body = one([](X x) { return bias_add(x[0], x[1], "NCHW"); })});
  cases.push_back(
      {.op = op_name::BiasAddGrad,
       .inputs = {in({2, 3, 4})},
       .body = one([](X x) {
         return run(op_name::BiasAddGrad, {x[0]}, {{"data_format", std::string("NHWC")}})[0];
       })});
  cases.push_back({.op = op_name::AddN,
                   .inputs = {in({2, 3}), in({2, 3}), in({2, 3})},
                   .body = one([](X x) {
                     return add_n({x[0], x[1], x[2]});
                   }),
                   .dtypes = kNumeric});
}

void reductions(std::vector<OpCase>& cases) {
  struct R {
    const char* op;
    Tensor (*f)(const Tensor&, Axes, bool);
    double lo, hi;
    std::vector<DType> dtypes;
  };
  const std::vector<R> table = {
      {op_name::Sum, [](const Tensor& x, Axes a, bool k) { return reduce_sum(x, a, k); }, -2, 2,
       kNumeric},
      {op_name::Mean, [](const Tensor& x, Axes a, bool k) { return reduce_mean(x, a, k); }, -2, 2,
       kFloat},
      {op_name::Max, [](const Tensor& x, Axes a, bool k) { return reduce_max(x, a, k); }, -2, 2,
       kNumeric},
      {op_name::Min, [](const Tensor& x, Axes a, bool k) { return reduce_min(x, a, k); }, -2, 2,
       kNumeric},
      {op_name::Prod, [](const Tensor& x, Axes a, bool k) { return reduce_prod(x, a, k); }, 0.5, 2,
       kNumeric},
  };
  for (const R& r : table) {
    auto f = r.f;
    cases.push_back({.op = r.op,
                     .variant = "axis 1",
                     .inputs = {in({2, 3, 4}, r.lo, r.hi)},
                     .body = one([f](X x) { return f(x[0], Ints{1}, false); }),
                     .dtypes = r.dtypes});
    cases.push_back({.op = r.op,
                     .variant = "axes 0 2 keepdims",
                     .inputs = {in({2, 3, 4}, r.lo, r.hi)},
                     .body = one([f](X x) {
                       return f(x[0], Ints{0, -1}, true);
                     }),
                     .dtypes = r.dtypes});
    cases.push_back({.op = r.op,
                     .variant = "all",
                     .inputs = {in({3, 5}, r.lo, r.hi)},
                     .body = one([f](X x) { return f(x[0], std::nullopt, false); }),
                     .dtypes = r.dtypes});
  }
  cases.push_back({.op = op_name::All,
                   .inputs = {in({3, 4})},
                   .body =
                       [](X x, DType) {
                         return std::vector<Tensor>{reduce_all(x[0], Ints{1}), reduce_all(x[0])};
                       },
                   .dtypes = kBool});
  cases.push_back({.op = op_name::Any,
                   .inputs = {in({3, 4})},
                   .body =
                       [](X x, DType) {
                         return std::vector<Tensor>{reduce_any(x[0], Ints{0}), reduce_any(x[0])};
                       },
                   .dtypes = kBool});
  // Integer values in [-2, 2] tie often: the first index wins.
  cases.push_back({.op = op_name::ArgMax,
                   .inputs = {in({3, 5})},
                   .body =
                       [](X x, DType) {
                         return std::vector<Tensor>{argmax(x[0], 1, int64), argmax(x[0], 0, int32)};
                       },
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::ArgMin,
                   .inputs = {in({3, 5})},
                   .body =
                       [](X x, DType) {
                         return std::vector<Tensor>{argmin(x[0], 1, int64), argmin(x[0], 0, int32)};
                       },
                   .dtypes = kNumeric});
  for (int64_t axis : {0, 1, -1})
    for (int flags = 0; flags < 4; ++flags) {
      const bool exclusive = flags & 1, reverse = flags & 2;
      cases.push_back({.op = op_name::Cumsum,
                       .variant = "axis " + std::to_string(axis) + (exclusive ? " exclusive" : "") +
                                  (reverse ? " reverse" : ""),
                       .inputs = {in({2, 3, 4})},
                       .body = one([=](X x) { return cumsum(x[0], axis, exclusive, reverse); }),
                       .dtypes = kNumeric});
      cases.push_back({.op = op_name::CumulativeLogsumexp,
                       .variant = "axis " + std::to_string(axis) + (exclusive ? " exclusive" : "") +
                                  (reverse ? " reverse" : ""),
                       .inputs = {in({2, 3, 4}, -3, 3)},
                       .body = one([=](X x) {
                         // (exclusive: the first is -inf, whose differences are NaN; its exp is 0)
                         const Tensor y = cumulative_logsumexp(x[0], axis, exclusive, reverse);
                         return exclusive ? exp(y) : y;
                       }),
                       .dtypes = kFloat});
      cases.push_back({.op = op_name::Cumprod,
                       .variant = "axis " + std::to_string(axis) + (exclusive ? " exclusive" : "") +
                                  (reverse ? " reverse" : ""),
                       .inputs = {in({2, 3, 4}, 0.5, 1.5)},
                       .body = one([=](X x) { return cumprod(x[0], axis, exclusive, reverse); }),
                       .dtypes = kNumeric});
    }
}

void linear_algebra(std::vector<OpCase>& cases) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Shape a = ta ? Shape{3, 2} : Shape{2, 3}, b = tb ? Shape{4, 3} : Shape{3, 4};
      cases.push_back(
          {.op = op_name::MatMul,
           .variant = "transpose " + std::to_string(ta) + std::to_string(tb),
           .inputs = {in(a), in(b)},
           .body = one([ta, tb](X x) { return matmul(x[0], x[1], ta != 0, tb != 0); })});
    }
  cases.push_back({.op = op_name::BatchMatMulV2,
                   .inputs = {in({2, 2, 3}), in({3, 2})},
                   .body = one([](X x) { return matmul(x[0], x[1]); })});
  cases.push_back({.op = op_name::BatchMatMulV2,
                   .variant = "broadcast adjoint",
                   .inputs = {in({1, 2, 3}), in({2, 4, 3})},
                   .body = one([](X x) { return matmul(x[0], x[1], false, true); })});
  // Square matrices: made well conditioned (4·I added: each diagonal in
  // [2, 6] against off-diagonals in [-2, 2]), or symmetric positive definite.
  auto dominant = [](const Tensor& a) { return a + scalar_like(a, 4) * eye(shape_at(a, -1), a.dtype()); };
  cases.push_back({.op = op_name::Cholesky,
                   .inputs = {in({2, 3, 3})},
                   .body = one([](X x) {
                     return cholesky(matmul(x[0], x[0], false, true) + scalar_like(x[0], 3) * eye(3, x[0].dtype()));
                   }),
                   .dtypes = kF32F64,
                   .tol = 16});
  for (int lower = 0; lower < 2; ++lower)
    for (int adjoint = 0; adjoint < 2; ++adjoint)
      cases.push_back({.op = op_name::MatrixTriangularSolve,
                       .variant = std::string(lower ? "lower" : "upper") + (adjoint ? " adjoint" : "") +
                                  " broadcast",
                       .inputs = {in({2, 3, 3}), in({3, 2})},
                       .body = one([=](X x) { return triangular_solve(dominant(x[0]), x[1], lower, adjoint); }),
                       .dtypes = kF32F64,
                       .tol = 16});
  for (int adjoint = 0; adjoint < 2; ++adjoint) {
    const std::string variant = adjoint ? "adjoint" : "";
    cases.push_back({.op = op_name::MatrixSolve,
                     .variant = variant,
                     .inputs = {in({2, 3, 3}), in({2, 3, 2})},
                     .body = one([=](X x) { return matrix_solve(dominant(x[0]), x[1], adjoint); }),
                     .dtypes = kF32F64,
                     .tol = 16});
    cases.push_back({.op = op_name::MatrixInverse,
                     .variant = variant,
                     .inputs = {in({2, 3, 3})},
                     .body = one([=](X x) { return matrix_inverse(dominant(x[0]), adjoint); }),
                     .dtypes = kF32F64,
                     .tol = 16});
  }
  cases.push_back({.op = op_name::MatrixDeterminant,
                   .inputs = {in({2, 4, 4})},
                   .body = one([](X x) { return matrix_determinant(x[0]); }),
                   .dtypes = kF32F64,
                   .tol = 64});
  cases.push_back({.op = op_name::LogMatrixDeterminant,
                   .inputs = {in({2, 4, 4})},
                   .body =
                       [](X x, DType) {
                         SignAndLogDeterminant d = log_matrix_determinant(x[0]);
                         return std::vector<Tensor>{d.sign, d.log_abs_determinant};
                       },
                   .dtypes = kF32F64,
                   .tol = 64});
  // QR of tall, wide and square matrices; the full form of a wide one (its
  // gradient is TensorFlow's) and of a tall one (whose gradient TensorFlow
  // and ember refuse). The gradient needs the shapes (as TensorFlow's).
  auto qr_outputs = [](bool full) {
    return [full](X x, DType) {
      const QrResult f = qr(x[0], full);
      return std::vector<Tensor>{f.q, f.r};
    };
  };
  for (const Shape& shape : {Shape{2, 4, 3}, Shape{2, 3, 4}, Shape{3, 3}})
    cases.push_back({.op = op_name::Qr,
                     .variant = shape.to_string(),
                     .inputs = {in(shape)},
                     .body = qr_outputs(false),
                     .dtypes = kF32F64,
                     .tol = 32,
                     .traced = OpCase::Traced::KnownShapes});
  cases.push_back({.op = op_name::Qr,
                   .variant = "full_matrices wide",
                   .inputs = {in({2, 3, 5})},
                   .body = qr_outputs(true),
                   .dtypes = kF32F64,
                   .tol = 32,
                   .traced = OpCase::Traced::KnownShapes});
  cases.push_back({.op = op_name::Qr,
                   .variant = "full_matrices tall",
                   .inputs = {in({4, 2})},
                   .body = qr_outputs(true),
                   .dtypes = kF32F64,
                   .tol = 32,
                   .grad_refused = "not implemented when nrows > ncols and full_matrices is true",
                   .traced_grad_refused = "the gradient needs the matrices' dimensions"});
  // The symmetric eigenproblem of the lower triangle and the SVD (reduced
  // tall, wide and square; the full form where m and n differ by 1, whose
  // gradient TensorFlow defines, and by 2, whose it refuses); the vectors
  // returned as they are (their signs are the same on every device, and
  // still under central differences' small steps).
  cases.push_back({.op = op_name::SelfAdjointEigV2,
                   .inputs = {in({2, 4, 4})},
                   .body =
                       [](X x, DType) {
                         const EighResult f = eigh(x[0]);
                         return std::vector<Tensor>{f.eigenvalues, f.eigenvectors};
                       },
                   .dtypes = kF32F64,
                   .tol = 64});
  cases.push_back({.op = op_name::SelfAdjointEigV2,
                   .variant = "values only",
                   .inputs = {in({3, 3})},
                   .body = one([](X x) { return eigvalsh(x[0]); }),
                   .dtypes = kF32F64,
                   .tol = 64});
  auto svd_outputs = [](bool full) {
    return [full](X x, DType) {
      const SvdResult f = svd(x[0], full);
      return std::vector<Tensor>{f.s, f.u, f.v};
    };
  };
  for (const Shape& shape : {Shape{2, 4, 3}, Shape{2, 3, 4}, Shape{3, 3}})
    cases.push_back({.op = op_name::Svd,
                     .variant = shape.to_string(),
                     .inputs = {in(shape)},
                     .body = svd_outputs(false),
                     .dtypes = kF32F64,
                     .tol = 64,
                     .traced_grad_refused = "SVD gradient has not been implemented for input with unknown inner matrix shape"});
  cases.push_back({.op = op_name::Svd,
                   .variant = "full_matrices",
                   .inputs = {in({2, 3, 4})},
                   .body = svd_outputs(true),
                   .dtypes = kF32F64,
                   .tol = 64,
                   .traced = OpCase::Traced::KnownShapes});
  cases.push_back({.op = op_name::Svd,
                   .variant = "full_matrices, m and n 2 apart",
                   .inputs = {in({4, 2})},
                   .body = svd_outputs(true),
                   .dtypes = kF32F64,
                   .tol = 64,
                   .grad_refused = "svd gradient is not implemented for abs(m - n) > 1 when full_matrices is True",
                   .traced = OpCase::Traced::KnownShapes});
  cases.push_back({.op = op_name::Svd,
                   .variant = "values only",
                   .inputs = {in({2, 3, 4})},
                   .body = one([](X x) { return svd(x[0], false, /*compute_uv=*/false).s; }),
                   .dtypes = kF32F64,
                   .tol = 64});
  cases.push_back({.op = op_name::Softmax, .inputs = {in({2, 4})}, .body = one([](X x) {
                                                                     return softmax(x[0]);
                                                                   })});
  cases.push_back({.op = op_name::Softmax,
                   .variant = "axis 0",
                   .inputs = {in({3, 2})},
                   .body = one([](X x) { return softmax(x[0], 0); })});
  cases.push_back({.op = op_name::LogSoftmax, .inputs = {in({2, 4})}, .body = one([](X x) {
                                                                        return log_softmax(x[0]);
                                                                      })});
  cases.push_back(
      {.op = op_name::SoftmaxCrossEntropyWithLogits,
       .inputs = {in({3, 4}), in({3, 4})},
       .body = one([](X x) { return softmax_cross_entropy_with_logits(softmax(x[1]), x[0]); })});
  cases.push_back({.op = op_name::SoftmaxCrossEntropyWithLogits,
                   .variant = "axis 0",
                   .inputs = {in({3, 4}), in({3, 4})},
                   .body = one([](X x) {
                     return softmax_cross_entropy_with_logits(softmax(x[1], 0), x[0], 0);
                   })});
  cases.push_back({.op = op_name::SparseSoftmaxCrossEntropyWithLogits,
                   .inputs = {in({3, 4})},
                   .body = one([](X x) {
                     return sparse_softmax_cross_entropy_with_logits(idx({2, 0, 3}), x[0]);
                   })});
}

void shapes(std::vector<OpCase>& cases) {
  cases.push_back({.op = op_name::Reshape,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) {
                     return reshape(x[0], {3, 2});
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::ExpandDims,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) { return expand_dims(x[0], 1); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Squeeze,
                   .inputs = {in({2, 1, 3, 1})},
                   .body =
                       [](X x, DType) {
                         return std::vector<Tensor>{squeeze(x[0]), squeeze(x[0], {1})};
                       },
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::BroadcastTo,
                   .inputs = {in({3, 1})},
                   .body = one([](X x) {
                     return broadcast_to(x[0], Shape{2, 3, 4});
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Transpose,
                   .inputs = {in({2, 3, 4})},
                   .body = one([](X x) {
                     return transpose(x[0], {2, 0, 1});
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Slice,
                   .inputs = {in({3, 4})},
                   .body = one([](X x) {
                     return slice(x[0], {0, 1}, {2, -1});
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::StridedSlice,
                   .inputs = {in({3, 5})},
                   .body = one([](X x) {
                     return strided_slice(x[0], {0, 3}, {2, 0}, {1, -2});
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::StridedSlice,
                   .variant = "shrink",
                   .inputs = {in({3, 4})},
                   .body = one([](X x) {
                     return strided_slice(x[0], {1}, {2}, {1}, {.shrink_axis_mask = 1});
                   })});
  cases.push_back({.op = op_name::StridedSliceGrad,
                   .inputs = {in({2, 2})},
                   .body = one([](X x) {
                     return run(op_name::StridedSliceGrad, {x[0]},
                                {{"begin", Ints{0, 3}},
                                 {"end", Ints{2, 0}},
                                 {"strides", Ints{1, -2}},
                                 {"begin_mask", int64_t{0}},
                                 {"end_mask", int64_t{0}},
                                 {"ellipsis_mask", int64_t{0}},
                                 {"new_axis_mask", int64_t{0}},
                                 {"shrink_axis_mask", int64_t{0}},
                                 {"shape", Ints{3, 5}}})[0];
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::ConcatV2,
                   .inputs = {in({2, 2}), in({2, 3})},
                   .body = one([](X x) {
                     return concat({x[0], x[1], x[0]}, 1);
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Pack,
                   .inputs = {in({2, 3}), in({2, 3})},
                   .body = one([](X x) {
                     return stack({x[0], x[1]}, 1);
                   }),
                   .dtypes = kNumeric});
  // As TensorFlow's, unstack needs the unstacked dimension known.
  cases.push_back({.op = op_name::Unpack,
                   .inputs = {in({2, 3})},
                   .body = [](X x, DType) { return unstack(x[0], 1); },
                   .dtypes = kNumeric,
                   .traced = OpCase::Traced::KnownShapes});
  cases.push_back({.op = op_name::SplitV,
                   .inputs = {in({2, 4})},
                   .body =
                       [](X x, DType) {
                         return split(x[0], Ints{1, 3}, 1);
                       },
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Tile,
                   .inputs = {in({2, 2})},
                   .body = one([](X x) {
                     return tile(x[0], {2, 3});
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::PadV2,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) {
                     return pad(x[0], {{1, 0}, {2, 1}}, PadMode::Constant, 0.5);
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::MirrorPad,
                   .variant = "reflect",
                   .inputs = {in({3, 4})},
                   .body = one([](X x) {
                     return pad(x[0], {{1, 1}, {2, 1}}, PadMode::Reflect);
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::MirrorPad,
                   .variant = "symmetric",
                   .inputs = {in({3, 4})},
                   .body = one([](X x) {
                     return pad(x[0], {{2, 0}, {1, 3}}, PadMode::Symmetric);
                   })});
  cases.push_back({.op = op_name::MirrorPadGrad,
                   .inputs = {in({5, 7})},
                   .body = one([](X x) {
                     return run(
                         op_name::MirrorPadGrad, {x[0]},
                         {{"paddings", Ints{1, 1, 2, 1}}, {"mode", std::string("REFLECT")}})[0];
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Shape,
                   .inputs = {in({2, 3})},
                   .body =
                       [](X x, DType) {
                         return std::vector<Tensor>{shape(x[0]), shape(x[0], int64)};
                       },
                   .dtypes = kNumeric});
  // The shapes of two inputs that broadcast ([2, 1, 3] and [4, 1]), read
  // from them so that the trace keeps the op; int32 and int64.
  cases.push_back({.op = op_name::BroadcastGradientArgs,
                   .inputs = {in({2, 1, 3}), in({4, 1})},
                   .body =
                       [](X x, DType) {
                         auto [a, b] = broadcast_gradient_args(shape(x[0]), shape(x[1]));
                         auto [c, d] = broadcast_gradient_args(shape(x[0], int64), shape(x[1], int64));
                         return std::vector<Tensor>{a, b, c, d};
                       },
                   .dtypes = kNumeric});
  // Coordinates of the true elements: random booleans, and integers that
  // round to 0 now and then (floats drawn here are never 0: all true).
  cases.push_back({.op = op_name::Where,
                   .variant = "bool",
                   .inputs = {in({3, 4})},
                   .body = one([](X x) { return where(x[0]); }),
                   .dtypes = kBool});
  cases.push_back({.op = op_name::Where,
                   .variant = "numbers",
                   .inputs = {in({2, 3, 2}, -1.4, 1.4)},
                   .body = one([](X x) { return where(x[0]); }),
                   .dtypes = kNumeric});
  // Values in [-2.4, 2.4] floored (integers kept): repeats to collapse.
  cases.push_back({.op = op_name::Unique,
                   .inputs = {in({9}, -2.4, 2.4)},
                   .body =
                       [](X x, DType t) {
                         const UniqueValues u = unique(is_floating(t) ? floor(x[0]) : x[0]);
                         return std::vector<Tensor>{u.y, u.idx, unique(x[0], int64).idx};
                       },
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Size,
                   .inputs = {in({2, 3})},
                   .body =
                       [](X x, DType) {
                         return std::vector<Tensor>{size(x[0]), size(x[0], int64)};
                       },
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Rank,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) { return rank(x[0]); }),
                   .dtypes = kNumeric,
                   .traced = OpCase::Traced::UnknownRank});  // a known rank is a constant
  cases.push_back({.op = op_name::Fill,
                   .inputs = {},
                   .body =
                       [](X, DType t) {
                         return std::vector<Tensor>{fill(Shape{2, 3}, 1.5, t)};
                       },
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::Range,
                   .inputs = {},
                   .body =
                       [](X, DType t) {
                         return std::vector<Tensor>{is_floating(t) ? range(0.5, 3.0, 0.75, t)
                                                                   : range(7, -2, -3, t)};
                       },
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::OneHot,
                   .inputs = {},
                   .body =
                       [](X, DType t) {
                         return std::vector<Tensor>{
                             one_hot(idx({0, 2, -1, 3}), 3, 2.0, -1.0, -1, t),
                             one_hot(idx({1, 0}), 3, 1.0, 0.0, 0, t)};
                       },
                   .dtypes = kNumeric});
}

void indexing(std::vector<OpCase>& cases) {
  cases.push_back({.op = op_name::GatherV2,
                   .inputs = {in({2, 3, 2})},
                   .body = one([](X x) {
                     return gather(x[0], idx({2, 0, 2}), 1);
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::GatherV2,
                   .variant = "batch dims",
                   .inputs = {in({2, 3, 2})},
                   .body = one([](X x) {
                     return gather(x[0], idx({1, 1, 0, 2}, {2, 2}), 1, 1);
                   })});
  cases.push_back({.op = op_name::GatherNd,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) {
                     return gather_nd(x[0], idx({1, 0, 1, 0, 0, 2}, {3, 2}));
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::GatherNd,
                   .variant = "batch dims",
                   .inputs = {in({2, 3, 2})},
                   .body = one([](X x) {
                     return gather_nd(x[0], idx({2, 0}, {2, 1, 1}), 1);
                   })});
  cases.push_back({.op = op_name::ScatterNd,
                   .inputs = {in({3, 2})},
                   .body = one([](X x) {
                     return scatter_nd(idx({1, 3, 1}, {3, 1}), x[0], Shape{5, 2});
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::TensorScatterAdd,
                   .inputs = {in({3, 2}), in({2, 2})},
                   .body = one([](X x) {
                     return tensor_scatter_add(x[0], idx({0, 2}, {2, 1}), x[1]);
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::UnsortedSegmentSum,
                   .inputs = {in({3, 2})},
                   .body = one([](X x) {
                     return unsorted_segment_sum(x[0], idx({2, 0, 2}), 4);
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::UnsortedSegmentSum,
                   .variant = "num_segments a tensor",
                   .inputs = {in({3, 2})},
                   .body = one([](X x) {
                     // (4 segments, from the rows' count: in a trace, known only when it runs)
                     return unsorted_segment_sum(x[0], idx({2, 0, 2}), shape_at(x[0], 0) + constant(int64_t{1}));
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::UnsortedSegmentSum,
                   .variant = "a negative id drops its row",
                   .inputs = {in({5, 2})},
                   .body = one([](X x) { return unsorted_segment_sum(x[0], idx({1, -1, 0, 1, 0}), 2); }),
                   .dtypes = kNumeric});
  // Max, min and product: two rows per segment (no ties in random values,
  // so max and min are differentiable there), one row dropped, none empty
  // (an empty segment's value is its dtype's own extreme).
  cases.push_back({.op = op_name::UnsortedSegmentMax,
                   .inputs = {in({5, 2})},
                   .body = one([](X x) { return unsorted_segment_max(x[0], idx({1, -1, 0, 1, 0}), constant(int64_t{2})); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::UnsortedSegmentMin,
                   .inputs = {in({5, 2})},
                   .body = one([](X x) { return unsorted_segment_min(x[0], idx({1, -1, 0, 1, 0}), constant(int64_t{2})); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::UnsortedSegmentMin,
                   .variant = "num_segments a tensor",
                   .inputs = {in({5, 2})},
                   .body = one([](X x) {
                     // (2 segments, from the rows' count: in a trace, known only when it runs)
                     return unsorted_segment_min(x[0], idx({1, -1, 0, 1, 0}), shape_at(x[0], 0) - constant(int64_t{3}));
                   }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::UnsortedSegmentProd,
                   .inputs = {in({5, 2}, 0.5, 2)},
                   .body = one([](X x) { return unsorted_segment_prod(x[0], idx({1, -1, 0, 1, 0}), constant(int64_t{2})); }),
                   .dtypes = kNumeric});
  cases.push_back({.op = op_name::TopKV2,
                   .inputs = {in({3, 5})},
                   .body =
                       [](X x, DType) {
                         TopK t = top_k(x[0], 2);
                         return std::vector<Tensor>{t.values, t.indices};
                       },
                   .dtypes = {float32, float64, float16, bfloat16, int32, int64}});
  cases.push_back({.op = op_name::TopKV2,
                   .variant = "k a tensor",
                   .inputs = {in({3, 5})},
                   .body =
                       [](X x, DType) {
                         TopK t = top_k(x[0], constant(int32_t{3}));
                         return std::vector<Tensor>{t.values, t.indices};
                       },
                   .dtypes = {float32, float64, float16, bfloat16, int32, int64}});
  cases.push_back({.op = op_name::InTopKV2,
                   .inputs = {in({3, 5})},
                   .body = one([](X x) {
                     return in_top_k(idx({4, 0, 2}), cast(x[0], float32), 2);
                   }),  // float32 only
                   .dtypes = kF32F64});
}

void convolutions(std::vector<OpCase>& cases) {
  cases.push_back(
      {.op = op_name::Conv2D,
       .variant = "same stride 2",
       .inputs = {in({1, 5, 4, 2}), in({3, 2, 2, 3})},
       .body = one([](X x) { return conv2d(x[0], x[1], {.strides = {2}, .padding = "SAME"}); })});
  cases.push_back({.op = op_name::Conv2D,
                   .variant = "dilated",
                   .inputs = {in({1, 6, 5, 2}), in({2, 2, 2, 2})},
                   .body = one([](X x) {
                     return conv2d(x[0], x[1], {.padding = "VALID", .dilations = {2}});
                   })});
  cases.push_back({.op = op_name::Conv2DBackpropInput,
                   .inputs = {in({3, 2, 2, 3}), in({1, 3, 2, 3})},
                   .body = one([](X x) {
                     Attrs a = conv_attrs({1, 2, 2, 1}, "SAME");
                     a.set("input_sizes", Ints{1, 5, 4, 2});
                     return run(op_name::Conv2DBackpropInput, {x[0], x[1]}, a)[0];
                   })});
  cases.push_back({.op = op_name::Conv2DBackpropFilter,
                   .inputs = {in({1, 5, 4, 2}), in({1, 3, 2, 3})},
                   .body = one([](X x) {
                     Attrs a = conv_attrs({1, 2, 2, 1}, "SAME");
                     a.set("filter_sizes", Ints{3, 2, 2, 3});
                     return run(op_name::Conv2DBackpropFilter, {x[0], x[1]}, a)[0];
                   })});
  cases.push_back(
      {.op = op_name::DepthwiseConv2dNative,
       .inputs = {in({1, 4, 5, 2}), in({3, 3, 2, 2})},
       .body = one([](X x) { return depthwise_conv2d(x[0], x[1], {.padding = "SAME"}); })});
  cases.push_back({.op = op_name::DepthwiseConv2dNativeBackpropInput,
                   .inputs = {in({3, 3, 2, 2}), in({1, 4, 5, 4})},
                   .body = one([](X x) {
                     Attrs a = conv_attrs({1, 1, 1, 1}, "SAME");
                     a.set("input_sizes", Ints{1, 4, 5, 2});
                     return run(op_name::DepthwiseConv2dNativeBackpropInput, {x[0], x[1]}, a)[0];
                   })});
  cases.push_back({.op = op_name::DepthwiseConv2dNativeBackpropFilter,
                   .inputs = {in({1, 4, 5, 2}), in({1, 4, 5, 4})},
                   .body = one([](X x) {
                     Attrs a = conv_attrs({1, 1, 1, 1}, "SAME");
                     a.set("filter_sizes", Ints{3, 3, 2, 2});
                     return run(op_name::DepthwiseConv2dNativeBackpropFilter, {x[0], x[1]}, a)[0];
                   })});
  cases.push_back({.op = op_name::MaxPool,
                   .inputs = {in({1, 4, 5, 2})},
                   .body = one([](X x) { return max_pool2d(x[0], {2}, {1}, "SAME"); })});
  cases.push_back({.op = op_name::MaxPoolGrad,
                   .inputs = {in({1, 4, 5, 2}), in({1, 2, 3, 2})},
                   .body = one([](X x) {
                     Attrs a = pool_attrs({1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
                     Tensor y = run(op_name::MaxPool, {x[0]}, a)[0];
                     return run(op_name::MaxPoolGrad, {x[0], y, x[1]}, a)[0];
                   })});
  cases.push_back({.op = op_name::AvgPool,
                   .inputs = {in({1, 5, 5, 2})},
                   .body = one([](X x) { return avg_pool2d(x[0], {3}, {2}, "SAME"); })});
  cases.push_back({.op = op_name::AvgPoolGrad,
                   .inputs = {in({1, 3, 3, 2})},
                   .body = one([](X x) {
                     Attrs a = pool_attrs({1, 3, 3, 1}, {1, 2, 2, 1}, "SAME");
                     a.set("orig_input_shape", Ints{1, 5, 5, 2});
                     return run(op_name::AvgPoolGrad, {x[0]}, a)[0];
                   })});
  // Scale, offset and statistics are float32 for a 16-bit x (TensorFlow's U).
  auto u = [](const Tensor& v, DType t) { return cast(v, computed_in(t)); };
  cases.push_back({.op = op_name::FusedBatchNormV3,
                   .variant = "training",
                   .inputs = {in({2, 2, 3, 3}), in({3}, 0.5, 2), in({3})},
                   .body =
                       [u](X x, DType t) {
                         Tensor s = u(x[1], t);
                         return std::vector<Tensor>{
                             fused_batch_norm(x[0], s, u(x[2], t), zeros_like(s), ones_like(s)).y};
                       },
                   .tol = 16});
  // As TensorFlow's, the gradient takes only what flows into y: none flows
  // back from the batch statistics.
  cases.push_back({.op = op_name::FusedBatchNormV3,
                   .variant = "batch statistics",
                   .inputs = {in({2, 2, 3, 3}), in({3}, 0.5, 2), in({3})},
                   .body =
                       [u](X x, DType t) {
                         Tensor s = u(x[1], t);
                         FusedBatchNormResult r = fused_batch_norm(x[0], s, u(x[2], t), zeros_like(s), ones_like(s));
                         return std::vector<Tensor>{r.batch_mean, r.batch_variance};
                       },
                   .tol = 16,
                   .grad = false});
  cases.push_back({.op = op_name::FusedBatchNormV3,
                   .variant = "inference",
                   // As TensorFlow's, the gradient gives none for the mean and variance.
                   .inputs = {in({2, 2, 3, 3}), in({3}, 0.5, 2), in({3}), constant_input({3}),
                              constant_input({3}, 0.5, 2)},
                   .body =
                       [u](X x, DType t) {
                         return std::vector<Tensor>{
                             fused_batch_norm(x[0], u(x[1], t), u(x[2], t), u(x[3], t), u(x[4], t), 0.001, false).y};
                       }});
  cases.push_back(
      {.op = op_name::FusedBatchNormGradV3,
       .inputs = {in({2, 2, 3, 3}), in({3}, 0.5, 2), in({2, 2, 3, 3})},
       .body =
           [u](X x, DType t) {
             Tensor s = u(x[1], t);
             Tensor zero = zeros_like(s), one_ = ones_like(s);
             auto f = run(op_name::FusedBatchNormV3, {x[0], s, zero, zero, one_}, bn_attrs());
             auto g = run(op_name::FusedBatchNormGradV3, {x[2], x[0], s, f[3], f[4], f[5]}, bn_grad_attrs());
             return std::vector<Tensor>{g[0], g[1], g[2]};
           },
       .tol = 16});
}

// Attention on [batch 1, heads 2, seq_q 3, head_dim 4] queries over 5 keys
// of value_dim 3 (scale given: the round trip's trace does not know
// head_dim), and layer normalisation over a last axis of 5.
void attention(std::vector<OpCase>& cases) {
  const size_t first = cases.size();
  const std::vector<OpInput> qkv = {in({1, 2, 3, 4}), in({1, 2, 5, 4}), in({1, 2, 5, 3})};
  cases.push_back({.op = op_name::ScaledDotProductAttention,
                   .inputs = qkv,
                   .body = one([](X x) { return scaled_dot_product_attention(x[0], x[1], x[2], {.scale = 0.5}); }),
                   .tol = 8});
  // Both outputs: the gradient folds what flows into the logsumexp in.
  cases.push_back({.op = op_name::ScaledDotProductAttention,
                   .variant = "causal, logsumexp",
                   .inputs = qkv,
                   .body =
                       [](X x, DType) {
                         return run(op_name::ScaledDotProductAttention, {x[0], x[1], x[2]},
                                    {{"causal", true}, {"scale", 0.7}, {"dropout_rate", 0.0}});
                       },
                   .tol = 8});
  // Random truth values: some queries may attend to no key (zeros).
  cases.push_back({.op = op_name::ScaledDotProductAttention,
                   .variant = "mask",
                   .inputs = {qkv[0], qkv[1], qkv[2], fixed({2, 1, 5}, bool_)},
                   .body = one([](X x) {
                     return scaled_dot_product_attention(x[0], x[1], x[2], {.causal = true, .mask = x[3], .scale = 0.5});
                   }),
                   .tol = 8});
  // Dropout by a fixed seed: the same multipliers at every run, so the
  // gradient is smooth in q, k and v (and the export draws them as the kernels do).
  cases.push_back({.op = op_name::ScaledDotProductAttention,
                   .variant = "dropout",
                   .inputs = {qkv[0], qkv[1], qkv[2], fixed({1, 1, 3, 5}, bool_)},
                   .body = one([](X x) {
                     return scaled_dot_product_attention(
                         x[0], x[1], x[2],
                         {.mask = x[3], .scale = 0.5, .dropout_rate = 0.3, .dropout_seed = constant(std::vector<int64_t>{5, 9})});
                   }),
                   .tol = 8});
  cases.push_back({.op = op_name::ScaledDotProductAttentionGrad,
                   .inputs = {qkv[0], qkv[1], qkv[2], in({1, 2, 3, 3}), fixed({1, 2, 3}, float32)},
                   .body =
                       [](X x, DType t) {
                         const Attrs a{{"causal", true}, {"scale", 0.5}, {"dropout_rate", 0.0}};
                         auto f = run(op_name::ScaledDotProductAttention, {x[0], x[1], x[2]}, a);
                         Tensor dlse = t == float64 ? cast(x[4], float64) : x[4];
                         return run(op_name::ScaledDotProductAttentionGrad, {x[0], x[1], x[2], f[0], f[1], x[3], dlse},
                                    a);
                       },
                   .tol = 16});
  const size_t first_layer_norm = cases.size();
  cases.push_back({.op = op_name::LayerNorm,
                   .inputs = {in({2, 3, 5}, -2, 4), in({5}, 0.5, 2), in({5})},
                   .body = one([](X x) { return layer_norm(x[0], x[1], x[2]); }),
                   .tol = 8});
  // The statistics: the gradient folds what flows into mean and rstd in.
  cases.push_back({.op = op_name::LayerNorm,
                   .variant = "statistics",
                   .inputs = {in({2, 3, 5}, -2, 4), in({5}, 0.5, 2), in({5})},
                   .body = [](X x, DType) { return run(op_name::LayerNorm, {x[0], x[1], x[2]}, {{"epsilon", 0.01}}); },
                   .tol = 8});
  // A 16-bit x with float32 gamma and beta (T and U, as a mixed-precision
  // layer calls it); float32 and float64 run the plain op.
  auto as_u = [](const Tensor& p, DType t) { return t == float64 ? cast(p, float64) : p; };
  cases.push_back({.op = op_name::LayerNorm,
                   .variant = "float32 gamma and beta",
                   .inputs = {in({2, 3, 5}, -2, 4), fixed({5}, float32, 0.5, 2), fixed({5}, float32)},
                   .body = [as_u](X x, DType t) {
                     return run(op_name::LayerNorm, {x[0], as_u(x[1], t), as_u(x[2], t)}, {{"epsilon", 0.01}});
                   },
                   .tol = 8});
  cases.push_back({.op = op_name::LayerNormGrad,
                   .variant = "float32 gamma",
                   .inputs = {in({2, 3, 5}), in({2, 3, 5}, -2, 4), fixed({5}, float32, 0.5, 2)},
                   .body =
                       [as_u](X x, DType t) {
                         Tensor gamma = as_u(x[2], t);
                         auto f = run(op_name::LayerNorm, {x[1], gamma, zeros_like(gamma)}, {{"epsilon", 0.001}});
                         return run(op_name::LayerNormGrad, {x[0], x[1], gamma, f[1], f[2]});
                       },
                   .tol = 16});
  cases.push_back({.op = op_name::LayerNormGrad,
                   .inputs = {in({2, 3, 5}), in({2, 3, 5}, -2, 4), in({5}, 0.5, 2)},
                   .body =
                       [](X x, DType) {
                         auto f = run(op_name::LayerNorm, {x[1], x[2], zeros_like(x[2])}, {{"epsilon", 0.001}});
                         return run(op_name::LayerNormGrad, {x[0], x[1], x[2], f[1], f[2]});
                       },
                   .tol = 16});
  // TensorFlow lacks them: the export holds their decompositions.
  for (size_t i = first; i < cases.size(); ++i)
    cases[i].exported_as = i < first_layer_norm                          ? op_name::BatchMatMulV2
                           : cases[i].op == op_name::LayerNormGrad ? op_name::Sum
                                                                   : op_name::Rsqrt;
}

// The collectives in a world of one (each the identity: the every-op loop
// checks their plumbing, gradients and TensorFlow form); tests/distributed_test.cpp
// runs them across 2 ranks against references.
void collectives(std::vector<OpCase>& cases) {
  using collective::ReduceOp;
  const std::vector<DType> all = {float32, float64, float16, bfloat16, int32, int64};
  for (auto [op, name] : {std::pair{ReduceOp::Sum, "sum"}, std::pair{ReduceOp::Mean, "mean"},
                          std::pair{ReduceOp::Max, "max"}, std::pair{ReduceOp::Min, "min"}})
    cases.push_back({.op = op_name::CollectiveReduceV2,
                     .variant = name,
                     .inputs = {in({3, 4})},
                     .body = one([op](X x) { return collective::all_reduce(x[0], op, {.label = "x"}); }),
                     .dtypes = all});
  cases.push_back({.op = op_name::CollectiveReduceV2,
                   .variant = "booleans",
                   .inputs = {in({5})},
                   .body = one([](X x) { return collective::all_reduce(x[0], ReduceOp::Max); }),
                   .dtypes = kBool});
  cases.push_back({.op = op_name::CollectiveGatherV2,
                   .inputs = {in({3, 2})},
                   .body = one([](X x) { return collective::all_gather(x[0]); }),
                   .dtypes = all});
  cases.push_back({.op = op_name::CollectiveReduceScatterV2,
                   .inputs = {in({4, 3})},
                   .body = one([](X x) { return collective::reduce_scatter(x[0], ReduceOp::Mean); }),
                   .dtypes = all});
  cases.push_back({.op = op_name::CollectiveBroadcast,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) { return collective::broadcast(x[0], 0); }),
                   .dtypes = all,
                   .exported_as = op_name::CollectiveReduceV2});
}

void random_ops(std::vector<OpCase>& cases) {
  // Statistics of 4096 draws: mean and mean square (uniform [0, 1): 1/2,
  // 1/3; normal: 0, 1; truncated normal: 0, 0.774), in every floating dtype
  // (a 16-bit uniform has 7 or 10 random bits: bfloat16's mean is 0.496).
  auto moments = [](const Tensor& draws) {
    return std::vector<Tensor>{reduce_mean(draws), reduce_mean(square(draws))};
  };
  const double tol = 0.06;
  cases.push_back(
      {.op = op_name::RandomUniform,
       .body = [moments](X, DType t) { return moments(random::uniform(Shape{4096}, 0, 1, t, 7)); },
       .tol = tol,
       .statistical = true});
  cases.push_back(
      {.op = op_name::RandomStandardNormal,
       .body = [moments](X, DType t) { return moments(random::normal(Shape{4096}, 0, 1, t, 7)); },
       .tol = tol,
       .statistical = true});
  cases.push_back({.op = op_name::TruncatedNormal,
                   .body =
                       [moments](X, DType t) {
                         return moments(random::truncated_normal(Shape{4096}, 0, 1, t, 7));
                       },
                               .tol = tol,
                   .statistical = true});
  // tf.random.Generator's draws, from a state variable (int64 [3]: a
  // Philox counter and key) the runner fills at random.
  const OpInput generator_state{.shape = Shape{3}, .lo = 1, .hi = 1e9, .fixed = int64, .variable = true,
                                .differentiable = false};
  const Tensor philox = constant(int64_t{1});
  for (const char* op : {op_name::StatefulUniform, op_name::StatefulStandardNormalV2, op_name::StatefulTruncatedNormal}) {
    const std::string name = op;
    cases.push_back({.op = op,
                     .inputs = {generator_state},
                     .body =
                         [=](X x, DType t) {
                           return moments(run(name, {x[0], philox}, {{"shape", std::vector<int64_t>{4096}}, {"dtype", t}})[0]);
                         },
                     .tol = tol,
                     .statistical = true});
  }
  cases.push_back({.op = op_name::StatelessRandomUniform,
                   .body =
                       [moments](X, DType t) {
                         Tensor seed = constant(std::vector<int64_t>{3, 9});
                         return moments(random::stateless_uniform(
                             constant(std::vector<int32_t>{4096}), seed, 0, 1, t));
                       },
                               .tol = tol,
                   .statistical = true});
  cases.push_back({.op = op_name::StatelessRandomNormal,
                   .body =
                       [moments](X, DType t) {
                         return moments(random::stateless_normal(constant(std::vector<int32_t>{4096}),
                                                                 constant(std::vector<int64_t>{3, 9}), 0, 1, t));
                       },
                   .tol = tol,
                   .statistical = true});
  cases.push_back({.op = op_name::StatelessTruncatedNormal,
                   .body =
                       [moments](X, DType t) {
                         return moments(random::stateless_truncated_normal(constant(std::vector<int32_t>{4096}),
                                                                           constant(std::vector<int64_t>{3, 9}), 0, 1, t));
                       },
                   .tol = tol,
                   .statistical = true});
  // Categorical draws of 4096 from probabilities 0.1, 0.2, 0.3, 0.4: each
  // class's frequency (its standard deviation at most 0.008), from logits of
  // every floating dtype.
  auto index_moments = [](const Tensor& indices, DType t) {
    return std::vector<Tensor>{reduce_mean(cast(one_hot(reshape(indices, {-1}), 4), t), 0)};
  };
  auto logits_of = [](DType t) { return cast(log(constant({0.1, 0.2, 0.3, 0.4}, {1, 4})), t); };
  cases.push_back({.op = op_name::Multinomial,
                   .body =
                       [=](X, DType t) { return index_moments(random::categorical(logits_of(t), 4096, int64, 7), t); },
                   .tol = tol,
                   .statistical = true});
  cases.push_back({.op = op_name::StatelessMultinomial,
                   .body =
                       [=](X, DType t) {
                         return index_moments(random::stateless_categorical(logits_of(t), 4096, {3, 9}, int32), t);
                       },
                   .tol = tol,
                   .statistical = true});
  // Integer draws of 4096 in [0, 4) (int32 a word each, int64 two): each
  // value's frequency, 1/4 (its standard deviation under 0.007).
  const std::vector<DType> kInts = {int32, int64};
  auto frequencies = [](const Tensor& draws) {
    return std::vector<Tensor>{reduce_mean(cast(one_hot(draws, 4), float64), 0)};
  };
  cases.push_back({.op = op_name::RandomUniformInt,
                   .body = [=](X, DType t) { return frequencies(random::uniform(Shape{4096}, 0, 4, t, 7)); },
                   .dtypes = kInts,
                   .tol = tol,
                   .statistical = true});
  cases.push_back({.op = op_name::StatefulUniformInt,
                   .inputs = {generator_state},
                   .body =
                       [=](X x, DType t) {
                         return frequencies(run(op_name::StatefulUniformInt,
                                                {x[0], philox, constant(0., t), constant(4., t)},
                                                {{"shape", std::vector<int64_t>{4096}}})[0]);
                       },
                   .dtypes = kInts,
                   .tol = tol,
                   .statistical = true});
  // Full-range integers: the fraction of negative draws (1/2) and the mean
  // of the low two bits (3/2).
  cases.push_back({.op = op_name::StatefulUniformFullInt,
                   .inputs = {generator_state},
                   .body =
                       [=](X x, DType t) {
                         const Tensor draws = run(op_name::StatefulUniformFullInt, {x[0], philox},
                                                  {{"shape", std::vector<int64_t>{4096}}, {"dtype", t}})[0];
                         return std::vector<Tensor>{reduce_mean(cast(less(draws, constant(0., t)), float64)),
                                                    reduce_mean(cast(floormod(draws, constant(4., t)), float64))};
                       },
                   .dtypes = kInts,
                   .tol = tol,
                   .statistical = true});
  cases.push_back({.op = op_name::StatelessRandomUniformInt,
                   .body =
                       [=](X, DType t) {
                         return frequencies(random::stateless_uniform(constant(std::vector<int32_t>{4096}),
                                                                      constant(std::vector<int64_t>{3, 9}), 0, 4, t));
                       },
                   .dtypes = kInts,
                   .tol = tol,
                   .statistical = true});
  // Full-range integers: their residues mod 4 (each value's frequency 1/4).
  cases.push_back({.op = op_name::StatelessRandomUniformFullInt,
                   .body =
                       [=](X, DType t) {
                         return frequencies(floormod(random::stateless_uniform_full_int({4096}, {3, 9}, t),
                                                     cast(constant(4), t)));
                       },
                   .dtypes = kInts,
                   .tol = tol,
                   .statistical = true});
  // A shuffle's permutation does not depend on the dtype: every run restarts
  // the streams (a global seed set, then cleared), so each dtype and device
  // permutes the rows alike, and the comparisons are exact.
  cases.push_back({.op = op_name::RandomShuffle,
                   .inputs = {in({7, 3})},
                   .body = one([](X x) {
                     random::set_seed(1);
                     Tensor y = random::shuffle(x[0], 7);
                     random::clear_seed();
                     return y;
                   }),
                   .dtypes = kNumeric});
  // Gamma draws of 1024 samples of alphas 0.5, 1 and 2 (every branch of the
  // sampler: boosted, exponential, plain): mean and mean square (1.167,
  // 2.917). Every dtype samples in double from the same blocks (the stateful
  // draw's streams restarted at each run, as the shuffle's below), so the
  // dtypes differ only by rounding. The gradient in alpha is the implicit
  // one (RandomGammaGrad), not a sample's derivative along its own path, so
  // central differences do not apply: samplers_test.cpp checks it against
  // TensorFlow's tapes.
  auto gamma_alphas = [](DType t) { return cast(constant({0.5, 1.0, 2.0}), t); };
  cases.push_back({.op = op_name::RandomGamma,
                   .body =
                       [=](X, DType t) {
                         random::set_seed(1);
                         Tensor y = random::gamma({1024}, gamma_alphas(t), {}, 7);
                         random::clear_seed();
                         return moments(y);
                       },
                   .tol = tol,
                   .grad = false,
                   .grad_checked_by = "GammaTest.GradientsInAlphaAndBetaAreTensorFlows",
                   .statistical = true});
  cases.push_back({.op = op_name::StatelessRandomGammaV2,
                   .body =
                       [=](X, DType t) {
                         return moments(random::stateless_gamma(constant(std::vector<int32_t>{1024, 3}),
                                                                constant(std::vector<int64_t>{3, 9}), gamma_alphas(t)));
                       },
                   .tol = tol,
                   .grad = false,
                   .grad_checked_by = "GammaTest.GradientsInAlphaAndBetaAreTensorFlows",
                   .statistical = true});
  // Poisson draws of 1024 samples of rates 0.5, 3 and 12 (Knuth's and
  // Hörmann's algorithms), in each dtype from rates of that dtype: the same
  // counts in every dtype (the rates are exact in each; the stateful draw's
  // streams restarted at each run), so their moments are compared in
  // float64. Not differentiable.
  auto poisson_rates = [](DType t) { return cast(constant({0.5, 3.0, 12.0}), t); };
  cases.push_back({.op = op_name::RandomPoissonV2,
                   .body =
                       [=](X, DType t) {
                         random::set_seed(1);
                         Tensor y = random::poisson({1024}, poisson_rates(t), t, 7);
                         random::clear_seed();
                         return moments(cast(y, float64));
                       },
                   .tol = tol,
                   .statistical = true});
  cases.push_back({.op = op_name::StatelessRandomPoisson,
                   .body =
                       [=](X, DType t) {
                         return moments(cast(random::stateless_poisson(constant(std::vector<int32_t>{1024, 3}),
                                                                       constant(std::vector<int64_t>{3, 9}),
                                                                       poisson_rates(t), t),
                                             float64));
                       },
                   .tol = tol,
                   .statistical = true});
  // Binomial draws of 1024 samples of (12, 0.3), (80, 0.4), (30, 0.9) (each
  // method), the same counts in every dtype, their moments in float64.
  cases.push_back({.op = op_name::StatelessRandomBinomial,
                   .body =
                       [=](X, DType t) {
                         return moments(cast(random::stateless_binomial(
                                                 constant(std::vector<int32_t>{1024, 3}),
                                                 constant(std::vector<int64_t>{3, 9}),
                                                 cast(constant({12.0, 80.0, 30.0}), t), cast(constant({0.3, 0.4, 0.9}), t), t),
                                             float64) /
                                        100.0);
                       },
                   .tol = tol,
                   .statistical = true});
  // StatelessDropout draws float32's numbers for every dtype but float64
  // (whose own draw tests/random_test.cpp checks against TensorFlow), so the
  // float64 run, the reference, drops what float32 drops: x rounded to
  // float32 and back. Linear in x, so wide central differences are exact but
  // for float32's rounding.
  cases.push_back({.op = op_name::StatelessDropout,
                   .inputs = {in({5, 7})},
                   .body = one([](X x) {
                     Tensor seed = constant(std::vector<int64_t>{5, 11});
                     if (x[0].dtype() != float64) return stateless_dropout(x[0], 0.4, seed);
                     return cast(stateless_dropout(cast(x[0], float32), 0.4, seed), float64);
                   }),
                   .grad_eps = 0.05,
                   .grad_tol = 1e-4,
                   .exported_as = op_name::StatelessRandomUniform});
}

void image_ops(std::vector<OpCase>& cases) {
  // Projective transforms of 2 images (one transform each: a rotation-zoom,
  // a projective map) into a larger output, in every numeric dtype; their
  // gradient is linear in the images, so wide central differences are exact
  // but for the float32 arithmetic of the sampling.
  const std::pair<const char*, const char*> projective[] = {
      {"BILINEAR", "REFLECT"}, {"BILINEAR", "CONSTANT"}, {"NEAREST", "WRAP"}, {"BILINEAR", "NEAREST"}};
  for (auto [interpolation, mode] : projective)
    cases.push_back({.op = op_name::ImageProjectiveTransformV3,
                     .variant = std::string(interpolation) + "_" + mode,
                     .inputs = {in({2, 5, 6, 3})},
                     .body = one([interpolation, mode](X x) {
                       const Tensor t = constant({0.83f, -0.35f, 1.2f, 0.35f, 0.83f, -0.7f, 0.f, 0.f,  //
                                                  1.1f, 0.3f, -2.6f, -0.2f, 0.8f, 1.9f, 0.04f, -0.03f},
                                                 {2, 8});
                       return image_projective_transform(
                           x[0], t,
                           {.output_shape = std::array<int64_t, 2>{6, 8}, .interpolation = interpolation, .fill_mode = mode, .fill_value = -0.5});
                     }),
                     .dtypes = kNumeric,
                     .grad_eps = 0.5,
                     .grad_tol = 1e-5});
  // Non-maximum suppression of fixed boxes (overlaps far from the
  // thresholds, so every dtype selects alike): the indices, the decayed
  // scores of soft suppression, the padded form's count.
  cases.push_back({.op = op_name::NonMaxSuppressionV5,
                   .body = [](X, DType t) {
                     const Tensor boxes = cast(constant({0.f, 0.f, 1.f, 1.f, 0.f, 0.5f, 1.f, 1.5f, 1.f, 1.1f, 0.f, 0.1f,
                                                         5.f, 5.f, 6.f, 6.f, 2.f, 2.f, 2.f, 3.f},
                                                        {5, 4}),
                                               t);
                     const Tensor scores = cast(constant({0.9f, 0.8f, 0.95f, 0.3f, 0.99f}), t);
                     auto scalar = [&](double v) { return scalar_like(boxes, v); };
                     std::vector<Tensor> soft = run(op_name::NonMaxSuppressionV5,
                                                    {boxes, scores, constant(int32_t{4}), scalar(0.5), scalar(0.1), scalar(0.5)},
                                                    {{"pad_to_max_output_size", false}});
                     std::vector<Tensor> padded = run(op_name::NonMaxSuppressionV5,
                                                      {boxes, scores, constant(int32_t{6}), scalar(0.5), scalar(0.5), scalar(0)},
                                                      {{"pad_to_max_output_size", true}});
                     return std::vector<Tensor>{soft[0], soft[1], soft[2], padded[0], padded[2]};
                   }});
}

void variables(std::vector<OpCase>& cases) {
  auto read = [](const Tensor& h, DType t) {
    return run(op_name::ReadVariableOp, {h}, {{"dtype", t}})[0];
  };
  cases.push_back(
      {.op = op_name::ReadVariableOp, .inputs = {var({2, 3})}, .body = [read](X x, DType t) {
         return std::vector<Tensor>{read(x[0], t) * read(x[0], t)};
       }});
  const std::pair<const char*, const char*> assigns[] = {{op_name::AssignVariableOp, "assign"},
                                                         {op_name::AssignAddVariableOp, "add"},
                                                         {op_name::AssignSubVariableOp, "sub"}};
  for (const auto& [op, what] : assigns) {
    std::string name = op;
    cases.push_back({.op = op,
                     .inputs = {var({2, 3}), in({2, 3})},
                     .body =
                         [read, name](X x, DType t) {
                           run(name, {x[0], x[1]});
                           return std::vector<Tensor>{read(x[0], t)};
                         },
                     .dtypes = kNumeric});
  }
  // The optimizer updates: the variable and slots after one step, from
  // hyper-parameters a training step would pass.
  struct Apply {
    const char* op;
    const char* rows_op;  // the same with the gradient as rows (IndexedSlices)
    int slots;
    std::vector<double> scalars;  // TensorFlow's order, the gradient last
    Attrs attrs;
  };
  const std::vector<Apply> applies = {
      {op_name::ResourceApplyGradientDescent, op_name::ResourceApplyGradientDescentRows, 0, {0.1}, {}},
      {op_name::ResourceApplyKerasMomentum,
       op_name::ResourceApplyKerasMomentumRows,
       1,
       {0.1, -1, 0.9},
       {{"use_nesterov", true}}},  // -1: the gradient
      {op_name::ResourceApplyAdam,
       op_name::ResourceApplyAdamRows,
       2,
       {0.19, 0.998, 0.01, 0.9, 0.999, 1e-7},
       {{"use_nesterov", false}}},
      {op_name::ResourceApplyRMSProp, op_name::ResourceApplyRMSPropRows, 2, {0.01, 0.9, 0.5, 1e-7}, {}},
      {op_name::ResourceApplyCenteredRMSProp, op_name::ResourceApplyCenteredRMSPropRows, 3, {0.01, 0.9, 0.5, 1e-7}, {}},
      {op_name::ResourceApplyAdagradV2, op_name::ResourceApplyAdagradV2Rows, 1, {0.05, 1e-7}, {{"update_slots", true}}},
  };
  // Each update twice: with a dense [3, 2] gradient, and with the gradient
  // as rows (values [3, 2] for rows 2, 0 and 2 again: row 1 gets none).
  for (const Apply& a : applies)
    for (bool rows : {false, true}) {
      std::vector<OpInput> inputs = {var({3, 2})};
      for (int s = 0; s < a.slots; ++s)
        inputs.push_back(var({3, 2}, 0.1, 1));  // slots: accumulators, positive
      inputs.push_back(in({3, 2}));             // the gradient, or its rows
      const int n = a.slots + 1;
      cases.push_back({.op = rows ? a.rows_op : a.op,
                       .variant = rows ? "rows 2, 0, 2" : "",
                       .inputs = inputs,
                       .body =
                           [a, n, rows, read](X x, DType t) {
                             std::vector<Tensor> args(x.begin(), x.begin() + n);
                             const Tensor& grad = x[static_cast<size_t>(n)];
                             bool grad_placed = false;
                             for (double s : a.scalars) {
                               if (s == -1) {
                                 args.push_back(grad);
                                 grad_placed = true;
                               } else {
                                 args.push_back(constant(s, t));
                               }
                             }
                             if (!grad_placed) args.push_back(grad);
                             Attrs attrs = a.attrs;
                             if (rows) {
                               args.push_back(idx({2, 0, 2}));
                               attrs.set("num_rows", int64_t{3});
                             }
                             run(rows ? a.rows_op : a.op, args, attrs);
                             std::vector<Tensor> out;
                             for (int i = 0; i < n; ++i)
                               out.push_back(read(x[static_cast<size_t>(i)], t));
                             return out;
                           },
                       .tol = 16,
                       .exported_as = rows ? a.op : ""});  // TensorFlow gets the dense gradient and update
    }
}

// Traced functions the control-flow cases call: eagerly a call runs the
// function's plan, whose node is the op under test.
std::vector<Tensor> call_if(bool stateful, const Tensor& pred, const Tensor& x) {
  static auto stateless = function([](Tensor p, Tensor v) {
    return cond(
        p, [&] { return square(v) * 0.5; }, [&] { return sin(v) - v; });
  });
  static auto printing = function([](Tensor p, Tensor v) {
    return cond(
        p,
        [&] {
          print({v}, "every_op If case: true branch");
          return square(v) * 0.5;
        },
        [&] { return sin(v) - v; });
  });
  return {stateful ? printing(pred, x) : stateless(pred, x)};
}

void control_flow(std::vector<OpCase>& cases) {
  for (bool stateful : {false, true}) {
    cases.push_back(
        {.op = stateful ? static_cast<const char*>(op_name::If) : op_name::StatelessIf,
         .inputs = {in({2, 3})},
         .body =
             [stateful](X x, DType) {
               return std::vector<Tensor>{call_if(stateful, constant(true), x[0])[0],
                                          call_if(stateful, constant(false), x[0])[0]};
             },
         .dtypes = kF32F64,
         .grad_refused = stateful ? "the gradient of a branch that runs a stateful op" : ""});
  }
  static auto loop = function([](Tensor x) {
    return while_loop([](Tensor i, Tensor) { return i < 3; },
                      [](Tensor i, Tensor v) { return std::make_tuple(i + 1, v * 0.5 + sin(v)); },
                      std::make_tuple(constant(0), x));
  });
  static auto loop_printing = function([](Tensor x) {
    return while_loop([](Tensor i, Tensor) { return i < 2; },
                      [](Tensor i, Tensor v) {
                        print({i}, "every_op While case: iteration");
                        return std::make_tuple(i + 1, v * 0.5 + sin(v));
                      },
                      std::make_tuple(constant(0), x));
  });
  cases.push_back({.op = op_name::StatelessWhile,
                   .inputs = {in({2, 3})},
                   .body = [](X x, DType) { return std::vector<Tensor>{std::get<1>(loop(x[0]))}; },
                   .dtypes = kF32F64});
  cases.push_back(
      {.op = op_name::While,
       .inputs = {in({2, 3})},
       .body = [](X x, DType) { return std::vector<Tensor>{std::get<1>(loop_printing(x[0]))}; },
       .dtypes = kF32F64,
       .grad_refused = "the gradient of a loop that runs a stateful op"});
  // A call node, as an imported FunctionDef's call is (ember's own calls
  // of traced functions inline them).
  static auto caller = function([](Tensor a, Tensor b) {
    const std::vector<Tensor> args = {a, b};
    detail::CallBody call = detail::trace_call(
        "every_op_callee", args,
        [](const std::vector<Tensor>& x) { return std::vector<Tensor>{matmul(x[0], x[1]) + 1.0}; });
    return detail::call_op(call, args)[0];
  });
  static auto stateful_caller = function([](Tensor a) {
    const std::vector<Tensor> args = {a};
    detail::CallBody call =
        detail::trace_call("every_op_stateful_callee", args, [](const std::vector<Tensor>& x) {
          print({x[0]}, "every_op StatefulPartitionedCall case:");
          return std::vector<Tensor>{tanh(x[0])};
        });
    return detail::call_op(call, args)[0];
  });
  cases.push_back({.op = op_name::PartitionedCall,
                   .inputs = {in({2, 3}), in({3, 2})},
                   .body = one([](X x) { return caller(x[0], x[1]); }),
                   .dtypes = kF32F64});
  cases.push_back({.op = op_name::StatefulPartitionedCall,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) { return stateful_caller(x[0]); }),
                   .dtypes = kF32F64,
                   .grad_refused = "the gradient of a function that runs a stateful op"});
  cases.push_back({.op = op_name::Print,
                   .inputs = {in({2, 3})},
                   .body = one([](X x) {
                     return run(op_name::Print, {x[0], x[0]},
                                {{"message", std::string("every_op Print case:")},
                                 {"first_n", int64_t{-1}},
                                 {"summarize", int64_t{3}}})[0];
                   }),
                   .dtypes = kNumeric});
}

void lists(std::vector<OpCase>& cases) {
  const Shape e{3};  // the element shape
  auto from = [e](const Tensor& x) { return list::from_tensor(x, e); };
  auto add = [&cases](const char* op, OpBody body, std::vector<OpInput> inputs = {}) {
    if (inputs.empty()) inputs = {in({4, 3})};
    cases.push_back(
        {.op = op, .inputs = std::move(inputs), .body = std::move(body), .dtypes = kFloat});
  };
  add(op_name::TensorListFromTensor,
      [from, e](X x, DType t) { return std::vector<Tensor>{list::stack(from(x[0]), t, e)}; });
  add(op_name::TensorListStack,
      [from, e](X x, DType t) { return std::vector<Tensor>{list::stack(from(x[0]), t, e, 4)}; });
  add(op_name::TensorListGetItem, [from, e](X x, DType t) {
    return std::vector<Tensor>{list::get_item(from(x[0]), scalar_index(2), t, e)};
  });
  add(op_name::TensorListSetItem,
      [from, e](X x, DType t) {
        return std::vector<Tensor>{
            list::stack(list::set_item(from(x[0]), scalar_index(1), x[1]), t, e)};
      },
      {in({4, 3}), in({3})});
  add(op_name::TensorListLength,
      [from](X x, DType) { return std::vector<Tensor>{list::length(from(x[0]))}; });
  add(op_name::TensorListElementShape,
      [from](X x, DType) { return std::vector<Tensor>{list::element_shape(from(x[0]), int64)}; });
  add(op_name::TensorListPushBack,
      [from, e](X x, DType t) {
        return std::vector<Tensor>{list::stack(list::push_back(from(x[0]), x[1]), t, e)};
      },
      {in({4, 3}), in({3})});
  add(op_name::TensorListPopBack, [from, e](X x, DType t) {
    auto r = list::pop_back(from(x[0]), t, e);
    return std::vector<Tensor>{list::stack(r[0], t, e), r[1]};
  });
  add(op_name::TensorListReserve,
      [e](X x, DType t) {
        Tensor l = list::reserve(scalar_index(2), t, e);
        l = list::set_item(l, scalar_index(0), x[0]);
        l = list::set_item(l, scalar_index(1), x[1]);
        return std::vector<Tensor>{list::stack(l, t, e)};
      },
      {in({3}), in({3})});
  add(op_name::TensorListResize, [from, e](X x, DType t) {
    Tensor l = list::resize(from(x[0]), scalar_index(2));
    return std::vector<Tensor>{list::stack(l, t, e),
                               list::length(list::resize(l, scalar_index(5)))};
  });
  add(op_name::TensorListGather, [from, e](X x, DType t) {
    return std::vector<Tensor>{list::gather(from(x[0]), idx({3, 0, 3}), t, e)};
  });
  add(op_name::TensorListScatterIntoExistingList,
      [from, e](X x, DType t) {
        return std::vector<Tensor>{
            list::stack(list::scatter_into(from(x[0]), x[1], idx({2, 0})), t, e)};
      },
      {in({4, 3}), in({2, 3})});
  add(op_name::TensorListSplit,
      [](X x, DType t) {
        Tensor l = list::split(x[0], constant(std::vector<int64_t>{1, 3, 2}), Shape{-1, 2});
        return std::vector<Tensor>{list::get_item(l, scalar_index(1), t, Shape{3, 2})};
      },
      {in({6, 2})});
  add(op_name::TensorListConcatV2,
      [](X x, DType t) {
        Tensor l = list::split(x[0], constant(std::vector<int64_t>{1, 3, 2}), Shape{-1, 2});
        return list::concat(l, constant(std::vector<int64_t>{}), t, Shape{-1, 2});
      },
      {in({6, 2})});
}

std::vector<OpCase> make_cases() {
  std::vector<OpCase> cases;
  unary(cases);
  binary(cases);
  reductions(cases);
  linear_algebra(cases);
  shapes(cases);
  indexing(cases);
  convolutions(cases);
  attention(cases);
  collectives(cases);
  random_ops(cases);
  image_ops(cases);
  variables(cases);
  control_flow(cases);
  lists(cases);
  return cases;
}

}  // namespace

std::vector<size_t> gradient_sources(const OpCase& c) {
  std::vector<size_t> out;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (!c.inputs[i].fixed && c.inputs[i].differentiable) out.push_back(i);
  return out;
}

bool checks_gradient(const OpCase& c) {
  return c.grad && op_def(c.op).differentiability == Differentiability::Differentiable &&
         !gradient_sources(c).empty() &&
         std::find(c.dtypes.begin(), c.dtypes.end(), float64) != c.dtypes.end();
}

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = make_cases();
  return cases;
}

}  // namespace ember::test
