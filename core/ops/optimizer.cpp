// The optimizer updates: TensorFlow's fused training ops, each updating a
// variable and its slot variables in place from a gradient and scalar
// hyper-parameters, in TensorFlow's input order (the variable, the slots,
// then scalars and the gradient; the math is kernels/optimizers.h).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
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
// shape; every other input is a scalar of that dtype. With `rows`, the
// gradient is given as rows (IndexedSlices): values [n, var.shape[1:]...] at
// `grad`, and the last input their row numbers, int32 or int64 [n].
void infer_update(InferContext& c, int slots, int grad, bool rows) {
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
  const int scalars_end = static_cast<int>(c.inputs.size()) - (rows ? 1 : 0);
  for (int i = slots + 1; i < scalars_end; ++i) {
    const Tensor& t = c.inputs[static_cast<size_t>(i)];
    if (t.dtype() != var->dtype)
      c.fail("input ", i, " is ", dtype_name(t.dtype()), ", the variable '", var->name, "' ",
             dtype_name(var->dtype));
    if (i != grad && t.shape().rank() != 0)
      c.fail("input ", i, " must be a scalar, got shape ", t.shape().to_debug_string());
  }
  const TensorShape& g = c.inputs[static_cast<size_t>(grad)].shape();
  if (!rows) {
    if (!g.is_compatible_with(var->shape))
      c.fail("the gradient has shape ", g.to_debug_string(), ", the variable '", var->name, "' ",
             var->shape.to_debug_string());
    return;
  }
  const Tensor& indices = c.inputs.back();
  if (c.attrs.get<int64_t>("num_rows") != (var->shape.rank() >= 1 ? var->shape.dim(0) : -1))
    c.fail("num_rows is ", c.attrs.get<int64_t>("num_rows"), ", the variable '", var->name, "' ",
           var->shape.to_debug_string());
  if (indices.dtype() != int32 && indices.dtype() != int64)
    c.fail("the gradient's row numbers are ", dtype_name(indices.dtype()), "; int32 or int64 expected");
  const TensorShape& is = indices.shape();
  if (var->shape.rank() < 1) c.fail("variable '", var->name, "' is a scalar: it has no rows");
  std::vector<int64_t> want{is.rank_known() && is.rank() == 1 ? is.dim(0) : TensorShape::kUnknown};
  for (int i = 1; i < var->shape.rank(); ++i) want.push_back(var->shape.dim(i));
  if ((is.rank_known() && is.rank() != 1) || !g.is_compatible_with(TensorShape(want)))
    c.fail("the gradient's rows have shape ", g.to_debug_string(), " and row numbers ",
           is.to_debug_string(), "; the variable '", var->name, "' ", var->shape.to_debug_string(),
           " takes rows ", TensorShape(want).to_debug_string(), " and row numbers [n]");
}

template <int kSlots, int kGrad>
void infer(InferContext& c) {
  infer_update(c, kSlots, kGrad, false);
}
template <int kSlots, int kGrad>
void infer_rows(InferContext& c) {
  infer_update(c, kSlots, kGrad, true);
}

// The update from rows, for TensorFlow (which has no such op): the dense
// gradient made from the rows (UnsortedSegmentSum into num_rows rows), then
// the dense update `Dense`.
template <const char* Dense, int kGrad>
std::vector<Tensor> rows_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  std::vector<Tensor> dense(in.begin(), in.end() - 1);
  dense[kGrad] = unsorted_segment_sum(in[kGrad], in.back(), attrs.get<int64_t>("num_rows"));
  Attrs dense_attrs = attrs;
  dense_attrs.erase("num_rows");
  return execute(op_def(Dense), dense, dense_attrs);
}

// A fused update taking its gradient as rows (IndexedSlices): `Dense`'s
// inputs with values in the gradient's place and the row numbers last, and
// its attributes with num_rows (the variable's first dimension). The
// same update as `Dense` with the dense gradient (rows named twice summed,
// in order, as the dense gradient sums them), without making it.
template <const char* Dense, int kSlots, int kGrad>
void define_rows_update(std::string_view name) {
  const OpDef& dense = op_def(Dense);
  OpDef& d = define_op(name).takes_resource(kSlots + 1).inputs(static_cast<int>(dense.num_inputs) + 1)
                 .api(dense.api_name).set_infer(infer_rows<kSlots, kGrad>).set_stateful().not_differentiable()
                 .tf_composite(rows_decomposition<Dense, kGrad>);
  for (const AttrDecl& a : dense.attr_decls) d.attr(a.name, a.kind);
  d.attr("num_rows", AttrKind::Int);
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

// Each update with its gradient as rows (after the dense ones it copies).
[[maybe_unused]] const bool rows_updates_defined = [] {
  using namespace op_name;
  define_rows_update<ResourceApplyGradientDescent, 0, 2>(ResourceApplyGradientDescentRows);
  define_rows_update<ResourceApplyKerasMomentum, 1, 3>(ResourceApplyKerasMomentumRows);
  define_rows_update<ResourceApplyAdam, 2, 9>(ResourceApplyAdamRows);
  define_rows_update<ResourceApplyRMSProp, 2, 7>(ResourceApplyRMSPropRows);
  define_rows_update<ResourceApplyCenteredRMSProp, 3, 8>(ResourceApplyCenteredRMSPropRows);
  define_rows_update<ResourceApplyAdagradV2, 1, 4>(ResourceApplyAdagradV2Rows);
  return true;
}();

}  // namespace
}  // namespace ember
