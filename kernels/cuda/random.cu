// Random kernels on CUDA: each thread computes the Philox block its element
// belongs to, with the functions the CPU uses (core/philox.h,
// kernels/functors.h), so a seed gives the same numbers on every device.
#include "core/philox.h"
#include "core/op_names.h"
#include "kernels/cuda/common.cuh"
#include "kernels/functors.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void uniform_kernel(T* y, int64_t n, uint64_t key, uint64_t offset) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<T, float>) {
      philox::Block b = philox::at(key, offset + static_cast<uint64_t>(i / 4));
      y[i] = philox::uniform_float(b.v[i % 4]);
    } else {
      philox::Block b = philox::at(key, offset + static_cast<uint64_t>(i / 2));
      y[i] =
          i % 2 ? philox::uniform_double(b.v[2], b.v[3]) : philox::uniform_double(b.v[0], b.v[1]);
    }
  }
}

template <typename T, bool kTruncated>
__global__ void normal_kernel(T* y, int64_t n, uint64_t key, uint64_t offset) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if constexpr (kTruncated) {
      T v;
      uint64_t sub = 0;
      do v = fn::normal_at<T>(key, offset, i, sub++);
      while (v <= T(-2) || v >= T(2));
      y[i] = v;
    } else {
      y[i] = fn::normal_at<T>(key, offset, i);
    }
  }
}

template <int kKind>  // 0 uniform, 1 normal, 2 truncated normal
void random_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  int64_t n = y.num_elements();
  if (n == 0) return;
  auto key = static_cast<uint64_t>(c.attrs.get<int64_t>("key"));
  auto offset = static_cast<uint64_t>(c.attrs.get<int64_t>("offset"));
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_FLOAT(y.dtype(), unsupported_dtype(c, y.dtype()), {
    if constexpr (kKind == 0)
      uniform_kernel<<<blocks_for(n), kThreads, 0, s>>>(y.data<scalar_t>(), n, key, offset);
    else
      normal_kernel<scalar_t, kKind == 2>
          <<<blocks_for(n), kThreads, 0, s>>>(y.data<scalar_t>(), n, key, offset);
  });
  EMBER_CUDA_LAUNCHED();
}

EMBER_REGISTER_KERNEL(op_name::RandomUniform, CUDA, random_kernel<0>);
EMBER_REGISTER_KERNEL(op_name::RandomStandardNormal, CUDA, random_kernel<1>);
EMBER_REGISTER_KERNEL(op_name::TruncatedNormal, CUDA, random_kernel<2>);

}  // namespace
}  // namespace ember::cuda
