// N-dimensional strided copies: the one data-movement routine behind
// transpose, slice, strided_slice, broadcast_to, tile and pad on the CPU.
#pragma once

#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace ember::cpu {

/// A view of a buffer: element offset and per-dimension element strides.
struct StridedView {
  int64_t offset = 0;
  Dims strides;
};

/// dst[i...] = src[i...] for every index of `dims`, both sides strided;
/// `elem` is the element size in bytes.
void strided_copy(void* dst, const StridedView& dst_view, const void* src, const StridedView& src_view,
                  const Dims& dims, size_t elem);

/// Copies a dense src of `dims` into dst through `dst_view`.
void copy_into(void* dst, const StridedView& dst_view, const void* src, const Dims& dims, size_t elem);

}  // namespace ember::cpu
