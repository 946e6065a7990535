// The arithmetic of every elementwise op, as small functors both backends
// share: the CPU launcher runs them in vectorisable loops, the CUDA launcher
// in grid-stride kernels. So the math of a CUDA kernel is already tested by
// the CPU tests; only its launch code needs a GPU to test.
//
// NOTE: integer arithmetic wraps (done in unsigned types), integer division
// and modulo by zero give 0, and float-to-integer casts saturate (NaN -> 0):
// C++ leaves all of these undefined, and a kernel must never trap.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/exact_math.h"
#include "core/half.h"
#include "core/host_device.h"
#include "core/philox.h"
#include "kernels/special.h"

namespace ember::fn {

template <typename T>
inline constexpr bool is_float_v = std::is_floating_point_v<T>;

// ---- 16-bit floats ---------------------------------------------------------------

/// The type an element of T is computed in: float for the 16-bit floats.
template <typename T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

/// F applied to 16-bit floats: the inputs widened to float32, F computed
/// there, the result rounded back once (a comparison's bool is kept).
template <typename F>
struct InFloat {
  F f;
  template <typename T, typename R>
  EMBER_HOST_DEVICE static auto narrow(R r) {
    if constexpr (std::is_same_v<R, bool>)
      return r;
    else
      return T(r);
  }
  template <typename T>
  EMBER_HOST_DEVICE auto operator()(T x) const {
    return narrow<T>(f(static_cast<float>(x)));
  }
  template <typename T>
  EMBER_HOST_DEVICE auto operator()(T a, T b) const {
    return narrow<T>(f(static_cast<float>(a), static_cast<float>(b)));
  }
};

/// The functor a launcher runs for elements of T: f itself, or InFloat<F>
/// for the 16-bit floats.
template <typename T, typename F>
EMBER_HOST_DEVICE auto computed_as(F f) {
  if constexpr (is_half_v<T>)
    return InFloat<F>{f};
  else
    return f;
}

// ---- helpers ------------------------------------------------------------------

/// Element i of range(start, ..., delta). Integer ranges are exact: inference
/// has checked start, limit and delta are integers and that every element
/// fits, so the product is computed modulo 2^64 without overflow.
template <typename T>
EMBER_HOST_DEVICE inline T range_element(double start, double delta, int64_t i) {
  if constexpr (std::is_integral_v<T>) {
    auto v = static_cast<uint64_t>(static_cast<int64_t>(start)) +
             static_cast<uint64_t>(i) * static_cast<uint64_t>(static_cast<int64_t>(delta));
    return static_cast<T>(static_cast<int64_t>(v));
  } else {
    return static_cast<T>(start + static_cast<double>(i) * delta);
  }
}

template <typename T>
EMBER_HOST_DEVICE inline T wrap_add(T a, T b) {
  if constexpr (is_half_v<T>) {
    return T(static_cast<float>(a) + static_cast<float>(b));
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}
template <typename T>
EMBER_HOST_DEVICE inline T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return a - b;
  }
}
template <typename T>
EMBER_HOST_DEVICE inline T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::conditional_t<sizeof(T) < sizeof(unsigned), unsigned, std::make_unsigned_t<T>>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
  } else {
    return a * b;
  }
}

// exp(x) for float32 without a library call, so loops over it vectorise:
// x = n·ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial (Cephes
// coefficients), 2^n by building the exponent bits. Max error ~1 ulp.
inline constexpr float kExpHi = 88.3762626647949f, kExpLo = -87.3365447505531f;
inline constexpr float kLog2e = 1.44269504088896341f;

/// exp(xc - n·ln2) for n = round(xc / ln2): the part of fast_exp that the
/// CPU's 8-lane exp8 (kernels/cpu/vec.h) shares, for F a float or a float
/// vector. The clamps, the rounding and the 2^n scale stay with the callers.
template <typename F>
EMBER_HOST_DEVICE inline F exp_reduced(F xc, F n) {
  F r = xc - n * 0.693359375f;  // ln2 in two parts (Cody and Waite)
  r = r - n * -2.12194440e-4f;
  F p = F{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.0f;
}

EMBER_HOST_DEVICE inline float fast_exp(float x) {
  bool nan = x != x;
  float xc = x > kExpHi ? kExpHi : (x < kExpLo ? kExpLo : x);
  float n = std::floor(xc * kLog2e + 0.5f);
  float p = exp_reduced(xc, n);
  int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof scale);
  float y = p * scale;
  y = x > kExpHi ? std::numeric_limits<float>::infinity() : y;
  y = x < kExpLo ? 0.0f : y;
  return nan ? x : y;
}

