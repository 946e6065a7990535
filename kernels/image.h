// ImageProjectiveTransformV3's math, shared by the CPU and CUDA kernels:
// TensorFlow's ProjectiveGenerator (image_ops.h), in float32 with one
// rounding per operation on both devices (products through exact::mul, so
// nvcc fuses none into an add), so both give TensorFlow's pixels.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include "core/exact_math.h"
#include "core/half.h"
#include "core/host_device.h"

namespace ember::projective {

enum class Interpolation : int { Nearest, Bilinear };
enum class Fill : int { Reflect, Wrap, Constant, Nearest };

/// The op's attributes as TensorFlow spells them ("NEAREST", "BILINEAR";
/// "REFLECT", "WRAP", "CONSTANT", "NEAREST"), checked by its inference.
inline Interpolation interpolation_of(std::string_view s) {
  return s == "NEAREST" ? Interpolation::Nearest : Interpolation::Bilinear;
}
inline Fill fill_of(std::string_view s) {
  return s == "REFLECT" ? Fill::Reflect : s == "WRAP" ? Fill::Wrap : s == "NEAREST" ? Fill::Nearest : Fill::Constant;
}

/// An output coordinate mapped into [0, len - 1] as fill_mode says (scipy's
/// ndimage rules, as TensorFlow's MapCoordinate); Constant leaves it.
EMBER_HOST_DEVICE inline float map_coordinate(float c, int64_t len, Fill mode) {
  const auto last = static_cast<float>(len - 1);
  switch (mode) {
    case Fill::Reflect:  // [abcd] -> [dcba|abcd|dcba]
      if (c < 0) {
        if (len <= 1) {
          c = 0;
        } else {
          const int64_t sz2 = 2 * len;
          if (c < static_cast<float>(sz2)) c = static_cast<float>(sz2 * static_cast<int64_t>(-c / static_cast<float>(sz2))) + c;
          c = c < static_cast<float>(-len) ? c + static_cast<float>(sz2) : -c - 1;
        }
      } else if (c > last) {
        if (len <= 1) {
          c = 0;
        } else {
          const int64_t sz2 = 2 * len;
          c -= static_cast<float>(sz2 * static_cast<int64_t>(c / static_cast<float>(sz2)));
          if (c >= static_cast<float>(len)) c = static_cast<float>(sz2) - c - 1;
        }
      }
      break;
    case Fill::Wrap:  // [abcd] -> [abcd|abcd|abcd]
      if (c < 0) {
        if (len <= 1) {
          c = 0;
        } else {
          const int64_t sz = len - 1;
          c += static_cast<float>(len * (static_cast<int64_t>(-c / static_cast<float>(sz)) + 1));
        }
      } else if (c > last) {
        if (len <= 1) {
          c = 0;
        } else {
          const int64_t sz = len - 1;
          c -= static_cast<float>(len * static_cast<int64_t>(c / static_cast<float>(sz)));
        }
      }
      break;
    case Fill::Constant:
      return c;
    case Fill::Nearest:
      break;
  }
  return c < 0 ? 0.0f : (c > last ? last : c);  // (Eigen's scalar_clamp_op)
}

/// Where output pixel (y, x) samples its input of height h and width w
/// under the 8 parameters `t` (a0 a1 a2 b0 b1 b2 c0 c1: (x, y) maps to
/// ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1),
/// mapped by the fill mode (CONSTANT leaves it, possibly outside the
/// image: its taps there read the fill value); `inside` false where k = 0,
/// whose pixel is the fill value alone.
struct Source {
  bool inside;
  float y, x;
};
EMBER_HOST_DEVICE inline Source source_of(const float* t, int64_t y, int64_t x, int64_t h, int64_t w, Fill mode) {
  const auto fx = static_cast<float>(x), fy = static_cast<float>(y);
  const float k = exact::mul(t[6], fx) + exact::mul(t[7], fy) + 1.f;
  if (k == 0) return {false, 0, 0};
  const float in_x = (exact::mul(t[0], fx) + exact::mul(t[1], fy) + t[2]) / k;
  const float in_y = (exact::mul(t[3], fx) + exact::mul(t[4], fy) + t[5]) / k;
  return {true, map_coordinate(in_y, h, mode), map_coordinate(in_x, w, mode)};
}

/// Channel c of the sample at `s` from the image `img` [h, w, channels]:
/// the nearest pixel (std::round, half away from zero) or the bilinear mix
/// of four, taps outside the image reading `fill`, in TensorFlow's order
/// of operations (each row's mix, then the rows': a source half a pixel
/// beyond the edge mixes the edge pixel with the fill value).
template <typename T>
EMBER_HOST_DEVICE inline T sample(const T* img, int64_t h, int64_t w, int64_t channels, int64_t c, Source s,
                                  Interpolation interpolation, T fill) {
  auto read = [&](int64_t yy, int64_t xx) {
    return 0 <= yy && yy < h && 0 <= xx && xx < w ? img[(yy * w + xx) * channels + c] : fill;
  };
  // (a NaN or vast coordinate, from NaN or vast parameters, reads the fill
  // value, as TensorFlow's conversion of it to an index does on x86: no tap
  // is inside)
  auto index = [](float v) { return v > -1e18f && v < 1e18f ? static_cast<int64_t>(v) : int64_t{-2}; };
  if (interpolation == Interpolation::Nearest) return read(index(::round(s.y)), index(::round(s.x)));
  const float y0 = ::floor(s.y), x0 = ::floor(s.x), y1 = y0 + 1, x1 = x0 + 1;
  const int64_t iy0 = index(y0), ix0 = index(x0);
  auto f = [&](int64_t yy, int64_t xx) { return static_cast<float>(read(yy, xx)); };
  const float top = exact::mul(x1 - s.x, f(iy0, ix0)) + exact::mul(s.x - x0, f(iy0, ix0 + 1));
  const float bottom = exact::mul(x1 - s.x, f(iy0 + 1, ix0)) + exact::mul(s.x - x0, f(iy0 + 1, ix0 + 1));
  return static_cast<T>(exact::mul(y1 - s.y, top) + exact::mul(s.y - y0, bottom));
}

/// Output pixel (y, x) of the image `img` [h, w, channels] under the
/// parameters `t`, its channels written to `out`: what each device's kernel
/// runs per pixel.
template <typename T>
EMBER_HOST_DEVICE inline void transform_pixel(const T* img, const float* t, int64_t y, int64_t x, int64_t h, int64_t w,
                                              int64_t channels, Interpolation interpolation, Fill mode, T fill, T* out) {
  const Source s = source_of(t, y, x, h, w, mode);
  for (int64_t c = 0; c < channels; ++c) out[c] = s.inside ? sample(img, h, w, channels, c, s, interpolation, fill) : fill;
}

}  // namespace ember::projective
