// Top-k: TensorFlow's TopKV2 (values and int32 indices of the k largest
// entries along the last axis) and InTopKV2, and tf.sort and tf.argsort
// written with TopKV2 as TensorFlow writes them. TopKV2's k is an attribute
// that may be a tensor (attr_or_input: read when the op runs, so inference
// never reads tensor data); InTopKV2's is an attribute.
#include <limits>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

void infer_top_k(InferContext& c) {
  const Tensor& x = c.inputs[0];
  if (!is_floating(x.dtype()) && x.dtype() != int32 && x.dtype() != int64)
    c.fail("input must be a floating dtype, int32 or int64, got ", dtype_name(x.dtype()));
  int64_t k = c.attrs.get<int64_t>("k");
  if (k < 0) c.fail("k must be non-negative, got ", k);
  if (!x.shape().rank_known()) {  // (its rank is checked when it runs)
    c.outputs.push_back({x.dtype(), TensorShape::unknown_rank()});
    c.outputs.push_back({int32, TensorShape::unknown_rank()});
    return;
  }
  if (x.shape().rank() < 1) c.fail("input must have rank >= 1, got a scalar");
  int64_t n = x.shape().dim(-1);
  if (n >= 0 && k > n) c.fail("input must have at least k = ", k, " columns, got ", n);
  if (k > std::numeric_limits<int32_t>::max()) c.fail("k is too large");
  std::vector<int64_t> d = x.shape().as_vector();
  d.back() = k;
  c.outputs.push_back({x.dtype(), TensorShape(d)});
  c.outputs.push_back({int32, TensorShape(d)});
}

// k a tensor not known yet: the last dimension is unknown.
void infer_top_k_unresolved(InferContext& c) {
  const Tensor &x = c.inputs[0], &k = c.inputs[1];
  if (!is_floating(x.dtype()) && x.dtype() != int32 && x.dtype() != int64)
    c.fail("input must be a floating dtype, int32 or int64, got ", dtype_name(x.dtype()));
  if (k.dtype() != int32 && k.dtype() != int64) c.fail("k must be int32 or int64, got ", dtype_name(k.dtype()));
  if (k.shape().rank_known() && k.rank() != 0) c.fail("k must be a scalar, got shape ", k.shape().to_debug_string());
  TensorShape out = TensorShape::unknown_rank();
  if (x.shape().rank_known()) {
    if (x.shape().rank() < 1) c.fail("input must have rank >= 1, got a scalar");
    std::vector<int64_t> d = x.shape().as_vector();
    d.back() = TensorShape::kUnknown;
    out = TensorShape(d);
  }
  c.outputs.push_back({x.dtype(), out});
  c.outputs.push_back({int32, out});
}

void infer_in_top_k(InferContext& c) {
  const Tensor& p = c.inputs[0];
  const Tensor& t = c.inputs[1];
  if (p.dtype() != float32) c.fail("predictions must be float32, got ", dtype_name(p.dtype()));
  if (t.dtype() != int32 && t.dtype() != int64) c.fail("targets must be int32 or int64, got ", dtype_name(t.dtype()));
  if (c.attrs.get<int64_t>("k") < 0) c.fail("k must be non-negative");
  if (p.shape().rank_known() && p.shape().rank() != 2)
    c.fail("predictions must be a matrix, got ", p.shape().to_debug_string());
  if (t.shape().rank_known() && t.shape().rank() != 1)
    c.fail("targets must be a vector, got ", t.shape().to_debug_string());
  int64_t rows = p.shape().rank_known() ? p.shape().dim(0) : TensorShape::kUnknown;
  if (t.shape().rank_known() && !TensorShape{t.shape().dim(0)}.is_compatible_with({rows}))
    c.fail("targets must have shape [", rows, "], got ", t.shape().to_debug_string());
  c.outputs.push_back({bool_, TensorShape{rows >= 0 || !t.shape().rank_known() ? rows : t.shape().dim(0)}});
}

[[maybe_unused]] const bool sort_ops_defined = [] {
  define_op(op_name::TopKV2).inputs(1).attr_or_input("k", AttrKind::Int).attr("sorted", AttrKind::Bool)
      .api("top_k").set_infer(infer_top_k).set_infer_unresolved(infer_top_k_unresolved)
      .tf_outputs({"values", "indices"}).tf_input("k", 1, TfInputForm::Int);
  define_op(op_name::InTopKV2).inputs(2).attr("k", AttrKind::Int).api("in_top_k")
      .set_infer(infer_in_top_k).not_differentiable()
      .tf_outputs({"precision"}).tf_input("k", 2, TfInputForm::Int, dtype_of_input(1))
      .tf_type("T", dtype_of_input(1));
  return true;
}();

