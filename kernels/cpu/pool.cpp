// Pooling on the CPU, channels innermost: for each output pixel, the window's
// pixels are combined a whole channel row at a time (contiguous in NHWC, so
// the loops vectorise). Max pooling's gradient goes to each window's first
// maximum in scan order (kernels/pool_math.h's rule, which the CUDA kernels
// apply element by element); it scatters within one image, so images are
// split across threads and no two threads write one element. The 16-bit
// floats are pooled in float32 and rounded once.
#include <cstring>
#include <limits>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/conv_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/widen.h"
#include "kernels/pool_math.h"

namespace ember::cpu {
namespace {

// Calls f(b, y, x, span) for every output pixel, images split across threads.
template <typename F>
void each_pixel(const pool::Geometry& g, F f) {
  parallel_for(g.n * g.oh, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(g.ow * g.c * g.kh * g.kw, 1)),
               [&](int64_t b0, int64_t b1) {
                 for (int64_t r = b0; r < b1; ++r)
                   for (int64_t x = 0; x < g.ow; ++x) f(r / g.oh, r % g.oh, x, pool::span(g, r % g.oh, x));
               });
}

template <typename T>
void max_pool(const pool::Geometry& g, const T* in, T* out) {
  each_pixel(g, [&](int64_t b, int64_t y, int64_t x, pool::Span s) {
    T* o = out + ((b * g.oh + y) * g.ow + x) * g.c;
    bool first = true;
    for (int64_t i = s.h0; i < s.h1; ++i)
      for (int64_t j = s.w0; j < s.w1; ++j) {
        const T* p = in + ((b * g.h + i) * g.w + j) * g.c;
        if (first) {
          std::memcpy(o, p, sizeof(T) * static_cast<size_t>(g.c));
          first = false;
        } else {
          // NaN wins, as in the element function.
          for (int64_t ch = 0; ch < g.c; ++ch) o[ch] = (p[ch] > o[ch] || (p[ch] != p[ch] && o[ch] == o[ch])) ? p[ch] : o[ch];
        }
      }
    if (first) std::fill(o, o + g.c, T(0));
  });
}

template <typename T>
void avg_pool(const pool::Geometry& g, const T* in, T* out) {
  each_pixel(g, [&](int64_t b, int64_t y, int64_t x, pool::Span s) {
    T* o = out + ((b * g.oh + y) * g.ow + x) * g.c;
    std::fill(o, o + g.c, T(0));
    for (int64_t i = s.h0; i < s.h1; ++i)
      for (int64_t j = s.w0; j < s.w1; ++j) {
        const T* p = in + ((b * g.h + i) * g.w + j) * g.c;
        for (int64_t ch = 0; ch < g.c; ++ch) o[ch] += p[ch];
      }
    int64_t count = (s.h1 - s.h0) * (s.w1 - s.w0);
    T inv = count > 0 ? T(1) / T(count) : T(0);
    for (int64_t ch = 0; ch < g.c; ++ch) o[ch] *= inv;
  });
}

// Per image: zero its gradient, then each output pixel's gradient goes to
// its window's first maximum, channel by channel.
template <typename T>
void max_pool_grad(const pool::Geometry& g, const T* in, const T* grad, T* dx) {
  parallel_for(g.n, 1, [&](int64_t b0, int64_t b1) {
    std::vector<int64_t> arg(static_cast<size_t>(g.c));
    std::vector<T> best(static_cast<size_t>(g.c));
    for (int64_t b = b0; b < b1; ++b) {
      std::fill(dx + b * g.h * g.w * g.c, dx + (b + 1) * g.h * g.w * g.c, T(0));
      for (int64_t y = 0; y < g.oh; ++y)
        for (int64_t x = 0; x < g.ow; ++x) {
          pool::Span s = pool::span(g, y, x);
          bool first = true;
          for (int64_t i = s.h0; i < s.h1; ++i)
            for (int64_t j = s.w0; j < s.w1; ++j) {
              int64_t off = ((b * g.h + i) * g.w + j) * g.c;
              const T* p = in + off;
              for (int64_t ch = 0; ch < g.c; ++ch) {
                T v = p[ch];
                if (first || v > best[static_cast<size_t>(ch)] ||
                    (v != v && best[static_cast<size_t>(ch)] == best[static_cast<size_t>(ch)])) {
                  best[static_cast<size_t>(ch)] = v;
                  arg[static_cast<size_t>(ch)] = off + ch;
                }
              }
              first = false;
            }
          if (first) continue;  // an empty window
          const T* gr = grad + ((b * g.oh + y) * g.ow + x) * g.c;
          for (int64_t ch = 0; ch < g.c; ++ch) dx[arg[static_cast<size_t>(ch)]] += gr[ch];
        }
    }
  });
}

// Per image: each output pixel's gradient spread evenly over its window's
// inside.
template <typename T>
void avg_pool_grad(const pool::Geometry& g, const T* grad, T* dx) {
  parallel_for(g.n, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      std::fill(dx + b * g.h * g.w * g.c, dx + (b + 1) * g.h * g.w * g.c, T(0));
      for (int64_t y = 0; y < g.oh; ++y)
        for (int64_t x = 0; x < g.ow; ++x) {
          pool::Span s = pool::span(g, y, x);
          int64_t count = (s.h1 - s.h0) * (s.w1 - s.w0);
          if (count == 0) continue;
          T inv = T(1) / T(count);
          const T* gr = grad + ((b * g.oh + y) * g.ow + x) * g.c;
          for (int64_t i = s.h0; i < s.h1; ++i)
            for (int64_t j = s.w0; j < s.w1; ++j) {
              T* d = dx + ((b * g.h + i) * g.w + j) * g.c;
              for (int64_t ch = 0; ch < g.c; ++ch) d[ch] += gr[ch] * inv;
            }
        }
    }
  });
}

