// What the gradients (the "gradients" section of each core/ops/<family>.cpp)
// share: the GRAD macro that registers a gradient together with the forward
// values it reads, and unbroadcast. A gradient reads the forward op through
// its GradContext: c.x() (input 0), c.in(i), c.y() (output 0), c.grad()
// (the gradient flowing into output 0). Internal: not installed.
//
// A gradient is written with ordinary ops, so it runs on any device, inside a
// traced function and under an outer tape (which is how higher-order
// gradients work). It receives the forward op's inputs, outputs, attributes
// and the gradient flowing into each output, and returns one gradient per
// input (undefined for none). Its second argument to GRAD says what it reads
// of the forward op (GradUses): a tape keeps only that alive, so a gradient
// that reads anything else gets an Internal error naming the op.
#pragma once

#include <cmath>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"

namespace ember::autograd {

using Grads = std::vector<Tensor>;
using Ints = std::vector<int64_t>;
inline const Tensor kNone;

/// Sums a broadcast gradient g back to the shape of x (the input it was
/// broadcast from): over g's leading axes, and (kept) over each axis where
/// x has 1 and g another size. Where a trace does not know enough to tell
/// (x's or g's rank, or a dimension of x that may be 1 where g's is not),
/// the axes come from BroadcastGradientArgs when the function runs, and the
/// sum is reshaped to x's run-time shape, as TensorFlow's gradients do.
inline Tensor unbroadcast(const Tensor& g, const Tensor& x) {
  const TensorShape &shape = x.shape(), &gs = g.shape();
  if (shape.is_fully_defined() && gs == shape) return g;
  bool known = shape.rank_known() && gs.rank_known() && gs.rank() >= shape.rank();
  for (int j = 0; known && j < shape.rank(); ++j)
    known = shape.dim(j) != TensorShape::kUnknown || gs.dim(j + gs.rank() - shape.rank()) == 1;
  if (!known) {
    const Tensor sx = ember::shape(x, int64);
    const Tensor axes = broadcast_gradient_args(sx, ember::shape(g, int64)).first;
    Tensor s = reshape(execute(EMBER_OP(op_name::Sum), {g, axes}, {{"keep_dims", false}})[0], sx);
    return shape.rank_known() && !(s.shape() == shape) ? ensure_shape(s, shape) : s;
  }
  const int gr = gs.rank(), r = shape.rank();
  Ints leading, ones;
  for (int i = 0; i < gr - r; ++i) leading.push_back(i);
  for (int j = 0; j < r; ++j)
    if (shape.dim(j) == 1 && gs.dim(j + gr - r) != 1) ones.push_back(j);
  Tensor s = leading.empty() ? g : reduce_sum(g, leading);
  if (!ones.empty()) s = reduce_sum(s, ones, /*keepdims=*/true);
  return shape.is_fully_defined() ? reshape(s, shape) : s;
}

/// Registers `fn` as the gradient of `op`, reading `uses` of the forward op.
inline bool define_gradient(const char* op, uint8_t uses, GradFn fn) {
  register_gradient_uses(op, uses);
  register_gradient(op, std::move(fn));
  return true;
}

}  // namespace ember::autograd

/// GRAD(op_name::Exp, kGradUsesOutputs) { return {c.grad() * c.y()}; } END_GRAD;
#define GRAD(NAME, USES)                                                     \
  [[maybe_unused]] static const bool EMBER_CONCAT(grad_reg_, __COUNTER__) = \
      ::ember::autograd::define_gradient(NAME, USES, [](const GradContext& c) -> Grads
#define END_GRAD )
