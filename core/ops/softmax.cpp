// softmax and log_softmax over one axis (the kernels work on the last; other
// axes are moved last and back).
#include <algorithm>
#include <numeric>

#include "core/context.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

void infer_softmax(InferContext& c) {
  infer::require_float(c, c.inputs[0], "logits");
  if (c.inputs[0].shape().rank_known() && c.inputs[0].rank() < 1) c.fail("logits must have rank >= 1, got a scalar");
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

// clang-format off
EMBER_DEFINE_OP(op_name::Softmax).inputs(1).api("softmax").set_infer(infer_softmax).tf_outputs({"softmax"});
EMBER_DEFINE_OP(op_name::LogSoftmax).inputs(1).api("log_softmax").set_infer(infer_softmax).tf_outputs({"logsoftmax"});
// clang-format on

}  // namespace

namespace {
// Runs a last-axis op along `axis` by moving that axis last and back.
Tensor along_axis(const OpDef& op, const Tensor& x, int64_t axis) {
  ApiScope api(op.api_name.c_str());
  if (axis == -1 && !x.shape().rank_known()) return execute1(op, {x});  // the last axis, whatever the rank
  EMBER_CHECK(x.shape().rank_known(), InvalidArgument, "[", op.api_name, "] axis ", axis,
              " of a tensor of unknown rank: only the last axis (-1) is supported there");
  int64_t r = x.rank();
  EMBER_CHECK(r >= 1, InvalidArgument, "[", op.api_name,
              "] logits must have rank >= 1, got a scalar");
  EMBER_CHECK(axis >= -r && axis < r, InvalidArgument, "[", op.api_name, "] axis ", axis,
              " is out of range for a tensor of rank ", r, " (expected [", -r, ", ", r, "))");
  if (axis < 0) axis += r;
  if (axis == r - 1) return execute1(op, {x});
  std::vector<int64_t> perm(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[static_cast<size_t>(axis)], perm.back());
  return transpose(execute1(op, {transpose(x, perm)}), perm);
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return along_axis(EMBER_OP(op_name::Softmax), x, axis); }
Tensor log_softmax(const Tensor& x, int64_t axis) {
  return along_axis(EMBER_OP(op_name::LogSoftmax), x, axis);
}

}  // namespace ember

// ---- cross-entropy with logits ---------------------------------------------------------------
// TensorFlow's fused ops: (features [batch, classes], labels) -> (loss
// [batch], backprop [batch, classes] = softmax(features) - labels), the
// backprop being what the gradient scales.

