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

/// tanh for float32 (Cephes tanhf): a polynomial below |x| = 0.625, else
/// 1 - 2 / (exp(2|x|) + 1) with the sign of x. About 2 ulp.
inline f8 tanh8(f8 x) {
  f8 ax = x < 0 ? -x : x;
  f8 z = x * x;
  f8 p = splat(-5.70498872745e-3f);
  p = p * z + 2.06390887954e-2f;
  p = p * z + -5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z + -3.33332819422e-1f;
  f8 small = x + x * z * p;
  f8 large = 1.0f - 2.0f / (exp8(ax + ax) + 1.0f);
  large = x < 0 ? -large : large;
  f8 y = ax < 0.625f ? small : large;
  return x != x ? x : y;
}

}  // namespace ember::cpu::vec
