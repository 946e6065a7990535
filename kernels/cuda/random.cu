// Random kernels on CUDA: each thread computes its elements (a gamma or
// Poisson sample from its own 256 blocks, kernels/samplers.h; for the
// truncated normal, its group of elements; for a categorical draw, a row's
// CDF, then a sample) from the Philox stream with the
// functions the CPU uses (core/philox.h, kernels/functors.h), so a seed gives
// the same numbers on every device.
#include "core/op_names.h"
#include "core/ops.h"
#include "core/philox.h"
#include "core/random.h"
#include "kernels/categorical.h"
#include "kernels/cuda/common.cuh"
#include "kernels/functors.h"
#include "kernels/samplers.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void uniform_kernel(T* y, int64_t n, philox::Stream s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = fn::uniform_at<T>(s, i);
}

template <typename T>
__global__ void uniform_int_kernel(T* y, int64_t n, philox::Stream s, T lo, uint64_t range) {
  constexpr int kPer = fn::kPerBlock<T>;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = fn::uniform_int_of_block<T>(philox::at(s, static_cast<uint64_t>(i / kPer)), static_cast<int>(i % kPer), lo, range);
}

template <typename T>
__global__ void full_int_kernel(T* y, int64_t n, philox::Stream s) {
  constexpr int kPer = fn::kPerBlock<T>;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = fn::full_int_of_block<T>(philox::at(s, static_cast<uint64_t>(i / kPer)), static_cast<int>(i % kPer));
}

template <typename T>
__global__ void normal_kernel(T* y, int64_t n, philox::Stream s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = fn::normal_at<T>(s, i);
}

// One thread per group of fn::kPerBlock<T> outputs.
template <typename T>
__global__ void truncated_kernel(T* y, int64_t n, philox::Stream s) {
  constexpr int kPer = fn::kPerBlock<T>;
  int64_t groups = (n + kPer - 1) / kPer;
  for (int64_t g = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; g < groups;
       g += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    T v[kPer];
    fn::truncated_group<T>(s, g, v);
    for (int j = 0; j < kPer && g * kPer + j < n; ++j) y[g * kPer + j] = v[j];
  }
}

// StatelessDropout: one thread per Philox block, deciding the
// fn::Dropout<T>::kPer elements the block's words give.
template <typename T>
__global__ void dropout_kernel(const T* x, T* y, int64_t n, fn::Dropout<T> d) {
  constexpr int kPer = fn::Dropout<T>::kPer;
  const int64_t blocks = (n + kPer - 1) / kPer;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < blocks;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const philox::Block w = philox::at(d.stream, static_cast<uint64_t>(b));
    for (int j = 0; j < kPer && b * kPer + j < n; ++j) y[b * kPer + j] = d.apply(w, j, x[b * kPer + j]);
  }
}

void stateless_dropout_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const int64_t n = x.num_elements();
  if (n == 0) return;
  const std::vector<int64_t> seed = c.inputs[1].index_values();
  const philox::Stream st = random::stateless_stream({seed[0], seed[1]});
  const double rate = c.attrs.get<double>("rate");
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()), {
    constexpr int kPer = fn::Dropout<scalar_t>::kPer;
    dropout_kernel<<<blocks_for((n + kPer - 1) / kPer), kThreads, 0, s>>>(
        x.data<scalar_t>(), c.outputs[0].data<scalar_t>(), n, fn::Dropout<scalar_t>(st, rate));
  });
  EMBER_CUDA_LAUNCHED();
}
EMBER_REGISTER_KERNEL(op_name::StatelessDropout, CUDA, stateless_dropout_kernel);

template <int kKind>  // 0 uniform, 1 normal, 2 truncated normal
void random_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  int64_t n = y.num_elements();
  if (n == 0) return;
  philox::Stream st = random::stream_of(c.attrs);
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_FLOATING(y.dtype(), unsupported_dtype(c, y.dtype()), {
    if constexpr (kKind == 0)
      uniform_kernel<<<blocks_for(n), kThreads, 0, s>>>(y.data<scalar_t>(), n, st);
    else if constexpr (kKind == 1)
      normal_kernel<<<blocks_for(n), kThreads, 0, s>>>(y.data<scalar_t>(), n, st);
    else
      truncated_kernel<<<blocks_for(n), kThreads, 0, s>>>(y.data<scalar_t>(), n, st);
  });
  EMBER_CUDA_LAUNCHED();
}

// RandomUniformInt: minval and maxval read on the host (TensorFlow keeps
// them in host memory), then a thread per element.
void random_int_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;  // (before the range's check, as TensorFlow's)
  const auto [lo, range] = random::uniform_int_range(c.inputs[0], c.inputs[1]);
  const philox::Stream st = random::stream_of(c.attrs);
  cudaStream_t s = prepare(c);
  if (y.dtype() == int32)
    uniform_int_kernel<<<blocks_for(n), kThreads, 0, s>>>(y.data<int32_t>(), n, st, static_cast<int32_t>(lo), range);
  else
    uniform_int_kernel<<<blocks_for(n), kThreads, 0, s>>>(y.data<int64_t>(), n, st, lo, range);
  EMBER_CUDA_LAUNCHED();
}

// StatelessRandomUniformFullInt: the seed read on the host, then a thread
// per element; called without a seed (by a generator's
// StatefulUniformFullInt), of the stream in its attributes.
void random_full_int_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;
  const std::vector<int64_t> seed = c.inputs.empty() ? std::vector<int64_t>{} : c.inputs[0].index_values();
  const philox::Stream st = seed.empty() ? random::stream_of(c.attrs) : random::stateless_stream({seed[0], seed[1]});
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_INDEX(y.dtype(), unsupported_dtype(c, y.dtype()), {
    full_int_kernel<<<blocks_for(n), kThreads, 0, s>>>(y.data<scalar_t>(), n, st);
  });
  EMBER_CUDA_LAUNCHED();
}

