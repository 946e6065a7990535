// Kernels of the logging ops. Printing reads values on the host (a GPU
// tensor is copied over, which waits for its stream), so one implementation
// serves every device.
#include <cstdio>
#include <string>

#include "core/op.h"
#include "core/op_names.h"

namespace ember::kernels {
namespace {

void print_kernel(KernelContext& c) {
  std::string line = c.attrs.get<std::string>("message");
  for (size_t i = 1; i < c.inputs.size(); ++i) {
    if (!line.empty()) line += ' ';
    line += format_values(c.inputs[i]);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  c.outputs[0] = Tensor(TensorImpl::view_of(*c.inputs[0].impl()));  // passed through
}

EMBER_REGISTER_KERNEL(op_name::Print, CPU, print_kernel);
EMBER_REGISTER_KERNEL(op_name::Print, CUDA, print_kernel);

}  // namespace
}  // namespace ember::kernels
