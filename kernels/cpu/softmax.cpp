// Softmax and log-softmax over the last axis, one row at a time: a max pass,
// a pass that sums exp(x - max) (softmax also stores the exponentials), and
// a write pass. A row is read from memory once; the later passes hit cache.
#include <cmath>
#include <cstring>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/widen.h"
#include "kernels/cpu/vec.h"
#include "kernels/functors.h"
#include "kernels/reducers.h"

namespace ember::cpu {
namespace {

template <typename T>
T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    // Four independent chains, so the loop is not bound by vmaxps latency.
    vec::f8 m0 = vec::splat(m), m1 = m0, m2 = m0, m3 = m0;
    for (; i + 32 <= n; i += 32) {
      m0 = vec::max(m0, vec::load(x + i));
      m1 = vec::max(m1, vec::load(x + i + 8));
      m2 = vec::max(m2, vec::load(x + i + 16));
      m3 = vec::max(m3, vec::load(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) m0 = vec::max(m0, vec::load(x + i));
    m = vec::hmax(vec::max(vec::max(m0, m1), vec::max(m2, m3)));
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// Σ exp(x[i] - m), storing each exponential in y when given.
template <typename T>
T sum_exp(const T* x, T* y, int64_t n, T m) {
  T sum = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    // Two exponentials per iteration into two sums: independent chains the
    // core can overlap.
    vec::f8 a0 = vec::splat(0), a1 = a0, mv = vec::splat(m);
    auto pairs = [&](auto exp) {
      for (; i + 16 <= n; i += 16) {
        vec::f8 e0 = exp(vec::load(x + i) - mv), e1 = exp(vec::load(x + i + 8) - mv);
        if (y) {
          vec::store(y + i, e0);
          vec::store(y + i + 8, e1);
        }
        a0 += e0;
        a1 += e1;
      }
    };
    // With a finite max, every x - m is <= 0 (or NaN): the cheaper exp,
    // 16 lanes at a time where the CPU has them.
    if (m - m == 0.0f) {
#ifdef __AVX512F__
      using f16 = float __attribute__((vector_size(64)));
      using i16 = int32_t __attribute__((vector_size(64)));
      f16 b0 = f16{}, b1 = f16{}, m16 = f16{} + m;
      for (; i + 32 <= n; i += 32) {
        f16 v0, v1;
        std::memcpy(&v0, x + i, sizeof v0);
        std::memcpy(&v1, x + i + 16, sizeof v1);
        f16 e0 = vec::exp_nonpositive<f16, i16>(v0 - m16), e1 = vec::exp_nonpositive<f16, i16>(v1 - m16);
        if (y) {
          std::memcpy(y + i, &e0, sizeof e0);
          std::memcpy(y + i + 16, &e1, sizeof e1);
        }
        b0 += e0;
        b1 += e1;
      }
      f16 b = b0 + b1;
      for (int l = 0; l < 8; ++l) {
        a0[l] += b[l];
        a1[l] += b[l + 8];
      }
#endif
      pairs([](vec::f8 v) { return vec::exp8_nonpositive(v); });
    } else {
      pairs([](vec::f8 v) { return vec::exp8(v); });
    }
    for (; i + 8 <= n; i += 8) {
      vec::f8 e = vec::exp8(vec::load(x + i) - mv);
      if (y) vec::store(y + i, e);
      a0 += e;
    }
    sum = vec::hsum(a0 + a1);
  }
  for (; i < n; ++i) {
    T e = fn::exp_(x[i] - m);
    if (y) y[i] = e;
    sum += e;
  }
  return sum;
}

template <typename T, bool kLog>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) {
                   const T* xr = x + r * n;
                   T* yr = y + r * n;
                   T m = row_max(xr, n);
                   m = reduce::softmax_shift(m);
                   if constexpr (kLog) {
                     T shift = m + std::log(sum_exp<T>(xr, nullptr, n, m));
                     for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] - shift;
                   } else {
                     T inv = T(1) / sum_exp<T>(xr, yr, n, m);
                     for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
                   }
                 }
               });
}

// The 16-bit floats: each row widened to float32, computed there and rounded
// once on the way out.
template <typename H, bool kLog>
void softmax_rows_half(const H* x, H* y, int64_t rows, int64_t n) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<float> in(static_cast<size_t>(n)), out(static_cast<size_t>(n));
                 for (int64_t r = b; r < e; ++r) {
                   for (int64_t i = 0; i < n; ++i) in[static_cast<size_t>(i)] = float(x[r * n + i]);
                   softmax_rows<float, kLog>(in.data(), out.data(), 1, n);
                   for (int64_t i = 0; i < n; ++i) y[r * n + i] = H(out[static_cast<size_t>(i)]);
                 }
               });
}

