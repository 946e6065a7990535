// Shape arithmetic shared by the shape ops' inference and their kernels on
// every device: the canonical form of a strided slice.
#pragma once

#include <vector>

#include "core/op.h"

namespace ember {

/// A strided slice in canonical form: for each dimension of the input, the
/// first index and step, and the resulting (dense) extent; plus the final
/// shape after new-axis and shrink-axis masks.
struct StridedSliceSpec {
  std::vector<int64_t> begin, stride, extent;  // per input dimension
  TensorShape final_shape;
};

/// Validates and canonicalises a StridedSlice call; `fail` reports errors.
StridedSliceSpec canonical_strided_slice(const InferContext& c, const TensorShape& in);

}  // namespace ember
