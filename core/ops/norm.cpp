// Batch normalization as TensorFlow's fused ops (NHWC: statistics over every
// axis but the last). FusedBatchNormV3(x, scale, offset, mean, variance) ->
// (y, batch_mean, batch_variance, reserve_space_1..3); its adjoint
// FusedBatchNormGradV3(y_backprop, x, scale, reserve_space_1..3) ->
// (x_backprop, scale_backprop, offset_backprop, reserve_space_4, _5).
// reserve_space_1/2 hold the batch mean and biased variance (training) or
// the given statistics (inference); reserve_space_3 is empty, as on
// TensorFlow's CPU. As TensorFlow's T and U: x, y and their gradients are
// any floating dtype; scale, offset, the statistics and their gradients are
// float32 for a 16-bit x, else x's dtype.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

int64_t channels(const InferContext& c, const Tensor& x) {
  if (!is_floating(x.dtype())) c.fail("x must be a floating dtype, got ", dtype_name(x.dtype()));
  const auto& f = c.attrs.get<std::string>("data_format");
  if (f != "NHWC") c.fail("data_format '", f, "' is not supported; ember's batch norm is NHWC");
  if (c.attrs.get<double>("epsilon") < 0) c.fail("epsilon must be non-negative");
  if (!x.shape().rank_known()) return TensorShape::kUnknown;  // (checked when it runs)
  if (x.shape().rank() < 2)
    c.fail("x must have rank >= 2 (NHWC: channels last), got ", x.shape().to_debug_string());
  return x.shape().dim(-1);
}

void check_vector(const InferContext& c, const Tensor& v, const char* what, int64_t ch, DType t) {
  if (v.dtype() != computed_in(t))
    c.fail(what, " is ", dtype_name(v.dtype()), " where x is ", dtype_name(t), ": it must be ",
           dtype_name(computed_in(t)));
  if (!v.shape().rank_known()) return;
  if (v.shape().rank() != 1 || (ch >= 0 && v.shape().dim(0) >= 0 && v.shape().dim(0) != ch))
    c.fail(what, " must have shape [", ch, "], got ", v.shape().to_debug_string());
}

void infer_fused_batch_norm(InferContext& c) {
  const Tensor& x = c.inputs[0];
  int64_t ch = channels(c, x);
  const char* names[] = {"x", "scale", "offset", "mean", "variance"};
  bool training = c.attrs.get<bool>("is_training");
  for (int i = 1; i < 5; ++i) {
    // In training with a factor of 1, TensorFlow takes empty mean and variance.
    if (i >= 3 && training && c.inputs[static_cast<size_t>(i)].shape() == TensorShape{0}) continue;
    check_vector(c, c.inputs[static_cast<size_t>(i)], names[i], ch, x.dtype());
  }
  const DType u = computed_in(x.dtype());
  c.outputs.push_back({x.dtype(), x.shape()});
  for (int i = 0; i < 4; ++i) c.outputs.push_back({u, TensorShape{ch}});
  c.outputs.push_back({u, TensorShape{0}});
}

void infer_fused_batch_norm_grad(InferContext& c) {
  const Tensor& dy = c.inputs[0];
  const Tensor& x = c.inputs[1];
  int64_t ch = channels(c, x);
  if (dy.dtype() != x.dtype() || !dy.shape().is_compatible_with(x.shape()))
    c.fail("y_backprop (", dtype_name(dy.dtype()), dy.shape().to_debug_string(), ") must match x (",
           dtype_name(x.dtype()), x.shape().to_debug_string(), ")");
  check_vector(c, c.inputs[2], "scale", ch, x.dtype());
  check_vector(c, c.inputs[3], "reserve_space_1", ch, x.dtype());
  check_vector(c, c.inputs[4], "reserve_space_2", ch, x.dtype());
  const DType u = computed_in(x.dtype());
  c.outputs.push_back({x.dtype(), x.shape()});
  c.outputs.push_back({u, TensorShape{ch}});
  c.outputs.push_back({u, TensorShape{ch}});
  c.outputs.push_back({u, TensorShape{0}});
  c.outputs.push_back({u, TensorShape{0}});
}

OpDef& bn_attrs(OpDef& d) {
  return d.attr("epsilon", AttrKind::Float).attr("data_format", AttrKind::String).attr("is_training", AttrKind::Bool);
}

[[maybe_unused]] const bool norm_ops_defined = [] {
  bn_attrs(define_op(op_name::FusedBatchNormV3).inputs(5).api("fused_batch_norm")
               .attr("exponential_avg_factor", AttrKind::Float)
               .set_infer(infer_fused_batch_norm).set_allocates_outputs()
               .tf_outputs({"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2",
                            "reserve_space_3"})
               .tf_type("U", dtype_of_input(1)));
  bn_attrs(define_op(op_name::FusedBatchNormGradV3).inputs(6).api("fused_batch_norm")
               .set_infer(infer_fused_batch_norm_grad).set_allocates_outputs()
               .tf_outputs({"x_backprop", "scale_backprop", "offset_backprop", "reserve_space_4", "reserve_space_5"})
               .tf_type("U", dtype_of_input(2)));
  return true;
}();

}  // namespace

FusedBatchNormResult fused_batch_norm(const Tensor& x, const Tensor& scale, const Tensor& offset,
                                      const Tensor& mean, const Tensor& variance, double epsilon,
                                      bool is_training, double exponential_avg_factor) {
  auto out = execute(EMBER_OP(op_name::FusedBatchNormV3), {x, scale, offset, mean, variance},
                     {{"epsilon", epsilon},
                      {"data_format", std::string("NHWC")},
                      {"is_training", is_training},
                      {"exponential_avg_factor", exponential_avg_factor}});
  return {out[0], out[1], out[2]};
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradient of FusedBatchNormV3: FusedBatchNormGradV3 from the saved batch
// statistics (reserve spaces). Gradients into the returned statistics are
// ignored, as in TensorFlow; the adjoint itself is not differentiated
// further (TensorFlow's second-order FusedBatchNormGradGrad is not built).
namespace ember::autograd {
namespace {

GRAD(op_name::FusedBatchNormV3, kGradUsesAll) {
  Attrs a = c.attrs;
  a.erase("exponential_avg_factor");
  Tensor dy = c.grad().defined() ? c.grad() : zeros_like(c.x());
  auto g = execute(EMBER_OP(op_name::FusedBatchNormGradV3),
                   {dy, c.x(), c.inputs[1], c.outputs[3], c.outputs[4], c.outputs[5]}, a);
  return {g[0], g[1], g[2], kNone, kNone};
} END_GRAD;

[[maybe_unused]] const bool fused_batch_norm_grad_not_differentiable = [] {
  register_not_differentiable(op_name::FusedBatchNormGradV3);
  return true;
}();

}  // namespace
}  // namespace ember::autograd
