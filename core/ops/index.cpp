// The index-driven ops: gather, gather_nd, scatter_nd, tensor_scatter_add,
// unsorted_segment_sum, one_hot, range, and mirror padding (each output
// element is read from an input element found by index arithmetic; the
// adjoint scatter-adds back). Definitions and front-ends; kernels check the
// indices themselves (data-dependent).
#include <cmath>
#include <limits>

#include "core/context.h"
#include "core/indexed_slices.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/shape_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

using Ints = std::vector<int64_t>;
using infer::ints;
using infer::require_computable;

void infer_gather(InferContext& c) {
  const TensorShape &p = c.inputs[0].shape(), &idx = c.inputs[1].shape();
  infer::require_integer_index(c, c.inputs[1]);
  require_computable(c, c.inputs[0]);
  if (infer::rank_unknown({&p, &idx})) {
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  int64_t batch_dims = c.attrs.get<int64_t>("batch_dims");
  if (batch_dims < 0) batch_dims += idx.rank();
  if (batch_dims < 0 || batch_dims > idx.rank())
    c.fail("batch_dims ", c.attrs.get<int64_t>("batch_dims"),
           " is out of range for indices of rank ", idx.rank());
  if (p.rank() < 1) c.fail("params must have rank >= 1, got a scalar");
  int64_t axis = infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), p.rank());
  if (axis < batch_dims) c.fail("axis ", axis, " must be >= batch_dims ", batch_dims);
  for (int64_t i = 0; i < batch_dims; ++i)
    if (p.dim(static_cast<int>(i)) >= 0 && idx.dim(static_cast<int>(i)) >= 0 &&
        p.dim(static_cast<int>(i)) != idx.dim(static_cast<int>(i)))
      c.fail("batch dimension ", i, " differs: params ", p.to_debug_string(), " vs indices ",
             idx.to_debug_string());
  Dims out;
  for (int64_t i = 0; i < axis; ++i) out.push_back(p.dim(static_cast<int>(i)));
  for (int64_t i = batch_dims; i < idx.rank(); ++i) out.push_back(idx.dim(static_cast<int>(i)));
  for (int64_t i = axis + 1; i < p.rank(); ++i) out.push_back(p.dim(static_cast<int>(i)));
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

