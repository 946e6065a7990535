// Explicit 8-wide float vectors (GCC/Clang vector extensions) for the CPU
// kernels whose loops the compiler will not vectorise on its own: float sums
// (it may not reassociate them) and exp (its clamps and bit tricks defeat
// if-conversion). exp8 is fn::fast_exp (kernels/functors.h) lane by lane: it
// calls the same fn::exp_reduced and uses the same constants.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/functors.h"

namespace ember::cpu::vec {

using f8 = float __attribute__((vector_size(32)));
using i8 = int32_t __attribute__((vector_size(32)));

inline f8 load(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, f8 v) { std::memcpy(p, &v, sizeof v); }
inline f8 splat(float x) { return f8{} + x; }
inline f8 max(f8 a, f8 b) { return a > b ? a : b; }
inline float hmax(f8 v) {
  float m = v[0];
  for (int i = 1; i < 8; ++i) m = v[i] > m ? v[i] : m;
  return m;
}
inline float hsum(f8 v) {
  float s = 0;
  for (int i = 0; i < 8; ++i) s += v[i];
  return s;
}

inline f8 exp8(f8 x) {
  f8 xc = x > fn::kExpHi ? splat(fn::kExpHi) : x;
  xc = xc < fn::kExpLo ? splat(fn::kExpLo) : xc;
  f8 t = xc * fn::kLog2e + 0.5f;
  f8 tt = __builtin_convertvector(__builtin_convertvector(t, i8), f8);  // truncate
  f8 n = tt > t ? tt - 1.0f : tt;                                       // floor
  f8 p = fn::exp_reduced(xc, n);
  i8 e = (__builtin_convertvector(n, i8) + 127) << 23;
  f8 y = p * (f8)e;  // reinterprets the bits (same-size vector cast)
  y = x > fn::kExpHi ? splat(std::numeric_limits<float>::infinity()) : y;
  y = x < fn::kExpLo ? splat(0.0f) : y;
  return x != x ? x : y;
}

/// exp for arguments that are <= 0 or NaN (x - max in a softmax row, the
/// max finite), for float vectors F of any width with int32 vectors I of the
/// same: exp8's bits there, without the overflow clamp and selects such
/// arguments never need (a NaN still gives NaN).
template <typename F, typename I>
inline F exp_nonpositive(F x) {
  F xc = x < fn::kExpLo ? F{} + fn::kExpLo : x;
  F t = xc * fn::kLog2e + 0.5f;
  F tt = __builtin_convertvector(__builtin_convertvector(t, I), F);  // truncate
  F n = tt > t ? tt - 1.0f : tt;                                     // floor
  F p = fn::exp_reduced(xc, n);
  I e = (__builtin_convertvector(n, I) + 127) << 23;
  F y = p * (F)e;
  return x < fn::kExpLo ? F{} : y;
}
inline f8 exp8_nonpositive(f8 x) { return exp_nonpositive<f8, i8>(x); }

/// fn::tanh_cephes, 8 lanes at a time: the same bits as the scalar functor.
inline f8 tanh8(f8 x) {
  return fn::tanh_cephes(x, [](f8 v) { return exp8(v); });
}

}  // namespace ember::cpu::vec
