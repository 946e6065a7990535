// Random kernels: TensorFlow's distributions (kernels/functors.h; the gamma
// and Poisson samplers in kernels/samplers.h) and categorical sampling
// (kernels/categorical.h) over the Philox stream the op's attributes name
// (random::stream_of), split across threads by Philox block, row or sample,
// so the numbers never depend on the split.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/random.h"
#include "kernels/cpu/parallel.h"
#include "kernels/categorical.h"
#include "kernels/cpu/vec.h"
#include "kernels/functors.h"
#include "kernels/samplers.h"

namespace ember::cpu {
namespace {

// Philox blocks eight at a time (vec::philox8): group g holds blocks
// 8g .. 8g + 7, so kPer·8 of n elements. Calls f(blocks, i0, m) for each
// group, its first element i0 and its m elements, split across threads.
constexpr int64_t kBlocksPerGroup = 8;
template <int kPer, typename F>
void for_each_group(int64_t n, const philox::Stream& s, F f) {
  constexpr int64_t kGroup = kBlocksPerGroup * kPer;
  parallel_for((n + kGroup - 1) / kGroup, kParallelGrain / kGroup, [&](int64_t b, int64_t e) {
    philox::Block blocks[kBlocksPerGroup];
    for (int64_t g = b; g < e; ++g) {
      vec::philox8(s, static_cast<uint64_t>(g * kBlocksPerGroup), blocks);
      f(blocks, g * kGroup, std::min(kGroup, n - g * kGroup));
    }
  });
}

// fn::uniform_at(s, i) for every i, each Philox block made once for the
// kPerBlock<T> numbers it gives, eight blocks at once.
template <typename T>
void uniform_fill(T* p, int64_t n, const philox::Stream& s) {
  constexpr int kPer = fn::kPerBlock<T>;
  for_each_group<kPer>(n, s, [&](const philox::Block* blocks, int64_t i0, int64_t m) {
    for (int64_t k = 0; k < m; ++k) p[i0 + k] = fn::uniform_of_block<T>(blocks[k / kPer], static_cast<int>(k % kPer));
  });
}

// RandomUniformInt: fn::uniform_int_of_block for every element, eight
// blocks at once.
template <typename T>
void uniform_int_fill(T* p, int64_t n, const philox::Stream& s, T lo, uint64_t range) {
  constexpr int kPer = fn::kPerBlock<T>;
  for_each_group<kPer>(n, s, [&](const philox::Block* blocks, int64_t i0, int64_t m) {
    for (int64_t k = 0; k < m; ++k)
      p[i0 + k] = fn::uniform_int_of_block<T>(blocks[k / kPer], static_cast<int>(k % kPer), lo, range);
  });
}

void uniform_int_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  if (y.num_elements() == 0) return;  // (before the range's check, as TensorFlow's)
  const auto [lo, range] = random::uniform_int_range(c.inputs[0], c.inputs[1]);
  const philox::Stream s = random::stream_of(c.attrs);
  if (y.dtype() == int32)
    uniform_int_fill(y.data<int32_t>(), y.num_elements(), s, static_cast<int32_t>(lo), range);
  else
    uniform_int_fill(y.data<int64_t>(), y.num_elements(), s, lo, range);
}

// StatelessRandomUniformFullInt: fn::full_int_of_block for every element
// of the seed's stream, eight blocks at once; called without a seed (by a
// generator's StatefulUniformFullInt), of the stream in its attributes.
void full_int_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const std::vector<int64_t> seed = c.inputs.empty() ? std::vector<int64_t>{} : c.inputs[0].index_values();
  const philox::Stream s = seed.empty() ? random::stream_of(c.attrs) : random::stateless_stream({seed[0], seed[1]});
  EMBER_SWITCH_INDEX(y.dtype(), unsupported_dtype(c, y.dtype()), {
    constexpr int kPer = fn::kPerBlock<scalar_t>;
    scalar_t* p = y.data<scalar_t>();
    for_each_group<kPer>(y.num_elements(), s, [&](const philox::Block* blocks, int64_t i0, int64_t m) {
      for (int64_t k = 0; k < m; ++k)
        p[i0 + k] = fn::full_int_of_block<scalar_t>(blocks[k / kPer], static_cast<int>(k % kPer));
    });
  });
}

