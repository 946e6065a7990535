// The stateless draws' kernels, written once for every device: the seed
// is read on the host and the draw is ember's own stateless one (the
// RandomUniform, RandomStandardNormal, TruncatedNormal, RandomUniformInt,
// RandomGamma or RandomPoissonV2 kernel of this device, from the seed's
// stream; for a categorical draw,
// its Multinomial), so a seed known only when a traced function runs gives
// the numbers an eager random::stateless_uniform of the same seed gives.
// tf.random.Generator's stateful draws run the same kernels on the stream
// in the generator's variable. And RandomShuffle's: its permutation drawn on
// the host, the rows gathered on the device; and the binomial's per-member parameters, made on
// the host for its kernels (samplers::binomial_params).
#include <limits>
#include <numeric>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/variable.h"
#include "kernels/samplers.h"

namespace ember::kernels {
namespace {

// StatelessRandomUniform, StatelessRandomNormal, StatelessTruncatedNormal.
template <Tensor (*draw)(const TensorShape&, std::array<int64_t, 2>, double, double, DType)>
void stateless_draw_kernel(KernelContext& c) {
  std::vector<int64_t> seed = c.inputs[0].index_values();
  c.outputs[0] = draw(TensorShape(c.attrs.get<std::vector<int64_t>>("shape")), {seed[0], seed[1]}, 0, 1,
                      c.attrs.get<DType>("dtype"));
}

// A stateless op's stream: its seed input's (random::stateless_stream).
philox::Stream seed_stream(const Tensor& seed) {
  const std::vector<int64_t> v = seed.index_values();
  return random::stateless_stream({v[0], v[1]});
}

// StatelessMultinomial: this device's Multinomial kernel on the seed's stream.
void stateless_multinomial_kernel(KernelContext& c) {
  Attrs attrs{{"num_samples", c.attrs.get<int64_t>("num_samples")},
              {"output_dtype", c.attrs.get<DType>("output_dtype")}};
  random::set_stream(attrs, seed_stream(c.inputs[1]));
  c.outputs[0] = execute1(EMBER_OP(op_name::Multinomial), {c.inputs[0]}, attrs);
}

// StatelessRandomUniformInt(seed, minval, maxval): this device's
// RandomUniformInt kernel on the seed's stream.
void stateless_uniform_int_kernel(KernelContext& c) {
  Attrs attrs{{"shape", c.attrs.get<std::vector<int64_t>>("shape")}};
  random::set_stream(attrs, seed_stream(c.inputs[0]));
  c.outputs[0] = execute1(EMBER_OP(op_name::RandomUniformInt), {c.inputs[1], c.inputs[2]}, attrs);
}

// StatelessRandomGammaV2(seed, alpha) {shape}: this device's RandomGamma
// kernel on the seed's stream, for the sample dimensions (the shape
// without alpha's, which inference checked it ends with): the same layout.
void stateless_gamma_kernel(KernelContext& c) {
  const Tensor& alpha = c.inputs[1];
  std::vector<int64_t> dims = c.attrs.get<std::vector<int64_t>>("shape");
  dims.resize(dims.size() - static_cast<size_t>(alpha.rank()));
  Attrs attrs{{"shape", dims}};
  random::set_stream(attrs, seed_stream(c.inputs[0]));
  c.outputs[0] = execute1(EMBER_OP(op_name::RandomGamma), {alpha}, attrs);
}

// StatelessRandomPoisson(seed, lam) {shape, dtype}: this device's
// RandomPoissonV2 kernel on the seed's stream, in the same way.
void stateless_poisson_kernel(KernelContext& c) {
  const Tensor& rate = c.inputs[1];
  std::vector<int64_t> dims = c.attrs.get<std::vector<int64_t>>("shape");
  dims.resize(dims.size() - static_cast<size_t>(rate.rank()));
  Attrs attrs{{"shape", dims}, {"dtype", c.attrs.get<DType>("dtype")}};
  random::set_stream(attrs, seed_stream(c.inputs[0]));
  c.outputs[0] = execute1(EMBER_OP(op_name::RandomPoissonV2), {rate}, attrs);
}

// RandomShuffle: TensorFlow's permutation of the n rows (its ShuffleRange:
// row i swapped with row i + w_i mod (n - i) for i < n - 1, w_i the stream's
// i-th word), made on the host, then the rows gathered on this device. With
// nothing to permute, the input itself (as TensorFlow's).
void shuffle_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  if (x.num_elements() <= 1 || x.dim(0) <= 1) {
    c.outputs[0] = Tensor(TensorImpl::view_of(*x.impl()));
    return;
  }
  const int64_t n = x.dim(0);
  const philox::Stream s = random::stream_of(c.attrs);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  philox::Block words{};
  for (int64_t i = 0; i + 1 < n; ++i) {
    if (i % 4 == 0) words = philox::at(s, static_cast<uint64_t>(i / 4));
    const auto rest = static_cast<uint32_t>(n - i);  // (TensorFlow's uniform takes a uint32)
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(i + words.v[i % 4] % rest)]);
  }
  c.outputs[0] = gather(x, constant(perm));
}

