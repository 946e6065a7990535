// Top-k on CUDA: a thread per row with the CPU's row functions
// (kernels/topk.h). Simple and exact, O(n·k) per row: suited to the small k
// of classification; a large k over long rows wants a segmented sort (CUB).
#include "core/op_names.h"
#include "kernels/cuda/common.cuh"
#include "kernels/topk.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void top_k_rows(const T* x, T* v, int32_t* idx, int64_t rows, int64_t n, int64_t k) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x)
    topk::row(x + r * n, n, k, v + r * k, idx + r * k);
}

template <typename I>
__global__ void in_top_k_rows(const float* p, const I* t, bool* out, int64_t rows, int64_t n, int64_t k) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[r] = topk::in_top(p + r * n, n, t[r], k);
}

template <typename T>
void launch_top_k(const KernelContext& c, int64_t rows, int64_t n, int64_t k) {
  top_k_rows<T><<<blocks_for(rows), kThreads, 0, prepare(c)>>>(
      c.inputs[0].data<const T>(), c.outputs[0].data<T>(), c.outputs[1].data<int32_t>(), rows, n, k);
  EMBER_CUDA_LAUNCHED();
}

void top_k_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  int64_t k = c.attrs.get<int64_t>("k"), n = x.dim(-1);
  if (k == 0 || c.outputs[0].num_elements() == 0) return;
  int64_t rows = x.num_elements() / n;
  EMBER_SWITCH_ARITH(x.dtype(), unsupported_dtype(c, x.dtype()), (launch_top_k<scalar_t>(c, rows, n, k)));
}

template <typename I>
void launch_in_top_k(const KernelContext& c, int64_t rows, int64_t n, int64_t k) {
  in_top_k_rows<I><<<blocks_for(rows), kThreads, 0, prepare(c)>>>(
      c.inputs[0].data<const float>(), c.inputs[1].data<const I>(), c.outputs[0].data<bool>(), rows, n, k);
  EMBER_CUDA_LAUNCHED();
}

void in_top_k_kernel(KernelContext& c) {
  int64_t rows = c.inputs[0].dim(0), n = c.inputs[0].dim(1), k = c.attrs.get<int64_t>("k");
  if (rows == 0) return;
  EMBER_SWITCH_INDEX(c.inputs[1].dtype(), unsupported_dtype(c, c.inputs[1].dtype()),
                     (launch_in_top_k<scalar_t>(c, rows, n, k)));
}

EMBER_REGISTER_KERNEL(op_name::TopKV2, CUDA, top_k_kernel);
EMBER_REGISTER_KERNEL(op_name::InTopKV2, CUDA, in_top_k_kernel);

}  // namespace
}  // namespace ember::cuda
