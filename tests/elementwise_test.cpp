// Elementwise ops against float64 references, per dtype, with broadcasting,
// empty and 0-d tensors, and sizes large enough for the threaded path.
#include <cmath>

#include <cstring>
#include <limits>

#include "kernels/cpu/vec.h"
#include "kernels/functors.h"
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::Abs, op_name::AddV2, op_name::Cast, op_name::Ceil, op_name::Cos, op_name::Div, op_name::Equal, op_name::Erf, op_name::Erfc, op_name::Softsign, op_name::Lgamma, op_name::Digamma, op_name::Erfinv, op_name::Polygamma, op_name::Zeta, op_name::CheckNumerics, op_name::Check, op_name::TruncateDiv, op_name::TruncateMod, op_name::Atan2, op_name::DivNoNan, op_name::Xdivy, op_name::Xlogy, op_name::Xlog1py, op_name::Exp, op_name::Expm1, op_name::Floor, op_name::FloorDiv, op_name::FloorMod, op_name::Gelu, op_name::GeluGrad, op_name::LeakyRelu, op_name::ReluGrad, op_name::Elu, op_name::BiasAdd, op_name::BiasAddGrad, op_name::Selu, op_name::Greater, op_name::GreaterEqual, op_name::Less, op_name::LessEqual, op_name::Log, op_name::Log1p, op_name::LogicalAnd, op_name::LogicalNot, op_name::LogicalOr, op_name::Maximum, op_name::Minimum, op_name::Mul, op_name::Neg, op_name::NotEqual, op_name::Pow, op_name::RealDiv, op_name::Reciprocal, op_name::Relu, op_name::Round, op_name::Rsqrt, op_name::SelectV2, op_name::Sigmoid, op_name::Sign, op_name::Sin, op_name::Tan, op_name::Asin, op_name::Acos, op_name::Atan, op_name::Sinh, op_name::Cosh, op_name::Asinh, op_name::Acosh, op_name::Atanh, op_name::Softplus, op_name::Sqrt, op_name::Square, op_name::Sub, op_name::Tanh, op_name::BitwiseAnd, op_name::BitwiseOr, op_name::BitwiseXor, op_name::LeftShift, op_name::RightShift, op_name::Invert, op_name::PopulationCount};

using Ref1 = std::function<double(double)>;
using Ref2 = std::function<double(double, double)>;

const std::vector<TensorShape> kUnaryShapes = {{}, {0}, {7}, {3, 4}, {2, 3, 5}, {40000}};

// The reference result as the dtype stores it (integers wrap).
double wrap(double x, DType t) {
  switch (t) {
    case DType::Int32:
      return static_cast<double>(static_cast<int32_t>(static_cast<int64_t>(x)));
    case DType::UInt8:
      return static_cast<double>(static_cast<uint8_t>(static_cast<int64_t>(x)));
    case DType::Float32:
      return static_cast<double>(static_cast<float>(x));
    default:
      return x;
  }
}

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  Ref1 ref;
  std::vector<DType> dtypes;
  double lo, hi;
  double rtol = 4e-6;  // for float32; float64 uses 1e-12 unless stated
  double rtol64 = 1e-12;
};

const std::vector<DType> kFloats = {float32, float64};
const std::vector<DType> kSigned = {float32, float64, int32, int64};
const std::vector<DType> kNumeric = {float32, float64, int32, int64, uint8};

double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, kSigned, -50,
       50},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); },
       kNumeric, -50, 50},
      {"sign", [](const Tensor& x) { return sign(x); },
       [](double x) { return double((x > 0) - (x < 0)); }, kNumeric, -50, 50},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, kFloats,
       -80, 80},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, kFloats,
       1e-3, 1e3},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); },
       kFloats, -0.9, 10},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](double x) { return std::expm1(x); },
       kFloats, -5, 5},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); },
       kFloats, 1e-3, 1e3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); },
       kFloats, 1e-3, 1e3},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, kSigned,
       -100, 100},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1 / x; },
       kFloats, -10, 10},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, kFloats,
       -10, 10, 4e-6, 1e-12},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, kFloats,
       -10, 10, 4e-6, 1e-12},
      // (the references in long double: the C library's other implementation)
      {"tan", [](const Tensor& x) { return tan(x); }, [](double x) { return double(std::tan(static_cast<long double>(x))); },
       kFloats, -1.4, 1.4},
      {"asin", [](const Tensor& x) { return asin(x); }, [](double x) { return double(std::asin(static_cast<long double>(x))); },
       kFloats, -1, 1},
      {"acos", [](const Tensor& x) { return acos(x); }, [](double x) { return double(std::acos(static_cast<long double>(x))); },
       kFloats, -1, 1},
      {"atan", [](const Tensor& x) { return atan(x); }, [](double x) { return double(std::atan(static_cast<long double>(x))); },
       kFloats, -10, 10},
      {"sinh", [](const Tensor& x) { return sinh(x); }, [](double x) { return double(std::sinh(static_cast<long double>(x))); },
       kFloats, -10, 10},
      {"cosh", [](const Tensor& x) { return cosh(x); }, [](double x) { return double(std::cosh(static_cast<long double>(x))); },
       kFloats, -10, 10},
      {"asinh", [](const Tensor& x) { return asinh(x); }, [](double x) { return double(std::asinh(static_cast<long double>(x))); },
       kFloats, -100, 100},
      {"acosh", [](const Tensor& x) { return acosh(x); }, [](double x) { return double(std::acosh(static_cast<long double>(x))); },
       kFloats, 1, 100},
      {"atanh", [](const Tensor& x) { return atanh(x); }, [](double x) { return double(std::atanh(static_cast<long double>(x))); },
       kFloats, -0.99, 0.99},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); },
       kFloats, -10, 10},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); },
       [](double x) { return 1 / (1 + std::exp(-x)); }, kFloats, -30, 30},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; },
       kNumeric, -50, 50},
      {"gelu", [](const Tensor& x) { return gelu(x); }, gelu_ref, kFloats, -6, 6},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, true); },
       [](double x) {
         return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       },
       kFloats, -6, 6},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.3); },
       [](double x) { return x > 0 ? x : 0.3 * x; }, kFloats, -10, 10},
      {"elu", [](const Tensor& x) { return elu(x); },
       [](double x) { return x > 0 ? x : std::expm1(x); }, kFloats, -10, 10},
      {"selu", [](const Tensor& x) { return selu(x); },
       [](double x) {
         const double scale = 1.0507009873554804934193349852946, alpha = 1.6732632423543772848170429916717;
         return x > 0 ? scale * x : scale * alpha * std::expm1(x);
       },
       kFloats, -10, 10},
      {"softplus", [](const Tensor& x) { return softplus(x); },
       [](double x) { return std::log1p(std::exp(x)); }, kFloats, -30, 30},
      {"erfc", [](const Tensor& x) { return erfc(x); }, [](double x) { return std::erfc(x); }, kFloats, -3, 9},
      {"softsign", [](const Tensor& x) { return softsign(x); }, [](double x) { return x / (1 + std::fabs(x)); },
       kFloats, -30, 30},
      {"floor", [](const Tensor& x) { return floor(x); }, [](double x) { return std::floor(x); },
       kFloats, -10, 10},
      {"ceil", [](const Tensor& x) { return ceil(x); }, [](double x) { return std::ceil(x); },
       kFloats, -10, 10},
      {"round", [](const Tensor& x) { return round(x); },
       [](double x) { return std::nearbyint(x); }, kFloats, -10, 10},
  };
}

class UnaryTest : public DeviceTest {};

