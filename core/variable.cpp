#include "core/variable.h"

#include "core/context.h"
#include "core/op.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"

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
  if (c.op.name != "AssignVariableOp" && !is_computable(s.dtype))
    c.fail("unsupported dtype ", dtype_name(s.dtype));
  if (c.op.name != "AssignVariableOp" && s.dtype == bool_) c.fail("cannot add to a bool variable");
}

EMBER_DEFINE_OP("ReadVariableOp").takes_resource().inputs(1).attr("dtype", AttrKind::Type)
    .api("Variable::read_value")
    .set_infer(infer_read)
    .set_allocates_outputs();
EMBER_DEFINE_OP("AssignVariableOp").takes_resource().inputs(2)
    .api("Variable::assign")
    .set_infer(infer_assign)
    .set_stateful()
    .not_differentiable();
EMBER_DEFINE_OP("AssignAddVariableOp").takes_resource().inputs(2)
    .api("Variable::assign_add")
    .set_infer(infer_assign)
    .set_stateful()
    .not_differentiable();
EMBER_DEFINE_OP("AssignSubVariableOp").takes_resource().inputs(2)
    .api("Variable::assign_sub")
    .set_infer(infer_assign)
    .set_stateful()
    .not_differentiable();

}  // namespace

Variable::Variable(const Tensor& initial_value, VariableOptions options) {
  EMBER_CHECK(initial_value.defined(), InvalidArgument,
              "[Variable] the initial value is undefined");
  EMBER_CHECK(!initial_value.is_symbolic(), Unimplemented,
              "[Variable] creating a variable from a symbolic tensor (inside a traced function)");
  // As tf.Variable: an explicit device scope places the variable; otherwise
  // it lives where its initial value does.
  const Context& ctx = context();
  Device device = ctx.has_device_scope ? ctx.device_scope : initial_value.device();
  state_ = std::make_shared<VariableState>();
  state_->value =
      device == initial_value.device() ? initial_value.clone() : initial_value.to(device);
  state_->dtype = initial_value.dtype();
  state_->shape = initial_value.shape();
  state_->name = current_name_scope() + options.name + ":0";
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
  return execute1(EMBER_OP("ReadVariableOp"), {handle_}, {{"dtype", state_->dtype}});
}

Variable& Variable::assign(const Tensor& value) {
  state();
  execute(EMBER_OP("AssignVariableOp"), {handle_, value});
  return *this;
}
Variable& Variable::assign_add(const Tensor& delta) {
  state();
  execute(EMBER_OP("AssignAddVariableOp"), {handle_, delta});
  return *this;
}
Variable& Variable::assign_sub(const Tensor& delta) {
  state();
  execute(EMBER_OP("AssignSubVariableOp"), {handle_, delta});
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
  Tensor v = state_->value;
  return "<ember.Variable '" + state_->name + "' shape=" + state_->shape.to_string() +
         " dtype=" + std::string(dtype_name(state_->dtype)) + ", numpy=" + format_values(v) + ">";
}

std::ostream& operator<<(std::ostream& os, const Variable& v) { return os << v.to_string(); }

}  // namespace ember
