// CUDA kernels of the comparisons, the logical and the bitwise ops (the
// functors of kernels/functors.h, with broadcasting) and SelectV2.
#include "core/op_names.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/elementwise_ops.h"

namespace ember::cuda {
namespace {

template <typename F>
void compare(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_ALL(t, unsupported_dtype(c, t),
                   (launch_binary<scalar_t, bool>(c, fn::computed_as<scalar_t>(F{}))));
}
template <typename F>
void binary_bool(KernelContext& c) {
  launch_binary<bool, bool>(c, F{});
}

template <typename F>
void binary_integer(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_INTEGER(t, unsupported_dtype(c, t), (launch_binary<scalar_t, scalar_t>(c, F{})));
}
template <typename F>
void unary_integer(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_INTEGER(t, unsupported_dtype(c, t), (launch_unary<scalar_t, scalar_t>(c, F{})));
}
template <typename F>
void count_bits(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_INTEGER(t, unsupported_dtype(c, t), (launch_unary<scalar_t, uint8_t>(c, F{})));
}

template <typename T>
void select_typed(KernelContext& c) {
  int64_t n = c.outputs[0].num_elements();
  if (n == 0) return;
  cudaStream_t s = prepare(c);
  Indexer ix = make_indexer(c.outputs[0].shape(), c.inputs, "where");
  select_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<const bool*>(c.inputs[0].raw_data()),
                                                   static_cast<const T*>(c.inputs[1].raw_data()),
                                                   static_cast<const T*>(c.inputs[2].raw_data()),
                                                   static_cast<T*>(c.outputs[0].raw_data()), n, ix);
  EMBER_CUDA_LAUNCHED();
}
void select(KernelContext& c) {
  DType t = c.outputs[0].dtype();
  EMBER_SWITCH_ALL(t, unsupported_dtype(c, t), select_typed<scalar_t>(c));
}

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CUDA, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_COMPARISON_OPS(EMBER_REGISTER_FUNCTOR_OP)
EMBER_ELEMENTWISE_BITWISE_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
EMBER_REGISTER_KERNEL(op_name::SelectV2, CUDA, select);
// clang-format on

}  // namespace
}  // namespace ember::cuda
