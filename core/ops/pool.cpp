// Pooling (NHWC), with TensorFlow's raw op names and attributes. AvgPoolGrad
// takes the input's shape as an attribute (`orig_input_shape`), where
// TensorFlow takes a tensor, so that inference never reads tensor data.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/conv_util.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

std::vector<int64_t> ksize_of(const InferContext& c) {
  auto k = c.attrs.get<std::vector<int64_t>>("ksize");
  if (k.size() != 4) c.fail("ksize must have 4 elements, got ", k.size());
  if (k[0] != 1 || k[3] != 1) c.fail("pooling over the batch or channel dimension is not supported");
  return k;
}

TensorShape pooled(const InferContext& c, const TensorShape& input) {
  auto k = ksize_of(c);
  Window2D g = window_2d(c, input, k[1], k[2]);
  return TensorShape{g.n, g.oh, g.ow, g.c};
}

void require_pool_float(const InferContext& c, const Tensor& t, const char* what) {
  if (!is_floating(t.dtype())) c.fail(what, " must be a floating dtype, got ", dtype_name(t.dtype()));
}

void infer_pool(InferContext& c) {
  require_pool_float(c, c.inputs[0], "input");
  c.outputs.push_back({c.inputs[0].dtype(), pooled(c, c.inputs[0].shape())});
}

// MaxPoolGrad(orig_input, orig_output, grad) -> the input's shape.
void infer_max_pool_grad(InferContext& c) {
  const Tensor& x = c.inputs[0];
  require_pool_float(c, x, "orig_input");
  TensorShape out = pooled(c, x.shape());
  for (int i = 1; i <= 2; ++i) {
    const Tensor& t = c.inputs[static_cast<size_t>(i)];
    if (t.dtype() != x.dtype()) c.fail("input ", i, " is ", dtype_name(t.dtype()), ", orig_input ", dtype_name(x.dtype()));
    if (!t.shape().is_compatible_with(out))
      c.fail("input ", i, " has shape ", t.shape().to_debug_string(), ", the pooling gives ",
             out.to_debug_string());
  }
  c.outputs.push_back({x.dtype(), x.shape()});
}

// AvgPoolGrad(grad) -> orig_input_shape.
void infer_avg_pool_grad(InferContext& c) {
  const Tensor& g = c.inputs[0];
  require_pool_float(c, g, "grad");
  auto v = c.attrs.get<std::vector<int64_t>>("orig_input_shape");
  if (v.size() != 4) c.fail("orig_input_shape must have 4 elements, got ", v.size());
  for (int64_t d : v)
    if (d < 0) c.fail("orig_input_shape must be non-negative");
  TensorShape in(v);
  TensorShape out = pooled(c, in);
  if (!g.shape().is_compatible_with(out))
    c.fail("grad has shape ", g.shape().to_debug_string(), ", the pooling gives ", out.to_debug_string());
  c.outputs.push_back({g.dtype(), in});
}

// AvgPoolGrad with orig_input_shape a tensor read when it runs (a trace
// that does not know the input's shape): a rank-4 result.
void infer_avg_pool_grad_unresolved(InferContext& c) {
  require_pool_float(c, c.inputs[0], "grad");
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_dims(4)});
}

OpDef& pool_attrs(OpDef& d) {
  return d.attr("ksize", AttrKind::Ints)
      .attr("strides", AttrKind::Ints)
      .attr("padding", AttrKind::String)
      .attr("data_format", AttrKind::String);
}

[[maybe_unused]] const bool pool_ops_defined = [] {
  pool_attrs(define_op(op_name::MaxPool).inputs(1).api("max_pool2d").set_infer(infer_pool));
  pool_attrs(define_op(op_name::MaxPoolGrad).inputs(3).api("max_pool2d").set_infer(infer_max_pool_grad));
  pool_attrs(define_op(op_name::AvgPool).inputs(1).api("avg_pool2d").set_infer(infer_pool));
  pool_attrs(define_op(op_name::AvgPoolGrad).inputs(1).api("avg_pool2d")
                 .attr_or_input("orig_input_shape", AttrKind::Ints).set_infer(infer_avg_pool_grad)
                 .set_infer_unresolved(infer_avg_pool_grad_unresolved)
                 .tf_input("orig_input_shape", 0, TfInputForm::Ints));
  return true;
}();

Attrs pool_call_attrs(const std::vector<int64_t>& ksize, const std::vector<int64_t>& strides,
                      const std::string& padding) {
  return {{"ksize", window_quad(ksize, "ksize")},
          {"strides", window_quad(strides, "strides")},
          {"padding", padding},
          {"data_format", std::string("NHWC")}};
}

}  // namespace

Tensor max_pool2d(const Tensor& input, const std::vector<int64_t>& ksize,
                  const std::vector<int64_t>& strides, const std::string& padding) {
  return execute1(EMBER_OP(op_name::MaxPool), {input}, pool_call_attrs(ksize, strides, padding));
}

Tensor avg_pool2d(const Tensor& input, const std::vector<int64_t>& ksize,
                  const std::vector<int64_t>& strides, const std::string& padding) {
  return execute1(EMBER_OP(op_name::AvgPool), {input}, pool_call_attrs(ksize, strides, padding));
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the pooling ops. Max pooling's gradient
// is MaxPoolGrad; the average's is AvgPoolGrad, whose own gradient is the
// average pool again (the operator is linear). MaxPoolGrad is not
// differentiated further (TensorFlow's MaxPoolGradGrad is not built).
namespace ember::autograd {
namespace {

Attrs with(const Attrs& attrs, const char* name, std::vector<int64_t> v) {
  Attrs a = attrs;
  a.set(name, std::move(v));
  return a;
}

GRAD(op_name::MaxPool, kGradUsesAll) {
  return {execute1(EMBER_OP(op_name::MaxPoolGrad), {c.x(), c.y(), c.grad()}, c.attrs)};
} END_GRAD;
// (x's shape as a tensor read when it runs where the trace does not know it.)
GRAD(op_name::AvgPool, kGradUsesInputs) {
  if (c.x().shape().is_fully_defined())
    return {execute1(EMBER_OP(op_name::AvgPoolGrad), {c.grad()},
                     with(c.attrs, "orig_input_shape", c.x().shape().as_vector()))};
  return {execute1(EMBER_OP(op_name::AvgPoolGrad), {c.grad(), shape(c.x(), int32)}, c.attrs)};
} END_GRAD;
GRAD(op_name::AvgPoolGrad, kGradUsesNothing) {
  Attrs a = c.attrs;
  a.erase("orig_input_shape");
  Grads out(c.inputs.size(), kNone);  // (none for the shape passed as a tensor)
  out[0] = execute1(EMBER_OP(op_name::AvgPool), {c.grad()}, a);
  return out;
} END_GRAD;

[[maybe_unused]] const bool max_pool_grad_not_differentiable = [] {
  register_not_differentiable(op_name::MaxPoolGrad);
  return true;
}();

}  // namespace
}  // namespace ember::autograd
