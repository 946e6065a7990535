// log, sin and cos that give the same bits on the CPU and in CUDA kernels,
// for the random normals (Box-Muller) both backends must draw identically.
// libm and CUDA's math library each round their own way (a last-bit
// difference is allowed to both), and compilers fuse a*b+c into one FMA on
// one side and not the other; so these are written out in IEEE basic
// operations only, with fusion off: __fadd_rn/__fmul_rn/... in device code
// (never contracted), and the host functions compiled without contraction.
//
// Domains, which is all Box-Muller needs: log for positive normal numbers,
// sincos for 0 <= x <= 2*pi. Accuracy is within 2 ulp (tests/random_test.cpp
// checks them against libm); sameness is the point.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/host_device.h"

#if defined(__CUDA_ARCH__)
#define EMBER_EXACT_FN __device__ inline
#elif defined(__clang__)
#define EMBER_EXACT_FN [[clang::noinline]] inline
#elif defined(__GNUC__)
#define EMBER_EXACT_FN __attribute__((optimize("fp-contract=off"), noinline)) inline
#else
#define EMBER_EXACT_FN inline
#endif

#if defined(__clang__) && !defined(__CUDA_ARCH__)
#define EMBER_EXACT_BODY _Pragma("clang fp contract(off)")
#else
#define EMBER_EXACT_BODY
#endif

