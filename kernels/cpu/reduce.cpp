// CPU reductions. The reduced and kept dimensions are collapsed into runs;
// the common layouts are reduced in place:
//   [R]        everything: chunked across threads, partial results combined;
//   [K, R]     rows: each output reduces one contiguous run;
//   [R, K]     columns: rows are accumulated into a vector of K;
//   [K, R, K'] the same per outer index.
// Any other layout is first transposed to [K..., R...]. Floats (16-bit ones
// too) accumulate in double, integers in int64 (wrapping back to their width), so results stay
// accurate over 16M elements; contiguous float32 sums are cascaded (float
// lanes per block, double across blocks: sum_float_run).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec.h"
#include "kernels/functors.h"
#include "kernels/reduce_ops.h"
#include "kernels/reducers.h"

namespace ember::cpu {
namespace {

using namespace ember::reduce;

// A float32 sum of a contiguous run, cascaded: blocks of kBlock elements are
// summed in float lanes (32 accumulators, 8-wide vectors: full vector width,
// where double accumulation would halve it), and the block sums in double.
// Each lane adds kBlock/32 values, so the float error is bounded by a block,
// not by the run: close to a double sum's accuracy at float speed, as the
// cascaded sums TensorFlow and PyTorch use.
double sum_float_run(const float* x, int64_t n) {
  constexpr int64_t kBlock = 1024;
  double total = 0;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    vec::f8 a0 = vec::splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t j = i; j < i + kBlock; j += 32) {
      a0 += vec::load(x + j);
      a1 += vec::load(x + j + 8);
      a2 += vec::load(x + j + 16);
      a3 += vec::load(x + j + 24);
    }
    vec::f8 s = (a0 + a1) + (a2 + a3);
    for (int l = 0; l < 8; ++l) total += static_cast<double>(s[l]);
  }
  for (; i < n; ++i) total += static_cast<double>(x[i]);
  return total;
}

// Reduces a contiguous run; several independent accumulators let the
// compiler vectorise the sum without reassociating a single chain.
template <typename R, typename T>
typename R::A reduce_run(const T* x, int64_t n) {
  using A = typename R::A;
  if constexpr (std::is_same_v<T, float> &&
                (std::is_same_v<R, SumR<float>> || std::is_same_v<R, MeanR<float>>))
    return sum_float_run(x, n);
  constexpr int kLanes = 16;
  A acc[kLanes];
  for (auto& a : acc) a = R::init();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = R::step(acc[l], x[i + l]);
  for (; i < n; ++i) acc[0] = R::step(acc[0], x[i]);
  A total = acc[0];
  for (int l = 1; l < kLanes; ++l) total = R::merge(total, acc[l]);
  return total;
}

template <typename R, typename T>
void reduce_all_elements(const T* x, T* y, int64_t n) {
  using A = typename R::A;
  int threads = omp_get_max_threads();
  std::vector<A> partial(static_cast<size_t>(threads), R::init());
  constexpr int64_t kChunk = 1 << 16;
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    A a = R::init();
    for (int64_t s = b; s < e; s += kChunk)
      a = R::merge(a, reduce_run<R>(x + s, std::min(kChunk, e - s)));
    partial[static_cast<size_t>(omp_get_thread_num())] = a;
  });
  A total = R::init();
  for (A a : partial) total = R::merge(total, a);
  y[0] = R::finish(total, n);
}

// out[o, k] = reduce over r of x[o, r, k], for the [K, R, K'] layout (K may be 1).
template <typename R, typename T>
void reduce_middle(const T* x, T* y, int64_t outer, int64_t red, int64_t inner) {
  using A = typename R::A;
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(red, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t o = b; o < e; ++o)
                     y[o] = R::finish(reduce_run<R>(x + o * red, red), red);
                 });
    return;
  }
  // Split over outer and inner blocks; each block accumulates rows of its columns.
  constexpr int64_t kBlock = 1024;
  int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(
      outer * blocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(red * kBlock, 1)),
      [&](int64_t b, int64_t e) {
        std::vector<A> acc(static_cast<size_t>(std::min(kBlock, inner)));
        for (int64_t t = b; t < e; ++t) {
          int64_t o = t / blocks, k0 = (t % blocks) * kBlock, k1 = std::min(inner, k0 + kBlock);
          int64_t w = k1 - k0;
          std::fill(acc.begin(), acc.begin() + w, R::init());
          const T* base = x + o * red * inner + k0;
          for (int64_t r = 0; r < red; ++r) {
            const T* row = base + r * inner;
            for (int64_t k = 0; k < w; ++k)
              acc[static_cast<size_t>(k)] = R::step(acc[static_cast<size_t>(k)], row[k]);
          }
          for (int64_t k = 0; k < w; ++k)
            y[o * inner + k0 + k] = R::finish(acc[static_cast<size_t>(k)], red);
        }
      });
}

