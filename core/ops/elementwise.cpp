// Elementwise ops: their definitions (inference) and front-end functions.
#include <cmath>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

using infer::require_bool;
using infer::require_float;
using infer::require_numeric;

void same_as_input(InferContext& c) {
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}
void infer_unary_float(InferContext& c) {
  require_float(c, c.inputs[0]);
  same_as_input(c);
}
void infer_unary_numeric(InferContext& c) {
  require_numeric(c, c.inputs[0]);
  same_as_input(c);
}
void infer_unary_signed(InferContext& c) {
  require_numeric(c, c.inputs[0]);
  if (c.inputs[0].dtype() == uint8) c.fail("x must be a signed type, got uint8");
  same_as_input(c);
}
void infer_unary_bool(InferContext& c) {
  require_bool(c, c.inputs[0]);
  same_as_input(c);
}
void infer_unary_any(InferContext& c) {
  infer::require_computable(c, c.inputs[0]);
  same_as_input(c);
}
void infer_cast(InferContext& c) {
  DType to = c.attrs.get<DType>("DstT");
  if (!is_computable(c.inputs[0].dtype()) || !is_computable(to))
    c.fail("cannot cast ", dtype_name(c.inputs[0].dtype()), " to ", dtype_name(to));
  c.outputs.push_back({to, c.inputs[0].shape()});
}

void binary_shape(InferContext& c, DType out) {
  infer::require_same_dtype(c, c.inputs[0], c.inputs[1]);
  c.outputs.push_back({out, infer::broadcast(c, c.inputs[0].shape(), c.inputs[1].shape())});
}
void infer_binary_numeric(InferContext& c) {
  require_numeric(c, c.inputs[0]);
  binary_shape(c, c.inputs[0].dtype());
}
void infer_binary_float(InferContext& c) {
  require_float(c, c.inputs[0]);
  binary_shape(c, c.inputs[0].dtype());
}
void infer_compare(InferContext& c) {
  require_numeric(c, c.inputs[0]);
  binary_shape(c, bool_);
}
void infer_equality(InferContext& c) {
  infer::require_computable(c, c.inputs[0]);
  binary_shape(c, bool_);
}
void infer_binary_bool(InferContext& c) {
  require_bool(c, c.inputs[0]);
  binary_shape(c, bool_);
}
// The bitwise ops: TensorFlow's integer types that ember has.
void require_integer(const InferContext& c, const Tensor& t) {
  const DType d = t.dtype();
  if (d != int32 && d != int64 && d != uint8) c.fail("x must be an integer type (int32, int64, uint8), got ", dtype_name(d));
}
void infer_unary_integer(InferContext& c) {
  require_integer(c, c.inputs[0]);
  same_as_input(c);
}
void infer_binary_integer(InferContext& c) {
  require_integer(c, c.inputs[0]);
  binary_shape(c, c.inputs[0].dtype());
}
void infer_population_count(InferContext& c) {
  require_integer(c, c.inputs[0]);
  c.outputs.push_back({uint8, c.inputs[0].shape()});
}

void infer_select(InferContext& c) {
  require_bool(c, c.inputs[0], "condition");
  infer::require_same_dtype(c, c.inputs[1], c.inputs[2]);
  TensorShape s = infer::broadcast(c, c.inputs[0].shape(), c.inputs[1].shape());
  c.outputs.push_back({c.inputs[1].dtype(), infer::broadcast(c, s, c.inputs[2].shape())});
}

void infer_check(InferContext& c) {
  const Tensor& condition = c.inputs[1];
  if (condition.dtype() != bool_) c.fail("the condition must be bool, got ", dtype_name(condition.dtype()));
  if (condition.shape().rank_known() && condition.rank() != 0)
    c.fail("the condition must be a scalar, got shape ", condition.shape().to_debug_string());
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

// TensorFlow has no Gelu op: tf.nn.gelu's ops, as it writes them.
std::vector<Tensor> gelu_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  const Tensor& x = in[0];
  Tensor inner = attrs.get<bool>("approximate")  // 1 + tanh(√(2/π)·(x + 0.044715·x³)), or 1 + erf(x/√2)
                     ? tanh(0.7978845608028654 * (x + 0.044715 * pow(x, scalar_like(x, 3))))
                     : erf(x / 1.4142135623730951);
  return {0.5 * x * (1.0 + inner)};
}

// GeluGrad for TensorFlow: dy·gelu'(x) written with its ops (what gelu's
// gradient was before the fused op).
Tensor gelu_derivative(const Tensor& x, bool approximate) {
  if (approximate) {
    const double k = 0.7978845608028654, a = 0.044715;
    Tensor t = tanh(k * (x + a * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3 * a * x * x);
  }
  Tensor cdf = 0.5 * (1.0 + erf(x * 0.7071067811865476));
  Tensor pdf = exp(-0.5 * x * x) * 0.3989422804014327;
  return cdf + x * pdf;
}
std::vector<Tensor> gelu_grad_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  return {in[0] * gelu_derivative(in[1], attrs.get<bool>("approximate"))};
}

