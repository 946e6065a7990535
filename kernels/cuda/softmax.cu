// CUDA softmax and log_softmax over the last axis (16-bit floats computed in
// float32).
#include "core/op_names.h"
#include "core/ops.h"
#include "kernels/cuda/common.cuh"
#include "kernels/online_softmax.h"

namespace ember::cuda {
namespace {

// ---- softmax: online, a warp or a block per row ----------------------------------------------
// One pass keeps a running maximum and rescaled sum per lane
// (kernels/online_softmax.h); partial states merge across lanes by warp
// shuffles and across warps through shared memory. A second pass writes the
// outputs.
// Rows of up to 1024 elements get a warp each, longer rows a block.

template <typename T, bool kLog, int kRowThreads>
__global__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows,
                             int64_t n) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  constexpr int kRowsPerBlock = kThreads / kRowThreads;
  constexpr int kWarps = kRowThreads / 32;
  __shared__ C warp_m[kThreads / 32], warp_s[kThreads / 32];
  const int lane = threadIdx.x % kRowThreads, slot = threadIdx.x / kRowThreads;
  for (int64_t r0 = blockIdx.x * static_cast<int64_t>(kRowsPerBlock); r0 < rows;
       r0 += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t r = r0 + slot;
    const bool active = r < rows;
    kernels::OnlineSoftmax<C> acc;
    if (active)
      for (int64_t i = lane; i < n; i += kRowThreads) acc.add(static_cast<C>(x[r * n + i]));
    for (int offset = 16; offset > 0; offset /= 2) {
      C om = __shfl_xor_sync(0xffffffffu, acc.m, offset);
      C os = __shfl_xor_sync(0xffffffffu, acc.s, offset);
      acc.merge(om, os);
    }
    if constexpr (kWarps > 1) {
      const int warp = threadIdx.x / 32;
      if (threadIdx.x % 32 == 0) {
        warp_m[warp] = acc.m;
        warp_s[warp] = acc.s;
      }
      __syncthreads();
      acc = {warp_m[0], warp_s[0]};
      for (int w = 1; w < kWarps; ++w) acc.merge(warp_m[w], warp_s[w]);
      __syncthreads();
    }
    if (!active) continue;
    C shift, sum;
    acc.finish(shift, sum);
    if constexpr (kLog) {
      const C total = shift + ::log(sum);
      for (int64_t i = lane; i < n; i += kRowThreads)
        y[r * n + i] = T(static_cast<C>(x[r * n + i]) - total);
    } else {
      const C inv = C(1) / sum;
      for (int64_t i = lane; i < n; i += kRowThreads)
        y[r * n + i] = T(fn::exp_(static_cast<C>(x[r * n + i]) - shift) * inv);
    }
  }
}

template <typename T, bool kLog>
void softmax_typed(const Tensor& x, Tensor& y, int64_t rows, int64_t n, cudaStream_t s) {
  if (n <= 1024)
    softmax_rows<T, kLog, 32><<<blocks_for(rows * 32), kThreads, 0, s>>>(
        x.data<const T>(), y.data<T>(), rows, n);
  else
    softmax_rows<T, kLog, kThreads><<<blocks_for(rows * kThreads), kThreads, 0, s>>>(
        x.data<const T>(), y.data<T>(), rows, n);
  EMBER_CUDA_LAUNCHED();
}

template <bool kLog>
void softmax(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  if (x.num_elements() == 0) return;
  int64_t n = x.dim(x.rank() - 1), rows = x.num_elements() / n;
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()),
                        (softmax_typed<scalar_t, kLog>(x, c.outputs[0], rows, n, s)));
}

EMBER_REGISTER_KERNEL(op_name::Softmax, CUDA, softmax<false>);
EMBER_REGISTER_KERNEL(op_name::LogSoftmax, CUDA, softmax<true>);

}  // namespace
}  // namespace ember::cuda
