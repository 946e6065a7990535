// Where ScaledDotProductAttention's optional inputs sit (and its adjoint's):
// after the `base` inputs, a boolean mask when one is given, then, with
// dropout_rate > 0, the dropout seed (int64 [2]). Shared by the op's
// inference (core/ops/attention.cpp) and its kernels (kernels/attention.h).
#pragma once

#include <cstddef>
#include <span>

#include "core/tensor.h"

namespace ember::attention_inputs {

inline constexpr size_t kNone = static_cast<size_t>(-1);
inline constexpr size_t kForwardBase = 3;  // q, k, v
inline constexpr size_t kGradBase = 7;     // q, k, v, output, logsumexp, d_output, d_logsumexp

struct Extras {
  size_t mask = kNone, seed = kNone;
  size_t count() const { return (mask != kNone) + (seed != kNone); }
};

inline Extras extras(std::span<const Tensor> inputs, size_t base, double dropout_rate) {
  Extras e;
  size_t at = base;
  if (inputs.size() > at && inputs[at].dtype() == bool_) e.mask = at++;
  if (dropout_rate > 0 && inputs.size() > at) e.seed = at++;
  return e;
}

}  // namespace ember::attention_inputs
