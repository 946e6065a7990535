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

/// Sums a broadcast gradient back to `shape`: over g's leading axes, and
/// (kept) over each axis where `shape` has 1 and g another (or an unknown)
/// size. In a trace that does not know every dimension the result keeps
/// g's other dimensions, which the broadcast made `shape`'s (as an equal
/// unknown dimension is taken to be unbroadcast).
inline Tensor unbroadcast(const Tensor& g, const TensorShape& shape) {
  if (g.shape() == shape) return g;
  const int gr = g.rank(), r = shape.rank();
  Ints leading, ones;
  for (int i = 0; i < gr - r; ++i) leading.push_back(i);
  for (int j = 0; j < r; ++j)
    if (shape.dim(j) == 1 && g.dim(j + gr - r) != 1) ones.push_back(j);
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