// clang-format off
EMBER_DEFINE_OP(op_name::Neg).inputs(1).api("neg").set_infer(infer_unary_signed).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Abs).inputs(1).api("abs").set_infer(infer_unary_numeric).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Sign).inputs(1).api("sign").set_infer(infer_unary_numeric).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Exp).inputs(1).api("exp").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Log).inputs(1).api("log").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Log1p).inputs(1).api("log1p").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Expm1).inputs(1).api("expm1").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Sqrt).inputs(1).api("sqrt").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Rsqrt).inputs(1).api("rsqrt").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Square).inputs(1).api("square").set_infer(infer_unary_numeric).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Reciprocal).inputs(1).api("reciprocal").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Sin).inputs(1).api("sin").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Cos).inputs(1).api("cos").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Tan).inputs(1).api("tan").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Asin).inputs(1).api("asin").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Acos).inputs(1).api("acos").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Atan).inputs(1).api("atan").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Sinh).inputs(1).api("sinh").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Cosh).inputs(1).api("cosh").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Asinh).inputs(1).api("asinh").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Acosh).inputs(1).api("acosh").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Atanh).inputs(1).api("atanh").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Tanh).inputs(1).api("tanh").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Sigmoid).inputs(1).api("sigmoid").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Relu).inputs(1).api("relu").set_infer(infer_unary_numeric).tf_outputs({"activations"});
EMBER_DEFINE_OP(op_name::Gelu).inputs(1).attr("approximate", AttrKind::Bool).api("gelu").set_infer(infer_unary_float).tf_composite(gelu_decomposition);
EMBER_DEFINE_OP(op_name::LeakyRelu).inputs(1).attr("alpha", AttrKind::Float).api("leaky_relu").set_infer(infer_unary_float).tf_outputs({"activations"});
EMBER_DEFINE_OP(op_name::Elu).inputs(1).api("elu").set_infer(infer_unary_float).tf_outputs({"activations"});
EMBER_DEFINE_OP(op_name::Selu).inputs(1).api("selu").set_infer(infer_unary_float).tf_outputs({"activations"});
EMBER_DEFINE_OP(op_name::Softplus).inputs(1).api("softplus").set_infer(infer_unary_float).tf_outputs({"activations"});
EMBER_DEFINE_OP(op_name::Erf).inputs(1).api("erf").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Erfc).inputs(1).api("erfc").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Softsign).inputs(1).api("softsign").set_infer(infer_unary_float).tf_outputs({"activations"});
EMBER_DEFINE_OP(op_name::Lgamma).inputs(1).api("lgamma").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Digamma).inputs(1).api("digamma").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Erfinv).inputs(1).api("erfinv").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Floor).inputs(1).api("floor").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Ceil).inputs(1).api("ceil").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::Round).inputs(1).api("round").set_infer(infer_unary_float).tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::LogicalNot).inputs(1).api("logical_not").set_infer(infer_unary_bool).not_differentiable().tf_outputs({"y"}).tf_no_t();
EMBER_DEFINE_OP(op_name::Cast).inputs(1).attr("DstT", AttrKind::Type).api("cast").set_infer(infer_cast).tf_outputs({"y"}).tf_no_t().tf_type("SrcT", dtype_of_input(0)).tf_fixed("Truncate", false);
EMBER_DEFINE_OP(op_name::StopGradient).inputs(1).api("stop_gradient").set_infer(infer_unary_any).set_allocates_outputs().not_differentiable();
EMBER_DEFINE_OP(op_name::Identity).inputs(1).api("identity").set_infer(infer_unary_any).set_allocates_outputs();
EMBER_DEFINE_OP(op_name::Check).inputs(2).attr("message", AttrKind::String).api("check").set_infer(infer_check).set_allocates_outputs().set_stateful();  // (exported by graph_def.cpp's emit_check)
EMBER_DEFINE_OP(op_name::CheckNumerics).inputs(1).attr("message", AttrKind::String).api("check_numerics").set_infer(infer_unary_float).set_allocates_outputs().set_stateful();

EMBER_DEFINE_OP(op_name::AddV2).inputs(2).api("add").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Sub).inputs(2).api("sub").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Mul).inputs(2).api("mul").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::RealDiv).inputs(2).api("div").set_infer(infer_binary_float).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Div).inputs(2).api("div").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Pow).inputs(2).api("pow").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Maximum).inputs(2).api("maximum").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::ReluGrad).inputs(2).api("relu").set_infer(infer_binary_numeric).tf_outputs({"backprops"});
EMBER_DEFINE_OP(op_name::GeluGrad).inputs(2).attr("approximate", AttrKind::Bool).api("gelu").set_infer(infer_binary_float).tf_composite(gelu_grad_decomposition);
EMBER_DEFINE_OP(op_name::Minimum).inputs(2).api("minimum").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::FloorDiv).inputs(2).api("floordiv").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::FloorMod).inputs(2).api("floormod").set_infer(infer_binary_numeric).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::TruncateDiv).inputs(2).api("truncatediv").set_infer(infer_binary_numeric).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::TruncateMod).inputs(2).api("truncatemod").set_infer(infer_binary_numeric).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Atan2).inputs(2).api("atan2").set_infer(infer_binary_float).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::DivNoNan).inputs(2).api("div_no_nan").set_infer(infer_binary_float).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Xdivy).inputs(2).api("xdivy").set_infer(infer_binary_float).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Xlogy).inputs(2).api("xlogy").set_infer(infer_binary_float).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Xlog1py).inputs(2).api("xlog1py").set_infer(infer_binary_float).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Polygamma).inputs(2).api("polygamma").set_infer(infer_binary_float).tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Zeta).inputs(2).api("zeta").set_infer(infer_binary_float).tf_outputs({"z"});
// d(sample)/d(alpha) of Gamma(alpha, 1) samples (the gamma draws' gradient,
// core/ops/random.cpp); TensorFlow defines no gradient for it: its GRAD
// below refuses.
EMBER_DEFINE_OP(op_name::RandomGammaGrad).inputs(2).api("random::gamma_grad").set_infer(infer_binary_float).tf_outputs({"output"});
EMBER_DEFINE_OP(op_name::Equal).inputs(2).api("equal").set_infer(infer_equality).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::NotEqual).inputs(2).api("not_equal").set_infer(infer_equality).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Less).inputs(2).api("less").set_infer(infer_compare).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::LessEqual).inputs(2).api("less_equal").set_infer(infer_compare).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Greater).inputs(2).api("greater").set_infer(infer_compare).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::GreaterEqual).inputs(2).api("greater_equal").set_infer(infer_compare).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::LogicalAnd).inputs(2).api("logical_and").set_infer(infer_binary_bool).not_differentiable().tf_outputs({"z"}).tf_no_t();
EMBER_DEFINE_OP(op_name::LogicalOr).inputs(2).api("logical_or").set_infer(infer_binary_bool).not_differentiable().tf_outputs({"z"}).tf_no_t();
EMBER_DEFINE_OP(op_name::BitwiseAnd).inputs(2).api("bitwise_and").set_infer(infer_binary_integer).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::BitwiseOr).inputs(2).api("bitwise_or").set_infer(infer_binary_integer).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::BitwiseXor).inputs(2).api("bitwise_xor").set_infer(infer_binary_integer).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::LeftShift).inputs(2).api("left_shift").set_infer(infer_binary_integer).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::RightShift).inputs(2).api("right_shift").set_infer(infer_binary_integer).not_differentiable().tf_outputs({"z"});
EMBER_DEFINE_OP(op_name::Invert).inputs(1).api("invert").set_infer(infer_unary_integer).not_differentiable().tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::PopulationCount).inputs(1).api("population_count").set_infer(infer_population_count).not_differentiable().tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::SelectV2).inputs(3).api("where").set_infer(infer_select).tf_type("T", dtype_of_input(1));
// clang-format on

}  // namespace

