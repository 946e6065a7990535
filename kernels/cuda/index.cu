// CUDA kernels of the index-driven ops: gather, gather_nd, scatter_nd,
// tensor_scatter_add, the unsorted segment reductions, one_hot, range and mirror pad.
// An index out of range is never used: the thread that meets it lowers a
// device flag to its position (atomicMin) and skips the access; the launcher
// reads the flag after the kernel, reads that index's value back, and raises
// InvalidArgument with the CPU's text for the same (first) position
// ("indices[1] = 3 is not in [0, 3)").
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/copy.h"
#include "core/op_names.h"
#include "kernels/cuda/common.cuh"
#include "kernels/functors.h"
#include "kernels/segment.h"

namespace ember::cuda {
namespace {

using Ints = std::vector<int64_t>;

/// The lowest position holding a bad index (all ones: none). The lowest, so
/// the error names the same index as the CPU's, which checks in order.
struct BadIndex {
  unsigned long long* flag;
  __device__ void report(int64_t pos) const { atomicMin(flag, static_cast<unsigned long long>(pos)); }
};

class IndexCheck {
 public:
  explicit IndexCheck(const KernelContext& c)
      : c_(c), buf_(Tensor::empty({1}, int64, c.device)), s_(prepare(c)) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(buf_.raw_data(), 0xFF, sizeof(int64_t), s_));
  }
  BadIndex device() const { return {static_cast<unsigned long long*>(buf_.raw_data())}; }
  cudaStream_t stream() const { return s_; }
  /// Waits for the kernel and raises the first bad index it met, if any:
  /// "indices[1] = 3 is not in [0, 3)", with the value read back from `idx`
  /// and the limit from limit_of(position).
  template <typename LimitOf>
  void raise_if_bad(const Tensor& idx, LimitOf limit_of, const char* what = "indices") const {
    int64_t pos = -1;
    EMBER_CUDA_CHECK(cudaMemcpyAsync(&pos, buf_.raw_data(), sizeof pos, cudaMemcpyDeviceToHost, s_));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(s_));
    if (pos == -1) return;
    int64_t value = 0;
    if (idx.dtype() == int32) {
      int32_t v = 0;
      EMBER_CUDA_CHECK(cudaMemcpy(&v, idx.data<const int32_t>() + pos, sizeof v, cudaMemcpyDeviceToHost));
      value = v;
    } else {
      EMBER_CUDA_CHECK(cudaMemcpy(&value, idx.data<const int64_t>() + pos, sizeof value,
                                  cudaMemcpyDeviceToHost));
    }
    throw InvalidArgument(ember::detail::str_cat("[", c_.op.api_name, "] ", what, "[", pos, "] = ",
                                                 value, " is not in [0, ", limit_of(pos), ")"));
  }

 private:
  const KernelContext& c_;
  Tensor buf_;
  cudaStream_t s_;
};

// An empty output launches no kernel, but the CPU checks every index even
// then; those (rare) cases check on the host, with the same text.
template <typename LimitOf>
// (negative_dropped: a negative index is no error, as a segment id.)
void check_on_host(const KernelContext& c, const Tensor& idx, LimitOf limit_of,
                   const char* what = "indices", bool negative_dropped = false) {
  if (idx.num_elements() == 0) return;
  Tensor h = idx.to(Device::cpu());
  for (int64_t i = 0; i < h.num_elements(); ++i) {
    int64_t v = h.dtype() == int32 ? h.data<const int32_t>()[i] : h.data<const int64_t>()[i];
    int64_t limit = limit_of(i);
    if ((v < 0 && !negative_dropped) || v >= limit)
      throw InvalidArgument(ember::detail::str_cat("[", c.op.api_name, "] ", what, "[", i,
                                                   "] = ", v, " is not in [0, ", limit, ")"));
  }
}

#define GRID_STRIDE(i, n)                                                                \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// ---- gather ---------------------------------------------------------------------------------

template <typename W, typename I>
__global__ void gather_kernel(const W* params, const I* idx, W* y, int64_t total, int64_t outer,
                              int64_t n_idx, int64_t inner, int64_t limit, BadIndex bad) {
  GRID_STRIDE(t, total) {
    int64_t k = t % inner, j = (t / inner) % n_idx, o = (t / (inner * n_idx)) % outer,
            b = t / (inner * n_idx * outer);
    int64_t v = idx[b * n_idx + j];
    if (v < 0 || v >= limit) {
      bad.report(b * n_idx + j);
      y[t] = W(0);
      continue;
    }
    y[t] = params[((b * outer + o) * limit + v) * inner + k];
  }
}

template <typename W, typename I>
void gather_typed(KernelContext& c) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  Tensor& y = c.outputs[0];
  int64_t bd = c.attrs.get<int64_t>("batch_dims"), axis = c.attrs.get<int64_t>("axis");
  if (bd < 0) bd += idx.rank();
  if (axis < 0) axis += params.rank();
  int64_t batch = 1, outer = 1, inner = 1, n_idx = 1, limit = params.dim(static_cast<int>(axis));
  for (int64_t i = 0; i < bd; ++i) batch *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < axis; ++i) outer *= params.dim(static_cast<int>(i));
  for (int64_t i = axis + 1; i < params.rank(); ++i) inner *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < idx.rank(); ++i) n_idx *= idx.dim(static_cast<int>(i));
  int64_t total = y.num_elements();
  if (total == 0) return check_on_host(c, idx, [&](int64_t) { return limit; });
  IndexCheck check(c);
  gather_kernel<<<blocks_for(total), kThreads, 0, check.stream()>>>(
      static_cast<const W*>(params.raw_data()), static_cast<const I*>(idx.raw_data()),
      static_cast<W*>(y.raw_data()), total, outer, n_idx, inner, limit, check.device());
  EMBER_CUDA_LAUNCHED();
  check.raise_if_bad(idx, [&](int64_t) { return limit; });
}

void gather(KernelContext& c) {
  with_word(dtype_size(c.inputs[0].dtype()), [&](auto w) {
    with_index(c.inputs[1].dtype(), [&](auto i) { gather_typed<decltype(w), decltype(i)>(c); });
  });
}

// ---- gather_nd / scatter_nd: index rows address slices ----------------------------------------

struct NdPlan {
  int depth;
  int64_t limits[kMaxRank];  // the addressed dimensions of `shape`
  int64_t rows_per_batch, block, inner;
};

NdPlan nd_plan(const Tensor& idx, const TensorShape& shape, int64_t batch_dims, const char* api) {
  NdPlan p{};
  p.depth = static_cast<int>(idx.dim(idx.rank() - 1));
  EMBER_CHECK(p.depth <= kMaxRank, Unimplemented, "[", api, "] index depth ", p.depth, " on CUDA");
  int64_t rows = 1, batch = 1;
  for (int i = 0; i + 1 < idx.rank(); ++i) rows *= idx.dim(i);
  for (int64_t i = 0; i < batch_dims; ++i) batch *= shape.dim(static_cast<int>(i));
  for (int d = 0; d < p.depth; ++d) p.limits[d] = shape.dim(static_cast<int>(batch_dims + d));
  p.inner = 1;
  for (int64_t i = batch_dims + p.depth; i < shape.rank(); ++i)
    p.inner *= shape.dim(static_cast<int>(i));
  p.block = 1;
  for (int64_t i = batch_dims; i < shape.rank(); ++i) p.block *= shape.dim(static_cast<int>(i));
  p.rows_per_batch = batch ? rows / batch : 0;
  return p;
}

// The element offset of row r's slice start in `shape`, or -1 (reported) when out of range.
template <typename I>
__device__ int64_t nd_offset(const I* idx, int64_t r, const NdPlan& p, BadIndex bad) {
  int64_t off = 0;
  for (int d = 0; d < p.depth; ++d) {
    int64_t v = idx[r * p.depth + d];
    if (v < 0 || v >= p.limits[d]) {
      bad.report(r * p.depth + d);
      return -1;
    }
    off = off * p.limits[d] + v;
  }
  int64_t b = p.rows_per_batch ? r / p.rows_per_batch : 0;
  return b * p.block + off * p.inner;
}

