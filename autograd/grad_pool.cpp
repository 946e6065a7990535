// Gradients of the pooling ops (core/ops/pool.cpp). Max pooling's gradient
// is MaxPoolGrad; the average's is AvgPoolGrad, whose own gradient is the
// average pool again (the operator is linear). MaxPoolGrad is not
// differentiated further (TensorFlow's MaxPoolGradGrad is not built).
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

Attrs with(const Attrs& attrs, const char* name, std::vector<int64_t> v) {
  Attrs a = attrs;
  a.set(name, std::move(v));
  return a;
}

GRAD(op_name::MaxPool, kGradUsesAll) {
  return {execute1(EMBER_OP(op_name::MaxPoolGrad), {X, Y, G}, c.attrs)};
} END_GRAD;
GRAD(op_name::AvgPool, kGradUsesInputs) {
  return {execute1(EMBER_OP(op_name::AvgPoolGrad), {G},
                   with(c.attrs, "orig_input_shape", X.shape().as_vector()))};
} END_GRAD;
GRAD(op_name::AvgPoolGrad, kGradUsesNothing) {
  Attrs a = c.attrs;
  a.erase("orig_input_shape");
  return {execute1(EMBER_OP(op_name::AvgPool), {G}, a)};
} END_GRAD;

[[maybe_unused]] const bool max_pool_grad_not_differentiable = [] {
  register_not_differentiable(op_name::MaxPoolGrad);
  return true;
}();

}  // namespace
}  // namespace ember::autograd