Tensor bitwise_and(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::BitwiseAnd), {a, b}); }
Tensor bitwise_or(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::BitwiseOr), {a, b}); }
Tensor bitwise_xor(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::BitwiseXor), {a, b}); }
Tensor left_shift(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::LeftShift), {a, b}); }
Tensor right_shift(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::RightShift), {a, b}); }
Tensor invert(const Tensor& x) { return execute1(EMBER_OP(op_name::Invert), {x}); }
Tensor population_count(const Tensor& x) { return execute1(EMBER_OP(op_name::PopulationCount), {x}); }
Tensor neg(const Tensor& x) { return execute1(EMBER_OP(op_name::Neg), {x}); }
Tensor abs(const Tensor& x) { return execute1(EMBER_OP(op_name::Abs), {x}); }
Tensor sign(const Tensor& x) { return execute1(EMBER_OP(op_name::Sign), {x}); }
Tensor exp(const Tensor& x) { return execute1(EMBER_OP(op_name::Exp), {x}); }
Tensor log(const Tensor& x) { return execute1(EMBER_OP(op_name::Log), {x}); }
Tensor log1p(const Tensor& x) { return execute1(EMBER_OP(op_name::Log1p), {x}); }
Tensor expm1(const Tensor& x) { return execute1(EMBER_OP(op_name::Expm1), {x}); }
Tensor sqrt(const Tensor& x) { return execute1(EMBER_OP(op_name::Sqrt), {x}); }
Tensor rsqrt(const Tensor& x) { return execute1(EMBER_OP(op_name::Rsqrt), {x}); }
Tensor square(const Tensor& x) { return execute1(EMBER_OP(op_name::Square), {x}); }
Tensor reciprocal(const Tensor& x) { return execute1(EMBER_OP(op_name::Reciprocal), {x}); }
Tensor sin(const Tensor& x) { return execute1(EMBER_OP(op_name::Sin), {x}); }
Tensor cos(const Tensor& x) { return execute1(EMBER_OP(op_name::Cos), {x}); }
Tensor tan(const Tensor& x) { return execute1(EMBER_OP(op_name::Tan), {x}); }
Tensor asin(const Tensor& x) { return execute1(EMBER_OP(op_name::Asin), {x}); }
Tensor acos(const Tensor& x) { return execute1(EMBER_OP(op_name::Acos), {x}); }
Tensor atan(const Tensor& x) { return execute1(EMBER_OP(op_name::Atan), {x}); }
Tensor sinh(const Tensor& x) { return execute1(EMBER_OP(op_name::Sinh), {x}); }
Tensor cosh(const Tensor& x) { return execute1(EMBER_OP(op_name::Cosh), {x}); }
Tensor asinh(const Tensor& x) { return execute1(EMBER_OP(op_name::Asinh), {x}); }
Tensor acosh(const Tensor& x) { return execute1(EMBER_OP(op_name::Acosh), {x}); }
Tensor atanh(const Tensor& x) { return execute1(EMBER_OP(op_name::Atanh), {x}); }
Tensor tanh(const Tensor& x) { return execute1(EMBER_OP(op_name::Tanh), {x}); }
Tensor sigmoid(const Tensor& x) { return execute1(EMBER_OP(op_name::Sigmoid), {x}); }
Tensor relu(const Tensor& x) { return execute1(EMBER_OP(op_name::Relu), {x}); }
Tensor leaky_relu(const Tensor& x, double alpha) {
  return execute1(EMBER_OP(op_name::LeakyRelu), {x}, {{"alpha", alpha}});
}
Tensor elu(const Tensor& x) { return execute1(EMBER_OP(op_name::Elu), {x}); }
Tensor selu(const Tensor& x) { return execute1(EMBER_OP(op_name::Selu), {x}); }
Tensor gelu(const Tensor& x, bool approximate) {
  return execute1(EMBER_OP(op_name::Gelu), {x}, {{"approximate", approximate}});
}
Tensor softplus(const Tensor& x) { return execute1(EMBER_OP(op_name::Softplus), {x}); }
Tensor erf(const Tensor& x) { return execute1(EMBER_OP(op_name::Erf), {x}); }
Tensor erfc(const Tensor& x) { return execute1(EMBER_OP(op_name::Erfc), {x}); }
Tensor softsign(const Tensor& x) { return execute1(EMBER_OP(op_name::Softsign), {x}); }
Tensor lgamma(const Tensor& x) { return execute1(EMBER_OP(op_name::Lgamma), {x}); }
Tensor digamma(const Tensor& x) { return execute1(EMBER_OP(op_name::Digamma), {x}); }
Tensor erfinv(const Tensor& x) { return execute1(EMBER_OP(op_name::Erfinv), {x}); }
Tensor floor(const Tensor& x) { return execute1(EMBER_OP(op_name::Floor), {x}); }
Tensor ceil(const Tensor& x) { return execute1(EMBER_OP(op_name::Ceil), {x}); }
Tensor round(const Tensor& x) { return execute1(EMBER_OP(op_name::Round), {x}); }
Tensor logical_not(const Tensor& x) { return execute1(EMBER_OP(op_name::LogicalNot), {x}); }

