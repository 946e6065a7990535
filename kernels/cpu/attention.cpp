// CPU kernels of the transformer's fused ops (core/ops/attention.cpp).
//
// Attention is FlashAttention's algorithm on BLAS tiles: a task is one
// (batch, head) and a block of kQueryBlock queries; it walks the keys in
// blocks of kKeyBlock, forming the block's scores with one GEMM, folding
// them into each row's running maximum and sum (the online softmax) and the
// probabilities times v into the output with a second GEMM. Nothing of
// seq_q × seq_k is held but one block. The backward pass is one task per
// (batch, head): per block pair it recomputes the probabilities from the
// saved logsumexp and accumulates dv, dq and dk with four GEMMs. Dropout
// multiplies each block's probabilities by multipliers drawn per element
// from the seed's stream (kernels/attention.h), forward and backward alike.
// 16-bit inputs are widened to float32 a (batch, head) slice at a time into
// the task's scratch (in cache, never a whole float32 copy), float32
// accumulates, each 16-bit output is rounded once from it; float64 runs in
// float64; oneDNN's sgemm and OpenBLAS's dgemm run on the calling thread
// inside the tasks' parallel region.
#include "kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec.h"
#include "kernels/cpu/widen.h"

namespace ember::cpu {
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

constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 128;

template <typename C>
constexpr C kNegInf = -std::numeric_limits<C>::infinity();

// Sets the scores of query i against keys [j0, j0 + cols) that it does not
// attend to -inf: keys past the query (causal), those the mask leaves out.
template <typename C>
void mask_row(C* s, int64_t cols, int64_t i, int64_t j0, bool causal, const MaskView& mask,
              int64_t b, int64_t h) {
  if (causal)
    for (int64_t c = std::max<int64_t>(0, i - j0 + 1); c < cols; ++c) s[c] = kNegInf<C>;
  if (mask.data) {
    for (int64_t c = 0; c < cols; ++c)
      if (!mask.attends(b, h, i, j0 + c)) s[c] = kNegInf<C>;
  }
}

// x[i] = exp(x[i] - shift) in place (-inf gives 0); returns the sum.
template <typename C>
C exp_shifted(C* x, int64_t n, C shift) {
  C sum = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<C, float>) {
    vec::f8 acc = vec::splat(0.0f), sv = vec::splat(shift);
    for (; i + 8 <= n; i += 8) {
      vec::f8 e = vec::exp8(vec::load(x + i) - sv);
      vec::store(x + i, e);
      acc += e;
    }
    sum = vec::hsum(acc);
  }
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

// The keys query block [i0, i0 + rows) may attend to: all, or (causal) up
// to its last query.
int64_t key_end(const Dims& d, bool causal, int64_t i0, int64_t rows) {
  return causal ? std::min(d.seq_k, i0 + rows) : d.seq_k;
}

// A (batch, head) slice of `n` elements of T as C: the slice itself when T
// is C, else widened into `buf` (the task's scratch, in cache: a 16-bit
// input is never copied whole into float32 memory).
template <typename C, typename T>
const C* as_accumulation(const T* p, int64_t n, std::vector<C>& buf) {
  if constexpr (std::is_same_v<T, C>) {
    return p;
  } else {
    buf.resize(static_cast<size_t>(n));
    widen_run(p, buf.data(), n);
    return buf.data();
  }
}

// Where a slice of `n` outputs of T accumulates: the output itself, or
// `buf`, which `round_into` then writes out (each element rounded once).
template <typename C, typename T>
C* accumulator(T* p, int64_t n, std::vector<C>& buf) {
  if constexpr (std::is_same_v<T, C>) {
    return p;
  } else {
    buf.resize(static_cast<size_t>(n));
    return buf.data();
  }
}
template <typename C, typename T>
void round_into(const C* acc, T* p, int64_t n) {
  if constexpr (!std::is_same_v<T, C>) narrow_run(acc, p, n);
}

// Multiplies the probabilities of query i against keys [j0, j0 + cols) by
// their dropout multipliers.
template <typename C>
void drop_row(C* p, int64_t cols, int64_t bh, int64_t i, int64_t j0, const Dims& d,
              const DropoutView& drop) {
  const int64_t flat = (bh * d.seq_q + i) * d.seq_k + j0;
  for (int64_t c = 0; c < cols; ++c) p[c] *= drop.scale_at<C>(flat + c);
}

template <typename T, typename C>
void attention_forward(const Dims& d, const T* q, const T* k, const T* v, const MaskView& mask,
                       const DropoutView& drop, bool causal, C scale, T* out, C* lse) {
  const int64_t query_blocks = (d.seq_q + kQueryBlock - 1) / kQueryBlock;
  parallel_for(d.batch * d.heads * query_blocks, 1, [&](int64_t lo, int64_t hi) {
    std::vector<C> s(static_cast<size_t>(kQueryBlock * kKeyBlock)), m(kQueryBlock), l(kQueryBlock);
    std::vector<C> wq, wk, wv, wo;  // 16-bit T: the task's slices in C
    for (int64_t task = lo; task < hi; ++task) {
      const int64_t bh = task / query_blocks, b = bh / d.heads, h = bh % d.heads;
      const int64_t i0 = (task % query_blocks) * kQueryBlock,
                    rows = std::min(kQueryBlock, d.seq_q - i0);
      const int64_t kend = key_end(d, causal, i0, rows);
      const C* Q = as_accumulation(q + (bh * d.seq_q + i0) * d.head_dim, rows * d.head_dim, wq);
      const C* K = as_accumulation(k + bh * d.seq_k * d.head_dim, kend * d.head_dim, wk);
      const C* V = as_accumulation(v + bh * d.seq_k * d.value_dim, kend * d.value_dim, wv);
      T* out_rows = out + (bh * d.seq_q + i0) * d.value_dim;
      C* O = accumulator(out_rows, rows * d.value_dim, wo);
      std::fill(O, O + rows * d.value_dim, C(0));
      std::fill(m.begin(), m.end(), kNegInf<C>);
      std::fill(l.begin(), l.end(), C(0));
      for (int64_t j0 = 0; j0 < kend; j0 += kKeyBlock) {
        const int64_t cols = std::min(kKeyBlock, kend - j0);
        gemm<C>(false, true, rows, cols, d.head_dim, scale, Q, d.head_dim, K + j0 * d.head_dim,
                d.head_dim, C(0), s.data(), cols);
        for (int64_t r = 0; r < rows; ++r) {
          C* sr = s.data() + r * cols;
          const int64_t i = i0 + r;
          mask_row(sr, cols, i, j0, causal, mask, b, h);
          C mx = kNegInf<C>;
          for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, sr[c]);
          const C mnew = std::max(m[r], mx);
          if (mnew == kNegInf<C>) {  // attends to nothing yet
            std::fill(sr, sr + cols, C(0));
            continue;
          }
          const C correction = std::exp(m[r] - mnew);  // 0 while m is -inf
          if (correction != C(1)) {
            l[r] *= correction;
            C* Or = O + r * d.value_dim;
            for (int64_t e = 0; e < d.value_dim; ++e) Or[e] *= correction;
          }
          l[r] += exp_shifted(sr, cols, mnew);
          m[r] = mnew;
          if (drop.on()) drop_row(sr, cols, bh, i, j0, d, drop);  // (the sum above keeps every one)
        }
        gemm<C>(false, false, rows, d.value_dim, cols, C(1), s.data(), cols, V + j0 * d.value_dim,
                d.value_dim, C(1), O, d.value_dim);
      }
      for (int64_t r = 0; r < rows; ++r) {
        C* Or = O + r * d.value_dim;
        const C inv = l[r] > C(0) ? C(1) / l[r] : C(0);  // a row that attends to nothing: zeros
        for (int64_t e = 0; e < d.value_dim; ++e) Or[e] *= inv;
        lse[bh * d.seq_q + i0 + r] = l[r] > C(0) ? m[r] + std::log(l[r]) : kNegInf<C>;
      }
      round_into(O, out_rows, rows * d.value_dim);
    }
  });
}