TEST_P(UnaryTest, MatchesFloat64Reference) {
  uint32_t seed = 1;
  for (const auto& c : unary_cases()) {
    for (DType dt : c.dtypes) {
      for (const auto& shape : kUnaryShapes) {
        SCOPED_TRACE(c.name + " " + std::string(dtype_name(dt)) + " " + shape.to_string());
        double lo = dt == uint8 ? std::max(c.lo, 1.0) : c.lo;
        double hi = dt == uint8 ? std::min(std::max(c.hi, 2.0), 15.0) : c.hi;
        std::vector<double> in;
        Tensor x = random_tensor(shape, dt, lo, hi, seed++, &in);
        std::vector<double> want;
        for (double v : in) want.push_back(wrap(c.ref(v), dt));
        Tensor y = c.op(x);
        EXPECT_EQ(y.dtype(), dt);
        EXPECT_TRUE(all_close(y, want, shape, dt == float32 ? c.rtol : c.rtol64,
                              dt == float32 ? 1e-6 : 1e-13));
      }
    }
  }
}

TEST_P(UnaryTest, RoundHalfToEvenAndSpecialValues) {
  EXPECT_EQ(round(constant({0.5f, 1.5f, 2.5f, -0.5f, -1.5f})).to_vector<float>(),
            (std::vector<float>{0, 2, 2, -0, -2}));
  // Stable forms: no overflow at the extremes.
  auto s = sigmoid(constant({-1000.0, 1000.0}, float64)).to_vector<double>();
  EXPECT_EQ(s[0], 0.0);
  EXPECT_EQ(s[1], 1.0);
  auto sp = softplus(constant({-1000.0f, 1000.0f})).to_vector<float>();
  EXPECT_EQ(sp[0], 0.0f);
  EXPECT_EQ(sp[1], 1000.0f);
  auto e = exp(constant({-1000.0f, 1000.0f, NAN})).to_vector<float>();
  EXPECT_EQ(e[0], 0.0f);
  EXPECT_TRUE(std::isinf(e[1]));
  EXPECT_TRUE(std::isnan(e[2]));
}

// NaN in, NaN out, as TensorFlow 2.21 gives for [nan, -1, 2, inf, -inf]:
// relu had turned NaN into 0, so a diverged network's loss looked finite
// (and TerminateOnNaN never fired).
TEST_P(UnaryTest, ActivationsKeepNanAsTensorFlowDoes) {
  const std::vector<float> in{NAN, -1, 2, INFINITY, -INFINITY};
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
  };
  const std::vector<Case> cases = {
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }},
      {"elu", [](const Tensor& x) { return elu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return gelu(x, true); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"softplus", [](const Tensor& x) { return softplus(x); }},
  };
  for (DType dt : {float32, float64, bfloat16, float16})
    for (const Case& c : cases) {
      const std::vector<float> out = cast(c.op(cast(constant(in), dt)), float32).to_vector<float>();
      EXPECT_TRUE(std::isnan(out[0])) << c.name << " " << dtype_name(dt) << ": " << out[0];
    }
  for (DType dt : {float32, float64, bfloat16, float16}) {
    const std::vector<float> r = cast(relu(cast(constant(in), dt)), float32).to_vector<float>();
    EXPECT_TRUE(std::isnan(r[0])) << dtype_name(dt);
    EXPECT_EQ(std::vector<float>(r.begin() + 1, r.end()), (std::vector<float>{0, 2, INFINITY, 0})) << dtype_name(dt);
  }
  EXPECT_EQ(relu(constant({-3, 0, 4})).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 4}));
}

