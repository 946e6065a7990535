// Matrix products: float32 through oneDNN's GEMM (its JIT AVX-512 kernels
// take 250 µs where OpenBLAS 0.3.21 takes 430 for the mlp's 128×784·784×256
// on 2 cores, and 15 against 70 µs for the thin 128×10·10×256), float64
// through OpenBLAS's CBLAS; bfloat16 through oneDNN's matmul primitive
// (bfloat16 operands, float32 accumulation, one rounding: AVX512-BF16 or
// AMX where the processor has them, `ember-info` says which); float16, and
// bfloat16 where oneDNN has no kernel for the processor, widened to
// float32, multiplied with float32 accumulation and rounded once. Batched
// products broadcast their batch dimensions and call GEMM once per matrix.
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

#include "core/half.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/widen.h"
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
  Staged<H, float> staged(out);
  matmul_typed<float>(cast(a, float32), cast(b, float32), staged.scratch, ta, tb);
  staged.finish();
}

// ---- bfloat16: oneDNN's matmul primitive -------------------------------------------------------

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// The primitive for op(A)[m,k]·op(B)[k,n] in bfloat16, made once per shape;
// null where oneDNN has no bfloat16 kernel for this processor.
std::shared_ptr<const dnnl::matmul> bf16_matmul(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  using dnnl::memory;
  static std::mutex mu;
  static std::map<std::tuple<int64_t, int64_t, int64_t, bool, bool>, std::shared_ptr<const dnnl::matmul>> cache;
  const auto key = std::make_tuple(m, n, k, ta, tb);
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::shared_ptr<const dnnl::matmul> prim;
  try {
    const auto bf16 = memory::data_type::bf16;
    memory::desc a({m, k}, bf16, ta ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc b({k, n}, bf16, tb ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc c({m, n}, bf16, memory::dims{n, 1});
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine());
    // oneDNN's reference kernel is far slower than widening to float32's GEMM.
    if (std::string(pd.impl_info_str()).find("ref") == std::string::npos) prim = std::make_shared<dnnl::matmul>(pd);
  } catch (const dnnl::error&) {
  }
  return cache.emplace(key, prim).first->second;
}

// False where oneDNN has no fast bfloat16 kernel here: the caller widens.
bool matmul_bf16(const Tensor& a, const Tensor& b, Tensor& out, bool ta, bool tb) {
  using dnnl::memory;
  int ra = a.rank(), rb = b.rank(), ro = out.rank();
  int64_t m = out.dim(ro - 2), n = out.dim(ro - 1);
  int64_t k = a.dim(ta ? ra - 2 : ra - 1);
  if (m == 0 || n == 0 || k == 0) return false;
  auto prim = bf16_matmul(m, n, k, ta, tb);
  if (!prim) return false;
  int64_t batch = 1;
  for (int i = 0; i < ro - 2; ++i) batch *= out.dim(i);
  const auto bf16 = memory::data_type::bf16;
  const memory::desc a_md({m, k}, bf16, ta ? memory::dims{1, m} : memory::dims{k, 1});
  const memory::desc b_md({k, n}, bf16, tb ? memory::dims{1, k} : memory::dims{n, 1});
  const memory::desc c_md({m, n}, bf16, memory::dims{n, 1});
  auto* pa = static_cast<bfloat16_t*>(a.raw_data());
  auto* pb = static_cast<bfloat16_t*>(b.raw_data());
  auto* po = static_cast<bfloat16_t*>(out.raw_data());
  const int64_t sa = a.dim(ra - 2) * a.dim(ra - 1), sb = b.dim(rb - 2) * b.dim(rb - 1);
  dnnl::stream s(engine());
  for (int64_t t = 0; t < batch; ++t) {
    auto [ia, ib] = kernels::batch_operands(out, a, b, t);
    prim->execute(s, {{DNNL_ARG_SRC, memory(a_md, engine(), pa + ia * sa)},
                      {DNNL_ARG_WEIGHTS, memory(b_md, engine(), pb + ib * sb)},
                      {DNNL_ARG_DST, memory(c_md, engine(), po + t * m * n)}});
  }
  s.wait();
  return true;
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
      if (matmul_bf16(a, b, out, ta, tb)) return;
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
