// What the attention and layer-norm kernels of both backends share
// (kernels/cpu/attention.cpp, kernels/cuda/attention.cu): the problem's
// dimensions, the mask broadcast by strides, the rows of a layer norm.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "core/host_device.h"
#include "core/op_registry.h"
#include "core/ops/attention_inputs.h"
#include "core/random.h"
#include "kernels/functors.h"

namespace ember::kernels::attention {

/// What a kernel of element type T accumulates in: double for double,
/// float otherwise (the 16-bit floats too).
template <typename T>
using Accumulation = std::conditional_t<std::is_same_v<T, double>, double, float>;

/// Calls run.template operator()<U>() with U the C++ type of layer norm's
/// gamma and beta (dtype `u`): T, or float for a 16-bit T (the op's T and U).
template <typename T, typename Run>
void with_parameter_type(DType u, Run&& run) {
  if constexpr (!std::is_same_v<T, Accumulation<T>>) {
    if (u == DType::Float32) return run.template operator()<float>();
  }
  run.template operator()<T>();
}

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

/// The call's mask (after its first `base` inputs), when it has one.
inline MaskView mask_view(const KernelContext& c, size_t base) {
  MaskView m;
  const auto e = attention_inputs::extras(c.inputs, base, c.attrs.get<double>("dropout_rate"));
  if (e.mask == attention_inputs::kNone) return m;
  const Tensor& t = c.inputs[e.mask];
  m.data = t.data<const bool>();
  const int r = t.rank();
  int64_t s = 1;
  for (int i = r - 1; i >= 0; --i) {
    m.stride[4 - r + i] = t.dim(i) == 1 ? 0 : s;
    s *= t.dim(i);
  }
  return m;
}

/// Dropout of the probabilities: element (b, h, i, j) of the stateless
/// uniform float32 draw of the seed over [batch, heads, seq_q, seq_k] (what
/// random::stateless_uniform gives, drawn here one element at a time) keeps
/// a probability, scaled by 1/(1 - rate), when it is at least the rate.
struct DropoutView {
  double rate = 0;
  philox::Stream stream;
  EMBER_HOST_DEVICE bool on() const { return rate > 0; }
  /// The multiplier of probability `flat` ((b·heads + h)·seq_q + i)·seq_k + j.
  /// (Drawn in float32 whatever C is, as the op's decomposition draws.)
  template <typename C>
  EMBER_HOST_DEVICE C scale_at(int64_t flat) const {
    return fn::uniform_at<float>(stream, flat) >= static_cast<float>(rate) ? static_cast<C>(1 / (1 - rate)) : C(0);
  }
};

/// The call's dropout (its seed read on the host), after its first `base` inputs.
inline DropoutView dropout_view(const KernelContext& c, size_t base) {
  DropoutView d;
  d.rate = c.attrs.get<double>("dropout_rate");
  if (d.rate > 0) {
    const auto e = attention_inputs::extras(c.inputs, base, d.rate);
    std::vector<int64_t> seed = c.inputs[e.seed].index_values();
    d.stream = random::stateless_stream({seed[0], seed[1]});
  }
  return d;
}

/// A layer norm's rows (every dimension of x but the last) and their length.
inline std::pair<int64_t, int64_t> rows_of(const Tensor& x) {
  const int64_t n = x.dim(x.rank() - 1);
  int64_t rows = 1;
  for (int i = 0; i + 1 < x.rank(); ++i) rows *= x.dim(i);
  return {rows, n};
}

}  // namespace ember::kernels::attention