// tf.debugging.check_numerics: x itself when finite; otherwise TensorFlow's
// message, which names what it found. Its gradient is checked the same way.
TEST_P(UnaryTest, CheckNumericsPassesFiniteValuesAndNamesWhatItFound) {
  const Tensor x = constant({1.f, -2.f, 3.f});
  EXPECT_EQ(check_numerics(x, "ok").to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(check_numerics(zeros({0}), "empty").num_elements(), 0);
  auto message = [](const Tensor& t) {
    return error_of<InvalidArgument>([&] { check_numerics(t, "probe"); });
  };
  EXPECT_EQ(message(constant({1.f, NAN})), "probe : Tensor had NaN values");
  EXPECT_EQ(message(constant({double(INFINITY), 1.0})), "probe : Tensor had Inf values");
  EXPECT_EQ(message(cast(constant({-INFINITY, NAN}), bfloat16)), "probe : Tensor had Inf and NaN values");
  Variable v(constant({1.f, 2.f}));
  GradientTape tape;
  Tensor y = reduce_sum(check_numerics(v.read_value(), "forward") * constant({INFINITY, 1.f}));
  EXPECT_EQ(error_of<InvalidArgument>([&] { tape.gradient(y, std::vector<Source>{v}); }),
            "Not a number (NaN) or infinity (Inf) values detected in gradient. forward : Tensor had Inf values");
  EXPECT_THROW(check_numerics(constant({1, 2}), "ints"), InvalidArgument);  // floats only, as TensorFlow's
}

// check: x while the condition holds, read when it runs (traced: the
// condition of the run's values); otherwise the message alone.
TEST_P(UnaryTest, CheckPassesXWhileItsConditionHolds) {
  const Tensor x = constant({1.f, 2.f});
  EXPECT_EQ(check(x, constant(true), "never").to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(error_of<InvalidArgument>([&] { check(x, constant(false), "[user] x is too long"); }), "[user] x is too long");
  EXPECT_EQ(error_of<InvalidArgument>([&] { check(x, constant(false), ""); }), "[check] the condition does not hold");
  auto f = function([](Tensor v) {
    Tensor n = shape_at(v, 0);
    return check(v, less_equal(n, constant(int64_t{3})), "[f] at most 3 elements") * 2.f;
  });
  auto traced = f.get_concrete_function(TensorSpec({-1}, float32));
  EXPECT_EQ(traced.call({x})[0].to_vector<float>(), (std::vector<float>{2, 4}));
  EXPECT_EQ(error_of<InvalidArgument>([&] { traced.call({constant({1.f, 2.f, 3.f, 4.f})}); }),
            "[function] node 'Check' (Check): [f] at most 3 elements");  // (the executor names the node)
  EXPECT_THROW(check(x, constant(1), "an int condition"), InvalidArgument);
  EXPECT_THROW(check(x, constant({true, false}), "a vector condition"), InvalidArgument);
}

// The special functions against references that do not share ember's
// algorithms: the C library's lgammal; ψ at the integers and half-integers
// (-γ plus harmonic sums) and its reflection; ψ⁽¹⁾ at the integers (π²/6
// minus squares' reciprocals); ζ(x, q) by direct summation with the
// integral of the tail; erfinv through erfl and erfcl. Then TensorFlow's
// values at the poles (its Eigen kernels': NaN for ψ there, +inf for lgamma).
TEST_P(UnaryTest, SpecialFunctionsMatchReferences) {
  const long double euler = 0.5772156649015328606065120900824024L, pi = 3.141592653589793238462643383279503L;
  std::vector<double> xs, want_lgamma, want_digamma, want_trigamma;
  long double harmonic = 0, squares = 0;
  for (int n = 1; n <= 25; ++n) {  // ψ(n) = -γ + H(n-1), ψ⁽¹⁾(n) = π²/6 - Σ_{k<n} 1/k²
    xs.push_back(n);
    want_lgamma.push_back(static_cast<double>(std::lgammal(n)));
    want_digamma.push_back(static_cast<double>(-euler + harmonic));
    want_trigamma.push_back(static_cast<double>(pi * pi / 6 - squares));
    harmonic += 1.0L / n;
    squares += 1.0L / (static_cast<long double>(n) * n);
  }
  long double odd = 0;
  for (int n = 0; n <= 12; ++n) {  // ψ(n + 1/2) = -γ - 2 ln 2 + Σ_{k≤n} 2/(2k - 1); ψ(1/2 - n) by reflection
    const long double half = -euler - 2 * std::log(2.0L) + odd;
    xs.push_back(n + 0.5);
    want_lgamma.push_back(static_cast<double>(std::lgammal(n + 0.5L)));
    want_digamma.push_back(static_cast<double>(half));
    want_trigamma.push_back(NAN);  // (not checked)
    xs.push_back(0.5 - n);  // ψ(1 - x) - ψ(x) = π cot(πx): ψ(1/2 - n) = ψ(1/2 + n) - π cot(π(1/2 + n)) = ψ(1/2 + n)
    want_lgamma.push_back(static_cast<double>(std::lgammal(0.5L - n)));
    want_digamma.push_back(static_cast<double>(half));
    want_trigamma.push_back(NAN);
    odd += 2.0L / (2 * n + 1);
  }
  for (DType dt : {float64, float32}) {
    SCOPED_TRACE(dtype_name(dt));
    const double tol = dt == float64 ? 1e-13 : 2e-6;
    const Tensor x = make(xs, {static_cast<int64_t>(xs.size())}, dt);
    const TensorShape s{static_cast<int64_t>(xs.size())};
    EXPECT_TRUE(all_close(lgamma(x), want_lgamma, s, tol, tol));
    EXPECT_TRUE(all_close(digamma(x), want_digamma, s, tol, tol));
    const Tensor integers = slice(x, {0}, {25});
    EXPECT_TRUE(all_close(polygamma(ones_like(integers), integers), std::vector<double>(want_trigamma.begin(), want_trigamma.begin() + 25),
                          {25}, tol, tol));
  }
  // ζ(x, q) = Σ_{k<K} (q + k)⁻ˣ + ∫_K^∞ (q + t)⁻ˣ dt - (q + K)⁻ˣ/2 (+ O(K⁻ˣ⁻¹)), K = 200000.
  std::vector<double> zx, zq, zwant;
  for (double x : {1.5, 2.0, 3.7, 6.0})
    for (double q : {0.25, 1.0, 2.5, 40.0}) {
      long double sum = 0;
      const long double big = 200000;
      for (long double k = 0; k < big; ++k) sum += std::pow(q + k, -static_cast<long double>(x));
      sum += std::pow(q + big, 1 - static_cast<long double>(x)) / (x - 1) + 0.5L * std::pow(q + big, -static_cast<long double>(x));
      zx.push_back(x), zq.push_back(q), zwant.push_back(static_cast<double>(sum));
    }
  const TensorShape zs{16};
  EXPECT_TRUE(all_close(zeta(make(zx, zs, float64), make(zq, zs, float64)), zwant, zs, 1e-11, 0));
  // ψ⁽ⁿ⁾(x) = (-1)ⁿ⁺¹ n! Σₖ (x + k)⁻ⁿ⁻¹: n = 2 and 3 at x = 2.5, the sums taken directly as above.
  for (int order : {2, 3}) {
    long double sum = 0;
    const long double big = 200000, p = order + 1;
    for (long double k = 0; k < big; ++k) sum += std::pow(2.5L + k, -p);
    sum += std::pow(2.5L + big, 1 - p) / (p - 1) + 0.5L * std::pow(2.5L + big, -p);
    const double want = static_cast<double>((order % 2 ? 1 : -1) * std::tgamma(p) * sum);
    EXPECT_TRUE(all_close(polygamma(constant(double(order), float64), constant(2.5, float64)), {want}, {}, 1e-12, 0))
        << "order " << order;
  }
  // erf(erfinv(y)) = y, and in the tails erfc(erfinv(y)) = 1 - y, relatively.
  std::vector<double> ys{-0.99, -0.5, -1e-8, 0, 1e-300, 0.3, 0.7, 0.999, 1 - 1e-9, 1 - 1e-15};
  const std::vector<double> back = values(erfinv(make(ys, {10}, float64)));
  for (size_t i = 0; i < ys.size(); ++i) {
    SCOPED_TRACE(ys[i]);
    if (std::fabs(ys[i]) < 0.5) {
      EXPECT_NEAR(static_cast<double>(std::erf(static_cast<long double>(back[i]))), ys[i], 2e-16 + 1e-15 * std::fabs(ys[i]));
    } else {
      const long double tail = std::erfc(static_cast<long double>(std::fabs(back[i])));
      EXPECT_NEAR(static_cast<double>(tail / (1 - std::fabs(ys[i]))), 1.0, 1e-13);
    }
  }
  // TensorFlow 2.21 (tf.math, float64) at the poles and outside the domains.
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = INFINITY;
  const Tensor poles = constant({0.0, -0.0, -1.0, -inf, inf, nan}, float64);
  EXPECT_TRUE(all_close(digamma(poles), {nan, nan, nan, nan, inf, nan}, {6}, 0, 0));
  EXPECT_TRUE(all_close(lgamma(poles), {inf, inf, inf, inf, inf, nan}, {6}, 0, 0));
  EXPECT_TRUE(all_close(polygamma(ones_like(poles), poles), {inf, inf, inf, inf, 0, nan}, {6}, 0, 0));
  EXPECT_TRUE(all_close(erfinv(constant({-1.0, 1.0, 1.5, nan}, float64)), {-inf, inf, nan, nan}, {4}, 0, 0));
  EXPECT_TRUE(all_close(zeta(constant({1.0, 0.5, 3.0, 3.0, 2.0}, float64), constant({2.0, 2.0, -2.5, -2.0, -2.0}, float64)),
                        {inf, nan, 0.05410203, nan, inf}, {5}, 1e-6, 0));
  EXPECT_TRUE(all_close(polygamma(constant({2.5, -1.0}, float64), constant({3.0, 3.0}, float64)), {nan, nan}, {2}, 0, 0));
}

// is_nan, is_inf and is_finite against std::isnan, std::isinf and
// std::isfinite, in every floating dtype; an integer x is refused, as
// TensorFlow's ops take only floats.
TEST_P(UnaryTest, IsNanIsInfIsFinite) {
  const std::vector<double> in{1.0, NAN, -INFINITY, 2.5, INFINITY, -0.0, 65504.0, -1e300};
  for (DType dt : {float32, float64, bfloat16, float16}) {
    const Tensor x = cast(constant(in), dt);
    const std::vector<double> back = values(x);  // (1e300 is inf in 16 and 32 bits)
    std::vector<double> nan, inf, finite;
    for (double v : back) {
      nan.push_back(std::isnan(v));
      inf.push_back(std::isinf(v));
      finite.push_back(std::isfinite(v));
    }
    EXPECT_EQ(values(is_nan(x)), nan) << dtype_name(dt);
    EXPECT_EQ(values(is_inf(x)), inf) << dtype_name(dt);
    EXPECT_EQ(values(is_finite(x)), finite) << dtype_name(dt);
    EXPECT_EQ(is_nan(x).dtype(), bool_);
  }
  EXPECT_EQ(error_of<InvalidArgument>([] { is_nan(constant({1, 2})); }),
            "[is_nan] x must be a floating-point tensor, got int32");
}

// The vectorised float32 exp, sigmoid and tanh against float64, in units in
// the last place of the float32 result, over a dense sweep.
TEST_P(UnaryTest, Float32TranscendentalsWithinAFewUlp) {
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    Ref1 ref;
    double lo, hi;
  };
  const std::vector<Case> cases = {
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -87, 88},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -80, 80},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -12, 12},
  };
  const int n = 200001;
  for (const auto& c : cases) {
    std::vector<float> xs(n);
    for (int i = 0; i < n; ++i) xs[static_cast<size_t>(i)] = static_cast<float>(c.lo + (c.hi - c.lo) * i / (n - 1));
    auto got = c.op(constant(xs)).to_vector<float>();
    double worst = 0;
    for (int i = 0; i < n; ++i) {
      double want = c.ref(xs[static_cast<size_t>(i)]);
      float wf = static_cast<float>(want);
      double ulp = std::nextafter(std::abs(wf), INFINITY) - std::abs(wf);
      if (ulp == 0 || std::abs(want) < 1e-30) continue;
      worst = std::max(worst, std::abs(got[static_cast<size_t>(i)] - want) / ulp);
    }
    EXPECT_LE(worst, 4.0) << c.name;
  }
}