template <typename T, typename C>
void attention_backward(const Dims& d, const T* q, const T* k, const T* v, const T* out,
                        const C* lse, const T* dout, const C* dlse, const MaskView& mask,
                        const DropoutView& drop, bool causal, C scale, T* dq, T* dk, T* dv) {
  parallel_for(d.batch * d.heads, 1, [&](int64_t lo, int64_t hi) {
    // p: the probabilities P; kept: D∘P, with D the dropout multipliers (with dropout).
    std::vector<C> p(static_cast<size_t>(kQueryBlock * kKeyBlock)), ds(p.size()),
        kept(drop.on() ? p.size() : 0), delta(static_cast<size_t>(d.seq_q));
    std::vector<C> wq, wk, wv, wo, wdo, wdq, wdk, wdv;  // 16-bit T: the (batch, head) slices in C
    for (int64_t bh = lo; bh < hi; ++bh) {
      const int64_t b = bh / d.heads, h = bh % d.heads;
      const int64_t nq = d.seq_q * d.head_dim, nk = d.seq_k * d.head_dim, nv = d.seq_k * d.value_dim,
                    no = d.seq_q * d.value_dim;
      const C* Q = as_accumulation(q + bh * nq, nq, wq);
      const C* K = as_accumulation(k + bh * nk, nk, wk);
      const C* V = as_accumulation(v + bh * nv, nv, wv);
      const C* O = as_accumulation(out + bh * no, no, wo);
      const C* dO = as_accumulation(dout + bh * no, no, wdo);
      const C* L = lse + bh * d.seq_q;
      C* dQ = accumulator(dq + bh * nq, nq, wdq);
      C* dK = accumulator(dk + bh * nk, nk, wdk);
      C* dV = accumulator(dv + bh * nv, nv, wdv);
      std::fill(dQ, dQ + nq, C(0));
      std::fill(dK, dK + nk, C(0));
      std::fill(dV, dV + nv, C(0));
      // δ_i = dO_i·O_i - d_logsumexp_i.
      for (int64_t i = 0; i < d.seq_q; ++i) {
        const C* o = O + i * d.value_dim;
        const C* g = dO + i * d.value_dim;
        C sum = 0;
        for (int64_t e = 0; e < d.value_dim; ++e) sum += g[e] * o[e];
        delta[static_cast<size_t>(i)] = sum - dlse[bh * d.seq_q + i];
      }
      for (int64_t i0 = 0; i0 < d.seq_q; i0 += kQueryBlock) {
        const int64_t rows = std::min(kQueryBlock, d.seq_q - i0);
        const int64_t kend = key_end(d, causal, i0, rows);
        for (int64_t j0 = 0; j0 < kend; j0 += kKeyBlock) {
          const int64_t cols = std::min(kKeyBlock, kend - j0);
          gemm<C>(false, true, rows, cols, d.head_dim, scale, Q + i0 * d.head_dim, d.head_dim,
                  K + j0 * d.head_dim, d.head_dim, C(0), p.data(), cols);
          for (int64_t r = 0; r < rows; ++r) {
            C* pr = p.data() + r * cols;
            const int64_t i = i0 + r;
            mask_row(pr, cols, i, j0, causal, mask, b, h);
            if (L[i] == kNegInf<C>) {  // attends to nothing: no gradient
              std::fill(pr, pr + cols, C(0));
            } else {
              exp_shifted(pr, cols, L[i]);
            }
          }
          if (drop.on()) {
            std::copy(p.begin(), p.begin() + rows * cols, kept.begin());
            for (int64_t r = 0; r < rows; ++r)
              drop_row(kept.data() + r * cols, cols, bh, i0 + r, j0, d, drop);
          }
          // dV_j += (D∘P)ᵀ dO_i; dP = dO_i V_jᵀ; dS = P∘(D∘dP - δ).
          gemm<C>(true, false, cols, d.value_dim, rows, C(1), drop.on() ? kept.data() : p.data(),
                  cols, dO + i0 * d.value_dim, d.value_dim, C(1), dV + j0 * d.value_dim,
                  d.value_dim);
          gemm<C>(false, true, rows, cols, d.value_dim, C(1), dO + i0 * d.value_dim, d.value_dim,
                  V + j0 * d.value_dim, d.value_dim, C(0), ds.data(), cols);
          for (int64_t r = 0; r < rows; ++r) {
            const C dr = delta[static_cast<size_t>(i0 + r)];
            C* dsr = ds.data() + r * cols;
            const C* pr = p.data() + r * cols;
            if (drop.on()) {  // P∘(D∘dP - δ) = (D∘P)∘dP - P·δ
              const C* kr = kept.data() + r * cols;
              for (int64_t c = 0; c < cols; ++c) dsr[c] = kr[c] * dsr[c] - pr[c] * dr;
            } else {
              for (int64_t c = 0; c < cols; ++c) dsr[c] = pr[c] * (dsr[c] - dr);
            }
          }
          // dQ_i += scale·dS K_j; dK_j += scale·dSᵀ Q_i.
          gemm<C>(false, false, rows, d.head_dim, cols, scale, ds.data(), cols, K + j0 * d.head_dim,
                  d.head_dim, C(1), dQ + i0 * d.head_dim, d.head_dim);
          gemm<C>(true, false, cols, d.head_dim, rows, scale, ds.data(), cols, Q + i0 * d.head_dim,
                  d.head_dim, C(1), dK + j0 * d.head_dim, d.head_dim);
        }
      }
      round_into(dQ, dq + bh * nq, nq);
      round_into(dK, dk + bh * nk, nk);
      round_into(dV, dv + bh * nv, nv);
    }
  });
}

