// What the CUDA elementwise kernels share (elementwise_unary.cu,
// elementwise_arithmetic.cu, elementwise_special.cu, elementwise_compare.cu):
// the same math the CPU runs (the 16-bit floats through fn::InFloat), flat
// grid-stride loops with 16-byte accesses when shapes agree, an indexer when
// inputs broadcast.
// Four files so that the instantiations compile in parallel; the kernels
// have internal linkage, each file its own.
#pragma once

#include "kernels/cuda/common.cuh"
#include "kernels/functors.h"

namespace ember::cuda {
namespace {

// Flat kernels move N elements per thread with one 16-byte access where the
// pointers allow it (kernels/cuda/common.cuh: Pack, pack_width); the tail, and
// the whole of a misaligned view (packed = false), go element by element in
// the same kernel, so each op is compiled once per type.
template <int N, typename T, typename R, typename F>
__global__ void unary_kernel(const T* __restrict__ x, R* __restrict__ y, int64_t n, bool packed,
                             F f) {
  int64_t packs = N > 1 && packed ? n / N : 0;
  int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if constexpr (N > 1) {
    for (int64_t p = tid; p < packs; p += step) {
      Pack<T, N> a = reinterpret_cast<const Pack<T, N>*>(x)[p];
      Pack<R, N> r;
#pragma unroll
      for (int j = 0; j < N; ++j) r.v[j] = f(a.v[j]);
      reinterpret_cast<Pack<R, N>*>(y)[p] = r;
    }
  }
  for (int64_t i = packs * N + tid; i < n; i += step) y[i] = f(x[i]);
}

template <int N, typename T, typename R, typename F>
__global__ void binary_flat(const T* __restrict__ a, const T* __restrict__ b, R* __restrict__ y,
                            int64_t n, bool a_scalar, bool b_scalar, bool packed, F f) {
  int64_t packs = N > 1 && packed ? n / N : 0;
  int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if constexpr (N > 1) {
    for (int64_t p = tid; p < packs; p += step) {
      Pack<T, N> va, vb;
      if (a_scalar) {
#pragma unroll
        for (int j = 0; j < N; ++j) va.v[j] = a[0];
      } else {
        va = reinterpret_cast<const Pack<T, N>*>(a)[p];
      }
      if (b_scalar) {
#pragma unroll
        for (int j = 0; j < N; ++j) vb.v[j] = b[0];
      } else {
        vb = reinterpret_cast<const Pack<T, N>*>(b)[p];
      }
      Pack<R, N> r;
#pragma unroll
      for (int j = 0; j < N; ++j) r.v[j] = f(va.v[j], vb.v[j]);
      reinterpret_cast<Pack<R, N>*>(y)[p] = r;
    }
  }
  for (int64_t i = packs * N + tid; i < n; i += step)
    y[i] = f(a[a_scalar ? 0 : i], b[b_scalar ? 0 : i]);
}

template <typename T, typename R, typename F>
__global__ void binary_bcast(const T* __restrict__ a, const T* __restrict__ b, R* __restrict__ y,
                             int64_t n, Indexer ix, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t off[3];
    ix.offsets(i, off, 2);
    y[i] = f(a[off[0]], b[off[1]]);
  }
}

template <typename T>
__global__ void select_kernel(const bool* c, const T* a, const T* b, T* y, int64_t n, Indexer ix) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t off[3];
    ix.offsets(i, off, 3);
    y[i] = c[off[0]] ? a[off[1]] : b[off[2]];
  }
}

template <typename T, typename R, typename F>
void launch_unary(KernelContext& c, F f) {
  int64_t n = c.outputs[0].num_elements();
  if (n == 0) return;
  cudaStream_t s = prepare(c);
  auto px = static_cast<const T*>(c.inputs[0].raw_data());
  auto py = static_cast<R*>(c.outputs[0].raw_data());
  constexpr int N = pack_width<T, R>();
  bool packed = N > 1 && packable<T, N>(px) && packable<R, N>(py);
  unary_kernel<N><<<blocks_for(packed ? n / N : n), kThreads, 0, s>>>(px, py, n, packed, f);
  EMBER_CUDA_LAUNCHED();
}

template <typename T, typename R, typename F>
void launch_binary(KernelContext& c, F f) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  Tensor& y = c.outputs[0];
  int64_t n = y.num_elements();
  if (n == 0) return;
  cudaStream_t s = prepare(c);
  auto pa = static_cast<const T*>(a.raw_data());
  auto pb = static_cast<const T*>(b.raw_data());
  auto py = static_cast<R*>(y.raw_data());
  int64_t na = a.num_elements(), nb = b.num_elements();
  if ((na == n || na == 1) && (nb == n || nb == 1)) {
    bool sa = na == 1 && n != 1, sb = nb == 1 && n != 1;
    constexpr int N = pack_width<T, R>();
    bool packed = N > 1 && (sa || packable<T, N>(pa)) && (sb || packable<T, N>(pb)) &&
                  packable<R, N>(py);
    binary_flat<N><<<blocks_for(packed ? n / N : n), kThreads, 0, s>>>(pa, pb, py, n, sa, sb,
                                                                        packed, f);
  } else {
    Indexer ix = make_indexer(y.shape(), c.inputs, c.op.api_name.c_str());
    binary_bcast<<<blocks_for(n), kThreads, 0, s>>>(pa, pb, py, n, ix, f);
  }
  EMBER_CUDA_LAUNCHED();
}

// The binary launchers of kernels/elementwise_ops.h's lists.
template <typename F>
void binary_numeric(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_ARITH(t, unsupported_dtype(c, t),
                     (launch_binary<scalar_t, scalar_t>(c, fn::computed_as<scalar_t>(F{}))));
}
template <typename F>
void binary_float(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t),
                        (launch_binary<scalar_t, scalar_t>(c, fn::computed_as<scalar_t>(F{}))));
}

}  // namespace
}  // namespace ember::cuda
