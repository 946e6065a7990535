// Gradients of the matrix products (core/ops/matmul.cpp).
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
// For C = op(A) op(B): dA and dB, by which operands were transposed.
Grads matmul_grads(const Tensor& a, const Tensor& b, const Tensor& g, bool ta, bool tb) {
  Tensor ga, gb;
  if (!ta && !tb) { ga = matmul(g, b, false, true); gb = matmul(a, g, true, false); }
  else if (!ta && tb) { ga = matmul(g, b); gb = matmul(g, a, true, false); }
  else if (ta && !tb) { ga = matmul(b, g, false, true); gb = matmul(a, g); }
  else { ga = matmul(b, g, true, true); gb = matmul(g, a, true, true); }
  return {unbroadcast(ga, a.shape()), unbroadcast(gb, b.shape())};
}
GRAD(op_name::MatMul, kGradUsesInputs) { return matmul_grads(A, B, G, c.attrs.get<bool>("transpose_a"), c.attrs.get<bool>("transpose_b")); } END_GRAD;
GRAD(op_name::BatchMatMulV2, kGradUsesInputs) { return matmul_grads(A, B, G, c.attrs.get<bool>("adj_x"), c.attrs.get<bool>("adj_y")); } END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd
