// CPU kernels of the binary arithmetic ops (the functors of
// kernels/functors.h, with broadcasting).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec.h"
#include "kernels/elementwise_ops.h"
#include "kernels/functors.h"

namespace ember::cpu {
namespace {

using namespace elementwise;  // NOLINT: this file's vocabulary

template <typename F>
void binary_numeric(KernelContext& c) {
  EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                     binary_run<scalar_t, scalar_t>(c.inputs[0], c.inputs[1], c.outputs[0],
                                                    fn::computed_as<scalar_t>(F{})));
}

template <typename F>
void binary_float(KernelContext& c) {
  EMBER_SWITCH_FLOATING(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                        binary_run<scalar_t, scalar_t>(c.inputs[0], c.inputs[1], c.outputs[0],
                                                       fn::computed_as<scalar_t>(F{})));
}

// GeluGrad: the tanh form on float32 and the 16-bit floats 8 or (AVX-512)
// 16 lanes at a time in float32 (fn::gelu_logistic over vec::exp8, as the forward pass), the
// functor's arithmetic in its order; else the functor.
template <typename E>
void gelu_grad_tanh_vectorised(const fn::GeluGrad& f, const Tensor& dy, const Tensor& x, Tensor& y) {
  const E* pd = static_cast<const E*>(dy.raw_data());
  const E* px = static_cast<const E*>(x.raw_data());
  E* py = static_cast<E*>(y.raw_data());
  const auto scalar = fn::computed_as<E>(f);
  constexpr int W = vec::kWidest;
  using V = typename vec::Lanes<W>::F;
  parallel_for(x.num_elements(), kParallelGrain, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + W <= e; i += W) {
      const V v = vec::load_lanes<W>(px + i), d = vec::load_lanes<W>(pd + i);
      const V s = fn::gelu_logistic(v, [](V w) { return vec::exp_lanes<vec::kWidest>(w); });
      vec::store_lanes<W>(py + i, d * fn::gelu_tanh_derivative(v, s));
    }
    for (; i < e; ++i) py[i] = scalar(pd[i], px[i]);
  });
}

void gelu_grad_kernel(KernelContext& c) {
  fn::GeluGrad f;
  f.configure(c.attrs);
  const Tensor &dy = c.inputs[0], &x = c.inputs[1];
  Tensor& y = c.outputs[0];
  if (f.approximate && dy.shape() == x.shape()) {
    switch (x.dtype()) {
      case float32: return gelu_grad_tanh_vectorised<float>(f, dy, x, y);
      case bfloat16: return gelu_grad_tanh_vectorised<bfloat16_t>(f, dy, x, y);
      case float16: return gelu_grad_tanh_vectorised<float16_t>(f, dy, x, y);
      default: break;
    }
  }
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()),
                        binary_run<scalar_t, scalar_t>(dy, x, y, fn::computed_as<scalar_t>(f)));
}
EMBER_REGISTER_KERNEL(op_name::GeluGrad, CPU, gelu_grad_kernel);

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CPU, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_ARITHMETIC_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
// clang-format on

}  // namespace
}  // namespace ember::cpu
