// Shape ops: reshape, transpose, slicing, concat/stack/split, tile, pad,
// broadcast, fill. (Mirror padding is index-mapped: core/ops/index.cpp.)
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "core/context.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/shape_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

using Ints = std::vector<int64_t>;
// The most outputs one op call may have (unstack, split): each is a tensor.
constexpr int64_t kMaxOutputs = int64_t{1} << 20;
using infer::ints;
using infer::require_computable;

void infer_reshape(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  Ints want = ints(c, "shape");
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == -1) {
      if (unknown >= 0)
        c.fail("only one dimension may be -1, got ", TensorShape(want).to_debug_string());
      unknown = static_cast<int>(i);
    } else if (want[i] < 0) {
      c.fail("dimension ", i, " is negative (", want[i], ")");
    } else {
      known = infer::mul_dims(c, known, want[i]);
    }
  }
  int64_t n = in.num_elements();
  if (n >= 0) {
    if (unknown >= 0) {
      if (known == 0 ? n != 0 : n % known != 0)
        c.fail("cannot reshape a tensor of ", n, " elements ", in.to_debug_string(), " into ",
               TensorShape(want).to_debug_string());
      want[static_cast<size_t>(unknown)] = known == 0 ? 0 : n / known;
    } else if (known != n) {
      c.fail("cannot reshape a tensor of ", n, " elements ", in.to_debug_string(), " into shape ",
             TensorShape(want).to_debug_string(), " (", known, " elements)");
    }
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(want)});
}

void infer_transpose(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  const Ints& perm = ints(c, "perm");
  const auto rank = static_cast<int64_t>(perm.size());
  if (in.rank_known() && rank != in.rank())
    c.fail("perm has ", perm.size(), " entries for a tensor of rank ", in.rank());
  std::vector<bool> seen(perm.size(), false);
  Dims out;
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)])
      c.fail("perm ", TensorShape(perm).to_debug_string(), " is not a permutation of [0, ", rank, ")");
    seen[static_cast<size_t>(p)] = true;
    out.push_back(in.rank_known() ? in.dim(static_cast<int>(p)) : TensorShape::kUnknown);
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

void infer_slice(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  const Ints &begin = ints(c, "begin"), &size = ints(c, "size");
  const int rank = in.rank_known() ? in.rank() : static_cast<int>(begin.size());
  if (static_cast<int>(begin.size()) != rank || static_cast<int>(size.size()) != rank)
    c.fail("begin and size need ", rank, " entries, got ", begin.size(), " and ", size.size());
  Dims out;
  for (int i = 0; i < rank; ++i) {
    int64_t d = in.rank_known() ? in.dim(i) : TensorShape::kUnknown, b = begin[static_cast<size_t>(i)],
            s = size[static_cast<size_t>(i)];
    if (d < 0 && (b < 0 || s < -1))
      c.fail("slice [", b, ", ", b, " + ", s, ") of dimension ", i, " is out of range");
    if (d < 0) {
      out.push_back(s == -1 ? -1 : s);
      continue;
    }
    if (s == -1 && b >= 0 && b <= d) s = d - b;
    if (b < 0 || b > d || s < 0 || s > d - b) {
      int64_t e;
      if (__builtin_add_overflow(b, s, &e))
        c.fail("slice of size ", s, " from ", b, " of dimension ", i, " is out of range [0, ", d,
               "]");
      c.fail("slice [", b, ", ", e, ") of dimension ", i, " is out of range [0, ", d, "]");
    }
    out.push_back(s);
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

// Bounds known only when it runs: the rank still follows from the masks and
// the bounds' length, where those are known (x[:i] of a matrix is a matrix).
void infer_strided_slice_unresolved(InferContext& c) {
  require_computable(c, c.inputs[0]);
  const TensorShape& in = c.inputs[0].shape();
  const int64_t ellipsis = c.attrs.get<int64_t>("ellipsis_mask"), new_axes = c.attrs.get<int64_t>("new_axis_mask"),
                shrink = c.attrs.get<int64_t>("shrink_axis_mask");
  // The bounds' length (begin's, a tensor: the first input after x).
  const int64_t n = c.attrs.has("begin") ? static_cast<int64_t>(ints(c, "begin").size())
                                         : infer::vector_length(c.inputs[1].shape());
  if (!in.rank_known() || ellipsis != 0 || new_axes != 0 || n < 0 || n > in.rank() || n > 64) {
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  Dims out;
  for (int i = 0; i < in.rank(); ++i) {
    if (i < n && ((shrink >> i) & 1)) continue;
    out.push_back(i < n ? TensorShape::kUnknown : in.dim(i));
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

void infer_strided_slice(InferContext& c) {
  require_computable(c, c.inputs[0]);
  const TensorShape& in = c.inputs[0].shape();
  if (!in.rank_known()) {  // (the masks decide the rank: it is known when the op runs)
    size_t n = ints(c, "begin").size();
    if (ints(c, "end").size() != n || ints(c, "strides").size() != n)
      c.fail("begin, end and strides must have the same length, got ", n, ", ", ints(c, "end").size(), ", ",
             ints(c, "strides").size());
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  c.outputs.push_back({c.inputs[0].dtype(), canonical_strided_slice(c, in).final_shape});
}

void infer_concat(InferContext& c) {
  if (c.inputs.empty()) c.fail("needs at least one tensor");
  for (size_t i = 1; i < c.inputs.size(); ++i) infer::require_same_dtype(c, c.inputs[0], c.inputs[i]);
  // The rank comes from the tensors whose rank is known (none: unknown).
  size_t known = 0;
  while (known < c.inputs.size() && !c.inputs[known].shape().rank_known()) ++known;
  if (known == c.inputs.size()) {
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  const Tensor& first = c.inputs[known];
  int64_t axis = infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), first.rank());
  Dims out = first.shape().dims();
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    if (i == known) continue;
    if (!t.shape().rank_known()) {  // adds an unknown length along the axis
      out[static_cast<size_t>(axis)] = -1;
      continue;
    }
    if (t.rank() != first.rank())
      c.fail("tensor ", i, " has rank ", t.rank(), ", tensor ", known, " has rank ", first.rank());
    for (int d = 0; d < t.rank(); ++d) {
      if (d == axis) {
        out[static_cast<size_t>(d)] = out[static_cast<size_t>(d)] < 0 || t.dim(d) < 0
                                          ? -1
                                          : out[static_cast<size_t>(d)] + t.dim(d);
      } else if (t.dim(d) >= 0 && out[static_cast<size_t>(d)] >= 0 &&
                 t.dim(d) != out[static_cast<size_t>(d)]) {
        c.fail("shapes differ outside axis ", axis, ": ", first.shape().to_debug_string(), " vs ",
               t.shape().to_debug_string(), " (tensor ", i, ")");
      } else if (out[static_cast<size_t>(d)] < 0) {
        out[static_cast<size_t>(d)] = t.dim(d);
      }
    }
  }
  c.outputs.push_back({first.dtype(), TensorShape(std::move(out))});
}

void infer_pack(InferContext& c) {
  if (c.inputs.empty()) c.fail("needs at least one tensor");
  const Tensor& first = c.inputs[0];
  TensorShape merged = first.shape();  // what every tensor's shape allows
  for (size_t i = 1; i < c.inputs.size(); ++i) {
    infer::require_same_dtype(c, first, c.inputs[i]);
    std::optional<TensorShape> m = merged.merge_with(c.inputs[i].shape());
    if (!m)
      c.fail("all tensors must have the same shape: ", merged.to_debug_string(), " vs ",
             c.inputs[i].shape().to_debug_string(), " (tensor ", i, ")");
    merged = *m;
  }
  if (c.attrs.get<int64_t>("N") != static_cast<int64_t>(c.inputs.size()))
    c.fail("N is ", c.attrs.get<int64_t>("N"), " but ", c.inputs.size(), " tensors were given");
  if (!merged.rank_known()) {  // (the axis is checked when the op runs)
    c.outputs.push_back({first.dtype(), TensorShape::unknown_rank()});
    return;
  }
  int64_t axis = infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), merged.rank() + 1);
  Dims out = merged.dims();
  out.insert(static_cast<size_t>(axis), static_cast<int64_t>(c.inputs.size()));
  c.outputs.push_back({first.dtype(), TensorShape(std::move(out))});
}

void infer_unpack(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  // How many tensors it makes is the unstacked dimension: it must be known (TensorFlow's "Cannot infer num").
  if (!in.rank_known()) c.fail("cannot unstack a tensor of unknown rank: the number of tensors must be known");
  if (in.rank() < 1) c.fail("cannot unstack a scalar");
  int64_t axis = infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), in.rank());
  int64_t num = in.dim(static_cast<int>(axis));
  if (num < 0) c.fail("the unstacked dimension must be known");
  if (num > kMaxOutputs) c.fail("cannot unstack ", num, " tensors (at most ", kMaxOutputs, ")");
  Dims out = in.dims();
  out.erase(static_cast<size_t>(axis));
  for (int64_t i = 0; i < num; ++i) c.outputs.push_back({c.inputs[0].dtype(), TensorShape(out)});
}

