// Special functions in double for both backends (kernels/functors.h's
// Lgamma, Digamma, Polygamma, Zeta, Erfinv and RandomGammaGrad), with TensorFlow's (Eigen's)
// values at the poles and outside the domain: digamma is NaN at 0 and the
// negative integers, lgamma +inf there; zeta(x, q) is +inf at x = 1, NaN
// for x < 1, and at q a non-positive integer +inf for an even integer x,
// else NaN; polygamma(n, x) is NaN unless n is a non-negative integer.
#pragma once

#include <cmath>

#include "core/host_device.h"

namespace ember::special {

inline constexpr double kPi = 3.14159265358979323846;

/// log|Γ(x)|, without the C library's global sign (lgamma_r on the host).
EMBER_HOST_DEVICE inline double lgamma(double x) {
#if defined(__CUDA_ARCH__)
  return ::lgamma(x);
#else
  int sign = 0;
  return ::lgamma_r(x, &sign);
#endif
}

/// ψ(x) = Γ'(x)/Γ(x): reflected below 0 (ψ(x) = ψ(1 - x) - π/tan(πx)), raised
/// past 10 by ψ(x) = ψ(x + 1) - 1/x, then the asymptotic series
/// ln x - 1/(2x) - Σ B₂ₖ/(2k x²ᵏ) to x⁻¹⁰.
EMBER_HOST_DEVICE EMBER_DEVICE_NOINLINE inline double digamma(double x) {
  if (x != x || x == -INFINITY) return NAN;
  if (x == INFINITY) return INFINITY;
  double result = 0;
  if (x <= 0) {
    const double whole = ::floor(x);
    if (x == whole) return NAN;
    result = -kPi / ::tan(kPi * (x - whole));  // (tan has period π: the fraction keeps its precision)
    x = 1 - x;
  }
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  const double z = 1 / (x * x);
  const double tail = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (1.0 / 132)))));
  return result + ::log(x) - 0.5 / x - tail;
}

/// Hurwitz's ζ(x, q) = Σₖ (q + k)⁻ˣ: the first terms summed until q + k > 9
/// (at least nine), then the Euler-Maclaurin tail with (2j)!/B₂ⱼ below.
EMBER_HOST_DEVICE EMBER_DEVICE_NOINLINE inline double zeta(double x, double q) {
  if (x != x || q != q) return NAN;
  if (x == 1) return INFINITY;
  if (x < 1) return NAN;
  if (q <= 0) {
    if (q == ::floor(q)) return x == ::floor(x) && ::fmod(x, 2.0) == 0 ? INFINITY : NAN;
    if (x != ::floor(x)) return NAN;  // (q⁻ˣ is not real)
  }
  if (q == INFINITY) return 0;
  constexpr double kEpsilon = 1.1102230246251565e-16;
  constexpr double kFactorialOverBernoulli[12] = {12.0,
                                                  -720.0,
                                                  30240.0,
                                                  -1209600.0,
                                                  47900160.0,
                                                  -1.8924375803183791606e9,
                                                  7.47242496e10,
                                                  -2.950130727918164224e12,
                                                  1.1646782814350067249e14,
                                                  -4.5979787224074726105e15,
                                                  1.8152105401943546773e17,
                                                  -7.1661652561756670113e18};
  double sum = ::pow(q, -x), a = q, term = 0;
  int i = 0;
  while (i < 9 || a <= 9) {
    ++i;
    a += 1;
    term = ::pow(a, -x);
    sum += term;
    if (::fabs(term / sum) < kEpsilon) return sum;
  }
  // sum holds the terms up to (q + N)⁻ˣ = term: half of the last, the integral, then the corrections.
  const double w = a;
  sum += term * w / (x - 1) - 0.5 * term;
  double rising = 1, k = 0;
  for (double c : kFactorialOverBernoulli) {
    rising *= x + k;
    term /= w;
    const double t = rising * term / c;
    sum += t;
    if (::fabs(t / sum) < kEpsilon) break;
    k += 1;
    rising *= x + k;
    term /= w;
    k += 1;
  }
  return sum;
}

/// ψ⁽ⁿ⁾(x) = (-1)ⁿ⁺¹ n! ζ(n + 1, x) for n ≥ 1, ψ(x) for n = 0.
EMBER_HOST_DEVICE EMBER_DEVICE_NOINLINE inline double polygamma(double n, double x) {
  if (n != ::floor(n) || n < 0) return NAN;  // (NaN too)
  if (n == 0) return digamma(x);
  const double sign = ::fmod(n, 2.0) == 0 ? -1 : 1;
  return sign * ::exp(lgamma(n + 1)) * zeta(n + 1, x);
}

/// erf⁻¹(y): Giles's single-precision approximation ("Approximating the
/// erfinv function", GPU Computing Gems, 2011), then Newton's steps on erf,
/// or on log erfc where |y| > 0.5 (1 - |y| is exact there, so the tails keep
/// their relative precision). ±1 give ±inf; |y| > 1 and NaN give NaN.
EMBER_HOST_DEVICE inline double erfinv(double y) {
  if (!(y >= -1 && y <= 1)) return NAN;
  if (y == 1) return INFINITY;
  if (y == -1) return -INFINITY;
  const double a = ::fabs(y);
  double w = -::log((1 - a) * (1 + a)), p;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = ::sqrt(w) - 3;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  double x = p * a;
  // Newton's steps until they stop moving x: on erf(x) = a, or where a > 0.5
  // on log erfc(x) = log(1 - a), nearly linear in x², so that the start far
  // in the tail (the approximation extrapolated past single precision's
  // range) converges in a few steps too.
  const double slope = 2 / ::sqrt(kPi);  // erf'(x) = slope·e^(-x²)
  const double log_tail = ::log(1 - a);
  for (int step = 0; step < 8; ++step) {
    const double d = slope * ::exp(-x * x);
    if (!(d > 0)) break;  // (erf' underflows: the approximation is all there is)
    double dx;
    if (a > 0.5) {
      const double tail = ::erfc(x);
      dx = (::log(tail) - log_tail) * tail / d;
    } else {
      dx = -(::erf(x) - a) / d;
    }
    x += dx;
    if (!(::fabs(dx) > 1e-16 * x)) break;
  }
  return y < 0 ? -x : x;
}

/// dx/da for a sample x of Gamma(a, 1) (RandomGammaGrad): the derivative
/// by implicit differentiation of the CDF (Figurnov et al., "Implicit
/// reparameterization gradients", 2018), dx/da = -(∂P(a, x)/∂a) / p(x | a),
/// P the regularized lower incomplete gamma function, its derivative carried
/// through Cephes's series and continued fraction (forward mode, as Eigen's
/// gamma_sample_der_alpha); the density's prefactor cancels. 0 at x = 0, NaN
/// outside the domain (x < 0, a <= 0) or for NaN; the continued fraction of
/// Q(a, x) where x > 1 and x > a, the series of P(a, x) elsewhere, each
/// carrying its derivative in a, until the derivative converges.
EMBER_HOST_DEVICE EMBER_DEVICE_NOINLINE inline double gamma_sample_der_alpha(double a, double x) {
  const double eps = 1.1102230246251565e-16;  // 2^-53 (Cephes's MACHEP)
  constexpr int kIterations = 500;
  if (x == 0) return 0;
  if (x < 0 || a <= 0 || a != a || x != x) return NAN;
  if (x > 1 && x > a) {
    // Q(a, x) = x^a e^-x / Γ(a) · K, K Cephes's continued fraction (its
    // convergents p/q, each with its derivative in a).
    if (x == INFINITY) return 0;
    const double big = 4503599627370496.0, biginv = 2.220446049250313e-16;  // 2^52, 2^-52
    double y = 1 - a, z = x + y + 1, c = 0;
    double pkm2 = 1, qkm2 = x, pkm1 = x + 1, qkm1 = z * x;
    double ans = pkm1 / qkm1;
    double dpkm2 = 0, dqkm2 = 0, dpkm1 = 0, dqkm1 = -x;
    double dans = (dpkm1 - ans * dqkm1) / qkm1;
    for (int it = 0; it < kIterations; ++it) {
      c += 1;
      y += 1;
      z += 2;
      const double yc = y * c;
      const double pk = pkm1 * z - pkm2 * yc, qk = qkm1 * z - qkm2 * yc;
      const double dpk = dpkm1 * z - pkm1 - dpkm2 * yc + pkm2 * c;  // (dy/da = dz/da = -1)
      const double dqk = dqkm1 * z - qkm1 - dqkm2 * yc + qkm2 * c;
      if (qk != 0) {
        const double previous = dans;
        ans = pk / qk;
        dans = (dpk - ans * dqk) / qk;
        if (::fabs(dans - previous) <= eps * ::fabs(dans)) break;
      }
      pkm2 = pkm1, pkm1 = pk, qkm2 = qkm1, qkm1 = qk;
      dpkm2 = dpkm1, dpkm1 = dpk, dqkm2 = dqkm1, dqkm1 = dqk;
      if (::fabs(pk) > big) {
        pkm2 *= biginv, pkm1 *= biginv, qkm2 *= biginv, qkm1 *= biginv;
        dpkm2 *= biginv, dpkm1 *= biginv, dqkm2 *= biginv, dqkm1 *= biginv;
      }
    }
    // dQ/da / p(x) with p = x^(a-1) e^-x / Γ(a): the prefactor cancels.
    const double dlog_prefactor = ::log(x) - digamma(a);
    return (dans + ans * dlog_prefactor) * x;
  }
  // P(a, x) = x^a e^-x / Γ(a + 1) · S, S = Σ_n x^n / ((a + 1)···(a + n)).
  double r = a, term = 1, sum = 1, dterm = 0, dsum = 0;
  for (int it = 0; it < kIterations; ++it) {
    r += 1;
    const double f = x / r;
    dterm = f * dterm - x / (r * r) * term;
    dsum += dterm;
    term *= f;
    sum += term;
    if (::fabs(dterm) <= eps * ::fabs(dsum)) break;
  }
  // -dP/da / p(x) with p = (a / x)·x^a e^-x / Γ(a + 1).
  const double dlog_prefactor = ::log(x) - digamma(a + 1);
  return -(dsum + sum * dlog_prefactor) * x / a;
}

}  // namespace ember::special