namespace ember::exact {

// The basic operations, correctly rounded and never fused.
#if defined(__CUDA_ARCH__)
__device__ inline float add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ inline float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float div(float a, float b) { return __fdiv_rn(a, b); }
__device__ inline double add(double a, double b) { return __dadd_rn(a, b); }
__device__ inline double sub(double a, double b) { return __dsub_rn(a, b); }
__device__ inline double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ inline double div(double a, double b) { return __ddiv_rn(a, b); }
__device__ inline float sqrt(float a) { return __fsqrt_rn(a); }
__device__ inline double sqrt(double a) { return __dsqrt_rn(a); }
#else
template <typename T>
inline T add(T a, T b) {
  return a + b;
}
template <typename T>
inline T sub(T a, T b) {
  return a - b;
}
template <typename T>
inline T mul(T a, T b) {
  return a * b;
}
template <typename T>
inline T div(T a, T b) {
  return a / b;
}
template <typename T>
inline T sqrt(T a) {
  return std::sqrt(a);  // IEEE 754 requires it correctly rounded
}
#endif

namespace detail {

// The constants per type; coefficient tables are returned by functions (a
// table in a function body is usable in device code, a static member's is not).
template <typename T>
struct Consts;
template <>
struct Consts<float> {
  using Bits = uint32_t;
  static constexpr int kMantBits = 23, kBias = 127;
  static constexpr Bits kMantMask = 0x7fffff, kOneBits = 0x3f800000;
  static constexpr float kSqrt2 = 1.41421356f;
  static constexpr float kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860676533018708e-06f;
  static constexpr float kTwoOverPi = 0.636619772f;
  static constexpr float kPio2Hi = 1.5703125f, kPio2Lo = 4.83826794897e-04f;
  // 2/(2i+3): the atanh series of log past its first term; then the Taylor
  // series of sin and cos.
  static constexpr int kLogTerms = 5, kSinTerms = 5, kCosTerms = 6;
  EMBER_HOST_DEVICE static constexpr float log_c(int i) {
    constexpr float c[] = {2.0f / 3, 2.0f / 5, 2.0f / 7, 2.0f / 9, 2.0f / 11};
    return c[i];
  }
  EMBER_HOST_DEVICE static constexpr float sin_c(int i) {
    constexpr float c[] = {1.0f, -1.0f / 6, 1.0f / 120, -1.0f / 5040, 1.0f / 362880};
    return c[i];
  }
  EMBER_HOST_DEVICE static constexpr float cos_c(int i) {
    constexpr float c[] = {1.0f, -1.0f / 2, 1.0f / 24, -1.0f / 720, 1.0f / 40320, -1.0f / 3628800};
    return c[i];
  }
};
template <>
struct Consts<double> {
  using Bits = uint64_t;
  static constexpr int kMantBits = 52, kBias = 1023;
  static constexpr Bits kMantMask = 0xfffffffffffffull, kOneBits = 0x3ff0000000000000ull;
  static constexpr double kSqrt2 = 1.4142135623730951;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kTwoOverPi = 6.36619772367581382433e-01;
  static constexpr double kPio2Hi = 1.57079632673412561417e+00, kPio2Lo = 6.07710050650619224932e-11;
  static constexpr int kLogTerms = 11, kSinTerms = 9, kCosTerms = 10;
  EMBER_HOST_DEVICE static constexpr double log_c(int i) {
    constexpr double c[] = {2.0 / 3,  2.0 / 5,  2.0 / 7,  2.0 / 9,  2.0 / 11, 2.0 / 13,
                            2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23};
    return c[i];
  }
  EMBER_HOST_DEVICE static constexpr double sin_c(int i) {
    constexpr double c[] = {1.0,          -1.0 / 6,           1.0 / 120,
                            -1.0 / 5040,  1.0 / 362880,       -1.0 / 39916800,
                            1.0 / 6227020800.0, -1.0 / 1307674368000.0, 1.0 / 355687428096000.0};
    return c[i];
  }
  EMBER_HOST_DEVICE static constexpr double cos_c(int i) {
    constexpr double c[] = {1.0,
                            -1.0 / 2,
                            1.0 / 24,
                            -1.0 / 720,
                            1.0 / 40320,
                            -1.0 / 3628800,
                            1.0 / 479001600,
                            -1.0 / 87178291200.0,
                            1.0 / 20922789888000.0,
                            -1.0 / 6402373705728000.0};
    return c[i];
  }
};

// c(0) + z*(c(1) + z*(... + z*c(n-1))), in unfused operations.
template <int kWhich, typename T>
EMBER_EXACT_FN T horner(T z) {
  EMBER_EXACT_BODY
  using C = Consts<T>;
  constexpr int n = kWhich == 0 ? C::kLogTerms : kWhich == 1 ? C::kSinTerms : C::kCosTerms;
  auto c = [](int i) { return kWhich == 0 ? C::log_c(i) : kWhich == 1 ? C::sin_c(i) : C::cos_c(i); };
  T p = c(n - 1);
  for (int i = n - 2; i >= 0; --i) p = add(c(i), mul(z, p));
  return p;
}

}  // namespace detail

/// Natural log of a positive normal x, as fdlibm's: x = (1+f)·2^e with 1+f in
/// [sqrt(1/2), sqrt(2)), f exact; log(1+f) = 2·atanh(s) with s = f/(2+f),
/// = 2s + s·R(s²), rearranged as f - (hfsq - s·(hfsq + R)) with hfsq = f²/2 so
/// that the exact f carries the result and the rounded terms are small.
template <typename T>
EMBER_EXACT_FN T log(T x) {
  EMBER_EXACT_BODY
  using C = detail::Consts<T>;
  typename C::Bits b;
  std::memcpy(&b, &x, sizeof b);
  int e = static_cast<int>(b >> C::kMantBits) - C::kBias;
  typename C::Bits mb = (b & C::kMantMask) | C::kOneBits;
  T m;
  std::memcpy(&m, &mb, sizeof m);
  if (m > C::kSqrt2) {
    m = mul(m, T(0.5));
    ++e;
  }
  T f = sub(m, T(1));
  T s = div(f, add(T(2), f));
  T z = mul(s, s);
  T r = mul(z, detail::horner<0>(z));
  T hfsq = mul(mul(T(0.5), f), f);
  T fe = static_cast<T>(e);
  return sub(mul(fe, C::kLn2Hi), sub(sub(hfsq, add(mul(s, add(hfsq, r)), mul(fe, C::kLn2Lo))), f));
}

/// sin(x) and cos(x) for 0 <= x <= 2·pi: x = k·pi/2 + r with |r| <= pi/4
/// (pi/2 in two parts, Cody and Waite), Taylor polynomials in r, and the
/// quadrant k picks and signs them.
template <typename T>
EMBER_EXACT_FN void sincos(T x, T& sin_x, T& cos_x) {
  EMBER_EXACT_BODY
  using C = detail::Consts<T>;
  int k = static_cast<int>(add(mul(x, C::kTwoOverPi), T(0.5)));  // x >= 0: truncation is floor
  T fk = static_cast<T>(k);
  T r = sub(sub(x, mul(fk, C::kPio2Hi)), mul(fk, C::kPio2Lo));
  T z = mul(r, r);
  T s = mul(r, detail::horner<1>(z));
  T c = detail::horner<2>(z);
  switch (k & 3) {
    case 0:
      sin_x = s;
      cos_x = c;
      break;
    case 1:
      sin_x = c;
      cos_x = -s;
      break;
    case 2:
      sin_x = -s;
      cos_x = -c;
      break;
    default:
      sin_x = -c;
      cos_x = s;
      break;
  }
}

}  // namespace ember::exact