void infer_split(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  if (in.rank_known() && in.rank() < 1) c.fail("cannot split a scalar");
  int64_t axis = in.rank_known() ? infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), in.rank()) : 0;
  Ints sizes = ints(c, "size_splits");
  int64_t d = in.rank_known() ? in.dim(static_cast<int>(axis)) : TensorShape::kUnknown;
  int64_t total = 0, unknown = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      if (unknown >= 0) c.fail("only one split size may be -1");
      unknown = static_cast<int64_t>(i);
    } else if (sizes[i] < 0) {
      c.fail("split size ", i, " is negative (", sizes[i], ")");
    } else {
      total = infer::add_dims(c, total, sizes[i]);
    }
  }
  if (d >= 0) {
    if (unknown >= 0) {
      if (total > d)
        c.fail("split sizes add up to ", total, ", more than dimension ", axis, " (", d, ")");
      sizes[static_cast<size_t>(unknown)] = d - total;
    } else if (total != d) {
      c.fail("split sizes add up to ", total, ", but dimension ", axis, " is ", d);
    }
  }
  for (int64_t s : sizes) {
    if (!in.rank_known()) {
      c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
      continue;
    }
    Dims out = in.dims();
    out[static_cast<size_t>(axis)] = s;
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
  }
}

void infer_tile(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  const Ints& m = ints(c, "multiples");
  if (in.rank_known() && static_cast<int>(m.size()) != in.rank())
    c.fail("multiples has ", m.size(), " entries for a tensor of rank ", in.rank());
  Dims out;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] < 0) c.fail("multiples[", i, "] is negative");
    int64_t d = in.rank_known() ? in.dim(static_cast<int>(i)) : TensorShape::kUnknown;
    out.push_back(d < 0 ? -1 : infer::mul_dims(c, d, m[i]));
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

}  // namespace

const std::string& mirror_mode(const InferContext& c) {
  const std::string& mode = c.attrs.get<std::string>("mode");
  if (mode != "REFLECT" && mode != "SYMMETRIC")
    c.fail("mode must be REFLECT or SYMMETRIC, got '", mode, "'");
  return mode;
}

