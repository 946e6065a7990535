// Gradient of TopKV2: each value's gradient goes back to the position it was
// taken from (a scatter along the last axis); the indices have none.
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

GRAD(op_name::TopKV2, kGradUsesAll) {
  const Tensor& x = X;
  int64_t n = x.dim(-1), k = c.outputs[1].dim(-1);
  int64_t rows = k == 0 ? 0 : c.outputs[1].num_elements() / k;
  // Flat positions row·n + index, scattered into the flattened input.
  Tensor row = reshape(range(0, double(rows), 1, int64) * double(n), {rows, 1});
  Tensor flat = reshape(cast(reshape(c.outputs[1], {rows, k}), int64) + row, {rows * k, 1});
  Tensor dx = scatter_nd(flat, reshape(G, {rows * k}), TensorShape{rows * n});
  return {reshape(dx, x.shape())};
} END_GRAD;

}  // namespace
}  // namespace ember::autograd