template <bool kLog>
void softmax_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  int64_t n = x.dim(x.rank() - 1);
  if (x.num_elements() == 0) return;
  int64_t rows = x.num_elements() / n;
  Tensor& y = c.outputs[0];
  switch (x.dtype()) {
    case float32:
      return softmax_rows<float, kLog>(x.data<const float>(), y.data<float>(), rows, n);
    case float64:
      return softmax_rows<double, kLog>(x.data<const double>(), y.data<double>(), rows, n);
    case bfloat16:
      return softmax_rows_half<bfloat16_t, kLog>(x.data<const bfloat16_t>(), y.data<bfloat16_t>(),
                                                 rows, n);
    case float16:
      return softmax_rows_half<float16_t, kLog>(x.data<const float16_t>(), y.data<float16_t>(),
                                                rows, n);
    default:
      unsupported_dtype(c, x.dtype());
  }
}

// ---- cross-entropy with logits: per row, the softmax's exponentials go
// straight into backprop, then loss = Σ labels·(log Σexp - (x - m)) and
// backprop = exp/Σexp - labels.

template <typename T, bool kSparse, typename L>
void xent_rows(const T* x, const L* labels, T* loss, T* bp, int64_t rows, int64_t n) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) {
                   const T* xr = x + r * n;
                   T* br = bp + r * n;
                   T m = reduce::softmax_shift(row_max(xr, n));
                   T sum = sum_exp<T>(xr, br, n, m);
                   T lse = std::log(sum), inv = T(1) / sum;
                   if constexpr (kSparse) {
                     auto l = static_cast<int64_t>(labels[r]);
                     for (int64_t i = 0; i < n; ++i) br[i] *= inv;
                     br[l] -= T(1);
                     loss[r] = lse - (xr[l] - m);
                   } else {
                     const L* lr = labels + r * n;
                     T acc = 0;
                     for (int64_t i = 0; i < n; ++i) {
                       acc += lr[i] * (lse - (xr[i] - m));
                       br[i] = br[i] * inv - lr[i];
                     }
                     loss[r] = acc;
                   }
                 }
               });
}

// The 16-bit floats: rows widened to float32 once, each output rounded once.
template <typename T, bool kSparse>
void xent_typed(KernelContext& c, int64_t rows, int64_t n) {
  using C = compute_t<T>;
  Tensor kx, kl;
  const C* x = widened<C>(c.inputs[0], kx);
  const Tensor& labels = c.inputs[1];
  Staged<T, C> loss(c.outputs[0]), bp(c.outputs[1]);
  if constexpr (kSparse) {
    EMBER_SWITCH_INDEX(labels.dtype(), unsupported_dtype(c, labels.dtype()),
                       (xent_rows<C, true>(x, labels.data<const scalar_t>(), loss.data(), bp.data(), rows, n)));
  } else {
    xent_rows<C, false>(x, widened<C>(labels, kl), loss.data(), bp.data(), rows, n);
  }
  loss.finish();
  bp.finish();
}

template <bool kSparse>
void xent_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& labels = c.inputs[1];
  int64_t rows = x.dim(0), n = x.dim(1);
  if (rows == 0) return;
  if constexpr (kSparse) {
    // TensorFlow's CPU kernel's check, made before anything is written.
    EMBER_SWITCH_INDEX(labels.dtype(), unsupported_dtype(c, labels.dtype()), {
      const scalar_t* l = labels.data<const scalar_t>();
      for (int64_t r = 0; r < rows; ++r)
        EMBER_CHECK(l[r] >= 0 && l[r] < n, InvalidArgument, "[", c.op.api_name,
                    "] Received a label value of ", static_cast<int64_t>(l[r]),
                    " which is outside the valid range of [0, ", n, ").");
    });
    if (n == 0) return;
  }
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()), (xent_typed<scalar_t, kSparse>(c, rows, n)));
}

EMBER_REGISTER_KERNEL(op_name::SoftmaxCrossEntropyWithLogits, CPU, xent_kernel<false>);
EMBER_REGISTER_KERNEL(op_name::SparseSoftmaxCrossEntropyWithLogits, CPU, xent_kernel<true>);
EMBER_REGISTER_KERNEL(op_name::Softmax, CPU, softmax_kernel<false>);
EMBER_REGISTER_KERNEL(op_name::LogSoftmax, CPU, softmax_kernel<true>);

}  // namespace
}  // namespace ember::cpu