// One Philox block gives fn::kPerBlock<T> normals: fill block by block.
template <typename T>
void normal_fill(T* p, int64_t n, const philox::Stream& s) {
  constexpr int kPer = fn::kPerBlock<T>;
  parallel_for((n + kPer - 1) / kPer, kParallelGrain / kPer, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      T v[kPer];
      fn::normal_block<T>(s, static_cast<uint64_t>(blk), v);
      for (int j = 0; j < kPer && blk * kPer + j < n; ++j) p[blk * kPer + j] = v[j];
    }
  });
}

template <typename T>
void truncated_fill(T* p, int64_t n, const philox::Stream& s) {
  constexpr int kPer = fn::kPerBlock<T>;
  parallel_for((n + kPer - 1) / kPer, kParallelGrain / 64, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g) {
      T v[kPer];
      fn::truncated_group<T>(s, g, v);
      for (int j = 0; j < kPer && g * kPer + j < n; ++j) p[g * kPer + j] = v[j];
    }
  });
}

template <int kKind>  // 0 uniform, 1 normal, 2 truncated normal
void random_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  philox::Stream s = random::stream_of(c.attrs);
  EMBER_SWITCH_FLOATING(y.dtype(), unsupported_dtype(c, y.dtype()), {
    if constexpr (kKind == 0) uniform_fill(y.data<scalar_t>(), y.num_elements(), s);
    if constexpr (kKind == 1) normal_fill(y.data<scalar_t>(), y.num_elements(), s);
    if constexpr (kKind == 2) truncated_fill(y.data<scalar_t>(), y.num_elements(), s);
  });
}

// StatelessDropout in one pass over x, its Philox blocks made eight at a
// time; float32 and the 16-bit floats (whose draw is float32's) eight lanes
// at a time on the words, in float32 (vec::load_float, rounded once after).
template <typename T>
void dropout_fill(const T* x, T* y, int64_t n, const fn::Dropout<T>& d) {
  constexpr int kPer = fn::Dropout<T>::kPer;
  for_each_group<kPer>(n, d.stream, [&](const philox::Block* blocks, int64_t i0, int64_t m) {
    if constexpr (std::is_same_v<typename fn::Dropout<T>::Draw, float>) {
      if (m == kBlocksPerGroup * kPer) {  // 32 elements: words in stream order are the elements' order
        for (int q = 0; q < 4; ++q) {
          vec::i8 w;
          std::memcpy(&w, &blocks[2 * q], sizeof w);
          const vec::f8 u = (vec::f8)((w & 0x7fffff) | 0x3f800000) - 1.0f;  // philox::uniform_float
          const vec::f8 v = vec::load_float(x + i0 + 8 * q);
          vec::store_float(y + i0 + 8 * q, u >= d.rate ? v * d.scale : vec::f8{});
        }
        return;
      }
    }
    for (int64_t k = 0; k < m; ++k) y[i0 + k] = d.apply(blocks[k / kPer], static_cast<int>(k % kPer), x[i0 + k]);
  });
}

void stateless_dropout_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const std::vector<int64_t> seed = c.inputs[1].index_values();
  const philox::Stream s = random::stateless_stream({seed[0], seed[1]});
  const double rate = c.attrs.get<double>("rate");
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()), {
    dropout_fill(x.data<scalar_t>(), c.outputs[0].data<scalar_t>(), x.num_elements(),
                 fn::Dropout<scalar_t>(s, rate));
  });
}

// Multinomial: a task per row (its CDF in a row of scratch), each sample
// from the pair of words kernels/categorical.h assigns it.
template <typename T, typename Out>
void multinomial_rows(const T* logits, Out* y, int64_t rows, int64_t classes, int64_t samples,
                      const philox::Stream& s) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / (classes + 16 * samples)), [&](int64_t b, int64_t e) {
    std::vector<double> cdf(static_cast<size_t>(classes));
    for (int64_t r = b; r < e; ++r) {
      const double total = categorical::cdf_of_row(logits + r * classes, cdf.data(), classes);
      for (int64_t j = 0; j < samples; ++j)
        y[r * samples + j] = static_cast<Out>(categorical::sample(cdf.data(), classes, total, s, r * samples + j));
    }
  });
}

