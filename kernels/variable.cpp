// Kernels of the variable ops. They move handles, not elements, so one
// implementation serves every device: a read aliases the current buffer, and
// an assignment replaces it (the new value is computed by ordinary ops on the
// variable's device), so a value read earlier never changes.
#include "core/op.h"
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

void assign_variable(KernelContext& c) {
  state_of(c).set_value(c.inputs[1]);  // the dispatch point moved it to the variable's device
}

void assign_add_variable(KernelContext& c) {
  state_of(c).update([&](const Tensor& v) { return add(v, c.inputs[1]); });
}

void assign_sub_variable(KernelContext& c) {
  state_of(c).update([&](const Tensor& v) { return sub(v, c.inputs[1]); });
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
