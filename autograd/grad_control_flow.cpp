// Gradients of the control-flow ops. If: an If on the same condition over
// the branches' gradient functions (each branch's FunctionBody::gradient, a
// traced function of its inputs and output gradients that recomputes the
// branch under a tape), so only the taken branch's gradient runs. A
// branch with a stateful op would run it again: refused. While: not yet
// (TensorFlow's accumulators of the forward loop's intermediates are not
// built); an eager loop differentiates as its ops.
#include "autograd/grad_util.h"

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
    in.push_back(c.output_grads[k].defined() ? c.output_grads[k] : zeros_like(c.outputs[k]));
  std::vector<Tensor> g = execute(op_def(op_name::StatelessIf), in,
                                  {{"then_branch", then_f->gradient(args)}, {"else_branch", else_f->gradient(args)}});
  Grads out{kNone};
  for (size_t i = 0; i < args.size(); ++i) {
    DType t = args[i].dtype();
    bool differentiable = t == float32 || t == float64 || t == float16 || t == bfloat16 || t == resource;
    out.push_back(differentiable ? g[i] : kNone);
  }
  return out;
}

GRAD(op_name::StatelessIf, kGradUsesAll) { return if_grad(c); } END_GRAD;
GRAD(op_name::If, kGradUsesAll) { return if_grad(c); } END_GRAD;

Grads while_grad(const GradContext&) {
  throw Unimplemented(
      "[while_loop] gradients through a traced while_loop are not supported yet (the forward loop's "
      "intermediates are not accumulated): differentiate the loop eagerly, or unroll it");
}
GRAD(op_name::StatelessWhile, kGradUsesNothing) { return while_grad(c); } END_GRAD;
GRAD(op_name::While, kGradUsesNothing) { return while_grad(c); } END_GRAD;

}  // namespace
}  // namespace ember::autograd
