// Window geometry shared by the convolution and pooling ops' inference and
// their kernels on every device: TensorFlow's output sizes and paddings for
// "VALID", "SAME" and "EXPLICIT", with strides and dilations (NHWC).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/op_registry.h"
#include "core/ops.h"

namespace ember {

/// One 2-D sliding window over an NHWC batch.
struct Window2D {
  int64_t n = 0, h = 0, w = 0, c = 0;  // input
  int64_t kh = 0, kw = 0;              // window (filter) extent, undilated
  int64_t sh = 1, sw = 1;              // strides
  int64_t dh = 1, dw = 1;              // dilations
  int64_t oh = 0, ow = 0;              // output extent
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

/// The window of a convolution or pooling call: `input` NHWC, a kh×kw
/// window, and the op's attributes (`strides`, `padding`, and where the op
/// has them `dilations` and `explicit_paddings`). Unknown input dimensions
/// give unknown (-1) outputs. Errors go through c.fail; the kernels call it
/// again on valid arguments.
Window2D window_2d(const InferContext& c, const TensorShape& input, int64_t kh, int64_t kw);
/// The same from a kernel's context (arguments already validated).
Window2D window_2d(const KernelContext& c, const TensorShape& input, int64_t kh, int64_t kw);

/// The attributes of a convolution op for `options` (TensorFlow's names).
Attrs conv_attrs(const ConvOptions& options);

}  // namespace ember
