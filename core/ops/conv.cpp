// Convolutions (NHWC input, TensorFlow's HWIO filters) and their adjoints,
// with TensorFlow's raw op names and attributes. One deviation: the
// backprop ops take the shape they produce as an attribute (`input_sizes`,
// `filter_sizes`) where TensorFlow takes a tensor input, so that inference
// never reads tensor data.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/conv_util.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

void require_conv_float(const InferContext& c, const Tensor& t, const char* what) {
  if (!is_floating(t.dtype())) c.fail(what, " must be a floating dtype, got ", dtype_name(t.dtype()));
}

// `s` as the rank-4 shape it must be (one of unknown rank: four unknown dimensions).
TensorShape known4(const InferContext& c, const TensorShape& s, const char* what) {
  if (!s.rank_known()) return TensorShape{-1, -1, -1, -1};
  if (s.rank() != 4) c.fail(what, " must have rank 4, got ", s.to_debug_string());
  return s;
}

// The filter's [kh, kw, in, out-or-multiplier], checked against the input's channels.
void check_filter(const InferContext& c, const TensorShape& input_given, const TensorShape& filter_given) {
  TensorShape filter = known4(c, filter_given, "filter"), input = known4(c, input_given, "input");
  for (int i = 0; i < 4; ++i)
    if (filter.dim(i) == 0) c.fail("filter dimensions must be non-zero, got ", filter.to_debug_string());
  if (input.dim(3) >= 0 && filter.dim(2) >= 0 && input.dim(3) != filter.dim(2))
    c.fail("the input has ", input.dim(3), " channels, the filter expects ", filter.dim(2),
           " (input ", input.to_debug_string(), ", filter ", filter.to_debug_string(), ")");
}

bool depthwise(const InferContext& c) {
  return c.op.name == op_name::DepthwiseConv2dNative ||
         c.op.name == op_name::DepthwiseConv2dNativeBackpropInput ||
         c.op.name == op_name::DepthwiseConv2dNativeBackpropFilter;
}

// Output shape of the forward convolution of `input` by `filter`.
TensorShape forward_shape(const InferContext& c, const TensorShape& input, const TensorShape& filter_given) {
  check_filter(c, input, filter_given);
  TensorShape filter = known4(c, filter_given, "filter");
  Window2D g = window_2d(c, input, filter.dim(0), filter.dim(1));
  int64_t out_c = depthwise(c) ? infer::mul_dims(c, filter.dim(2), filter.dim(3)) : filter.dim(3);
  return TensorShape{g.n, g.oh, g.ow, out_c};
}

void infer_conv(InferContext& c) {
  require_conv_float(c, c.inputs[0], "input");
  if (c.inputs[1].dtype() != c.inputs[0].dtype())
    c.fail("the filter is ", dtype_name(c.inputs[1].dtype()), ", the input ",
           dtype_name(c.inputs[0].dtype()));
  known4(c, c.inputs[0].shape(), "input");
  c.outputs.push_back({c.inputs[0].dtype(), forward_shape(c, c.inputs[0].shape(), c.inputs[1].shape())});
}

TensorShape sizes_attr(const InferContext& c, const char* name) {
  auto v = c.attrs.get<std::vector<int64_t>>(name);
  if (v.size() != 4) c.fail(name, " must have 4 elements, got ", v.size());
  for (int64_t d : v)
    if (d < 0) c.fail(name, " must be non-negative, got ", TensorShape(v).to_debug_string());
  return TensorShape(v);
}

void check_out_backprop(const InferContext& c, const TensorShape& want, const Tensor& g) {
  known4(c, g.shape(), "out_backprop");
  if (!g.shape().is_compatible_with(want))
    c.fail("out_backprop has shape ", g.shape().to_debug_string(), ", the convolution gives ",
           want.to_debug_string());
}

