// CRC-32C (Castagnoli), as TensorFlow's tensor bundles and LevelDB tables
// store it: `mask`ed so that a CRC of data that contains CRCs stays useful.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ember::crc32c {

/// Extends `crc` (0 to start) over `n` bytes.
uint32_t extend(uint32_t crc, const void* data, size_t n);
inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }
inline uint32_t value(std::string_view s) { return extend(0, s.data(), s.size()); }

constexpr uint32_t kMaskDelta = 0xA282EAD8u;
constexpr uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
constexpr uint32_t unmask(uint32_t masked) {
  uint32_t r = masked - kMaskDelta;
  return (r >> 17) | (r << 15);
}

}  // namespace ember::crc32c
