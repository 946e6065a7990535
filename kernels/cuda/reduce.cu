// CUDA reductions and argmax/argmin (16-bit floats computed in
// float32). Reductions run in two passes
// over [rows, reduced]: blocks reduce chunks of a row into partial
// accumulators, then one block per row merges its partials and finishes
// (so a full 16M-element sum uses the whole GPU, and many short rows still
// get a block each). Layouts whose reduced axes are not trailing are
// transposed first, as on the CPU. The arithmetic is kernels/reducers.h.
#include "core/ops.h"
#include "core/op_names.h"
#include "kernels/cuda/common.cuh"
#include "kernels/reduce_ops.h"
#include "kernels/reducers.h"

namespace ember::cuda {
namespace {

using namespace ember::reduce;

constexpr int64_t kChunk = 16384;  // elements of a row one block reduces in pass 1

template <typename R>
__device__ typename R::A block_merge(typename R::A v) {
  using A = typename R::A;
  __shared__ A shared[kThreads];
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (threadIdx.x < s)
      shared[threadIdx.x] = R::merge(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  A out = shared[0];
  __syncthreads();
  return out;
}

template <typename R, typename T>
__global__ void reduce_chunks(const T* __restrict__ x, typename R::A* __restrict__ partial,
                              int64_t rows, int64_t red, int64_t chunks) {
  for (int64_t b = blockIdx.x; b < rows * chunks; b += gridDim.x) {
    int64_t row = b / chunks, chunk = b % chunks;
    int64_t lo = chunk * kChunk, hi = min(red, lo + kChunk);
    typename R::A acc = R::init();
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x)
      acc = R::step(acc, x[row * red + i]);
    acc = block_merge<R>(acc);
    if (threadIdx.x == 0) partial[b] = acc;
  }
}

template <typename R, typename T>
__global__ void finish_rows(const typename R::A* __restrict__ partial, T* __restrict__ y,
                            int64_t rows, int64_t chunks, int64_t red) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    typename R::A acc = R::init();
    for (int64_t i = threadIdx.x; i < chunks; i += blockDim.x)
      acc = R::merge(acc, partial[row * chunks + i]);
    acc = block_merge<R>(acc);
    if (threadIdx.x == 0) y[row] = R::finish(acc, red);
  }
}

template <template <typename> class RT, typename T>
void reduce_typed(KernelContext& c) {
  using R = RT<T>;
  using A = typename R::A;
  Tensor x = c.inputs[0];
  Tensor& y = c.outputs[0];
  int rank = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : c.attrs.get<std::vector<int64_t>>("axis"))
    reduced[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
  // Move the reduced axes last (a no-op copy is skipped when they already are).
  std::vector<int64_t> perm;
  for (int i = 0; i < rank; ++i)
    if (!reduced[static_cast<size_t>(i)]) perm.push_back(i);
  for (int i = 0; i < rank; ++i)
    if (reduced[static_cast<size_t>(i)]) perm.push_back(i);
  bool identity = true;
  for (int i = 0; i < rank; ++i) identity = identity && perm[static_cast<size_t>(i)] == i;
  if (!identity) x = transpose(x, perm);
  int64_t rows = y.num_elements();
  if (rows == 0) return;
  int64_t red = rows ? x.num_elements() / rows : 0;
  int64_t chunks = std::max<int64_t>(1, (red + kChunk - 1) / kChunk);
  Tensor partial = Tensor::empty(
      {static_cast<int64_t>(rows * chunks * static_cast<int64_t>(sizeof(A)))}, uint8, c.device);
  cudaStream_t s = prepare(c);
  auto* pp = static_cast<A*>(partial.raw_data());
  reduce_chunks<R, T><<<blocks_for(rows * chunks * kThreads), kThreads, 0, s>>>(
      static_cast<const T*>(x.raw_data()), pp, rows, red, chunks);
  EMBER_CUDA_LAUNCHED();
  finish_rows<R, T><<<blocks_for(rows * kThreads), kThreads, 0, s>>>(
      pp, static_cast<T*>(y.raw_data()), rows, chunks, red);
  EMBER_CUDA_LAUNCHED();
}

