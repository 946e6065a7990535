// The reductions' arithmetic, shared by the CPU and CUDA launchers: an
// accumulator type, its identity, one step, merging two partial results, and
// the final value (the mean divides by the count). Floats (the 16-bit ones
// too) accumulate in double, integers in int64 (wrapping back to their width);
// max and min compare 16-bit floats as float32.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/shape.h"
#include "kernels/functors.h"

namespace ember::reduce {

/// A shape seen as [outer, n, inner] around `axis` (negative: from the end):
/// the lines along one axis that argmax and the scans (cumsum, cumprod) walk.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit split_at_axis(const TensorShape& s, int64_t axis) {
  if (axis < 0) axis += s.rank();
  AxisSplit a;
  a.n = s.dim(static_cast<int>(axis));
  for (int i = 0; i < axis; ++i) a.outer *= s.dim(i);
  for (int i = static_cast<int>(axis) + 1; i < s.rank(); ++i) a.inner *= s.dim(i);
  return a;
}

template <typename T>
using acc_t = std::conditional_t<std::is_floating_point_v<T> || is_half_v<T>, double,
                                 std::conditional_t<std::is_same_v<T, bool>, bool, int64_t>>;

/// x as the type it is computed in (float for the 16-bit floats).
template <typename T>
EMBER_HOST_DEVICE fn::compute_t<T> widen(T x) {
  return static_cast<fn::compute_t<T>>(x);
}

template <typename T>
struct SumR {
  using A = acc_t<T>;
  EMBER_HOST_DEVICE static A init() { return A(0); }
  EMBER_HOST_DEVICE static A step(A a, T x) { return fn::wrap_add(a, static_cast<A>(widen(x))); }
  EMBER_HOST_DEVICE static A merge(A a, A b) { return fn::wrap_add(a, b); }
  EMBER_HOST_DEVICE static T finish(A a, int64_t) { return static_cast<T>(a); }
};
template <typename T>
struct MeanR : SumR<T> {
  using A = acc_t<T>;
  EMBER_HOST_DEVICE static T finish(A a, int64_t n) {
    if (n == 0) return static_cast<T>(std::is_integral_v<T> ? A(0) : std::numeric_limits<A>::quiet_NaN());
    return static_cast<T>(a / static_cast<A>(n));
  }
};
template <typename T>
struct ProdR {
  using A = acc_t<T>;
  EMBER_HOST_DEVICE static A init() { return A(1); }
  EMBER_HOST_DEVICE static A step(A a, T x) { return fn::wrap_mul(a, static_cast<A>(widen(x))); }
  EMBER_HOST_DEVICE static A merge(A a, A b) { return fn::wrap_mul(a, b); }
  EMBER_HOST_DEVICE static T finish(A a, int64_t) { return static_cast<T>(a); }
};
/// log Σ eˣ, one logaddexp at a time (floats only): max(a, x) + log1p(e^-|a - x|),
/// exact at ±inf (a + log 2 where the two are equal) and NaN kept.
template <typename T>
struct LogSumExpR {
  using A = acc_t<T>;
  EMBER_HOST_DEVICE static A init() { return -std::numeric_limits<A>::infinity(); }
  EMBER_HOST_DEVICE static A merge(A a, A b) {
    if (a == b) return a + A(0.69314718055994530942);  // (±inf stay)
    const A m = a > b ? a : b, d = a > b ? b - a : a - b;  // d = -|a - b| (NaN if either is)
    return m + std::log1p(std::exp(d));
  }
  EMBER_HOST_DEVICE static A step(A a, T x) { return merge(a, static_cast<A>(widen(x))); }
  EMBER_HOST_DEVICE static T finish(A a, int64_t) { return static_cast<T>(a); }
};
template <typename T>
struct MaxR {
  using A = fn::compute_t<T>;
  EMBER_HOST_DEVICE static A init() {
    return std::is_floating_point_v<A> ? -std::numeric_limits<A>::infinity()
                                       : std::numeric_limits<A>::lowest();
  }
  EMBER_HOST_DEVICE static A step(A a, T x) { return fn::Maximum{}(a, widen(x)); }
  EMBER_HOST_DEVICE static A merge(A a, A b) { return fn::Maximum{}(a, b); }
  EMBER_HOST_DEVICE static T finish(A a, int64_t) { return T(a); }
};
template <typename T>
struct MinR {
  using A = fn::compute_t<T>;
  EMBER_HOST_DEVICE static A init() {
    return std::is_floating_point_v<A> ? std::numeric_limits<A>::infinity()
                                       : std::numeric_limits<A>::max();
  }
  EMBER_HOST_DEVICE static A step(A a, T x) { return fn::Minimum{}(a, widen(x)); }
  EMBER_HOST_DEVICE static A merge(A a, A b) { return fn::Minimum{}(a, b); }
  EMBER_HOST_DEVICE static T finish(A a, int64_t) { return T(a); }
};
struct AllR {
  using A = bool;
  EMBER_HOST_DEVICE static A init() { return true; }
  EMBER_HOST_DEVICE static A step(A a, bool x) { return a && x; }
  EMBER_HOST_DEVICE static A merge(A a, A b) { return a && b; }
  EMBER_HOST_DEVICE static bool finish(A a, int64_t) { return a; }
};
struct AnyR {
  using A = bool;
  EMBER_HOST_DEVICE static A init() { return false; }
  EMBER_HOST_DEVICE static A step(A a, bool x) { return a || x; }
  EMBER_HOST_DEVICE static A merge(A a, A b) { return a || b; }
  EMBER_HOST_DEVICE static bool finish(A a, int64_t) { return a; }
};

template <typename>
using AllRT = AllR;
template <typename>
using AnyRT = AnyR;

/// Index of the largest (kMax) or smallest element of p[0], p[stride], ...,
/// p[(n-1)·stride]: the first one on ties, and the first NaN, as NumPy.
template <bool kMax, typename T>
EMBER_HOST_DEVICE int64_t arg_extreme(const T* p, int64_t n, int64_t stride) {
  using C = fn::compute_t<T>;
  int64_t best = 0;
  C bv = widen(p[0]);
  for (int64_t i = 1; i < n; ++i) {
    C v = widen(p[i * stride]);
    bool better;
    if constexpr (std::is_floating_point_v<C>)
      better = bv == bv && (v != v || (kMax ? v > bv : v < bv));
    else
      better = kMax ? v > bv : v < bv;
    if (better) {
      best = i;
      bv = v;
    }
  }
  return best;
}

/// A running reduction along one line (Cumsum with R = SumR, Cumprod with
/// ProdR): y[i] reduces x[j] for j before i (exclusive) or up to i, or after
/// it with `reverse`; n elements `stride` apart. Accumulated as the
/// reduction R does, each output rounded once.
template <template <typename> class R, typename T>
EMBER_HOST_DEVICE void scan_line(const T* x, T* y, int64_t n, int64_t stride, bool exclusive, bool reverse) {
  typename R<T>::A a = R<T>::init();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t at = (reverse ? n - 1 - k : k) * stride;
    const T v = x[at];
    if (!exclusive) a = R<T>::step(a, v);
    y[at] = R<T>::finish(a, 0);
    if (exclusive) a = R<T>::step(a, v);
  }
}

/// The shift softmax subtracts from a row whose maximum is `m`: m itself, but
/// 0 for a row of -inf (so exp(x - m) is not inf - inf) and NaN kept.
template <typename T>
EMBER_HOST_DEVICE T softmax_shift(T m) {
  if (m - m == T(0)) return m;  // finite
  return m != m ? m : T(0);
}

}  // namespace ember::reduce
