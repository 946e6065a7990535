// Kernels of the variable ops, one implementation for every device. A read
// aliases the current buffer. An assignment writes into that buffer when
// nothing else holds it (no read value alive), so the variable keeps its
// address (what a captured CUDA graph replays against, and no allocation
// per step); otherwise it installs a new buffer (copy on write), so a value
// read earlier never changes.
#include "core/allocator.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/variable.h"

namespace ember::kernels {
namespace {

VariableState& state_of(const KernelContext& c) {
  return static_cast<VariableState&>(*c.inputs[0].impl()->resource);
}

void read_variable(KernelContext& c) {
  c.outputs[0] = Tensor(TensorImpl::view_of(*state_of(c).value().impl()));
}

// Whether `current` may be overwritten with a value like `v`.
bool writable(const Tensor& current, const Tensor& v) {
  return current.defined() && current.buffer_is_exclusive() && current.dtype() == v.dtype() &&
         current.shape() == v.shape() && current.device() == v.device();
}

void assign_variable(KernelContext& c) {
  const Tensor& x = c.inputs[1];  // the dispatch point moved it to the variable's device
  state_of(c).update([&](const Tensor& current) {
    if (!writable(current, x) || current.impl() == x.impl()) return x;
    copy_bytes(current.raw_data(), current.device(), x.raw_data(), x.device(), x.nbytes());
    return current;
  });
}

// current op= x, into current's buffer when it may be written, else a new one.
void update_variable(KernelContext& c, const char* op, Tensor (*fallback)(const Tensor&, const Tensor&)) {
  const Tensor& x = c.inputs[1];
  state_of(c).update([&](const Tensor& current) {
    if (!writable(current, x)) return fallback(current, x);
    const OpDef& def = op_def(op);
    KernelFn kernel = def.kernels[static_cast<int>(current.device().kind())];
    if (!kernel) return fallback(current, x);
    Tensor in[2] = {current, x};
    Tensor out[1] = {current};
    OutputSpec spec{current.dtype(), current.shape()};
    Attrs none;
    KernelContext k{def, in, out, none, current.device(), std::span<const OutputSpec>(&spec, 1)};
    kernel(k);  // elementwise: each element is read before it is written
    return out[0];
  });
}

void assign_add_variable(KernelContext& c) {
  update_variable(c, op_name::AddV2, [](const Tensor& a, const Tensor& b) { return add(a, b); });
}

void assign_sub_variable(KernelContext& c) {
  update_variable(c, op_name::Sub, [](const Tensor& a, const Tensor& b) { return sub(a, b); });
}

EMBER_REGISTER_KERNEL(op_name::ReadVariableOp, CPU, read_variable);
EMBER_REGISTER_KERNEL(op_name::AssignVariableOp, CPU, assign_variable);
EMBER_REGISTER_KERNEL(op_name::AssignAddVariableOp, CPU, assign_add_variable);
EMBER_REGISTER_KERNEL(op_name::AssignSubVariableOp, CPU, assign_sub_variable);
EMBER_REGISTER_KERNEL(op_name::ReadVariableOp, CUDA, read_variable);
EMBER_REGISTER_KERNEL(op_name::AssignVariableOp, CUDA, assign_variable);
EMBER_REGISTER_KERNEL(op_name::AssignAddVariableOp, CUDA, assign_add_variable);
EMBER_REGISTER_KERNEL(op_name::AssignSubVariableOp, CUDA, assign_sub_variable);

}  // namespace
}  // namespace ember::kernels