void infer_pad(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  require_computable(c, c.inputs[0]);
  const Ints& p = ints(c, "paddings");
  if (p.size() % 2 != 0) c.fail("paddings needs (before, after) pairs, got ", p.size(), " values");
  const int rank = in.rank_known() ? in.rank() : static_cast<int>(p.size() / 2);
  if (static_cast<int>(p.size()) != 2 * rank)
    c.fail("paddings needs ", rank, " (before, after) pairs, got ", p.size() / 2);
  if (c.op.name == op_name::PadV2 && c.inputs[0].dtype() == bool_) {
    double v = c.attrs.get<double>("constant_values");
    if (v != 0 && v != 1)
      c.fail("a bool tensor can only be padded with 0 (false) or 1 (true), got ", v);
  }
  bool mirror = c.op.name == op_name::MirrorPad;
  bool reflect = mirror && mirror_mode(c) == "REFLECT";
  Dims out;
  for (int i = 0; i < rank; ++i) {
    int64_t b = p[2 * static_cast<size_t>(i)], a = p[2 * static_cast<size_t>(i) + 1],
            d = in.rank_known() ? in.dim(i) : TensorShape::kUnknown;
    if (b < 0 || a < 0)
      c.fail("paddings must be non-negative, got (", b, ", ", a, ") for dimension ", i);
    if (mirror && d >= 0 && (reflect ? (b >= d || a >= d) : (b > d || a > d)))
      c.fail("paddings (", b, ", ", a, ") too large for dimension ", i, " of size ", d, " in ",
             reflect ? "REFLECT" : "SYMMETRIC", " mode");
    out.push_back(d < 0 ? -1 : infer::add_dims(c, infer::add_dims(c, d, a), b));
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

namespace {

void infer_expand_dims(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  if (!in.rank_known()) {  // (a negative axis counts from the end of the rank the op finds)
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  int64_t axis = infer::normalize_axis(c, c.attrs.get<int64_t>("dim"), in.rank() + 1);
  Dims out = in.dims();
  out.insert(static_cast<size_t>(axis), 1);
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

void infer_squeeze(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  const Ints& axes_in = ints(c, "squeeze_dims");
  // Squeezing every size-1 dimension of a shape with unknown ones: which go is known when it runs.
  if (!in.rank_known() || (axes_in.empty() && !in.is_fully_defined())) {
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
    return;
  }
  std::vector<bool> drop(static_cast<size_t>(in.rank()), false);
  for (int64_t a : axes_in) {
    int64_t n = infer::normalize_axis(c, a, in.rank());
    if (in.dim(static_cast<int>(n)) != 1 && in.dim(static_cast<int>(n)) >= 0)
      c.fail("cannot squeeze dimension ", a, " of size ", in.dim(static_cast<int>(n)), " in ",
             in.to_debug_string());
    drop[static_cast<size_t>(n)] = true;
  }
  Dims out;
  for (int i = 0; i < in.rank(); ++i) {
    bool d = axes_in.empty() ? in.dim(i) == 1 : drop[static_cast<size_t>(i)];
    if (!d) out.push_back(in.dim(i));
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape(std::move(out))});
}

void infer_broadcast_to(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  infer::require_valid_dims(c, ints(c, "shape"), "shape");
  TensorShape target(ints(c, "shape"));
  TensorShape b = infer::broadcast(c, in, target);
  // (An unknown dimension broadcast against 1 may be 1: checked again when it runs.)
  if (in.rank_known() && !(in.is_fully_defined() ? b == target : b.is_compatible_with(target)))
    c.fail("cannot broadcast ", in.to_debug_string(), " to ", target.to_debug_string());
  c.outputs.push_back({c.inputs[0].dtype(), target});
}

void infer_snapshot(InferContext& c) {
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

// The input's shape narrowed to the attribute's (TensorShape.merge_with).
void infer_ensure_shape(InferContext& c) {
  const TensorShape& have = c.inputs[0].shape();
  const TensorShape& want = c.attrs.get<TensorShape>("shape");
  std::optional<TensorShape> out = have.merge_with(want);
  if (!out && have.is_fully_defined())  // a value checked as it runs: TensorFlow's EnsureShape text
    c.fail("Shape of tensor ", have.to_debug_string(), " is not compatible with expected shape ", want.to_debug_string(),
           ".");
  if (!out) c.fail("Shapes ", have.to_string(), " and ", want.to_string(), " are not compatible");
  c.outputs.push_back({c.inputs[0].dtype(), *out});
}

// The shape queries: known when the op runs, so a trace of unknown shapes
// can compute with them (tf.shape, tf.rank, tf.size).
DType shape_out_type(const InferContext& c) {
  DType t = c.attrs.get<DType>("out_type");
  if (t != int32 && t != int64) c.fail("out_type must be int32 or int64, got ", dtype_name(t));
  return t;
}
void infer_shape_op(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  c.outputs.push_back({shape_out_type(c), TensorShape{in.rank_known() ? in.rank() : TensorShape::kUnknown}});
}
void infer_rank_op(InferContext& c) { c.outputs.push_back({int32, TensorShape{}}); }
// Two int32 or int64 shapes; two lists of axes, their lengths known when it runs.
void infer_broadcast_gradient_args(InferContext& c) {
  const DType t = c.inputs[0].dtype();
  if ((t != int32 && t != int64) || c.inputs[1].dtype() != t)
    c.fail("s0 and s1 must be int32 or int64 shapes of one dtype, got ", dtype_name(t), " and ",
           dtype_name(c.inputs[1].dtype()));
  infer::with_rank(c, c.inputs[0].shape(), 1, "s0");
  infer::with_rank(c, c.inputs[1].shape(), 1, "s1");
  for (int i = 0; i < 2; ++i) c.outputs.push_back({t, TensorShape{TensorShape::kUnknown}});
}
void infer_size_op(InferContext& c) { c.outputs.push_back({shape_out_type(c), TensorShape{}}); }
// Where: the coordinates of the true (non-zero) elements, [count, rank] int64.
void infer_where(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  c.outputs.push_back({int64, TensorShape{TensorShape::kUnknown, in.rank_known() ? in.rank() : TensorShape::kUnknown}});
}

// Unique: a vector's distinct values in order of first appearance (their
// count known only when it runs) and each element's index among them.
void infer_unique(InferContext& c) {
  const Tensor& x = c.inputs[0];
  if (x.shape().rank_known() && x.rank() != 1) c.fail("unique expects a 1D vector, got shape ", x.shape().to_debug_string());
  const DType out_idx = c.attrs.get<DType>("out_idx");
  if (out_idx != int32 && out_idx != int64) c.fail("out_idx must be int32 or int64, got ", dtype_name(out_idx));
  c.outputs.push_back({x.dtype(), TensorShape{TensorShape::kUnknown}});
  c.outputs.push_back({out_idx, TensorShape{x.shape().rank_known() ? x.shape().dim(0) : TensorShape::kUnknown}});
}

// Inference while an attribute is still a tensor (OpDef::infer_unresolved):
// what the rank or the length of that tensor tells.
// The output has the rank of input 0 (a transpose, a tile).
void infer_same_rank_unresolved(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_dims(in.rank_known() ? in.rank() : TensorShape::kUnknown)});
}
// The output's rank is the length of the shape tensor, the last input (a reshape, a broadcast).
void infer_shaped_unresolved(InferContext& c) {
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_dims(infer::vector_length(c.inputs.back().shape()))});
}
void infer_fill_unresolved(InferContext& c) {
  DType t = c.attrs.get<DType>("T");
  if (!is_computable(t)) c.fail("unsupported dtype ", dtype_name(t));
  c.outputs.push_back({t, TensorShape::unknown_dims(infer::vector_length(c.inputs.back().shape()))});
}

void infer_fill(InferContext& c) {
  TensorShape s(ints(c, "shape"));
  for (int i = 0; i < s.rank(); ++i)
    if (s.dim(i) < 0) c.fail("dimension ", i, " is negative (", s.dim(i), ")");
  DType t = c.attrs.get<DType>("T");
  if (!is_computable(t)) c.fail("unsupported dtype ", dtype_name(t));
  c.outputs.push_back({t, s});
}

// The gradient helpers: each writes a gradient into the shape of the forward
// op's input. They are ops so that gradients of gradients work.
void infer_strided_slice_grad(InferContext& c) {
  infer::require_valid_dims(c, ints(c, "shape"), "shape");
  TensorShape x(ints(c, "shape"));
  StridedSliceSpec spec = canonical_strided_slice(c, x);
  if (!c.inputs[0].shape().is_compatible_with(spec.final_shape))
    c.fail("dy has shape ", c.inputs[0].shape().to_debug_string(), ", the slice has shape ",
           spec.final_shape.to_debug_string());
  c.outputs.push_back({c.inputs[0].dtype(), x});
}

// Bounds known only when the step runs: the gradient still has the forward
// input's shape, known when that shape is an attribute.
void infer_strided_slice_grad_unresolved(InferContext& c) {
  if (c.attrs.has("shape")) {
    infer::require_valid_dims(c, ints(c, "shape"), "shape");
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape(ints(c, "shape"))});
    return;
  }
  c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_dims(infer::vector_length(c.inputs.back().shape()))});
}

