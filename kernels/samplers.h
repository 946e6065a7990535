// TensorFlow's rejection samplers, shared by the CPU and CUDA kernels: the
// gamma (its RandomGamma kernel; the stateless ops' functor is the same),
// the Poisson (RandomPoissonV2, StatelessRandomPoisson) and the binomial
// (StatelessRandomBinomial). Output i draws from its own stretch of the
// stream, blocks 256·i on (42·i for a binomial drawn by inversion:
// OutputDraws), so any device, thread or split gives the same numbers; each pair of normals or
// uniforms (doubles) takes the stretch's next block and is used from its
// second number back, as TensorFlow's. Every product followed by a sum is
// rounded first (exact::mul), as TensorFlow's build computes them.
// The gamma's gradient, RandomGammaGrad, is special::gamma_sample_der_alpha.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/exact_math.h"
#include "core/host_device.h"
#include "core/philox.h"
#include "core/tensor.h"
#include "kernels/functors.h"

namespace ember::samplers {

/// The blocks each output reserves (TensorFlow's kReservedSamplesPerOutput).
inline constexpr uint64_t kBlocksPerOutput = 256;

/// Output i's stretch of the stream, from block i·stride: uniform and normal
/// doubles, two per block, the second first. `exhausted` once 256 blocks are
/// spent (which TensorFlow's loops never check: for a valid parameter it
/// happens with a probability far below 2^-100).
class OutputDraws {
 public:
  EMBER_HOST_DEVICE OutputDraws(const philox::Stream& s, uint64_t i, uint64_t stride = kBlocksPerOutput)
      : s_(s), next_(i * stride), end_(next_ + kBlocksPerOutput) {}
  EMBER_HOST_DEVICE bool exhausted() const { return next_ >= end_; }
  EMBER_HOST_DEVICE double uniform() {
    if (uniforms_left_ == 0) {
      const philox::Block b = philox::at(s_, next_++);
      uniforms_[0] = philox::uniform_double(b.v[0], b.v[1]);
      uniforms_[1] = philox::uniform_double(b.v[2], b.v[3]);
      uniforms_left_ = 2;
    }
    return uniforms_[--uniforms_left_];
  }
  EMBER_HOST_DEVICE double normal() {
    if (normals_left_ == 0) {
      const philox::Block b = philox::at(s_, next_++);
      fn::box_muller(b.v[0], b.v[1], b.v[2], b.v[3], normals_[0], normals_[1]);
      normals_left_ = 2;
    }
    return normals_[--normals_left_];
  }

 private:
  philox::Stream s_;
  uint64_t next_, end_;
  double uniforms_[2] = {}, normals_[2] = {};
  int uniforms_left_ = 0, normals_left_ = 0;
};

/// Output `i` of a Gamma(alpha, 1) draw from stream `s`, in double: Marsaglia
/// and Tsang's transformation-rejection ("A simple method for generating
/// gamma variables", 2000). alpha == 1 is -log1p(-u), an exponential; below
/// 1, the boost (the sample for alpha + 1 times u^(1/alpha)). NaN where d =
/// alpha - 1/3 (+ 1 below 1) is not positive (alpha NaN or below -2/3:
/// TensorFlow's sampler gives NaN there too) or the stretch runs out.
EMBER_HOST_DEVICE inline double gamma(const philox::Stream& s, uint64_t i, double alpha) {
  OutputDraws g(s, i);
  if (alpha == 1.0) return -::log1p(-g.uniform());
  const bool boost = alpha < 1;
  const double d = alpha + (boost ? 2.0 / 3 : -1.0 / 3);
  if (!(d > 0)) return NAN;
  const double c = 1.0 / 3 / exact::sqrt(d);
  while (!g.exhausted()) {
    const double x = g.normal();
    double v = 1 + exact::mul(c, x);
    if (v <= 0) continue;
    v = exact::mul(exact::mul(v, v), v);
    const double u = g.uniform();
    const double x2 = exact::mul(x, x);
    // The squeeze first, then the log test.
    if (u < 1 - exact::mul(exact::mul(0.0331, x2), x2) ||
        ::log(u) < exact::mul(exact::mul(0.5, x), x) + exact::mul(d, 1 - v + ::log(v))) {
      double r = exact::mul(d, v);
      if (boost) r = exact::mul(r, ::pow(g.uniform(), 1 / alpha));
      return r;
    }
  }
  return NAN;
}

/// Output `i` of a Poisson(rate) draw from stream `s`, in double, as
/// TensorFlow's RandomPoisson kernels draw it: below rate 10, Knuth's
/// product of uniforms (the first count whose product is at most e^-rate,
/// and at most `highest`, the output dtype's largest value); from 10,
/// Hörmann's transformed rejection ("The transformed rejection method for
/// generating Poisson random variables", 1993); +inf for an infinite rate;
/// 0 for a rate at most 0. NaN where TensorFlow's loop never ends (a NaN
/// rate, or one so large, beyond about 1e12, that its log test cancels
/// away) and the stretch runs out.
EMBER_HOST_DEVICE inline double poisson(const philox::Stream& s, uint64_t i, double rate, double highest) {
  OutputDraws g(s, i);
  if (rate < 10) {
    const double exp_neg_rate = ::exp(-rate);
    double product = 1, x = 0;
    while (!g.exhausted()) {
      product *= g.uniform();
      if (product <= exp_neg_rate && x <= highest) return x;
      x += 1;
    }
    return NAN;
  }
  if (rate == INFINITY) return INFINITY;
  const double log_rate = ::log(rate);
  const double b = 0.931 + exact::mul(2.53, exact::sqrt(rate));
  const double a = -0.059 + exact::mul(0.02483, b);
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
  while (!g.exhausted()) {
    const double u = g.uniform() - 0.5;
    const double v = g.uniform();
    const double u_shifted = 0.5 - ::fabs(u);
    const double k = ::floor(exact::mul(2 * a / u_shifted + b, u) + rate + 0.43);
    if (k < 0) continue;
    // A rectangle under the curve: accepted without the logs.
    if (u_shifted >= 0.07 && v <= 0.9277 - 3.6224 / (b - 2)) return k;
    if (u_shifted < 0.013 && v > u_shifted) continue;
    const double lhs = ::log(v * inv_alpha / (a / exact::mul(u_shifted, u_shifted) + b));
    const double rhs = -rate + exact::mul(k, log_rate) - special::lgamma(k + 1);  // (lgamma_r on the host: no global sign)
    if (lhs <= rhs) return k;
  }
  return NAN;
}

/// A binomial count by inversion (TensorFlow's binomial_inversion, for
/// count·p below 10): geometric gaps ceil(log u / log(1 - p)) summed until
/// they pass count; how many did not.
EMBER_HOST_DEVICE inline double binomial_inversion(OutputDraws& g, double count, double p) {
  const double log_q = ::log1p(-p);
  double sum = 0, n = 0;
  while (!g.exhausted()) {
    sum += ::ceil(::log(g.uniform()) / log_q);
    if (sum > count) return n;
    n += 1;
  }
  return NAN;
}

/// log(k!) - Stirling's approximation of it (TensorFlow's table to 9, then
/// the series).
EMBER_HOST_DEVICE inline double stirling_tail(double k) {
  constexpr double kTail[] = {0.0810614667953272,  0.0413406959554092,  0.0276779256849983,  0.02079067210376509,
                              0.0166446911898211,  0.0138761288230707,  0.0118967099458917,  0.0104112652619720,
                              0.00925546218271273, 0.00833056343336287};
  if (k <= 9) return kTail[static_cast<int>(k)];
  const double kp1sq = (k + 1) * (k + 1);
  return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1);
}

/// A binomial count by Hörmann's BTRS transformed rejection ("The
/// generation of binomial random variates", 1993), as TensorFlow's btrs
/// (its log-ratio bound, for count·p at least 10).
EMBER_HOST_DEVICE inline double binomial_btrs(OutputDraws& g, double count, double p) {
  const double stddev = exact::sqrt(count * p * (1 - p));
  const double b = 1.15 + exact::mul(2.53, stddev);
  const double a = -0.0873 + exact::mul(0.0248, b) + exact::mul(0.01, p);
  const double c = exact::mul(count, p) + 0.5;
  const double v_r = 0.92 - 4.2 / b;
  const double r = p / (1 - p);
  const double alpha = (2.83 + 5.1 / b) * stddev;
  const double m = ::floor((count + 1) * p);
  while (!g.exhausted()) {
    const double u = g.uniform() - 0.5;
    const double v = g.uniform();
    const double us = 0.5 - ::fabs(u);
    const double k = ::floor(exact::mul(2 * a / us + b, u) + c);
    if (us >= 0.07 && v <= v_r) return k;  // (the box under the curve)
    if (k < 0 || k > count) continue;
    const double lhs = ::log(v * alpha / (a / exact::mul(us, us) + b));
    const double bound = exact::mul(m + 0.5, ::log((m + 1) / (r * (count - m + 1)))) +
                         exact::mul(count + 1, ::log((count - m + 1) / (count - k + 1))) +
                         exact::mul(k + 0.5, ::log(r * (count - k + 1) / (k + 1))) + stirling_tail(m) +
                         stirling_tail(count - m) - stirling_tail(k) - stirling_tail(count - k);
    if (lhs <= bound) return k;
  }
  return NAN;
}