template <template <typename> class RT>
void reduce_numeric(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_ARITH(t, unsupported_dtype(c, t), (reduce_typed<RT, scalar_t>(c)));
}
void reduce_all(KernelContext& c) { reduce_typed<AllRT, bool>(c); }
void reduce_any(KernelContext& c) { reduce_typed<AnyRT, bool>(c); }

// ---- argmax / argmin: one thread per output ---------------------------------------------------

template <typename T, typename I, bool kMax>
__global__ void arg_kernel(const T* __restrict__ x, I* __restrict__ y, int64_t outer,
                           int64_t n, int64_t inner) {
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < outer * inner;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    y[t] = static_cast<I>(arg_extreme<kMax>(x + (t / inner) * n * inner + t % inner, n, inner));
  }
}

template <typename T, typename I, bool kMax>
void arg_typed(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const AxisSplit lines = split_at_axis(x.shape(), c.attrs.get<int64_t>("axis"));
  const int64_t outer = lines.outer, n = lines.n, inner = lines.inner;
  if (outer * inner == 0) return;
  cudaStream_t s = prepare(c);
  arg_kernel<T, I, kMax><<<blocks_for(outer * inner), kThreads, 0, s>>>(
      static_cast<const T*>(x.raw_data()), c.outputs[0].data<I>(), outer, n, inner);
  EMBER_CUDA_LAUNCHED();
}
template <bool kMax>
void arg(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  if (c.outputs[0].dtype() == int32) {
    EMBER_SWITCH_ARITH(t, unsupported_dtype(c, t), (arg_typed<scalar_t, int32_t, kMax>(c)));
  } else {
    EMBER_SWITCH_ARITH(t, unsupported_dtype(c, t), (arg_typed<scalar_t, int64_t, kMax>(c)));
  }
}

// ---- cumsum, cumprod, cumulative_logsumexp: one thread per line along the axis ---------------------------------

template <template <typename> class R, typename T>
__global__ void scan_lines(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n, int64_t inner,
                             bool exclusive, bool reverse) {
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < outer * inner;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t at = (t / inner) * n * inner + t % inner;
    scan_line<R>(x + at, y + at, n, inner, exclusive, reverse);
  }
}

template <template <typename> class R, typename T>
void scan_typed(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const AxisSplit lines = split_at_axis(x.shape(), c.attrs.get<int64_t>("axis"));
  const int64_t outer = lines.outer, n = lines.n, inner = lines.inner;
  if (outer * inner * n == 0) return;
  cudaStream_t s = prepare(c);
  scan_lines<R, T><<<blocks_for(outer * inner), kThreads, 0, s>>>(
      static_cast<const T*>(x.raw_data()), c.outputs[0].data<T>(), outer, n, inner, c.attrs.get<bool>("exclusive"),
      c.attrs.get<bool>("reverse"));
  EMBER_CUDA_LAUNCHED();
}
template <template <typename> class R>
void scan_kernel(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_ARITH(t, unsupported_dtype(c, t), (scan_typed<R, scalar_t>(c)));
}
template <template <typename> class R>
void scan_kernel_floating(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), (scan_typed<R, scalar_t>(c)));
}

#define EMBER_REGISTER_REDUCER_OP(OP, REDUCER) \
  EMBER_REGISTER_KERNEL(op_name::OP, CUDA, reduce_numeric<REDUCER>);
EMBER_REDUCER_OPS(EMBER_REGISTER_REDUCER_OP)
#undef EMBER_REGISTER_REDUCER_OP
EMBER_REGISTER_KERNEL(op_name::All, CUDA, reduce_all);
EMBER_REGISTER_KERNEL(op_name::Any, CUDA, reduce_any);
EMBER_REGISTER_KERNEL(op_name::ArgMax, CUDA, arg<true>);
EMBER_REGISTER_KERNEL(op_name::ArgMin, CUDA, arg<false>);
EMBER_REGISTER_KERNEL(op_name::Cumsum, CUDA, scan_kernel<SumR>);
EMBER_REGISTER_KERNEL(op_name::Cumprod, CUDA, scan_kernel<ProdR>);
EMBER_REGISTER_KERNEL(op_name::CumulativeLogsumexp, CUDA, scan_kernel_floating<LogSumExpR>);

}  // namespace
}  // namespace ember::cuda
