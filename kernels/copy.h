// The data-movement primitives every device provides: an N-dimensional
// strided copy and a fill. The shape ops' kernels (kernels/shape_ops.cpp)
// are written once on top of them and registered for every device kind.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace ember::kernels {

/// A view of a buffer: element offset and per-dimension element strides.
struct StridedView {
  int64_t offset = 0;
  Dims strides;
};

/// dst[i...] = src[i...] for every index of `dims`, both sides strided
/// (`elem` bytes per element), on `device`.
void strided_copy(Device device, void* dst, const StridedView& dst_view, const void* src,
                  const StridedView& src_view, const Dims& dims, size_t elem);
/// Copies a dense src of `dims` into dst through `dst_view`.
void copy_into(Device device, void* dst, const StridedView& dst_view, const void* src,
               const Dims& dims, size_t elem);
/// Sets every element of `y` to `value` (converted to its dtype).
void fill(Tensor& y, double value);

namespace cpu {
void strided_copy(void* dst, const StridedView& dst_view, const void* src,
                  const StridedView& src_view, const Dims& dims, size_t elem);
void fill(Tensor& y, double value);
}  // namespace cpu
namespace cuda {
void strided_copy(int device, void* dst, const StridedView& dst_view, const void* src,
                  const StridedView& src_view, const Dims& dims, size_t elem);
void fill(Tensor& y, double value);
}  // namespace cuda

}  // namespace ember::kernels
