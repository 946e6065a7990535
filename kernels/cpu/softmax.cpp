// Softmax and log-softmax over the last axis, one row at a time: a max pass,
// a pass that sums exp(x - max) (softmax also stores the exponentials), and
// a write pass. A row is read from memory once; the later passes hit cache.
#include <cmath>

#include "core/op.h"
#include "kernels/cpu/parallel.h"
#include "kernels/functors.h"

namespace ember::cpu {
namespace {

template <typename T>
T row_max(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  T m[kLanes];
  for (auto& v : m) v = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
  for (; i < n; ++i) m[0] = x[i] > m[0] ? x[i] : m[0];
  T r = m[0];
  for (int l = 1; l < kLanes; ++l) r = m[l] > r ? m[l] : r;
  return r;
}

template <typename T, bool kLog>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      T m = row_max(xr, n);
      if (!std::isfinite(m)) m = std::isnan(m) ? m : T(0);  // all -inf rows: avoid inf - inf
      T sum = 0;
      if constexpr (kLog) {
        for (int64_t i = 0; i < n; ++i) sum += fn::exp_(xr[i] - m);
        T shift = m + std::log(sum);
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] - shift;
      } else {
        for (int64_t i = 0; i < n; ++i) {
          T v = fn::exp_(xr[i] - m);
          yr[i] = v;
          sum += v;
        }
        T inv = T(1) / sum;
        for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
      }
    }
  });
}

template <bool kLog>
void softmax_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  int64_t n = x.dim(x.rank() - 1);
  if (x.num_elements() == 0) return;
  int64_t rows = x.num_elements() / n;
  EMBER_SWITCH_FLOAT(x.dtype(), break,
                     (softmax_rows<scalar_t, kLog>(x.data<const scalar_t>(), c.outputs[0].data<scalar_t>(), rows, n)));
}

EMBER_REGISTER_KERNEL("Softmax", CPU, softmax_kernel<false>);
EMBER_REGISTER_KERNEL("LogSoftmax", CPU, softmax_kernel<true>);

}  // namespace
}  // namespace ember::cpu
