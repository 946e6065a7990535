// Shape arithmetic shared by the shape ops' inference and their kernels on
// every device: the canonical form of a strided slice, the axes a broadcast
// gradient is summed over.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/op_registry.h"

namespace ember {

/// A strided slice in canonical form: for each dimension of the input, the
/// first index and step, and the resulting (dense) extent; plus the final
/// shape after new-axis and shrink-axis masks.
struct StridedSliceSpec {
  std::vector<int64_t> begin, stride, extent;  // per input dimension
  TensorShape final_shape;
};

/// PadV2's and MirrorPad's inference (paddings, and the mirror modes' limits).
void infer_pad(InferContext& c);
/// MirrorPad's mode attribute, checked: "REFLECT" or "SYMMETRIC".
const std::string& mirror_mode(const InferContext& c);

/// Validates and canonicalises a StridedSlice call; `fail` reports errors.
StridedSliceSpec canonical_strided_slice(const InferContext& c, const TensorShape& in);

/// BroadcastGradientArgs: for shapes s0 and s1, the axes of their broadcast
/// that each one's gradient is summed over, ascending, as TensorFlow's BCast
/// gives them: none for equal shapes, else those it lacks and those where it
/// has 1 (the broadcast's size there may be 1 too). Throws
/// InvalidArgument (TensorFlow's "Incompatible shapes") where they do not
/// broadcast.
std::pair<std::vector<int64_t>, std::vector<int64_t>> broadcast_gradient_axes(const std::vector<int64_t>& s0,
                                                                             const std::vector<int64_t>& s1);

}  // namespace ember