// (filter, out_backprop) -> input gradient of shape `input_sizes`.
void infer_backprop_input(InferContext& c) {
  const Tensor& f = c.inputs[0];
  const Tensor& g = c.inputs[1];
  require_conv_float(c, f, "filter");
  if (g.dtype() != f.dtype())
    c.fail("out_backprop is ", dtype_name(g.dtype()), ", the filter ", dtype_name(f.dtype()));
  TensorShape input = sizes_attr(c, "input_sizes");
  check_out_backprop(c, forward_shape(c, input, f.shape()), g);
  c.outputs.push_back({f.dtype(), input});
}

// (input, out_backprop) -> filter gradient of shape `filter_sizes`.
void infer_backprop_filter(InferContext& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& g = c.inputs[1];
  require_conv_float(c, x, "input");
  if (g.dtype() != x.dtype())
    c.fail("out_backprop is ", dtype_name(g.dtype()), ", the input ", dtype_name(x.dtype()));
  TensorShape filter = sizes_attr(c, "filter_sizes");
  known4(c, x.shape(), "input");
  check_out_backprop(c, forward_shape(c, x.shape(), filter), g);
  c.outputs.push_back({x.dtype(), filter});
}

// A backprop op whose sizes (input_sizes, filter_sizes) are a tensor read
// when it runs (a trace that does not know the shape): a rank-4 result.
void infer_backprop_unresolved(InferContext& c) {
  require_conv_float(c, c.inputs[0], "input 0");
  if (c.inputs[1].dtype() != c.inputs[0].dtype())
    c.fail("out_backprop is ", dtype_name(c.inputs[1].dtype()), ", input 0 ", dtype_name(c.inputs[0].dtype()));
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_dims(4)});
}

OpDef& conv_attrs(OpDef& d) {
  return d.attr("strides", AttrKind::Ints)
      .attr("padding", AttrKind::String)
      .attr("explicit_paddings", AttrKind::Ints)
      .attr("dilations", AttrKind::Ints)
      .attr("data_format", AttrKind::String);
}

[[maybe_unused]] const bool conv_ops_defined = [] {
  conv_attrs(define_op(op_name::Conv2D).inputs(2).api("conv2d").set_infer(infer_conv));
  conv_attrs(define_op(op_name::Conv2DBackpropInput).inputs(2).api("conv2d_backprop_input")
                 .attr_or_input("input_sizes", AttrKind::Ints).set_infer(infer_backprop_input).set_infer_unresolved(infer_backprop_unresolved)
                 .tf_input("input_sizes", 0, TfInputForm::Ints));
  conv_attrs(define_op(op_name::Conv2DBackpropFilter).inputs(2).api("conv2d_backprop_filter")
                 .attr_or_input("filter_sizes", AttrKind::Ints).set_infer(infer_backprop_filter).set_infer_unresolved(infer_backprop_unresolved)
                 .tf_input("filter_sizes", 1, TfInputForm::Ints));
  conv_attrs(define_op(op_name::DepthwiseConv2dNative).inputs(2).api("depthwise_conv2d")
                 .set_infer(infer_conv));
  conv_attrs(define_op(op_name::DepthwiseConv2dNativeBackpropInput).inputs(2)
                 .api("depthwise_conv2d_backprop_input").attr_or_input("input_sizes", AttrKind::Ints)
                 .set_infer(infer_backprop_input).set_infer_unresolved(infer_backprop_unresolved).tf_input("input_sizes", 0, TfInputForm::Ints));
  conv_attrs(define_op(op_name::DepthwiseConv2dNativeBackpropFilter).inputs(2)
                 .api("depthwise_conv2d_backprop_filter").attr_or_input("filter_sizes", AttrKind::Ints)
                 .set_infer(infer_backprop_filter).set_infer_unresolved(infer_backprop_unresolved).tf_input("filter_sizes", 1, TfInputForm::Ints));
  return true;
}();

}  // namespace

std::vector<int64_t> window_quad(const std::vector<int64_t>& v, const char* what) {
  if (v.size() == 1) return {1, v[0], v[0], 1};
  if (v.size() == 2) return {1, v[0], v[1], 1};
  EMBER_CHECK(v.size() == 4, InvalidArgument, "[conv] ", what,
              " must have 1, 2 or 4 elements, got ", v.size());
  return v;
}

