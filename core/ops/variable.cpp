// The variable ops: ReadVariableOp and the assignments, on a resource handle
// whose TensorImpl::resource is the VariableState (core/variable.h). Their
// kernels move buffers, not elements (kernels/any_device/variable.cpp).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/infer_util.h"
#include "core/variable.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

VariableState& state_of(const InferContext& c) {
  const Tensor& h = c.inputs[0];
  if (h.dtype() != resource || !h.impl()->resource)
    c.fail("expected a variable handle, got ", dtype_name(h.dtype()));
  auto* s = dynamic_cast<VariableState*>(h.impl()->resource.get());
  if (!s) c.fail("the resource is not a variable");
  return *s;
}

void infer_read(InferContext& c) {
  VariableState& s = state_of(c);
  c.outputs.push_back({s.dtype, s.shape});
}

void infer_assign(InferContext& c) {
  VariableState& s = state_of(c);
  const Tensor& v = c.inputs[1];
  if (v.dtype() != s.dtype)
    c.fail("variable '", s.name, "' is ", dtype_name(s.dtype), ", the value is ",
           dtype_name(v.dtype()));
  if (!v.shape().is_compatible_with(s.shape))
    c.fail("variable '", s.name, "' has shape ", s.shape.to_debug_string(),
           ", the value has shape ", v.shape().to_debug_string());
  if (c.op.name != op_name::AssignVariableOp && !is_computable(s.dtype))
    c.fail("unsupported dtype ", dtype_name(s.dtype));
  if (c.op.name != op_name::AssignVariableOp && s.dtype == bool_) c.fail("cannot add to a bool variable");
}

EMBER_DEFINE_OP(op_name::ReadVariableOp).takes_resource().inputs(1).attr("dtype", AttrKind::Type)
    .api("Variable::read_value")
    .set_infer(infer_read)
    .set_allocates_outputs()
    .set_reads_variables().tf_outputs({"value"}).tf_no_t();
EMBER_DEFINE_OP(op_name::AssignVariableOp).takes_resource().inputs(2)
    .api("Variable::assign")
    .set_infer(infer_assign)
    .set_stateful()
    .not_differentiable().tf_type("dtype", dtype_of_input(1)).tf_no_t();
EMBER_DEFINE_OP(op_name::AssignAddVariableOp).takes_resource().inputs(2)
    .api("Variable::assign_add")
    .set_infer(infer_assign)
    .set_stateful()
    .not_differentiable().tf_type("dtype", dtype_of_input(1)).tf_no_t();
EMBER_DEFINE_OP(op_name::AssignSubVariableOp).takes_resource().inputs(2)
    .api("Variable::assign_sub")
    .set_infer(infer_assign)
    .set_stateful()
    .not_differentiable().tf_type("dtype", dtype_of_input(1)).tf_no_t();

}  // namespace

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the variable ops.
namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::ReadVariableOp, kGradUsesNothing) { return {c.grad()}; } END_GRAD;  // flows to the variable's handle
// clang-format on

}  // namespace
}  // namespace ember::autograd