template <typename T>
void attention_typed(KernelContext& c) {
  using C = Accumulation<T>;
  attention_forward<T, C>(dims_of(c), c.inputs[0].data<const T>(), c.inputs[1].data<const T>(),
                          c.inputs[2].data<const T>(), mask_view(c, 3), dropout_view(c, 3),
                          c.attrs.get<bool>("causal"), static_cast<C>(c.attrs.get<double>("scale")),
                          c.outputs[0].data<T>(), c.outputs[1].data<C>());
}

template <typename T>
void attention_grad_typed(KernelContext& c) {
  using C = Accumulation<T>;
  attention_backward<T, C>(dims_of(c), c.inputs[0].data<const T>(), c.inputs[1].data<const T>(),
                           c.inputs[2].data<const T>(), c.inputs[3].data<const T>(), c.inputs[4].data<const C>(),
                           c.inputs[5].data<const T>(), c.inputs[6].data<const C>(), mask_view(c, 7),
                           dropout_view(c, 7), c.attrs.get<bool>("causal"),
                           static_cast<C>(c.attrs.get<double>("scale")), c.outputs[0].data<T>(),
                           c.outputs[1].data<T>(), c.outputs[2].data<T>());
}

void attention_kernel(KernelContext& c) {
  const DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), attention_typed<scalar_t>(c));
}

