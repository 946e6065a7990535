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

/// Ten rounds of Philox-4x32 on `ctr` under `key`.
EMBER_HOST_DEVICE inline Block philox4x32_10(Block ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
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

/// The block for (key, 64-bit stream offset, 64-bit sub-stream): counter words
/// are the offset's low and high halves, then the sub-stream's.
EMBER_HOST_DEVICE inline Block at(uint64_t key, uint64_t offset, uint64_t sub = 0) {
  Block c{{static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32),
           static_cast<uint32_t>(sub), static_cast<uint32_t>(sub >> 32)}};
  return philox4x32_10(c, static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32));
}

/// A float in [0, 1) from 23 random bits (TensorFlow's construction).
EMBER_HOST_DEVICE inline float uniform_float(uint32_t x) {
  union {
    uint32_t u;
    float f;
  } v;
  v.u = (x >> 9) | 0x3f800000u;
  return v.f - 1.0f;
}

/// A double in [0, 1) from 52 random bits of two words.
EMBER_HOST_DEVICE inline double uniform_double(uint32_t hi, uint32_t lo) {
  union {
    uint64_t u;
    double d;
  } v;
  v.u = ((static_cast<uint64_t>(hi) << 20) ^ (lo >> 12)) | 0x3ff0000000000000ull;
  v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  return v.d - 1.0;
}

}  // namespace ember::philox
