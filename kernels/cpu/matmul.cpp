// Matrix products through OpenBLAS's CBLAS (float32, float64). Batched
// products broadcast their batch dimensions and call GEMM once per matrix.
#include <cblas.h>

#include <cstring>

#include "core/op.h"
#include "kernels/matmul_batch.h"

namespace ember::cpu {
namespace {

template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::memset(c, 0, static_cast<size_t>(m * n) * sizeof(T));
    return;
  }
  auto lda = static_cast<blasint>(ta ? m : k), ldb = static_cast<blasint>(tb ? k : n);
  auto tra = ta ? CblasTrans : CblasNoTrans, trb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, tra, trb, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.0f, a, lda, b, ldb, 0.0f, c, static_cast<blasint>(n));
  } else {
    cblas_dgemm(CblasRowMajor, tra, trb, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.0, a, lda, b, ldb, 0.0, c, static_cast<blasint>(n));
  }
}

template <typename T>
void matmul_typed(KernelContext& c, bool ta, bool tb) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  Tensor& out = c.outputs[0];
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
    gemm<T>(ta, tb, m, n, k, pa + ia * sa, pb + ib * sb, po + t * m * n);
  }
}

void matmul_kernel(KernelContext& c) {
  bool ta = c.attrs.get<bool>("transpose_a"), tb = c.attrs.get<bool>("transpose_b");
  EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), break, matmul_typed<scalar_t>(c, ta, tb));
}
void batch_matmul_kernel(KernelContext& c) {
  bool ta = c.attrs.get<bool>("adj_x"), tb = c.attrs.get<bool>("adj_y");
  EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), break, matmul_typed<scalar_t>(c, ta, tb));
}

EMBER_REGISTER_KERNEL("MatMul", CPU, matmul_kernel);
EMBER_REGISTER_KERNEL("BatchMatMulV2", CPU, batch_matmul_kernel);

}  // namespace
}  // namespace ember::cpu
