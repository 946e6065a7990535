// What the CPU elementwise kernels share (elementwise_unary.cpp,
// elementwise_arithmetic.cpp, elementwise_compare.cpp): a flat loop when the shapes agree (or one side is
// a single element), otherwise a row loop over the collapsed broadcast, with
// the innermost run contiguous. Split in three files so that the
// instantiations compile in parallel.
#pragma once

#include <algorithm>
#include <span>
#include <type_traits>

#include "core/op_registry.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec.h"
#include "kernels/functors.h"

namespace ember::cpu::elementwise {

constexpr int kMaxInputs = 3;

// The broadcast of up to three inputs to the output shape, collapsed: per
// dimension the output extent and each input's element stride (0 where the
// input is broadcast along it).
struct Broadcast {
  Dims dims;
  Dims strides[kMaxInputs];
};

inline Broadcast make_broadcast(const TensorShape& out, std::span<const Tensor> ins) {
  int r = out.rank();
  Broadcast raw;
  raw.dims = out.dims();
  for (size_t k = 0; k < ins.size(); ++k) {
    const TensorShape& s = ins[k].shape();
    Dims cs = contiguous_strides(s);
    raw.strides[k].resize(static_cast<size_t>(r), 0);
    for (int i = 0; i < s.rank(); ++i) {
      int o = i + (r - s.rank());
      raw.strides[k][static_cast<size_t>(o)] = s.dim(i) == 1 ? 0 : cs[static_cast<size_t>(i)];
    }
  }
  // Collapse neighbouring dimensions that are contiguous for every input.
  Broadcast b;
  for (int i = 0; i < r; ++i) {
    int64_t d = raw.dims[static_cast<size_t>(i)];
    if (d == 1) continue;
    bool merge = !b.dims.empty();
    for (size_t k = 0; merge && k < ins.size(); ++k)
      merge = b.strides[k].back() == raw.strides[k][static_cast<size_t>(i)] * d;
    if (merge) {
      b.dims.back() *= d;
      for (size_t k = 0; k < ins.size(); ++k)
        b.strides[k].back() = raw.strides[k][static_cast<size_t>(i)];
    } else {
      b.dims.push_back(d);
      for (size_t k = 0; k < ins.size(); ++k)
        b.strides[k].push_back(raw.strides[k][static_cast<size_t>(i)]);
    }
  }
  if (b.dims.empty()) {
    b.dims.push_back(1);
    for (size_t k = 0; k < ins.size(); ++k) b.strides[k].push_back(0);
  }
  return b;
}

// Calls row(out_offset, in_offsets[], n) for every innermost run.
template <size_t N, typename Row>
void for_each_row(const Broadcast& b, Row&& row) {
  size_t r = b.dims.size();
  int64_t inner = b.dims[r - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; ++i) rows *= b.dims[i];
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t lo, int64_t hi) {
                 Dims idx(r, 0);
                 int64_t rem = lo;
                 int64_t off[N] = {};
                 for (size_t i = r - 1; i-- > 0;) {
                   idx[i] = rem % b.dims[i];
                   rem /= b.dims[i];
                   for (size_t k = 0; k < N; ++k) off[k] += idx[i] * b.strides[k][i];
                 }
                 for (int64_t rowi = lo; rowi < hi; ++rowi) {
                   row(rowi * inner, off, inner);
                   for (size_t i = r - 1; i-- > 0;) {
                     for (size_t k = 0; k < N; ++k) off[k] += b.strides[k][i];
                     if (++idx[i] < b.dims[i]) break;
                     for (size_t k = 0; k < N; ++k) off[k] -= b.strides[k][i] * b.dims[i];
                     idx[i] = 0;
                   }
                 }
               });
}

template <typename T, typename R, typename F>
void unary_loop(const T* x, R* y, int64_t n, F f) {
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

// The 16-bit arithmetic whose runs go eight float32 lanes at a time
// (vec::load_float, the operation, vec::store_float): InFloat's bits, one
// rounding per element, without its element-by-element conversions.
template <typename F>
struct LaneOp : std::false_type {};
template <>
struct LaneOp<fn::InFloat<fn::Add>> : std::true_type {
  static vec::f8 apply(vec::f8 a, vec::f8 b) { return a + b; }
};
template <>
struct LaneOp<fn::InFloat<fn::Sub>> : std::true_type {
  static vec::f8 apply(vec::f8 a, vec::f8 b) { return a - b; }
};
template <>
struct LaneOp<fn::InFloat<fn::Mul>> : std::true_type {
  static vec::f8 apply(vec::f8 a, vec::f8 b) { return a * b; }
};
template <>
struct LaneOp<fn::InFloat<fn::Div>> : std::true_type {
  static vec::f8 apply(vec::f8 a, vec::f8 b) { return a / b; }
};

// One run of `len` outputs from a and b at element strides sa and sb (0: the
// element repeats): each stride pattern its own plain loop, which the
// compiler vectorises for the 32- and 64-bit types; LaneOp for the 16-bit.
template <typename T, typename R, typename F>
void binary_row(const T* a, int64_t sa, const T* b, int64_t sb, R* o, int64_t len, const F& f) {
  int64_t i = 0;
  if constexpr (LaneOp<F>::value && std::is_same_v<T, R>) {
    using L = LaneOp<F>;
    if (sa == 1 && sb == 1)
      for (; i + 8 <= len; i += 8) vec::store_float(o + i, L::apply(vec::load_float(a + i), vec::load_float(b + i)));
    else if (sa == 0 && sb == 1)
      for (const vec::f8 va = vec::splat(static_cast<float>(a[0])); i + 8 <= len; i += 8)
        vec::store_float(o + i, L::apply(va, vec::load_float(b + i)));
    else if (sa == 1 && sb == 0)
      for (const vec::f8 vb = vec::splat(static_cast<float>(b[0])); i + 8 <= len; i += 8)
        vec::store_float(o + i, L::apply(vec::load_float(a + i), vb));
  }
  if (sa == 1 && sb == 1)
    for (; i < len; ++i) o[i] = f(a[i], b[i]);
  else if (sa == 0 && sb == 1)
    for (; i < len; ++i) o[i] = f(a[0], b[i]);
  else if (sa == 1 && sb == 0)
    for (; i < len; ++i) o[i] = f(a[i], b[0]);
  else
    for (; i < len; ++i) o[i] = f(a[i * sa], b[i * sb]);
}

template <typename T, typename R, typename F>
void binary_run(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  R* po = static_cast<R*>(out.raw_data());
  int64_t n = out.num_elements();
  if (n == 0) return;
  int64_t na = a.num_elements(), nb = b.num_elements();
  if ((na == n || na == 1) && (nb == n || nb == 1)) {  // flat: equal shapes, or a single element
    const int64_t sa = na == n ? 1 : 0, sb = nb == n ? 1 : 0;
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      binary_row(pa + s * sa, sa, pb + s * sb, sb, po + s, e - s, f);
    });
  } else {
    Tensor ins[2] = {a, b};
    Broadcast bc = make_broadcast(out.shape(), ins);
    int64_t sa = bc.strides[0].back(), sb = bc.strides[1].back();
    for_each_row<2>(bc, [&](int64_t o, const int64_t* off, int64_t len) {
      binary_row(pa + off[0], sa, pb + off[1], sb, po + o, len, f);
    });
  }
}

}  // namespace ember::cpu::elementwise
