// CUDA kernels of the binary arithmetic ops (the functors of
// kernels/functors.h, with broadcasting); the special functions' binary
// ops are in elementwise_special.cu.
#include "core/op_names.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/elementwise_ops.h"

namespace ember::cuda {
namespace {

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CUDA, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_BASIC_ARITHMETIC_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
// clang-format on

}  // namespace
}  // namespace ember::cuda
