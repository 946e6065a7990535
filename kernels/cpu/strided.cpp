#include "kernels/cpu/strided.h"

#include <cstring>

#include "kernels/cpu/parallel.h"

namespace ember::cpu {
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
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
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
      if (d_in == 1 && s_in == 1) std::memcpy(d + dpos, s + spos, static_cast<size_t>(inner) * sizeof(T));
      else inner_copy(d + dpos, d_in, s + spos, s_in, inner);
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

void strided_copy(void* dst, const StridedView& dst_view, const void* src, const StridedView& src_view,
                  const Dims& dims_in, size_t elem) {
  for (int64_t d : dims_in)
    if (d == 0) return;
  Dims dims = dims_in, ds = dst_view.strides, ss = src_view.strides;
  collapse(dims, ds, ss);
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<const char*>(src);
  switch (elem) {
    case 1: copy_typed<uint8_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss); break;
    case 2: copy_typed<uint16_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss); break;
    case 4: copy_typed<uint32_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss); break;
    default: copy_typed<uint64_t>(d, dst_view.offset, s, src_view.offset, dims, ds, ss); break;
  }
}

void copy_into(void* dst, const StridedView& dst_view, const void* src, const Dims& dims, size_t elem) {
  StridedView sv{0, contiguous_strides(TensorShape(dims))};
  strided_copy(dst, dst_view, src, sv, dims, elem);
}

}  // namespace ember::cpu
