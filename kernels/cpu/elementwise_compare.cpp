// CPU kernels of the comparisons, the logical and the bitwise ops (the
// functors of kernels/functors.h, with broadcasting) and SelectV2.
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
void compare(KernelContext& c) {
  EMBER_SWITCH_ALL(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                   binary_run<scalar_t, bool>(c.inputs[0], c.inputs[1], c.outputs[0],
                                              fn::computed_as<scalar_t>(F{})));
}

template <typename F>
void binary_bool(KernelContext& c) {
  binary_run<bool, bool>(c.inputs[0], c.inputs[1], c.outputs[0], F{});
}

template <typename F>
void binary_integer(KernelContext& c) {
  EMBER_SWITCH_INTEGER(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                       binary_run<scalar_t, scalar_t>(c.inputs[0], c.inputs[1], c.outputs[0], F{}));
}

template <typename F>
void unary_integer(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  EMBER_SWITCH_INTEGER(x.dtype(), unsupported_dtype(c, x.dtype()),
                       unary_loop(x.data<const scalar_t>(), c.outputs[0].data<scalar_t>(), x.num_elements(), F{}));
}

// PopulationCount: uint8 counts of any integer type.
template <typename F>
void count_bits(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  EMBER_SWITCH_INTEGER(x.dtype(), unsupported_dtype(c, x.dtype()),
                       unary_loop(x.data<const scalar_t>(), c.outputs[0].data<uint8_t>(), x.num_elements(), F{}));
}

template <typename T>
void select_typed(KernelContext& c) {
  const bool* pc = static_cast<const bool*>(c.inputs[0].raw_data());
  const T* pa = static_cast<const T*>(c.inputs[1].raw_data());
  const T* pb = static_cast<const T*>(c.inputs[2].raw_data());
  T* po = static_cast<T*>(c.outputs[0].raw_data());
  if (c.outputs[0].num_elements() == 0) return;
  Broadcast bc = make_broadcast(c.outputs[0].shape(), c.inputs);
  int64_t s0 = bc.strides[0].back(), s1 = bc.strides[1].back(), s2 = bc.strides[2].back();
  for_each_row<3>(bc, [&](int64_t o, const int64_t* off, int64_t len) {
    for (int64_t i = 0; i < len; ++i)
      po[o + i] = pc[off[0] + i * s0] ? pa[off[1] + i * s1] : pb[off[2] + i * s2];
  });
}

void select_kernel(KernelContext& c) {
  EMBER_SWITCH_ALL(c.outputs[0].dtype(), unsupported_dtype(c, c.outputs[0].dtype()),
                   select_typed<scalar_t>(c));
}

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CPU, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_COMPARISON_OPS(EMBER_REGISTER_FUNCTOR_OP)
EMBER_ELEMENTWISE_BITWISE_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
EMBER_REGISTER_KERNEL(op_name::SelectV2, CPU, select_kernel);
// clang-format on

}  // namespace
}  // namespace ember::cpu
