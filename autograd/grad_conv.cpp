// Gradients of the convolutions (core/ops/conv.cpp): each op's adjoints are
// the other two ops of its triple (forward, input adjoint, filter adjoint),
// so gradients of gradients work to any order.
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

Attrs with_sizes(const Attrs& attrs, const char* name, const TensorShape& s) {
  Attrs a = attrs;
  a.erase("input_sizes");
  a.erase("filter_sizes");
  if (name) a.set(name, s.as_vector());
  return a;
}

struct Triple {
  const char* forward;
  const char* input;
  const char* filter;
};
constexpr Triple kConv{op_name::Conv2D, op_name::Conv2DBackpropInput, op_name::Conv2DBackpropFilter};
constexpr Triple kDepthwise{op_name::DepthwiseConv2dNative, op_name::DepthwiseConv2dNativeBackpropInput,
                            op_name::DepthwiseConv2dNativeBackpropFilter};

// y = conv(x, f): dx = input_adjoint(f, g), df = filter_adjoint(x, g).
Grads forward_grad(const Triple& t, const GradContext& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& f = c.inputs[1];
  // The data's gradient is skipped when nothing asks for it (the first layer).
  return {c.needs_grad(0) ? execute1(op_def(t.input), {f, G}, with_sizes(c.attrs, "input_sizes", x.shape())) : kNone,
          c.needs_grad(1) ? execute1(op_def(t.filter), {x, G}, with_sizes(c.attrs, "filter_sizes", f.shape())) : kNone};
}
// dx = input_adjoint(f, dy): d f = filter_adjoint(G, dy), d dy = conv(G, f).
Grads input_grad(const Triple& t, const GradContext& c) {
  const Tensor& f = c.inputs[0];
  const Tensor& dy = c.inputs[1];
  return {execute1(op_def(t.filter), {G, dy}, with_sizes(c.attrs, "filter_sizes", f.shape())),
          execute1(op_def(t.forward), {G, f}, with_sizes(c.attrs, nullptr, {}))};
}
// df = filter_adjoint(x, dy): d x = input_adjoint(G, dy), d dy = conv(x, G).
Grads filter_grad(const Triple& t, const GradContext& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& dy = c.inputs[1];
  return {execute1(op_def(t.input), {G, dy}, with_sizes(c.attrs, "input_sizes", x.shape())),
          execute1(op_def(t.forward), {x, G}, with_sizes(c.attrs, nullptr, {}))};
}

GRAD(op_name::Conv2D, kGradUsesInputs) { return forward_grad(kConv, c); } END_GRAD;
GRAD(op_name::Conv2DBackpropInput, kGradUsesInputs) { return input_grad(kConv, c); } END_GRAD;
GRAD(op_name::Conv2DBackpropFilter, kGradUsesInputs) { return filter_grad(kConv, c); } END_GRAD;
GRAD(op_name::DepthwiseConv2dNative, kGradUsesInputs) { return forward_grad(kDepthwise, c); } END_GRAD;
GRAD(op_name::DepthwiseConv2dNativeBackpropInput, kGradUsesInputs) { return input_grad(kDepthwise, c); } END_GRAD;
GRAD(op_name::DepthwiseConv2dNativeBackpropFilter, kGradUsesInputs) { return filter_grad(kDepthwise, c); } END_GRAD;

}  // namespace
}  // namespace ember::autograd
