// EMBER_CUDA_CHECK: every CUDA runtime call's status becomes an ember::Error
// naming the call, the error, the file and the line.
#pragma once

#include <cuda_runtime_api.h>

#include "core/error.h"

namespace ember::cuda::detail {
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);
}

#define EMBER_CUDA_CHECK(CALL)                                                        \
  do {                                                                                \
    cudaError_t ember_err_ = (CALL);                                                  \
    if (ember_err_ != cudaSuccess) [[unlikely]]                                       \
      ::ember::cuda::detail::throw_cuda_error(ember_err_, #CALL, __FILE__, __LINE__); \
  } while (0)
