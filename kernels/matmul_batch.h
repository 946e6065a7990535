// Batched matmul's broadcasting, shared by the CPU and CUDA launchers: which
// matrix of each operand the output's batch entry t multiplies.
#pragma once

#include <utility>

#include "core/tensor.h"

namespace ember::kernels {

/// (matrix index in a, matrix index in b) for output batch entry t; batch
/// dimensions of size 1 broadcast.
inline std::pair<int64_t, int64_t> batch_operands(const Tensor& out, const Tensor& a,
                                                  const Tensor& b, int64_t t) {
  int ra = a.rank(), rb = b.rank(), ro = out.rank();
  int64_t rem = t, ia = 0, ib = 0, mul_a = 1, mul_b = 1;
  for (int i = ro - 3; i >= 0; --i) {
    int64_t idx = rem % out.dim(i);
    rem /= out.dim(i);
    int ja = i - (ro - ra), jb = i - (ro - rb);
    if (ja >= 0) {
      if (a.dim(ja) != 1) ia += idx * mul_a;
      mul_a *= a.dim(ja);
    }
    if (jb >= 0) {
      if (b.dim(jb) != 1) ib += idx * mul_b;
      mul_b *= b.dim(jb);
    }
  }
  return {ia, ib};
}

}  // namespace ember::kernels
