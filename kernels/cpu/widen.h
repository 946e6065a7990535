// 16-bit floats through a float32 kernel on the CPU: inputs widened to the
// accumulation type once, the kernel run there, each output rounded once
// (as TensorFlow's Eigen kernels compute half and bfloat16). Used where no
// 16-bit kernel exists for the processor (oneDNN's bfloat16 and float16
// primitives are used where it has them) and by kernels that accumulate
// (attention, pooling gradients).
#pragma once

#include <type_traits>

#include "core/ops.h"
#include "core/tensor.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec.h"

namespace ember::cpu {


/// `t` as the accumulation type C: its own data, or a widened copy kept in `keep`.
template <typename C>
const C* widened(const Tensor& t, Tensor& keep) {
  if (t.dtype() == dtype_of<C>::value) return t.data<const C>();
  keep = cast(t, dtype_of<C>::value);
  return keep.data<const C>();
}

/// n elements of T as C, into dst (a 16-bit float to float32 eight lanes
/// at a time: vec::load_float's widening is the scalar conversion's).
template <typename T, typename C>
void widen_run(const T* src, C* dst, int64_t n) {
  int64_t i = 0;
  if constexpr (std::is_same_v<C, float> && !std::is_same_v<T, float>)
    for (; i + 8 <= n; i += 8) vec::store(dst + i, vec::load_float(src + i));
  for (; i < n; ++i) dst[i] = static_cast<C>(src[i]);
}

/// n C values into dst of T, rounding 16-bit floats once (from float32,
/// eight lanes at a time: vec::store_float's rounding is the scalar one's).
template <typename T, typename C>
void narrow_run(const C* src, T* dst, int64_t n) {
  int64_t i = 0;
  if constexpr (std::is_same_v<C, float> && !std::is_same_v<T, float>)
    for (; i + 8 <= n; i += 8) vec::store_float(dst + i, vec::load(src + i));
  for (; i < n; ++i) dst[i] = T(src[i]);
}

/// Writes C values into `out` (of dtype T), rounding 16-bit floats once.
template <typename T, typename C>
void narrow_into(const C* src, Tensor& out) {
  T* dst = out.data<T>();
  parallel_for(out.num_elements(), kParallelGrain,
               [&](int64_t lo, int64_t hi) { narrow_run(src + lo, dst + lo, hi - lo); });
}

/// Where a kernel writes output `o` in C: the output itself, or a scratch
/// tensor that finish() rounds into it.
template <typename T, typename C>
struct Staged {
  Tensor& out;
  Tensor scratch;
  explicit Staged(Tensor& o) : out(o) {
    if constexpr (!std::is_same_v<T, C>) scratch = Tensor::empty(o.shape(), dtype_of<C>::value, o.device());
  }
  C* data() {
    if constexpr (std::is_same_v<T, C>) return out.data<C>();
    return scratch.data<C>();
  }
  void finish() {
    if constexpr (!std::is_same_v<T, C>) narrow_into<T, C>(scratch.data<const C>(), out);
  }
};

}  // namespace ember::cpu