namespace {
void require_floating(const char* api, const Tensor& x) {
  EMBER_CHECK(is_floating(x.dtype()), InvalidArgument, "[", api, "] x must be a floating-point tensor, got ",
              dtype_name(x.dtype()));
}
}  // namespace

// x != x only for NaN; x - x is 0 only for finite x (inf - inf and NaN give NaN).
Tensor is_nan(const Tensor& x) {
  require_floating("is_nan", x);
  return not_equal(x, x);
}
Tensor is_finite(const Tensor& x) {
  require_floating("is_finite", x);
  return equal(x - x, zeros_like(x));
}
Tensor is_inf(const Tensor& x) {
  require_floating("is_inf", x);
  return logical_and(equal(x, x), logical_not(equal(x - x, zeros_like(x))));
}
Tensor cast(const Tensor& x, DType dtype) {
  ApiScope api("cast");
  if (x.dtype() == dtype) return x;
  return execute1(EMBER_OP(op_name::Cast), {x}, {{"DstT", dtype}});
}
Tensor stop_gradient(const Tensor& x) { return execute1(EMBER_OP(op_name::StopGradient), {x}); }
Tensor identity(const Tensor& x) { return execute1(EMBER_OP(op_name::Identity), {x}); }
Tensor check(const Tensor& x, const Tensor& condition, const std::string& message) {
  return execute1(EMBER_OP(op_name::Check), {x, condition}, {{"message", message}});
}
Tensor check_numerics(const Tensor& x, const std::string& message) {
  return execute1(EMBER_OP(op_name::CheckNumerics), {x}, {{"message", message}});
}

Tensor add(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::AddV2), {a, b}); }
Tensor sub(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Sub), {a, b}); }
Tensor mul(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Mul), {a, b}); }
Tensor div(const Tensor& a, const Tensor& b) {
  ApiScope api("div");
  if (is_floating(a.dtype())) return execute1(EMBER_OP(op_name::RealDiv), {a, b});
  return execute1(EMBER_OP(op_name::Div), {a, b});
}
Tensor pow(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Pow), {a, b}); }
Tensor maximum(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Maximum), {a, b}); }
Tensor minimum(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Minimum), {a, b}); }
Tensor floordiv(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::FloorDiv), {a, b}); }
Tensor floormod(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::FloorMod), {a, b}); }
Tensor truncatediv(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::TruncateDiv), {a, b}); }
Tensor truncatemod(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::TruncateMod), {a, b}); }
Tensor atan2(const Tensor& y, const Tensor& x) { return execute1(EMBER_OP(op_name::Atan2), {y, x}); }
Tensor div_no_nan(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::DivNoNan), {a, b}); }
Tensor xdivy(const Tensor& x, const Tensor& y) { return execute1(EMBER_OP(op_name::Xdivy), {x, y}); }
Tensor xlogy(const Tensor& x, const Tensor& y) { return execute1(EMBER_OP(op_name::Xlogy), {x, y}); }
Tensor xlog1py(const Tensor& x, const Tensor& y) { return execute1(EMBER_OP(op_name::Xlog1py), {x, y}); }
Tensor polygamma(const Tensor& a, const Tensor& x) { return execute1(EMBER_OP(op_name::Polygamma), {a, x}); }
Tensor zeta(const Tensor& x, const Tensor& q) { return execute1(EMBER_OP(op_name::Zeta), {x, q}); }
Tensor equal(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Equal), {a, b}); }
Tensor not_equal(const Tensor& a, const Tensor& b) {
  return execute1(EMBER_OP(op_name::NotEqual), {a, b});
}
Tensor less(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Less), {a, b}); }
Tensor less_equal(const Tensor& a, const Tensor& b) {
  return execute1(EMBER_OP(op_name::LessEqual), {a, b});
}
Tensor greater(const Tensor& a, const Tensor& b) { return execute1(EMBER_OP(op_name::Greater), {a, b}); }
Tensor greater_equal(const Tensor& a, const Tensor& b) {
  return execute1(EMBER_OP(op_name::GreaterEqual), {a, b});
}
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return execute1(EMBER_OP(op_name::LogicalAnd), {a, b});
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return execute1(EMBER_OP(op_name::LogicalOr), {a, b});
}
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return execute1(EMBER_OP(op_name::SelectV2), {cond, a, b});
}

