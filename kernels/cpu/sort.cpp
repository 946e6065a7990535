// Top-k on the CPU: rows split across threads (kernels/topk.h).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/parallel.h"
#include "kernels/topk.h"

namespace ember::cpu {
namespace {

template <typename T>
void top_k_rows(const T* x, T* v, int32_t* idx, int64_t rows, int64_t n, int64_t k) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n * std::max<int64_t>(k, 1), 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) topk::row(x + r * n, n, k, v + r * k, idx + r * k);
               });
}

void top_k_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  int64_t k = c.attrs.get<int64_t>("k");
  int64_t n = x.dim(-1);
  if (k == 0 || c.outputs[0].num_elements() == 0) return;
  int64_t rows = x.num_elements() / n;
  EMBER_SWITCH_ARITH(x.dtype(), unsupported_dtype(c, x.dtype()),
                       top_k_rows(x.data<const scalar_t>(), c.outputs[0].data<scalar_t>(),
                                  c.outputs[1].data<int32_t>(), rows, n, k));
}

void in_top_k_kernel(KernelContext& c) {
  const Tensor& p = c.inputs[0];
  const Tensor& t = c.inputs[1];
  int64_t rows = p.dim(0), n = p.dim(1), k = c.attrs.get<int64_t>("k");
  bool* out = c.outputs[0].data<bool>();
  EMBER_SWITCH_INDEX(t.dtype(), unsupported_dtype(c, t.dtype()), {
    const scalar_t* tg = t.data<const scalar_t>();
    for (int64_t r = 0; r < rows; ++r) out[r] = topk::in_top(p.data<const float>() + r * n, n, tg[r], k);
  });
}

EMBER_REGISTER_KERNEL(op_name::TopKV2, CPU, top_k_kernel);
EMBER_REGISTER_KERNEL(op_name::InTopKV2, CPU, in_top_k_kernel);

}  // namespace
}  // namespace ember::cpu