// clang-format off
EMBER_DEFINE_OP(op_name::StridedSliceGrad).inputs(1).attr_or_input("begin", AttrKind::Ints).attr_or_input("end", AttrKind::Ints).attr_or_input("strides", AttrKind::Ints).attr("begin_mask", AttrKind::Int).attr("end_mask", AttrKind::Int).attr("ellipsis_mask", AttrKind::Int).attr("new_axis_mask", AttrKind::Int).attr("shrink_axis_mask", AttrKind::Int).attr_or_input("shape", AttrKind::Ints).api("strided_slice_grad").set_infer(infer_strided_slice_grad).set_infer_unresolved(infer_strided_slice_grad_unresolved).tf_input("shape", 0, TfInputForm::Ints).tf_input("begin", 1, TfInputForm::Ints).tf_input("end", 2, TfInputForm::Ints).tf_input("strides", 3, TfInputForm::Ints).tf_type("Index", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Reshape).inputs(1).attr_or_input("shape", AttrKind::Ints).api("reshape").set_infer(infer_reshape).set_infer_unresolved(infer_shaped_unresolved).set_allocates_outputs().tf_input("shape", 1, TfInputForm::Ints).tf_type("Tshape", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::ExpandDims).inputs(1).attr_or_input("dim", AttrKind::Int).api("expand_dims").set_infer(infer_expand_dims).set_allocates_outputs().tf_input("dim", 1, TfInputForm::Int).tf_type("Tdim", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Squeeze).inputs(1).attr("squeeze_dims", AttrKind::Ints).api("squeeze").set_infer(infer_squeeze).set_allocates_outputs();
EMBER_DEFINE_OP(op_name::Transpose).inputs(1).attr_or_input("perm", AttrKind::Ints).api("transpose").set_infer(infer_transpose).set_infer_unresolved(infer_same_rank_unresolved).tf_outputs({"y"}).tf_input("perm", 1, TfInputForm::Ints).tf_type("Tperm", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Slice).inputs(1).attr_or_input("begin", AttrKind::Ints).attr_or_input("size", AttrKind::Ints).api("slice").set_infer(infer_slice).set_infer_unresolved(infer_same_rank_unresolved).tf_input("begin", 1, TfInputForm::Ints).tf_input("size", 2, TfInputForm::Ints).tf_type("Index", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::StridedSlice).inputs(1).attr_or_input("begin", AttrKind::Ints).attr_or_input("end", AttrKind::Ints).attr_or_input("strides", AttrKind::Ints).attr("begin_mask", AttrKind::Int).attr("end_mask", AttrKind::Int).attr("ellipsis_mask", AttrKind::Int).attr("new_axis_mask", AttrKind::Int).attr("shrink_axis_mask", AttrKind::Int).api("strided_slice").set_infer(infer_strided_slice).set_infer_unresolved(infer_strided_slice_unresolved).tf_input("begin", 1, TfInputForm::Ints).tf_input("end", 2, TfInputForm::Ints).tf_input("strides", 3, TfInputForm::Ints).tf_type("Index", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::ConcatV2).variadic_inputs(1).attr_or_input("axis", AttrKind::Int).api("concat").set_infer(infer_concat).tf_count("N", TfCountOf::Inputs).tf_input("axis", -1, TfInputForm::Int).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Pack).variadic_inputs(1).attr("axis", AttrKind::Int).attr("N", AttrKind::Int).api("stack").set_infer(infer_pack);
EMBER_DEFINE_OP(op_name::Unpack).inputs(1).attr("axis", AttrKind::Int).api("unstack").set_infer(infer_unpack).tf_output_list("output").tf_count("num", TfCountOf::Outputs);
EMBER_DEFINE_OP(op_name::SplitV).inputs(1).attr("size_splits", AttrKind::Ints).attr("axis", AttrKind::Int).api("split").set_infer(infer_split).tf_output_list("output").tf_input("size_splits", 1, TfInputForm::Ints).tf_input("axis", 2, TfInputForm::Int).tf_type("Tlen", dtype_fixed(int32)).tf_count("num_split", TfCountOf::Outputs);
EMBER_DEFINE_OP(op_name::Tile).inputs(1).attr_or_input("multiples", AttrKind::Ints).api("tile").set_infer(infer_tile).set_infer_unresolved(infer_same_rank_unresolved).tf_input("multiples", 1, TfInputForm::Ints).tf_type("Tmultiples", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::PadV2).inputs(1).attr("paddings", AttrKind::Ints).attr("constant_values", AttrKind::Float).api("pad").set_infer(infer_pad).tf_input("paddings", 1, TfInputForm::Paddings).tf_input("constant_values", 2, TfInputForm::Float, dtype_of_input(0)).tf_type("Tpaddings", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::BroadcastTo).inputs(1).attr_or_input("shape", AttrKind::Ints).api("broadcast_to").set_infer(infer_broadcast_to).set_infer_unresolved(infer_shaped_unresolved).tf_input("shape", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Snapshot).inputs(1).api("snapshot").set_infer(infer_snapshot);
EMBER_DEFINE_OP(op_name::ZerosLike).inputs(1).api("zeros_like").set_infer(infer_snapshot).set_allocates_outputs().not_differentiable().tf_outputs({"y"});  // (a list's too: its kernel makes it)
EMBER_DEFINE_OP(op_name::OnesLike).inputs(1).api("ones_like").set_infer(infer_snapshot).not_differentiable().tf_outputs({"y"});
EMBER_DEFINE_OP(op_name::EnsureShape).inputs(1).attr("shape", AttrKind::Shape).api("ensure_shape").set_infer(infer_ensure_shape).set_allocates_outputs();
EMBER_DEFINE_OP(op_name::Fill).inputs(0).attr_or_input("shape", AttrKind::Ints).attr("value", AttrKind::Float).attr("T", AttrKind::Type).api("fill").set_infer(infer_fill).set_infer_unresolved(infer_fill_unresolved).not_differentiable().tf_input("shape", 0, TfInputForm::Ints).tf_input("value", 1, TfInputForm::Float, dtype_of_output(0)).tf_type("index_type", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Shape).inputs(1).attr("out_type", AttrKind::Type).api("shape").set_infer(infer_shape_op).not_differentiable();
EMBER_DEFINE_OP(op_name::BroadcastGradientArgs).inputs(2).api("broadcast_gradient_args").set_infer(infer_broadcast_gradient_args).set_data_dependent_shapes().not_differentiable().tf_outputs({"r0", "r1"});
EMBER_DEFINE_OP(op_name::Rank).inputs(1).api("rank").set_infer(infer_rank_op).not_differentiable();
EMBER_DEFINE_OP(op_name::Unique).inputs(1).attr("out_idx", AttrKind::Type).api("unique").set_infer(infer_unique).set_data_dependent_shapes().not_differentiable().tf_outputs({"y", "idx"});
EMBER_DEFINE_OP(op_name::Where).inputs(1).api("where").set_infer(infer_where).set_data_dependent_shapes().not_differentiable().tf_outputs({"index"});
EMBER_DEFINE_OP(op_name::Size).inputs(1).attr("out_type", AttrKind::Type).api("size").set_infer(infer_size_op).not_differentiable();
// clang-format on

}  // namespace