namespace ember {
namespace {

void infer_xent(InferContext& c) {
  const Tensor& f = c.inputs[0];
  const Tensor& l = c.inputs[1];
  if (!is_floating(f.dtype())) c.fail("logits must be a floating dtype, got ", dtype_name(f.dtype()));
  TensorShape logits = infer::with_rank(c, f.shape(), 2, "logits");
  if (c.op.name == op_name::SoftmaxCrossEntropyWithLogits) {
    if (l.dtype() != f.dtype())
      c.fail("labels are ", dtype_name(l.dtype()), ", logits ", dtype_name(f.dtype()));
    std::optional<TensorShape> both = infer::with_rank(c, l.shape(), 2, "labels").merge_with(logits);
    if (!both)
      c.fail("labels have shape ", l.shape().to_debug_string(), ", logits ", logits.to_debug_string());
    logits = *both;
  } else {
    if (l.dtype() != int32 && l.dtype() != int64)
      c.fail("labels must be int32 or int64, got ", dtype_name(l.dtype()));
    TensorShape labels = infer::with_rank(c, l.shape(), 1, "labels");
    if (!labels.is_compatible_with({logits.dim(0)}))
      c.fail("labels must have shape [", logits.dim(0), "] for logits of shape ", logits.to_debug_string(),
             ", got ", l.shape().to_debug_string());
    if (logits.dim(0) < 0) logits.set_dim(0, labels.dim(0));
  }
  c.outputs.push_back({f.dtype(), TensorShape{logits.dim(0)}});
  c.outputs.push_back({f.dtype(), logits});
}

// clang-format off
EMBER_DEFINE_OP(op_name::SoftmaxCrossEntropyWithLogits).inputs(2)
    .api("softmax_cross_entropy_with_logits").set_infer(infer_xent).tf_outputs({"loss", "backprop"});
EMBER_DEFINE_OP(op_name::SparseSoftmaxCrossEntropyWithLogits).inputs(2)
    .api("sparse_softmax_cross_entropy_with_logits").set_infer(infer_xent).tf_outputs({"loss", "backprop"}).tf_type("Tlabels", dtype_of_input(1));
// clang-format on

// `x` as a matrix of its last axis: [-1, classes], through its run-time
// shape where a trace does not know the number of classes.
Tensor flatten_outer(const Tensor& x) {
  const int64_t classes = x.dim(-1);
  if (classes != TensorShape::kUnknown) return reshape(x, {-1, classes});
  const Tensor last = slice(shape(x, int64), {x.rank() - 1}, {1});
  return reshape(x, concat({constant(std::vector<int64_t>{-1}), last}, 0));
}

// The per-row losses in `logits`'s batch shape (all but its last axis),
// through its run-time shape where a trace does not know it.
Tensor restore_batch(const Tensor& losses, const Tensor& logits) {
  std::vector<int64_t> batch = logits.shape().as_vector();
  batch.pop_back();
  if (TensorShape(batch).is_fully_defined()) return reshape(losses, TensorShape(batch));
  return reshape(losses, slice(shape(logits, int64), {0}, {logits.rank() - 1}));
}

}  // namespace

Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int64_t axis) {
  const char* api = "softmax_cross_entropy_with_logits";
  ApiScope scope(api);
  EMBER_CHECK(logits.shape().rank_known(), InvalidArgument, "[", api, "] logits of unknown rank are not supported");
  int64_t r = logits.rank();
  EMBER_CHECK(r >= 1, InvalidArgument, "[", api, "] logits must have rank >= 1, got a scalar");
  EMBER_CHECK(axis >= -r && axis < r, InvalidArgument, "[", api, "] axis ", axis,
              " is out of range for logits of rank ", r);
  EMBER_CHECK(labels.shape().is_compatible_with(logits.shape()), InvalidArgument, "[", api, "] labels have shape ",
              labels.shape().to_debug_string(), ", logits ", logits.shape().to_debug_string());
  if (axis < 0) axis += r;
  Tensor x = logits, y = labels;
  if (axis != r - 1) {
    std::vector<int64_t> perm(static_cast<size_t>(r));
    for (int64_t i = 0; i < r; ++i) perm[static_cast<size_t>(i)] = i;
    std::swap(perm[static_cast<size_t>(axis)], perm.back());
    x = transpose(x, perm);
    y = transpose(y, perm);
  }
  auto out = execute(EMBER_OP(op_name::SoftmaxCrossEntropyWithLogits), {flatten_outer(x), flatten_outer(y)});
  return restore_batch(out[0], x);
}

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  const char* api = "sparse_softmax_cross_entropy_with_logits";
  ApiScope scope(api);
  EMBER_CHECK(logits.shape().rank_known(), InvalidArgument, "[", api, "] logits of unknown rank are not supported");
  EMBER_CHECK(logits.rank() >= 1, InvalidArgument, "[", api,
              "] logits must have rank >= 1, got a scalar");
  std::vector<int64_t> batch = logits.shape().as_vector();
  batch.pop_back();
  EMBER_CHECK(labels.shape().is_compatible_with(TensorShape(batch)), InvalidArgument, "[", api,
              "] labels must have the logits' shape without the last axis, ",
              TensorShape(batch).to_debug_string(), ", got ", labels.shape().to_debug_string());
  auto out = execute(EMBER_OP(op_name::SparseSoftmaxCrossEntropyWithLogits),
                     {flatten_outer(logits), reshape(labels, {-1})});
  return restore_batch(out[0], logits);
}

// TensorFlow's L2Loss kernel in ember's ops: the squares' sum, halved
// (exactly, bar underflow, the sum of the halved squares its kernel takes).
Tensor l2_loss(const Tensor& x) {
  ApiScope scope("l2_loss");
  EMBER_CHECK(is_floating(x.dtype()), InvalidArgument, "[l2_loss] x must be a floating dtype, got ",
              dtype_name(x.dtype()));
  return reduce_sum(square(x)) * 0.5;
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of softmax and log_softmax, along the last
// axis.
namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::Softmax, kGradUsesOutputs) {                                                     // (g - Σ g y) y
  return {(c.grad() - reduce_sum(c.grad() * c.y(), Ints{-1}, true)) * c.y()};
} END_GRAD;
GRAD(op_name::LogSoftmax, kGradUsesOutputs) {                                                  // g - Σ g · softmax
  return {c.grad() - reduce_sum(c.grad(), Ints{-1}, true) * exp(c.y())};
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
  if (c.grad().defined()) grad = expand_dims(c.grad(), -1) * c.outputs[1];
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
  if (c.grad().defined()) labels = expand_dims(c.grad(), -1) * -log_softmax(c.inputs[0]);
  if (c.output_grads[1].defined()) labels = add_defined(labels, -c.output_grads[1]);
  return {xent_logits_grad(c), labels};
} END_GRAD;
GRAD(op_name::SparseSoftmaxCrossEntropyWithLogits, kGradUsesInputs | kGradUsesOutputs) {
  return {xent_logits_grad(c), kNone};
} END_GRAD;

}  // namespace
}  // namespace ember::autograd
