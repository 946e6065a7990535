// Pooling on CUDA: one thread per output (forward) or input (gradient)
// element, with the element functions the CPU uses (kernels/pool_math.h).
#include "core/op_names.h"
#include "core/ops/conv_util.h"
#include "kernels/cuda/common.cuh"
#include "kernels/pool_math.h"

namespace ember::cuda {
namespace {

#define EMBER_GRID_STRIDE(i, n)                                                            \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

template <typename T, bool kMax>
__global__ void pool_fwd(pool::Geometry g, const T* in, T* out, int64_t n) {
  EMBER_GRID_STRIDE(o, n) out[o] = kMax ? pool::max_at(g, in, o) : pool::avg_at(g, in, o);
}
template <typename T>
__global__ void max_grad(pool::Geometry g, const T* in, const T* grad, T* out, int64_t n) {
  EMBER_GRID_STRIDE(e, n) out[e] = pool::max_grad_at(g, in, grad, e);
}
template <typename T>
__global__ void avg_grad(pool::Geometry g, const T* grad, T* out, int64_t n) {
  EMBER_GRID_STRIDE(e, n) out[e] = pool::avg_grad_at(g, grad, e);
}

template <typename T, bool kMax>
void launch_pool(const KernelContext& c, const pool::Geometry& g, const Tensor& x, Tensor& y) {
  int64_t n = y.num_elements();
  if (n == 0) return;
  pool_fwd<T, kMax><<<blocks_for(n), kThreads, 0, prepare(c)>>>(g, x.data<const T>(), y.data<T>(), n);
  EMBER_CUDA_LAUNCHED();
}

template <bool kMax>
void pool_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  pool::Geometry g = pool::geometry(c, x.shape());
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()),
                     (launch_pool<scalar_t, kMax>(c, g, x, c.outputs[0])));
}

template <typename T>
void launch_max_grad(const KernelContext& c, const pool::Geometry& g, Tensor& dx) {
  int64_t n = dx.num_elements();
  if (n == 0) return;
  max_grad<T><<<blocks_for(n), kThreads, 0, prepare(c)>>>(
      g, c.inputs[0].data<const T>(), c.inputs[2].data<const T>(), dx.data<T>(), n);
  EMBER_CUDA_LAUNCHED();
}

void max_pool_grad(KernelContext& c) {
  pool::Geometry g = pool::geometry(c, c.inputs[0].shape());
  EMBER_SWITCH_FLOATING(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                     (launch_max_grad<scalar_t>(c, g, c.outputs[0])));
}

template <typename T>
void launch_avg_grad(const KernelContext& c, const pool::Geometry& g, Tensor& dx) {
  int64_t n = dx.num_elements();
  if (n == 0) return;
  avg_grad<T><<<blocks_for(n), kThreads, 0, prepare(c)>>>(g, c.inputs[0].data<const T>(),
                                                           dx.data<T>(), n);
  EMBER_CUDA_LAUNCHED();
}

void avg_pool_grad(KernelContext& c) {
  pool::Geometry g = pool::geometry(c, c.outputs[0].shape());
  EMBER_SWITCH_FLOATING(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                     (launch_avg_grad<scalar_t>(c, g, c.outputs[0])));
}

EMBER_REGISTER_KERNEL(op_name::MaxPool, CUDA, pool_kernel<true>);
EMBER_REGISTER_KERNEL(op_name::AvgPool, CUDA, pool_kernel<false>);
EMBER_REGISTER_KERNEL(op_name::MaxPoolGrad, CUDA, max_pool_grad);
EMBER_REGISTER_KERNEL(op_name::AvgPoolGrad, CUDA, avg_pool_grad);

}  // namespace
}  // namespace ember::cuda
