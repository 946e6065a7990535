// Reductions and argmax/argmin: definitions and front-ends.
#include <algorithm>
#include <limits>

#include "core/context.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

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

// Reducing over axes known when the op runs: kept dimensions keep the rank.
void infer_reduce_unresolved(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  DType t = c.inputs[0].dtype();
  if (c.op.name == op_name::All || c.op.name == op_name::Any)
    infer::require_bool(c, c.inputs[0]);
  else
    infer::require_numeric(c, c.inputs[0]);
  bool keep = c.attrs.get<bool>("keep_dims");
  c.outputs.push_back({t, TensorShape::unknown_dims(keep && in.rank_known() ? in.rank() : TensorShape::kUnknown)});
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
  DType index_type = c.attrs.get<DType>("output_type");
  if (index_type != int64 && index_type != int32)
    c.fail("output_type must be int32 or int64, got ", dtype_name(index_type));
  if (!in.rank_known()) {  // (the axis is checked when the op runs)
    c.outputs.push_back({index_type, TensorShape::unknown_rank()});
    return;
  }
  if (in.rank() == 0) c.fail("x must have rank >= 1, got a scalar");
  int64_t axis = infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), in.rank());
  if (in.dim(static_cast<int>(axis)) == 0)
    c.fail("cannot take the index over an empty axis ", axis);
  Dims out;
  for (int i = 0; i < in.rank(); ++i)
    if (i != axis) out.push_back(in.dim(i));
  c.outputs.push_back({index_type, TensorShape(std::move(out))});
}

// Cumsum keeps x's shape; the axis must name one of its dimensions.
void infer_cumsum(InferContext& c) {
  const TensorShape& in = c.inputs[0].shape();
  infer::require_numeric(c, c.inputs[0]);
  if (in.rank_known()) {
    if (in.rank() == 0) c.fail("x must have rank >= 1, got a scalar");
    infer::normalize_axis(c, c.attrs.get<int64_t>("axis"), in.rank());
  }  // (else the axis is checked when the op runs)
  c.outputs.push_back({c.inputs[0].dtype(), in});
}

void infer_cumulative_logsumexp(InferContext& c) {
  infer::require_float(c, c.inputs[0]);
  infer_cumsum(c);
}

// clang-format off
EMBER_DEFINE_OP(op_name::Sum).inputs(1).attr_or_input("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_sum").set_infer(infer_reduce_numeric).set_infer_unresolved(infer_reduce_unresolved).tf_input("axis", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Mean).inputs(1).attr_or_input("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_mean").set_infer(infer_reduce_numeric).set_infer_unresolved(infer_reduce_unresolved).tf_input("axis", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Max).inputs(1).attr_or_input("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_max").set_infer(infer_reduce_minmax).set_infer_unresolved(infer_reduce_unresolved).tf_input("axis", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Min).inputs(1).attr_or_input("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_min").set_infer(infer_reduce_minmax).set_infer_unresolved(infer_reduce_unresolved).tf_input("axis", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Prod).inputs(1).attr_or_input("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_prod").set_infer(infer_reduce_numeric).set_infer_unresolved(infer_reduce_unresolved).tf_input("axis", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::All).inputs(1).attr_or_input("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_all").set_infer(infer_reduce_bool).set_infer_unresolved(infer_reduce_unresolved).not_differentiable().tf_input("axis", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32)).tf_no_t();
EMBER_DEFINE_OP(op_name::Any).inputs(1).attr_or_input("axis", AttrKind::Ints).attr("keep_dims", AttrKind::Bool).api("reduce_any").set_infer(infer_reduce_bool).set_infer_unresolved(infer_reduce_unresolved).not_differentiable().tf_input("axis", 1, TfInputForm::Ints).tf_type("Tidx", dtype_fixed(int32)).tf_no_t();
EMBER_DEFINE_OP(op_name::ArgMax).inputs(1).attr("axis", AttrKind::Int).attr("output_type", AttrKind::Type).api("argmax").set_infer(infer_arg).not_differentiable().tf_input("axis", 1, TfInputForm::Int).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::ArgMin).inputs(1).attr("axis", AttrKind::Int).attr("output_type", AttrKind::Type).api("argmin").set_infer(infer_arg).not_differentiable().tf_input("axis", 1, TfInputForm::Int).tf_type("Tidx", dtype_fixed(int32));
EMBER_DEFINE_OP(op_name::Cumsum).inputs(1).attr("axis", AttrKind::Int).attr("exclusive", AttrKind::Bool).attr("reverse", AttrKind::Bool).api("cumsum").set_infer(infer_cumsum).tf_input("axis", 1, TfInputForm::Int).tf_type("Tidx", dtype_fixed(int32)).tf_outputs({"out"});
EMBER_DEFINE_OP(op_name::CumulativeLogsumexp).inputs(1).attr("axis", AttrKind::Int).attr("exclusive", AttrKind::Bool).attr("reverse", AttrKind::Bool).api("cumulative_logsumexp").set_infer(infer_cumulative_logsumexp).tf_input("axis", 1, TfInputForm::Int).tf_type("Tidx", dtype_fixed(int32)).tf_outputs({"out"});
EMBER_DEFINE_OP(op_name::Cumprod).inputs(1).attr("axis", AttrKind::Int).attr("exclusive", AttrKind::Bool).attr("reverse", AttrKind::Bool).api("cumprod").set_infer(infer_cumsum).tf_input("axis", 1, TfInputForm::Int).tf_type("Tidx", dtype_fixed(int32)).tf_outputs({"out"});
// clang-format on

