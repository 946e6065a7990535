// The collective family: TensorFlow's CollectiveReduceV2 (all-reduce),
// CollectiveGatherV2 (all-gather) and CollectiveReduceScatterV2, with
// TensorFlow's attributes (merge_op Add/Min/Max, final_op Id/Div, the group
// size, group and instance keys it takes as inputs, timeout_seconds), and
// ember's CollectiveBroadcast (TensorFlow splits a broadcast into a send on
// the root and receives elsewhere, two graphs: ember's one op is exported as
// the all-reduce of the root's value and zeros, which TensorFlow runs).
//
// Every one is stateful: a trace keeps the collectives in program order, as
// every rank must call them in the same order. `label` (ember's, dropped on
// export) is what the call carries, for the errors that name it. Kernels:
// kernels/any_device/collective.cpp, over the transport (core/collective_transport.h).
#include <atomic>

#include "core/collective.h"
#include "core/collective_transport.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/grad_util.h"
#include "core/ops/infer_util.h"

namespace ember {
namespace collective {

namespace {
Transport* (*g_factory)() = nullptr;
}  // namespace

void set_transport_factory(Transport* (*factory)()) { g_factory = factory; }

Transport* transport() {
  static Transport* const t = g_factory ? g_factory() : nullptr;
  return t;
}

int rank() {
  Transport* t = transport();
  return t ? t->rank() : 0;
}
int size() {
  Transport* t = transport();
  return t ? t->size() : 1;
}

}  // namespace collective

namespace {

bool collectable(DType t) { return t != DType::Resource && t != DType::Variant; }

void check_common(InferContext& c) {
  const DType t = c.inputs[0].dtype();
  if (!collectable(t)) c.fail("a ", dtype_name(t), " tensor cannot be carried between ranks");
  if (c.attrs.get<int64_t>("group_size") < 1) c.fail("group_size must be at least 1, got ", c.attrs.get<int64_t>("group_size"));
  if (c.attrs.get<double>("timeout_seconds") < 0) c.fail("timeout_seconds must not be negative");
}

void check_reduction(InferContext& c, bool min_max) {
  const std::string& merge = c.attrs.get<std::string>("merge_op");
  const std::string& final_op = c.attrs.get<std::string>("final_op");
  if (merge != "Add" && !(min_max && (merge == "Min" || merge == "Max")))
    c.fail(min_max ? "merge_op must be Add, Min or Max" : "reduces by Sum or Mean only (merge_op Add)", ", got '",
           merge, "'");
  if (final_op != "Id" && final_op != "Div") c.fail("final_op must be Id or Div, got '", final_op, "'");
  if (final_op == "Div" && merge != "Add") c.fail("final_op Div (a mean) needs merge_op Add, got '", merge, "'");
  if (final_op == "Div" && c.inputs[0].dtype() == bool_) c.fail("a mean of booleans is not defined");
}

void infer_all_reduce(InferContext& c) {
  check_common(c);
  check_reduction(c, true);
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

void infer_broadcast(InferContext& c) {
  check_common(c);
  const int64_t root = c.attrs.get<int64_t>("root"), n = c.attrs.get<int64_t>("group_size");
  if (root < 0 || root >= n) c.fail("root ", root, " is not a rank of a group of ", n);
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

// The gathered (or scattered) axis 0: `x`'s times (or divided by) the group size.
TensorShape along_axis0(InferContext& c, bool gather) {
  const TensorShape& s = c.inputs[0].shape();
  if (!s.rank_known()) return s;
  if (s.rank() == 0) c.fail("needs a tensor of rank 1 or more (it works along axis 0), got a scalar");
  const int64_t n = c.attrs.get<int64_t>("group_size"), d = s.dim(0);
  std::vector<int64_t> dims = s.as_vector();
  if (d >= 0) {
    if (!gather && d % n != 0) c.fail("axis 0 (", d, ") does not divide into ", n, " ranks' parts");
    dims[0] = gather ? infer::mul_dims(c, d, n) : d / n;
  }
  return TensorShape(dims);
}

void infer_all_gather(InferContext& c) {
  check_common(c);
  c.outputs.push_back({c.inputs[0].dtype(), along_axis0(c, true)});
}

void infer_reduce_scatter(InferContext& c) {
  check_common(c);
  check_reduction(c, false);
  c.outputs.push_back({c.inputs[0].dtype(), along_axis0(c, false)});
}

// TensorFlow's collectives, with the attributes TensorFlow takes as inputs
// and those ember does not keep.
OpDef& tf_collective(OpDef& def) {
  return def.set_stateful()
      .set_allocates_outputs()
      .tf_input("group_size", 1, TfInputForm::Int)
      .tf_input("group_key", 2, TfInputForm::Int)
      .tf_input("instance_key", 3, TfInputForm::Int)
      .tf_fixed("Nordering_token", int64_t{0})
      .tf_fixed("is_stateless", false)
      .tf_outputs({"data"})
      .tf_dropped("label", std::string());
}

OpDef& collective_attrs(OpDef& def) {
  return def.inputs(1)
      .attr("group_size", AttrKind::Int)
      .attr("group_key", AttrKind::Int)
      .attr("instance_key", AttrKind::Int)
      .attr("communication_hint", AttrKind::String)
      .attr("timeout_seconds", AttrKind::Float)
      .attr("label", AttrKind::String);
}

std::atomic<int64_t> next_instance_key{1};

// The attributes of one collective call in a group of `group_size`.
Attrs call_attrs(int64_t group_size, const collective::Options& o) {
  return {{"group_size", group_size},
          {"group_key", int64_t{1}},
          {"instance_key", next_instance_key.fetch_add(1)},
          {"communication_hint", std::string("auto")},
          {"timeout_seconds", o.timeout_seconds},
          {"label", o.label}};
}

// A collective of the same group as `forward`'s (a gradient's).
Attrs same_group(const Attrs& forward, std::string label) {
  return call_attrs(forward.get<int64_t>("group_size"),
                    {.label = std::move(label), .timeout_seconds = forward.get<double>("timeout_seconds")});
}

const char* merge_name(collective::ReduceOp op) {
  switch (op) {
    case collective::ReduceOp::Sum:
    case collective::ReduceOp::Mean: return "Add";
    case collective::ReduceOp::Max: return "Max";
    case collective::ReduceOp::Min: return "Min";
  }
  return "Add";
}

Tensor reduce_op(const Tensor& x, const char* merge, const char* final_op, Attrs attrs) {
  attrs.set("merge_op", std::string(merge)).set("final_op", std::string(final_op));
  return execute1(EMBER_OP(op_name::CollectiveReduceV2), {x}, attrs);
}

Tensor reduce_op_scatter(const Tensor& x, const char* merge, const char* final_op, Attrs attrs) {
  attrs.set("merge_op", std::string(merge)).set("final_op", std::string(final_op));
  return execute1(EMBER_OP(op_name::CollectiveReduceScatterV2), {x}, attrs);
}

// CollectiveBroadcast as TensorFlow runs it: the root's value summed with
// every other rank's zeros.
std::vector<Tensor> broadcast_decomposition(std::span<const Tensor> inputs, const Attrs& attrs) {
  const bool root = attrs.get<int64_t>("root") == collective::rank();
  Attrs reduce = attrs;
  reduce.erase("root");
  return {reduce_op(root ? inputs[0] : zeros_like(inputs[0]), "Add", "Id", reduce)};
}

// Each definition: TensorFlow's collective attributes, then its own.
[[maybe_unused]] const OpDef& all_reduce_def =
    collective_attrs(tf_collective(define_op(op_name::CollectiveReduceV2)))
        .attr("merge_op", AttrKind::String).attr("final_op", AttrKind::String)
        .api("collective::all_reduce").set_infer(infer_all_reduce)
        .tf_fixed("max_subdivs_per_device", int64_t{-1});
[[maybe_unused]] const OpDef& all_gather_def =
    collective_attrs(tf_collective(define_op(op_name::CollectiveGatherV2)))
        .api("collective::all_gather").set_infer(infer_all_gather);
[[maybe_unused]] const OpDef& reduce_scatter_def =
    collective_attrs(tf_collective(define_op(op_name::CollectiveReduceScatterV2)))
        .attr("merge_op", AttrKind::String).attr("final_op", AttrKind::String)
        .api("collective::reduce_scatter").set_infer(infer_reduce_scatter)
        .tf_fixed("max_subdivs_per_device", int64_t{-1});
[[maybe_unused]] const OpDef& broadcast_def =
    collective_attrs(define_op(op_name::CollectiveBroadcast))
        .attr("root", AttrKind::Int)
        .api("collective::broadcast").set_infer(infer_broadcast)
        .set_stateful().set_allocates_outputs().tf_composite(broadcast_decomposition);

// ---- gradients ------------------------------------------------------------------------
using autograd::Grads;
// The loss a distributed run differentiates is the sum of every rank's, so
// an input's gradient sums what each rank's output sends back: a
// collective's adjoint is a collective (TensorFlow's, and Horovod's).

std::string gradient_label(const Attrs& attrs) {
  const std::string& label = attrs.get<std::string>("label");
  return label.empty() ? "a gradient" : "the gradient of " + label;
}

// Σ_r dL_r/dy_r, a mean's divided by the rank count; for Max and Min only
// the ranks whose value was the extreme get it (each of tied ones, all of it).
GRAD(op_name::CollectiveReduceV2, kGradUsesAll) {
  const std::string& merge = c.attrs.get<std::string>("merge_op");
  Tensor g = reduce_op(c.grad(), "Add", c.attrs.get<std::string>("final_op").c_str(),
                       same_group(c.attrs, gradient_label(c.attrs)));
  if (merge == "Add") return {g};
  return {g * cast(equal(c.x(), c.y()), g.dtype())};
}
END_GRAD;

// Rank s's part of every rank's output gradient, summed: a reduce-scatter.
GRAD(op_name::CollectiveGatherV2, kGradUsesNothing) {
  return {reduce_op_scatter(c.grad(), "Add", "Id", same_group(c.attrs, gradient_label(c.attrs)))};
}
END_GRAD;

// Every rank's part gathered back (a mean's divided by the rank count).
GRAD(op_name::CollectiveReduceScatterV2, kGradUsesNothing) {
  Tensor g = execute1(EMBER_OP(op_name::CollectiveGatherV2), {c.grad()},
                      same_group(c.attrs, gradient_label(c.attrs)));
  if (c.attrs.get<std::string>("final_op") == "Div")
    g = div(g, cast(constant(static_cast<double>(c.attrs.get<int64_t>("group_size"))), g.dtype()));
  return {g};
}
END_GRAD;

// The root's input reached every rank: it gets the sum of their gradients,
// the others none (zeros: they still take part in the sum).
GRAD(op_name::CollectiveBroadcast, kGradUsesNothing) {
  Tensor g = reduce_op(c.grad(), "Add", "Id", same_group(c.attrs, gradient_label(c.attrs)));
  return {c.attrs.get<int64_t>("root") == collective::rank() ? g : zeros_like(g)};
}
END_GRAD;

}  // namespace

// ---- front-ends ---------------------------------------------------------------------------

namespace collective {

Tensor all_reduce(const Tensor& x, ReduceOp op, const Options& options) {
  ApiScope api("collective::all_reduce");
  return reduce_op(x, merge_name(op), op == ReduceOp::Mean ? "Div" : "Id", call_attrs(size(), options));
}

Tensor broadcast(const Tensor& x, int root, const Options& options) {
  ApiScope api("collective::broadcast");
  Attrs attrs = call_attrs(size(), options);
  attrs.set("root", int64_t{root});
  return execute1(EMBER_OP(op_name::CollectiveBroadcast), {x}, attrs);
}

Tensor all_gather(const Tensor& x, const Options& options) {
  ApiScope api("collective::all_gather");
  return execute1(EMBER_OP(op_name::CollectiveGatherV2), {x}, call_attrs(size(), options));
}

Tensor reduce_scatter(const Tensor& x, ReduceOp op, const Options& options) {
  ApiScope api("collective::reduce_scatter");  // (inference refuses Max and Min)
  return reduce_op_scatter(x, merge_name(op), op == ReduceOp::Mean ? "Div" : "Id", call_attrs(size(), options));
}

void barrier(const Options& options) {
  ApiScope api("collective::barrier");
  Options o = options;
  if (o.label.empty()) o.label = "barrier";
  reduce_op(constant(int32_t{0}), "Add", "Id", call_attrs(size(), o));
}

}  // namespace collective
}  // namespace ember
