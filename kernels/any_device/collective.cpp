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
Tensor finish(const KernelContext& c, Tensor sum, int64_t ranks) {
  if (c.attrs.get<std::string>("final_op") != "Div" || ranks == 1) return sum;
  return div(sum, cast(constant(static_cast<double>(ranks), c.device), sum.dtype()));
}

// In a world of one, a copy; else what `start` starts on the transport.
template <typename Start>
void run_collective(KernelContext& c, Start start) {
  Transport* t = group_of(c);
  c.outputs[0] = t ? start(*t, c.inputs[0]) : c.inputs[0].clone();
}

void all_reduce_kernel(KernelContext& c) {
  run_collective(c, [&](Transport& t, const Tensor& x) {
    return finish(c, t.all_reduce(x, reduction_of(c), call_of(c, "all_reduce")).wait(), t.size());
  });
}

void broadcast_kernel(KernelContext& c) {
  run_collective(c, [&](Transport& t, const Tensor& x) {
    return t.broadcast(x, static_cast<int>(c.attrs.get<int64_t>("root")), call_of(c, "broadcast")).wait();
  });
}

void all_gather_kernel(KernelContext& c) {
  run_collective(c, [&](Transport& t, const Tensor& x) { return t.all_gather(x, call_of(c, "all_gather")).wait(); });
}

void reduce_scatter_kernel(KernelContext& c) {
  run_collective(c, [&](Transport& t, const Tensor& x) {
    return finish(c, t.reduce_scatter(x, reduction_of(c), call_of(c, "reduce_scatter")).wait(), t.size());
  });
}

}  // namespace

EMBER_REGISTER_EVERYWHERE(op_name::CollectiveReduceV2, all_reduce_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::CollectiveBroadcast, broadcast_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::CollectiveGatherV2, all_gather_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::CollectiveReduceScatterV2, reduce_scatter_kernel);

}  // namespace ember::kernels