template <typename W, typename I>
__global__ void gather_nd_kernel(const W* params, const I* idx, W* y, int64_t total, NdPlan p,
                                 BadIndex bad) {
  GRID_STRIDE(t, total) {
    int64_t r = t / p.inner, k = t % p.inner;
    int64_t off = nd_offset(idx, r, p, bad);
    y[t] = off < 0 ? W(0) : params[off + k];
  }
}

template <typename W, typename I>
void gather_nd_typed(KernelContext& c) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  Tensor& y = c.outputs[0];
  NdPlan p = nd_plan(idx, params.shape(), c.attrs.get<int64_t>("batch_dims"), "gather_nd");
  if (y.num_elements() == 0)
    return check_on_host(c, idx, [&](int64_t pos) { return p.limits[pos % p.depth]; });
  IndexCheck check(c);
  gather_nd_kernel<<<blocks_for(y.num_elements()), kThreads, 0, check.stream()>>>(
      static_cast<const W*>(params.raw_data()), static_cast<const I*>(idx.raw_data()),
      static_cast<W*>(y.raw_data()), y.num_elements(), p, check.device());
  EMBER_CUDA_LAUNCHED();
  check.raise_if_bad(idx, [&](int64_t pos) { return p.limits[pos % p.depth]; });
}

void gather_nd(KernelContext& c) {
  with_word(dtype_size(c.inputs[0].dtype()), [&](auto w) {
    with_index(c.inputs[1].dtype(), [&](auto i) { gather_nd_typed<decltype(w), decltype(i)>(c); });
  });
}

// A fold of v into *p by compare-and-swap (the segment max, min and
// product, and uint8's sums, which have no atomic of their own): on the
// element's own 4 or 8 bytes, or on the aligned 32-bit word holding a 1- or
// 2-byte element (device allocations are padded to 16 bytes, so the word is
// inside one).
template <typename T, typename F>
__device__ void atomic_fold(T* p, T v, F fold) {
  if constexpr (sizeof(T) == 4 || sizeof(T) == 8) {
    using W = std::conditional_t<sizeof(T) == 4, unsigned, unsigned long long>;
    W* word = reinterpret_cast<W*>(p);
    W old = *word, assumed;
    do {
      assumed = old;
      T running;
      memcpy(&running, &assumed, sizeof(T));
      const T next = fold(running, v);
      W bits;
      memcpy(&bits, &next, sizeof(T));
      if (bits == assumed) return;
      old = atomicCAS(word, assumed, bits);
    } while (assumed != old);
  } else {
    const auto addr = reinterpret_cast<uintptr_t>(p);
    auto* word = reinterpret_cast<unsigned*>(addr & ~uintptr_t{3});
    const unsigned shift = static_cast<unsigned>(addr & 3u) * 8u;
    const unsigned mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << shift;
    unsigned old = *word, assumed;
    do {
      assumed = old;
      const unsigned raw = (assumed & mask) >> shift;
      T running;
      memcpy(&running, &raw, sizeof(T));  // (little-endian: the low bytes)
      const T next = fold(running, v);
      unsigned next_raw = 0;
      memcpy(&next_raw, &next, sizeof(T));
      const unsigned updated = (assumed & ~mask) | (next_raw << shift);
      if (updated == assumed) return;
      old = atomicCAS(word, assumed, updated);
    } while (assumed != old);
  }
}

// Atomic accumulation (integers wrap, as on the CPU).
template <typename T>
__device__ void atomic_accumulate(T* p, T v) {
  if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    atomic_fold(p, v, fn::Add{});
  } else if constexpr (std::is_same_v<T, bfloat16_t>) {
    __nv_bfloat16_raw raw;
    raw.x = v.bits;
    atomicAdd(reinterpret_cast<__nv_bfloat16*>(p), __nv_bfloat16(raw));
  } else if constexpr (std::is_same_v<T, float16_t>) {
    __half_raw raw;
    raw.x = v.bits;
    atomicAdd(reinterpret_cast<__half*>(p), __half(raw));
  } else {
    atomicAdd(p, v);
  }
}