/// float32 tanh (Cephes tanhf), written once for every lane: the scalar
/// functor (CPU loop tails, CUDA) and the CPU's 8-lane tanh8 call it with
/// their exp (fast_exp, or exp8 which is fast_exp lane by lane), so a value
/// gets the same bits wherever it sits in a tensor and however many threads
/// run. A polynomial below |x| = 0.625, else 1 - 2 / (exp(2|x|) + 1) with
/// the sign of x. About 2 ulp. F is float or a float vector.
template <typename F, typename Exp>
EMBER_HOST_DEVICE inline F tanh_cephes(F x, Exp exp) {
  F ax = x < 0 ? -x : x;
  F z = x * x;
  F p = F{} + -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z + -5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z + -3.33332819422e-1f;
  F small = x + x * z * p;
  F large = 1.0f - 2.0f / (exp(ax + ax) + 1.0f);
  large = x < 0 ? -large : large;
  F y = ax < 0.625f ? small : large;
  return x != x ? x : y;
}

template <typename T>
EMBER_HOST_DEVICE inline T exp_(T x) {
  if constexpr (std::is_same_v<T, float>)
    return fast_exp(x);
  else
    return std::exp(x);
}

// ---- unary ----------------------------------------------------------------------

struct Neg {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return wrap_sub(T(0), x);
  }
};
struct Abs {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>)
      return x;
    else if constexpr (is_float_v<T>)
      return std::fabs(x);
    else
      return x < 0 ? wrap_sub(T(0), x) : x;
  }
};
struct Sign {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(x != T(0));
    } else {
      if constexpr (is_float_v<T>) {
        if (x != x) return x;
      }
      return static_cast<T>((T(0) < x) - (x < T(0)));
    }
  }
};
struct Exp {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return exp_(x);
  }
};
struct Log {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::log(x);
  }
};
struct Log1p {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::log1p(x);
  }
};
struct Expm1 {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::expm1(x);
  }
};
struct Sqrt {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::sqrt(x);
  }
};
struct Rsqrt {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return T(1) / std::sqrt(x);
  }
};
struct Square {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return wrap_mul(x, x);
  }
};
struct Reciprocal {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return T(1) / x;
  }
};
// The trigonometric and hyperbolic functions: the math library's (std:: on
// the host, CUDA's overloads of the same names on the device), whose values
// outside the domains are TensorFlow's (asin(2), acosh(0.5): NaN; atanh(±1):
// ±inf).
#define EMBER_MATH_LIBRARY_FUNCTOR(NAME, FUNCTION) \
  struct NAME {                                   \
    template <typename T>                         \
    EMBER_HOST_DEVICE T operator()(T x) const {   \
      return FUNCTION(x);                         \
    }                                             \
  };
