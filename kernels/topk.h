// Top-k arithmetic shared by the CPU and CUDA kernels: one row at a time.
// Order: larger first, NaN above everything, ties by lower index.
#pragma once

#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"

namespace ember::topk {

/// What T is compared as: float for the 16-bit floats (exact), else T.
template <typename T>
EMBER_HOST_DEVICE auto key(T v) {
  return static_cast<compute_t<T>>(v);
}

template <typename T>
EMBER_HOST_DEVICE bool before(T va, int64_t ia, T vb, int64_t ib) {
  auto a = key(va), b = key(vb);
  bool an = a != a, bn = b != b;
  if (an != bn) return an;
  if (!an && a != b) return a > b;
  return ia < ib;
}

/// The k first entries of row `x` (n long) in that order, by insertion into
/// the (sorted) outputs: O(n·k), fine for the small k of classification.
template <typename T>
EMBER_HOST_DEVICE void row(const T* x, int64_t n, int64_t k, T* values, int32_t* indices) {
  int64_t have = 0;
  for (int64_t i = 0; i < n; ++i) {
    T v = x[i];
    if (have == k && !before(v, i, values[k - 1], int64_t(indices[k - 1]))) continue;
    int64_t j = have < k ? have++ : k - 1;
    while (j > 0 && before(v, i, values[j - 1], int64_t(indices[j - 1]))) {
      values[j] = values[j - 1];
      indices[j] = indices[j - 1];
      --j;
    }
    values[j] = v;
    indices[j] = static_cast<int32_t>(i);
  }
}

/// Whether class `target` of row `p` (n long) is among its k largest.
template <typename I>
EMBER_HOST_DEVICE bool in_top(const float* p, int64_t n, I target, int64_t k) {
  if (target < 0 || int64_t(target) >= n) return false;
  float v = p[target];
  if (!(v - v == 0.0f)) return false;  // NaN or infinite
  int64_t larger = 0;
  for (int64_t i = 0; i < n; ++i) larger += p[i] > v;
  return larger < k;
}

}  // namespace ember::topk