// Axes none: every axis. Of a rank known only when the op runs (a trace of
// unknown rank), that is range(rank(x)), computed then, as TensorFlow does.
Tensor reduce(const OpDef& op, const Tensor& x, const Axes& axes, bool keepdims) {
  ApiScope api(op.api_name.c_str());
  if (!axes && !x.shape().rank_known())
    return execute1(op, {x, range(constant(0), rank(x), constant(1))}, {{"keep_dims", keepdims}});
  std::vector<int64_t> all;
  if (!axes) {
    all.resize(static_cast<size_t>(x.rank()));
    for (int i = 0; i < x.rank(); ++i) all[static_cast<size_t>(i)] = i;
  }
  return execute1(op, {x}, {{"axis", axes ? *axes : all}, {"keep_dims", keepdims}});
}

// An inf-free version of m for subtracting: non-finite maxima become 0.
Tensor finite_or_zero(const Tensor& m) {
  Tensor inf = scalar_like(m, std::numeric_limits<double>::infinity());
  return where(less(abs(m), inf), m, zeros_like(m));
}

}  // namespace

Tensor reduce_sum(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP(op_name::Sum), x, axes, keepdims);
}
Tensor reduce_mean(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP(op_name::Mean), x, axes, keepdims);
}
Tensor reduce_max(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP(op_name::Max), x, axes, keepdims);
}
Tensor reduce_min(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP(op_name::Min), x, axes, keepdims);
}
Tensor reduce_prod(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP(op_name::Prod), x, axes, keepdims);
}
Tensor reduce_all(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP(op_name::All), x, axes, keepdims);
}
Tensor reduce_any(const Tensor& x, Axes axes, bool keepdims) {
  return reduce(EMBER_OP(op_name::Any), x, axes, keepdims);
}