void attention_grad_kernel(KernelContext& c) {
  const DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), attention_grad_typed<scalar_t>(c));
}

// ---- layer normalisation: one row per feature vector -------------------------------------------
// T: x, y and their gradients; U: gamma, beta and theirs (T, or float32 for
// a 16-bit T); C: the statistics and the arithmetic. With C float32 the rows
// run eight lanes at a time (vec::load_float widens 16-bit elements, and
// store_float rounds each result once), the sums in eight partial sums.

// A row's Σ f(i) over i < n: f(i) a vector of lanes i .. i + 7 for whole
// groups of eight, then a scalar for the tail.
template <typename C, typename V, typename S>
C row_sum(int64_t n, V lanes, S scalar) {
  C sum = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<C, float>) {
    vec::f8 acc{};
    for (; i + 8 <= n; i += 8) acc += lanes(i);
    sum = vec::hsum(acc);
  }
  for (; i < n; ++i) sum += scalar(i);
  return sum;
}

template <typename T, typename U>
void layer_norm_typed(KernelContext& c) {
  using C = Accumulation<T>;
  const Tensor &x = c.inputs[0], &gamma = c.inputs[1], &beta = c.inputs[2];
  const auto [rows, n] = rows_of(x);
  const C eps = static_cast<C>(c.attrs.get<double>("epsilon"));
  const T* px = x.data<const T>();
  const U* pg = gamma.data<const U>();
  const U* pb = beta.data<const U>();
  T* py = c.outputs[0].data<T>();
  C* mean = c.outputs[1].data<C>();
  C* rstd = c.outputs[2].data<C>();
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t r = lo; r < hi; ++r) {
                   const T* xr = px + r * n;
                   auto xs = [&](int64_t i) { return static_cast<C>(xr[i]); };
                   // (the lanes' lambdas generic: instantiated only where C is float)
                   const C mu = row_sum<C>(n, [&](auto i) { return vec::load_float(xr + i); }, xs) /
                                static_cast<C>(n);
                   const C sq = row_sum<C>(
                       n,
                       [&](auto i) {
                         const vec::f8 e = vec::load_float(xr + i) - mu;
                         return e * e;
                       },
                       [&](int64_t i) { return (xs(i) - mu) * (xs(i) - mu); });
                   const C rs = C(1) / std::sqrt(sq / static_cast<C>(n) + eps);
                   T* yr = py + r * n;
                   int64_t i = 0;
                   if constexpr (std::is_same_v<C, float>)
                     for (; i + 8 <= n; i += 8)
                       vec::store_float(yr + i, (vec::load_float(xr + i) - mu) * rs * vec::load_float(pg + i) +
                                                    vec::load_float(pb + i));
                   for (; i < n; ++i)
                     yr[i] = T((xs(i) - mu) * rs * static_cast<C>(pg[i]) + static_cast<C>(pb[i]));
                   mean[r] = mu;
                   rstd[r] = rs;
                 }
               });
}

