// parallel_for: splits [0, n) across the OpenMP threads when the work is
// large enough to pay for waking them; small ops stay on the calling thread.
// Every thread flushes denormals to zero while it works (core/denormal.h).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "core/denormal.h"

namespace ember::cpu {

/// Elements below which an elementwise loop runs on one thread.
inline constexpr int64_t kParallelGrain = 32768;

template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
  if (chunks <= 1) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(static_cast <int>(chunks))
  {
    FlushDenormals flush;  // each thread's own mode, as the caller's (KernelScope)
    int64_t t = omp_get_thread_num();
    int64_t per = (n + chunks - 1) / chunks;
    int64_t b = t * per, e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

}  // namespace ember::cpu