TEST_P(UnaryTest, LogicalNot) {
  EXPECT_EQ(values(logical_not(constant(std::vector<bool>{true, false, true}))),
            (std::vector<double>{0, 1, 0}));
  EXPECT_THROW(logical_not(constant({1.f})), InvalidArgument);
}

TEST_P(UnaryTest, UnsupportedDtypesAreErrors) {
  try {
    exp(constant({1, 2}));
    FAIL() << "exp of int32 must be an error";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[exp] x must be a floating-point type (float16, bfloat16, float32, float64), got int32");
  }
  EXPECT_THROW(neg(constant(std::vector<bool>{true})), InvalidArgument);
  EXPECT_THROW(neg(constant(std::vector<uint8_t>{1})), InvalidArgument);
}

// ---- cast ---------------------------------------------------------------------------

class CastTest : public DeviceTest {};

TEST_P(CastTest, EveryPairOfDtypes) {
  const std::vector<DType> all = {float32, float64, int32, int64, uint8, bool_};
  for (DType from : all) {
    for (DType to : all) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)));
      bool unsigned_side = from == uint8 || to == uint8;
      std::vector<double> in = from == bool_
                                   ? random_values(11, 0, 1, bool_, 7)
                                   : random_values(11, unsigned_side ? 0.5 : -100, 100, from, 7);
      Tensor x = make(in, {11}, from);
      std::vector<double> want;
      for (double v : in) {
        double r = to == bool_ ? (v != 0) : (is_integer(to) ? std::trunc(v) : v);
        want.push_back(wrap(r, to));
      }
      Tensor y = cast(x, to);
      EXPECT_EQ(y.dtype(), to);
      EXPECT_TRUE(all_close(y, want, {11}));
    }
  }
}

TEST_P(CastTest, FloatToIntegerSaturatesAndNanIsZero) {
  auto v = cast(constant({1e20f, -1e20f, NAN, 2.9f, -2.9f}), int32).to_vector<int32_t>();
  EXPECT_EQ(v, (std::vector<int32_t>{INT32_MAX, INT32_MIN, 0, 2, -2}));
}

// ---- binary -------------------------------------------------------------------------

struct BinaryCase {
  std::string name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  Ref2 ref;
  std::vector<DType> dtypes;
  double a_lo, a_hi, b_lo, b_hi;
  bool bool_result = false;
  Ref2 ref32 =
      nullptr;  // where float32 arithmetic defines the result (floor of a rounded quotient)
};

double py_mod(double a, double b) {
  double r = std::fmod(a, b);
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](auto& a, auto& b) { return add(a, b); }, [](double a, double b) { return a + b; },
       kNumeric, -100, 100, -100, 100},
      {"sub", [](auto& a, auto& b) { return sub(a, b); }, [](double a, double b) { return a - b; },
       kNumeric, -100, 100, -100, 100},
      {"mul", [](auto& a, auto& b) { return mul(a, b); }, [](double a, double b) { return a * b; },
       kNumeric, -100, 100, -100, 100},
      {"div", [](auto& a, auto& b) { return div(a, b); },
       [](double a, double b) { return std::trunc(a / b) == a / b ? a / b : a / b; }, kFloats, -100,
       100, -10, 10},
      {"div_int",
       [](auto& a, auto& b) { return div(a, b); },
       [](double a, double b) { return std::trunc(a / b); },
       {int32, int64, uint8},
       -100,
       100,
       -10,
       10},
      {"pow", [](auto& a, auto& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }, kFloats, 0.1, 3, -2, 2},
      {"pow_int",
       [](auto& a, auto& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); },
       {int32, int64, uint8},
       -5,
       5,
       0.5,
       3.4},
      {"maximum", [](auto& a, auto& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }, kNumeric, -100, 100, -100, 100},
      {"minimum", [](auto& a, auto& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }, kNumeric, -100, 100, -100, 100},
      {"floordiv", [](auto& a, auto& b) { return floordiv(a, b); },
       [](double a, double b) { return std::floor(a / b); }, kNumeric, -100, 100, -10, 10, false,
       [](double a, double b) {
         return std::floor(static_cast<double>(static_cast<float>(a / b)));
       }},
      {"floormod", [](auto& a, auto& b) { return floormod(a, b); }, py_mod, kNumeric, -100, 100,
       -10, 10},
      {"truncatediv", [](auto& a, auto& b) { return truncatediv(a, b); },
       [](double a, double b) { return std::trunc(a / b); }, kNumeric, -100, 100, -10, 10, false,
       [](double a, double b) { return std::trunc(static_cast<double>(static_cast<float>(a / b))); }},
      {"truncatemod", [](auto& a, auto& b) { return truncatemod(a, b); },
       [](double a, double b) { return std::fmod(a, b); }, kNumeric, -100, 100, -10, 10},
      {"atan2", [](auto& y, auto& x) { return atan2(y, x); },
       [](double y, double x) { return std::atan2(y, x); }, kFloats, -10, 10, -10, 10},
      {"div_no_nan", [](auto& a, auto& b) { return div_no_nan(a, b); },
       [](double a, double b) { return a / b; }, kFloats, -100, 100, -10, 10},
      {"xdivy", [](auto& x, auto& y) { return xdivy(x, y); }, [](double x, double y) { return x / y; },
       kFloats, -100, 100, -10, 10},
      {"xlogy", [](auto& x, auto& y) { return xlogy(x, y); },
       [](double x, double y) { return x * std::log(y); }, kFloats, -100, 100, 0.01, 10},
      {"xlog1py", [](auto& x, auto& y) { return xlog1py(x, y); },
       [](double x, double y) { return x * std::log1p(y); }, kFloats, -100, 100, -0.99, 10},
      {"equal", [](auto& a, auto& b) { return equal(a, b); },
       [](double a, double b) { return double(a == b); }, kNumeric, -3, 3, -3, 3, true},
      {"not_equal", [](auto& a, auto& b) { return not_equal(a, b); },
       [](double a, double b) { return double(a != b); }, kNumeric, -3, 3, -3, 3, true},
      {"less", [](auto& a, auto& b) { return less(a, b); },
       [](double a, double b) { return double(a < b); }, kNumeric, -3, 3, -3, 3, true},
      {"less_equal", [](auto& a, auto& b) { return less_equal(a, b); },
       [](double a, double b) { return double(a <= b); }, kNumeric, -3, 3, -3, 3, true},
      {"greater", [](auto& a, auto& b) { return greater(a, b); },
       [](double a, double b) { return double(a > b); }, kNumeric, -3, 3, -3, 3, true},
      {"greater_equal", [](auto& a, auto& b) { return greater_equal(a, b); },
       [](double a, double b) { return double(a >= b); }, kNumeric, -3, 3, -3, 3, true},
      {"logical_and",
       [](auto& a, auto& b) { return logical_and(a, b); },
       [](double a, double b) { return double(a && b); },
       {bool_},
       0,
       1,
       0,
       1,
       true},
      {"logical_or",
       [](auto& a, auto& b) { return logical_or(a, b); },
       [](double a, double b) { return double(a || b); },
       {bool_},
       0,
       1,
       0,
       1,
       true},
  };
}

const std::vector<std::pair<TensorShape, TensorShape>> kBroadcastPairs = {
    {{3, 4}, {3, 4}}, {{}, {3, 4}},        {{3, 4}, {}},       {{3, 1}, {1, 4}},
    {{2, 3, 4}, {4}}, {{2, 1, 4}, {3, 1}}, {{0, 4}, {4}},      {{5, 1, 3}, {5, 4, 1}},
    {{}, {}},         {{200, 300}, {300}}, {{40000}, {40000}}, {{2, 3, 1, 5}, {3, 4, 1}}};

