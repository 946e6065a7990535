// Shape arithmetic shared by the shape ops' inference and their kernels on
// every device: the canonical form of a strided slice.
#pragma once

#include <string>
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

}  // namespace ember