// x with `axis` and the last swapped (its own inverse), or x itself.
Tensor with_axis_last(const Tensor& x, int64_t axis) {
  const int64_t r = x.rank();
  if (axis == r - 1) return x;
  std::vector<int64_t> perm(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[static_cast<size_t>(axis)], perm.back());
  return transpose(x, perm);
}

// TensorFlow's _sort_or_argsort: a descending top_k of every element along
// the axis (moved last); ascending sorts a key whose descending order is x's
// ascending one: -x for floats, -x - 1 (that is ~x, with no overflow) for
// signed integers. (uint8, which top_k lacks, is sorted as int32.)
TopK sort_along(const char* api, const Tensor& x, int64_t axis, bool descending) {
  ApiScope scope(api);
  EMBER_CHECK(x.shape().rank_known(), Unimplemented, "[", api, "] needs the rank of x, which this trace does not know");
  EMBER_CHECK(x.rank() >= 1, InvalidArgument, "[", api, "] x must have rank >= 1, got a scalar");
  EMBER_CHECK(axis >= -x.rank() && axis < x.rank(), InvalidArgument, "[", api, "] axis ", axis,
              " is out of range for rank ", x.rank());
  if (axis < 0) axis += x.rank();
  if (x.dtype() == uint8) {
    TopK wide = sort_along(api, cast(x, int32), axis, descending);
    return {cast(wide.values, uint8), wide.indices};
  }
  auto flip = [](const Tensor& v) {  // its own inverse
    return is_floating(v.dtype()) ? -v : -v - scalar_like(v, 1);
  };
  Tensor key = with_axis_last(x, axis);
  if (!descending) key = flip(key);
  const int64_t n = key.dim(-1);
  TopK t = n >= 0 ? top_k(key, n) : top_k(key, shape_at(key, -1));
  if (!descending) t.values = flip(t.values);
  return {with_axis_last(t.values, axis), with_axis_last(t.indices, axis)};
}

}  // namespace

TopK top_k(const Tensor& input, int64_t k, bool sorted) {
  auto out = execute(EMBER_OP(op_name::TopKV2), {input}, {{"k", k}, {"sorted", sorted}});
  return {out[0], out[1]};
}

TopK top_k(const Tensor& input, const Tensor& k, bool sorted) {
  auto out = execute(EMBER_OP(op_name::TopKV2), {input, k}, {{"sorted", sorted}});
  return {out[0], out[1]};
}

Tensor sort(const Tensor& x, int64_t axis, bool descending) { return sort_along("sort", x, axis, descending).values; }
Tensor argsort(const Tensor& x, int64_t axis, bool descending) {
  return sort_along("argsort", x, axis, descending).indices;
}

Tensor in_top_k(const Tensor& targets, const Tensor& predictions, int64_t k) {
  return execute1(EMBER_OP(op_name::InTopKV2), {predictions, targets}, {{"k", k}});
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradient of TopKV2: each value's gradient goes back to the position it was
// taken from (a scatter along the last axis); the indices have none.
namespace ember::autograd {
namespace {

GRAD(op_name::TopKV2, kGradUsesAll) {
  const Tensor& x = c.x();
  if (!x.shape().is_fully_defined() || !c.outputs[1].shape().is_fully_defined()) {
    // Shapes known when it runs: each row's indices offset by row·n, their
    // gradients added into zeros of the flattened x.
    EMBER_CHECK(x.shape().rank_known(), Unimplemented,
                "[top_k] the gradient of a top_k whose rank this trace does not know is not supported");
    const int64_t r = x.rank();
    const Tensor xs = shape(x, int64), ks = shape(c.outputs[1], int64);
    const Tensor n = shape_at(x, -1);
    const Tensor rows = reduce_prod(slice(xs, {0}, {r - 1}));  // (1 for a vector)
    const Tensor k = slice(ks, {r - 1}, {1});
    const Tensor ids = reshape(cast(c.outputs[1], int64), concat({reshape(rows, TensorShape{1}), k}, 0));
    const Tensor offsets = reshape(range(constant(int64_t{0}), rows, constant(int64_t{1})) * n, {-1, 1});
    const Tensor dx = tensor_scatter_add(zeros_like(reshape(x, {-1})), reshape(ids + offsets, {-1, 1}),
                                         reshape(c.grad(), {-1}));
    return {reshape(dx, xs)};
  }
  int64_t n = x.dim(-1), k = c.outputs[1].dim(-1);
  int64_t rows = k == 0 ? 0 : c.outputs[1].num_elements() / k;
  // Flat positions row·n + index, scattered into the flattened input.
  Tensor row = reshape(range(0, double(rows), 1, int64) * double(n), {rows, 1});
  Tensor flat = reshape(cast(reshape(c.outputs[1], {rows, k}), int64) + row, {rows * k, 1});
  Tensor dx = scatter_nd(flat, reshape(c.grad(), {rows * k}), TensorShape{rows * n});
  return {reshape(dx, x.shape())};
} END_GRAD;

}  // namespace
}  // namespace ember::autograd