StridedSliceSpec canonical_strided_slice(const InferContext& c, const TensorShape& in) {
  Ints begin = ints(c, "begin"), end = ints(c, "end"), strides = ints(c, "strides");
  int64_t bm = c.attrs.get<int64_t>("begin_mask"), em = c.attrs.get<int64_t>("end_mask"),
          elm = c.attrs.get<int64_t>("ellipsis_mask"), nam = c.attrs.get<int64_t>("new_axis_mask"),
          sam = c.attrs.get<int64_t>("shrink_axis_mask");
  size_t n = begin.size();
  if (end.size() != n || strides.size() != n)
    c.fail("begin, end and strides must have the same length, got ", n, ", ", end.size(), ", ",
           strides.size());
  if (n > 64) c.fail("at most 64 slice entries (the masks' bits), got ", n);
  if (std::popcount(static_cast<uint64_t>(elm)) > 1) c.fail("at most one ellipsis is allowed");
  if (!in.rank_known()) c.fail("needs a known rank");
  StridedSliceSpec spec;
  int rank = in.rank();
  spec.begin.assign(static_cast<size_t>(rank), 0);
  spec.stride.assign(static_cast<size_t>(rank), 1);
  spec.extent.assign(static_cast<size_t>(rank), 0);
  for (int i = 0; i < rank; ++i) spec.extent[static_cast<size_t>(i)] = in.dim(i);
  // Count the dimensions the sparse spec names (excluding new axes and the ellipsis).
  int named = 0;
  for (size_t i = 0; i < n; ++i)
    if (!((nam >> i) & 1) && !((elm >> i) & 1)) ++named;
  Dims final_dims;
  int dim = 0;
  bool saw_ellipsis = false;
  for (size_t i = 0; i < n; ++i) {
    if ((elm >> i) & 1) {
      int span = rank - named;
      if (span < 0) c.fail("the slice names ", named, " dimensions of a rank-", rank, " tensor");
      for (int k = 0; k < span; ++k, ++dim) final_dims.push_back(in.dim(dim));
      saw_ellipsis = true;
      continue;
    }
    if ((nam >> i) & 1) {
      final_dims.push_back(1);
      continue;
    }
    if (dim >= rank) c.fail("the slice names more dimensions than the tensor's rank ", rank);
    int64_t d = in.dim(dim), s = strides[i];
    if (s == 0) c.fail("stride ", i, " is 0");
    bool shrink = (sam >> i) & 1;
    if (d < 0) {
      if (!shrink) final_dims.push_back(-1);
      ++dim;
      continue;
    }
    int64_t b = begin[i], e = end[i];
    if (shrink) {
      int64_t idx = b < 0 ? b + d : b;
      if (idx < 0 || idx >= d)
        c.fail("index ", b, " is out of bounds for dimension ", dim, " of size ", d);
      spec.begin[static_cast<size_t>(dim)] = idx;
      spec.stride[static_cast<size_t>(dim)] = 1;
      spec.extent[static_cast<size_t>(dim)] = 1;
      ++dim;
      continue;
    }
    // Python slice semantics, with clamping.
    auto clamp = [&](int64_t v, bool is_begin) {
      bool masked = is_begin ? (bm >> i) & 1 : (em >> i) & 1;
      if (masked) return s > 0 ? (is_begin ? int64_t{0} : d) : (is_begin ? d - 1 : int64_t{-1});
      if (v < 0) v += d;
      return s > 0 ? std::clamp<int64_t>(v, 0, d) : std::clamp<int64_t>(v, -1, d - 1);
    };
    int64_t bb = clamp(b, true), ee = clamp(e, false);
    // The count of b, b+s, ... before e, in unsigned arithmetic so that no
    // stride (INT64_MIN included) overflows.
    uint64_t step = s > 0 ? static_cast<uint64_t>(s) : uint64_t{0} - static_cast<uint64_t>(s);
    uint64_t gap = s > 0 ? (ee > bb ? static_cast<uint64_t>(ee - bb) : 0)
                         : (bb > ee ? static_cast<uint64_t>(bb - ee) : 0);
    auto len = static_cast<int64_t>(gap == 0 ? 0 : (gap - 1) / step + 1);
    spec.begin[static_cast<size_t>(dim)] = len ? bb : 0;
    spec.stride[static_cast<size_t>(dim)] = s;
    spec.extent[static_cast<size_t>(dim)] = len;
    final_dims.push_back(len);
    ++dim;
  }
  (void)saw_ellipsis;
  for (; dim < rank; ++dim) final_dims.push_back(in.dim(dim));  // implicit trailing ellipsis
  spec.final_shape = TensorShape(std::move(final_dims));
  return spec;
}

// ---- front-ends -----------------------------------------------------------------

