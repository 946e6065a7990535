// What the CPU elementwise kernels share (elementwise_unary.cpp,
// elementwise_arithmetic.cpp, elementwise_compare.cpp): a flat loop when the shapes agree (or one side is
// a single element), otherwise a row loop over the collapsed broadcast, with
// the innermost run contiguous. Split in three files so that the
// instantiations compile in parallel.
#pragma once

#include <algorithm>
#include <span>

#include "core/op_registry.h"
#include "kernels/cpu/parallel.h"

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

template <typename T, typename R, typename F>
void binary_run(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  R* po = static_cast<R*>(out.raw_data());
  int64_t n = out.num_elements();
  if (n == 0) return;
  int64_t na = a.num_elements(), nb = b.num_elements();
  if (na == n && nb == n) {
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i]);
    });
  } else if (na == 1 && nb == n) {
    T va = pa[0];
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(va, pb[i]);
    });
  } else if (nb == 1 && na == n) {
    T vb = pb[0];
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], vb);
    });
  } else {
    Tensor ins[2] = {a, b};
    Broadcast bc = make_broadcast(out.shape(), ins);
    int64_t sa = bc.strides[0].back(), sb = bc.strides[1].back();
    for_each_row<2>(bc, [&](int64_t o, const int64_t* off, int64_t len) {
      const T* ra = pa + off[0];
      const T* rb = pb + off[1];
      R* ro = po + o;
      if (sa == 1 && sb == 1)
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[i], rb[i]);
      else if (sa == 0 && sb == 1)
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[0], rb[i]);
      else if (sa == 1 && sb == 0)
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[i], rb[0]);
      else
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[i * sa], rb[i * sb]);
    });
  }
}

}  // namespace ember::cpu::elementwise