Attrs conv_attrs(const ConvOptions& o) {
  return {{"strides", window_quad(o.strides, "strides")},
          {"padding", o.padding},
          {"explicit_paddings", o.explicit_paddings},
          {"dilations", window_quad(o.dilations, "dilations")},
          {"data_format", std::string("NHWC")}};
}

Tensor conv2d(const Tensor& input, const Tensor& filters, const ConvOptions& options) {
  return execute1(EMBER_OP(op_name::Conv2D), {input, filters}, conv_attrs(options));
}

Tensor depthwise_conv2d(const Tensor& input, const Tensor& filter, const ConvOptions& options) {
  return execute1(EMBER_OP(op_name::DepthwiseConv2dNative), {input, filter}, conv_attrs(options));
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the convolutions: each op's adjoints are
// the other two ops of its triple (forward, input adjoint, filter adjoint),
// so gradients of gradients work to any order.
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

// An adjoint with its sizes attribute (`name`) set to `of`'s shape, or,
// where the trace does not know that shape, given as a tensor that the op
// reads when it runs.
Tensor adjoint(const char* op, std::vector<Tensor> in, const Attrs& attrs, const char* name, const Tensor& of) {
  if (of.shape().is_fully_defined()) return execute1(op_def(op), in, with_sizes(attrs, name, of.shape()));
  in.push_back(shape(of, int32));
  return execute1(op_def(op), in, with_sizes(attrs, nullptr, {}));
}

// y = conv(x, f): dx = input_adjoint(f, g), df = filter_adjoint(x, g).
Grads forward_grad(const Triple& t, const GradContext& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& f = c.inputs[1];
  // The data's gradient is skipped when nothing asks for it (the first layer).
  return {c.needs_grad(0) ? adjoint(t.input, {f, c.grad()}, c.attrs, "input_sizes", x) : kNone,
          c.needs_grad(1) ? adjoint(t.filter, {x, c.grad()}, c.attrs, "filter_sizes", f) : kNone};
}
// dx = input_adjoint(f, dy): d f = filter_adjoint(G, dy), d dy = conv(G, f).
Grads input_grad(const Triple& t, const GradContext& c) {
  const Tensor& f = c.inputs[0];
  const Tensor& dy = c.inputs[1];
  Grads out(c.inputs.size(), kNone);  // (none for sizes passed as a tensor)
  out[0] = adjoint(t.filter, {c.grad(), dy}, c.attrs, "filter_sizes", f);
  out[1] = execute1(op_def(t.forward), {c.grad(), f}, with_sizes(c.attrs, nullptr, {}));
  return out;
}
// df = filter_adjoint(x, dy): d x = input_adjoint(G, dy), d dy = conv(x, G).
Grads filter_grad(const Triple& t, const GradContext& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& dy = c.inputs[1];
  Grads out(c.inputs.size(), kNone);
  out[0] = adjoint(t.input, {c.grad(), dy}, c.attrs, "input_sizes", x);
  out[1] = execute1(op_def(t.forward), {x, c.grad()}, with_sizes(c.attrs, nullptr, {}));
  return out;
}

GRAD(op_name::Conv2D, kGradUsesInputs) { return forward_grad(kConv, c); } END_GRAD;
GRAD(op_name::Conv2DBackpropInput, kGradUsesInputs) { return input_grad(kConv, c); } END_GRAD;
GRAD(op_name::Conv2DBackpropFilter, kGradUsesInputs) { return filter_grad(kConv, c); } END_GRAD;
GRAD(op_name::DepthwiseConv2dNative, kGradUsesInputs) { return forward_grad(kDepthwise, c); } END_GRAD;
GRAD(op_name::DepthwiseConv2dNativeBackpropInput, kGradUsesInputs) { return input_grad(kDepthwise, c); } END_GRAD;
GRAD(op_name::DepthwiseConv2dNativeBackpropFilter, kGradUsesInputs) { return filter_grad(kDepthwise, c); } END_GRAD;

}  // namespace
}  // namespace ember::autograd
