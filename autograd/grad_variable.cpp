// Gradients of the variable ops (core/ops/variable.cpp).
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::ReadVariableOp, kGradUsesNothing) { return {G}; } END_GRAD;  // flows to the variable's handle
// clang-format on

}  // namespace
}  // namespace ember::autograd
