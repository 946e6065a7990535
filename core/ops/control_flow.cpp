// The control-flow ops, TensorFlow's functional ones: If/StatelessIf (inputs
// [cond, args...], attributes then_branch and else_branch),
// While/StatelessWhile (inputs the loop variables, attributes cond and
// body) and PartitionedCall/StatefulPartitionedCall (a call of the function
// `f`: a loaded model's function calling another, kept as one node so a
// library whose calls fan out is imported once per function), whose
// functions are traced ConcreteFunctions (core's FunctionBody).
// The stateful forms run a function with a stateful op, and keep program
// order. graph/control_flow.h builds them; kernels/any_device/control_flow.cpp runs them.
#include "core/op_registry.h"
#include "core/op_names.h"

namespace ember {
namespace {

const FunctionBody& function_attr(InferContext& c, const char* name) {
  const FunctionRef& f = c.attrs.get<FunctionRef>(name);
  if (!f) c.fail("attribute '", name, "' names no function");
  return *f;
}

// The arguments `args` must fit `f`'s inputs: count, dtypes, compatible shapes.
void check_inputs(InferContext& c, const FunctionBody& f, std::span<const Tensor> args) {
  std::vector<OutputSpec> want = f.input_specs();
  if (want.size() != args.size()) c.fail("function ", f.name(), " takes ", want.size(), " inputs, got ", args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].dtype() != want[i].dtype)
      c.fail("input ", i, " of ", f.name(), " is ", dtype_name(want[i].dtype), ", got ", dtype_name(args[i].dtype()));
    if (!args[i].shape().is_compatible_with(want[i].shape))
      c.fail("input ", i, " of ", f.name(), " has shape ", want[i].shape.to_string(), ", got ",
             args[i].shape().to_string());
  }
}

// The most specific shape both `a` and `b` fit.
TensorShape relax(const TensorShape& a, const TensorShape& b) {
  if (!a.rank_known() || !b.rank_known() || a.rank() != b.rank()) return TensorShape::unknown_rank();
  TensorShape r = a;
  for (int i = 0; i < a.rank(); ++i)
    if (a.dim(i) != b.dim(i)) r.set_dim(i, TensorShape::kUnknown);
  return r;
}

void infer_if(InferContext& c) {
  const FunctionBody& then_f = function_attr(c, "then_branch");
  const FunctionBody& else_f = function_attr(c, "else_branch");
  const Tensor& pred = c.inputs[0];
  if (pred.dtype() != bool_ || (pred.shape().rank_known() && pred.rank() != 0))
    c.fail("the condition must be a scalar bool tensor, got ", dtype_name(pred.dtype()), " ",
           pred.shape().to_string());
  std::span<const Tensor> args = c.inputs.subspan(1);
  check_inputs(c, then_f, args);
  check_inputs(c, else_f, args);
  std::vector<OutputSpec> a = then_f.output_specs(), b = else_f.output_specs();
  if (a.size() != b.size()) c.fail("the branches return ", a.size(), " and ", b.size(), " tensors");
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].dtype != b[i].dtype)
      c.fail("output ", i, " of the branches is ", dtype_name(a[i].dtype), " in one and ", dtype_name(b[i].dtype),
             " in the other");
    c.outputs.push_back({a[i].dtype, relax(a[i].shape, b[i].shape)});
  }
}

void infer_while(InferContext& c) {
  const FunctionBody& cond = function_attr(c, "cond");
  const FunctionBody& body = function_attr(c, "body");
  check_inputs(c, cond, c.inputs);
  check_inputs(c, body, c.inputs);
  std::vector<OutputSpec> out = cond.output_specs();
  if (out.size() != 1 || out[0].dtype != bool_ || (out[0].shape.rank_known() && out[0].shape.rank() != 0))
    c.fail("the condition ", cond.name(), " must return one scalar bool tensor");
  std::vector<OutputSpec> in = body.input_specs(), next = body.output_specs();
  if (next.size() != in.size()) c.fail("the body ", body.name(), " returns ", next.size(), " tensors for ", in.size(), " loop variables");
  for (size_t i = 0; i < in.size(); ++i) {
    if (next[i].dtype != in[i].dtype || !next[i].shape.is_compatible_with(in[i].shape))
      c.fail("loop variable ", i, " is ", dtype_name(in[i].dtype), " ", in[i].shape.to_string(), " before the body and ",
             dtype_name(next[i].dtype), " ", next[i].shape.to_string(), " after it");
    c.outputs.push_back(in[i]);  // the loop variables' invariants
  }
}

void infer_call(InferContext& c) {
  const FunctionBody& f = function_attr(c, "f");
  check_inputs(c, f, c.inputs);
  for (const OutputSpec& o : f.output_specs()) c.outputs.push_back(o);
}

void define_if(const char* name, bool stateful) {
  define_op(name).variadic_inputs(1).attr("then_branch", AttrKind::Func).attr("else_branch", AttrKind::Func)
      .api("cond").set_infer(infer_if).set_stateful(stateful).set_data_dependent_shapes().set_passes_resources()
      .tf_output_list("output").tf_type("Tcond", dtype_of_input(0)).tf_list("Tin", TfListOf::InputTypes, 1)
      .tf_list("Tout", TfListOf::OutputTypes).tf_list("output_shapes", TfListOf::OutputShapes);
}
void define_while(const char* name, bool stateful) {
  define_op(name).variadic_inputs(0).attr("cond", AttrKind::Func).attr("body", AttrKind::Func)
      .api("while_loop").set_infer(infer_while).set_stateful(stateful).set_data_dependent_shapes().set_passes_resources()
      .tf_output_list("output").tf_list("T", TfListOf::InputTypes).tf_list("output_shapes", TfListOf::OutputShapes)
      .tf_fixed("parallel_iterations", int64_t{10});
}

[[maybe_unused]] const bool defined = [] {
  define_if(op_name::If, true);
  define_if(op_name::StatelessIf, false);
  define_while(op_name::While, true);
  define_while(op_name::StatelessWhile, false);
  for (const char* call : {op_name::PartitionedCall, op_name::StatefulPartitionedCall})
    define_op(call).variadic_inputs(0).attr("f", AttrKind::Func).api("function call").set_infer(infer_call)
        .set_stateful(call == op_name::StatefulPartitionedCall).set_data_dependent_shapes().set_passes_resources()
        .tf_output_list("output").tf_list("Tin", TfListOf::InputTypes).tf_list("Tout", TfListOf::OutputTypes)
        .tf_fixed("config", std::string()).tf_fixed("config_proto", std::string()).tf_fixed("executor_type", std::string());
  return true;
}();

}  // namespace
}  // namespace ember
