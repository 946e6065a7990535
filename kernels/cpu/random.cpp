// Random kernels: TensorFlow's distributions (kernels/functors.h) over the
// Philox stream the op's attributes name (random::stream_of), split across
// threads by Philox block, so the numbers never depend on the split.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/random.h"
#include "kernels/cpu/parallel.h"
#include "kernels/functors.h"

namespace ember::cpu {
namespace {

// fn::uniform_at(s, i) for every i, each Philox block made once for the
// kPerBlock<T> numbers it gives (element by element, it was made that many
// times: a dropout mask's draw was 7% of a gpt_char step).
template <typename T>
void uniform_fill(T* p, int64_t n, const philox::Stream& s) {
  constexpr int kPer = fn::kPerBlock<T>;
  parallel_for((n + kPer - 1) / kPer, kParallelGrain / kPer, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      const philox::Block block = philox::at(s, static_cast<uint64_t>(blk));
      for (int j = 0; j < kPer && blk * kPer + j < n; ++j) p[blk * kPer + j] = fn::uniform_of_block<T>(block, j);
    }
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

EMBER_REGISTER_KERNEL(op_name::RandomUniform, CPU, random_kernel<0>);
EMBER_REGISTER_KERNEL(op_name::RandomStandardNormal, CPU, random_kernel<1>);
EMBER_REGISTER_KERNEL(op_name::TruncatedNormal, CPU, random_kernel<2>);

}  // namespace
}  // namespace ember::cpu
