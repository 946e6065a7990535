// The two 16-bit floating-point element types, as storage: bfloat16_t (8
// exponent bits, float32's range) and float16_t (IEEE binary16). Arithmetic on
// them is done in float32 and rounded once, as TensorFlow (Eigen) does; the
// kernels do that with fn::InFloat (kernels/functors.h). Conversions from
// float round to nearest, ties to even, on the CPU and in CUDA kernels alike
// (the same bit manipulation, so both backends give identical bits); NaN stays
// NaN (quieted) and overflow gives infinity.
//
// The conversions are explicit on purpose: an expression that would silently
// compute in 16 bits (or in double) does not compile.
#pragma once

#include <type_traits>

#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace ember {

namespace half_detail {

EMBER_HOST_DEVICE inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
EMBER_HOST_DEVICE inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

EMBER_HOST_DEVICE inline uint16_t float_to_bfloat16(float f) {
  uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even; overflow carries into infinity
  return static_cast<uint16_t>(u >> 16);
}
EMBER_HOST_DEVICE inline float bfloat16_to_float(uint16_t h) {
  return float_of(static_cast<uint32_t>(h) << 16);
}

// After F. Giesen, "half <-> float conversions" (float_to_half_fast3_rtne and
// half_to_float): exact, round to nearest even, subnormals included. Every
// case is computed and one is selected, with no branches, so loops over
// these vectorise on the CPU and do not diverge on the GPU.
EMBER_HOST_DEVICE inline uint16_t float_to_float16(float f) {
  uint32_t u = bits_of(f);
  uint32_t sign = u & 0x80000000u;
  u ^= sign;
  // |f| >= 65536: infinity, or NaN (quieted).
  uint32_t special = u > 0x7f800000u ? 0x7e00u : 0x7c00u;
  // |f| < 2^-14, a float16 subnormal or zero: adding 0.5 lines the 10
  // mantissa bits up at the bottom of the float, and the addition itself
  // rounds to nearest even.
  const uint32_t magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t tiny = bits_of(float_of(u) + float_of(magic)) - magic;
  // Normal: rebias the exponent and round to nearest even (a carry may
  // reach infinity, as it should).
  uint32_t normal = (u + ((15u - 127u) << 23) + 0xfffu + ((u >> 13) & 1u)) >> 13;
  uint32_t h = u >= (127u + 16u) << 23 ? special : u < (113u << 23) ? tiny : normal;
  return static_cast<uint16_t>((h & 0xffffu) | (sign >> 16));
}
EMBER_HOST_DEVICE inline float float16_to_float(uint16_t h) {
  const uint32_t shifted_exp = 0x7c00u << 13;
  uint32_t o = (static_cast<uint32_t>(h) & 0x7fffu) << 13;
  uint32_t exp = shifted_exp & o;
  o += (127u - 15u) << 23;
  uint32_t special = o + ((128u - 16u) << 23);  // infinity or NaN
  uint32_t tiny = bits_of(float_of(o + (1u << 23)) - float_of(113u << 23));  // renormalised
  o = exp == shifted_exp ? special : exp == 0 ? tiny : o;
  return float_of(o | ((static_cast<uint32_t>(h) & 0x8000u) << 16));
}

}  // namespace half_detail

/// A 16-bit float of `Format` (its encode/decode pair): storage, and
/// explicit conversions to and from float.
template <typename Format>
struct Float16Bits {
  uint16_t bits = 0;

  Float16Bits() = default;
  EMBER_HOST_DEVICE explicit Float16Bits(float f) : bits(Format::encode(f)) {}
  EMBER_HOST_DEVICE explicit operator float() const { return Format::decode(bits); }
  EMBER_HOST_DEVICE static Float16Bits from_bits(uint16_t b) {
    Float16Bits h;
    h.bits = b;
    return h;
  }
};

struct BFloat16Format {  // the upper half of a float32
  EMBER_HOST_DEVICE static uint16_t encode(float f) { return half_detail::float_to_bfloat16(f); }
  EMBER_HOST_DEVICE static float decode(uint16_t h) { return half_detail::bfloat16_to_float(h); }
};
struct Float16Format {  // IEEE 754 binary16
  EMBER_HOST_DEVICE static uint16_t encode(float f) { return half_detail::float_to_float16(f); }
  EMBER_HOST_DEVICE static float decode(uint16_t h) { return half_detail::float16_to_float(h); }
};

using bfloat16_t = Float16Bits<BFloat16Format>;
using float16_t = Float16Bits<Float16Format>;

static_assert(sizeof(bfloat16_t) == 2 && sizeof(float16_t) == 2);

template <typename T>
inline constexpr bool is_half_v = false;
template <typename Format>
inline constexpr bool is_half_v<Float16Bits<Format>> = true;

/// The type kernels compute T in: float32 for the 16-bit floats (widened
/// once, each result rounded once), T itself otherwise.
template <typename T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

}  // namespace ember
