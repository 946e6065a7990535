#include <cstring>

#include "kernels/copy.h"
#include "kernels/cpu/parallel.h"

namespace ember::kernels::cpu {

using ember::cpu::kParallelGrain;
using ember::cpu::parallel_for;
namespace {

template <typename T>
void inner_copy(T* dst, int64_t dstride, const T* src, int64_t sstride, int64_t n) {
  if (sstride == 0) {
    T v = *src;
    for (int64_t i = 0; i < n; ++i) dst[i * dstride] = v;
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i * dstride] = src[i * sstride];
  }
}

template <typename T>
void copy_typed(char* dst, int64_t doff, const char* src, int64_t soff, const Dims& dims,
                const Dims& ds, const Dims& ss) {
  size_t r = dims.size();
  int64_t inner = dims[r - 1], d_in = ds[r - 1], s_in = ss[r - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; ++i) rows *= dims[i];
  T* d = reinterpret_cast<T*>(dst) + doff;
  const T* s = reinterpret_cast<const T*>(src) + soff;
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 // Decompose the first row index, then step like an odometer.
                 Dims idx(r > 1 ? r - 1 : 1, 0);
                 int64_t rem = b, dpos = 0, spos = 0;
                 for (size_t i = r - 1; i-- > 0;) {
                   idx[i] = rem % dims[i];
                   rem /= dims[i];
                   dpos += idx[i] * ds[i];
                   spos += idx[i] * ss[i];
                 }
                 for (int64_t row = b; row < e; ++row) {
                   if (d_in == 1 && s_in == 1)
                     std::memcpy(d + dpos, s + spos, static_cast<size_t>(inner) * sizeof(T));
                   else
                     inner_copy(d + dpos, d_in, s + spos, s_in, inner);
                   for (size_t i = r - 1; i-- > 0;) {
                     dpos += ds[i];
                     spos += ss[i];
                     if (++idx[i] < dims[i]) break;
                     dpos -= ds[i] * dims[i];
                     spos -= ss[i] * dims[i];
                     idx[i] = 0;
                   }
                 }
               });
}

}  // namespace

void strided_copy(void* dst, const StridedView& dst_view, const void* src,
                  const StridedView& src_view, const Dims& dims_in, size_t elem) {
  const Dims& dims = dims_in;
  const Dims &ds = dst_view.strides, &ss = src_view.strides;
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<const char*>(src);
  switch (elem) {
    case 1:
      copy_typed<uint8_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss);
      break;
    case 2:
      copy_typed<uint16_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss);
      break;
    case 4:
      copy_typed<uint32_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss);
      break;
    default:
      copy_typed<uint64_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss);
      break;
  }
}

template <typename T>
void fill_typed(Tensor& y, double value) {
  T v = static_cast<T>(value);
  T* p = static_cast<T*>(y.raw_data());
  parallel_for(y.num_elements(), kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = v;
  });
}

void fill(Tensor& y, double value) {
  EMBER_SWITCH_ALL(y.dtype(),
                   throw Unimplemented(detail::str_cat("[fill] no dtype ", dtype_name(y.dtype()))),
                   fill_typed<scalar_t>(y, value));
}

}  // namespace ember::kernels::cpu
