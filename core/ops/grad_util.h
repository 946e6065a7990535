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

#include "core/op.h"
#include "core/op_names.h"
#include "core/ops.h"

namespace ember::autograd {

using Grads = std::vector<Tensor>;
using Ints = std::vector<int64_t>;
inline const Tensor kNone;

/// Sums a broadcast gradient back to `shape`.
inline Tensor unbroadcast(const Tensor& g, const TensorShape& shape) {
  if (g.shape() == shape) return g;
  int gr = g.rank(), r = shape.rank();
  Ints axes;
  for (int i = 0; i < gr; ++i) {
    int j = i - (gr - r);
    if (j < 0 || (shape.dim(j) == 1 && g.dim(i) != 1)) axes.push_back(i);
  }
  return reshape(reduce_sum(g, axes), shape);
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
