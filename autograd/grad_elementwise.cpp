// Gradients of the elementwise ops (core/ops/elementwise.cpp). Broadcast
// inputs get their gradient summed back to their shape.
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::Neg, kGradUsesNothing) { return {-G}; } END_GRAD;
GRAD(op_name::Abs, kGradUsesInputs) { return {G * sign(X)}; } END_GRAD;
GRAD(op_name::Sign, kGradUsesInputs) { return {zeros_like(X)}; } END_GRAD;                  // piecewise constant
GRAD(op_name::Exp, kGradUsesOutputs) { return {G * Y}; } END_GRAD;                            // d exp(x) = exp(x) = y
GRAD(op_name::Log, kGradUsesInputs) { return {G / X}; } END_GRAD;
GRAD(op_name::Log1p, kGradUsesInputs) { return {G / (X + 1)}; } END_GRAD;
GRAD(op_name::Expm1, kGradUsesOutputs) { return {G * (Y + 1)}; } END_GRAD;                    // d(e^x - 1) = e^x = y + 1
GRAD(op_name::Sqrt, kGradUsesOutputs) { return {G * 0.5 / Y}; } END_GRAD;                     // 1 / (2 sqrt x)
GRAD(op_name::Rsqrt, kGradUsesOutputs) { return {G * -0.5 * Y * Y * Y}; } END_GRAD;           // -x^(-3/2) / 2 = -y^3 / 2
GRAD(op_name::Square, kGradUsesInputs) { return {G * 2 * X}; } END_GRAD;
GRAD(op_name::Reciprocal, kGradUsesOutputs) { return {-G * Y * Y}; } END_GRAD;                // -1/x^2 = -y^2
GRAD(op_name::Sin, kGradUsesInputs) { return {G * cos(X)}; } END_GRAD;
GRAD(op_name::Cos, kGradUsesInputs) { return {-G * sin(X)}; } END_GRAD;
GRAD(op_name::Tanh, kGradUsesOutputs) { return {G * (1 - Y * Y)}; } END_GRAD;                 // 1 - tanh^2
GRAD(op_name::Sigmoid, kGradUsesOutputs) { return {G * Y * (1 - Y)}; } END_GRAD;
GRAD(op_name::Relu, kGradUsesInputs) { return {execute1(EMBER_OP(op_name::ReluGrad), {G, X})}; } END_GRAD;
GRAD(op_name::ReluGrad, kGradUsesInputs) {                                                     // linear in g; none for the features
  return {execute1(EMBER_OP(op_name::ReluGrad), {G, B}), kNone};
} END_GRAD;
GRAD(op_name::LeakyRelu, kGradUsesInputs) {
  return {where(X > 0, G, G * c.attrs.get<double>("alpha"))};
} END_GRAD;
GRAD(op_name::Elu, kGradUsesOutputs) { return {where(Y > 0, G, G * (Y + 1))}; } END_GRAD;       // e^x = y + 1 below 0
GRAD(op_name::Selu, kGradUsesOutputs) {                                                        // scale·α·e^x = y + scale·α below 0
  return {where(Y > 0, G * 1.0507009873554804934193349852946, G * (Y + 1.7580993408473768599402175208123))};
} END_GRAD;
GRAD(op_name::Softplus, kGradUsesInputs) { return {G * sigmoid(X)}; } END_GRAD;              // d log(1 + e^x) = sigmoid(x)
GRAD(op_name::Erf, kGradUsesInputs) { return {G * (2 / std::sqrt(M_PI)) * exp(-square(X))}; } END_GRAD;
GRAD(op_name::Gelu, kGradUsesInputs) {
  const Tensor& x = X;
  if (c.attrs.get<bool>("approximate")) {
    // y = x/2 (1 + tanh(u)), u = k (x + a x^3): dy = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3 a x^2)
    const double k = std::sqrt(2 / M_PI), a = 0.044715;
    Tensor t = tanh(k * (x + a * x * x * x));
    return {G * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * a * x * x))};
  }
  // y = x Φ(x): dy = Φ(x) + x φ(x)
  Tensor cdf = 0.5 * (1 + erf(x * (1 / std::sqrt(2.0))));
  Tensor pdf = exp(-0.5 * x * x) * (1 / std::sqrt(2 * M_PI));
  return {G * (cdf + x * pdf)};
} END_GRAD;
GRAD(op_name::Identity, kGradUsesNothing) {                         // a copy: back to x's device
  return {G.device() == X.device() ? G : G.to(X.device())};
} END_GRAD;
GRAD(op_name::Cast, kGradUsesNothing) {
  if (!is_floating(X.dtype())) return {kNone};
  return {cast(G, X.dtype())};
} END_GRAD;

