// Matrix products through cuBLAS's GemmStridedBatchedEx (float32, float64,
// bfloat16 and float16 with float32 accumulation; TF32 only when the program
// enables it). cuBLAS is column-major, so a row-major C = op(A)·op(B)
// is computed as C^T = op(B)^T·op(A)^T with the operands swapped. Batches
// without broadcasting go to one strided-batched call; broadcast batches to
// one call per matrix, all queued on the device's stream.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <vector>

#include "core/cuda/cuda_check.h"
#include "core/cuda_runtime.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cuda/cublas_library.h"
#include "kernels/cuda/thread_handles.h"
#include "kernels/matmul_batch.h"

#define EMBER_CUBLAS_CHECK(CALL)                                                               \
  do {                                                                                         \
    cublasStatus_t ember_st_ = (CALL);                                                         \
    if (ember_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                       \
      throw ::ember::Internal(::ember::detail::str_cat(                                        \
          "[cublas] ", #CALL, " failed: ", cublas_library().status_string(ember_st_), " at ", __FILE__, \
          ":", __LINE__));                                                                     \
  } while (0)

namespace ember::cuda {
namespace {

cublasHandle_t create_handle(int device) {
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  cublasHandle_t h = nullptr;
  EMBER_CUBLAS_CHECK(cublas_library().create(&h));
  return h;
}

// This thread's handle (kernels/cuda/thread_handles.h), on this thread's
// stream: a thread capturing a CUDA graph has its own.
cublasHandle_t handle(int device) {
  cublasHandle_t h = thread_handle<cublasHandle_t, create_handle>(device);
  EMBER_CUBLAS_CHECK(cublas_library().set_stream(h, stream(device)));
  return h;
}

// cuBLAS's names for an element type and the arithmetic it is multiplied
// in: float32 (TF32 tensor cores once the program enables them), float64,
// and the 16-bit floats with float32 accumulation.
template <typename T>
struct GemmTypes;
template <>
struct GemmTypes<float> {
  static constexpr cudaDataType_t data = CUDA_R_32F;
  static cublasComputeType_t compute() {
    return tensor_float_32_execution_enabled() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  }
  using Scale = float;
};
template <>
struct GemmTypes<double> {
  static constexpr cudaDataType_t data = CUDA_R_64F;
  static cublasComputeType_t compute() { return CUBLAS_COMPUTE_64F; }
  using Scale = double;
};
template <>
struct GemmTypes<bfloat16_t> {
  static constexpr cudaDataType_t data = CUDA_R_16BF;
  static cublasComputeType_t compute() { return CUBLAS_COMPUTE_32F; }
  using Scale = float;
};
template <>
struct GemmTypes<float16_t> {
  static constexpr cudaDataType_t data = CUDA_R_16F;
  static cublasComputeType_t compute() { return CUBLAS_COMPUTE_32F; }
  using Scale = float;
};

template <typename T>
void gemm(cublasHandle_t h, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a,
          const T* b, T* c, int64_t batch, int64_t stride_a, int64_t stride_b) {
  using G = GemmTypes<T>;
  const typename G::Scale one = 1, zero = 0;
  auto opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  int lda = static_cast<int>(ta ? m : k), ldb = static_cast<int>(tb ? k : n);
  EMBER_CUBLAS_CHECK(cublas_library().gemm_strided_batched_ex(
      h, opb, opa, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &one, b, G::data,
      ldb, stride_b, a, G::data, lda, stride_a, &zero, c, G::data, static_cast<int>(n), m * n,
      static_cast<int>(batch), G::compute(), CUBLAS_GEMM_DEFAULT));
}

template <typename T>
void matmul_typed(KernelContext& c, bool ta, bool tb) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  Tensor& out = c.outputs[0];
  int ra = a.rank(), rb = b.rank(), ro = out.rank();
  int64_t m = out.dim(ro - 2), n = out.dim(ro - 1), k = a.dim(ta ? ra - 2 : ra - 1);
  int64_t batch = out.num_elements() / std::max<int64_t>(m * n, 1);
  if (out.num_elements() == 0) return;
  EMBER_CUDA_CHECK(cudaSetDevice(c.device.index()));
  cudaStream_t s = stream(c.device.index());
  if (k == 0) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.nbytes(), s));
    return;
  }
  cublasHandle_t h = handle(c.device.index());
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* po = static_cast<T*>(out.raw_data());
  int64_t sa = a.dim(ra - 2) * a.dim(ra - 1), sb = b.dim(rb - 2) * b.dim(rb - 1);
  int64_t batch_a = a.num_elements() / std::max<int64_t>(sa, 1),
          batch_b = b.num_elements() / std::max<int64_t>(sb, 1);
  if (batch_a == batch && batch_b == batch) {
    gemm<T>(h, ta, tb, m, n, k, pa, pb, po, batch, sa, sb);
  } else if (batch_a == 1 || batch_b == 1) {  // one side shared by every batch entry: stride 0
    gemm<T>(h, ta, tb, m, n, k, pa, pb, po, batch, batch_a == 1 ? 0 : sa, batch_b == 1 ? 0 : sb);
  } else {  // general broadcast: one product per output matrix
    for (int64_t t = 0; t < batch; ++t) {
      auto [ia, ib] = kernels::batch_operands(out, a, b, t);
      gemm<T>(h, ta, tb, m, n, k, pa + ia * sa, pb + ib * sb, po + t * m * n, 1, sa, sb);
    }
  }
}

void matmul_any(KernelContext& c, bool ta, bool tb) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), matmul_typed<scalar_t>(c, ta, tb));
}
void matmul(KernelContext& c) {
  matmul_any(c, c.attrs.get<bool>("transpose_a"), c.attrs.get<bool>("transpose_b"));
}
void batch_matmul(KernelContext& c) {
  matmul_any(c, c.attrs.get<bool>("adj_x"), c.attrs.get<bool>("adj_y"));
}

EMBER_REGISTER_KERNEL(op_name::MatMul, CUDA, matmul);
EMBER_REGISTER_KERNEL(op_name::BatchMatMulV2, CUDA, batch_matmul);

}  // namespace
}  // namespace ember::cuda
