// Gradients of the control-flow ops. If: an If on the same condition over
// the branches' gradient functions (each branch's FunctionBody::gradient, a
// traced function of its inputs and output gradients that recomputes the
// branch under a tape), so only the taken branch's gradient runs. A
// branch with a stateful op would run it again: refused. While: the loop
// run again under a tape (below); TensorFlow's accumulators of the forward
// loop's intermediates are not built, so not inside a trace.
#include "core/ops/grad_util.h"
#include "autograd/tape.h"

namespace ember::autograd {
namespace {

Grads if_grad(const GradContext& c) {
  const FunctionRef& then_f = c.attrs.get<FunctionRef>("then_branch");
  const FunctionRef& else_f = c.attrs.get<FunctionRef>("else_branch");
  for (const FunctionRef& f : {then_f, else_f})
    EMBER_CHECK(!f->stateful(), Unimplemented, "[cond] the gradient of a branch that runs a stateful op (",
                f->name(), ") would run it again: not supported");
  std::span<const Tensor> args = c.inputs.subspan(1);
  std::vector<Tensor> in(c.inputs.begin(), c.inputs.end());
  for (size_t k = 0; k < c.output_grads.size(); ++k)
    in.push_back(c.output_grads[k].defined() ? c.output_grads[k] : zeros_gradient(c.outputs[k]));
  std::vector<Tensor> g = execute(op_def(op_name::StatelessIf), in,
                                  {{"then_branch", then_f->gradient(args)}, {"else_branch", else_f->gradient(args)}});
  Grads out{kNone};
  for (size_t i = 0; i < args.size(); ++i) {
    DType t = args[i].dtype();
    out.push_back(is_differentiable(t) || t == resource ? g[i] : kNone);
  }
  return out;
}

GRAD(op_name::StatelessIf, kGradUsesAll) { return if_grad(c); } END_GRAD;

// A call's gradient: a call of the function's gradient function (a traced
// function of its inputs and output gradients that recomputes it under a tape).
Grads call_grad(const GradContext& c) {
  const FunctionRef& f = c.attrs.get<FunctionRef>("f");
  EMBER_CHECK(!f->stateful(), Unimplemented, "[function call] the gradient of a function that runs a stateful op (",
              f->name(), ") would run it again: not supported");
  std::vector<Tensor> in(c.inputs.begin(), c.inputs.end());
  for (size_t k = 0; k < c.output_grads.size(); ++k)
    in.push_back(c.output_grads[k].defined() ? c.output_grads[k] : zeros_gradient(c.outputs[k]));
  std::vector<Tensor> g = execute(op_def(op_name::PartitionedCall), in, {{"f", f->gradient(c.inputs)}});
  Grads out;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    DType t = c.inputs[i].dtype();
    out.push_back(is_differentiable(t) || t == resource ? g[i] : kNone);
  }
  return out;
}
GRAD(op_name::PartitionedCall, kGradUsesAll) { return call_grad(c); } END_GRAD;
GRAD(op_name::StatefulPartitionedCall, kGradUsesAll) { return call_grad(c); } END_GRAD;
GRAD(op_name::If, kGradUsesAll) { return if_grad(c); } END_GRAD;

// A While op an eager tape recorded with concrete inputs (one run through
// the dispatch point under a tape; a traced function's call is recorded as
// one op instead, whose backward traces the loop's gradient): the loop is
// run again from its inputs under a tape of its own, each body call
// recorded as one op with a traced backward, and that tape gives the
// gradient. Inside a trace, or with a tape recording the gradient (a second
// derivative), the gradient is built of ops: loop_gradient()
// (graph/control_flow.cpp). Either way, a loop whose condition or body is
// stateful is refused: both would run it again.
Grads while_grad(const GradContext& c) {
  for (const char* name : {"cond", "body"}) {
    const FunctionRef& f = c.attrs.get<FunctionRef>(name);
    EMBER_CHECK(!f->stateful(), Unimplemented, "[while_loop] the gradient of a loop that runs a stateful op (in ",
                f->name(), ") would run it again: not supported");
  }
  bool symbolic = false;
  for (const Tensor& t : c.inputs) symbolic = symbolic || t.is_symbolic();
  if (symbolic || any_tape_recording()) {
    LoopGradientFn fn = loop_gradient();
    EMBER_CHECK(fn != nullptr, Internal, "[while_loop] no loop gradient is installed");
    return fn(c);
  }
  const FunctionRef& cond = c.attrs.get<FunctionRef>("cond");
  const FunctionRef& body = c.attrs.get<FunctionRef>("body");
  TapeIsolation isolation;
  GradientTape tape({.persistent = false, .watch_accessed_variables = false});
  std::vector<Source> sources;
  std::vector<int> source_of = watch_differentiable(tape, c.inputs, sources);
  std::vector<Tensor> vars(c.inputs.begin(), c.inputs.end());
  while (cond->call(vars)[0].to(Device::cpu()).item<bool>()) vars = body->call(vars);
  std::vector<Tensor> targets, seeds;
  for (size_t k = 0; k < vars.size(); ++k)
    if (is_differentiable(vars[k].dtype()) && c.output_grads[k].defined()) {
      targets.push_back(vars[k]);
      seeds.push_back(c.output_grads[k]);
    }
  std::vector<Tensor> g = tape.gradient(targets, sources, seeds);
  Grads out(c.inputs.size());
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (source_of[i] >= 0) out[i] = g[static_cast<size_t>(source_of[i])];
  return out;
}
GRAD(op_name::StatelessWhile, kGradUsesAll) { return while_grad(c); } END_GRAD;
GRAD(op_name::While, kGradUsesAll) { return while_grad(c); } END_GRAD;

}  // namespace
}  // namespace ember::autograd
