// CUDA kernel of Fill: the first op of the CUDA backend, and the template the
// others follow (a grid-stride loop, a checked launch on the device's stream).
#include <cuda_runtime.h>

#include "core/cuda/cuda_check.h"
#include "core/cuda_runtime.h"
#include "core/op.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void fill_kernel(T* out, int64_t n, T value) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = value;
}

template <typename T>
void launch_fill(Tensor& y, double value, int device) {
  int64_t n = y.num_elements();
  if (n == 0) return;
  int threads = 256;
  int blocks = static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  fill_kernel<T><<<blocks, threads, 0, stream(device)>>>(static_cast<T*>(y.raw_data()), n, static_cast<T>(value));
  EMBER_CUDA_CHECK(cudaGetLastError());
}

void fill(KernelContext& c) {
  Tensor& y = c.outputs[0];
  double v = c.attrs.get<double>("value");
  EMBER_SWITCH_ALL(y.dtype(), break, launch_fill<scalar_t>(y, v, c.device.index()));
}

EMBER_REGISTER_KERNEL("Fill", CUDA, fill);

}  // namespace
}  // namespace ember::cuda