namespace {
Ints iota(int64_t n) {
  Ints v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
}  // namespace

Tensor reshape(const Tensor& x, const TensorShape& shape) { return x.reshape(shape); }

Tensor reshape(const Tensor& x, const Tensor& shape) {
  return execute1(EMBER_OP(op_name::Reshape), {x, shape}, {});
}

Tensor transpose(const Tensor& x, Ints perm) {
  ApiScope api("transpose");
  if (perm.empty() && !x.shape().rank_known()) {
    // The reversed axes of a rank known when the op runs: range(rank(x) - 1, -1, -1), as TensorFlow.
    Tensor last = sub(rank(x), constant(1));
    return execute1(EMBER_OP(op_name::Transpose), {x, range(last, constant(-1), constant(-1))}, {});
  }
  if (perm.empty()) {
    perm = iota(x.rank());
    std::reverse(perm.begin(), perm.end());
  }
  return execute1(EMBER_OP(op_name::Transpose), {x}, {{"perm", perm}});
}

Tensor slice(const Tensor& x, Ints begin, Ints size) {
  return execute1(EMBER_OP(op_name::Slice), {x}, {{"begin", std::move(begin)}, {"size", std::move(size)}});
}

Tensor strided_slice(const Tensor& x, const Tensor& begin, const Tensor& end, const Tensor& strides,
                     StridedSliceOptions o) {
  return execute1(EMBER_OP(op_name::StridedSlice), {x, begin, end, strides},
                  {{"begin_mask", o.begin_mask},
                   {"end_mask", o.end_mask},
                   {"ellipsis_mask", o.ellipsis_mask},
                   {"new_axis_mask", o.new_axis_mask},
                   {"shrink_axis_mask", o.shrink_axis_mask}});
}

Tensor strided_slice(const Tensor& x, Ints begin, Ints end, Ints strides, StridedSliceOptions o) {
  return execute1(EMBER_OP(op_name::StridedSlice), {x},
                  {{"begin", std::move(begin)},
                   {"end", std::move(end)},
                   {"strides", std::move(strides)},
                   {"begin_mask", o.begin_mask},
                   {"end_mask", o.end_mask},
                   {"ellipsis_mask", o.ellipsis_mask},
                   {"new_axis_mask", o.new_axis_mask},
                   {"shrink_axis_mask", o.shrink_axis_mask}});
}

Tensor concat(const std::vector<Tensor>& values, int64_t axis) {
  const OpDef& op = EMBER_OP(op_name::ConcatV2);
  Attrs attrs{{"axis", axis}};
  if (values.size() == 1) {  // nothing to join, but the arguments are checked as for several
    infer_outputs(op, values, attrs);
    return values[0];
  }
  return execute1(op, values, attrs);
}

Tensor stack(const std::vector<Tensor>& values, int64_t axis) {
  return execute1(EMBER_OP(op_name::Pack), values,
                  {{"axis", axis}, {"N", static_cast<int64_t>(values.size())}});
}

std::vector<Tensor> unstack(const Tensor& x, int64_t axis) {
  return execute(EMBER_OP(op_name::Unpack), {x}, {{"axis", axis}});
}

Tensor where(const Tensor& condition) { return execute1(EMBER_OP(op_name::Where), {condition}); }

UniqueValues unique(const Tensor& x, DType out_idx) {
  std::vector<Tensor> out = execute(EMBER_OP(op_name::Unique), {x}, {{"out_idx", out_idx}});
  return {out[0], out[1]};
}

Tensor boolean_mask(const Tensor& x, const Tensor& mask) {
  ApiScope api("boolean_mask");
  EMBER_CHECK(mask.dtype() == bool_, InvalidArgument, "[boolean_mask] mask must be bool, got ", dtype_name(mask.dtype()));
  EMBER_CHECK(mask.shape().rank_known() && mask.rank() >= 1, InvalidArgument,
              "[boolean_mask] mask must have a known rank of at least 1, got ", mask.shape().to_string());
  if (x.shape().rank_known()) {
    EMBER_CHECK(x.rank() >= mask.rank(), InvalidArgument, "[boolean_mask] mask of shape ", mask.shape().to_string(),
                " has more dimensions than x of shape ", x.shape().to_string());
    for (int i = 0; i < mask.rank(); ++i)
      EMBER_CHECK(mask.dim(i) == TensorShape::kUnknown || x.dim(i) == TensorShape::kUnknown || mask.dim(i) == x.dim(i),
                  InvalidArgument, "[boolean_mask] mask of shape ", mask.shape().to_string(),
                  " does not match the leading dimensions of x, ", x.shape().to_string());
  }
  return gather_nd(x, where(mask));
}

// Each axis once, gathered at (i - shift) mod n, n its size when it runs.
Tensor roll(const Tensor& x, const std::vector<int64_t>& shift, const std::vector<int64_t>& axis) {
  ApiScope api("roll");
  EMBER_CHECK(shift.size() == axis.size(), InvalidArgument, "[roll] shift and axis must have the same length, got ",
              shift.size(), " and ", axis.size());
  EMBER_CHECK(x.shape().rank_known(), Unimplemented, "[roll] of a tensor of unknown rank is not supported");
  const int64_t r = x.rank();
  std::map<int64_t, int64_t> total;  // axis -> shift
  for (size_t i = 0; i < axis.size(); ++i) {
    EMBER_CHECK(axis[i] >= -r && axis[i] < r, InvalidArgument, "[roll] axis ", axis[i],
                " is out of range for a tensor of rank ", r, " (expected [", -r, ", ", r, "))");
    total[axis[i] < 0 ? axis[i] + r : axis[i]] += shift[i];
  }
  Tensor y = x;
  for (const auto& [a, s] : total) {
    const Tensor n = shape_at(y, a);
    const Tensor index = floormod(range(constant(int64_t{0}), n, constant(int64_t{1})) - s, maximum(n, constant(int64_t{1})));
    y = gather(y, index, a);
  }
  return y;
}

// One strided slice: the axes from the front (`front` of them), an
// ellipsis, the axes from the back; ::-1 on the reversed ones, : elsewhere.
// With a known rank every axis counts from the front.
Tensor reverse(const Tensor& x, std::vector<int64_t> axes) {
  ApiScope api("reverse");
  const bool known = x.shape().rank_known();
  for (int64_t& a : axes) {
    if (known) {
      const int64_t r = x.rank();
      EMBER_CHECK(a >= -r && a < r, InvalidArgument, "[reverse] axis ", a, " is out of range for a tensor of rank ", r,
                  " (expected [", -r, ", ", r, "))");
      if (a < 0) a += r;
    }
  }
  for (size_t i = 0; i < axes.size(); ++i)
    EMBER_CHECK(std::count(axes.begin(), axes.end(), axes[i]) == 1, InvalidArgument, "[reverse] axis ", axes[i],
                " is given more than once");
  if (axes.empty()) return identity(x);
  int64_t front = 0, back = 0;
  for (int64_t a : axes) {
    if (a >= 0) front = std::max(front, a + 1);
    else back = std::max(back, -a);
  }
  // (Axes from both ends of a rank unknown here might overlap: one slice cannot say.)
  EMBER_CHECK(front == 0 || back == 0, Unimplemented, "[reverse] axes counted from both ends of a tensor of unknown ",
              "rank are not supported: give them all non-negative or all negative");
  const int64_t n = front + 1 + back;  // (the ellipsis at `front`)
  Ints begin(static_cast<size_t>(n), 0), end(static_cast<size_t>(n), 0), strides(static_cast<size_t>(n), 1);
  for (int64_t a : axes) strides[static_cast<size_t>(a >= 0 ? a : n + a)] = -1;
  const int64_t all = (int64_t{1} << n) - 1, ellipsis = int64_t{1} << front;
  return strided_slice(x, begin, end, strides,
                       {.begin_mask = all & ~ellipsis, .end_mask = all & ~ellipsis, .ellipsis_mask = ellipsis});
}

std::vector<Tensor> split(const Tensor& x, Ints sizes, int64_t axis) {
  return execute(EMBER_OP(op_name::SplitV), {x}, {{"size_splits", std::move(sizes)}, {"axis", axis}});
}

std::vector<Tensor> split(const Tensor& x, int64_t num, int64_t axis) {
  ApiScope api("split");
  EMBER_CHECK(num > 0, InvalidArgument, "[split] num must be positive, got ", num);
  EMBER_CHECK(x.shape().rank_known(), InvalidArgument, "[split] splitting into ", num,
              " equal pieces needs the tensor's rank, which is unknown");
  int64_t r = x.rank();
  EMBER_CHECK(axis >= -r && axis < r, InvalidArgument, "[split] axis ", axis,
              " is out of range for a tensor of rank ", r, " (expected [", -r, ", ", r, "))");
  int64_t d = x.dim(static_cast<int>(axis < 0 ? axis + r : axis));
  EMBER_CHECK(d >= 0 && d % num == 0 && num <= kMaxOutputs, InvalidArgument, "[split] dimension ",
              axis, " of size ", d, " cannot be split into ", num, " equal pieces");
  return split(x, Ints(static_cast<size_t>(num), d / num), axis);
}

Tensor tile(const Tensor& x, Ints multiples) {
  return execute1(EMBER_OP(op_name::Tile), {x}, {{"multiples", std::move(multiples)}});
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings, PadMode mode,
           double constant_value) {
  Ints flat;
  for (auto [b, a] : paddings) {
    flat.push_back(b);
    flat.push_back(a);
  }
  if (mode == PadMode::Constant)
    return execute1(EMBER_OP(op_name::PadV2), {x},
                    {{"paddings", flat}, {"constant_values", constant_value}});
  return execute1(EMBER_OP(op_name::MirrorPad), {x},
                  {{"paddings", flat},
                   {"mode", std::string(mode == PadMode::Reflect ? "REFLECT" : "SYMMETRIC")}});
}

Tensor expand_dims(const Tensor& x, int64_t axis) {
  return execute1(EMBER_OP(op_name::ExpandDims), {x}, {{"dim", axis}});
}

Tensor squeeze(const Tensor& x, Ints axes) {
  return execute1(EMBER_OP(op_name::Squeeze), {x}, {{"squeeze_dims", std::move(axes)}});
}

Tensor broadcast_to(const Tensor& x, const TensorShape& shape) {
  return execute1(EMBER_OP(op_name::BroadcastTo), {x}, {{"shape", shape.as_vector()}});
}

TensorShape broadcast_shapes(const TensorShape& a, const TensorShape& b) {
  ApiScope api("broadcast_shapes");
  std::vector<OutputSpec> dummy;
  Attrs attrs;
  InferContext c{EMBER_OP(op_name::BroadcastTo), {}, attrs, dummy};
  return infer::broadcast(c, a, b);
}

namespace {
// A host vector (or scalar) of shape values, as TensorFlow keeps them in host memory.
Tensor shape_values(const Ints& v, DType out_type, bool scalar = false) {
  if (out_type == int64) return scalar ? constant(v[0], Device::cpu()) : constant(v, Device::cpu());
  std::vector<int32_t> narrow;
  for (int64_t d : v) {
    EMBER_CHECK(d <= std::numeric_limits<int32_t>::max(), InvalidArgument, "[", context().api ? context().api : "shape",
                "] ", d, " does not fit out_type int32");
    narrow.push_back(static_cast<int32_t>(d));
  }
  return scalar ? constant(narrow[0], Device::cpu()) : constant(narrow, Device::cpu());
}
void check_out_type(const char* api, DType out_type) {
  EMBER_CHECK(out_type == int32 || out_type == int64, InvalidArgument, "[", api,
              "] out_type must be int32 or int64, got ", dtype_name(out_type));
}
}  // namespace

std::pair<std::vector<int64_t>, std::vector<int64_t>> broadcast_gradient_axes(const std::vector<int64_t>& s0,
                                                                             const std::vector<int64_t>& s1) {
  auto text = [](const std::vector<int64_t>& s) {  // (TensorShape would print a negative size as ?)
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) {
      if (i) t += ',';
      t += std::to_string(s[i]);
    }
    return t + "]";
  };
  for (const auto* s : {&s0, &s1})
    for (int64_t d : *s)
      EMBER_CHECK(d >= 0, InvalidArgument, "[broadcast_gradient_args] shapes must be non-negative, got ", text(s0),
                  " and ", text(s1));
  const size_t rank = std::max(s0.size(), s1.size());
  std::vector<int64_t> r0, r1;
  if (s0 == s1) return {r0, r1};
  auto dim = [&](const std::vector<int64_t>& s, size_t i) {  // s's size at axis i of the broadcast; -1: absent
    return i + s.size() < rank ? int64_t{-1} : s[i + s.size() - rank];
  };
  for (size_t i = 0; i < rank; ++i) {
    const int64_t a = dim(s0, i), b = dim(s1, i);
    EMBER_CHECK(a == b || a == 1 || b == 1 || a < 0 || b < 0, InvalidArgument, "Incompatible shapes: ",
                TensorShape(s0).to_debug_string(), " vs. ", TensorShape(s1).to_debug_string());
    // (An axis where both have 1 is summed for both, as TensorFlow's BCast does.)
    if (a < 0 || a == 1) r0.push_back(static_cast<int64_t>(i));
    if (b < 0 || b == 1) r1.push_back(static_cast<int64_t>(i));
  }
  return {r0, r1};
}

