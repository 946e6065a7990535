// Pooling arithmetic shared by the CPU and CUDA kernels, one element at a
// time over NHWC buffers: a forward output element, and (gathered, so no two
// threads write one element) an input element's gradient. Max pooling sends
// a window's gradient to its first maximum in scan order, as TensorFlow's
// CPU kernel; padding is never a maximum, and the average counts only
// elements inside the input. The 16-bit floats are compared and summed in
// float32 and each result rounded once.
#pragma once

#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "core/ops/conv_util.h"

namespace ember::pool {

struct Geometry {
  int64_t n, h, w, c;   // input
  int64_t oh, ow;       // output
  int64_t kh, kw, sh, sw;
  int64_t pad_top, pad_left;
};

/// The geometry of a pooling op's call (`ksize`, `strides`, `padding`) over `input`.
inline Geometry geometry(const KernelContext& c, const TensorShape& input) {
  auto k = c.attrs.get<std::vector<int64_t>>("ksize");
  Window2D w = window_2d(c, input, k[1], k[2]);
  return {w.n, w.h, w.w, w.c, w.oh, w.ow, w.kh, w.kw, w.sh, w.sw, w.pad_top, w.pad_left};
}

// The window of output (y, x): its first row and column (maybe negative) and
// the part inside the input.
struct Span {
  int64_t h0, h1, w0, w1;
};
EMBER_HOST_DEVICE inline Span span(const Geometry& g, int64_t y, int64_t x) {
  int64_t hs = y * g.sh - g.pad_top, ws = x * g.sw - g.pad_left;
  Span s;
  s.h0 = hs < 0 ? 0 : hs;
  s.w0 = ws < 0 ? 0 : ws;
  s.h1 = hs + g.kh < g.h ? hs + g.kh : g.h;
  s.w1 = ws + g.kw < g.w ? ws + g.kw : g.w;
  return s;
}

/// Offset of the first maximum of output element (b, y, x, ch)'s window.
template <typename T>
EMBER_HOST_DEVICE int64_t argmax_of(const Geometry& g, const T* in, int64_t b, int64_t y,
                                    int64_t x, int64_t ch) {
  Span s = span(g, y, x);
  int64_t best = -1;
  compute_t<T> m = 0;
  for (int64_t i = s.h0; i < s.h1; ++i)
    for (int64_t j = s.w0; j < s.w1; ++j) {
      int64_t off = ((b * g.h + i) * g.w + j) * g.c + ch;
      auto v = static_cast<compute_t<T>>(in[off]);
      // NaN wins (as TensorFlow propagates it); otherwise strictly greater.
      if (best < 0 || v > m || (v != v && m == m)) {
        m = v;
        best = off;
      }
    }
  return best;
}

/// Output element `o` (flat NHWC index) of a max pool.
template <typename T>
EMBER_HOST_DEVICE T max_at(const Geometry& g, const T* in, int64_t o) {
  int64_t ch = o % g.c, x = (o / g.c) % g.ow, y = (o / (g.c * g.ow)) % g.oh, b = o / (g.c * g.ow * g.oh);
  int64_t off = argmax_of(g, in, b, y, x, ch);
  return off < 0 ? T(0) : in[off];
}

/// Output element `o` of an average pool (over the window's part inside the input).
template <typename T>
EMBER_HOST_DEVICE T avg_at(const Geometry& g, const T* in, int64_t o) {
  int64_t ch = o % g.c, x = (o / g.c) % g.ow, y = (o / (g.c * g.ow)) % g.oh, b = o / (g.c * g.ow * g.oh);
  Span s = span(g, y, x);
  compute_t<T> sum = 0;
  for (int64_t i = s.h0; i < s.h1; ++i)
    for (int64_t j = s.w0; j < s.w1; ++j) sum += static_cast<compute_t<T>>(in[((b * g.h + i) * g.w + j) * g.c + ch]);
  int64_t count = (s.h1 - s.h0) * (s.w1 - s.w0);
  return T(count > 0 ? sum / static_cast<compute_t<T>>(count) : compute_t<T>(0));
}

// The outputs whose windows contain input row i: y in [first, last].
EMBER_HOST_DEVICE inline void windows_over(int64_t i, int64_t pad, int64_t k, int64_t s,
                                           int64_t out, int64_t& first, int64_t& last) {
  int64_t p = i + pad;  // position in padded coordinates
  first = p - k + 1 <= 0 ? 0 : (p - k + 1 + s - 1) / s;
  last = p / s;
  if (last > out - 1) last = out - 1;
}

/// Gradient of input element `e` (flat NHWC) of a max pool: the sum of the
/// output gradients of the windows whose first maximum it is.
template <typename T>
EMBER_HOST_DEVICE T max_grad_at(const Geometry& g, const T* in, const T* grad, int64_t e) {
  int64_t ch = e % g.c, j = (e / g.c) % g.w, i = (e / (g.c * g.w)) % g.h, b = e / (g.c * g.w * g.h);
  int64_t y0, y1, x0, x1;
  windows_over(i, g.pad_top, g.kh, g.sh, g.oh, y0, y1);
  windows_over(j, g.pad_left, g.kw, g.sw, g.ow, x0, x1);
  compute_t<T> sum = 0;
  for (int64_t y = y0; y <= y1; ++y)
    for (int64_t x = x0; x <= x1; ++x)
      if (argmax_of(g, in, b, y, x, ch) == e) sum += static_cast<compute_t<T>>(grad[((b * g.oh + y) * g.ow + x) * g.c + ch]);
  return T(sum);
}

/// Gradient of input element `e` of an average pool.
template <typename T>
EMBER_HOST_DEVICE T avg_grad_at(const Geometry& g, const T* grad, int64_t e) {
  int64_t ch = e % g.c, j = (e / g.c) % g.w, i = (e / (g.c * g.w)) % g.h, b = e / (g.c * g.w * g.h);
  int64_t y0, y1, x0, x1;
  windows_over(i, g.pad_top, g.kh, g.sh, g.oh, y0, y1);
  windows_over(j, g.pad_left, g.kw, g.sw, g.ow, x0, x1);
  compute_t<T> sum = 0;
  for (int64_t y = y0; y <= y1; ++y)
    for (int64_t x = x0; x <= x1; ++x) {
      Span s = span(g, y, x);
      int64_t count = (s.h1 - s.h0) * (s.w1 - s.w0);
      sum += static_cast<compute_t<T>>(grad[((b * g.oh + y) * g.ow + x) * g.c + ch]) / static_cast<compute_t<T>>(count);
    }
  return T(sum);
}

}  // namespace ember::pool
