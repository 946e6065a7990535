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

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CPU, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_ARITHMETIC_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
// clang-format on

}  // namespace
}  // namespace ember::cpu
