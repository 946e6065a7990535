// The CUDA data-movement primitives (kernels/copy.h): a strided copy with
// the view's dimensions (already collapsed by the dispatcher) passed by value,
// and a fill. Contiguous runs (one, or rows at a pitch) go to the copy engine
// (cudaMemcpyAsync / cudaMemcpy2DAsync); anything else to a kernel moving
// elements of size 1, 2, 4 or 8 as unsigned integers.
#include <cmath>

#include "kernels/copy.h"
#include "kernels/cuda/common.cuh"

namespace ember::kernels::cuda {
namespace {

using ember::cuda::blocks_for;
using ember::cuda::kMaxRank;
using ember::cuda::kThreads;

struct CopyPlan {
  int rank;
  int64_t dims[kMaxRank];
  int64_t dst[kMaxRank], src[kMaxRank];
  int64_t dst_offset, src_offset;
};

template <typename T>
__global__ void copy_kernel(T* __restrict__ d, const T* __restrict__ s, int64_t n, CopyPlan p) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, od = p.dst_offset, os = p.src_offset;
    for (int k = p.rank - 1; k >= 0; --k) {
      int64_t idx = rem % p.dims[k];
      rem /= p.dims[k];
      od += idx * p.dst[k];
      os += idx * p.src[k];
    }
    d[od] = s[os];
  }
}

template <typename T>
__global__ void fill_kernel(T* out, int64_t n, T value) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = value;
}

template <typename T>
void fill_typed(Tensor& y, double value) {
  int64_t n = y.num_elements();
  EMBER_CUDA_CHECK(cudaSetDevice(y.device().index()));
  fill_kernel<<<blocks_for(n), kThreads, 0, ember::cuda::stream(y.device().index())>>>(
      static_cast<T*>(y.raw_data()), n, static_cast<T>(value));
  EMBER_CUDA_LAUNCHED();
}

}  // namespace

void strided_copy(int device, void* dst, const StridedView& dst_view, const void* src,
                  const StridedView& src_view, const Dims& dims, size_t elem) {
  EMBER_CHECK(dims.size() <= static_cast<size_t>(kMaxRank), Unimplemented,
              "[copy] a strided copy over ", dims.size(), " separate dimensions on CUDA (at most ",
              kMaxRank, ")");
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t s = ember::cuda::stream(device);
  // Runs contiguous on both sides go to the copy engine: one run, or rows at
  // a pitch (a slice, one piece of a concat). Strides are in elements.
  const size_t r = dims.size();
  bool pitched = r == 1 || (r == 2 && dst_view.strides[0] >= dims[1] &&
                            src_view.strides[0] >= dims[1]);  // not a broadcast (stride 0)
  if (dst_view.strides[r - 1] == 1 && src_view.strides[r - 1] == 1 && pitched) {
    auto* d = static_cast<char*>(dst) + dst_view.offset * static_cast<int64_t>(elem);
    auto* from = static_cast<const char*>(src) + src_view.offset * static_cast<int64_t>(elem);
    size_t width = static_cast<size_t>(dims[r - 1]) * elem;
    if (r == 1) {
      EMBER_CUDA_CHECK(cudaMemcpyAsync(d, from, width, cudaMemcpyDeviceToDevice, s));
    } else {
      EMBER_CUDA_CHECK(cudaMemcpy2DAsync(d, static_cast<size_t>(dst_view.strides[0]) * elem, from,
                                         static_cast<size_t>(src_view.strides[0]) * elem, width,
                                         static_cast<size_t>(dims[0]), cudaMemcpyDeviceToDevice, s));
    }
    return;
  }
  CopyPlan p{};
  p.rank = static_cast<int>(dims.size());
  int64_t n = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    p.dims[i] = dims[i];
    p.dst[i] = dst_view.strides[i];
    p.src[i] = src_view.strides[i];
    n *= dims[i];
  }
  p.dst_offset = dst_view.offset;
  p.src_offset = src_view.offset;
  ember::cuda::with_word(elem, [&](auto w) {
    using W = decltype(w);
    copy_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<W*>(dst), static_cast<const W*>(src),
                                                   n, p);
  });
  EMBER_CUDA_LAUNCHED();
}

void fill(Tensor& y, double value) {
  if (value == 0 && !std::signbit(value)) {  // zero is all-zero bytes in every dtype
    EMBER_CUDA_CHECK(cudaSetDevice(y.device().index()));
    EMBER_CUDA_CHECK(
        cudaMemsetAsync(y.raw_data(), 0, y.nbytes(), ember::cuda::stream(y.device().index())));
    return;
  }
  EMBER_SWITCH_ALL(y.dtype(),
                   throw Unimplemented(ember::detail::str_cat("[fill] no dtype ", dtype_name(y.dtype()))),
                   fill_typed<scalar_t>(y, value));
}

}  // namespace ember::kernels::cuda