EMBER_MATH_LIBRARY_FUNCTOR(Sin, std::sin)
EMBER_MATH_LIBRARY_FUNCTOR(Cos, std::cos)
EMBER_MATH_LIBRARY_FUNCTOR(Tan, std::tan)
EMBER_MATH_LIBRARY_FUNCTOR(Asin, std::asin)
EMBER_MATH_LIBRARY_FUNCTOR(Acos, std::acos)
EMBER_MATH_LIBRARY_FUNCTOR(Atan, std::atan)
EMBER_MATH_LIBRARY_FUNCTOR(Sinh, std::sinh)
EMBER_MATH_LIBRARY_FUNCTOR(Cosh, std::cosh)
EMBER_MATH_LIBRARY_FUNCTOR(Asinh, std::asinh)
EMBER_MATH_LIBRARY_FUNCTOR(Acosh, std::acosh)
EMBER_MATH_LIBRARY_FUNCTOR(Atanh, std::atanh)
#undef EMBER_MATH_LIBRARY_FUNCTOR
struct Tanh {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>)
      return tanh_cephes(x, [](float v) { return fast_exp(v); });
    else
      return std::tanh(x);
  }
};
struct Sigmoid {
  // Written so that neither branch overflows: exp of a non-positive number only.
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    T e = exp_(-std::fabs(x));
    return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
  }
};
struct Relu {  // max(x, 0) as TensorFlow's: NaN stays NaN (a diverged network must not look finite)
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    if constexpr (is_float_v<T>)
      return x < T(0) ? T(0) : x;
    else
      return x > T(0) ? x : T(0);
  }
};
// Functors with attributes read them in `configure`, which every launcher
// calls when the functor has one.
/// Gelu's and GeluGrad's attribute: the tanh form, or the erf form.
struct GeluForm {
  bool approximate = false;
  template <typename A>
  void configure(const A& attrs) {
    approximate = attrs.template get<bool>("approximate");
  }
};
/// The tanh form's Φ, written as a logistic: (1 + tanh(u))/2 = 1/(1 + e^-2u),
/// u = k (x + a x³). One exp and a division (tanh's polynomial, second exp
/// path and selects gone: the CPU lanes were a seventh of a bfloat16 GPT
/// step), and no cancellation where tanh(u) nears -1. F is a float type or
/// a float vector; Exp its exp (the CPU lanes pass vec::exp_lanes).
inline constexpr double kGeluK = 0.7978845608028654, kGeluA = 0.044715;  // √(2/π), and x³'s factor
template <typename F, typename Exp>
EMBER_HOST_DEVICE inline F gelu_logistic(F x, Exp exp) {
  using S = std::conditional_t<std::is_same_v<F, double>, double, float>;
  const F u = S(kGeluK) * (x + S(kGeluA) * x * x * x);
  return S(1) / (S(1) + exp(S(-2) * u));
}
/// gelu'(x) of the tanh form from s = gelu_logistic(x):
/// s + 2 x s (1 - s) k (1 + 3 a x²).
template <typename F>
EMBER_HOST_DEVICE inline F gelu_tanh_derivative(F x, F s) {
  using S = std::conditional_t<std::is_same_v<F, double>, double, float>;
  return s + S(2) * x * s * (S(1) - s) * S(kGeluK) * (S(1) + S(3 * kGeluA) * x * x);
}

struct Gelu : GeluForm {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    if (approximate) return x * gelu_logistic(x, [](T v) { return exp_(v); });
    return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
  }
};
/// GeluGrad(gradients, features): dy·gelu'(x), in one pass (ember's own
/// op; TensorFlow builds it from a dozen). The tanh form:
/// gelu_tanh_derivative; the erf form: Φ(x) + x φ(x).
struct GeluGrad : GeluForm {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T dy, T x) const {
    if (approximate) return dy * gelu_tanh_derivative(x, gelu_logistic(x, [](T v) { return exp_(v); }));
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.7071067811865476)));
    const T pdf = std::exp(T(-0.5) * x * x) * T(0.3989422804014327);
    return dy * (cdf + x * pdf);
  }
};
struct LeakyRelu {
  double alpha = 0.2;
  template <typename A>
  void configure(const A& attrs) {
    alpha = attrs.template get<double>("alpha");
  }
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return x > T(0) ? x : x * T(alpha);
  }
};
struct Elu {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return x > T(0) ? x : std::expm1(x);
  }
};
/// Klambauer et al.'s constants, as TensorFlow's Selu.
struct Selu {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    const T scale = T(1.0507009873554804934193349852946);
    const T scale_alpha = T(1.7580993408473768599402175208123);
    return x > T(0) ? scale * x : scale_alpha * std::expm1(x);
  }
};
struct Softplus {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|.
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return (x > T(0) ? x : T(0)) + std::log1p(exp_(-std::fabs(x)));
  }
};
struct Erf {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::erf(x);
  }
};
struct Erfc {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::erfc(x);
  }
};
// The special functions (kernels/special.h), computed in double.
struct Lgamma {  // log|Γ(x)|
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return static_cast<T>(special::lgamma(static_cast<double>(x)));
  }
};
struct Digamma {  // ψ(x)
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return static_cast<T>(special::digamma(static_cast<double>(x)));
  }
};
struct Erfinv {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return static_cast<T>(special::erfinv(static_cast<double>(x)));
  }
};
struct Softsign {  // x / (1 + |x|)
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return x / (T(1) + std::fabs(x));
  }
};
struct Floor {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::floor(x);
  }
};
struct Ceil {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::ceil(x);
  }
};
struct Round {  // half to even, as tf.math.round
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x) const {
    return std::nearbyint(x);
  }
};
struct LogicalNot {
  EMBER_HOST_DEVICE bool operator()(bool x) const { return !x; }
};

