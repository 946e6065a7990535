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

// Merges the lanes' online states of one row: warp shuffles, then (for a
// block per row) shared memory across warps. Every thread of the block calls
// it, as it may synchronise the block.
template <typename C, int kRowThreads>
__device__ kernels::OnlineSoftmax<C> merge_row(kernels::OnlineSoftmax<C> acc, C* warp_m, C* warp_s) {
  for (int offset = 16; offset > 0; offset /= 2) {
    C om = __shfl_xor_sync(0xffffffffu, acc.m, offset);
    C os = __shfl_xor_sync(0xffffffffu, acc.s, offset);
    acc.merge(om, os);
  }
  if constexpr (kRowThreads > 32) {
    const int warp = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) {
      warp_m[warp] = acc.m;
      warp_s[warp] = acc.s;
    }
    __syncthreads();
    acc = {warp_m[0], warp_s[0]};
    for (int w = 1; w < kRowThreads / 32; ++w) acc.merge(warp_m[w], warp_s[w]);
    __syncthreads();
  }
  return acc;
}

template <typename T, bool kLog, int kRowThreads>
__global__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows,
                             int64_t n) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  constexpr int kRowsPerBlock = kThreads / kRowThreads;
  __shared__ C warp_m[kThreads / 32], warp_s[kThreads / 32];
  const int lane = threadIdx.x % kRowThreads, slot = threadIdx.x / kRowThreads;
  for (int64_t r0 = blockIdx.x * static_cast<int64_t>(kRowsPerBlock); r0 < rows;
       r0 += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t r = r0 + slot;
    const bool active = r < rows;
    kernels::OnlineSoftmax<C> acc;
    if (active)
      for (int64_t i = lane; i < n; i += kRowThreads) acc.add(static_cast<C>(x[r * n + i]));
    acc = merge_row<C, kRowThreads>(acc, warp_m, warp_s);
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

// ---- cross-entropy with logits: the softmax's row statistics as above, then
// backprop = exp(x - shift)/sum - labels and the loss (dense: a second row
// reduction of labels·(log sum - (x - shift))). A sparse label outside
// [0, classes) gives a NaN loss and backprop row, as TensorFlow's GPU kernel.

template <typename C, int kRowThreads>
__device__ C row_total(C v, C* warp_buf) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  if constexpr (kRowThreads > 32) {
    const int warp = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) warp_buf[warp] = v;
    __syncthreads();
    v = warp_buf[0];
    for (int w = 1; w < kRowThreads / 32; ++w) v += warp_buf[w];
    __syncthreads();
  }
  return v;
}

template <typename T, bool kSparse, typename L, int kRowThreads>
__global__ void xent_rows(const T* __restrict__ x, const L* __restrict__ labels,
                          T* __restrict__ loss, T* __restrict__ bp, int64_t rows, int64_t n) {
  using C = compute_t<T>;  // 16-bit floats: float32
  constexpr int kRowsPerBlock = kThreads / kRowThreads;
  __shared__ C warp_m[kThreads / 32], warp_s[kThreads / 32];
  const int lane = threadIdx.x % kRowThreads, slot = threadIdx.x / kRowThreads;
  for (int64_t r0 = blockIdx.x * static_cast<int64_t>(kRowsPerBlock); r0 < rows;
       r0 += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t r = r0 + slot;
    const bool active = r < rows;
    kernels::OnlineSoftmax<C> acc;
    if (active)
      for (int64_t i = lane; i < n; i += kRowThreads) acc.add(static_cast<C>(x[r * n + i]));
    acc = merge_row<C, kRowThreads>(acc, warp_m, warp_s);
    C shift, sum;
    acc.finish(shift, sum);
    const C lse = ::log(sum), inv = C(1) / sum;
    if constexpr (kSparse) {
      if (!active) continue;
      const int64_t l = static_cast<int64_t>(labels[r]);
      const bool ok = l >= 0 && l < n;
      const C nan = ::nan("");
      for (int64_t i = lane; i < n; i += kRowThreads)
        bp[r * n + i] = T(ok ? fn::exp_(static_cast<C>(x[r * n + i]) - shift) * inv - C(i == l) : nan);
      if (lane == 0) loss[r] = T(ok ? lse - (static_cast<C>(x[r * n + l]) - shift) : nan);
    } else {
      C part = 0;
      if (active)
        for (int64_t i = lane; i < n; i += kRowThreads) {
          const C lab = static_cast<C>(labels[r * n + i]), xi = static_cast<C>(x[r * n + i]);
          part += lab * (lse - (xi - shift));
          bp[r * n + i] = T(fn::exp_(xi - shift) * inv - lab);
        }
      part = row_total<C, kRowThreads>(part, warp_s);
      if (active && lane == 0) loss[r] = T(part);
    }
  }
}

template <typename T, bool kSparse, typename L>
void xent_typed(const Tensor& x, const Tensor& labels, KernelContext& c, cudaStream_t s) {
  int64_t rows = x.dim(0), n = x.dim(1);
  T* loss = c.outputs[0].data<T>();
  T* bp = c.outputs[1].data<T>();
  if (n <= 1024)
    xent_rows<T, kSparse, L, 32><<<blocks_for(rows * 32), kThreads, 0, s>>>(
        x.data<const T>(), labels.data<const L>(), loss, bp, rows, n);
  else
    xent_rows<T, kSparse, L, kThreads><<<blocks_for(rows * kThreads), kThreads, 0, s>>>(
        x.data<const T>(), labels.data<const L>(), loss, bp, rows, n);
  EMBER_CUDA_LAUNCHED();
}

template <typename T, bool kSparse>
void xent_labels(const Tensor& x, const Tensor& labels, KernelContext& c, cudaStream_t s) {
  if constexpr (kSparse) {
    EMBER_SWITCH_INDEX(labels.dtype(), unsupported_dtype(c, labels.dtype()),
                       (xent_typed<T, true, scalar_t>(x, labels, c, s)));
  } else {
    xent_typed<T, false, T>(x, labels, c, s);
  }
}

template <bool kSparse>
void xent(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  if (x.dim(0) == 0) return;
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()),
                        (xent_labels<scalar_t, kSparse>(x, c.inputs[1], c, s)));
}

EMBER_REGISTER_KERNEL(op_name::SoftmaxCrossEntropyWithLogits, CUDA, xent<false>);
EMBER_REGISTER_KERNEL(op_name::SparseSoftmaxCrossEntropyWithLogits, CUDA, xent<true>);
EMBER_REGISTER_KERNEL(op_name::Softmax, CUDA, softmax<false>);
EMBER_REGISTER_KERNEL(op_name::LogSoftmax, CUDA, softmax<true>);

}  // namespace
}  // namespace ember::cuda
