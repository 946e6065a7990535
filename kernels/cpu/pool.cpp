// Pooling on the CPU: the element functions of kernels/pool_math.h over
// every output (forward) or input (gradients) element, split across threads.
#include "core/op.h"
#include "core/op_names.h"
#include "core/ops/conv_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/pool_math.h"

namespace ember::cpu {
namespace {

pool::Geometry geometry(const KernelContext& c, const TensorShape& input) {
  auto k = c.attrs.get<std::vector<int64_t>>("ksize");
  Window2D w = window_2d(c, input, k[1], k[2]);
  return {w.n, w.h, w.w, w.c, w.oh, w.ow, w.kh, w.kw, w.sh, w.sw, w.pad_top, w.pad_left};
}

template <typename F>
void each(int64_t n, F f) {
  parallel_for(n, kParallelGrain / 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

template <bool kMax>
void pool_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  pool::Geometry g = geometry(c, x.shape());
  Tensor& y = c.outputs[0];
  EMBER_SWITCH_FLOAT(x.dtype(), unsupported_dtype(c, x.dtype()), {
    const scalar_t* in = x.data<const scalar_t>();
    scalar_t* out = y.data<scalar_t>();
    each(y.num_elements(), [&](int64_t o) {
      out[o] = kMax ? pool::max_at(g, in, o) : pool::avg_at(g, in, o);
    });
  });
}

void max_pool_grad(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& grad = c.inputs[2];
  pool::Geometry g = geometry(c, x.shape());
  EMBER_SWITCH_FLOAT(x.dtype(), unsupported_dtype(c, x.dtype()), {
    const scalar_t* in = x.data<const scalar_t>();
    const scalar_t* gr = grad.data<const scalar_t>();
    scalar_t* out = c.outputs[0].data<scalar_t>();
    each(x.num_elements(), [&](int64_t e) { out[e] = pool::max_grad_at(g, in, gr, e); });
  });
}

void avg_pool_grad(KernelContext& c) {
  const Tensor& grad = c.inputs[0];
  Tensor& dx = c.outputs[0];
  pool::Geometry g = geometry(c, dx.shape());
  EMBER_SWITCH_FLOAT(grad.dtype(), unsupported_dtype(c, grad.dtype()), {
    const scalar_t* gr = grad.data<const scalar_t>();
    scalar_t* out = dx.data<scalar_t>();
    each(dx.num_elements(), [&](int64_t e) { out[e] = pool::avg_grad_at(g, gr, e); });
  });
}

EMBER_REGISTER_KERNEL(op_name::MaxPool, CPU, pool_kernel<true>);
EMBER_REGISTER_KERNEL(op_name::AvgPool, CPU, pool_kernel<false>);
EMBER_REGISTER_KERNEL(op_name::MaxPoolGrad, CPU, max_pool_grad);
EMBER_REGISTER_KERNEL(op_name::AvgPoolGrad, CPU, avg_pool_grad);

}  // namespace
}  // namespace ember::cpu