std::pair<Tensor, Tensor> broadcast_gradient_args(const Tensor& s0, const Tensor& s1) {
  std::vector<Tensor> r = execute(EMBER_OP(op_name::BroadcastGradientArgs), {s0, s1}, {});
  return {r[0], r[1]};
}

// Where the shape is known (always, eagerly) the answer is a constant; a
// trace of unknown shapes asks the op when it runs.
Tensor shape(const Tensor& x, DType out_type) {
  ApiScope api("shape");
  check_out_type("shape", out_type);
  if (x.shape().is_fully_defined()) return shape_values(x.shape().as_vector(), out_type);
  return execute1(EMBER_OP(op_name::Shape), {x}, {{"out_type", out_type}});
}

Tensor shape_at(const Tensor& x, int64_t axis, DType out_type) {
  ApiScope api("shape_at");
  check_out_type("shape_at", out_type);
  if (x.shape().rank_known()) {
    const int64_t r = x.rank();
    EMBER_CHECK(axis >= -r && axis < r, InvalidArgument, "[shape_at] axis ", axis, " is out of range for rank ", r);
    if (axis < 0) axis += r;
    if (x.dim(axis) >= 0) return shape_values({x.dim(axis)}, out_type, true);
    return reshape(slice(shape(x, out_type), {axis}, {1}), TensorShape{});
  }
  if (axis >= 0) return reshape(slice(shape(x, out_type), {axis}, {1}), TensorShape{});
  return gather(shape(x, out_type), rank(x) + constant(static_cast<int32_t>(axis)));
}

Tensor rank(const Tensor& x) {
  if (x.shape().rank_known()) return shape_values({x.rank()}, int32, true);
  return execute1(EMBER_OP(op_name::Rank), {x});
}

Tensor size(const Tensor& x, DType out_type) {
  ApiScope api("size");
  check_out_type("size", out_type);
  if (x.shape().is_fully_defined()) return shape_values({x.shape().num_elements()}, out_type, true);
  return execute1(EMBER_OP(op_name::Size), {x}, {{"out_type", out_type}});
}

Tensor snapshot(const Tensor& x) { return execute1(EMBER_OP(op_name::Snapshot), {x}); }

Tensor ensure_shape(const Tensor& x, const TensorShape& shape) {
  return execute1(EMBER_OP(op_name::EnsureShape), {x}, {{"shape", shape}});
}

void Tensor::set_shape(const TensorShape& shape) {
  ApiScope api("set_shape");
  if (!is_symbolic()) {
    EMBER_CHECK(this->shape().is_compatible_with(shape) || !shape.rank_known(), InvalidArgument, "Tensor's shape ",
                this->shape().to_string(), " is not compatible with supplied shape ", shape.to_string(), ".");
    return;
  }
  *this = ensure_shape(*this, shape);
}

