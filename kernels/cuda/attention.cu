// CUDA kernels of the transformer's fused ops (core/ops/attention.cpp).
//
// Attention forward: a block of 4 warps takes 16 queries of one (batch,
// head), each warp 4 of them; the block walks the keys in tiles held in
// shared memory (K padded a column so lanes reading different keys hit
// different banks). Lane j scores key j of the tile against a query, the
// warp folds the tile into the query's running maximum and sum (online
// softmax) and adds p·v into the output, each lane holding the output
// columns lane, lane + 32, .... Nothing of seq_q × seq_k is stored.
// Backward: a preliminary kernel computes δ_i = dO_i·O_i - d_logsumexp_i;
// then a block of 4 warps owns 16 keys (4 per warp, their k, v, dk and dv
// in registers), walks the queries in tiles of 16 held in shared memory,
// recomputes each probability from the saved logsumexp and accumulates dk
// and dv; dq gets each warp's share by atomicAdd into an accumulator of the
// accumulation type. head_dim and value_dim up to 256; 16-bit floats
// accumulate in float32, float64 in float64.
//
// Layer norm: a warp per row (statistics by warp reductions); its gradient
// a warp per row for dx, and column sums over chunks of rows with atomicAdd
// for dgamma and dbeta.
#include <limits>
#include <type_traits>

#include "core/op_names.h"
#include "core/ops.h"
#include "kernels/attention.h"
#include "kernels/cuda/common.cuh"

namespace ember::cuda {
namespace {

using kernels::attention::Accumulation;
using kernels::attention::Dims;
using kernels::attention::dims_of;
using kernels::attention::dropout_view;
using kernels::attention::DropoutView;
using kernels::attention::mask_view;
using kernels::attention::MaskView;
using kernels::attention::rows_of;
using kernels::attention::with_parameter_type;

constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 4;  // queries per warp (forward), keys per warp (backward)
constexpr int kRowsPerBlock = kWarps * kRowsPerWarp;  // 16
constexpr int kQueryTile = 16;                        // queries per shared tile (backward)
constexpr int kMaxDim = 256;

template <typename C>
__device__ C warp_sum(C v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename C>
__device__ C warp_max(C v) {
  for (int o = 16; o > 0; o /= 2) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Grid-stride loops over rows a warp each.
__device__ int64_t first_warp() {
  return (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
}
__device__ int64_t warps_in_grid() { return static_cast<int64_t>(gridDim.x) * blockDim.x / 32; }

// ---- forward ------------------------------------------------------------------------------------

template <typename T, typename C, int kChunks>
__global__ void attention_forward(const T* __restrict__ q, const T* __restrict__ k,
                                  const T* __restrict__ v, MaskView mask, DropoutView drop,
                                  bool causal, C scale, Dims d, int tile, T* __restrict__ out,
                                  C* __restrict__ lse) {
  extern __shared__ unsigned char smem_raw[];
  C* Qs = reinterpret_cast<C*>(smem_raw);   // [kRowsPerBlock][head_dim], scaled
  C* Ks = Qs + kRowsPerBlock * d.head_dim;  // [tile][head_dim + 1]
  C* Vs = Ks + tile * (d.head_dim + 1);     // [tile][value_dim]
  const int64_t bh = blockIdx.x, b = bh / d.heads, h = bh % d.heads;
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kRowsPerBlock;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* Q = q + bh * d.seq_q * d.head_dim;
  const T* K = k + bh * d.seq_k * d.head_dim;
  const T* V = v + bh * d.seq_k * d.value_dim;
  for (int64_t e = threadIdx.x; e < kRowsPerBlock * d.head_dim; e += blockDim.x) {
    const int64_t r = e / d.head_dim, i = i0 + r;
    Qs[e] = i < d.seq_q ? static_cast<C>(Q[i * d.head_dim + e % d.head_dim]) * scale : C(0);
  }
  C m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][kChunks];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    m[r] = -std::numeric_limits<C>::infinity();
    l[r] = 0;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) acc[r][c] = 0;
  }
  const int64_t last = min(d.seq_q, i0 + kRowsPerBlock) - 1;
  const int64_t kend = causal ? min(d.seq_k, last + 1) : d.seq_k;
  for (int64_t j0 = 0; j0 < kend; j0 += tile) {
    __syncthreads();  // the previous tile is done with (and Qs is written, the first time)
    for (int64_t e = threadIdx.x; e < tile * d.head_dim; e += blockDim.x) {
      const int64_t j = e / d.head_dim, col = e % d.head_dim;
      Ks[j * (d.head_dim + 1) + col] =
          j0 + j < kend ? static_cast<C>(K[(j0 + j) * d.head_dim + col]) : C(0);
    }
    for (int64_t e = threadIdx.x; e < tile * d.value_dim; e += blockDim.x) {
      const int64_t j = e / d.value_dim;
      Vs[e] = j0 + j < kend ? static_cast<C>(V[(j0 + j) * d.value_dim + e % d.value_dim]) : C(0);
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int64_t row = warp * kRowsPerWarp + r, i = i0 + row;
      if (i >= d.seq_q) continue;  // warp-uniform
      const int64_t j = j0 + lane;
      const bool valid = lane < tile && j < kend && (!causal || j <= i) && mask.attends(b, h, i, j);
      C s = -std::numeric_limits<C>::infinity();
      if (valid) {
        C dot = 0;
        const C* qr = Qs + row * d.head_dim;
        const C* kr = Ks + lane * (d.head_dim + 1);
        for (int64_t e = 0; e < d.head_dim; ++e) dot += qr[e] * kr[e];
        s = dot;
      }
      const C mnew = max(m[r], warp_max(s));
      if (mnew == -std::numeric_limits<C>::infinity())
        continue;  // attends to nothing yet (warp-uniform)
      const C correction = ::exp(m[r] - mnew);
      const C p = valid ? ::exp(s - mnew) : C(0);
      l[r] = l[r] * correction + warp_sum(p);  // every probability, kept or dropped
      m[r] = mnew;
      const C kept =
          drop.on() && valid ? p * drop.scale_at<C>((bh * d.seq_q + i) * d.seq_k + j) : p;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) acc[r][c] *= correction;
      for (int jj = 0; jj < tile; ++jj) {
        const C pj = __shfl_sync(0xffffffffu, kept, jj);
        if (pj == C(0)) continue;  // warp-uniform
#pragma unroll
        for (int c = 0; c < kChunks; ++c) {
          const int64_t col = lane + 32 * c;
          if (col < d.value_dim) acc[r][c] += pj * Vs[jj * d.value_dim + col];
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t i = i0 + warp * kRowsPerWarp + r;
    if (i >= d.seq_q) continue;
    const C inv = l[r] > C(0) ? C(1) / l[r] : C(0);  // a query that attends to nothing: zeros
    T* o = out + (bh * d.seq_q + i) * d.value_dim;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int64_t col = lane + 32 * c;
      if (col < d.value_dim) o[col] = T(acc[r][c] * inv);
    }
    if (lane == 0)
      lse[bh * d.seq_q + i] =
          l[r] > C(0) ? m[r] + ::log(l[r]) : -std::numeric_limits<C>::infinity();
  }
}

// ---- backward -----------------------------------------------------------------------------------

// δ_i = dO_i·O_i - d_logsumexp_i, a warp per row.
template <typename T, typename C>
__global__ void attention_delta(const T* __restrict__ out, const T* __restrict__ dout,
                                const C* __restrict__ dlse, int64_t rows, int64_t n,
                                C* __restrict__ delta) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = first_warp(); r < rows; r += warps_in_grid()) {  // whole warps
    C sum = 0;
    for (int64_t e = lane; e < n; e += 32)
      sum += static_cast<C>(out[r * n + e]) * static_cast<C>(dout[r * n + e]);
    sum = warp_sum(sum);
    if (lane == 0) delta[r] = sum - dlse[r];
  }
}

template <typename T, typename C, int kChunks>
__global__ void attention_backward(const T* __restrict__ q, const T* __restrict__ k,
                                   const T* __restrict__ v, const C* __restrict__ lse,
                                   const T* __restrict__ dout, const C* __restrict__ delta,
                                   MaskView mask, DropoutView drop, bool causal, C scale, Dims d,
                                   C* __restrict__ dq, T* __restrict__ dk, T* __restrict__ dv) {
  extern __shared__ unsigned char smem_raw[];
  C* Qs = reinterpret_cast<C*>(smem_raw);  // [kQueryTile][head_dim]
  C* dOs = Qs + kQueryTile * d.head_dim;   // [kQueryTile][value_dim]
  C* Ls = dOs + kQueryTile * d.value_dim;  // [kQueryTile] logsumexp
  C* Ds = Ls + kQueryTile;                 // [kQueryTile] δ
  const int64_t bh = blockIdx.x, b = bh / d.heads, h = bh % d.heads;
  const int64_t j0 = static_cast<int64_t>(blockIdx.y) * kRowsPerBlock;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* Q = q + bh * d.seq_q * d.head_dim;
  const T* dO = dout + bh * d.seq_q * d.value_dim;
  // This warp's keys: k and v columns lane + 32c in registers, dk and dv accumulated there.
  C kr[kRowsPerWarp][kChunks], vr[kRowsPerWarp][kChunks], dkr[kRowsPerWarp][kChunks],
      dvr[kRowsPerWarp][kChunks];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t j = j0 + warp * kRowsPerWarp + r;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int64_t col = lane + 32 * c;
      kr[r][c] = j < d.seq_k && col < d.head_dim
                     ? static_cast<C>(k[(bh * d.seq_k + j) * d.head_dim + col])
                     : C(0);
      vr[r][c] = j < d.seq_k && col < d.value_dim
                     ? static_cast<C>(v[(bh * d.seq_k + j) * d.value_dim + col])
                     : C(0);
      dkr[r][c] = 0;
      dvr[r][c] = 0;
    }
  }
  // Causal: queries before the block's first key attend to none of its keys.
  const int64_t first = causal ? (j0 / kQueryTile) * kQueryTile : 0;
  for (int64_t t0 = first; t0 < d.seq_q; t0 += kQueryTile) {
    __syncthreads();
    for (int64_t e = threadIdx.x; e < kQueryTile * d.head_dim; e += blockDim.x) {
      const int64_t i = t0 + e / d.head_dim;
      Qs[e] = i < d.seq_q ? static_cast<C>(Q[i * d.head_dim + e % d.head_dim]) : C(0);
    }
    for (int64_t e = threadIdx.x; e < kQueryTile * d.value_dim; e += blockDim.x) {
      const int64_t i = t0 + e / d.value_dim;
      dOs[e] = i < d.seq_q ? static_cast<C>(dO[i * d.value_dim + e % d.value_dim]) : C(0);
    }
    for (int64_t e = threadIdx.x; e < kQueryTile; e += blockDim.x) {
      const int64_t i = t0 + e;
      Ls[e] = i < d.seq_q ? lse[bh * d.seq_q + i] : -std::numeric_limits<C>::infinity();
      Ds[e] = i < d.seq_q ? delta[bh * d.seq_q + i] : C(0);
    }
    __syncthreads();
    for (int rq = 0; rq < kQueryTile; ++rq) {
      const int64_t i = t0 + rq;
      if (i >= d.seq_q || Ls[rq] == -std::numeric_limits<C>::infinity()) continue;  // warp-uniform
      C dq_part[kChunks];
#pragma unroll
      for (int c = 0; c < kChunks; ++c) dq_part[c] = 0;
      bool any = false;
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const int64_t j = j0 + warp * kRowsPerWarp + r;
        if (j >= d.seq_k || (causal && j > i) || !mask.attends(b, h, i, j))
          continue;  // warp-uniform
        C s = 0, dp = 0;
#pragma unroll
        for (int c = 0; c < kChunks; ++c) {
          const int64_t col = lane + 32 * c;
          if (col < d.head_dim) s += Qs[rq * d.head_dim + col] * kr[r][c];
          if (col < d.value_dim) dp += dOs[rq * d.value_dim + col] * vr[r][c];
        }
        s = warp_sum(s) * scale;
        dp = warp_sum(dp);
        const C p = ::exp(s - Ls[rq]);
        // With dropout multipliers D: dV += (D∘P)ᵀdO, dS = P∘(D∘dP - δ).
        const C dm = drop.on() ? drop.scale_at<C>((bh * d.seq_q + i) * d.seq_k + j) : C(1);
        const C ds = p * (dm * dp - Ds[rq]) * scale;
#pragma unroll
        for (int c = 0; c < kChunks; ++c) {
          const int64_t col = lane + 32 * c;
          if (col < d.value_dim) dvr[r][c] += dm * p * dOs[rq * d.value_dim + col];
          if (col < d.head_dim) {
            dkr[r][c] += ds * Qs[rq * d.head_dim + col];
            dq_part[c] += ds * kr[r][c];
          }
        }
        any = true;
      }
      if (!any) continue;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) {
        const int64_t col = lane + 32 * c;
        if (col < d.head_dim) atomicAdd(dq + (bh * d.seq_q + i) * d.head_dim + col, dq_part[c]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t j = j0 + warp * kRowsPerWarp + r;
    if (j >= d.seq_k) continue;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int64_t col = lane + 32 * c;
      if (col < d.head_dim) dk[(bh * d.seq_k + j) * d.head_dim + col] = T(dkr[r][c]);
      if (col < d.value_dim) dv[(bh * d.seq_k + j) * d.value_dim + col] = T(dvr[r][c]);
    }
  }
}

template <typename T, typename C>
__global__ void narrow(const C* __restrict__ src, T* __restrict__ dst, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = T(src[i]);
}

// The register chunks of 32 columns a lane keeps for head_dim and value_dim.
int chunks_for(const KernelContext& c, const Dims& d) {
  const int64_t widest = std::max(d.head_dim, d.value_dim);
  if (widest > kMaxDim)
    throw Unimplemented(::ember::detail::str_cat(
        "[", api_name_for(c.op), "] head_dim and value_dim above ", kMaxDim,
        " are not supported on CUDA, got ", d.head_dim, " and ", d.value_dim));
  return widest <= 32 ? 1 : widest <= 64 ? 2 : widest <= 128 ? 4 : 8;
}

template <typename F>
void with_chunks(int chunks, F&& f) {
  switch (chunks) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    default:
      return f(std::integral_constant<int, 8>{});
  }
}

// Raises a kernel's dynamic shared memory limit to what it asks for.
template <typename K>
void allow_shared(K kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    EMBER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(bytes)));
}

template <typename T>
void attention_typed(KernelContext& c) {
  using C = Accumulation<T>;
  const Dims d = dims_of(c);
  if (d.batch * d.heads * d.seq_q == 0) return;
  cudaStream_t s = prepare(c);
  // The widest key tile (up to a warp) whose K and V fit 48 KiB beside Q.
  int tile = 32;
  auto shared = [&](int t) {
    return (kRowsPerBlock * d.head_dim + t * (d.head_dim + 1) + t * d.value_dim) *
           static_cast<int64_t>(sizeof(C));
  };
  while (tile > 4 && shared(tile) > 48 * 1024) tile /= 2;
  const size_t bytes = static_cast<size_t>(shared(tile));
  // (batch·heads on x, whose limit is 2^31 - 1; query blocks on y.)
  const dim3 grid(static_cast<unsigned>(d.batch * d.heads),
                  static_cast<unsigned>((d.seq_q + kRowsPerBlock - 1) / kRowsPerBlock));
  with_chunks(chunks_for(c, d), [&](auto chunks) {
    auto kernel = attention_forward<T, C, decltype(chunks)::value>;
    allow_shared(kernel, bytes);
    kernel<<<grid, kWarps * 32, bytes, s>>>(
        c.inputs[0].data<const T>(), c.inputs[1].data<const T>(), c.inputs[2].data<const T>(),
        mask_view(c, 3), dropout_view(c, 3), c.attrs.get<bool>("causal"),
        static_cast<C>(c.attrs.get<double>("scale")), d, tile, c.outputs[0].data<T>(),
        c.outputs[1].data<C>());
    EMBER_CUDA_LAUNCHED();
  });
}

template <typename T>
void attention_grad_typed(KernelContext& c) {
  using C = Accumulation<T>;
  const Dims d = dims_of(c);
  cudaStream_t s = prepare(c);
  Tensor &dq = c.outputs[0], &dk = c.outputs[1], &dv = c.outputs[2];
  // dq accumulates by atomicAdd: into itself (zeroed) or a widened scratch.
  Tensor dq_acc =
      std::is_same_v<T, C> ? dq : Tensor::empty(dq.shape(), dtype_of<C>::value, dq.device());
  if (dq_acc.nbytes() > 0)
    EMBER_CUDA_CHECK(cudaMemsetAsync(dq_acc.raw_data(), 0, dq_acc.nbytes(), s));
  if (d.batch * d.heads == 0 || d.seq_k == 0) {
    if (dk.nbytes() > 0) EMBER_CUDA_CHECK(cudaMemsetAsync(dk.raw_data(), 0, dk.nbytes(), s));
    if (dv.nbytes() > 0) EMBER_CUDA_CHECK(cudaMemsetAsync(dv.raw_data(), 0, dv.nbytes(), s));
  } else {
    const int64_t rows = d.batch * d.heads * d.seq_q;
    Tensor delta = Tensor::empty({std::max<int64_t>(rows, 1)}, dtype_of<C>::value, dq.device());
    if (rows > 0) {
      attention_delta<T, C><<<blocks_for(rows * 32), kThreads, 0, s>>>(
          c.inputs[3].data<const T>(), c.inputs[5].data<const T>(), c.inputs[6].data<const C>(),
          rows, d.value_dim, delta.data<C>());
      EMBER_CUDA_LAUNCHED();
    }
    const size_t bytes =
        static_cast<size_t>((kQueryTile * (d.head_dim + d.value_dim) + 2 * kQueryTile) * sizeof(C));
    const dim3 grid(static_cast<unsigned>(d.batch * d.heads),
                    static_cast<unsigned>((d.seq_k + kRowsPerBlock - 1) / kRowsPerBlock));
    with_chunks(chunks_for(c, d), [&](auto chunks) {
      auto kernel = attention_backward<T, C, decltype(chunks)::value>;
      allow_shared(kernel, bytes);
      kernel<<<grid, kWarps * 32, bytes, s>>>(
          c.inputs[0].data<const T>(), c.inputs[1].data<const T>(), c.inputs[2].data<const T>(),
          c.inputs[4].data<const C>(), c.inputs[5].data<const T>(), delta.data<const C>(),
          mask_view(c, 7), dropout_view(c, 7), c.attrs.get<bool>("causal"),
          static_cast<C>(c.attrs.get<double>("scale")), d, dq_acc.data<C>(), dk.data<T>(),
          dv.data<T>());
      EMBER_CUDA_LAUNCHED();
    });
  }
  if constexpr (!std::is_same_v<T, C>) {
    if (dq.num_elements() > 0) {
      narrow<T, C><<<blocks_for(dq.num_elements()), kThreads, 0, s>>>(
          dq_acc.data<const C>(), dq.data<T>(), dq.num_elements());
      EMBER_CUDA_LAUNCHED();
    }
  }
}

// ---- layer normalisation ------------------------------------------------------------------------

// T: x, y and their gradients; U: gamma, beta and theirs (T, or float32 for
// a 16-bit T); C: the statistics and the arithmetic.
template <typename T, typename U, typename C>
__global__ void layer_norm_rows(const T* __restrict__ x, const U* __restrict__ gamma,
                                const U* __restrict__ beta, int64_t rows, int64_t n, C eps,
                                T* __restrict__ y, C* __restrict__ mean, C* __restrict__ rstd) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = first_warp(); r < rows; r += warps_in_grid()) {  // whole warps
    const T* xr = x + r * n;
    C sum = 0;
    for (int64_t i = lane; i < n; i += 32) sum += static_cast<C>(xr[i]);
    const C mu = warp_sum(sum) / static_cast<C>(n);
    C sq = 0;
    for (int64_t i = lane; i < n; i += 32) {
      const C e = static_cast<C>(xr[i]) - mu;
      sq += e * e;
    }
    const C rs = C(1) / ::sqrt(warp_sum(sq) / static_cast<C>(n) + eps);
    for (int64_t i = lane; i < n; i += 32)
      y[r * n + i] =
          T((static_cast<C>(xr[i]) - mu) * rs * static_cast<C>(gamma[i]) + static_cast<C>(beta[i]));
    if (lane == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
  }
}

template <typename T, typename U, typename C>
__global__ void layer_norm_dx(const T* __restrict__ dy, const T* __restrict__ x,
                              const U* __restrict__ gamma, const C* __restrict__ mean,
                              const C* __restrict__ rstd, int64_t rows, int64_t n,
                              T* __restrict__ dx) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = first_warp(); r < rows; r += warps_in_grid()) {  // whole warps
    const C mu = mean[r], rs = rstd[r];
    C g_sum = 0, gx_sum = 0;
    for (int64_t i = lane; i < n; i += 32) {
      const C g = static_cast<C>(dy[r * n + i]) * static_cast<C>(gamma[i]);
      g_sum += g;
      gx_sum += g * (static_cast<C>(x[r * n + i]) - mu) * rs;
    }
    const C g_mean = warp_sum(g_sum) / static_cast<C>(n),
            gx_mean = warp_sum(gx_sum) / static_cast<C>(n);
    for (int64_t i = lane; i < n; i += 32) {
      const C g = static_cast<C>(dy[r * n + i]) * static_cast<C>(gamma[i]);
      const C xhat = (static_cast<C>(x[r * n + i]) - mu) * rs;
      dx[r * n + i] = T(rs * (g - g_mean - xhat * gx_mean));
    }
  }
}

// Column sums of dy·x̂ and dy over a chunk of rows per blockIdx.y, added atomically.
template <typename T, typename C>
__global__ void layer_norm_dparams(const T* __restrict__ dy, const T* __restrict__ x,
                                   const C* __restrict__ mean, const C* __restrict__ rstd,
                                   int64_t rows, int64_t n, int64_t rows_per_chunk,
                                   C* __restrict__ dgamma, C* __restrict__ dbeta) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_chunk,
                r1 = min(rows, r0 + rows_per_chunk);
  C sg = 0, sb = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const C g = static_cast<C>(dy[r * n + i]);
    sg += g * (static_cast<C>(x[r * n + i]) - mean[r]) * rstd[r];
    sb += g;
  }
  atomicAdd(dgamma + i, sg);
  atomicAdd(dbeta + i, sb);
}

template <typename T, typename U>
void layer_norm_typed(KernelContext& c) {
  using C = Accumulation<T>;
  const auto [rows, n] = rows_of(c.inputs[0]);
  if (rows == 0) return;
  cudaStream_t s = prepare(c);
  layer_norm_rows<T, U, C><<<blocks_for(rows * 32), kThreads, 0, s>>>(
      c.inputs[0].data<const T>(), c.inputs[1].data<const U>(), c.inputs[2].data<const U>(), rows,
      n, static_cast<C>(c.attrs.get<double>("epsilon")), c.outputs[0].data<T>(),
      c.outputs[1].data<C>(), c.outputs[2].data<C>());
  EMBER_CUDA_LAUNCHED();
}

template <typename T, typename U>
void layer_norm_grad_typed(KernelContext& c) {
  using C = Accumulation<T>;
  const auto [rows, n] = rows_of(c.inputs[1]);
  cudaStream_t s = prepare(c);
  Tensor &dgamma = c.outputs[1], &dbeta = c.outputs[2];
  Tensor sums = Tensor::empty({2, std::max<int64_t>(n, 1)}, dtype_of<C>::value, dgamma.device());
  EMBER_CUDA_CHECK(cudaMemsetAsync(sums.raw_data(), 0, sums.nbytes(), s));
  C* pg = sums.data<C>();
  C* pb = pg + std::max<int64_t>(n, 1);
  if (rows > 0 && n > 0) {
    const T *dy = c.inputs[0].data<const T>(), *x = c.inputs[1].data<const T>();
    const C *mean = c.inputs[3].data<const C>(), *rstd = c.inputs[4].data<const C>();
    layer_norm_dx<T, U, C><<<blocks_for(rows * 32), kThreads, 0, s>>>(
        dy, x, c.inputs[2].data<const U>(), mean, rstd, rows, n, c.outputs[0].data<T>());
    EMBER_CUDA_LAUNCHED();
    const int64_t chunks = std::min<int64_t>(rows, 256), per = (rows + chunks - 1) / chunks;
    const dim3 grid(static_cast<unsigned>((n + kThreads - 1) / kThreads),
                    static_cast<unsigned>(chunks));
    layer_norm_dparams<T, C><<<grid, kThreads, 0, s>>>(dy, x, mean, rstd, rows, n, per, pg, pb);
    EMBER_CUDA_LAUNCHED();
  }
  if (n > 0) {
    narrow<U, C><<<blocks_for(n), kThreads, 0, s>>>(pg, dgamma.data<U>(), n);
    EMBER_CUDA_LAUNCHED();
    narrow<U, C><<<blocks_for(n), kThreads, 0, s>>>(pb, dbeta.data<U>(), n);
    EMBER_CUDA_LAUNCHED();
  }
}

void attention_kernel(KernelContext& c) {
  const DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), attention_typed<scalar_t>(c));
}

void attention_grad_kernel(KernelContext& c) {
  const DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), attention_grad_typed<scalar_t>(c));
}

// x's dtype T and gamma's U (T, or float32 for a 16-bit T) pick the kernel.
void layer_norm_kernel(KernelContext& c) {
  const DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), with_parameter_type<scalar_t>(c.inputs[1].dtype(), [&]<typename U>() {
                          (layer_norm_typed<scalar_t, U>)(c);
                        }));
}

void layer_norm_grad_kernel(KernelContext& c) {
  const DType t = c.inputs[1].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), with_parameter_type<scalar_t>(c.inputs[2].dtype(), [&]<typename U>() {
                          (layer_norm_grad_typed<scalar_t, U>)(c);
                        }));
}

EMBER_REGISTER_KERNEL(op_name::ScaledDotProductAttention, CUDA, attention_kernel);
EMBER_REGISTER_KERNEL(op_name::ScaledDotProductAttentionGrad, CUDA, attention_grad_kernel);
EMBER_REGISTER_KERNEL(op_name::LayerNorm, CUDA, layer_norm_kernel);
EMBER_REGISTER_KERNEL(op_name::LayerNormGrad, CUDA, layer_norm_grad_kernel);

}  // namespace
}  // namespace ember::cuda
