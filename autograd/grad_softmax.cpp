// Gradients of softmax and log_softmax (core/ops/softmax.cpp), along the last
// axis.
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::Softmax, kGradUsesOutputs) {                                                     // (g - Σ g y) y
  return {(G - reduce_sum(G * Y, Ints{-1}, true)) * Y};
} END_GRAD;
GRAD(op_name::LogSoftmax, kGradUsesOutputs) {                                                  // g - Σ g · softmax
  return {G - reduce_sum(G, Ints{-1}, true) * exp(Y)};
} END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd
