// The gamma distribution, shared by the CPU and CUDA kernels:
//
// - `sample`: TensorFlow's sampler (its RandomGamma kernel; the stateless
//   ops' functor is the same), Marsaglia and Tsang's transformation-rejection
//   ("A simple method for generating gamma variables", 2000) in double. Output
//   i draws from its own stretch of the stream, blocks 256·i on, so any
//   device, thread or split gives the same numbers; each normal or uniform
//   pair takes the stretch's next block, and a pair is used from its second
//   number back, as TensorFlow's.
// Its gradient, RandomGammaGrad, is special::gamma_sample_der_alpha.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/exact_math.h"
#include "core/host_device.h"
#include "core/philox.h"
#include "kernels/functors.h"

namespace ember::gamma {

/// The blocks each output reserves (TensorFlow's kReservedSamplesPerOutput).
inline constexpr uint64_t kBlocksPerOutput = 256;

/// Output `i` of a Gamma(alpha, 1) draw from stream `s`, in double (the
/// kernels round it to the output's dtype). alpha == 1 is -log1p(-u), an
/// exponential; below 1, Marsaglia and Tsang's boost (the sample for alpha
/// + 1 times u^(1/alpha)). Each product rounded once, as TensorFlow's.
/// Where TensorFlow's loop would never end (alpha NaN, or below -2/3: d is
/// not positive) or the output's 256 blocks run out, NaN.
EMBER_HOST_DEVICE inline double sample(const philox::Stream& s, uint64_t i, double alpha) {
  uint64_t next = i * kBlocksPerOutput;
  const uint64_t end = next + kBlocksPerOutput;
  double uniforms[2], normals[2];
  int uniforms_left = 0, normals_left = 0;
  // One block gives two doubles (two words each), used from the second back.
  auto uniform = [&]() {
    if (uniforms_left == 0) {
      const philox::Block b = philox::at(s, next++);
      uniforms[0] = philox::uniform_double(b.v[0], b.v[1]);
      uniforms[1] = philox::uniform_double(b.v[2], b.v[3]);
      uniforms_left = 2;
    }
    return uniforms[--uniforms_left];
  };
  auto normal = [&]() {
    if (normals_left == 0) {
      const philox::Block b = philox::at(s, next++);
      fn::box_muller(b.v[0], b.v[1], b.v[2], b.v[3], normals[0], normals[1]);
      normals_left = 2;
    }
    return normals[--normals_left];
  };
  if (alpha == 1.0) return -::log1p(-uniform());
  const bool boost = alpha < 1;
  const double d = alpha + (boost ? 2.0 / 3 : -1.0 / 3);
  if (!(d > 0)) return NAN;
  const double c = 1.0 / 3 / exact::sqrt(d);
  while (next < end) {
    const double x = normal();
    double v = 1 + exact::mul(c, x);
    if (v <= 0) continue;
    v = exact::mul(exact::mul(v, v), v);
    const double u = uniform();
    const double x2 = exact::mul(x, x);
    // The squeeze first, then the log test.
    if (u < 1 - exact::mul(exact::mul(0.0331, x2), x2) ||
        ::log(u) < exact::mul(exact::mul(0.5, x), x) + exact::mul(d, 1 - v + ::log(v))) {
      double r = exact::mul(d, v);
      if (boost) r = exact::mul(r, ::pow(uniform(), 1 / alpha));
      return r;
    }
  }
  return NAN;
}

/// Element p of a RandomGamma output of T holding `alphas` alphas (alpha[p
/// mod alphas]): the sample TensorFlow numbers alpha-major (its output
/// index: the alpha's, times the samples per alpha, plus the sample's),
/// rounded to T as Eigen rounds a double (the 16-bit floats through float).
template <typename T>
EMBER_HOST_DEVICE inline T sample_at(const philox::Stream& s, const T* alpha, int64_t p, int64_t n, int64_t alphas) {
  const int64_t a = p % alphas, per_alpha = n / alphas;
  const double x = sample(s, static_cast<uint64_t>(a * per_alpha + p / alphas),
                          static_cast<double>(static_cast<compute_t<T>>(alpha[a])));
  return T(static_cast<compute_t<T>>(x));
}

}  // namespace ember::gamma