// Reference broadcast: out[i] = f(a[ia], b[ib]).
std::vector<double> broadcast_ref(const std::vector<double>& a, const TensorShape& sa,
                                  const std::vector<double>& b, const TensorShape& sb,
                                  const TensorShape& so, const Ref2& f) {
  std::vector<double> out;
  for (int64_t i = 0; i < so.num_elements(); ++i) {
    auto idx = unravel(i, so);
    auto pick = [&](const TensorShape& s) {
      std::vector<int64_t> j;
      for (int d = 0; d < s.rank(); ++d) {
        int64_t k = idx[static_cast<size_t>(d + so.rank() - s.rank())];
        j.push_back(s.dim(d) == 1 ? 0 : k);
      }
      return ravel(j, s);
    };
    out.push_back(f(a[static_cast<size_t>(pick(sa))], b[static_cast<size_t>(pick(sb))]));
  }
  return out;
}

class BinaryTest : public DeviceTest {};

TEST_P(BinaryTest, MatchesFloat64ReferenceWithBroadcasting) {
  uint32_t seed = 100;
  for (const auto& c : binary_cases()) {
    for (DType dt : c.dtypes) {
      for (const auto& [sa, sb] : kBroadcastPairs) {
        SCOPED_TRACE(c.name + " " + std::string(dtype_name(dt)) + " " + sa.to_string() + " " +
                     sb.to_string());
        double alo = c.a_lo, ahi = c.a_hi, blo = c.b_lo, bhi = c.b_hi;
        if (dt == uint8) {  // non-negative ranges, results that fit (or wrap, as checked)
          alo = std::max(alo, 1.0);
          blo = std::max(blo, 1.0);
          ahi = std::min(ahi, 5.0) + (c.name == "pow_int" ? 0 : 40);
          bhi = std::min(bhi, 3.4) + (c.name == "pow_int" ? 0 : 6);
        }
        std::vector<double> va, vb;
        Tensor a = random_tensor(sa, dt, alo, ahi, seed++, &va);
        Tensor b = random_tensor(sb, dt, blo, bhi, seed++, &vb);
        TensorShape so = broadcast_shapes(sa, sb);
        auto want = broadcast_ref(va, sa, vb, sb, so, dt == float32 && c.ref32 ? c.ref32 : c.ref);
        if (!c.bool_result)
          for (auto& w : want) w = wrap(w, dt);
        Tensor y = c.op(a, b);
        EXPECT_EQ(y.dtype(), c.bool_result ? bool_ : dt);
        EXPECT_TRUE(
            all_close(y, want, so, dt == float32 ? 4e-6 : 1e-12, dt == float32 ? 1e-6 : 1e-12));
      }
    }
  }
}

TEST_P(BinaryTest, IntegerDivisionByZeroIsZeroNotATrap) {
  auto a = constant({7, -7, INT32_MIN}), b = constant({0, 0, -1});
  EXPECT_EQ(div(a, b).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, INT32_MIN}));
  EXPECT_EQ(floordiv(a, b).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, INT32_MIN}));
  EXPECT_EQ(floormod(a, b).to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 0}));
}

// Where they differ from a / b, x / y, x·log(y) and x·log1p(y): TensorFlow
// 2.21's values on these pairs, zeros, NaN and infinities included.
TEST_P(BinaryTest, TheNoNanOpsGiveTensorFlowsValues) {
  const float inf = INFINITY;
  const Tensor a = constant({1.f, 0.f, NAN, inf, -2.f, 0.f, 0.f, 3.f});
  const Tensor b = constant({0.f, 0.f, 0.f, 0.f, 4.f, NAN, inf, -0.5f});
  struct Case {
    const char* name;
    Tensor (*op)(const Tensor&, const Tensor&);
    std::vector<float> want;
  };
  const std::vector<Case> cases = {
      {"div_no_nan", div_no_nan, {0, 0, 0, 0, -0.5f, NAN, 0, -6}},
      {"xdivy", xdivy, {inf, 0, NAN, inf, -0.5f, 0, 0, -6}},
      {"xlogy", xlogy, {-inf, 0, NAN, -inf, -2.7725887298583984f, 0, 0, NAN}},
      {"xlog1py", xlog1py, {0, 0, NAN, NAN, -3.2188758850097656f, 0, 0, -2.079441547393799f}},
  };
  for (const Case& c : cases)
    for (DType dt : {float32, float64, bfloat16, float16}) {
      const std::vector<float> got = cast(c.op(cast(a, dt), cast(b, dt)), float32).to_vector<float>();
      for (size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(dt)) + " element " + std::to_string(i));
        if (std::isnan(c.want[i])) EXPECT_TRUE(std::isnan(got[i])) << got[i];
        else if (std::isinf(c.want[i])) EXPECT_EQ(got[i], c.want[i]);
        else EXPECT_NEAR(got[i], c.want[i], std::fabs(c.want[i]) * 1e-2) << got[i];
      }
    }
}

// Truncating division and its remainder follow a's sign (TensorFlow's
// truncatediv and truncatemod on these values); atan2 takes y first.
TEST_P(BinaryTest, TruncatingDivisionAndAtan2AsTensorFlow) {
  EXPECT_EQ(truncatediv(constant({7.f, -7.f, 7.f, -7.f}), constant({2.f, 2.f, -2.f, -2.f})).to_vector<float>(),
            (std::vector<float>{3, -3, -3, 3}));
  EXPECT_EQ(truncatemod(constant({7, -7, 7, -7}), constant({3, 3, -3, -3})).to_vector<int32_t>(),
            (std::vector<int32_t>{1, -1, 1, -1}));
  EXPECT_EQ(truncatemod(constant({7.5f, -7.5f, 7.5f, -7.5f}), constant({2.f, 2.f, -2.f, -2.f})).to_vector<float>(),
            (std::vector<float>{1.5f, -1.5f, 1.5f, -1.5f}));
  EXPECT_EQ(truncatediv(constant({7, INT32_MIN}), constant({0, -1})).to_vector<int32_t>(),
            (std::vector<int32_t>{0, INT32_MIN}));  // as div: x / 0 = 0, and the one overflow wraps
  const std::vector<double> angle = atan2(constant({0.0, -0.0, 1.0, -1.0}, float64), constant({-1.0, -1.0, 0.0, 0.0}, float64)).to_vector<double>();
  EXPECT_EQ(angle, (std::vector<double>{M_PI, -M_PI, M_PI / 2, -M_PI / 2}));
  EXPECT_THROW(atan2(constant({1, 2}), constant({1, 2})), InvalidArgument);  // floats only, as TensorFlow's
}

