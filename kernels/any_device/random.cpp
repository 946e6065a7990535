// The stateless draws' kernels, written once for every device: the seed
// is read on the host and the draw is ember's own stateless one (the
// RandomUniform, RandomStandardNormal or TruncatedNormal kernel of this
// device, from the seed's stream; for a categorical draw, its Multinomial), so a seed
// known only when a traced function runs gives the numbers an eager
// random::stateless_uniform of the same seed gives.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember::kernels {
namespace {

// StatelessRandomUniform, StatelessRandomNormal, StatelessTruncatedNormal.
template <Tensor (*draw)(const TensorShape&, std::array<int64_t, 2>, double, double, DType)>
void stateless_draw_kernel(KernelContext& c) {
  std::vector<int64_t> seed = c.inputs[0].index_values();
  c.outputs[0] = draw(TensorShape(c.attrs.get<std::vector<int64_t>>("shape")), {seed[0], seed[1]}, 0, 1,
                      c.attrs.get<DType>("dtype"));
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

EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomUniform, stateless_draw_kernel<random::stateless_uniform>);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomNormal, stateless_draw_kernel<random::stateless_normal>);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessTruncatedNormal, stateless_draw_kernel<random::stateless_truncated_normal>);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessMultinomial, stateless_multinomial_kernel);

}  // namespace ember::kernels