// Multinomial: each row's CDF by a thread (scratch doubles [rows, classes]),
// then a thread per sample.
template <typename T>
__global__ void categorical_cdf_kernel(const T* logits, double* cdf, double* totals, int64_t rows, int64_t classes) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x)
    totals[r] = categorical::cdf_of_row(logits + r * classes, cdf + r * classes, classes);
}

template <typename Out>
__global__ void categorical_sample_kernel(const double* cdf, const double* totals, Out* y, int64_t n, int64_t classes,
                                          int64_t samples, philox::Stream s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / samples;
    y[i] = static_cast<Out>(categorical::sample(cdf + r * classes, classes, totals[r], s, i));
  }
}

void multinomial_kernel(KernelContext& c) {
  const Tensor& logits = c.inputs[0];
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;
  const int64_t rows = y.dim(0), samples = y.dim(1), classes = logits.dim(1);
  const philox::Stream st = random::stream_of(c.attrs);
  Tensor cdf = Tensor::empty({rows * classes}, float64, c.device), totals = Tensor::empty({rows}, float64, c.device);
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_FLOATING(logits.dtype(), unsupported_dtype(c, logits.dtype()), {
    categorical_cdf_kernel<<<blocks_for(rows), kThreads, 0, s>>>(logits.data<const scalar_t>(), cdf.data<double>(),
                                                                 totals.data<double>(), rows, classes);
  });
  EMBER_CUDA_LAUNCHED();
  if (y.dtype() == int32)
    categorical_sample_kernel<<<blocks_for(n), kThreads, 0, s>>>(cdf.data<const double>(), totals.data<const double>(),
                                                                 y.data<int32_t>(), n, classes, samples, st);
  else
    categorical_sample_kernel<<<blocks_for(n), kThreads, 0, s>>>(cdf.data<const double>(), totals.data<const double>(),
                                                                 y.data<int64_t>(), n, classes, samples, st);
  EMBER_CUDA_LAUNCHED();
}

// RandomGamma and RandomPoissonV2: a thread per element, each from its own
// 256 blocks.
template <typename T>
__global__ void gamma_kernel(const T* alpha, T* y, int64_t n, int64_t alphas, philox::Stream s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = samplers::gamma_at(s, alpha, i, n, alphas);
}

template <typename T>
__global__ void poisson_kernel(const double* rate, T* y, int64_t n, int64_t rates, double highest, philox::Stream s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = samplers::poisson_at<T>(s, rate, i, n, rates, highest);
}

template <typename T>
__global__ void binomial_kernel(const double* params, T* y, int64_t n, int64_t members, philox::Stream s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = samplers::binomial_at<T>(s, params, i, n, members);
}

void random_gamma_kernel(KernelContext& c) {
  const Tensor& alpha = c.inputs[0];
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;
  const philox::Stream st = random::stream_of(c.attrs);
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_FLOATING(y.dtype(), unsupported_dtype(c, y.dtype()), {
    gamma_kernel<<<blocks_for(n), kThreads, 0, s>>>(alpha.data<const scalar_t>(), y.data<scalar_t>(), n,
                                                    alpha.num_elements(), st);
  });
  EMBER_CUDA_LAUNCHED();
}

// RandomPoissonV2: the rates widened to double first (one cast), so the
// kernel is instantiated per output dtype only.
void random_poisson_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;
  const Tensor rate = cast(c.inputs[0], float64);
  const philox::Stream st = random::stream_of(c.attrs);
  const double highest = random::highest(y.dtype());
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_ARITH(y.dtype(), unsupported_dtype(c, y.dtype()), {
    poisson_kernel<<<blocks_for(n), kThreads, 0, s>>>(rate.data<const double>(), y.data<scalar_t>(), n,
                                                      rate.num_elements(), highest, st);
  });
  EMBER_CUDA_LAUNCHED();
}

// StatelessRandomBinomial: each member's method chosen on the host
// (samplers::binomial_params) and copied here, then a thread per element.
void random_binomial_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const int64_t n = y.num_elements();
  if (n == 0) return;
  const TensorShape batch = broadcast_shapes(c.inputs[1].shape(), c.inputs[2].shape());
  const Tensor params = samplers::binomial_params(c.inputs[1], c.inputs[2], batch).to(c.device);
  const std::vector<int64_t> seed = c.inputs[0].index_values();
  const philox::Stream st = random::stateless_stream({seed[0], seed[1]});
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_ARITH(y.dtype(), unsupported_dtype(c, y.dtype()), {
    binomial_kernel<<<blocks_for(n), kThreads, 0, s>>>(params.data<const double>(), y.data<scalar_t>(), n,
                                                       batch.num_elements(), st);
  });
  EMBER_CUDA_LAUNCHED();
}

EMBER_REGISTER_KERNEL(op_name::Multinomial, CUDA, multinomial_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomGamma, CUDA, random_gamma_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomPoissonV2, CUDA, random_poisson_kernel);
EMBER_REGISTER_KERNEL(op_name::StatelessRandomBinomial, CUDA, random_binomial_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomUniform, CUDA, random_kernel<0>);
EMBER_REGISTER_KERNEL(op_name::RandomUniformInt, CUDA, random_int_kernel);
EMBER_REGISTER_KERNEL(op_name::StatelessRandomUniformFullInt, CUDA, random_full_int_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomStandardNormal, CUDA, random_kernel<1>);
EMBER_REGISTER_KERNEL(op_name::TruncatedNormal, CUDA, random_kernel<2>);

}  // namespace
}  // namespace ember::cuda