/// Calls f(T{}, I{}) for the accumulating ops' value dtype and index dtype.
template <typename F>
void with_accumulating_types(KernelContext& c, DType value, DType index, F f) {
  auto by_index = [&](auto v) { with_index(index, [&](auto i) { f(v, i); }); };
  EMBER_SWITCH_ARITH(value, unsupported_dtype(c, value), by_index(scalar_t{}));
}

template <typename T, typename I>
__global__ void scatter_add_kernel(T* out, const I* idx, const T* upd, int64_t total, NdPlan p,
                                   BadIndex bad) {
  GRID_STRIDE(t, total) {
    int64_t r = t / p.inner, k = t % p.inner;
    int64_t off = nd_offset(idx, r, p, bad);
    if (off >= 0) atomic_accumulate(out + off + k, upd[t]);
  }
}

// ScatterNd (into zeros) and TensorScatterAdd (into a copy of the tensor).
template <typename T, typename I>
void scatter_typed(KernelContext& c, bool into_tensor) {
  const Tensor& idx = c.inputs[into_tensor ? 1 : 0];
  const Tensor& upd = c.inputs[into_tensor ? 2 : 1];
  Tensor& y = c.outputs[0];
  NdPlan p = nd_plan(idx, y.shape(), 0, c.op.api_name.c_str());
  auto limit_of = [&](int64_t pos) { return p.limits[pos % p.depth]; };
  if (y.num_elements() == 0) return check_on_host(c, idx, limit_of);
  if (into_tensor) {
    EMBER_CUDA_CHECK(cudaSetDevice(c.device.index()));
    EMBER_CUDA_CHECK(cudaMemcpyAsync(y.raw_data(), c.inputs[0].raw_data(), y.nbytes(),
                                     cudaMemcpyDeviceToDevice, stream(c.device.index())));
  } else {
    kernels::fill(y, 0);
  }
  if (upd.num_elements() == 0) return check_on_host(c, idx, limit_of);
  IndexCheck check(c);
  scatter_add_kernel<<<blocks_for(upd.num_elements()), kThreads, 0, check.stream()>>>(
      static_cast<T*>(y.raw_data()), static_cast<const I*>(idx.raw_data()),
      static_cast<const T*>(upd.raw_data()), upd.num_elements(), p, check.device());
  EMBER_CUDA_LAUNCHED();
  check.raise_if_bad(idx, limit_of);
}

template <bool kIntoTensor>
void scatter(KernelContext& c) {
  with_accumulating_types(c, c.outputs[0].dtype(), c.inputs[kIntoTensor ? 1 : 0].dtype(),
                          [&](auto t, auto i) {
                            scatter_typed<decltype(t), decltype(i)>(c, kIntoTensor);
                          });
}

// ---- the unsorted segment reductions -----------------------------------------------------------

template <typename T>
__global__ void fill_with(T* y, int64_t n, T value) {
  GRID_STRIDE(i, n) y[i] = value;
}

// Rows folded into their segments in whatever order the threads meet them
// (a max or min of a segment holding NaN may then differ from the CPU's,
// whose order is the rows'); a negative id drops its row; one at or past
// num_segments is reported.
template <typename T, typename I, typename F>
__global__ void segment_fold_kernel(const T* data, const I* ids, T* y, int64_t total, int64_t inner, int64_t n,
                                    BadIndex bad, F fold) {
  GRID_STRIDE(t, total) {
    const int64_t r = t / inner, k = t % inner;
    const int64_t s = ids[r];
    if (s < 0) continue;
    if (s >= n) {
      bad.report(r);
      continue;
    }
    if constexpr (std::is_same_v<F, segment::Sum>) atomic_accumulate(y + s * inner + k, data[t]);
    else atomic_fold(y + s * inner + k, data[t], fn::computed_as<T>(fold));
  }
}

template <typename T, typename I, typename F>
void segment_fold_typed(KernelContext& c) {
  const Tensor &data = c.inputs[0], &ids = c.inputs[1];
  Tensor& y = c.outputs[0];
  const int64_t n = c.attrs.get<int64_t>("num_segments");
  cudaStream_t s = prepare(c);
  if (y.num_elements() > 0) {
    fill_with<<<blocks_for(y.num_elements()), kThreads, 0, s>>>(static_cast<T*>(y.raw_data()), y.num_elements(),
                                                                segment::identity<T, F>(data.dtype()));
    EMBER_CUDA_LAUNCHED();
  }
  auto limit = [&](int64_t) { return n; };
  if (data.num_elements() == 0) return check_on_host(c, ids, limit, "segment_ids", /*negative_dropped=*/true);
  const int64_t inner = data.num_elements() / std::max<int64_t>(ids.num_elements(), 1);
  IndexCheck check(c);
  segment_fold_kernel<<<blocks_for(data.num_elements()), kThreads, 0, check.stream()>>>(
      static_cast<const T*>(data.raw_data()), static_cast<const I*>(ids.raw_data()), static_cast<T*>(y.raw_data()),
      data.num_elements(), inner, n, check.device(), F{});
  EMBER_CUDA_LAUNCHED();
  check.raise_if_bad(ids, limit, "segment_ids");
}

template <typename F>
void segment_fold(KernelContext& c) {
  with_accumulating_types(c, c.outputs[0].dtype(), c.inputs[1].dtype(), [&](auto t, auto i) {
    segment_fold_typed<decltype(t), decltype(i), F>(c);
  });
}

// ---- one_hot, range
// -------------------------------------------------------------------------------

template <typename T, typename I>
__global__ void one_hot_kernel(const I* idx, T* y, int64_t total, int64_t depth, int64_t inner,
                               T on, T off) {
  GRID_STRIDE(t, total) {
    int64_t k = t % inner, d = (t / inner) % depth, o = t / (inner * depth);
    y[t] = static_cast<int64_t>(idx[o * inner + k]) == d ? on : off;
  }
}

template <typename T>
void one_hot_typed(KernelContext& c) {
  const Tensor& idx = c.inputs[0];
  Tensor& y = c.outputs[0];
  if (y.num_elements() == 0) return;
  int64_t depth = c.attrs.get<int64_t>("depth"), axis = c.attrs.get<int64_t>("axis");
  if (axis == -1) axis = idx.rank();
  int64_t inner = 1;
  for (int i = static_cast<int>(axis); i < idx.rank(); ++i) inner *= idx.dim(i);
  T on = static_cast<T>(c.attrs.get<double>("on_value")),
    off = static_cast<T>(c.attrs.get<double>("off_value"));
  cudaStream_t s = prepare(c);
  if (idx.dtype() == int32)
    one_hot_kernel<<<blocks_for(y.num_elements()), kThreads, 0, s>>>(
        idx.data<const int32_t>(), y.data<T>(), y.num_elements(), depth, inner, on, off);
  else
    one_hot_kernel<<<blocks_for(y.num_elements()), kThreads, 0, s>>>(
        idx.data<const int64_t>(), y.data<T>(), y.num_elements(), depth, inner, on, off);
  EMBER_CUDA_LAUNCHED();
}
void one_hot(KernelContext& c) {
  DType t = c.outputs[0].dtype();
  EMBER_SWITCH_ALL(t, unsupported_dtype(c, t), one_hot_typed<scalar_t>(c));
}

template <typename T>
__global__ void range_kernel(T* y, int64_t n, double start, double delta) {
  GRID_STRIDE(i, n) { y[i] = fn::range_element<T>(start, delta, i); }
}
void range(KernelContext& c) {
  Tensor& y = c.outputs[0];
  if (y.num_elements() == 0) return;
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_ARITH(y.dtype(), unsupported_dtype(c, y.dtype()),
                       (range_kernel<<<blocks_for(y.num_elements()), kThreads, 0, s>>>(
                           y.data<scalar_t>(), y.num_elements(), c.attrs.get<double>("start"),
                           c.attrs.get<double>("delta"))));
  EMBER_CUDA_LAUNCHED();
}

// ---- mirror pad and its adjoint
// ----------------------------------------------------------------------

struct MirrorPlan {
  int rank;
  bool reflect;
  int64_t out_dims[kMaxRank], in_dims[kMaxRank], in_strides[kMaxRank], before[kMaxRank];
};

