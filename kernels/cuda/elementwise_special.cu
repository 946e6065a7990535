// CUDA kernels of the floating binary ops beyond arithmetic (atan2, the
// x·log(y) family, polygamma, zeta, the gamma sample's derivative) and
// GeluGrad: the functors of kernels/functors.h, with broadcasting.
#include "core/op_names.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/elementwise_ops.h"

namespace ember::cuda {
namespace {

// GeluGrad: the functor, configured with the op's `approximate`.
void gelu_grad_kernel(KernelContext& c) {
  fn::GeluGrad f;
  f.configure(c.attrs);
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), (launch_binary<scalar_t, scalar_t>(c, fn::computed_as<scalar_t>(f))));
}
EMBER_REGISTER_KERNEL(op_name::GeluGrad, CUDA, gelu_grad_kernel);

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CUDA, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_SPECIAL_BINARY_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
// clang-format on

}  // namespace
}  // namespace ember::cuda