Tensor scalar_like(const Tensor& like, double value) {
  ApiScope api("scalar_like");
  Tensor out;
  Device d = like.is_symbolic() ? default_device() : like.device();
  EMBER_SWITCH_ALL(like.dtype(),
                   throw InvalidArgument(
                       detail::str_cat("[scalar] no scalar of dtype ", dtype_name(like.dtype()))),
                   scalar_t v = static_cast<scalar_t>(value);
                   out = detail::make_constant(&v, like.dtype(), {}, d));
  return out;
}

Tensor scalar_operand(const Tensor& like, double value, const char* op) {
  ApiScope api(op);
  DType t = like.dtype();
  bool exact = true;
  if (t == bool_)
    exact = value == 0 || value == 1;
  else if (is_integer(t))
    exact = std::isfinite(value) && value == std::trunc(value) &&
            value >= (t == uint8 ? 0.0 : t == int32 ? -2147483648.0 : -9223372036854775808.0) &&
            value < (t == uint8 ? 256.0 : t == int32 ? 2147483648.0 : 9223372036854775808.0);
  EMBER_CHECK(exact, InvalidArgument, "[", op, "] cannot convert ", value, " to the tensor's dtype ",
              dtype_name(t), "; make the tensor a float type or cast it first");
  return scalar_like(like, value);
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator==(const Tensor& a, const Tensor& b) { return equal(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return not_equal(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return less(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return less_equal(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return greater(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return greater_equal(a, b); }

}  // namespace ember

// ---- BiasAdd: a vector added along the channel axis -----------------------------------------
// data_format "NHWC" (and any rank >= 2: the last axis) or "NCHW" (axis 1).

namespace ember {
namespace {

int channel_axis(const InferContext& c, int rank) {
  const auto& f = c.attrs.get<std::string>("data_format");
  if (f != "NHWC" && f != "NCHW") c.fail("data_format must be NHWC or NCHW, got '", f, "'");
  if (rank < 2) c.fail("the value must have rank >= 2, got rank ", rank);
  if (f == "NCHW" && rank < 3) c.fail("NCHW needs rank >= 3, got rank ", rank);
  return f == "NHWC" ? rank - 1 : 1;
}

void infer_bias_add(InferContext& c) {
  const Tensor& v = c.inputs[0];
  const Tensor& b = c.inputs[1];
  infer::require_numeric(c, v, "value");
  if (b.dtype() != v.dtype())
    c.fail("the bias is ", dtype_name(b.dtype()), ", the value ", dtype_name(v.dtype()));
  if (b.shape().rank_known() && b.shape().rank() != 1)
    c.fail("the bias must be a vector, got shape ", b.shape().to_debug_string());
  if (!v.shape().rank_known() || !b.shape().rank_known()) {  // (checked when it runs)
    channel_axis(c, 4);  // the data format, at least
    c.outputs.push_back({v.dtype(), v.shape()});
    return;
  }
  int axis = channel_axis(c, v.shape().rank());
  if (b.shape().rank() != 1) c.fail("the bias must be a vector, got shape ", b.shape().to_debug_string());
  int64_t ch = v.shape().dim(axis), n = b.shape().dim(0);
  if (ch >= 0 && n >= 0 && ch != n)
    c.fail("the bias has ", n, " elements, the value's channel dimension ", ch, " (shape ",
           v.shape().to_debug_string(), ")");
  c.outputs.push_back({v.dtype(), v.shape()});
}

void infer_bias_add_grad(InferContext& c) {
  const Tensor& g = c.inputs[0];
  infer::require_numeric(c, g, "out_backprop");
  if (!g.shape().rank_known()) {
    channel_axis(c, 4);  // the data format, at least
    c.outputs.push_back({g.dtype(), TensorShape{TensorShape::kUnknown}});
    return;
  }
  int axis = channel_axis(c, g.shape().rank());
  c.outputs.push_back({g.dtype(), TensorShape{g.shape().dim(axis)}});
}

// clang-format off
EMBER_DEFINE_OP(op_name::BiasAdd).inputs(2).attr("data_format", AttrKind::String).api("bias_add")
    .set_infer(infer_bias_add).set_allocates_outputs();
EMBER_DEFINE_OP(op_name::BiasAddGrad).inputs(1).attr("data_format", AttrKind::String).api("bias_add")
    .set_infer(infer_bias_add_grad).set_allocates_outputs();
// clang-format on

}  // namespace

Tensor bias_add(const Tensor& value, const Tensor& bias, const std::string& data_format) {
  return execute1(EMBER_OP(op_name::BiasAdd), {value, bias}, {{"data_format", data_format}});
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the elementwise ops. Broadcast
// inputs get their gradient summed back to their shape.
namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::Neg, kGradUsesNothing) { return {-c.grad()}; } END_GRAD;
GRAD(op_name::Abs, kGradUsesInputs) { return {c.grad() * sign(c.x())}; } END_GRAD;
GRAD(op_name::Sign, kGradUsesInputs) { return {zeros_like(c.x())}; } END_GRAD;                  // piecewise constant
GRAD(op_name::Exp, kGradUsesOutputs) { return {c.grad() * c.y()}; } END_GRAD;                            // d exp(x) = exp(x) = y
GRAD(op_name::Log, kGradUsesInputs) { return {c.grad() / c.x()}; } END_GRAD;
GRAD(op_name::Log1p, kGradUsesInputs) { return {c.grad() / (c.x() + 1)}; } END_GRAD;
GRAD(op_name::Expm1, kGradUsesOutputs) { return {c.grad() * (c.y() + 1)}; } END_GRAD;                    // d(e^x - 1) = e^x = y + 1
GRAD(op_name::Sqrt, kGradUsesOutputs) { return {c.grad() * 0.5 / c.y()}; } END_GRAD;                     // 1 / (2 sqrt x)
GRAD(op_name::Rsqrt, kGradUsesOutputs) { return {c.grad() * -0.5 * c.y() * c.y() * c.y()}; } END_GRAD;           // -x^(-3/2) / 2 = -y^3 / 2
GRAD(op_name::Square, kGradUsesInputs) { return {c.grad() * 2 * c.x()}; } END_GRAD;
GRAD(op_name::Reciprocal, kGradUsesOutputs) { return {-c.grad() * c.y() * c.y()}; } END_GRAD;                // -1/x^2 = -y^2
GRAD(op_name::Sin, kGradUsesInputs) { return {c.grad() * cos(c.x())}; } END_GRAD;
GRAD(op_name::Cos, kGradUsesInputs) { return {-c.grad() * sin(c.x())}; } END_GRAD;
GRAD(op_name::Tan, kGradUsesInputs) { return {c.grad() * square(reciprocal(cos(c.x())))}; } END_GRAD;           // sec²(x)
GRAD(op_name::Asin, kGradUsesInputs) { return {c.grad() * rsqrt(1 - square(c.x()))}; } END_GRAD;               // 1 / sqrt(1 - x²)
GRAD(op_name::Acos, kGradUsesInputs) { return {-c.grad() * rsqrt(1 - square(c.x()))}; } END_GRAD;
GRAD(op_name::Atan, kGradUsesInputs) { return {c.grad() / (1 + square(c.x()))}; } END_GRAD;
GRAD(op_name::Sinh, kGradUsesInputs) { return {c.grad() * cosh(c.x())}; } END_GRAD;
GRAD(op_name::Cosh, kGradUsesInputs) { return {c.grad() * sinh(c.x())}; } END_GRAD;
GRAD(op_name::Asinh, kGradUsesOutputs) { return {c.grad() / cosh(c.y())}; } END_GRAD;                        // 1 / sqrt(x² + 1) = 1 / cosh(y)
GRAD(op_name::Acosh, kGradUsesOutputs) { return {c.grad() / sinh(c.y())}; } END_GRAD;                        // 1 / sqrt(x² - 1) = 1 / sinh(y)
GRAD(op_name::Atanh, kGradUsesInputs) { return {c.grad() / (1 - square(c.x()))}; } END_GRAD;
GRAD(op_name::Tanh, kGradUsesOutputs) { return {c.grad() * (1 - c.y() * c.y())}; } END_GRAD;                 // 1 - tanh^2
GRAD(op_name::Sigmoid, kGradUsesOutputs) { return {c.grad() * c.y() * (1 - c.y())}; } END_GRAD;
GRAD(op_name::Relu, kGradUsesInputs) { return {execute1(EMBER_OP(op_name::ReluGrad), {c.grad(), c.x()})}; } END_GRAD;
GRAD(op_name::ReluGrad, kGradUsesInputs) {                                                     // linear in g; none for the features
  return {execute1(EMBER_OP(op_name::ReluGrad), {c.grad(), c.in(1)}), kNone};
} END_GRAD;
GRAD(op_name::LeakyRelu, kGradUsesInputs) {
  return {where(c.x() > 0, c.grad(), c.grad() * c.attrs.get<double>("alpha"))};
} END_GRAD;
GRAD(op_name::Elu, kGradUsesOutputs) { return {where(c.y() > 0, c.grad(), c.grad() * (c.y() + 1))}; } END_GRAD;       // e^x = y + 1 below 0
GRAD(op_name::Selu, kGradUsesOutputs) {                                                        // scale·α·e^x = y + scale·α below 0
  return {where(c.y() > 0, c.grad() * 1.0507009873554804934193349852946, c.grad() * (c.y() + 1.7580993408473768599402175208123))};
} END_GRAD;
GRAD(op_name::Softplus, kGradUsesInputs) { return {c.grad() * sigmoid(c.x())}; } END_GRAD;              // d log(1 + e^x) = sigmoid(x)
GRAD(op_name::Erf, kGradUsesInputs) { return {c.grad() * (2 / std::sqrt(M_PI)) * exp(-square(c.x()))}; } END_GRAD;
GRAD(op_name::Erfc, kGradUsesInputs) { return {c.grad() * (-2 / std::sqrt(M_PI)) * exp(-square(c.x()))}; } END_GRAD;
GRAD(op_name::Softsign, kGradUsesInputs) { return {c.grad() / square(1 + abs(c.x()))}; } END_GRAD;
GRAD(op_name::Lgamma, kGradUsesInputs) { return {c.grad() * digamma(c.x())}; } END_GRAD;                  // d log|Γ(x)| = ψ(x)
GRAD(op_name::Digamma, kGradUsesInputs) { return {c.grad() * polygamma(ones_like(c.x()), c.x())}; } END_GRAD;  // dψ = ψ⁽¹⁾
GRAD(op_name::Erfinv, kGradUsesOutputs) { return {c.grad() * (std::sqrt(M_PI) / 2) * exp(square(c.y()))}; } END_GRAD;  // 1 / erf'(y)
GRAD(op_name::Gelu, kGradUsesInputs) {  // one fused pass: dy·gelu'(x)
  return {execute1(EMBER_OP(op_name::GeluGrad), {c.grad(), c.x()}, c.attrs)};
} END_GRAD;
// GeluGrad(dy, x) = dy·gelu'(x): linear in dy; in x, dy·gelu''(x). The tanh
// form's gelu'' (u = k (x + a x³), t = tanh u, u' = k (1 + 3 a x²),
// u'' = 6 k a x): (1 - t²) u' + x/2 (1 - t²) (u'' - 2 t u'²); the erf
// form's: φ(x) (2 - x²).
GRAD(op_name::GeluGrad, kGradUsesInputs) {
  const Tensor &dy = c.in(0), &x = c.in(1);
  const bool approximate = c.attrs.get<bool>("approximate");
  Tensor d_dy = c.needs_grad(0) ? execute1(EMBER_OP(op_name::GeluGrad), {c.grad(), x}, c.attrs) : kNone;
  Tensor d_x = kNone;
  if (c.needs_grad(1)) {
    Tensor second;
    if (approximate) {
      const double k = 0.7978845608028654, a = 0.044715;
      Tensor t = tanh(k * (x + a * x * x * x));
      Tensor du = k * (1.0 + 3 * a * x * x), ddu = (6 * k * a) * x, sech2 = 1.0 - t * t;
      second = sech2 * du + 0.5 * x * sech2 * (ddu - 2.0 * t * du * du);
    } else {
      second = exp(-0.5 * x * x) * 0.3989422804014327 * (2.0 - x * x);
    }
    d_x = c.grad() * dy * second;
  }
  return {d_dy, d_x};
} END_GRAD;
GRAD(op_name::Identity, kGradUsesNothing) {                         // a copy: back to x's device
  return {c.grad().device() == c.x().device() ? c.grad() : c.grad().to(c.x().device())};
} END_GRAD;
GRAD(op_name::Check, kGradUsesNothing) { return {c.grad(), kNone}; } END_GRAD;  // x passed through
GRAD(op_name::CheckNumerics, kGradUsesNothing) {  // the gradient checked too (TensorFlow's _CheckNumericsGrad)
  return {check_numerics(c.grad(), "Not a number (NaN) or infinity (Inf) values detected in gradient. " +
                                       c.attrs.get<std::string>("message"))};
} END_GRAD;
GRAD(op_name::Cast, kGradUsesNothing) {
  if (!is_floating(c.x().dtype())) return {kNone};
  return {cast(c.grad(), c.x().dtype())};
} END_GRAD;

GRAD(op_name::AddV2, kGradUsesNothing) { return {unbroadcast(c.grad(), c.in(0)), unbroadcast(c.grad(), c.in(1))}; } END_GRAD;
GRAD(op_name::Sub, kGradUsesNothing) { return {unbroadcast(c.grad(), c.in(0)), unbroadcast(-c.grad(), c.in(1))}; } END_GRAD;
// (Only the input gradients some source needs: a dropout mask's, or a
// constant factor's, a full product then summed away, is never asked for.)
GRAD(op_name::Mul, kGradUsesInputs) {
  return {c.needs_grad(0) ? unbroadcast(c.grad() * c.in(1), c.in(0)) : kNone,
          c.needs_grad(1) ? unbroadcast(c.grad() * c.in(0), c.in(1)) : kNone};
} END_GRAD;
GRAD(op_name::RealDiv, kGradUsesInputs) {                                                     // d(a/b) = da/b - a db/b^2
  return {c.needs_grad(0) ? unbroadcast(c.grad() / c.in(1), c.in(0)) : kNone,
          c.needs_grad(1) ? unbroadcast(-c.grad() * c.in(0) / (c.in(1) * c.in(1)), c.in(1)) : kNone};
} END_GRAD;
GRAD(op_name::Pow, kGradUsesAll) {                                                         // d a^b = b a^(b-1) da + a^b log(a) db
  Tensor ga = c.grad() * c.in(1) * pow(c.in(0), c.in(1) - 1);
  Tensor positive = c.in(0) > 0;
  Tensor safe_a = where(positive, c.in(0), ones_like(c.in(0)));                   // log only where defined
  Tensor gb = c.grad() * c.y() * where(positive, log(safe_a), zeros_like(c.in(0)));
  return {unbroadcast(ga, c.in(0)), unbroadcast(gb, c.in(1))};
} END_GRAD;
GRAD(op_name::Maximum, kGradUsesInputs) {                                                     // ties go to a, as TensorFlow
  Tensor pick_a = c.in(0) >= c.in(1), zero = zeros_like(c.grad());
  return {unbroadcast(where(pick_a, c.grad(), zero), c.in(0)), unbroadcast(where(pick_a, zero, c.grad()), c.in(1))};
} END_GRAD;
GRAD(op_name::Minimum, kGradUsesInputs) {
  Tensor pick_a = c.in(0) <= c.in(1), zero = zeros_like(c.grad());
  return {unbroadcast(where(pick_a, c.grad(), zero), c.in(0)), unbroadcast(where(pick_a, zero, c.grad()), c.in(1))};
} END_GRAD;
GRAD(op_name::FloorMod, kGradUsesInputs) {                                                    // a - floor(a/b) b
  return {unbroadcast(c.grad(), c.in(0)), unbroadcast(-c.grad() * floordiv(c.in(0), c.in(1)), c.in(1))};
} END_GRAD;
GRAD(op_name::Atan2, kGradUsesInputs) {                                                    // d atan2(y, x) = (x dy - y dx) / (x² + y²)
  const Tensor &y = c.in(0), &x = c.in(1);
  Tensor scaled = c.grad() / (x * x + y * y);
  return {unbroadcast(scaled * x, y), unbroadcast(-scaled * y, x)};
} END_GRAD;
// TensorFlow's gradients of the "no NaN" ops, zero where they are.
GRAD(op_name::DivNoNan, kGradUsesInputs) {
  const Tensor &a = c.in(0), &b = c.in(1);
  return {unbroadcast(div_no_nan(c.grad(), b), a), unbroadcast(c.grad() * div_no_nan(div_no_nan(-a, b), b), b)};
} END_GRAD;
GRAD(op_name::Xdivy, kGradUsesInputs) {
  const Tensor &x = c.in(0), &y = c.in(1);
  Tensor nonzero = cast(not_equal(x, zeros_like(x)), x.dtype());
  return {unbroadcast(c.grad() * xdivy(nonzero, y), x), unbroadcast(c.grad() * xdivy(-x, y * y), y)};
} END_GRAD;
GRAD(op_name::Xlogy, kGradUsesInputs) {
  const Tensor &x = c.in(0), &y = c.in(1);
  Tensor nonzero = cast(not_equal(x, zeros_like(x)), x.dtype());
  return {unbroadcast(c.grad() * xlogy(nonzero, y), x), unbroadcast(c.grad() * xdivy(x, y), y)};
} END_GRAD;
GRAD(op_name::Xlog1py, kGradUsesInputs) {
  const Tensor &x = c.in(0), &y = c.in(1);
  Tensor nonzero = cast(not_equal(x, zeros_like(x)), x.dtype());
  return {unbroadcast(c.grad() * xlog1py(nonzero, y), x), unbroadcast(c.grad() * xdivy(x, y + 1), y)};
} END_GRAD;
// TensorFlow's: no gradient for the order a of ψ⁽ᵃ⁾ or the exponent x of
// ζ(x, q); dψ⁽ᵃ⁾(x) = ψ⁽ᵃ⁺¹⁾(x), dζ(x, q)/dq = -x·ζ(x + 1, q).
GRAD(op_name::Polygamma, kGradUsesInputs) {
  const Tensor &a = c.in(0), &x = c.in(1);
  return {kNone, unbroadcast(c.grad() * polygamma(a + ones_like(a), x), x)};
} END_GRAD;
GRAD(op_name::Zeta, kGradUsesInputs) {
  const Tensor &x = c.in(0), &q = c.in(1);
  return {kNone, unbroadcast(c.grad() * -x * zeta(x + ones_like(x), q), q)};
} END_GRAD;
// TensorFlow defines no gradient of RandomGammaGrad (a second derivative of
// gamma samples in alpha): refused with its words, not taken as zero.
GRAD(op_name::RandomGammaGrad, kGradUsesNothing) {
  (void)c;
  throw Unimplemented("[GradientTape.gradient] no gradient is defined for op RandomGammaGrad (TensorFlow defines "
                      "none: second derivatives of gamma samples in alpha are not supported)");
} END_GRAD;
GRAD(op_name::SelectV2, kGradUsesInputs) {
  const Tensor& cond = c.inputs[0];
  Tensor zero = zeros_like(c.grad());
  return {kNone, unbroadcast(where(cond, c.grad(), zero), c.inputs[1]),
          unbroadcast(where(cond, zero, c.grad()), c.inputs[2])};
} END_GRAD;
// clang-format on

// Piecewise-constant ops and integer division: no gradient (TensorFlow's
// NotDifferentiable), rather than an error when a tape reaches them.
[[maybe_unused]] const bool not_differentiable = [] {
  for (const char* op : {op_name::Floor, op_name::Ceil, op_name::Round, op_name::FloorDiv, op_name::Div})
    register_not_differentiable(op);
  return true;
}();

GRAD(op_name::BiasAdd, kGradUsesNothing) {
  return {c.grad(), execute1(EMBER_OP(op_name::BiasAddGrad), {c.grad()}, c.attrs)};
} END_GRAD;
// The adjoint of a sum over every axis but the channel one: a broadcast
// back, g along the channel axis over dy (whose shape a trace may know only
// when it runs: then plus zeros of dy's shape).
GRAD(op_name::BiasAddGrad, kGradUsesInputs) {
  const Tensor &x = c.x(), &g = c.grad();
  const bool nchw = c.attrs.get<std::string>("data_format") == "NCHW";
  Tensor along;  // g with x's rank, 1 off the channel axis
  if (!nchw) {
    along = g;  // (the last axis: a right-aligned broadcast)
  } else if (x.shape().rank_known()) {
    std::vector<int64_t> d(static_cast<size_t>(x.rank()), 1);
    d[1] = TensorShape::kUnknown;
    along = reshape(g, TensorShape(d));
  } else {  // [1, C, 1, ...] from x's run-time rank
    Tensor r = cast(rank(x), int64);
    along = reshape(g, concat({constant(std::vector<int64_t>{1, -1}, TensorShape{2}),
                               ones(reshape(r - constant(int64_t{2}), TensorShape{1}), int64)},
                              0));
  }
  if (x.shape().is_fully_defined()) return {broadcast_to(along, x.shape())};
  return {along + zeros_like(x)};
} END_GRAD;

}  // namespace
}  // namespace ember::autograd
