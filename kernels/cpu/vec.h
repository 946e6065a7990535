// Explicit float vectors of 8 lanes, and 16 where the processor has
// AVX-512 (GCC/Clang vector extensions), for the CPU kernels whose loops
// the compiler will not vectorise on its own: float sums (it may not
// reassociate them) and exp (its clamps and bit tricks defeat
// if-conversion), and Philox (eight counters' rounds at once, philox8).
// exp_lanes is fn::fast_exp (kernels/functors.h) lane by lane: it calls the
// same fn::exp_reduced and uses the same constants.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/philox.h"
#include "kernels/functors.h"

namespace ember::cpu::vec {

/// N float32 lanes, and int32, uint32 and uint16 lanes as many (N = 8 or
/// 16; GCC drops a dependent vector_size on an alias template, so a class
/// template's typedefs hold them).
template <int N>
struct Lanes {
  typedef float F __attribute__((vector_size(4 * N)));
  typedef int32_t I __attribute__((vector_size(4 * N)));
  typedef uint32_t U __attribute__((vector_size(4 * N)));
  typedef uint16_t H __attribute__((vector_size(2 * N)));
};
/// The most lanes one instruction computes: 16 with AVX-512, else 8. The
/// exp-based loops (exp, sigmoid, tanh, gelu and its gradient) run this
/// wide; the rest of ember's lanes are 8.
#if defined(__AVX512F__)
inline constexpr int kWidest = 16;
#else
inline constexpr int kWidest = 8;
#endif

using f8 = Lanes<8>::F;
using i8 = Lanes<8>::I;

inline f8 load(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, f8 v) { std::memcpy(p, &v, sizeof v); }
inline f8 splat(float x) { return f8{} + x; }

/// N elements of E (float, or a 16-bit float) as float32 lanes, and back,
/// rounded once (core/half.h's branch-free conversions, lane by lane: what
/// fn::InFloat does for one element).
template <int N, typename E>
inline typename Lanes<N>::F load_lanes(const E* p) {
  using L = Lanes<N>;
  typename L::F v;
  if constexpr (std::is_same_v<E, float>) {
    std::memcpy(&v, p, sizeof v);
  } else if constexpr (std::is_same_v<E, bfloat16_t>) {  // the upper halves of floats
    typename L::H h;
    std::memcpy(&h, p, sizeof h);
    v = (typename L::F)(__builtin_convertvector(h, typename L::U) << 16);
  } else {
    for (int l = 0; l < N; ++l) v[l] = static_cast<float>(p[l]);
  }
  return v;
}
template <int N, typename E>
inline void store_lanes(E* p, typename Lanes<N>::F v) {
  using L = Lanes<N>;
  if constexpr (std::is_same_v<E, float>) {
    std::memcpy(p, &v, sizeof v);
  } else if constexpr (std::is_same_v<E, bfloat16_t>) {  // half_detail::float_to_bfloat16, lane by lane
    const typename L::U u = (typename L::U)v;
    const typename L::U rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const typename L::U nan = (u >> 16) | 0x0040u;
    const typename L::H h =
        __builtin_convertvector((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded, typename L::H);
    std::memcpy(static_cast<void*>(p), &h, sizeof h);  // (bfloat16_t is its 16 bits)
  } else {
    for (int l = 0; l < N; ++l) p[l] = E(v[l]);
  }
}
template <typename E>
inline f8 load_float(const E* p) {
  return load_lanes<8>(p);
}
template <typename E>
inline void store_float(E* p, f8 v) {
  store_lanes<8>(p, v);
}
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

/// fn::fast_exp lane by lane, N lanes at a time.
template <int N>
inline typename Lanes<N>::F exp_lanes(typename Lanes<N>::F x) {
  using F = typename Lanes<N>::F;
  using I = typename Lanes<N>::I;
  F xc = x > fn::kExpHi ? F{} + fn::kExpHi : x;
  xc = xc < fn::kExpLo ? F{} + fn::kExpLo : xc;
  F t = xc * fn::kLog2e + 0.5f;
  F tt = __builtin_convertvector(__builtin_convertvector(t, I), F);  // truncate
  F n = tt > t ? tt - 1.0f : tt;                                     // floor
  F p = fn::exp_reduced(xc, n);
  I e = (__builtin_convertvector(n, I) + 127) << 23;
  F y = p * (F)e;  // reinterprets the bits (same-size vector cast)
  y = x > fn::kExpHi ? F{} + std::numeric_limits<float>::infinity() : y;
  y = x < fn::kExpLo ? F{} : y;
  return x != x ? x : y;
}
inline f8 exp8(f8 x) { return exp_lanes<8>(x); }

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

/// fn::tanh_cephes, N lanes at a time: the same bits as the scalar functor.
template <int N>
inline typename Lanes<N>::F tanh_lanes(typename Lanes<N>::F x) {
  return fn::tanh_cephes(x, [](typename Lanes<N>::F v) { return exp_lanes<N>(v); });
}
inline f8 tanh8(f8 x) { return tanh_lanes<8>(x); }

// ---- Philox, eight blocks at a time --------------------------------------------------------

using u64x4 = uint64_t __attribute__((vector_size(32)));
using u64x8 = uint64_t __attribute__((vector_size(64)));

/// a·m per lane for lanes below 2^32: the whole 64-bit product, one
/// unsigned 32x32 multiply per lane (vpmuludq; a plain 64-bit vector
/// multiply would be vpmullq, or three multiplies without AVX-512).
inline u64x8 mul_u32(u64x8 a, uint32_t m) {
#if defined(__AVX512F__)
  // (the all-lanes mask form: GCC 12 warns of the plain form's undefined source)
  return (u64x8)_mm512_mask_mul_epu32((__m512i)a, 0xff, (__m512i)a, (__m512i)(u64x8{} + m));
#elif defined(__AVX2__)
  u64x4 h[2];
  std::memcpy(h, &a, sizeof a);
  for (u64x4& x : h) x = (u64x4)_mm256_mul_epu32((__m256i)x, (__m256i)(u64x4{} + m));
  std::memcpy(&a, h, sizeof a);
  return a;
#else
  return a * m;
#endif
}

/// Philox blocks blk .. blk + 7 of stream `s`: philox::at(s, blk + l) for
/// each lane l, the ten rounds computed for the eight counters at once (each
/// 32-bit word held in a 64-bit lane, so a round's products need no
/// widening), so a random kernel pays about an eighth of the scalar rounds.
inline void philox8(const philox::Stream& s, uint64_t blk, philox::Block* out) {
  using philox::kM0, philox::kM1, philox::kW0, philox::kW1;
  constexpr uint64_t kLow = 0xffffffffu;
  const u64x8 lanes = {0, 1, 2, 3, 4, 5, 6, 7};
  const u64x8 lo = s.lo + blk + lanes;         // Stream::skip lane by lane, with
  const u64x8 hi = s.hi - (u64x8)(lo < s.lo);  // a carry (all ones) where lo wrapped
  u64x8 c0 = lo & kLow, c1 = lo >> 32, c2 = hi & kLow, c3 = hi >> 32;
  uint64_t k0 = s.key & kLow, k1 = s.key >> 32;
  for (int round = 0; round < 10; ++round) {
    const u64x8 p0 = mul_u32(c0, kM0), p1 = mul_u32(c2, kM1);
    c0 = (p1 >> 32) ^ c1 ^ k0;
    c1 = p1 & kLow;
    c2 = (p0 >> 32) ^ c3 ^ k1;
    c3 = p0 & kLow;
    k0 = (k0 + kW0) & kLow;
    k1 = (k1 + kW1) & kLow;
  }
  // Into the stream's order, block by block: words 0-1 and 2-3 of a block
  // as one 64-bit lane each (little-endian), the two interleaved.
  static_assert(sizeof(philox::Block) == 16);
  const u64x8 w01 = c0 | (c1 << 32), w23 = c2 | (c3 << 32);
  const u64x8 first = __builtin_shufflevector(w01, w23, 0, 8, 1, 9, 2, 10, 3, 11);
  const u64x8 last = __builtin_shufflevector(w01, w23, 4, 12, 5, 13, 6, 14, 7, 15);
  std::memcpy(out, &first, sizeof first);
  std::memcpy(out + 4, &last, sizeof last);
}

}  // namespace ember::cpu::vec
