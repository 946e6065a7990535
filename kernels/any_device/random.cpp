// StatelessRandomUniform's and StatelessMultinomial's kernels, written once for every device: the seed
// is read on the host and the draw is ember's own stateless one (the
// RandomUniform kernel of this device, from the seed's stream), so a seed
// known only when a traced function runs gives the numbers an eager
// random::stateless_uniform of the same seed gives.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember::kernels {
namespace {

void stateless_uniform_kernel(KernelContext& c) {
  std::vector<int64_t> seed = c.inputs[0].index_values();
  c.outputs[0] = random::stateless_uniform(TensorShape(c.attrs.get<std::vector<int64_t>>("shape")), {seed[0], seed[1]},
                                           0, 1, c.attrs.get<DType>("dtype"));
}

// StatelessMultinomial: this device's Multinomial kernel on the seed's stream.
void stateless_multinomial_kernel(KernelContext& c) {
  std::vector<int64_t> seed = c.inputs[1].index_values();
  const philox::Stream s = random::stateless_stream({seed[0], seed[1]});
  c.outputs[0] = execute1(EMBER_OP(op_name::Multinomial), {c.inputs[0]},
                          {{"num_samples", c.attrs.get<int64_t>("num_samples")},
                           {"output_dtype", c.attrs.get<DType>("output_dtype")},
                           {"seed", static_cast<int64_t>(s.key)},
                           {"seed2", static_cast<int64_t>(s.hi)},
                           {"offset", static_cast<int64_t>(s.lo)}});
}

}  // namespace

EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomUniform, stateless_uniform_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessMultinomial, stateless_multinomial_kernel);

}  // namespace ember::kernels
