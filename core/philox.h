// Philox-4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2,
// 3", SC'11): a counter-based generator. Output block i is a pure function of
// (key, counter + i), so any device can produce any part of the stream, and
// the CPU and CUDA kernels produce the identical numbers for the same seed.
// This header is the math both backends share.
#pragma once

#include <cstdint>

#include "core/host_device.h"

namespace ember::philox {

struct Block {
  uint32_t v[4];
};

EMBER_HOST_DEVICE inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

/// Philox-4x32's round multipliers and key increments (Weyl constants);
/// the CPU's eight-lane rounds (kernels/cpu/vec.h) use them too.
inline constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
inline constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

/// Ten rounds of Philox-4x32 on `ctr` under `key`.
EMBER_HOST_DEVICE inline Block philox4x32_10(Block ctr, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, ctr.v[0], hi0, lo0);
    mulhilo(kM1, ctr.v[2], hi1, lo1);
    ctr = Block{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += kW0;
    k1 += kW1;
  }
  return ctr;
}

/// A position in a Philox stream: the 64-bit key and the 128-bit counter of
/// the next block, as TensorFlow's PhiloxRandom holds them (key words =
/// seed's low and high halves; counter words 0-1 = `lo`, 2-3 = `hi`).
struct Stream {
  uint64_t key = 0;
  uint64_t lo = 0;
  uint64_t hi = 0;

  /// The position `n` blocks further on (TensorFlow's Skip: a 128-bit add).
  EMBER_HOST_DEVICE Stream skip(uint64_t n) const {
    Stream s = *this;
    s.lo += n;
    if (s.lo < lo) ++s.hi;
    return s;
  }
};

/// Block `i` of `s`.
EMBER_HOST_DEVICE inline Block at(const Stream& s, uint64_t i = 0) {
  Stream p = s.skip(i);
  Block c{{static_cast<uint32_t>(p.lo), static_cast<uint32_t>(p.lo >> 32),
           static_cast<uint32_t>(p.hi), static_cast<uint32_t>(p.hi >> 32)}};
  return philox4x32_10(c, static_cast<uint32_t>(s.key), static_cast<uint32_t>(s.key >> 32));
}

/// A float in [0, 1) from the low 23 bits of a word (TensorFlow's Uint32ToFloat).
EMBER_HOST_DEVICE inline float uniform_float(uint32_t x) {
  union {
    uint32_t u;
    float f;
  } v;
  v.u = (x & 0x7fffffu) | 0x3f800000u;
  return v.f - 1.0f;
}

/// A double in [0, 1) from 52 bits: the low 20 of `x0` above all of `x1`
/// (TensorFlow's Uint64ToDouble).
EMBER_HOST_DEVICE inline double uniform_double(uint32_t x0, uint32_t x1) {
  union {
    uint64_t u;
    double d;
  } v;
  v.u = (static_cast<uint64_t>(x0 & 0xfffffu) << 32) | x1 | 0x3ff0000000000000ull;
  return v.d - 1.0;
}

}  // namespace ember::philox