GRAD(op_name::AddV2, kGradUsesNothing) { return {unbroadcast(G, A.shape()), unbroadcast(G, B.shape())}; } END_GRAD;
GRAD(op_name::Sub, kGradUsesNothing) { return {unbroadcast(G, A.shape()), unbroadcast(-G, B.shape())}; } END_GRAD;
GRAD(op_name::Mul, kGradUsesInputs) { return {unbroadcast(G * B, A.shape()), unbroadcast(G * A, B.shape())}; } END_GRAD;
GRAD(op_name::RealDiv, kGradUsesInputs) {                                                     // d(a/b) = da/b - a db/b^2
  return {unbroadcast(G / B, A.shape()), unbroadcast(-G * A / (B * B), B.shape())};
} END_GRAD;
GRAD(op_name::Pow, kGradUsesAll) {                                                         // d a^b = b a^(b-1) da + a^b log(a) db
  Tensor ga = G * B * pow(A, B - 1);
  Tensor positive = A > 0;
  Tensor safe_a = where(positive, A, ones_like(A));                   // log only where defined
  Tensor gb = G * Y * where(positive, log(safe_a), zeros_like(A));
  return {unbroadcast(ga, A.shape()), unbroadcast(gb, B.shape())};
} END_GRAD;
GRAD(op_name::Maximum, kGradUsesInputs) {                                                     // ties go to a, as TensorFlow
  Tensor pick_a = A >= B, zero = zeros_like(G);
  return {unbroadcast(where(pick_a, G, zero), A.shape()), unbroadcast(where(pick_a, zero, G), B.shape())};
} END_GRAD;
GRAD(op_name::Minimum, kGradUsesInputs) {
  Tensor pick_a = A <= B, zero = zeros_like(G);
  return {unbroadcast(where(pick_a, G, zero), A.shape()), unbroadcast(where(pick_a, zero, G), B.shape())};
} END_GRAD;
GRAD(op_name::FloorMod, kGradUsesInputs) {                                                    // a - floor(a/b) b
  return {unbroadcast(G, A.shape()), unbroadcast(-G * floordiv(A, B), B.shape())};
} END_GRAD;
GRAD(op_name::SelectV2, kGradUsesInputs) {
  const Tensor& cond = c.inputs[0];
  Tensor zero = zeros_like(G);
  return {kNone, unbroadcast(where(cond, G, zero), c.inputs[1].shape()),
          unbroadcast(where(cond, zero, G), c.inputs[2].shape())};
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
  return {G, execute1(EMBER_OP(op_name::BiasAddGrad), {G}, c.attrs)};
} END_GRAD;
// The adjoint of a sum over every axis but the channel one: a broadcast back.
GRAD(op_name::BiasAddGrad, kGradUsesInputs) {
  const Tensor& x = X;
  bool nchw = c.attrs.get<std::string>("data_format") == "NCHW";
  std::vector<int64_t> d(static_cast<size_t>(x.rank()), 1);
  d[static_cast<size_t>(nchw ? 1 : x.rank() - 1)] = G.dim(0);
  return {broadcast_to(reshape(G, TensorShape(d)), x.shape())};
} END_GRAD;

}  // namespace
}  // namespace ember::autograd
