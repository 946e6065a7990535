// Gradients of softmax and log_softmax (core/ops/softmax.cpp), along the last
// axis.
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::Softmax, kGradUsesOutputs) {                                                     // (g - Σ g y) y
  return {(G - reduce_sum(G * Y, Ints{-1}, true)) * Y};
} END_GRAD;
GRAD(op_name::LogSoftmax, kGradUsesOutputs) {                                                  // g - Σ g · softmax
  return {G - reduce_sum(G, Ints{-1}, true) * exp(Y)};
} END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd

// The cross-entropies: g·backprop for the logits, plus, when a gradient
// flows into the backprop output itself (a second derivative), the softmax
// Jacobian applied to it: (gg - Σ gg·p)·p with p = softmax(logits). Dense
// labels get -g·log_softmax(logits); sparse labels get none.
namespace ember::autograd {
namespace {

// Either output gradient may be absent (undefined): it then adds nothing.
Tensor add_defined(const Tensor& a, const Tensor& b) {
  return !a.defined() ? b : !b.defined() ? a : a + b;
}

Tensor xent_logits_grad(const GradContext& c) {
  Tensor grad;
  if (G.defined()) grad = expand_dims(G, -1) * c.outputs[1];
  const Tensor& gg = c.output_grads[1];
  if (gg.defined()) {
    Tensor p = softmax(c.inputs[0]);
    grad = add_defined(grad, (gg - reduce_sum(gg * p, Ints{-1}, true)) * p);
  }
  return grad;
}

GRAD(op_name::SoftmaxCrossEntropyWithLogits, kGradUsesInputs | kGradUsesOutputs) {
  // backprop = softmax - labels, so a gradient into it reaches the labels negated.
  Tensor labels;
  if (G.defined()) labels = expand_dims(G, -1) * -log_softmax(c.inputs[0]);
  if (c.output_grads[1].defined()) labels = add_defined(labels, -c.output_grads[1]);
  return {xent_logits_grad(c), labels};
} END_GRAD;
GRAD(op_name::SparseSoftmaxCrossEntropyWithLogits, kGradUsesInputs | kGradUsesOutputs) {
  return {xent_logits_grad(c), kNone};
} END_GRAD;

}  // namespace
}  // namespace ember::autograd