template <typename T, typename U>
void layer_norm_grad_typed(KernelContext& c) {
  using C = Accumulation<T>;
  const Tensor &dy = c.inputs[0], &x = c.inputs[1], &gamma = c.inputs[2];
  const auto [rows, n] = rows_of(x);
  const T* pdy = dy.data<const T>();
  const T* px = x.data<const T>();
  const U* pg = gamma.data<const U>();
  const C* mean = c.inputs[3].data<const C>();
  const C* rstd = c.inputs[4].data<const C>();
  T* pdx = c.outputs[0].data<T>();
  // dgamma and dbeta sum over rows: one partial pair per chunk of rows, added in order.
  const int64_t chunks =
      std::clamp<int64_t>(rows * n / kParallelGrain, 1,
                          std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(rows, 1)));
  std::vector<C> partial(static_cast<size_t>(chunks * 2 * n), C(0));
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      C* dgamma = partial.data() + ch * 2 * n;
      C* dbeta = dgamma + n;
      for (int64_t r = ch * rows / chunks; r < (ch + 1) * rows / chunks; ++r) {
        const T* dyr = pdy + r * n;
        const T* xr = px + r * n;
        const C mu = mean[r], rs = rstd[r];
        // g = dy·gamma, x̂ = (x - mean)·rstd: Σg and Σg·x̂ over the row,
        // dy·x̂ and dy into the chunk's column sums.
        C g_mean = 0, gx_mean = 0;
        int64_t i = 0;
        if constexpr (std::is_same_v<C, float>) {
          vec::f8 gs{}, gxs{};
          for (; i + 8 <= n; i += 8) {
            const vec::f8 d = vec::load_float(dyr + i), g = d * vec::load_float(pg + i);
            const vec::f8 xhat = (vec::load_float(xr + i) - mu) * rs;
            gs += g;
            gxs += g * xhat;
            vec::store(dgamma + i, vec::load(dgamma + i) + d * xhat);
            vec::store(dbeta + i, vec::load(dbeta + i) + d);
          }
          g_mean = vec::hsum(gs);
          gx_mean = vec::hsum(gxs);
        }
        for (; i < n; ++i) {
          const C d = static_cast<C>(dyr[i]), g = d * static_cast<C>(pg[i]);
          const C xhat = (static_cast<C>(xr[i]) - mu) * rs;
          g_mean += g;
          gx_mean += g * xhat;
          dgamma[i] += d * xhat;
          dbeta[i] += d;
        }
        g_mean /= static_cast<C>(n);
        gx_mean /= static_cast<C>(n);
        // dx = rstd·(g - mean(g) - x̂·mean(g·x̂))
        T* dxr = pdx + r * n;
        i = 0;
        if constexpr (std::is_same_v<C, float>)
          for (; i + 8 <= n; i += 8) {
            const vec::f8 g = vec::load_float(dyr + i) * vec::load_float(pg + i);
            const vec::f8 xhat = (vec::load_float(xr + i) - mu) * rs;
            vec::store_float(dxr + i, rs * (g - g_mean - xhat * gx_mean));
          }
        for (; i < n; ++i) {
          const C g = static_cast<C>(dyr[i]) * static_cast<C>(pg[i]);
          const C xhat = (static_cast<C>(xr[i]) - mu) * rs;
          dxr[i] = T(rs * (g - g_mean - xhat * gx_mean));
        }
      }
    }
  });
  U* dgamma = c.outputs[1].data<U>();
  U* dbeta = c.outputs[2].data<U>();
  for (int64_t i = 0; i < n; ++i) {
    C sg = 0, sb = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      sg += partial[static_cast<size_t>(ch * 2 * n + i)];
      sb += partial[static_cast<size_t>(ch * 2 * n + n + i)];
    }
    dgamma[i] = U(sg);
    dbeta[i] = U(sb);
  }
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

EMBER_REGISTER_KERNEL(op_name::ScaledDotProductAttention, CPU, attention_kernel);
EMBER_REGISTER_KERNEL(op_name::ScaledDotProductAttentionGrad, CPU, attention_grad_kernel);
EMBER_REGISTER_KERNEL(op_name::LayerNorm, CPU, layer_norm_kernel);
EMBER_REGISTER_KERNEL(op_name::LayerNormGrad, CPU, layer_norm_grad_kernel);

}  // namespace
}  // namespace ember::cpu
