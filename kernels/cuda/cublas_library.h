// cuBLAS, opened the first time a CUDA kernel needs it instead of linked.
// Loading libcublas (and the cuBLASLt it links) runs static initialisers
// that take about 70 ms of CPU: every process using ember paid that at
// start, with or without a GPU (a trivial program linked with -lcublas
// starts in 103 ms against 0.65 ms without, on the 2-core CI machines).
// Only the entry points ember calls are looked up; add one here to use it.
#pragma once

#include <cublas_v2.h>

namespace ember::cuda {

struct CublasLibrary {
  // The C entry point cublasGemmStridedBatchedEx (32-bit sizes); C++ sees an
  // overload set there, so its type is spelled out.
  using GemmStridedBatchedEx = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int m, int n,
                                                  int k, const void* alpha, const void* a, cudaDataType, int lda,
                                                  long long stride_a, const void* b, cudaDataType, int ldb,
                                                  long long stride_b, const void* beta, void* c, cudaDataType,
                                                  int ldc, long long stride_c, int batch, cublasComputeType_t,
                                                  cublasGemmAlgo_t);
  decltype(&cublasCreate_v2) create;
  decltype(&cublasSetStream_v2) set_stream;
  GemmStridedBatchedEx gemm_strided_batched_ex;
  decltype(&cublasGetStatusString) status_string;
};

/// The loaded library, opened once (thread-safe). Throws Unavailable naming
/// the file and the loader's reason when it cannot be opened or lacks an
/// entry point.
const CublasLibrary& cublas_library();

}  // namespace ember::cuda
