#include "kernels/copy.h"

#include "core/error.h"

namespace ember::kernels {

namespace {
// Drops size-1 dimensions and merges neighbours that are contiguous in both
// views, so most copies become a few long runs.
void collapse(Dims& dims, Dims& ds, Dims& ss) {
  Dims d2, ds2, ss2;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    if (!d2.empty() && ds2.back() == ds[i] * dims[i] && ss2.back() == ss[i] * dims[i]) {
      d2.back() *= dims[i];
      ds2.back() = ds[i];
      ss2.back() = ss[i];
    } else {
      d2.push_back(dims[i]);
      ds2.push_back(ds[i]);
      ss2.push_back(ss[i]);
    }
  }
  if (d2.empty()) {
    d2.push_back(1);
    ds2.push_back(1);
    ss2.push_back(1);
  }
  dims = d2;
  ds = ds2;
  ss = ss2;
}

}  // namespace

void strided_copy(Device device, void* dst, const StridedView& dst_view, const void* src,
                  const StridedView& src_view, const Dims& dims, size_t elem) {
  for (int64_t d : dims)
    if (d == 0) return;
  Dims cd = dims, ds = dst_view.strides, ss = src_view.strides;
  collapse(cd, ds, ss);
  StridedView dv{dst_view.offset, ds}, sv{src_view.offset, ss};
  if (device.is_cpu()) return cpu::strided_copy(dst, dv, src, sv, cd, elem);
#ifdef EMBER_WITH_CUDA
  return cuda::strided_copy(device.index(), dst, dv, src, sv, cd, elem);
#else
  throw Unimplemented("[copy] ember was built without CUDA");
#endif
}

void copy_into(Device device, void* dst, const StridedView& dst_view, const void* src,
               const Dims& dims, size_t elem) {
  StridedView sv{0, contiguous_strides(TensorShape(dims))};
  strided_copy(device, dst, dst_view, src, sv, dims, elem);
}

void fill(Tensor& y, double value) {
  if (y.num_elements() == 0) return;
  if (y.device().is_cpu()) return cpu::fill(y, value);
#ifdef EMBER_WITH_CUDA
  return cuda::fill(y, value);
#else
  throw Unimplemented("[fill] ember was built without CUDA");
#endif
}

}  // namespace ember::kernels
