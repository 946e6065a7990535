// The host side every optimizer-update kernel shares (CPU and CUDA): the
// variable's and slots' states from the op's resource inputs, the op's flag
// attribute, and the in-place update under their locks
// (VariableState::update_in_place). The element math is kernels/optimizers.h.
#pragma once

#include <span>

#include "core/op_registry.h"
#include "core/variable.h"

namespace ember::optim {

/// Calls f(buffers, flag): buffers[0] the variable's, then each slot's,
/// every one safe to write in place.
template <typename U, typename F>
void with_update_buffers(const KernelContext& c, F&& f) {
  VariableState* states[U::kSlots + 1];
  for (int i = 0; i <= U::kSlots; ++i)
    states[i] = static_cast<VariableState*>(c.inputs[static_cast<size_t>(i)].impl()->resource.get());
  bool flag = false;
  if constexpr (U::kFlag != nullptr) flag = c.attrs.get<bool>(U::kFlag);
  VariableState::update_in_place(states, [&](std::span<Tensor> buffers) { f(buffers, flag); });
}

}  // namespace ember::optim