template <typename To>
struct CastTo {
  template <typename From>
  EMBER_HOST_DEVICE To operator()(From x) const {
    if constexpr (is_half_v<From>) {
      return CastTo<To>{}(static_cast<float>(x));
    } else if constexpr (is_half_v<To>) {
      return To(static_cast<float>(x));  // float64 and int64 round twice (as Eigen)
    } else if constexpr (std::is_same_v<To, bool>) {
      return x != From(0);
    } else if constexpr (is_float_v<From> && std::is_integral_v<To>) {
      if (x != x) return To(0);
      if (x <= static_cast<From>(std::numeric_limits<To>::lowest()))
        return std::numeric_limits<To>::lowest();
      if (x >= static_cast<From>(std::numeric_limits<To>::max()))
        return std::numeric_limits<To>::max();
      return static_cast<To>(x);
    } else {
      return static_cast<To>(x);
    }
  }
};

// ---- binary ---------------------------------------------------------------------

struct Add {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return wrap_add(a, b);
  }
};
struct Sub {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return wrap_sub(a, b);
  }
};
struct Mul {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return wrap_mul(a, b);
  }
};
struct Div {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      return a / b;
    } else {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return wrap_sub(T(0), a);
      }
      return static_cast<T>(a / b);
    }
  }
};
struct Pow {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      return std::pow(a, b);
    } else {
      if constexpr (std::is_signed_v<T>) {
        if (b < 0) return a == T(1) ? T(1) : (a == T(-1) ? (b % 2 ? T(-1) : T(1)) : T(0));
      }
      T result = 1, base = a;
      for (auto e = b; e > 0; e /= 2) {
        if (e % 2) result = wrap_mul(result, base);
        base = wrap_mul(base, base);
      }
      return result;
    }
  }
};
/// ReluGrad(gradients, features): the gradient where the feature is positive.
struct ReluGrad {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T g, T x) const {
    return x > T(0) ? g : T(0);
  }
};
struct Maximum {  // NaN in either input gives NaN
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>)
      return (a > b || a != a) ? a : b;
    else
      return a > b ? a : b;
  }
};
struct Minimum {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>)
      return (a < b || a != a) ? a : b;
    else
      return a < b ? a : b;
  }
};
struct FloorDiv {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      return std::floor(a / b);
    } else {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return wrap_sub(T(0), a);
        T q = static_cast<T>(a / b);
        return (a % b != 0 && ((a < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
      } else {
        return static_cast<T>(a / b);
      }
    }
  }
};
struct FloorMod {  // the result takes the sign of b, as Python's %
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      T r = std::fmod(a, b);
      return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? r + b : r;
    } else {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
        T r = static_cast<T>(a % b);
        return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
      } else {
        return static_cast<T>(a % b);
      }
    }
  }
};
// TensorFlow's truncating division: the quotient rounded toward zero (C's /
// for integers), and its remainder, which takes the sign of a (C's %, fmod).
struct TruncateDiv {  // integers: Div's (C's quotient, which truncates)
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>)
      return std::trunc(a / b);
    else
      return Div{}(a, b);
  }
};
struct TruncateMod {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (is_float_v<T>) {
      return std::fmod(a, b);
    } else {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
      }
      return static_cast<T>(a % b);
    }
  }
};
struct Atan2 {  // atan2(y, x): the angle of the point (x, y)
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T y, T x) const {
    return std::atan2(y, x);
  }
};
// The "no NaN" quotients and products of TensorFlow: 0 where the divisor
// (DivNoNan) or the first factor (Xdivy, Xlogy, Xlog1py) is 0, whatever the
// other operand (even NaN or inf).
struct DivNoNan {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return b == T(0) ? T(0) : a / b;
  }
};
struct Xdivy {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x, T y) const {
    return x == T(0) ? T(0) : x / y;
  }
};
struct Xlogy {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x, T y) const {
    return x == T(0) ? T(0) : x * std::log(y);
  }
};
struct Xlog1py {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x, T y) const {
    return x == T(0) ? T(0) : x * std::log1p(y);
  }
};
struct Polygamma {  // ψ⁽ᵃ⁾(x)
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T x) const {
    return static_cast<T>(special::polygamma(static_cast<double>(a), static_cast<double>(x)));
  }
};
struct Zeta {  // Hurwitz's ζ(x, q)
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T x, T q) const {
    return static_cast<T>(special::zeta(static_cast<double>(x), static_cast<double>(q)));
  }
};
struct RandomGammaGrad {  // d(sample)/d(alpha) of a Gamma(alpha, 1) sample
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T alpha, T sample) const {
    return static_cast<T>(special::gamma_sample_der_alpha(static_cast<double>(alpha), static_cast<double>(sample)));
  }
};
struct Equal {
  template <typename T>
  EMBER_HOST_DEVICE bool operator()(T a, T b) const {
    return a == b;
  }
};
struct NotEqual {
  template <typename T>
  EMBER_HOST_DEVICE bool operator()(T a, T b) const {
    return a != b;
  }
};
struct Less {
  template <typename T>
  EMBER_HOST_DEVICE bool operator()(T a, T b) const {
    return a < b;
  }
};
struct LessEqual {
  template <typename T>
  EMBER_HOST_DEVICE bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct Greater {
  template <typename T>
  EMBER_HOST_DEVICE bool operator()(T a, T b) const {
    return a > b;
  }
};
struct GreaterEqual {
  template <typename T>
  EMBER_HOST_DEVICE bool operator()(T a, T b) const {
    return a >= b;
  }
};
struct LogicalAnd {
  EMBER_HOST_DEVICE bool operator()(bool a, bool b) const { return a && b; }
};
struct LogicalOr {
  EMBER_HOST_DEVICE bool operator()(bool a, bool b) const { return a || b; }
};

// ---- bitwise: TensorFlow's tf.bitwise on the integer types ----------------------

struct BitwiseAnd {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return static_cast<T>(a & b);
  }
};
struct BitwiseOr {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return static_cast<T>(a | b);
  }
};
struct BitwiseXor {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return static_cast<T>(a ^ b);
  }
};
struct Invert {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a) const {
    return static_cast<T>(~a);
  }
};
/// A shift's count clamped to [0, bits - 1], as TensorFlow's left_shift_op
/// and right_shift_op clamp it (C++ leaves other counts undefined).
template <typename T>
EMBER_HOST_DEVICE T clamped_shift(T count) {
  constexpr T widest = static_cast<T>(sizeof(T) * 8 - 1);
  if constexpr (std::is_signed_v<T>)
    if (count < T(0)) return T(0);
  return count > widest ? widest : count;
}
/// a << b, shifted as unsigned (the bits shifted out are lost, the sign bit
/// included, with no overflow).
struct LeftShift {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) << static_cast<U>(clamped_shift(b))));
  }
};
/// a >> b: arithmetic for the signed types (the sign bit repeats).
struct RightShift {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T a, T b) const {
    return static_cast<T>(a >> clamped_shift(b));
  }
};
/// The number of bits set in a's two's complement (uint8).
struct PopulationCount {
  template <typename T>
  EMBER_HOST_DEVICE uint8_t operator()(T a) const {
    auto bits = static_cast<std::make_unsigned_t<T>>(a);
    uint8_t count = 0;
    for (; bits != 0; bits = static_cast<decltype(bits)>(bits & (bits - 1))) ++count;
    return count;
  }
};

// ---- random: TensorFlow's distributions on Philox words --------------------------------

// The arithmetic of TensorFlow's random_distributions.h, operation by
// operation, so that each device draws TensorFlow's bits for that device.

/// The log and sincos TensorFlow's Box-Muller calls on each device: the C
/// library's on the CPU (glibc's, where TensorFlow's CPU kernels take them)
/// and CUDA's math library in device code (TensorFlow's GPU kernels). Each is
/// TensorFlow's draw on its device; the two devices may differ in the last bit,
/// as TensorFlow's do.
namespace math {
EMBER_HOST_DEVICE inline float logf(float x) { return ::logf(x); }
EMBER_HOST_DEVICE inline double log(double x) { return ::log(x); }
EMBER_HOST_DEVICE inline void sincosf(float x, float& s, float& c) { ::sincosf(x, &s, &c); }
EMBER_HOST_DEVICE inline void sincos(double x, double& s, double& c) { ::sincos(x, &s, &c); }
}  // namespace math

/// Two standard normals from two words (float32; BoxMullerFloat). The angle
/// is 2·M_PI·u in double, rounded to float, as TensorFlow's expression does.
EMBER_HOST_DEVICE inline void box_muller(uint32_t x0, uint32_t x1, float& n0, float& n1) {
  const float eps = 1.0e-7f;
  float u1 = philox::uniform_float(x0);
  if (u1 < eps) u1 = eps;
  auto v1 = static_cast<float>(
      exact::mul(6.283185307179586, static_cast<double>(philox::uniform_float(x1))));
  float r = exact::sqrt(exact::mul(-2.0f, math::logf(u1)));
  float s, c;
  math::sincosf(v1, s, c);
  n0 = exact::mul(s, r);
  n1 = exact::mul(c, r);
}
/// Two standard normals from four words (float64; BoxMullerDouble).
EMBER_HOST_DEVICE inline void box_muller(uint32_t x0, uint32_t x1, uint32_t x2, uint32_t x3,
                                         double& n0, double& n1) {
  const double eps = 1.0e-7;
  double u1 = philox::uniform_double(x0, x1);
  if (u1 < eps) u1 = eps;
  double v1 = exact::mul(6.283185307179586, philox::uniform_double(x2, x3));
  double r = exact::sqrt(exact::mul(-2.0, math::log(u1)));
  double s, c;
  math::sincos(v1, s, c);
  n0 = exact::mul(s, r);
  n1 = exact::mul(c, r);
}

