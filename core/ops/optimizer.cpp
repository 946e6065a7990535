// The optimizer updates: TensorFlow's fused training ops, each updating a
// variable and its slot variables in place from a gradient and scalar
// hyper-parameters, in TensorFlow's input order (the variable, the slots,
// then scalars and the gradient; the math is kernels/optimizers.h).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/infer_util.h"
#include "core/variable.h"

namespace ember {
namespace {

VariableState* state_at(const InferContext& c, int i) {
  auto* s = dynamic_cast<VariableState*>(c.inputs[static_cast<size_t>(i)].impl()->resource.get());
  if (!s) c.fail("input ", i, " is a resource that is not a variable");
  return s;
}

// Inputs [0, slots] are the variable and its slots: distinct variables of one
// floating dtype and shape on one device; `grad` has the variable's dtype and
// shape; every other input is a scalar of that dtype.
void infer_update(InferContext& c, int slots, int grad) {
  const VariableState* var = state_at(c, 0);
  if (!is_floating(var->dtype))
    c.fail("variable '", var->name, "' is ", dtype_name(var->dtype), "; the update takes a floating dtype");
  for (int i = 1; i <= slots; ++i) {
    const VariableState* s = state_at(c, i);
    for (int j = 0; j < i; ++j)
      if (state_at(c, j) == s) c.fail("inputs ", j, " and ", i, " are the same variable");
    if (s->dtype != var->dtype || s->shape != var->shape)
      c.fail("slot '", s->name, "' is ", dtype_name(s->dtype), s->shape.to_debug_string(),
             ", its variable '", var->name, "' ", dtype_name(var->dtype),
             var->shape.to_debug_string());
    if (!(c.inputs[static_cast<size_t>(i)].device() == c.inputs[0].device()))
      c.fail("slot '", s->name, "' is on ", c.inputs[static_cast<size_t>(i)].device().to_string(),
             ", its variable '", var->name, "' on ", c.inputs[0].device().to_string());
  }
  for (int i = slots + 1; i < static_cast<int>(c.inputs.size()); ++i) {
    const Tensor& t = c.inputs[static_cast<size_t>(i)];
    if (t.dtype() != var->dtype)
      c.fail("input ", i, " is ", dtype_name(t.dtype()), ", the variable '", var->name, "' ",
             dtype_name(var->dtype));
    if (i == grad) {
      if (!t.shape().is_compatible_with(var->shape))
        c.fail("the gradient has shape ", t.shape().to_debug_string(), ", the variable '",
               var->name, "' ", var->shape.to_debug_string());
    } else if (t.shape().rank() != 0) {
      c.fail("input ", i, " must be a scalar, got shape ", t.shape().to_debug_string());
    }
  }
}

template <int kSlots, int kGrad>
void infer(InferContext& c) {
  infer_update(c, kSlots, kGrad);
}

// ResourceApplyGradientDescent(var, alpha, delta): var -= alpha·delta.
EMBER_DEFINE_OP(op_name::ResourceApplyGradientDescent).takes_resource(1).inputs(3)
    .api("optimizers::SGD").set_infer(infer<0, 2>).set_stateful().not_differentiable().tf_type("T", dtype_of_input(1)).tf_fixed("use_locking", false);
// ResourceApplyKerasMomentum(var, accum, lr, grad, momentum).
EMBER_DEFINE_OP(op_name::ResourceApplyKerasMomentum).takes_resource(2).inputs(5)
    .attr("use_nesterov", AttrKind::Bool)
    .api("optimizers::SGD").set_infer(infer<1, 3>).set_stateful().not_differentiable().tf_type("T", dtype_of_input(2)).tf_fixed("use_locking", false);
// ResourceApplyAdam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad).
EMBER_DEFINE_OP(op_name::ResourceApplyAdam).takes_resource(3).inputs(10)
    .attr("use_nesterov", AttrKind::Bool)
    .api("optimizers::Adam").set_infer(infer<2, 9>).set_stateful().not_differentiable().tf_type("T", dtype_of_input(3)).tf_fixed("use_locking", false);
// ResourceApplyRMSProp(var, ms, mom, lr, rho, momentum, epsilon, grad).
EMBER_DEFINE_OP(op_name::ResourceApplyRMSProp).takes_resource(3).inputs(8)
    .api("optimizers::RMSprop").set_infer(infer<2, 7>).set_stateful().not_differentiable().tf_type("T", dtype_of_input(3)).tf_fixed("use_locking", false);
// ResourceApplyCenteredRMSProp(var, mg, ms, mom, lr, rho, momentum, epsilon, grad).
EMBER_DEFINE_OP(op_name::ResourceApplyCenteredRMSProp).takes_resource(4).inputs(9)
    .api("optimizers::RMSprop").set_infer(infer<3, 8>).set_stateful().not_differentiable().tf_type("T", dtype_of_input(4)).tf_fixed("use_locking", false);
// ResourceApplyAdagradV2(var, accum, lr, epsilon, grad).
EMBER_DEFINE_OP(op_name::ResourceApplyAdagradV2).takes_resource(2).inputs(5)
    .attr("update_slots", AttrKind::Bool)
    .api("optimizers::Adagrad").set_infer(infer<1, 4>).set_stateful().not_differentiable().tf_type("T", dtype_of_input(2)).tf_fixed("use_locking", false);

}  // namespace
}  // namespace ember