Tensor reduce_logsumexp(const Tensor& x, Axes axes, bool keepdims) {
  ApiScope api("reduce_logsumexp");
  EMBER_CHECK(x.dtype() == float32 || x.dtype() == float64, InvalidArgument,
              "[", context().api, "] x must be float32 or float64, got ", dtype_name(x.dtype()));
  // log Σ exp(x) = m + log Σ exp(x - m), with m the (finite) maximum.
  Tensor m = stop_gradient(finite_or_zero(reduce_max(x, axes, /*keepdims=*/true)));
  Tensor sum = reduce_sum(exp(x - m), axes, keepdims);
  // m without its kept axes (each of size 1): reduced over them again, so no shape need be known.
  return log(sum) + (keepdims ? m : reduce_max(m, axes, /*keepdims=*/false));
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

Tensor argmax(const Tensor& x, int64_t axis, DType output_type) {
  return execute1(EMBER_OP(op_name::ArgMax), {x}, {{"axis", axis}, {"output_type", output_type}});
}
Tensor argmin(const Tensor& x, int64_t axis, DType output_type) {
  return execute1(EMBER_OP(op_name::ArgMin), {x}, {{"axis", axis}, {"output_type", output_type}});
}

Tensor cumsum(const Tensor& x, int64_t axis, bool exclusive, bool reverse) {
  return execute1(EMBER_OP(op_name::Cumsum), {x}, {{"axis", axis}, {"exclusive", exclusive}, {"reverse", reverse}});
}

Tensor cumprod(const Tensor& x, int64_t axis, bool exclusive, bool reverse) {
  return execute1(EMBER_OP(op_name::Cumprod), {x}, {{"axis", axis}, {"exclusive", exclusive}, {"reverse", reverse}});
}

Tensor cumulative_logsumexp(const Tensor& x, int64_t axis, bool exclusive, bool reverse) {
  return execute1(EMBER_OP(op_name::CumulativeLogsumexp), {x},
                  {{"axis", axis}, {"exclusive", exclusive}, {"reverse", reverse}});
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the reductions.
namespace ember::autograd {
namespace {

// clang-format off
struct Reduced {
  Ints axes;
  TensorShape keep_shape;  // x's shape with the reduced axes set to 1
  int64_t count = 1;       // elements reduced into each output
};
// Whether the reduced axes are known only when the op runs: passed as a
// tensor (a trace of unknown rank reducing every axis), or of a tensor whose
// rank the trace does not know.
bool axes_at_run_time(const GradContext& c) {
  return !c.attrs.has("axis") || !c.inputs[0].shape().rank_known();
}
Reduced reduced(const GradContext& c) {
  Reduced r;
  const TensorShape& s = c.inputs[0].shape();
  EMBER_CHECK(!axes_at_run_time(c), Internal, "[", c.op.api_name, "] the reduced axes are known only when it runs");
  Dims keep = s.dims();
  for (int64_t a : c.attrs.get<Ints>("axis")) {
    int64_t n = a < 0 ? a + s.rank() : a;
    r.axes.push_back(n);
    r.count *= std::max<int64_t>(s.dim(static_cast<int>(n)), 1);
    keep[static_cast<size_t>(n)] = 1;
  }
  r.keep_shape = TensorShape(keep);
  return r;
}
// t (the op's output, or a gradient of its shape; with `kept`, already with
// the reduced axes kept as 1) reshaped to keep dims and broadcast back over
// x. Where x's shape is not fully known (a traced tensor), the reduced axes
// are put back one by one and the broadcast is an addition of zeros of x's
// shape when it runs.
Tensor spread(const GradContext& c, const Tensor& t, const Reduced& r, bool kept_dims = false) {
  const Tensor& x = c.inputs[0];
  if (x.shape().is_fully_defined()) return broadcast_to(reshape(t, r.keep_shape), x.shape());
  Tensor kept = t;
  if (!kept_dims && !c.attrs.get<bool>("keep_dims")) {
    Ints axes = r.axes;
    std::sort(axes.begin(), axes.end());
    for (int64_t a : axes) kept = expand_dims(kept, a);
  }
  return kept + zeros_like(x);
}
// The elements reduced into each output, where x's shape is known when it runs.
Tensor count_of(const GradContext& c, const Reduced& r) {
  return reduce_sum(ones_like(c.inputs[0]), r.axes, /*keepdims=*/true);
}

// Sum's and Mean's gradients where the axes are known when the op runs (as
// TensorFlow's _SumGrad): g reshaped to x's run-time shape with the reduced
// axes (negative ones counted from the end) set to 1, plus zeros of x's
// shape; a mean's divided by the elements each output reduced.
struct RunTimeReduced {
  Tensor axes;        // int64, in [0, rank)
  Tensor keep_shape;  // int64
};
RunTimeReduced run_time_reduced(const GradContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor axes = c.attrs.has("axis") ? constant(c.attrs.get<Ints>("axis"), TensorShape{static_cast<int64_t>(c.attrs.get<Ints>("axis").size())})
                                    : cast(c.inputs[1], int64);
  Tensor r = cast(rank(x), int64);
  axes = floormod(axes, r);
  Tensor hit = reduce_any(equal(expand_dims(range(constant(int64_t{0}), r, constant(int64_t{1})), 1), expand_dims(axes, 0)), 1);
  Tensor sx = shape(x, int64);
  return {axes, where(hit, ones_like(sx), sx)};
}
Grads run_time_grad(const GradContext& c, bool mean) {
  const Tensor& x = c.inputs[0];
  RunTimeReduced r = run_time_reduced(c);
  Tensor dx = reshape(c.grad(), r.keep_shape) + zeros_like(x);
  if (mean) dx = dx / execute(EMBER_OP(op_name::Sum), {ones_like(x), r.axes}, {{"keep_dims", true}})[0];
  Grads out{dx};
  out.resize(c.inputs.size());  // (none for the axes passed as a tensor)
  return out;
}

GRAD(op_name::Sum, kGradUsesNothing) {
  if (axes_at_run_time(c)) return run_time_grad(c, false);
  return {spread(c, c.grad(), reduced(c))};
} END_GRAD;
GRAD(op_name::Mean, kGradUsesNothing) {
  if (axes_at_run_time(c)) return run_time_grad(c, true);
  Reduced r = reduced(c);
  if (!c.x().shape().is_fully_defined()) return {spread(c, c.grad(), r) / count_of(c, r)};
  return {spread(c, c.grad(), r) * (1.0 / static_cast<double>(std::max<int64_t>(r.count, 1)))};
} END_GRAD;
// The reduced axes as the extremum and product gradients use them: fixed
// when tracing, or known when the op runs (RunTimeReduced).
class Regroup {
 public:
  explicit Regroup(const GradContext& c) : c_(c), run_time_(axes_at_run_time(c)) {
    if (run_time_) {
      rt_ = run_time_reduced(c);
    } else {
      r_ = reduced(c);
    }
  }
  /// t (of the op's output shape; `kept`: with the reduced axes kept as 1) over x's shape.
  Tensor spread(const Tensor& t, bool kept = false) const {
    if (!run_time_) return autograd::spread(c_, t, r_, kept);
    return reshape(t, rt_.keep_shape) + zeros_like(c_.inputs[0]);
  }
  /// op (Sum, Prod) over the reduced axes, keeping them as 1.
  Tensor reduce_kept(const char* op, const Tensor& t) const {
    if (!run_time_) return execute1(op_def(op), {t}, {{"axis", r_.axes}, {"keep_dims", true}});
    return execute(op_def(op), {t, rt_.axes}, {{"keep_dims", true}})[0];
  }
  Grads with_none_for_axes(Tensor dx) const {  // (none for axes passed as a tensor)
    Grads out{std::move(dx)};
    out.resize(c_.inputs.size());
    return out;
  }

 private:
  const GradContext& c_;
  bool run_time_;
  Reduced r_;
  RunTimeReduced rt_;
};

// The gradient of a maximum (or minimum) is shared equally among the elements that attain it.
Grads extremum_grad(const GradContext& c) {
  Regroup g(c);
  Tensor mask = cast(equal(c.x(), g.spread(c.y())), c.x().dtype());
  Tensor ties = g.reduce_kept(op_name::Sum, mask);
  return g.with_none_for_axes(g.spread(c.grad()) * mask / g.spread(ties, true));
}
GRAD(op_name::Max, kGradUsesAll) { return extremum_grad(c); } END_GRAD;
GRAD(op_name::Min, kGradUsesAll) { return extremum_grad(c); } END_GRAD;
// d prod / d x_i = the product of the others. Without dividing by x_i (which
// fails at zeros): with no zero in the group it is prod / x_i; with one zero
// it is the product of the non-zeros at that zero and 0 elsewhere; with two
// or more, 0 everywhere.
GRAD(op_name::Prod, kGradUsesAll) {
  Regroup g(c);
  Tensor zero = equal(c.x(), zeros_like(c.x())), one = ones_like(c.x()), nothing = zeros_like(c.x());
  Tensor safe = where(zero, one, c.x());
  Tensor zeros_in_group = g.spread(g.reduce_kept(op_name::Sum, cast(zero, c.x().dtype())), true);
  Tensor nonzero_prod = g.spread(g.reduce_kept(op_name::Prod, safe), true);
  Tensor none_zero = equal(zeros_in_group, nothing), one_zero = equal(zeros_in_group, one);
  Tensor others = where(none_zero, nonzero_prod / safe, where(logical_and(one_zero, zero), nonzero_prod, nothing));
  return g.with_none_for_axes(g.spread(c.grad()) * others);
} END_GRAD;
// Each x_i is in the outputs after it (before it, reversed): the grad summed the other way (TensorFlow's _CumsumGrad).
GRAD(op_name::Cumsum, kGradUsesNothing) {
  return {cumsum(c.grad(), c.attrs.get<int64_t>("axis"), c.attrs.get<bool>("exclusive"), !c.attrs.get<bool>("reverse"))};
} END_GRAD;
// TensorFlow's _CumprodGrad: dx_i = (the sum over the outputs y_j that x_i is
// in of g_j·y_j) / x_i, 0 where x_i is 0 (its div_no_nan; so a zero's true
// gradient, the product of the others, is lost there as in TensorFlow).
GRAD(op_name::Cumprod, kGradUsesAll) {
  const int64_t axis = c.attrs.get<int64_t>("axis");
  const bool exclusive = c.attrs.get<bool>("exclusive"), reverse = c.attrs.get<bool>("reverse");
  return {div_no_nan(cumsum(c.y() * c.grad(), axis, exclusive, !reverse), c.x())};
} END_GRAD;
// TensorFlow's _CumulativeLogsumexpGrad: dx_i = Σ_j g_j·e^(x_i - y_j) over
// the outputs y_j that x_i is in, summed the other way as logsumexps of
// log g - y, the positive and negative parts of g apart (so no log of a
// negative, and no overflow).
GRAD(op_name::CumulativeLogsumexp, kGradUsesAll) {
  const int64_t axis = c.attrs.get<int64_t>("axis");
  const bool exclusive = c.attrs.get<bool>("exclusive"), reverse = c.attrs.get<bool>("reverse");
  const Tensor &g = c.grad(), zero = zeros_like(g);
  const Tensor lowest = scalar_like(g, -std::numeric_limits<double>::infinity());  // (log 0: adds nothing)
  const Tensor log_positive = where(greater(g, zero), log(g), lowest), log_negative = where(less(g, zero), log(-g), lowest);
  auto part = [&](const Tensor& log_g) {
    return exp(cumulative_logsumexp(log_g - c.y(), axis, exclusive, !reverse) + c.x());
  };
  return {part(log_positive) - part(log_negative)};
} END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd
