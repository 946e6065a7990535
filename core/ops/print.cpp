// The print family: Print (TensorFlow's v1 op: `input` passed through, `data`
// printed after `message`). Kernels: kernels/any_device/print.cpp.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"

namespace ember {
namespace {

void infer_print(InferContext& c) {
  if (c.attrs.get<int64_t>("first_n") != -1) c.fail("first_n other than -1 is not supported");
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

EMBER_DEFINE_OP(op_name::Print).variadic_inputs(1)
    .attr("message", AttrKind::String).attr("first_n", AttrKind::Int).attr("summarize", AttrKind::Int)
    .api("print")
    .set_infer(infer_print)
    .set_stateful()
    .set_allocates_outputs()
    .not_differentiable().tf_list("U", TfListOf::InputTypes, 1);

}  // namespace

void print(const std::vector<Tensor>& tensors, const std::string& message, int64_t summarize) {
  ApiScope api("print");
  std::vector<Tensor> inputs;
  inputs.reserve(tensors.size() + 1);
  inputs.push_back(tensors.empty() ? constant(0.0f) : tensors[0]);  // the passed-through input
  inputs.insert(inputs.end(), tensors.begin(), tensors.end());
  execute(EMBER_OP(op_name::Print), inputs,
          {{"message", message}, {"first_n", int64_t{-1}}, {"summarize", summarize}});
}

}  // namespace ember
