// Row-major GEMM for the CPU kernels: C = alpha·op(A)·op(B) + beta·C, float
// through oneDNN's sgemm (its JIT AVX-512/AVX2 kernels), double through
// OpenBLAS's CBLAS. Both are OpenMP builds: called inside a parallel region
// (a kernel's parallel_for), they run on the calling thread.
#pragma once

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdint>
#include <type_traits>

#include "core/error.h"

namespace ember::cpu {

template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS leaves C alone for k = 0 only when beta = 1
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    dnnl_status_t st =
        dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    EMBER_CHECK(st == dnnl_success, Internal, "oneDNN's sgemm failed (status ",
                static_cast<int>(st), ")");
  } else {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
                static_cast<blasint>(ldc));
  }
}

}  // namespace ember::cpu