void infer_gather_nd(InferContext& c) {
  const TensorShape &p = c.inputs[0].shape(), &idx = c.inputs[1].shape();
  infer::require_integer_index(c, c.inputs[1]);
  require_computable(c, c.inputs[0]);
  int64_t bd = c.attrs.get<int64_t>("batch_dims");
  if (infer::rank_unknown({&p, &idx})) {
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  if (idx.rank() < 1) c.fail("indices must have rank >= 1");
  int64_t depth = idx.dim(idx.rank() - 1);
  if (bd < 0 || bd >= idx.rank())
    c.fail("batch_dims ", bd, " out of range for indices of rank ", idx.rank());
  if (depth < 0) {  // the index depth decides the rank: known when it runs
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  if (bd + depth > p.rank())
    c.fail("index depth ", depth, " (+ batch_dims ", bd, ") exceeds params rank ", p.rank());
  Dims out;
  for (int i = 0; i < idx.rank() - 1; ++i) out.push_back(idx.dim(i));
  for (int64_t i = bd + depth; i < p.rank(); ++i) out.push_back(p.dim(static_cast<int>(i)));
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

// Shared by ScatterNd and TensorScatterAdd: updates.shape must be
// indices.shape[:-1] + shape[depth:].
void check_scatter(const InferContext& c, const TensorShape& shape, const TensorShape& idx,
                   const TensorShape& upd) {
  if (infer::rank_unknown({&shape, &idx, &upd})) return;  // (checked when it runs)
  if (idx.rank() < 1) c.fail("indices must have rank >= 1");
  int64_t depth = idx.dim(idx.rank() - 1);
  if (depth < 0) return;  // (checked when it runs)
  if (depth > shape.rank())
    c.fail("index depth ", depth, " exceeds the output rank ", shape.rank());
  Dims want;
  for (int i = 0; i < idx.rank() - 1; ++i) want.push_back(idx.dim(i));
  for (int64_t i = depth; i < shape.rank(); ++i) want.push_back(shape.dim(static_cast<int>(i)));
  if (!TensorShape(want).is_compatible_with(upd))
    c.fail("updates must have shape ", TensorShape(want).to_debug_string(), ", got ",
           upd.to_debug_string());
}

void infer_scatter_nd(InferContext& c) {
  infer::require_integer_index(c, c.inputs[0]);
  infer::require_numeric(c, c.inputs[1], "updates");
  infer::require_valid_dims(c, ints(c, "shape"), "shape");
  TensorShape shape(ints(c, "shape"));
  check_scatter(c, shape, c.inputs[0].shape(), c.inputs[1].shape());
  c.outputs.push_back({c.inputs[1].dtype(), shape});
}

void infer_tensor_scatter_add(InferContext& c) {
  infer::require_numeric(c, c.inputs[0], "tensor");
  infer::require_integer_index(c, c.inputs[1]);
  infer::require_same_dtype(c, c.inputs[0], c.inputs[2]);
  check_scatter(c, c.inputs[0].shape(), c.inputs[1].shape(), c.inputs[2].shape());
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

void infer_one_hot(InferContext& c) {
  infer::require_integer_index(c, c.inputs[0]);
  const TensorShape& in = c.inputs[0].shape();
  int64_t depth = c.attrs.get<int64_t>("depth");
  if (depth < 0) c.fail("depth must be non-negative, got ", depth);
  int64_t axis = c.attrs.get<int64_t>("axis");
  if (!in.rank_known()) {
    if (axis < -1) c.fail("axis ", axis, " out of range: it must be >= -1");
    c.outputs.push_back({c.attrs.get<DType>("T"), TensorShape::unknown_rank()});
    return;
  }
  if (axis < -1 || axis > in.rank()) c.fail("axis ", axis, " out of range [-1, ", in.rank(), "]");
  if (axis == -1) axis = in.rank();
  Dims out = in.dims();
  out.insert(static_cast<size_t>(axis), depth);
  c.outputs.push_back({c.attrs.get<DType>("T"), TensorShape(std::move(out))});
}

// A range whose bounds are known when it runs: a vector of unknown length.
void infer_range_unresolved(InferContext& c) {
  DType t = c.attrs.get<DType>("Tidx");
  if (t == bool_ || !is_computable(t)) c.fail("unsupported dtype ", dtype_name(t));
  for (const Tensor& bound : c.inputs)
    if (bound.shape().rank_known() && bound.rank() != 0)
      c.fail("start, limit and delta must be scalars, got shape ", bound.shape().to_debug_string());
  c.outputs.push_back({t, TensorShape{TensorShape::kUnknown}});
}

void infer_range(InferContext& c) {
  double start = c.attrs.get<double>("start"), limit = c.attrs.get<double>("limit"),
         delta = c.attrs.get<double>("delta");
  DType t = c.attrs.get<DType>("Tidx");
  if (t == bool_ || !is_computable(t)) c.fail("unsupported dtype ", dtype_name(t));
  if (!std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta))
    c.fail("start, limit and delta must be finite, got ", start, ", ", limit, " and ", delta);
  if (delta == 0) c.fail("delta must not be 0");
  if ((delta > 0 && start > limit) || (delta < 0 && start < limit))
    c.fail("start ", start, " and limit ", limit, " are inconsistent with delta ", delta);
  int64_t n = 0;
  if (is_integer(t)) {
    // 2^63 (2^31) is the first double outside int64 (int32); integral values below convert exactly.
    const double bound = t == int64 ? 9223372036854775808.0 : t == int32 ? 2147483648.0 : 256.0;
    const double low = t == uint8 ? 0.0 : -bound;
    for (double v : {start, limit, delta})
      if (v != std::trunc(v) || v >= bound || v < low)
        c.fail("start, limit and delta must be integers in ", dtype_name(t), "'s range, got ",
               start, ", ", limit, " and ", delta);
    // |limit - start| and |delta| as unsigned 64-bit values (exact in modular arithmetic).
    auto lo = static_cast<uint64_t>(static_cast<int64_t>(std::min(start, limit)));
    auto hi = static_cast<uint64_t>(static_cast<int64_t>(std::max(start, limit)));
    auto d = static_cast<int64_t>(delta);
    uint64_t span = hi - lo, step = d < 0 ? uint64_t{0} - static_cast<uint64_t>(d) : static_cast<uint64_t>(d);
    uint64_t count = span / step + (span % step != 0);
    if (count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      c.fail("the range has too many elements");
    n = static_cast<int64_t>(count);
  } else {
    double count = std::ceil(std::abs((limit - start) / delta));
    if (!(count < 9223372036854775808.0))
      c.fail("the range [", start, ", ", limit, ") in steps of ", delta, " has too many elements");
    n = static_cast<int64_t>(count);
  }
  c.outputs.push_back({t, TensorShape{n}});
}

// The adjoint of MirrorPad: from the padded gradient back to the input's
// shape, under the same constraints MirrorPad puts on the paddings.
void infer_mirror_pad_grad(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  require_computable(c, c.inputs[0]);
  const Ints& p = ints(c, "paddings");
  bool reflect = mirror_mode(c) == "REFLECT";
  if (!in.rank_known()) {
    if (p.size() % 2) c.fail("paddings needs (before, after) pairs, got ", p.size(), " values");
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_dims(static_cast<int64_t>(p.size() / 2))});
    return;
  }
  if (static_cast<int>(p.size()) != 2 * in.rank()) c.fail("paddings needs ", in.rank(), " pairs");
  Dims out;
  for (int i = 0; i < in.rank(); ++i) {
    int64_t b = p[2 * static_cast<size_t>(i)], a = p[2 * static_cast<size_t>(i) + 1];
    if (b < 0 || a < 0)
      c.fail("paddings must be non-negative, got (", b, ", ", a, ") for dimension ", i);
    if (in.dim(i) < 0) {
      out.push_back(-1);
      continue;
    }
    if (b > in.dim(i) || a > in.dim(i) - b)
      c.fail("paddings (", b, ", ", a, ") exceed dimension ", i, " of size ", in.dim(i));
    int64_t d = in.dim(i) - b - a;
    if (reflect ? (b >= d || a >= d) : (b > d || a > d))
      c.fail("paddings (", b, ", ", a, ") too large for an input dimension ", i, " of size ", d);
    out.push_back(d);
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

// [num_segments, data's dimensions after the ids'...]; n unknown (-1) where
// num_segments is a tensor not read yet.
void infer_segment_reduction_of(InferContext& c, int64_t n) {
  const Tensor &data = c.inputs[0], &ids = c.inputs[1];
  infer::require_numeric(c, data, "data");
  infer::require_integer_index(c, ids, "segment_ids");
  if (infer::rank_unknown({&data.shape(), &ids.shape()})) {
    c.outputs.push_back({data.dtype(), TensorShape::unknown_rank()});
    return;
  }
  if (ids.rank() > data.rank())
    c.fail("segment_ids has rank ", ids.rank(), ", more than data's ", data.rank());
  for (int i = 0; i < ids.rank(); ++i)
    if (ids.dim(i) >= 0 && data.dim(i) >= 0 && ids.dim(i) != data.dim(i))
      c.fail("segment_ids shape ", ids.shape().to_debug_string(), " is not a prefix of data shape ",
             data.shape().to_debug_string());
  Dims out{n};
  for (int i = ids.rank(); i < data.rank(); ++i) out.push_back(data.dim(i));
  c.outputs.push_back({data.dtype(), TensorShape(std::move(out))});
}

void infer_segment_reduction(InferContext& c) {
  const int64_t n = c.attrs.get<int64_t>("num_segments");
  if (n < 0) c.fail("num_segments must be non-negative, got ", n);
  infer_segment_reduction_of(c, n);
}

void infer_segment_reduction_unresolved(InferContext& c) {
  const Tensor& n = c.inputs[2];
  if (n.dtype() != int32 && n.dtype() != int64) c.fail("num_segments must be int32 or int64, got ", dtype_name(n.dtype()));
  if (n.shape().rank_known() && n.rank() != 0) c.fail("num_segments must be a scalar, got shape ", n.shape().to_debug_string());
  infer_segment_reduction_of(c, TensorShape::kUnknown);
}

// TensorFlow's GatherNd has no batch_dims: its gather_nd writes batch_dims
// b > 0 as a GatherNd of every index prefixed with its b batch coordinates
// (the leading dimensions, which params and indices share).
std::vector<Tensor> gather_nd_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  const Tensor& params = in[0];
  const Tensor indices = cast(in[1], int64);
  const int64_t b = attrs.get<int64_t>("batch_dims");
  EMBER_CHECK(indices.shape().rank_known(), Unimplemented,
              "[gather_nd] TensorFlow's form of batch_dims needs the indices' rank, which this trace does not know");
  const int64_t r = indices.rank();
  std::vector<int64_t> begin(static_cast<size_t>(r), 0), size(static_cast<size_t>(r), -1);
  size.back() = 1;
  const Tensor base = zeros_like(slice(indices, begin, size));  // [..., 1]
  std::vector<Tensor> parts;
  for (int64_t j = 0; j < b; ++j) {
    std::vector<int64_t> along(static_cast<size_t>(r), 1);
    along[static_cast<size_t>(j)] = -1;
    const Tensor n = shape_at(indices, j);
    parts.push_back(base + reshape(range(constant(int64_t{0}), n, constant(int64_t{1})), TensorShape(along)));
  }
  parts.push_back(indices);
  return {gather_nd(params, concat(parts, -1))};
}

// The unsorted segment reductions: one shape rule and TensorFlow's inputs.
OpDef& define_segment_reduction(const char* name, const char* api) {
  return define_op(name).inputs(2).attr_or_input("num_segments", AttrKind::Int).api(api).set_infer(infer_segment_reduction)
      .set_infer_unresolved(infer_segment_reduction_unresolved).tf_input("num_segments", 2, TfInputForm::Int)
      .tf_type("Tindices", dtype_of_input(1)).tf_type("Tnumsegments", dtype_fixed(int32));
}
[[maybe_unused]] const bool segment_reductions_defined = [] {
  define_segment_reduction(op_name::UnsortedSegmentSum, "unsorted_segment_sum");
  define_segment_reduction(op_name::UnsortedSegmentMax, "unsorted_segment_max");
  define_segment_reduction(op_name::UnsortedSegmentMin, "unsorted_segment_min");
  define_segment_reduction(op_name::UnsortedSegmentProd, "unsorted_segment_prod");
  return true;
}();

// clang-format off
EMBER_DEFINE_OP(op_name::MirrorPadGrad).inputs(1).attr("paddings", AttrKind::Ints).attr("mode", AttrKind::String).api("mirror_pad_grad").set_infer(infer_mirror_pad_grad).tf_input("paddings", 1, TfInputForm::Paddings).tf_type("Tpaddings", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::MirrorPad).inputs(1).attr("paddings", AttrKind::Ints).attr("mode", AttrKind::String).api("pad").set_infer(infer_pad).tf_input("paddings", 1, TfInputForm::Paddings).tf_type("Tpaddings", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::GatherV2).inputs(2).attr("axis", AttrKind::Int).attr("batch_dims", AttrKind::Int).api("gather").set_infer(infer_gather).tf_no_t().tf_input("axis", 2, TfInputForm::Int).tf_type("Tparams", dtype_of_input(0)).tf_type("Tindices", dtype_of_input(1)).tf_type("Taxis", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::GatherNd).inputs(2).attr("batch_dims", AttrKind::Int).api("gather_nd").set_infer(infer_gather_nd).tf_dropped("batch_dims", int64_t{0}).tf_composite(gather_nd_decomposition).tf_no_t().tf_type("Tparams", dtype_of_input(0)).tf_type("Tindices", dtype_of_input(1));
EMBER_DEFINE_OP(op_name::ScatterNd).inputs(2).attr("shape", AttrKind::Ints).api("scatter_nd").set_infer(infer_scatter_nd).tf_input("shape", 2, TfInputForm::Ints).tf_type("T", dtype_of_input(1)).tf_type("Tindices", dtype_of_input(0));
EMBER_DEFINE_OP(op_name::TensorScatterAdd).inputs(3).api("tensor_scatter_add").set_infer(infer_tensor_scatter_add).tf_type("Tindices", dtype_of_input(1));
EMBER_DEFINE_OP(op_name::OneHot).inputs(1).attr("depth", AttrKind::Int).attr("on_value", AttrKind::Float).attr("off_value", AttrKind::Float).attr("axis", AttrKind::Int).attr("T", AttrKind::Type).api("one_hot").set_infer(infer_one_hot).not_differentiable().tf_input("depth", 1, TfInputForm::Int).tf_input("on_value", 2, TfInputForm::Float, dtype_of_output(0)).tf_input("off_value", 3, TfInputForm::Float, dtype_of_output(0)).tf_type("TI", dtype_of_input(0)).tf_type("T", dtype_of_output(0));
EMBER_DEFINE_OP(op_name::Range).inputs(0).attr_or_input("start", AttrKind::Float).attr_or_input("limit", AttrKind::Float).attr_or_input("delta", AttrKind::Float).attr("Tidx", AttrKind::Type).api("range").set_infer(infer_range).set_infer_unresolved(infer_range_unresolved).not_differentiable().tf_input("start", 0, TfInputForm::Float, dtype_of_output(0)).tf_input("limit", 1, TfInputForm::Float, dtype_of_output(0)).tf_input("delta", 2, TfInputForm::Float, dtype_of_output(0));
// clang-format on

// TensorFlow's sorted segment ids (SegmentSum's): a vector, checked when it
// runs to be non-negative and increasing, in TensorFlow's words.
Tensor sorted_segment_ids(const Tensor& ids) {
  const std::string api = context().api ? context().api : "segment_sum";
  EMBER_CHECK(ids.dtype() == int32 || ids.dtype() == int64, InvalidArgument, "[", api,
              "] segment_ids must be int32 or int64, got ", dtype_name(ids.dtype()));
  EMBER_CHECK(ids.shape().rank_known() && ids.rank() == 1, InvalidArgument, "[", api,
              "] segment_ids should be a vector, got shape ", ids.shape().to_debug_string());
  const Tensor later = strided_slice(ids, {1}, {0}, {1}, {.end_mask = 1});  // ids[1:], ids[:-1]
  const Tensor earlier = strided_slice(ids, {0}, {-1}, {1});
  const Tensor zero = zeros_like(reduce_min(ids));
  const Tensor checked = check(ids, reduce_all(greater_equal(ids, zero)), "[" + api + "] segment ids must be >= 0");
  return check(checked, reduce_all(greater_equal(later, earlier)), "[" + api + "] segment ids are not increasing");
}

enum class SegmentReduction : uint8_t { Max, Min, Prod };

// The number of segments of sorted ids: the last id + 1 (0 for none), int32.
Tensor segment_count(const Tensor& ids) {
  const Tensor last = reduce_max(cast(ids, int64));  // (the lowest int64 for none)
  return cast(maximum(last + constant(int64_t{1}), constant(int64_t{0})), int32);
}

}  // namespace

Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis, int64_t batch_dims) {
  return execute1(EMBER_OP(op_name::GatherV2), {params, indices},
                  {{"axis", axis}, {"batch_dims", batch_dims}});
}

Tensor gather_nd(const Tensor& params, const Tensor& indices, int64_t batch_dims) {
  return execute1(EMBER_OP(op_name::GatherNd), {params, indices}, {{"batch_dims", batch_dims}});
}

Tensor scatter_nd(const Tensor& indices, const Tensor& updates, const TensorShape& shape) {
  return execute1(EMBER_OP(op_name::ScatterNd), {indices, updates}, {{"shape", shape.as_vector()}});
}

Tensor tensor_scatter_add(const Tensor& tensor, const Tensor& indices, const Tensor& updates) {
  return execute1(EMBER_OP(op_name::TensorScatterAdd), {tensor, indices, updates});
}

Tensor unsorted_segment_sum(const Tensor& data, const Tensor& segment_ids, int64_t num_segments) {
  return execute1(EMBER_OP(op_name::UnsortedSegmentSum), {data, segment_ids},
                  {{"num_segments", num_segments}});
}

namespace {
// An unsorted segment reduction with num_segments a tensor read when it runs
// (int32, TensorFlow's Tnumsegments as ember exports it).
Tensor unsorted_segment_op(const OpDef& op, const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments) {
  EMBER_CHECK(num_segments.dtype() == int32 || num_segments.dtype() == int64, InvalidArgument, "[", op.api_name,
              "] num_segments must be int32 or int64, got ", dtype_name(num_segments.dtype()));
  return execute1(op, {data, segment_ids, cast(num_segments, int32)});
}
}  // namespace

Tensor unsorted_segment_sum(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments) {
  return unsorted_segment_op(EMBER_OP(op_name::UnsortedSegmentSum), data, segment_ids, num_segments);
}

Tensor segment_sum(const Tensor& data, const Tensor& segment_ids) {
  ApiScope api("segment_sum");
  return unsorted_segment_sum(data, sorted_segment_ids(segment_ids), segment_count(segment_ids));
}

Tensor unsorted_segment_max(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments) {
  return unsorted_segment_op(EMBER_OP(op_name::UnsortedSegmentMax), data, segment_ids, num_segments);
}
Tensor unsorted_segment_min(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments) {
  return unsorted_segment_op(EMBER_OP(op_name::UnsortedSegmentMin), data, segment_ids, num_segments);
}
Tensor unsorted_segment_prod(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments) {
  return unsorted_segment_op(EMBER_OP(op_name::UnsortedSegmentProd), data, segment_ids, num_segments);
}

namespace {
// Each segment's row count, shaped [segments, 1, ...] to broadcast against its rows.
Tensor segment_sizes(const Tensor& data, const Tensor& ids, const Tensor& n) {
  EMBER_CHECK(data.shape().rank_known(), Unimplemented, "[", context().api ? context().api : "segment_mean",
              "] needs the rank of data, which this trace does not know");
  Tensor counts = unsorted_segment_sum(ones_like(cast(ids, data.dtype())), ids, n);
  for (int64_t i = ids.rank(); i < data.rank(); ++i) counts = expand_dims(counts, -1);
  return counts;
}

// TensorFlow's sorted max and min give an empty segment 0 (its unsorted
// ones the lowest and largest values); the sorted product 1, as both.
Tensor sorted_segment_reduce(SegmentReduction r, const Tensor& data, const Tensor& segment_ids) {
  const Tensor ids = sorted_segment_ids(segment_ids), n = segment_count(segment_ids);
  const Tensor reduced = r == SegmentReduction::Max   ? unsorted_segment_max(data, ids, n)
                         : r == SegmentReduction::Min ? unsorted_segment_min(data, ids, n)
                                                      : unsorted_segment_prod(data, ids, n);
  if (r == SegmentReduction::Prod) return reduced;
  const Tensor sizes = segment_sizes(data, ids, n);
  return where(equal(sizes, zeros_like(sizes)), zeros_like(reduced), reduced);
}
}  // namespace

Tensor segment_max(const Tensor& data, const Tensor& segment_ids) {
  ApiScope api("segment_max");
  return sorted_segment_reduce(SegmentReduction::Max, data, segment_ids);
}
Tensor segment_min(const Tensor& data, const Tensor& segment_ids) {
  ApiScope api("segment_min");
  return sorted_segment_reduce(SegmentReduction::Min, data, segment_ids);
}
Tensor segment_prod(const Tensor& data, const Tensor& segment_ids) {
  ApiScope api("segment_prod");
  return sorted_segment_reduce(SegmentReduction::Prod, data, segment_ids);
}

Tensor segment_mean(const Tensor& data, const Tensor& segment_ids) {
  ApiScope api("segment_mean");
  const Tensor ids = sorted_segment_ids(segment_ids), n = segment_count(segment_ids);
  const Tensor sizes = segment_sizes(data, ids, n);  // (an empty segment's mean is 0, as TensorFlow's)
  return unsorted_segment_sum(data, ids, n) / maximum(sizes, ones_like(sizes));
}

Tensor one_hot(const Tensor& indices, int64_t depth, double on_value, double off_value,
               int64_t axis, DType dtype) {
  return execute1(EMBER_OP(op_name::OneHot), {indices},
                  {{"depth", depth},
                   {"on_value", on_value},
                   {"off_value", off_value},
                   {"axis", axis},
                   {"T", dtype}});
}

Tensor range(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  ApiScope api("range");
  EMBER_CHECK(start.dtype() == limit.dtype() && start.dtype() == delta.dtype(), InvalidArgument,
              "[range] start, limit and delta must have one dtype, got ", dtype_name(start.dtype()), ", ",
              dtype_name(limit.dtype()), " and ", dtype_name(delta.dtype()));
  return execute1(EMBER_OP(op_name::Range), {start, limit, delta}, {{"Tidx", start.dtype()}});
}

Tensor range(double start, double limit, double delta, DType dtype) {
  return execute1(EMBER_OP(op_name::Range), std::span<const Tensor>{},
                  {{"start", start}, {"limit", limit}, {"delta", delta}, {"Tidx", dtype}});
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the index-driven ops: gathers and scatters
// are each other's adjoints.
namespace ember::autograd {
namespace {

// The unsorted segment reductions' gradients, TensorFlow's (math_grad.py).
// Rows of params (one per segment) at ids, 0 where an id is negative (its
// row was dropped), and where the ids are not (TensorFlow's
// _GatherDropNegatives); `kept` is shaped [ids..., 1, ...], to broadcast
// over the rows' other dimensions.
struct Gathered {
  Tensor values, kept;
};
Gathered gather_dropping_negatives(const Tensor& params, const Tensor& ids) {
  const Tensor zero = zeros_like(ids);
  const Tensor gathered = gather(params, maximum(ids, zero));
  const Tensor trailing_ones = ember::ones(reshape(cast(rank(gathered) - rank(ids), int64), {1}), int64);
  const Tensor kept = reshape(greater_equal(ids, zero), concat({shape(ids, int64), trailing_ones}, 0));
  return {where(kept, gathered, zeros_like(gathered)), kept};
}

// (an input where a trace had not read it yet, else the attribute)
Tensor num_segments(const GradContext& c) {
  return c.inputs.size() > 2 ? c.in(2) : constant(c.attrs.get<int64_t>("num_segments"));
}

// Max and min: each segment's gradient shared equally among the rows that
// hold its value (ties split it).
Tensor segment_max_or_min_grad(const GradContext& c) {
  const Tensor &data = c.x(), &ids = c.in(1);
  const Gathered reached = gather_dropping_negatives(c.y(), ids);
  const Tensor selected = logical_and(equal(data, reached.values), reached.kept);
  const Tensor count = unsorted_segment_sum(where(selected, ones_like(data), zeros_like(data)), ids, num_segments(c));
  return where(selected, gather_dropping_negatives(c.grad() / count, ids).values, zeros_like(data));
}

// Product: prod / x with no zero in the segment; with one zero, the product
// of the others at the zero (and 0 at the others); with more, 0.
Tensor segment_prod_grad(const GradContext& c) {
  const Tensor &data = c.x(), &ids = c.in(1);
  const Tensor n = num_segments(c);
  const Tensor is_zero = equal(data, zeros_like(data));
  const Tensor zeros_in = unsorted_segment_sum(cast(is_zero, int32), ids, n);
  const Tensor grad = where(greater(zeros_in, ones_like(zeros_in)), zeros_like(c.grad()), c.grad());
  const Tensor others = unsorted_segment_prod(where(is_zero, ones_like(data), data), ids, n);
  const Tensor clipped = maximum(ids, zeros_like(ids));
  const Tensor partial = where(is_zero, gather(others, clipped), gather(c.y(), clipped) / data);
  return gather_dropping_negatives(grad, ids).values * partial;
}

// clang-format off
GRAD(op_name::MirrorPad, kGradUsesNothing) { return {execute1(EMBER_OP(op_name::MirrorPadGrad), {c.grad()}, c.attrs)}; } END_GRAD;
GRAD(op_name::MirrorPadGrad, kGradUsesNothing) { return {execute1(EMBER_OP(op_name::MirrorPad), {c.grad()}, c.attrs)}; } END_GRAD;

// gather's adjoint sums each gradient row into the params row it came from.
// Along axis 0 (an embedding's lookup) the gradient is those rows, held as
// IndexedSlices (core/indexed_slices.h), as TensorFlow's is.
// Where the trace does not know the shapes: each index with its batch
// coordinates in front (0..B-1 along each of the first `bd` axes of idx,
// broadcast over idx), dropped last: [..., bd + `extra`] of idx's dtype.
Tensor with_batch_coordinates(const Tensor& idx, int64_t bd, bool idx_is_nd) {
  const int64_t r = idx.rank() - (idx_is_nd ? 1 : 0);  // the rank the coordinates span
  Tensor base = idx_is_nd ? reduce_sum(zeros_like(idx), std::vector<int64_t>{-1}) : zeros_like(idx);
  std::vector<Tensor> parts;
  for (int64_t j = 0; j < bd; ++j) {
    Dims along(static_cast<size_t>(r), 1);
    along[static_cast<size_t>(j)] = -1;
    Tensor n = shape_at(idx, j);
    parts.push_back(cast(reshape(range(constant(int64_t{0}), n, constant(int64_t{1})), TensorShape(along)), idx.dtype()) + base);
  }
  if (idx_is_nd) {
    if (parts.empty()) return idx;
    return concat({stack(parts, -1), idx}, -1);
  }
  parts.push_back(idx);
  return stack(parts, -1);
}

// A gather's gradient where the trace does not know the shapes: g with its
// batch axes, then the index axes first, added at (batch coordinates,
// index) into zeros of params with the batch axes and the gathered axis
// first, then the axes put back.
Tensor gather_grad_of_unknown_shape(const Tensor& params, const Tensor& idx, const Tensor& g, int64_t axis, int64_t bd) {
  const int64_t p = params.rank(), n = idx.rank() - bd;  // n: the index axes after the batch ones
  Ints to_front, g_front;
  for (int64_t i = 0; i < bd; ++i) to_front.push_back(i), g_front.push_back(i);
  to_front.push_back(axis);
  for (int64_t i = bd; i < p; ++i)
    if (i != axis) to_front.push_back(i);
  for (int64_t i = axis; i < axis + n; ++i) g_front.push_back(i);    // the index axes
  for (int64_t i = bd; i < axis; ++i) g_front.push_back(i);          // the axes before the gathered one
  for (int64_t i = axis + n; i < p - 1 + n; ++i) g_front.push_back(i);  // those after it
  Ints back(static_cast<size_t>(p));
  for (int64_t i = 0; i < p; ++i) back[static_cast<size_t>(to_front[static_cast<size_t>(i)])] = i;
  Tensor summed = tensor_scatter_add(zeros_like(transpose(params, to_front)), with_batch_coordinates(idx, bd, false),
                                     transpose(g, g_front));
  return transpose(summed, back);
}

GRAD(op_name::GatherV2, kGradUsesInputs) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  int64_t axis = c.attrs.get<int64_t>("axis"), bd = c.attrs.get<int64_t>("batch_dims");
  EMBER_CHECK(params.shape().rank_known() && idx.shape().rank_known(), Unimplemented,
              "[gather] the gradient of a gather whose ranks this trace does not know is not supported");
  if (axis < 0) axis += params.rank();
  if (bd < 0) bd += idx.rank();
  if (axis == 0 && bd == 0 && params.shape().is_fully_defined()) {  // (however many indices)
    std::vector<int64_t> rows{-1};
    for (int i = 1; i < params.rank(); ++i) rows.push_back(params.dim(i));
    return {indexed_slices(reshape(c.grad(), TensorShape(rows)), reshape(idx, {-1}), params.shape()), kNone};
  }
  if (!params.shape().is_fully_defined() || !idx.shape().is_fully_defined())
    return {gather_grad_of_unknown_shape(params, idx, c.grad(), axis, bd), kNone};
  int64_t batch = 1, outer = 1, inner = 1, n_idx = 1, limit = params.dim(static_cast<int>(axis));
  for (int64_t i = 0; i < bd; ++i) batch *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < axis; ++i) outer *= params.dim(static_cast<int>(i));
  for (int64_t i = axis + 1; i < params.rank(); ++i) inner *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < idx.rank(); ++i) n_idx *= idx.dim(static_cast<int>(i));
  // g: [batch, outer, n, inner] -> [batch, n, outer, inner] -> rows of [outer, inner]
  Tensor rows = reshape(transpose(reshape(c.grad(), {batch, outer, n_idx, inner}), {0, 2, 1, 3}), {batch * n_idx, outer, inner});
  Tensor ids = cast(reshape(idx, {batch, n_idx}), int64);
  if (batch > 1) ids = ids + reshape(range(0, static_cast<double>(batch * limit), static_cast<double>(limit)), {batch, 1});
  Tensor summed = unsorted_segment_sum(rows, reshape(ids, {-1}), batch * limit);
  Tensor back = transpose(reshape(summed, {batch, limit, outer, inner}), {0, 2, 1, 3});
  return {reshape(back, params.shape()), kNone};
} END_GRAD;
GRAD(op_name::GatherNd, kGradUsesInputs) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  int64_t bd = c.attrs.get<int64_t>("batch_dims");
  if (bd == 0 && params.shape().is_fully_defined()) return {scatter_nd(idx, c.grad(), params.shape()), kNone};
  if (!params.shape().is_fully_defined() || !idx.shape().is_fully_defined()) {
    // (Shapes known when it runs: added at the indices, with their batch
    // coordinates in front, into zeros of params.)
    EMBER_CHECK(idx.shape().rank_known(), Unimplemented,
                "[gather_nd] the gradient of a gather_nd whose indices' rank this trace does not know is not supported");
    return {tensor_scatter_add(zeros_like(params), with_batch_coordinates(idx, bd, true), c.grad()), kNone};
  }
  // Batched: prepend each row's batch coordinate to its index, then scatter
  // into the params flattened to one batch dimension.
  int64_t batch = 1;
  for (int64_t i = 0; i < bd; ++i) batch *= params.dim(static_cast<int>(i));
  Dims idx_shape{batch}, ones_shape{batch};
  for (int i = static_cast<int>(bd); i < idx.rank(); ++i) idx_shape.push_back(idx.dim(i));
  for (int i = static_cast<int>(bd); i + 1 < idx.rank(); ++i) ones_shape.push_back(1);
  ones_shape.push_back(1);
  Tensor flat_idx = reshape(idx, TensorShape(idx_shape));
  Dims bshape = idx_shape;
  bshape.back() = 1;
  Tensor bcoord = broadcast_to(cast(reshape(range(batch), TensorShape(ones_shape)), idx.dtype()), TensorShape(bshape));
  Tensor full = concat({bcoord, flat_idx}, -1);
  Dims pshape{batch};
  for (int i = static_cast<int>(bd); i < params.rank(); ++i) pshape.push_back(params.dim(i));
  Dims gshape{batch};
  for (int i = static_cast<int>(bd); i < c.grad().rank(); ++i) gshape.push_back(c.grad().dim(i));
  Tensor s = scatter_nd(full, reshape(c.grad(), TensorShape(gshape)), TensorShape(pshape));
  return {reshape(s, params.shape()), kNone};
} END_GRAD;
GRAD(op_name::ScatterNd, kGradUsesInputs) { return {kNone, gather_nd(c.grad(), c.inputs[0])}; } END_GRAD;
GRAD(op_name::TensorScatterAdd, kGradUsesInputs) { return {c.grad(), kNone, gather_nd(c.grad(), c.inputs[1])}; } END_GRAD;
GRAD(op_name::UnsortedSegmentSum, kGradUsesInputs) { return {gather_dropping_negatives(c.grad(), c.inputs[1]).values, kNone}; } END_GRAD;
GRAD(op_name::UnsortedSegmentMax, kGradUsesAll) { return {segment_max_or_min_grad(c), kNone}; } END_GRAD;
GRAD(op_name::UnsortedSegmentMin, kGradUsesAll) { return {segment_max_or_min_grad(c), kNone}; } END_GRAD;
GRAD(op_name::UnsortedSegmentProd, kGradUsesAll) { return {segment_prod_grad(c), kNone}; } END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd
