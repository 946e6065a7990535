// Kernels of the control-flow ops: they read the condition on the host (a
// GPU tensor is copied over, waiting for its stream) and call the traced
// functions, so one implementation serves every device.
#include "core/op_registry.h"
#include "core/op_names.h"

namespace ember::kernels {
namespace {

bool truth(const Tensor& t) { return t.to(Device::cpu()).item<bool>(); }

// The outputs, each a tensor of its own: a loop that ran no iteration, or a
// branch or body that returns an input, would hand back the input itself,
// and a tape (which keys tensors by identity) would take the output's
// gradient for the input's too.
void set_outputs(KernelContext& c, std::vector<Tensor>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    bool aliases = false;
    for (const Tensor& in : c.inputs) aliases = aliases || in.impl() == out[i].impl();
    c.outputs[i] = aliases ? Tensor(TensorImpl::view_of(*out[i].impl())) : std::move(out[i]);
  }
}

void if_kernel(KernelContext& c) {
  const FunctionRef& f = c.attrs.get<FunctionRef>(truth(c.inputs[0]) ? "then_branch" : "else_branch");
  std::vector<Tensor> out = f->call(c.inputs.subspan(1));
  set_outputs(c, out);
}

void while_kernel(KernelContext& c) {
  const FunctionRef& cond = c.attrs.get<FunctionRef>("cond");
  const FunctionRef& body = c.attrs.get<FunctionRef>("body");
  std::vector<Tensor> vars(c.inputs.begin(), c.inputs.end());
  if (!body->run_while(*cond, vars))
    while (truth(cond->call(vars)[0])) vars = body->call(vars);
  set_outputs(c, vars);
}

void call_kernel(KernelContext& c) {
  std::vector<Tensor> out = c.attrs.get<FunctionRef>("f")->call(c.inputs);
  set_outputs(c, out);
}

EMBER_REGISTER_EVERYWHERE(op_name::If, if_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::PartitionedCall, call_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StatefulPartitionedCall, call_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessIf, if_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::While, while_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessWhile, while_kernel);

}  // namespace
}  // namespace ember::kernels