MirrorPlan mirror_plan(const KernelContext& c, const TensorShape& in, const TensorShape& out) {
  MirrorPlan p{};
  EMBER_CHECK(in.rank() <= kMaxRank, Unimplemented, "[pad] rank ", in.rank(),
              " mirror padding on CUDA");
  p.rank = in.rank();
  p.reflect = c.attrs.get<std::string>("mode") == "REFLECT";
  const Ints& pads = c.attrs.get<Ints>("paddings");
  Dims st = contiguous_strides(in);
  for (int i = 0; i < p.rank; ++i) {
    p.out_dims[i] = out.dim(i);
    p.in_dims[i] = in.dim(i);
    p.in_strides[i] = st[static_cast<size_t>(i)];
    p.before[i] = pads[2 * static_cast<size_t>(i)];
  }
  return p;
}

__device__ int64_t mirror_source(int64_t t, const MirrorPlan& p) {
  int64_t off = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    int64_t o = t % p.out_dims[d];
    t /= p.out_dims[d];
    int64_t n = p.in_dims[d], k = o - p.before[d];
    if (k < 0) k = p.reflect ? -k : -k - 1;
    if (k >= n) k = p.reflect ? 2 * n - 2 - k : 2 * n - 1 - k;
    off += k * p.in_strides[d];
  }
  return off;
}

template <typename W>
__global__ void mirror_pad_kernel(const W* x, W* y, int64_t total, MirrorPlan p) {
  GRID_STRIDE(t, total) y[t] = x[mirror_source(t, p)];
}
template <typename T>
__global__ void mirror_pad_grad_kernel(const T* dy, T* dx, int64_t total, MirrorPlan p) {
  GRID_STRIDE(t, total) atomic_accumulate(dx + mirror_source(t, p), dy[t]);
}

void mirror_pad(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  if (y.num_elements() == 0) return;
  MirrorPlan p = mirror_plan(c, x.shape(), y.shape());
  cudaStream_t s = prepare(c);
  auto n = y.num_elements();
  with_word(dtype_size(x.dtype()), [&](auto w) {
    using W = decltype(w);
    mirror_pad_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<const W*>(x.raw_data()),
                                                         static_cast<W*>(y.raw_data()), n, p);
  });
  EMBER_CUDA_LAUNCHED();
}

void mirror_pad_grad(KernelContext& c) {
  const Tensor& dy = c.inputs[0];
  Tensor& dx = c.outputs[0];
  kernels::fill(dx, 0);
  if (dy.num_elements() == 0) return;
  MirrorPlan p = mirror_plan(c, dx.shape(), dy.shape());
  cudaStream_t s = prepare(c);
  auto n = dy.num_elements();
  EMBER_SWITCH_ARITH(dy.dtype(), unsupported_dtype(c, dy.dtype()),
                     (mirror_pad_grad_kernel<<<blocks_for(n), kThreads, 0, s>>>(
                         dy.data<const scalar_t>(), dx.data<scalar_t>(), n, p)));
  EMBER_CUDA_LAUNCHED();
}

EMBER_REGISTER_KERNEL(op_name::GatherV2, CUDA, gather);
EMBER_REGISTER_KERNEL(op_name::GatherNd, CUDA, gather_nd);
EMBER_REGISTER_KERNEL(op_name::ScatterNd, CUDA, scatter<false>);
EMBER_REGISTER_KERNEL(op_name::TensorScatterAdd, CUDA, scatter<true>);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentSum, CUDA, segment_fold<segment::Sum>);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentMax, CUDA, segment_fold<segment::Max>);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentMin, CUDA, segment_fold<segment::Min>);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentProd, CUDA, segment_fold<segment::Prod>);
EMBER_REGISTER_KERNEL(op_name::OneHot, CUDA, one_hot);
EMBER_REGISTER_KERNEL(op_name::Range, CUDA, range);
EMBER_REGISTER_KERNEL(op_name::MirrorPad, CUDA, mirror_pad);
EMBER_REGISTER_KERNEL(op_name::MirrorPadGrad, CUDA, mirror_pad_grad);

}  // namespace
}  // namespace ember::cuda
