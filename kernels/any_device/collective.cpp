// Kernels of the collective ops, for every device: the transport
// (core/collective_transport.h, distribute/'s MPI process group: MPI
// between CPU buffers, the GPU's staged through the host) carries the data;
// without one the process is a world of one and each collective is a copy.
// A trace made for a group of another size is refused rather than run with
// the wrong arithmetic.
#include "core/collective.h"
#include "core/collective_transport.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"

namespace ember::kernels {
namespace {

using collective::Call;
using collective::Reduction;
using collective::Transport;

// The transport for the op's group, or null for a world of one.
Transport* group_of(const KernelContext& c) {
  Transport* t = collective::transport();
  const int64_t world = t ? t->size() : 1;
  const int64_t group = c.attrs.get<int64_t>("group_size");
  EMBER_CHECK(group == world, FailedPrecondition, "[", api_name_for(c.op), "] made for a group of ", group,
              " ranks, running in a world of ", world);
  return world > 1 ? t : nullptr;
}

Call call_of(const KernelContext& c, const char* kind) {
  return {kind, c.attrs.get<std::string>("label"), c.attrs.get<double>("timeout_seconds")};
}

Reduction reduction_of(const KernelContext& c) {
  const std::string& merge = c.attrs.get<std::string>("merge_op");
  return merge == "Max" ? Reduction::Max : merge == "Min" ? Reduction::Min : Reduction::Sum;
}

// A mean: the sum divided by the rank count (integers truncated, as Div does).
Tensor finish_mean(bool mean, Tensor sum, int64_t ranks, Device device) {
  if (!mean || ranks == 1) return sum;
  return div(sum, cast(constant(static_cast<double>(ranks), device), sum.dtype()));
}

// Each collective is started on the transport (its thread moves the data)
// and finished when its result is needed: a graph's executor starts it and
// runs the nodes after it meanwhile (OpDef::start); the kernel does both at
// once. In a world of one, a copy.
template <typename Begin>
FinishFn start_collective(const KernelContext& c, Begin begin) {
  Transport* t = group_of(c);
  if (!t) return [out = c.inputs[0].clone()] { return std::vector<Tensor>{out}; };
  collective::Pending pending = begin(*t, c.inputs[0]);
  const bool mean = c.attrs.has("final_op") && c.attrs.get<std::string>("final_op") == "Div";
  return [pending = std::move(pending), mean, ranks = static_cast<int64_t>(t->size()), device = c.device]() mutable {
    return std::vector<Tensor>{finish_mean(mean, pending.wait(), ranks, device)};
  };
}

FinishFn all_reduce_start(const KernelContext& c) {
  return start_collective(c, [&](Transport& t, const Tensor& x) {
    return t.all_reduce(x, reduction_of(c), call_of(c, "all_reduce"));
  });
}

FinishFn broadcast_start(const KernelContext& c) {
  return start_collective(c, [&](Transport& t, const Tensor& x) {
    return t.broadcast(x, static_cast<int>(c.attrs.get<int64_t>("root")), call_of(c, "broadcast"));
  });
}

FinishFn all_gather_start(const KernelContext& c) {
  return start_collective(c, [&](Transport& t, const Tensor& x) { return t.all_gather(x, call_of(c, "all_gather")); });
}

FinishFn reduce_scatter_start(const KernelContext& c) {
  return start_collective(c, [&](Transport& t, const Tensor& x) {
    return t.reduce_scatter(x, reduction_of(c), call_of(c, "reduce_scatter"));
  });
}

template <StartFn Start>
void run_now(KernelContext& c) {
  c.outputs[0] = Start(c)()[0];
}

[[maybe_unused]] const bool started = [] {
  register_start(op_name::CollectiveReduceV2, all_reduce_start);
  register_start(op_name::CollectiveBroadcast, broadcast_start);
  register_start(op_name::CollectiveGatherV2, all_gather_start);
  register_start(op_name::CollectiveReduceScatterV2, reduce_scatter_start);
  return true;
}();

}  // namespace

EMBER_REGISTER_EVERYWHERE(op_name::CollectiveReduceV2, run_now<all_reduce_start>);
EMBER_REGISTER_EVERYWHERE(op_name::CollectiveBroadcast, run_now<broadcast_start>);
EMBER_REGISTER_EVERYWHERE(op_name::CollectiveGatherV2, run_now<all_gather_start>);
EMBER_REGISTER_EVERYWHERE(op_name::CollectiveReduceScatterV2, run_now<reduce_scatter_start>);

}  // namespace ember::kernels