// TensorFlow 2.21's values (tf.bitwise; more in tests/saved_model_test.cpp's
// "bitwise"): shift counts clamped to [0, bits - 1], left shifts losing the
// bits shifted out (the sign bit too), signed right shifts arithmetic.
TEST_P(BinaryTest, BitwiseOpsAsTensorFlow) {
  const Tensor x = make({5, -5, 1, -1, 1 << 30, -2147483648.0, 7}, {7}, int32);
  const Tensor y = make({-1, 40, 31, 31, 2, 1, 32}, {7}, int32);
  constexpr double kMin32 = -2147483648.0;
  EXPECT_TRUE(all_close(left_shift(x, y), {5, kMin32, kMin32, kMin32, 0, 0, kMin32}, {7}, 0, 0));
  EXPECT_TRUE(all_close(right_shift(x, y), {5, -1, 0, -1, 1 << 28, -(1 << 30), 0}, {7}, 0, 0));
  EXPECT_TRUE(all_close(invert(x), {-6, 4, -2, 0, -(1 << 30) - 1, 2147483647, -8}, {7}, 0, 0));
  EXPECT_TRUE(all_close(population_count(x), {2, 31, 1, 32, 1, 1, 3}, {7}, 0, 0));
  EXPECT_EQ(population_count(x).dtype(), uint8);
  const Tensor u = make({5, 255, 128, 1}, {4}, uint8), v = make({1, 9, 7, 255}, {4}, uint8);
  EXPECT_TRUE(all_close(left_shift(u, v), {10, 128, 0, 128}, {4}, 0, 0));
  EXPECT_TRUE(all_close(right_shift(u, v), {2, 1, 1, 0}, {4}, 0, 0));
  EXPECT_TRUE(all_close(invert(u), {250, 0, 127, 254}, {4}, 0, 0));
  // And, or, xor, broadcast; int64's high bits.
  const Tensor a = make({12, -1, 0, 10}, {2, 2}, int64), b = make({10, 6}, {2}, int64);
  EXPECT_TRUE(all_close(bitwise_and(a, b), {8, 6, 0, 2}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(bitwise_or(a, b), {14, -1, 10, 14}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(bitwise_xor(a, b), {6, -7, 10, 12}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(left_shift(make({1, 3}, {2}, int64), make({63, 62}, {2}, int64)),
                        {-9223372036854775808.0, -4611686018427387904.0}, {2}, 0, 0));
  EXPECT_NE(error_of<InvalidArgument>([] { bitwise_and(ones({2}), ones({2})); })
                .find("[bitwise_and] x must be an integer type (int32, int64, uint8), got float32"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { invert(ones({2}, bool_)); }).find("[invert]"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { left_shift(ones({2}, int32), ones({2}, int64)); }).find("[left_shift]"),
            std::string::npos);
}

TEST_P(BinaryTest, MaximumAndMinimumPropagateNan) {
  auto a = constant({NAN, 1.f}), b = constant({1.f, NAN});
  for (float v : maximum(a, b).to_vector<float>()) EXPECT_TRUE(std::isnan(v));
  for (float v : minimum(a, b).to_vector<float>()) EXPECT_TRUE(std::isnan(v));
}

TEST_P(BinaryTest, OperatorsAndScalars) {
  auto x = constant({1.f, 2.f, 3.f});
  EXPECT_EQ((x + x).to_vector<float>(), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ((x * 2).to_vector<float>(), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ((1 - x).to_vector<float>(), (std::vector<float>{0, -1, -2}));
  EXPECT_EQ((x / 2.0).to_vector<float>(), (std::vector<float>{0.5f, 1, 1.5f}));
  EXPECT_EQ((-x).to_vector<float>(), (std::vector<float>{-1, -2, -3}));
  EXPECT_EQ(values(x > 1.5), (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(values(x == x), (std::vector<double>{1, 1, 1}));
  auto i = constant({1, 2, 3});
  EXPECT_EQ((i * 3).dtype(), int32);  // the scalar takes the tensor's dtype
}

TEST_P(BinaryTest, BadInputIsAnErrorNamingTheOp) {
  try {
    add(ones({2, 3}), ones({4}));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[add] incompatible shapes for broadcasting: [2,3] vs [4]");
  }
  try {
    mul(ones({2}), ones({2}, int32));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[mul] dtypes differ: float32 vs int32");
  }
  EXPECT_THROW(logical_and(ones({2}), ones({2})), InvalidArgument);
  EXPECT_THROW(less(constant(std::vector<bool>{true}), constant(std::vector<bool>{false})),
               InvalidArgument);
}

// ---- where ------------------------------------------------------------------------------

class WhereTest : public DeviceTest {};

TEST_P(WhereTest, SelectsWithBroadcasting) {
  for (DType dt : {float32, float64, int32, int64, uint8, bool_}) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> vc, va, vb;
    Tensor c = random_tensor({3, 1, 4}, bool_, 0, 1, 5, &vc);
    Tensor a = random_tensor({5, 4}, dt, 1, 50, 6, &va);
    Tensor b = random_tensor({}, dt, 1, 50, 7, &vb);
    TensorShape so{3, 5, 4};
    std::vector<double> want;
    for (int64_t i = 0; i < so.num_elements(); ++i) {
      auto idx = unravel(i, so);
      bool cond = vc[static_cast<size_t>(idx[0] * 4 + idx[2])] != 0;
      want.push_back(cond ? va[static_cast<size_t>(idx[1] * 4 + idx[2])] : vb[0]);
    }
    EXPECT_TRUE(all_close(where(c, a, b), want, so));
  }
  EXPECT_THROW(where(ones({2}), ones({2}), ones({2})), InvalidArgument);
}

TEST_P(BinaryTest, ReluGradPassesTheGradientWhereTheFeatureIsPositive) {
  for (DType dt : {float32, float64, int32}) {
    std::vector<double> g, x;
    Tensor gt = random_tensor({3, 50}, dt, -5, 5, 1, &g), xt = random_tensor({3, 50}, dt, -5, 5, 2, &x);
    std::vector<double> want(g.size());
    for (size_t i = 0; i < g.size(); ++i) want[i] = x[i] > 0 ? g[i] : 0;
    EXPECT_TRUE(all_close(execute1(op_def(op_name::ReluGrad), {gt, xt}), want, {3, 50}, 0, 0));
  }
}

TEST_P(BinaryTest, BiasAddAlongTheChannelAxis) {
  std::vector<double> v, b;
  for (DType dt : {float32, float64, int32}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor value = random_tensor({2, 3, 4}, dt, -5, 5, 1, &v);
    Tensor b4 = random_tensor({4}, dt, -5, 5, 2, &b);
    std::vector<double> want(v.size());
    for (size_t i = 0; i < v.size(); ++i) want[i] = v[i] + b[i % 4];
    EXPECT_TRUE(all_close(bias_add(value, b4), want, {2, 3, 4}, 1e-6, 1e-6));
    std::vector<double> b3v;
    Tensor b3 = random_tensor({3}, dt, -5, 5, 3, &b3v);
    for (size_t i = 0; i < v.size(); ++i) want[i] = v[i] + b3v[(i / 4) % 3];
    EXPECT_TRUE(all_close(bias_add(value, b3, "NCHW"), want, {2, 3, 4}, 1e-6, 1e-6));
    // BiasAddGrad sums every axis but the channel one.
    std::vector<double> sum4(4, 0), sum3(3, 0);
    for (size_t i = 0; i < v.size(); ++i) {
      sum4[i % 4] += v[i];
      sum3[(i / 4) % 3] += v[i];
    }
    EXPECT_TRUE(all_close(execute1(op_def(op_name::BiasAddGrad), {value}, {{"data_format", std::string("NHWC")}}),
                          sum4, {4}, 1e-6, 1e-5));
    EXPECT_TRUE(all_close(execute1(op_def(op_name::BiasAddGrad), {value}, {{"data_format", std::string("NCHW")}}),
                          sum3, {3}, 1e-6, 1e-5));
  }
  EXPECT_THROW(bias_add(random_tensor({2, 3}, float32, 0, 1, 1), constant({1.f, 2.f})), InvalidArgument);
  EXPECT_THROW(bias_add(constant({1.f, 2.f}), constant({1.f, 2.f})), InvalidArgument);
  EXPECT_THROW(bias_add(random_tensor({2, 3}, float32, 0, 1, 1), constant({1.f, 2.f, 3.f}), "NCWH"),
               InvalidArgument);
}

EMBER_INSTANTIATE_DEVICE_TESTS(UnaryTest);
EMBER_INSTANTIATE_DEVICE_TESTS(CastTest);
EMBER_INSTANTIATE_DEVICE_TESTS(BinaryTest);
EMBER_INSTANTIATE_DEVICE_TESTS(WhereTest);

// float32 tanh gives a value the same bits wherever it sits (8-lane body or
// scalar tail) and whatever the length of the tensor: one implementation.
TEST(Tanh, SameBitsInEveryLaneAndAlone) {
  DeviceScope cpu(Device::cpu());
  std::vector<float> xs;
  for (int i = 0; i < 203; ++i) xs.push_back(-9.5f + 0.0937f * static_cast<float>(i));
  std::vector<float> whole = tanh(constant(xs)).to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i) {
    float alone = tanh(constant(std::vector<float>{xs[i]})).item<float>();
    EXPECT_EQ(std::memcmp(&alone, &whole[i], 4), 0) << "x=" << xs[i] << " at " << i;
    // and shifted by one position in a longer tensor
    std::vector<float> shifted{0.f};
    shifted.insert(shifted.end(), xs.begin(), xs.end());
    if (i == 0) {
      std::vector<float> w2 = tanh(constant(shifted)).to_vector<float>();
      for (size_t k = 0; k < xs.size(); ++k)
        EXPECT_EQ(std::memcmp(&w2[k + 1], &whole[k], 4), 0) << "x=" << xs[k];
    }
  }
}

// CPU kernels flush denormals to zero, as TensorFlow's do (its eager
// tf.constant(1e-39) * 1.0 and + 0.0 give 0.0, checked with TensorFlow 2.21):
// a denormal input reads as zero and a denormal result is written as zero,
// on the calling thread and on the threads a large op splits across, eagerly
// and in a traced function's plan; the caller's own arithmetic keeps its mode.
TEST(Denormals, CpuKernelsFlushThemToZeroAsTensorFlows) {
  DeviceScope cpu(Device::cpu());
  const float tiny = 1e-39f;  // below float32's smallest normal, 1.18e-38
  volatile float caller = tiny;
  ASSERT_NE(caller * 1.0f, 0.0f);  // this thread's mode: denormals kept
  EXPECT_EQ(values(constant(tiny) * 1.0f), (std::vector<double>{0.0}));
  EXPECT_EQ(values(constant(tiny) + 0.0f), (std::vector<double>{0.0}));
  EXPECT_EQ(values(constant(1e-20f) * constant(1e-20f)), (std::vector<double>{0.0}));  // a denormal product
  EXPECT_EQ(values(constant(1e-300) * 1e-10), (std::vector<double>{0.0}));           // float64's too
  EXPECT_NE(caller * 1.0f, 0.0f);  // restored after each op
  // Large enough to be split across threads: every element flushed.
  Tensor many = fill({1 << 20}, tiny, float32) * 1.0f;
  EXPECT_EQ(values(reduce_max(many)), (std::vector<double>{0.0}));
  EXPECT_EQ(values(reduce_min(many)), (std::vector<double>{0.0}));
  // In a traced function's plan (its first call and the arena's).
  auto f = function([](Tensor x) { return x * 1.0f + 0.0f; });
  for (int call = 0; call < 3; ++call) EXPECT_EQ(values(f(constant(tiny))), (std::vector<double>{0.0})) << call;
  EXPECT_NE(caller * 1.0f, 0.0f);
  // Normal values are untouched.
  EXPECT_EQ(values(constant(2e-38f) * 1.0f), (std::vector<double>{static_cast<double>(2e-38f)}));
}

// The vectorised float32 tanh-form gelu (8 lanes, the tail scalar): every
// position, lanes and tail alike, within a few float32 roundings of the
// float64 formula, relative everywhere (the logistic form does not cancel
// where tanh nears -1: at x = -8 the value is about -3e-21), and the special
// values as the scalar functor gives them.
TEST(GeluVectorised, LanesAndTailMatchTheFloat64Formula) {
  DeviceScope cpu(Device::cpu());
  std::vector<float> in;
  for (int i = 0; i < 1003; ++i) in.push_back(-8.0f + 16.0f * static_cast<float>(i) / 1002.0f);
  std::vector<float> got = gelu(constant(in), true).to_vector<float>();
  ASSERT_EQ(got.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const double x = in[i];
    // (0.5·x·(1 + tanh u) in float64 itself rounds to 0 below x = -7 or so)
    const double u = std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x);
    const double want = x / (1 + std::exp(-2 * u));
    // (u carries about three float32 roundings, in the cube, products and
    // sum; the result's relative sensitivity to u is 2|u|·e/(1 + e), e = e^-2u:
    // nothing where x > 0, 2|u| where e dominates)
    const double e = std::exp(-2 * u), sensitivity = std::abs(2 * u) * e / (1 + e);
    EXPECT_NEAR(got[i], want, (2e-6 + 2e-7 * sensitivity) * std::abs(want)) << "x = " << x << " at " << i;
  }
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> special{0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e-30f, 0.0f, 0.0f};
  fn::Gelu scalar;
  scalar.approximate = true;
  std::vector<float> lanes = gelu(constant(special), true).to_vector<float>();  // 8 values: one vector
  for (size_t i = 0; i < special.size(); ++i) {
    const float want = scalar(special[i]);
    EXPECT_TRUE(lanes[i] == want || (std::isnan(lanes[i]) && std::isnan(want)))
        << "x = " << special[i] << ": " << lanes[i] << " vs " << want;
  }
}

// GeluGrad, gelu's fused adjoint: dy·gelu'(x) against the float64
// derivative of each form, in float32 (vectorised lanes and a tail) and
// float64; and gelu's tape gradient is it.
TEST(GeluGrad, MatchesTheFloat64Derivative) {
  DeviceScope cpu(Device::cpu());
  auto derivative = [](double x, bool approximate) {
    if (approximate) {
      const double k = std::sqrt(2 / M_PI), a = 0.044715, t = std::tanh(k * (x + a * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * a * x * x);
    }
    return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
  };
  for (bool approximate : {true, false})
    for (DType dt : {float32, float64}) {
      SCOPED_TRACE(std::string(approximate ? "tanh " : "erf ") + std::string(dtype_name(dt)));
      std::vector<double> xs, dys;
      Tensor x = random_tensor({1003}, dt, -6, 6, 11, &xs);
      Tensor dy = random_tensor({1003}, dt, -2, 2, 12, &dys);
      Tensor got = execute1(op_def(op_name::GeluGrad), {dy, x}, {{"approximate", approximate}});
      std::vector<double> want;
      for (size_t i = 0; i < xs.size(); ++i) want.push_back(dys[i] * derivative(xs[i], approximate));
      // (float32's absolute floor: below x = -4.5 or so, 1 + tanh rounds to
      // 0 where the true derivative is about 1e-6, in gelu itself as here.)
      EXPECT_TRUE(all_close(got, want, {1003}, dt == float32 ? 2e-5 : 1e-12, dt == float32 ? 4e-6 : 1e-14));
      GradientTape tape;
      tape.watch(x);
      Tensor y = gelu(x, approximate);
      Tensor g = tape.gradient(y, x, UnconnectedGradients::None);
      std::vector<double> ones;
      for (double xi : xs) ones.push_back(derivative(xi, approximate));
      EXPECT_TRUE(all_close(g, ones, {1003}, dt == float32 ? 2e-5 : 1e-12, dt == float32 ? 2e-6 : 1e-14));
    }
}

// vec::load_float and vec::store_float for bfloat16, the lane-wise
// conversions, against core/half.h's scalar ones bit for bit: every
// bfloat16 widened, and floats over the whole range (a stride through the
// bit patterns, ties to even, infinities and NaNs with payloads) rounded.
TEST(Vectorised16Bit, BFloat16LanesConvertAsTheScalarConversions) {
  for (uint32_t b = 0; b < 65536; b += 8) {
    bfloat16_t h[8];
    for (uint32_t l = 0; l < 8; ++l) h[l] = bfloat16_t::from_bits(static_cast<uint16_t>(b + l));
    const cpu::vec::f8 v = cpu::vec::load_float(h);
    for (uint32_t l = 0; l < 8; ++l)
      ASSERT_EQ(half_detail::bits_of(v[l]), half_detail::bits_of(static_cast<float>(h[l]))) << "bits " << b + l;
  }
  std::vector<uint32_t> patterns = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u,
                                    0xffffffffu, 0x7f7fffffu, 0x3f808000u, 0x3f818000u, 0x3f807fffu, 0x00008000u,
                                    0x00018000u, 0x7fffffffu, 0x7f7f8000u, 0x80008001u};
  for (uint64_t u = 0; u < (uint64_t{1} << 32); u += 65521) patterns.push_back(static_cast<uint32_t>(u));
  while (patterns.size() % 8) patterns.push_back(0x3f800000u);
  for (size_t i = 0; i < patterns.size(); i += 8) {
    cpu::vec::f8 v;
    for (int l = 0; l < 8; ++l) v[l] = half_detail::float_of(patterns[i + static_cast<size_t>(l)]);
    bfloat16_t h[8];
    cpu::vec::store_float(h, v);
    for (size_t l = 0; l < 8; ++l)
      ASSERT_EQ(h[l].bits, half_detail::float_to_bfloat16(half_detail::float_of(patterns[i + l])))
          << std::hex << "float bits 0x" << patterns[i + l];
  }
  // The 16-lane forms (the exp-based loops' on AVX-512) likewise.
  while (patterns.size() % 16) patterns.push_back(0x3f800000u);
  for (size_t i = 0; i < patterns.size(); i += 16) {
    cpu::vec::Lanes<16>::F v;
    for (int l = 0; l < 16; ++l) v[l] = half_detail::float_of(patterns[i + static_cast<size_t>(l)]);
    bfloat16_t h[16];
    cpu::vec::store_lanes<16>(h, v);
    const cpu::vec::Lanes<16>::F back = cpu::vec::load_lanes<16>(h);
    for (size_t l = 0; l < 16; ++l) {
      ASSERT_EQ(h[l].bits, half_detail::float_to_bfloat16(half_detail::float_of(patterns[i + l])))
          << std::hex << "float bits 0x" << patterns[i + l];
      ASSERT_EQ(half_detail::bits_of(back[static_cast<int>(l)]), half_detail::bits_of(static_cast<float>(h[l])));
    }
  }
}

// Cast between float32 and bfloat16 runs those lanes: bit for bit the
// scalar conversions, over lanes and a tail, NaN and infinities included.
TEST(Vectorised16Bit, CastsBetweenFloat32AndBFloat16AreTheScalarConversions) {
  DeviceScope cpu(Device::cpu());
  std::vector<float> xs;
  for (int i = 0; i < 1003; ++i) xs.push_back(std::ldexp(static_cast<float>(i % 97) - 48.3f, i % 61 - 30));
  xs[5] = std::numeric_limits<float>::infinity();
  xs[17] = std::numeric_limits<float>::quiet_NaN();
  xs[1001] = -std::numeric_limits<float>::infinity();
  Tensor h = cast(constant(xs), bfloat16);
  Tensor back = cast(h, float32);
  const auto* hb = static_cast<const bfloat16_t*>(h.raw_data());
  const std::vector<float> wide = back.to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i) {
    ASSERT_EQ(hb[i].bits, half_detail::float_to_bfloat16(xs[i])) << "element " << i;
    ASSERT_EQ(half_detail::bits_of(wide[i]), half_detail::bits_of(static_cast<float>(hb[i]))) << "element " << i;
  }
}

// Add, Sub, Mul and Div on the 16-bit floats run float32 lanes: the same
// bits as one element at a time (widen both, operate in float32, round
// once), in every run pattern: equal shapes, a scalar on either side, a
// broadcast row, and a broadcast column on either side (lanes and tails).
TEST(Vectorised16Bit, ArithmeticRoundsOnceAsOneElementAtATime) {
  DeviceScope cpu(Device::cpu());
  struct Pattern {
    TensorShape a, b;
  };
  const std::vector<Pattern> patterns = {{{1003}, {1003}}, {{}, {1003}}, {{1003}, {}},       {{7, 131}, {131}},
                                         {{131}, {7, 131}}, {{7, 1}, {7, 131}}, {{7, 131}, {7, 1}}};
  using Op = Tensor (*)(const Tensor&, const Tensor&);
  const std::vector<std::tuple<const char*, Op, double (*)(float, float)>> ops = {
      {"add", [](const Tensor& x, const Tensor& y) { return x + y; }, [](float x, float y) { return double(x + y); }},
      {"sub", [](const Tensor& x, const Tensor& y) { return x - y; }, [](float x, float y) { return double(x - y); }},
      {"mul", [](const Tensor& x, const Tensor& y) { return x * y; }, [](float x, float y) { return double(x * y); }},
      {"div", [](const Tensor& x, const Tensor& y) { return x / y; }, [](float x, float y) { return double(x / y); }}};
  uint32_t seed = 40;
  for (DType dt : {bfloat16, float16})
    for (const Pattern& p : patterns) {
      std::vector<double> av, bv;
      Tensor a = random_tensor(p.a, dt, -3, 3, seed++, &av);
      Tensor b = random_tensor(p.b, dt, -3, 3, seed++, &bv);
      for (const auto& [name, op, f] : ops) {
        SCOPED_TRACE(detail::str_cat(dtype_name(dt), " ", name, " ", p.a.to_debug_string(), " ",
                                     p.b.to_debug_string()));
        Tensor got = op(a, b);
        const TensorShape& out = got.shape();
        const std::vector<double> g = values(got);
        ASSERT_EQ(static_cast<int64_t>(g.size()), out.num_elements());
        const int64_t cols = out.rank() == 0 ? 1 : out.dim(-1);
        // An operand's element for output (row, col): by its own extent.
        auto at = [&](const std::vector<double>& v, const TensorShape& s, int64_t i) {
          const int64_t row = i / cols, col = i % cols;
          const int64_t r = s.rank() == 2 && s.dim(0) > 1 ? row : 0;
          const int64_t c = s.rank() >= 1 && s.dim(-1) > 1 ? col : 0;
          return static_cast<float>(v[static_cast<size_t>(r * (s.rank() >= 1 ? s.dim(-1) : 1) + c)]);
        };
        for (int64_t i = 0; i < out.num_elements(); ++i) {
          const double want = round_to(f(at(av, p.a, i), at(bv, p.b, i)), dt);
          ASSERT_EQ(g[static_cast<size_t>(i)], want) << "element " << i;
        }
      }
    }
}

// The 16-bit floats take the float32 lanes too (widened, computed, rounded
// once): exp, tanh, sigmoid, tanh-form gelu and its gradient over lanes and a
// tail, each within one rounding of the 16-bit type (plus float32's own
// error) of the float64 value on the same 16-bit inputs.
TEST(Vectorised16Bit, WithinOneRoundingOfTheFloat64Value) {
  DeviceScope cpu(Device::cpu());
  const double k = std::sqrt(2 / M_PI), a = 0.044715;
  auto gelu64 = [&](double x) { return 0.5 * x * (1 + std::tanh(k * (x + a * x * x * x))); };
  auto gelu_grad64 = [&](double dy, double x) {
    const double t = std::tanh(k * (x + a * x * x * x));
    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * a * x * x));
  };
  for (DType dt : {bfloat16, float16}) {
    SCOPED_TRACE(dtype_name(dt));
    const double ulp = dt == bfloat16 ? 1.0 / 128 : 1.0 / 1024;  // the format's relative spacing
    std::vector<double> xs, dys;
    Tensor x = random_tensor({1003}, dt, -5, 5, 21, &xs);
    Tensor dy = random_tensor({1003}, dt, -2, 2, 22, &dys);
    auto expect = [&](const char* what, const Tensor& got, auto f) {
      std::vector<double> want;
      for (size_t i = 0; i < xs.size(); ++i) want.push_back(f(i));
      EXPECT_TRUE(all_close(got, want, {1003}, ulp, 1e-6)) << what;
    };
    expect("exp", exp(x), [&](size_t i) { return std::exp(xs[i]); });
    expect("tanh", tanh(x), [&](size_t i) { return std::tanh(xs[i]); });
    expect("sigmoid", sigmoid(x), [&](size_t i) { return 1 / (1 + std::exp(-xs[i])); });
    expect("gelu", gelu(x, true), [&](size_t i) { return gelu64(xs[i]); });
    expect("gelu_grad", execute1(op_def(op_name::GeluGrad), {dy, x}, {{"approximate", true}}),
           [&](size_t i) { return gelu_grad64(dys[i], xs[i]); });
  }
}

}  // namespace
}  // namespace ember::test
