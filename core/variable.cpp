#include "core/variable.h"

#include "core/context.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"

namespace ember {

Variable::Variable(const Tensor& initial_value, VariableOptions options) {
  EMBER_CHECK(initial_value.defined(), InvalidArgument,
              "[Variable] the initial value is undefined");
  // Inside a traced function the tracer decides whether a variable may be
  // made now, and computes a symbolic initial value outside the graph.
  Context& ctx = context();
  if (ctx.tracer) {
    Tensor lifted = ctx.tracer->variable_created(initial_value);
    InitScope eager;
    *this = Variable(lifted, std::move(options));
    return;
  }
  EMBER_CHECK(!initial_value.is_symbolic(), InvalidArgument,
              "[Variable] the initial value is a symbolic tensor of a function traced on another thread");
  // As tf.Variable: an explicit device scope places the variable; otherwise
  // it lives where its initial value does.
  Device device = ctx.has_device_scope ? ctx.device_scope : initial_value.device();
  const std::string name = current_name_scope() + options.name + ":0";
  Tensor value = initial_value;
  if (ctx.initial_value_hook) value = ctx.initial_value_hook(initial_value, name);
  state_ = std::make_shared<VariableState>();
  state_->set_value(device == value.device() ? value.clone() : value.to(device));
  state_->dtype = initial_value.dtype();
  state_->shape = initial_value.shape();
  state_->name = name;
  state_->trainable = options.trainable;
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = resource;
  impl->device = device;
  impl->resource = state_;
  handle_ = Tensor(std::move(impl));
}

const VariableState& Variable::state() const {
  EMBER_CHECK(state_ != nullptr, FailedPrecondition,
              "[Variable] the variable is undefined (never created)");
  return *state_;
}

Tensor Variable::read_value() const {
  state();
  return execute1(EMBER_OP(op_name::ReadVariableOp), {handle_}, {{"dtype", state_->dtype}});
}

Variable& Variable::assign(const Tensor& value) {
  state();
  execute(EMBER_OP(op_name::AssignVariableOp), {handle_, value});
  return *this;
}
Variable& Variable::assign_add(const Tensor& delta) {
  state();
  execute(EMBER_OP(op_name::AssignAddVariableOp), {handle_, delta});
  return *this;
}
Variable& Variable::assign_sub(const Tensor& delta) {
  state();
  execute(EMBER_OP(op_name::AssignSubVariableOp), {handle_, delta});
  return *this;
}

Variable Variable::from_handle(const Tensor& handle) {
  auto s = std::dynamic_pointer_cast<VariableState>(handle.impl()->resource);
  EMBER_CHECK(s != nullptr, InvalidArgument, "[Variable] not a variable handle");
  Variable v;
  v.state_ = std::move(s);
  v.handle_ = handle;
  return v;
}

std::string Variable::to_string() const {
  if (!defined()) return "<ember.Variable undefined>";
  Tensor v = state_->value();
  return "<ember.Variable '" + state_->name + "' shape=" + state_->shape.to_string() +
         " dtype=" + std::string(dtype_name(state_->dtype)) + ", numpy=" + format_values(v) + ">";
}

std::ostream& operator<<(std::ostream& os, const Variable& v) { return os << v.to_string(); }

}  // namespace ember