template <template <typename> class RT, typename T>
void reduce_typed(KernelContext& c) {
  using R = RT<T>;
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  const auto& axes_attr = c.attrs.get<std::vector<int64_t>>("axis");
  int rank = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes_attr) reduced[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
  int64_t red_count = 1;
  for (int i = 0; i < rank; ++i)
    if (reduced[static_cast<size_t>(i)]) red_count *= x.dim(i);
  if (y.num_elements() == 0) return;
  if (x.num_elements() == 0) {  // reducing empty runs: the identity (mean: NaN)
    T* py = y.data<T>();
    for (int64_t i = 0; i < y.num_elements(); ++i) py[i] = R::finish(R::init(), 0);
    return;
  }
  // Collapse into alternating runs of kept (false) and reduced (true) dimensions.
  std::vector<std::pair<bool, int64_t>> runs;
  for (int i = 0; i < rank; ++i) {
    if (x.dim(i) == 1) continue;
    bool r = reduced[static_cast<size_t>(i)];
    if (!runs.empty() && runs.back().first == r)
      runs.back().second *= x.dim(i);
    else
      runs.emplace_back(r, x.dim(i));
  }
  const T* px = x.data<const T>();
  T* py = y.data<T>();
  if (runs.empty() || (runs.size() == 1 && !runs[0].first)) {  // nothing (non-trivial) reduced
    for (int64_t i = 0; i < x.num_elements(); ++i) py[i] = R::finish(R::step(R::init(), px[i]), 1);
    return;
  }
  if (runs.size() == 1) return reduce_all_elements<R>(px, py, x.num_elements());
  if (runs.size() == 2 && !runs[0].first)
    return reduce_middle<R>(px, py, runs[0].second, runs[1].second, 1);
  if (runs.size() == 2) return reduce_middle<R>(px, py, 1, runs[0].second, runs[1].second);
  if (runs.size() == 3 && !runs[0].first)
    return reduce_middle<R>(px, py, runs[0].second, runs[1].second, runs[2].second);
  // General layout: move the reduced dimensions last, then reduce rows.
  std::vector<int64_t> perm;
  for (int i = 0; i < rank; ++i)
    if (!reduced[static_cast<size_t>(i)]) perm.push_back(i);
  for (int i = 0; i < rank; ++i)
    if (reduced[static_cast<size_t>(i)]) perm.push_back(i);
  Tensor t = transpose(x, perm);
  reduce_middle<R>(t.data<const T>(), py, y.num_elements(), red_count, 1);
}

template <template <typename> class RT>
void reduce_numeric(KernelContext& c) {
  EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                     reduce_typed<RT, scalar_t>(c));
}
void reduce_all_kernel(KernelContext& c) { reduce_typed<AllRT, bool>(c); }
void reduce_any_kernel(KernelContext& c) { reduce_typed<AnyRT, bool>(c); }

// ---- argmax / argmin ---------------------------------------------------------------

template <typename T, typename I, bool kMax>
void arg_typed(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const AxisSplit lines = split_at_axis(x.shape(), c.attrs.get<int64_t>("axis"));
  const int64_t outer = lines.outer, n = lines.n, inner = lines.inner;
  const T* px = x.data<const T>();
  I* py = c.outputs[0].data<I>();
  parallel_for(outer * inner, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t t = b; t < e; ++t) {
                   int64_t o = t / inner, k = t % inner;
                   py[t] = static_cast<I>(arg_extreme<kMax>(px + o * n * inner + k, n, inner));
                 }
               });
}

template <bool kMax>
void arg_kernel(KernelContext& c) {
  // The index type is int64 or int32 (inference allows no other).
  if (c.outputs[0].dtype() == int32) {
    EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                       (arg_typed<scalar_t, int32_t, kMax>(c)));
  } else {
    EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                       (arg_typed<scalar_t, int64_t, kMax>(c)));
  }
}

// ---- cumsum, cumprod, cumulative_logsumexp: one line along the axis per task ---------------------------------

template <template <typename> class R, typename T>
void scan_typed(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const AxisSplit lines = split_at_axis(x.shape(), c.attrs.get<int64_t>("axis"));
  const int64_t outer = lines.outer, n = lines.n, inner = lines.inner;
  const bool exclusive = c.attrs.get<bool>("exclusive"), reverse = c.attrs.get<bool>("reverse");
  const T* px = x.data<const T>();
  T* py = c.outputs[0].data<T>();
  parallel_for(outer * inner, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t t = b; t < e; ++t) {
                   const int64_t at = (t / inner) * n * inner + t % inner;
                   scan_line<R>(px + at, py + at, n, inner, exclusive, reverse);
                 }
               });
}
template <template <typename> class R>
void scan_kernel(KernelContext& c) {
  EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), (scan_typed<R, scalar_t>(c)));
}
template <template <typename> class R>
void scan_kernel_floating(KernelContext& c) {
  EMBER_SWITCH_FLOATING(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), (scan_typed<R, scalar_t>(c)));
}

#define EMBER_REGISTER_REDUCER_OP(OP, REDUCER) \
  EMBER_REGISTER_KERNEL(op_name::OP, CPU, reduce_numeric<REDUCER>);
EMBER_REDUCER_OPS(EMBER_REGISTER_REDUCER_OP)
#undef EMBER_REGISTER_REDUCER_OP
EMBER_REGISTER_KERNEL(op_name::All, CPU, reduce_all_kernel);
EMBER_REGISTER_KERNEL(op_name::Any, CPU, reduce_any_kernel);
EMBER_REGISTER_KERNEL(op_name::ArgMax, CPU, arg_kernel<true>);
EMBER_REGISTER_KERNEL(op_name::ArgMin, CPU, arg_kernel<false>);
EMBER_REGISTER_KERNEL(op_name::Cumsum, CPU, scan_kernel<SumR>);
EMBER_REGISTER_KERNEL(op_name::Cumprod, CPU, scan_kernel<ProdR>);
EMBER_REGISTER_KERNEL(op_name::CumulativeLogsumexp, CPU, scan_kernel_floating<LogSumExpR>);

}  // namespace
}  // namespace ember::cpu
