// StatelessRandomUniform's kernel, written once for every device: the seed
// is read on the host and the draw is ember's own stateless one (the
// RandomUniform kernel of this device, from the seed's stream), so a seed
// known only when a traced function runs gives the numbers an eager
// random::stateless_uniform of the same seed gives.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/random.h"

namespace ember::kernels {
namespace {

void stateless_uniform_kernel(KernelContext& c) {
  std::vector<int64_t> seed = c.inputs[0].index_values();
  c.outputs[0] = random::stateless_uniform(TensorShape(c.attrs.get<std::vector<int64_t>>("shape")), {seed[0], seed[1]},
                                           0, 1, c.attrs.get<DType>("dtype"));
}

}  // namespace

EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomUniform, stateless_uniform_kernel);

}  // namespace ember::kernels