void multinomial_kernel(KernelContext& c) {
  const Tensor& logits = c.inputs[0];
  Tensor& y = c.outputs[0];
  if (y.num_elements() == 0) return;
  const int64_t rows = y.dim(0), samples = y.dim(1), classes = logits.dim(1);
  const philox::Stream s = random::stream_of(c.attrs);
  EMBER_SWITCH_FLOATING(logits.dtype(), unsupported_dtype(c, logits.dtype()), {
    if (y.dtype() == int32)
      multinomial_rows(logits.data<const scalar_t>(), y.data<int32_t>(), rows, classes, samples, s);
    else
      multinomial_rows(logits.data<const scalar_t>(), y.data<int64_t>(), rows, classes, samples, s);
  });
}

// RandomGamma and RandomPoissonV2: each element from its own 256 blocks
// (kernels/samplers.h), so the split does not matter; a sample costs tens of
// nanoseconds (a Poisson one below rate 10, about rate uniforms).
template <typename F>
void for_each_sample(int64_t n, F f) {
  parallel_for(n, kParallelGrain / 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

void gamma_kernel(KernelContext& c) {
  const Tensor& alpha = c.inputs[0];
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements(), alphas = alpha.num_elements();
  if (n == 0) return;
  const philox::Stream s = random::stream_of(c.attrs);
  EMBER_SWITCH_FLOATING(y.dtype(), unsupported_dtype(c, y.dtype()), {
    const scalar_t* a = alpha.data<const scalar_t>();
    scalar_t* p = y.data<scalar_t>();
    for_each_sample(n, [&](int64_t i) { p[i] = samplers::gamma_at(s, a, i, n, alphas); });
  });
}

void poisson_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;
  const Tensor rate = cast(c.inputs[0], float64);
  const double* r = rate.data<const double>();
  const int64_t rates = rate.num_elements();
  const philox::Stream s = random::stream_of(c.attrs);
  const double highest = random::highest(y.dtype());
  EMBER_SWITCH_ARITH(y.dtype(), unsupported_dtype(c, y.dtype()), {
    scalar_t* p = y.data<scalar_t>();
    for_each_sample(n, [&](int64_t i) { p[i] = samplers::poisson_at<scalar_t>(s, r, i, n, rates, highest); });
  });
}

// StatelessRandomBinomial: each member's method chosen on the host
// (samplers::binomial_params), then each element from its own blocks.
void binomial_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;
  const TensorShape batch = broadcast_shapes(c.inputs[1].shape(), c.inputs[2].shape());
  const Tensor params = samplers::binomial_params(c.inputs[1], c.inputs[2], batch);
  const double* pr = params.data<const double>();
  const int64_t members = batch.num_elements();
  const std::vector<int64_t> seed = c.inputs[0].index_values();
  const philox::Stream s = random::stateless_stream({seed[0], seed[1]});
  EMBER_SWITCH_ARITH(y.dtype(), unsupported_dtype(c, y.dtype()), {
    scalar_t* p = y.data<scalar_t>();
    for_each_sample(n, [&](int64_t i) { p[i] = samplers::binomial_at<scalar_t>(s, pr, i, n, members); });
  });
}

EMBER_REGISTER_KERNEL(op_name::StatelessDropout, CPU, stateless_dropout_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomGamma, CPU, gamma_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomPoissonV2, CPU, poisson_kernel);
EMBER_REGISTER_KERNEL(op_name::StatelessRandomBinomial, CPU, binomial_kernel);
EMBER_REGISTER_KERNEL(op_name::Multinomial, CPU, multinomial_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomUniform, CPU, random_kernel<0>);
EMBER_REGISTER_KERNEL(op_name::RandomUniformInt, CPU, uniform_int_kernel);
EMBER_REGISTER_KERNEL(op_name::StatelessRandomUniformFullInt, CPU, full_int_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomStandardNormal, CPU, random_kernel<1>);
EMBER_REGISTER_KERNEL(op_name::TruncatedNormal, CPU, random_kernel<2>);

}  // namespace
}  // namespace ember::cpu
