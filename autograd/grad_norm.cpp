// Gradient of FusedBatchNormV3: FusedBatchNormGradV3 from the saved batch
// statistics (reserve spaces). Gradients into the returned statistics are
// ignored, as in TensorFlow; the adjoint itself is not differentiated
// further (TensorFlow's second-order FusedBatchNormGradGrad is not built).
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

GRAD(op_name::FusedBatchNormV3, kGradUsesAll) {
  Attrs a = c.attrs;
  a.erase("exponential_avg_factor");
  Tensor dy = G.defined() ? G : zeros_like(X);
  auto g = execute(EMBER_OP(op_name::FusedBatchNormGradV3),
                   {dy, X, c.inputs[1], c.outputs[3], c.outputs[4], c.outputs[5]}, a);
  return {g[0], g[1], g[2], kNone, kNone};
} END_GRAD;

[[maybe_unused]] const bool fused_batch_norm_grad_not_differentiable = [] {
  register_not_differentiable(op_name::FusedBatchNormGradV3);
  return true;
}();

}  // namespace
}  // namespace ember::autograd
