// Reductions, argmax/argmin, matmul and softmax: definitions and front-ends.
#include <algorithm>
#include <limits>

#include "core/context.h"
#include "core/op.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"

namespace ember {
namespace {

// Normalised, sorted, de-duplicated reduction axes from the "axis" attribute.
std::vector<int64_t> reduction_axes(const InferContext& c, int64_t rank) {
  std::vector<int64_t> axes;
  for (int64_t a : c.attrs.get<std::vector<int64_t>>("axis")) {
    int64_t n = infer::normalize_axis(c, a, rank);
    if (std::find(axes.begin(), axes.end(), n) != axes.end()) c.fail("axis ", a, " is repeated");
    axes.push_back(n);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

TensorShape reduced_shape(const InferContext& c, const TensorShape& in) {
  if (!in.rank_known()) return TensorShape::unknown_rank();
  auto axes = reduction_axes(c, in.rank());
  bool keep = c.attrs.get<bool>("keep_dims");
  Dims out;
  for (int i = 0; i < in.rank(); ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced)
      out.push_back(in.dim(i));
    else if (keep)
      out.push_back(1);
  }
  return TensorShape(std::move(out));
}

void infer_reduce_numeric(InferContext& c) {
  infer::require_numeric(c, c.inputs[0]);
  c.outputs.push_back({c.inputs[0].dtype(), reduced_shape(c, c.inputs[0].shape())});
}
void infer_reduce_bool(InferContext& c) {
  infer::require_bool(c, c.inputs[0]);
  c.outputs.push_back({bool_, reduced_shape(c, c.inputs[0].shape())});
}
void infer_reduce_minmax(InferContext& c) {
  infer::require_numeric(c, c.inputs[0]);
  // The maximum of nothing has no value (TensorFlow returns -inf/lowest; we refuse for ints).
  c.outputs.push_back({c.inputs[0].dtype(), reduced_shape(c, c.inputs[0].shape())});
}

void infer_arg(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  infer::require_numeric(c, c.inputs[0]);
  if (in.rank() == 0) c.fail("x must have rank >= 1, got a scalar");
  int64_t axis = infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), in.rank());
  if (in.dim(static_cast<int>(axis)) == 0)
    c.fail("cannot take the index over an empty axis ", axis);
  DType index_type = c.attrs.get<DType>("output_type");
  if (index_type != int64) c.fail("output_type must be int64, got ", dtype_name(index_type));
  Dims out;
  for (int i = 0; i < in.rank(); ++i)
    if (i != axis) out.push_back(in.dim(i));
  c.outputs.push_back({index_type, TensorShape(std::move(out))});
}

std::string mat_str(const TensorShape& s) { return s.to_debug_string(); }

void infer_matmul(InferContext& c) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  infer::require_float(c, a, "a");
  infer::require_same_dtype(c, a, b);
  if (a.rank() != 2 || b.rank() != 2)
    c.fail("MatMul takes matrices (rank 2), got ", mat_str(a.shape()), " and ", mat_str(b.shape()));
  bool ta = c.attrs.get<bool>("transpose_a"), tb = c.attrs.get<bool>("transpose_b");
  int64_t m = a.dim(ta ? 1 : 0), k = a.dim(ta ? 0 : 1);
  int64_t k2 = b.dim(tb ? 1 : 0), n = b.dim(tb ? 0 : 1);
  if (k >= 0 && k2 >= 0 && k != k2)
    c.fail("inner dimensions differ: ", mat_str(a.shape()), " vs ", mat_str(b.shape()),
           ta || tb ? " (after transposes)" : "");
  c.outputs.push_back({a.dtype(), TensorShape{m, n}});
}

void infer_batch_matmul(InferContext& c) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  infer::require_float(c, a, "a");
  infer::require_same_dtype(c, a, b);
  if (a.rank() < 2 || b.rank() < 2)
    c.fail("operands must have rank >= 2, got ", mat_str(a.shape()), " and ", mat_str(b.shape()));
  bool ta = c.attrs.get<bool>("adj_x"), tb = c.attrs.get<bool>("adj_y");
  int ra = a.rank(), rb = b.rank();
  int64_t m = a.dim(ta ? ra - 1 : ra - 2), k = a.dim(ta ? ra - 2 : ra - 1);
  int64_t k2 = b.dim(tb ? rb - 1 : rb - 2), n = b.dim(tb ? rb - 2 : rb - 1);
  if (k >= 0 && k2 >= 0 && k != k2)
    c.fail("inner dimensions differ: ", mat_str(a.shape()), " vs ", mat_str(b.shape()),
           ta || tb ? " (after transposes)" : "");
  Dims ba(a.shape().dims().begin(), a.shape().dims().end() - 2);
  Dims bb(b.shape().dims().begin(), b.shape().dims().end() - 2);
  TensorShape batch = infer::broadcast(c, TensorShape(ba), TensorShape(bb));
  Dims out = batch.dims();
  out.push_back(m);
  out.push_back(n);
  c.outputs.push_back({a.dtype(), TensorShape(std::move(out))});
}

void infer_softmax(InferContext& c) {
  infer::require_float(c, c.inputs[0], "logits");
  if (c.inputs[0].rank() < 1) c.fail("logits must have rank >= 1, got a scalar");
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

// clang-format off
EMBER_DEFINE_OP("Sum").inputs(1).attr("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_sum").set_infer(infer_reduce_numeric);
EMBER_DEFINE_OP("Mean").inputs(1).attr("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_mean").set_infer(infer_reduce_numeric);
EMBER_DEFINE_OP("Max").inputs(1).attr("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_max").set_infer(infer_reduce_minmax);
EMBER_DEFINE_OP("Min").inputs(1).attr("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_min").set_infer(infer_reduce_minmax);
EMBER_DEFINE_OP("Prod").inputs(1).attr("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_prod").set_infer(infer_reduce_numeric);
EMBER_DEFINE_OP("All").inputs(1).attr("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_all").set_infer(infer_reduce_bool).not_differentiable();
EMBER_DEFINE_OP("Any").inputs(1).attr("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_any").set_infer(infer_reduce_bool).not_differentiable();
EMBER_DEFINE_OP("ArgMax").inputs(1).attr("axis", AttrKind::Int).attr("output_type", AttrKind::Type).api("argmax").set_infer(infer_arg).not_differentiable();
EMBER_DEFINE_OP("ArgMin").inputs(1).attr("axis", AttrKind::Int).attr("output_type", AttrKind::Type).api("argmin").set_infer(infer_arg).not_differentiable();
EMBER_DEFINE_OP("MatMul").inputs(2).attr("transpose_a", AttrKind::Bool).attr("transpose_b", AttrKind::Bool).api("matmul").set_infer(infer_matmul);
EMBER_DEFINE_OP("BatchMatMulV2").inputs(2).attr("adj_x", AttrKind::Bool).attr("adj_y", AttrKind::Bool).api("matmul").set_infer(infer_batch_matmul);
EMBER_DEFINE_OP("Softmax").inputs(1).api("softmax").set_infer(infer_softmax);
EMBER_DEFINE_OP("LogSoftmax").inputs(1).api("log_softmax").set_infer(infer_softmax);
// clang-format on

std::vector<int64_t> resolve_axes(const Tensor& x, const Axes& axes) {
  if (axes) return *axes;
  std::vector<int64_t> all(static_cast<size_t>(x.rank()));
  for (int i = 0; i < x.rank(); ++i) all[static_cast<size_t>(i)] = i;
  return all;
}

Tensor reduce(const OpDef& op, const Tensor& x, const Axes& axes, bool keepdims) {
  ApiScope api(op.api_name.c_str());
  return execute1(op, {x}, {{"axis", resolve_axes(x, axes)}, {"keep_dims", keepdims}});
}

// An inf-free version of m for subtracting: non-finite maxima become 0.
Tensor finite_or_zero(const Tensor& m) {
  Tensor inf = scalar_like(m, std::numeric_limits<double>::infinity());
  return where(less(abs(m), inf), m, zeros_like(m));
}

}  // namespace

Tensor reduce_sum(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP("Sum"), x, axes, keepdims);
}
Tensor reduce_mean(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP("Mean"), x, axes, keepdims);
}
Tensor reduce_max(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP("Max"), x, axes, keepdims);
}
Tensor reduce_min(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP("Min"), x, axes, keepdims);
}
Tensor reduce_prod(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP("Prod"), x, axes, keepdims);
}
Tensor reduce_all(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP("All"), x, axes, keepdims);
}
Tensor reduce_any(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP("Any"), x, axes, keepdims);
}

Tensor reduce_logsumexp(const Tensor& x, Axes axes, bool keepdims) {
  ApiScope api("reduce_logsumexp");
  EMBER_CHECK(x.dtype() == float32 || x.dtype() == float64, InvalidArgument,
              "[", context().api, "] x must be float32 or float64, got ", dtype_name(x.dtype()));
  // log Σ exp(x) = m + log Σ exp(x - m), with m the (finite) maximum.
  Tensor m = stop_gradient(finite_or_zero(reduce_max(x, axes, /*keepdims=*/true)));
  Tensor sum = reduce_sum(exp(x - m), axes, keepdims);
  return log(sum) + (keepdims ? m : reshape(m, sum.shape()));
}

Tensor reduce_variance(const Tensor& x, Axes axes, bool keepdims) {
  ApiScope api("reduce_variance");
  EMBER_CHECK(x.dtype() == float32 || x.dtype() == float64, InvalidArgument,
              "[", context().api, "] x must be float32 or float64, got ", dtype_name(x.dtype()));
  Tensor mean = reduce_mean(x, axes, /*keepdims=*/true);
  return reduce_mean(square(x - mean), axes, keepdims);
}

Tensor reduce_std(const Tensor& x, Axes axes, bool keepdims) {
  ApiScope api("reduce_std");
  return sqrt(reduce_variance(x, axes, keepdims));
}

Tensor argmax(const Tensor& x, int64_t axis) {
  return execute1(EMBER_OP("ArgMax"), {x}, {{"axis", axis}, {"output_type", int64}});
}
Tensor argmin(const Tensor& x, int64_t axis) {
  return execute1(EMBER_OP("ArgMin"), {x}, {{"axis", axis}, {"output_type", int64}});
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  ApiScope api("matmul");
  if (a.rank() == 2 && b.rank() == 2)
    return execute1(EMBER_OP("MatMul"), {a, b},
                    {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}});
  return execute1(EMBER_OP("BatchMatMulV2"), {a, b},
                  {{"adj_x", transpose_a}, {"adj_y", transpose_b}});
}

namespace {
// Runs a last-axis op along `axis` by moving that axis last and back.
Tensor along_axis(const OpDef& op, const Tensor& x, int64_t axis) {
  ApiScope api(op.api_name.c_str());
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

Tensor softmax(const Tensor& x, int64_t axis) { return along_axis(EMBER_OP("Softmax"), x, axis); }
Tensor log_softmax(const Tensor& x, int64_t axis) {
  return along_axis(EMBER_OP("LogSoftmax"), x, axis);
}

}  // namespace ember