/// How a binomial batch member is drawn (chosen on the host in the
/// parameters' dtype, as TensorFlow's kernel chooses: binomial_params).
enum class BinomialMethod : int { Value, Inversion, Btrs, CountLessInversion, CountLessBtrs };

/// Output `i` of a binomial draw by `method` with count `count` and
/// probability `p` (the complement's for the CountLess methods; for Value,
/// `count` is the output, NaN included).
EMBER_HOST_DEVICE inline double binomial(const philox::Stream& s, uint64_t i, BinomialMethod method, double count,
                                         double p) {
  switch (method) {
    case BinomialMethod::Inversion:
    case BinomialMethod::CountLessInversion: {
      OutputDraws g(s, i, 42);  // (TensorFlow reserves 42 blocks an output for inversion)
      const double k = binomial_inversion(g, count, p);
      return method == BinomialMethod::Inversion ? k : count - k;
    }
    case BinomialMethod::Btrs:
    case BinomialMethod::CountLessBtrs: {
      OutputDraws g(s, i);
      const double k = binomial_btrs(g, count, p);
      return method == BinomialMethod::Btrs ? k : count - k;
    }
    default:
      return count;
  }
}

/// A double sample as T: through float for the 16-bit floats (Eigen's
/// conversion from double); an integer dtype takes the count (a sample that
/// is NaN, which TensorFlow never returns, becomes the dtype's lowest value).
template <typename T>
EMBER_HOST_DEVICE inline T as(double x) {
  if constexpr (std::is_integral_v<T>) {
    if (x != x) return T(T(1) << (sizeof(T) * 8 - 1));  // (the lowest value)
    return static_cast<T>(x);
  } else {
    return T(static_cast<compute_t<T>>(x));
  }
}

/// Element p of an output of `n` elements over `params` parameters (param[p
/// mod params]), numbered as TensorFlow numbers its outputs: parameter-major
/// (the parameter's index times the samples per parameter, plus the
/// sample's), while the layout is sample-major.
EMBER_HOST_DEVICE inline uint64_t output_index(int64_t p, int64_t n, int64_t params) {
  return static_cast<uint64_t>((p % params) * (n / params) + p / params);
}

/// Element p of a RandomGamma output of T (alpha of T).
template <typename T>
EMBER_HOST_DEVICE inline T gamma_at(const philox::Stream& s, const T* alpha, int64_t p, int64_t n, int64_t alphas) {
  return as<T>(gamma(s, output_index(p, n, alphas), static_cast<double>(static_cast<compute_t<T>>(alpha[p % alphas]))));
}

/// Element p of a RandomPoissonV2 output of Out (the rates widened to double).
template <typename Out>
EMBER_HOST_DEVICE inline Out poisson_at(const philox::Stream& s, const double* rate, int64_t p, int64_t n, int64_t rates,
                                        double highest) {
  const double x = poisson(s, output_index(p, n, rates), rate[p % rates], highest);
  if constexpr (std::is_integral_v<Out>) {
    if (x == INFINITY) return Out(0);  // (TensorFlow's Eigen::NumTraits<int>::infinity())
  }
  return as<Out>(x);
}

/// StatelessRandomBinomial's parameters, made on the host (kernels/
/// any_device/random.cpp) for its CPU and CUDA kernels: per member of the
/// batch `batch` (counts and probs broadcast to it) its method, count and
/// probability, float64 [members, 3] on the CPU, chosen in the parameters'
/// own dtype's arithmetic as TensorFlow's kernel chooses them.
Tensor binomial_params(const Tensor& counts, const Tensor& probs, const TensorShape& batch);

/// Element p of a StatelessRandomBinomial output of Out, its batch member's
/// (method, count, probability) in `params` ([batches, 3], binomial_params).
template <typename Out>
EMBER_HOST_DEVICE inline Out binomial_at(const philox::Stream& s, const double* params, int64_t p, int64_t n,
                                         int64_t batches) {
  const double* b = params + 3 * (p % batches);
  return as<Out>(binomial(s, output_index(p, n, batches), static_cast<BinomialMethod>(static_cast<int>(b[0])), b[1], b[2]));
}

}  // namespace ember::samplers