// The 16-bit floats are pooled in float32 (widened once, each output
// rounded once: a gradient that sums overlapping windows rounds only the sum).
template <bool kMax>
void pool_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  pool::Geometry g = pool::geometry(c, x.shape());
  if (c.outputs[0].num_elements() == 0) return;
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()), {
    using C = compute_t<scalar_t>;
    Tensor kx;
    const C* in = widened<C>(x, kx);
    Staged<scalar_t, C> out(c.outputs[0]);
    if constexpr (kMax)
      max_pool(g, in, out.data());
    else
      avg_pool(g, in, out.data());
    out.finish();
  });
}

void max_pool_grad_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  pool::Geometry g = pool::geometry(c, x.shape());
  if (x.num_elements() == 0) return;
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()), {
    using C = compute_t<scalar_t>;
    Tensor kx, kg;
    Staged<scalar_t, C> dx(c.outputs[0]);
    max_pool_grad(g, widened<C>(x, kx), widened<C>(c.inputs[2], kg), dx.data());
    dx.finish();
  });
}

void avg_pool_grad_kernel(KernelContext& c) {
  Tensor& out = c.outputs[0];
  pool::Geometry g = pool::geometry(c, out.shape());
  if (out.num_elements() == 0) return;
  EMBER_SWITCH_FLOATING(out.dtype(), unsupported_dtype(c, out.dtype()), {
    using C = compute_t<scalar_t>;
    Tensor kg;
    Staged<scalar_t, C> dx(out);
    avg_pool_grad(g, widened<C>(c.inputs[0], kg), dx.data());
    dx.finish();
  });
}

EMBER_REGISTER_KERNEL(op_name::MaxPool, CPU, pool_kernel<true>);
EMBER_REGISTER_KERNEL(op_name::AvgPool, CPU, pool_kernel<false>);
EMBER_REGISTER_KERNEL(op_name::MaxPoolGrad, CPU, max_pool_grad_kernel);
EMBER_REGISTER_KERNEL(op_name::AvgPoolGrad, CPU, avg_pool_grad_kernel);

}  // namespace
}  // namespace ember::cpu