// tf.random.Generator's draws (StatefulUniform, StatefulStandardNormalV2,
// StatefulTruncatedNormal, StatefulUniformInt, StatefulUniformFullInt):
// under the state variable's lock, its stream read (TensorFlow's layout:
// the counter's low and high words, then the key), this device's
// stream-drawing kernel run on it, and the variable advanced past what that
// draw reserves (random::advance_stream), so a traced call and an eager
// draw continue the same stream.
template <const char* kDraw>
void generator_draw_kernel(KernelContext& c) {
  const std::string& api = c.op.api_name.empty() ? c.op.name : c.op.api_name;
  const std::vector<int64_t> alg = c.inputs[1].index_values();
  if (alg.at(0) != 1 && alg.at(0) != 3)
    throw Unimplemented(detail::str_cat("[", api, "] ", c.op.name, ": algorithm ", alg[0],
                                        ": ember's generators draw with Philox (1, or 3: auto-select)"));
  const OpDef& draw = op_def(kDraw);
  KernelFn kernel = draw.kernels[static_cast<int>(c.device.kind())];
  EMBER_CHECK(kernel != nullptr, Unimplemented, "[", api, "] ", c.op.name, " has no kernel on ", c.device.to_string());
  auto& state = static_cast<VariableState&>(*c.inputs[0].impl()->resource);
  state.update([&](const Tensor& current) {  // (an int64 [3]: inference checked the variable)
    Attrs attrs = c.attrs;
    random::set_stream(attrs, random::generator_stream(current));
    c.outputs[0] = Tensor::empty(c.specs[0].shape, c.specs[0].dtype, c.device);
    // The draw's inputs: minval and maxval for the integer draw; none for the
    // others (StatelessRandomUniformFullInt's kernel, given no seed, draws
    // from the attributes' stream).
    KernelContext k{draw, c.inputs.subspan(2), c.outputs.subspan(0, 1), attrs, c.device, c.specs.subspan(0, 1)};
    kernel(k);
    random::advance_stream(draw, attrs, c.outputs[0]);
    return random::generator_state(random::stream_of(attrs)).to(current.device());
  });
}

}  // namespace

EMBER_REGISTER_EVERYWHERE(op_name::StatefulUniform, generator_draw_kernel<op_name::RandomUniform>);
EMBER_REGISTER_EVERYWHERE(op_name::StatefulStandardNormalV2, generator_draw_kernel<op_name::RandomStandardNormal>);
EMBER_REGISTER_EVERYWHERE(op_name::StatefulTruncatedNormal, generator_draw_kernel<op_name::TruncatedNormal>);
EMBER_REGISTER_EVERYWHERE(op_name::StatefulUniformInt, generator_draw_kernel<op_name::RandomUniformInt>);
EMBER_REGISTER_EVERYWHERE(op_name::StatefulUniformFullInt, generator_draw_kernel<op_name::StatelessRandomUniformFullInt>);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomUniform, stateless_draw_kernel<random::stateless_uniform>);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomNormal, stateless_draw_kernel<random::stateless_normal>);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessTruncatedNormal, stateless_draw_kernel<random::stateless_truncated_normal>);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessMultinomial, stateless_multinomial_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomUniformInt, stateless_uniform_int_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::RandomShuffle, shuffle_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomGammaV2, stateless_gamma_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StatelessRandomPoisson, stateless_poisson_kernel);

}  // namespace ember::kernels

namespace ember::samplers {

Tensor binomial_params(const Tensor& counts, const Tensor& probs, const TensorShape& batch) {
  const Tensor c = broadcast_to(counts, batch).to(Device::cpu()), p = broadcast_to(probs, batch).to(Device::cpu());
  const int64_t members = batch.num_elements();
  std::vector<double> params(static_cast<size_t>(3 * members));
  using Method = BinomialMethod;
  const auto refuse = [&] { throw InvalidArgument(detail::str_cat("[stateless_binomial] counts of ", dtype_name(c.dtype()))); };
  EMBER_SWITCH_FLOATING(c.dtype(), refuse(), {
    using C = compute_t<scalar_t>;
    auto rounded = [](C v) { return static_cast<C>(scalar_t(v)); };  // (an operation's result in the dtype)
    const scalar_t* cv = c.data<const scalar_t>();
    const scalar_t* pv = p.data<const scalar_t>();
    for (int64_t i = 0; i < members; ++i) {
      const C count = static_cast<C>(cv[i]), prob = static_cast<C>(pv[i]);
      const auto dcount = static_cast<double>(count);
      Method method = Method::Value;
      double n = 0, q = 0;
      if (dcount <= 0 || prob <= C(0)) {
        n = 0;
      } else if (prob >= C(1)) {
        n = dcount;
      } else if (prob <= C(0.5)) {
        method = rounded(count * prob) >= C(10) ? Method::Btrs : Method::Inversion;
        n = dcount, q = static_cast<double>(prob);
      } else if (prob > C(0.5)) {
        const C complement = rounded(C(1) - prob);
        method = rounded(count * complement) >= C(10) ? Method::CountLessBtrs : Method::CountLessInversion;
        n = dcount, q = static_cast<double>(complement);
      } else {  // a NaN probability
        n = std::numeric_limits<double>::quiet_NaN();
      }
      params[static_cast<size_t>(3 * i)] = static_cast<double>(static_cast<int>(method));
      params[static_cast<size_t>(3 * i + 1)] = n;
      params[static_cast<size_t>(3 * i + 2)] = q;
    }
  });
  return constant(params, TensorShape{members, 3});
}

}  // namespace ember::samplers

