// What the attention and layer-norm kernels of both backends share
// (kernels/cpu/attention.cpp, kernels/cuda/attention.cu): the problem's
// dimensions, the mask broadcast by strides, the rows of a layer norm.
#pragma once

#include <cstdint>
#include <utility>

#include "core/host_device.h"
#include "core/op.h"

namespace ember::kernels::attention {

/// q [batch, heads, seq_q, head_dim], k [.., seq_k, head_dim], v [.., seq_k, value_dim].
struct Dims {
  int64_t batch, heads, seq_q, seq_k, head_dim, value_dim;
};

/// The dimensions of a call whose inputs start with q, k, v.
inline Dims dims_of(const KernelContext& c) {
  const Tensor &q = c.inputs[0], &v = c.inputs[2];
  return {q.dim(0), q.dim(1), q.dim(2), v.dim(2), q.dim(3), v.dim(3)};
}

/// A boolean mask broadcast to [batch, heads, seq_q, seq_k] by strides (0
/// along its dimensions of 1 and those it lacks); no data: every key.
struct MaskView {
  const bool* data = nullptr;
  int64_t stride[4] = {0, 0, 0, 0};
  EMBER_HOST_DEVICE bool attends(int64_t b, int64_t h, int64_t i, int64_t j) const {
    return !data || data[b * stride[0] + h * stride[1] + i * stride[2] + j * stride[3]];
  }
};

/// The mask input at `at`, when the call has one.
inline MaskView mask_view(const KernelContext& c, size_t at) {
  MaskView m;
  if (c.inputs.size() <= at) return m;
  const Tensor& t = c.inputs[at];
  m.data = t.data<const bool>();
  const int r = t.rank();
  int64_t s = 1;
  for (int i = r - 1; i >= 0; --i) {
    m.stride[4 - r + i] = t.dim(i) == 1 ? 0 : s;
    s *= t.dim(i);
  }
  return m;
}

/// A layer norm's rows (every dimension of x but the last) and their length.
inline std::pair<int64_t, int64_t> rows_of(const Tensor& x) {
  const int64_t n = x.dim(x.rank() - 1);
  int64_t rows = 1;
  for (int i = 0; i + 1 < x.rank(); ++i) rows *= x.dim(i);
  return {rows, n};
}

}  // namespace ember::kernels::attention