/// Elements per Philox block for a draw of T: 2 of 8 bytes (double,
/// int64: two words each), else 4 (a word each).
template <typename T>
inline constexpr int kPerBlock = sizeof(T) == 8 ? 2 : 4;

/// A uniform [0, 1) 16-bit float from a word's low 16 bits, as TensorFlow's
/// Uint16ToHalf / Uint16ToGfloat16: the mantissa's bits over 1.0, minus 1
/// (exact), i.e. k/1024 for float16 and k/128 for bfloat16.
template <typename T>
EMBER_HOST_DEVICE inline T uniform_16bit(uint32_t x) {
  if constexpr (std::is_same_v<T, float16_t>)
    return T(static_cast<float>(x & 0x3ffu) * (1.0f / 1024));
  else
    return T(static_cast<float>(x & 0x7fu) * (1.0f / 128));
}

/// Uniform number `j` (< kPerBlock<T>) of Philox block `b`: a float from
/// word j, a 16-bit float from word j, a double from words 2j and 2j + 1.
template <typename T>
EMBER_HOST_DEVICE inline T uniform_of_block(const philox::Block& b, int j) {
  if constexpr (std::is_same_v<T, float>) {
    return philox::uniform_float(b.v[j]);
  } else if constexpr (is_half_v<T>) {
    return uniform_16bit<T>(b.v[j]);
  } else {
    return j ? philox::uniform_double(b.v[2], b.v[3]) : philox::uniform_double(b.v[0], b.v[1]);
  }
}

/// Integer number `j` (< kPerBlock<T>) of Philox block `b` in [lo, lo +
/// range), as TensorFlow's UniformDistribution for int32 and int64: a word
/// (int32) or words 2j and 2j + 1, low first (int64), modulo the range,
/// added to lo with wrap-around (its SignedAdd). 0 < range <= 2^64 - 1.
template <typename T>
EMBER_HOST_DEVICE inline T uniform_int_of_block(const philox::Block& b, int j, T lo, uint64_t range) {
  static_assert(std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>);
  if constexpr (sizeof(T) == 4) {
    return static_cast<T>(static_cast<uint32_t>(lo) + b.v[j] % static_cast<uint32_t>(range));
  } else {
    const uint64_t bits = b.v[2 * j] | (static_cast<uint64_t>(b.v[2 * j + 1]) << 32);
    return static_cast<T>(static_cast<uint64_t>(lo) + bits % range);
  }
}

/// Integer number `j` (< kPerBlock<T>) of Philox block `b` over T's whole
/// range, as TensorFlow's UniformFullIntDistribution: a word (int32) or words
/// 2j and 2j + 1, low first (int64), as the bits of T.
template <typename T>
EMBER_HOST_DEVICE inline T full_int_of_block(const philox::Block& b, int j) {
  static_assert(std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>);
  if constexpr (sizeof(T) == 4)
    return static_cast<T>(b.v[j]);
  else
    return static_cast<T>(b.v[2 * j] | (static_cast<uint64_t>(b.v[2 * j + 1]) << 32));
}

/// Element i of a uniform [0, 1) draw from stream `s`.
template <typename T>
EMBER_HOST_DEVICE inline T uniform_at(const philox::Stream& s, int64_t i) {
  return uniform_of_block<T>(philox::at(s, static_cast<uint64_t>(i / kPerBlock<T>)), static_cast<int>(i % kPerBlock<T>));
}

/// StatelessDropout of elements of T (tf.nn.experimental.stateless_dropout
/// in one pass): element i is x·scale (Mul's rounding: in float32 for the
/// 16-bit floats, scale first rounded to T) where element i of the seed's
/// uniform draw is at least the rate, else 0. The draw is float64's for
/// double, float32's for every other type (Draw), so float32 and the 16-bit
/// floats drop the same elements. Linear in x: its gradient is itself.
template <typename T>
struct Dropout {
  using Draw = std::conditional_t<std::is_same_v<T, double>, double, float>;
  static constexpr int kPer = kPerBlock<Draw>;
  philox::Stream stream;
  Draw rate;
  compute_t<T> scale;

  EMBER_HOST_DEVICE Dropout(const philox::Stream& s, double r)
      : stream(s), rate(static_cast<Draw>(r)), scale(rounded(1 / (1 - r))) {}
  EMBER_HOST_DEVICE static compute_t<T> rounded(double v) {  // v as a T, widened
    return static_cast<compute_t<T>>(T(static_cast<compute_t<T>>(v)));
  }
  /// Element j (< kPer) of block b's share, given the block's words.
  EMBER_HOST_DEVICE T apply(const philox::Block& b, int j, T x) const {
    return uniform_of_block<Draw>(b, j) >= rate ? T(static_cast<compute_t<T>>(x) * scale) : T(0);
  }
  EMBER_HOST_DEVICE T operator()(int64_t i, T x) const {
    return apply(philox::at(stream, static_cast<uint64_t>(i / kPer)), static_cast<int>(i % kPer), x);
  }
};

/// The standard normals of block `blk` of stream `s` (kPerBlock<T> of them).
/// The 16-bit floats are float32's normals rounded (TensorFlow's
/// NormalDistribution for half and bfloat16).
template <typename T>
EMBER_HOST_DEVICE inline void normal_block(const philox::Stream& s, uint64_t blk, T* out) {
  philox::Block b = philox::at(s, blk);
  if constexpr (std::is_same_v<T, float>) {
    box_muller(b.v[0], b.v[1], out[0], out[1]);
    box_muller(b.v[2], b.v[3], out[2], out[3]);
  } else if constexpr (is_half_v<T>) {
    float f[4];
    box_muller(b.v[0], b.v[1], f[0], f[1]);
    box_muller(b.v[2], b.v[3], f[2], f[3]);
    for (int j = 0; j < 4; ++j) out[j] = T(f[j]);
  } else {
    box_muller(b.v[0], b.v[1], b.v[2], b.v[3], out[0], out[1]);
  }
}

/// Element i of a standard-normal draw from stream `s`.
template <typename T>
EMBER_HOST_DEVICE inline T normal_at(const philox::Stream& s, int64_t i) {
  T n[kPerBlock<T>];
  normal_block<T>(s, static_cast<uint64_t>(i / kPerBlock<T>), n);
  return n[i % kPerBlock<T>];
}

/// Blocks reserved per group of a truncated-normal draw: TensorFlow gives
/// each group of kPerBlock<T> outputs its own 256 samples' worth of stream.
template <typename T>
inline constexpr uint64_t kTruncatedGroupBlocks = 256 * kPerBlock<T> / 4;

/// Group g (outputs g·kPerBlock<T> ...) of a truncated-normal draw: normals
/// from consecutive blocks starting at block g·kTruncatedGroupBlocks<T>,
/// keeping those with |x| < 2 in order (TensorFlow's
/// TruncatedNormalDistribution over a SingleSampleAdapter).
template <typename T>
EMBER_HOST_DEVICE inline void truncated_group(const philox::Stream& s, int64_t g, T* out) {
  if constexpr (is_half_v<T>) {  // float32's group, rounded (the test |x| < 2 made in float32)
    float f[4];
    truncated_group<float>(s, g, f);
    for (int j = 0; j < 4; ++j) out[j] = T(f[j]);
  } else {
    uint64_t blk = static_cast<uint64_t>(g) * kTruncatedGroupBlocks<T>;
    int have = 0;
    while (true) {
      T n[kPerBlock<T>];
      normal_block<T>(s, blk++, n);
      for (int j = 0; j < kPerBlock<T>; ++j) {
        if (n[j] < T(2) && n[j] > T(-2)) {
          out[have++] = n[j];
          if (have == kPerBlock<T>) return;
        }
      }
    }
  }
}

}  // namespace ember::fn
