// Matrix products: float32 through oneDNN's GEMM (its JIT AVX-512 kernels
// take 250 µs where OpenBLAS 0.3.21 takes 430 for the mlp's 128×784·784×256
// on 2 cores, and 15 against 70 µs for the thin 128×10·10×256), float64
// through OpenBLAS's CBLAS; the 16-bit floats are widened to float32,
// multiplied with float32 accumulation and rounded once. Batched products
// broadcast their batch dimensions and call GEMM once per matrix.
#include "core/op.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/matmul_batch.h"

namespace ember::cpu {
namespace {

// op(A)·op(B) into C, packed.
template <typename T>
void packed_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
  cpu::gemm<T>(ta, tb, m, n, k, T(1), a, ta ? m : k, b, tb ? k : n, T(0), c, n);
}

template <typename T>
void matmul_typed(const Tensor& a, const Tensor& b, Tensor& out, bool ta, bool tb) {
  int ra = a.rank(), rb = b.rank(), ro = out.rank();
  int64_t m = out.dim(ro - 2), n = out.dim(ro - 1);
  int64_t k = a.dim(ta ? ra - 2 : ra - 1);
  int64_t batch = 1;
  for (int i = 0; i < ro - 2; ++i) batch *= out.dim(i);
  const T* pa = a.data<const T>();
  const T* pb = b.data<const T>();
  T* po = out.data<T>();
  int64_t sa = a.dim(ra - 2) * a.dim(ra - 1), sb = b.dim(rb - 2) * b.dim(rb - 1);
  for (int64_t t = 0; t < batch; ++t) {
    auto [ia, ib] = kernels::batch_operands(out, a, b, t);
    packed_gemm<T>(ta, tb, m, n, k, pa + ia * sa, pb + ib * sb, po + t * m * n);
  }
}

template <typename H>
void matmul_half(const Tensor& a, const Tensor& b, Tensor& out, bool ta, bool tb) {
  Tensor out32 = Tensor::empty(out.shape(), float32, out.device());
  matmul_typed<float>(cast(a, float32), cast(b, float32), out32, ta, tb);
  const float* src = out32.data<const float>();
  H* dst = out.data<H>();
  parallel_for(out.num_elements(), kParallelGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) dst[i] = H(src[i]);
  });
}

void matmul_any(KernelContext& c, bool ta, bool tb) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  Tensor& out = c.outputs[0];
  switch (a.dtype()) {
    case float32:
      return matmul_typed<float>(a, b, out, ta, tb);
    case float64:
      return matmul_typed<double>(a, b, out, ta, tb);
    case bfloat16:
      return matmul_half<bfloat16_t>(a, b, out, ta, tb);
    case float16:
      return matmul_half<float16_t>(a, b, out, ta, tb);
    default:
      unsupported_dtype(c, a.dtype());
  }
}

void matmul_kernel(KernelContext& c) {
  matmul_any(c, c.attrs.get<bool>("transpose_a"), c.attrs.get<bool>("transpose_b"));
}
void batch_matmul_kernel(KernelContext& c) {
  matmul_any(c, c.attrs.get<bool>("adj_x"), c.attrs.get<bool>("adj_y"));
}

EMBER_REGISTER_KERNEL(op_name::MatMul, CPU, matmul_kernel);
EMBER_REGISTER_KERNEL(op_name::BatchMatMulV2, CPU, batch_matmul_kernel);

}  // namespace
}  // namespace ember::cpu