Tensor fill(const TensorShape& shape, double value, DType dtype, Device device) {
  DeviceScope scope(device);
  return execute1(EMBER_OP(op_name::Fill), std::span<const Tensor>{},
                  {{"shape", shape.as_vector()}, {"value", value}, {"T", dtype}});
}
Tensor zeros(const TensorShape& shape, DType dtype, Device device) {
  return fill(shape, 0, dtype, device);
}
Tensor ones(const TensorShape& shape, DType dtype, Device device) {
  return fill(shape, 1, dtype, device);
}
Tensor detail::fill_to(const Tensor& shape, double value, DType dtype) {
  return execute1(EMBER_OP(op_name::Fill), {shape}, {{"value", value}, {"T", dtype}});
}
// A known shape makes a Fill (a constant when traced); a traced tensor with
// unknown dimensions takes TensorFlow's ZerosLike/OnesLike, whose shape is
// the input's when it runs, and so does a list (zeros of its elements).
Tensor zeros_like(const Tensor& t) {
  ApiScope api("zeros_like");
  if (!t.shape().is_fully_defined() || t.dtype() == variant) return execute1(EMBER_OP(op_name::ZerosLike), {t});
  return fill(t.shape(), 0, t.dtype(), t.device());
}
Tensor ones_like(const Tensor& t) {
  ApiScope api("ones_like");
  if (!t.shape().is_fully_defined()) return execute1(EMBER_OP(op_name::OnesLike), {t});
  return fill(t.shape(), 1, t.dtype(), t.device());
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the shape ops: each moves the gradient
// back where the data came from.
namespace ember::autograd {
namespace {

// clang-format off
// Back to x's shape: its static one, or (in a trace that does not know it)
// its run-time one; x is kept (it shares its buffer with the output anyway).
Tensor reshape_like_input(const GradContext& c) {
  return c.x().shape().is_fully_defined() ? reshape(c.grad(), c.x().shape()) : reshape(c.grad(), shape(c.x(), int64));
}
GRAD(op_name::Reshape, kGradUsesInputs) { return {reshape_like_input(c)}; } END_GRAD;
GRAD(op_name::ExpandDims, kGradUsesInputs) { return {reshape_like_input(c)}; } END_GRAD;
GRAD(op_name::Squeeze, kGradUsesInputs) { return {reshape_like_input(c)}; } END_GRAD;
GRAD(op_name::BroadcastTo, kGradUsesNothing) { return {unbroadcast(c.grad(), c.x())}; } END_GRAD;
GRAD(op_name::Transpose, kGradUsesNothing) {
  const Ints& perm = c.attrs.get<Ints>("perm");
  Ints inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return {transpose(c.grad(), inverse)};
} END_GRAD;
// Where the trace knows x's shape, g padded back to it; else (or with the
// bounds passed as tensors) StridedSliceGrad from begin to begin + g's
// shape, into x's run-time shape.
GRAD(op_name::Slice, kGradUsesNothing) {
  const Tensor &x = c.x(), &g = c.grad();
  Grads out(c.inputs.size(), kNone);
  if (x.shape().is_fully_defined() && g.shape().is_fully_defined() && c.attrs.has("begin")) {
    const Ints& begin = c.attrs.get<Ints>("begin");
    std::vector<std::pair<int64_t, int64_t>> p;
    for (int i = 0; i < x.rank(); ++i)
      p.emplace_back(begin[static_cast<size_t>(i)], x.dim(i) - begin[static_cast<size_t>(i)] - g.dim(i));
    out[0] = pad(g, p);
    return out;
  }
  const Tensor begin = c.attrs.has("begin") ? shape_values(c.attrs.get<Ints>("begin"), int64) : cast(c.inputs[1], int64);
  const Tensor end = begin + shape(g, int64);
  out[0] = execute1(EMBER_OP(op_name::StridedSliceGrad), {g, begin, end, ones_like(begin), shape(x, int64)},
                    {{"begin_mask", int64_t{0}}, {"end_mask", int64_t{0}}, {"ellipsis_mask", int64_t{0}},
                     {"new_axis_mask", int64_t{0}}, {"shrink_axis_mask", int64_t{0}}});
  return out;
} END_GRAD;
// Bounds known only when the slice runs (tensors after x: x[:i] in a loop)
// go on to the adjoint as tensors too, and x's shape with them where the
// trace does not know it.
GRAD(op_name::StridedSlice, kGradUsesNothing) {
  Attrs attrs = c.attrs;
  std::vector<Tensor> in{c.grad()};
  in.insert(in.end(), c.inputs.begin() + 1, c.inputs.end());
  if (c.x().shape().is_fully_defined())
    attrs.set("shape", c.x().shape().as_vector());
  else
    in.push_back(shape(c.x(), int64));
  Grads out(c.inputs.size(), kNone);
  out[0] = execute1(EMBER_OP(op_name::StridedSliceGrad), in, attrs);
  return out;
} END_GRAD;
GRAD(op_name::StridedSliceGrad, kGradUsesNothing) {                                            // linear: slice the gradient again
  Attrs attrs = c.attrs;
  attrs.erase("shape");
  std::vector<Tensor> in{c.grad()};
  const size_t bounds_end = c.attrs.has("shape") ? c.inputs.size() : c.inputs.size() - 1;  // (shape last)
  in.insert(in.end(), c.inputs.begin() + 1, c.inputs.begin() + static_cast<std::ptrdiff_t>(bounds_end));
  Grads out(c.inputs.size(), kNone);
  out[0] = execute1(EMBER_OP(op_name::StridedSlice), in, attrs);
  return out;
} END_GRAD;
// g split along the axis at the inputs' sizes there; where the trace does
// not know them, slices of g from each input's offset by its run-time shape.
GRAD(op_name::ConcatV2, kGradUsesNothing) {
  EMBER_CHECK(c.attrs.has("axis") && (c.attrs.get<int64_t>("axis") >= 0 || c.y().shape().rank_known()),
              Unimplemented, "[concat] the gradient of a concatenation whose axis this trace does not know is not supported");
  int64_t axis = c.attrs.get<int64_t>("axis");
  if (axis < 0) axis += c.y().rank();
  bool known = true;
  Ints sizes;
  for (const Tensor& t : c.inputs) {
    known = known && t.shape().rank_known() && t.dim(static_cast<int>(axis)) != TensorShape::kUnknown;
    sizes.push_back(known ? t.dim(static_cast<int>(axis)) : 0);
  }
  if (known) return split(c.grad(), sizes, axis);
  Grads out;
  Tensor offset = constant(int64_t{0});
  for (const Tensor& t : c.inputs) {
    const Tensor st = shape(t, int64);
    // begin: 0 on every axis but `axis`, where the offset
    Tensor at = cast(equal(range(constant(int64_t{0}), size(st, int64), constant(int64_t{1})), constant(axis)), int64);
    out.push_back(execute1(EMBER_OP(op_name::Slice), {c.grad(), at * offset, st}, {}));
    offset = offset + shape_at(t, axis);
  }
  return out;
} END_GRAD;
GRAD(op_name::Pack, kGradUsesNothing) { return unstack(c.grad(), c.attrs.get<int64_t>("axis")); } END_GRAD;
GRAD(op_name::Unpack, kGradUsesNothing) { return {stack({c.output_grads.begin(), c.output_grads.end()}, c.attrs.get<int64_t>("axis"))}; } END_GRAD;
GRAD(op_name::SplitV, kGradUsesNothing) { return {concat({c.output_grads.begin(), c.output_grads.end()}, c.attrs.get<int64_t>("axis"))}; } END_GRAD;
GRAD(op_name::Tile, kGradUsesNothing) {                                                        // sum the copies
  EMBER_CHECK(c.attrs.has("multiples") && c.x().shape().rank_known(), Unimplemented,
              "[tile] the gradient of a tile whose multiples or rank this trace does not know is not supported");
  const Ints& m = c.attrs.get<Ints>("multiples");
  Dims split_shape;
  Ints axes;
  for (int i = 0; i < c.x().rank(); ++i) {
    axes.push_back(2 * i);
    split_shape.push_back(m[static_cast<size_t>(i)]);
    split_shape.push_back(c.x().dim(i));
  }
  Grads out(c.inputs.size(), kNone);
  if (c.x().shape().is_fully_defined()) {
    out[0] = reshape(reduce_sum(reshape(c.grad(), TensorShape(split_shape)), axes), c.x().shape());
  } else {  // [m0, d0, m1, d1, ...] with x's dimensions when it runs
    Tensor split = reshape(stack({shape_values(m, int64), shape(c.x(), int64)}, 1), TensorShape{2 * c.x().rank()});
    out[0] = reduce_sum(reshape(c.grad(), split), axes);
  }
  return out;
} END_GRAD;
GRAD(op_name::PadV2, kGradUsesNothing) {                                                       // the middle of g
  const Ints& p = c.attrs.get<Ints>("paddings");  // (two per axis: x's rank even where the trace does not know it)
  Ints begin;
  for (size_t i = 0; i < p.size() / 2; ++i) begin.push_back(p[2 * i]);
  if (c.x().shape().is_fully_defined()) return {slice(c.grad(), begin, c.x().shape().as_vector())};
  // (A size of -1 would run to g's end, through the padding after.)
  return {execute1(EMBER_OP(op_name::Slice), {c.grad(), shape(c.x(), int64)}, {{"begin", begin}})};
} END_GRAD;
GRAD(op_name::Snapshot, kGradUsesNothing) { return {c.grad()}; } END_GRAD;  // a copy
GRAD(op_name::EnsureShape, kGradUsesNothing) { return {c.grad()}; } END_GRAD;  // the input, checked
// clang-format on

}  // namespace
}  // namespace ember::autograd
