// TensorFlow's rejection samplers (kernels/samplers.h): gamma draws
// (tf.random.gamma, stateless_gamma) and their gradient (RandomGammaGrad),
// Poisson draws (tf.random.poisson, stateless_poisson) and binomial draws
// (tf.random.stateless_binomial). TensorFlow's samples bit for bit
// (fixtures in tests/data/tf_random.txt), its seeding rules, the implicit
// gradient against TensorFlow's values and against a long-double quadrature
// of the defining integral, and the Poisson and binomial counts'
// frequencies against the distributions'.
#include <cmath>
#include <vector>

#include "graph/function.h"

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::RandomGamma, op_name::StatelessRandomGammaV2, op_name::RandomGammaGrad,
                         op_name::RandomPoissonV2, op_name::StatelessRandomPoisson, op_name::StatelessRandomBinomial};

class GammaTest : public DeviceTest {
 protected:
  void TearDown() override { random::clear_seed(); }
};

// A GPU's log, log1p and pow may differ from glibc's in the last bit, as
// TensorFlow's GPU kernels' do; on the CPU every bit is TensorFlow's.
constexpr double kGpuUlps = 4;

TEST_P(GammaTest, StatelessGammaIsTensorFlows) {
  const Tensor alpha = constant({0.5f, 1.0f, 3.0f});
  expect_tf_draw("gamma/stateless", random::stateless_gamma({40, 3}, {1, 2}, alpha), kGpuUlps);
  expect_tf_draw("gamma/stateless_f64", random::stateless_gamma({40, 3}, {1, 2}, cast(alpha, float64)), kGpuUlps);
  expect_tf_draw("gamma/stateless_f16", random::stateless_gamma({40, 3}, {1, 2}, cast(alpha, float16)), 1);
  // beta divides (broadcast with alpha: [2, 1] and [3] make [2, 3]).
  expect_tf_draw("gamma/stateless_beta",
                 random::stateless_gamma({5, 2, 3}, {7, 3}, constant({2.5f, 0.25f}, {2, 1}), constant({4.f, 0.5f, 1.f})),
                 kGpuUlps);
  // alpha 0.01 underflows to float32's smallest normal number; 1000 is far
  // in the squeeze's range.
  expect_tf_draw("gamma/stateless_extreme", random::stateless_gamma({8, 4}, {5, 5}, constant({0.01f, 0.2f, 100.f, 1000.f})),
                 kGpuUlps);
  expect_tf_draw("gamma/stateless_tiny_f16", random::stateless_gamma({16}, {2, 9}, cast(constant(0.05f), float16)), 1);
  // TensorFlow's StatelessRandomGammaV2: the shape and an int32 seed as
  // tensors, eagerly and traced with neither known.
  const Tensor shape = constant(std::vector<int32_t>{6, 2}), seed = constant(std::vector<int32_t>{4, 4});
  const Tensor alpha2 = constant({0.7f, 1.7f});
  expect_tf_draw("gamma/raw_v2_int32_seed", random::stateless_gamma(shape, seed, alpha2), kGpuUlps);
  auto f = function([](Tensor s, Tensor sd, Tensor a) { return random::stateless_gamma(s, sd, a); });
  expect_tf_draw("gamma/raw_v2_int32_seed", f(shape, seed, alpha2), kGpuUlps);
}

// tf.random.gamma: the shape followed by alpha's; an op seed's stream
// continued by 256 blocks per output; eagerly and traced (the node's stream
// continued at each call).
TEST_P(GammaTest, GammaFollowsTensorFlowsSeedRules) {
  const Tensor alpha = constant({0.3f, 2.5f});
  random::set_seed(17);
  expect_tf_draw("gamma/global17_op3", random::gamma({4}, alpha, {}, 3), kGpuUlps);
  expect_tf_draw("gamma/global17_op3_again", random::gamma({4}, alpha, {}, 3), kGpuUlps);
  expect_tf_draw("gamma/global17_op3_f64", random::gamma({2, 3}, constant(1.5, float64), {}, 3), kGpuUlps);
  expect_tf_draw("gamma/global17_fresh_beta",
                 random::gamma({3}, constant({1.f, 4.f}, {1, 2}), constant({2.f, 0.5f}, {2, 1})), kGpuUlps);
  random::set_seed(17);
  auto f = function([](Tensor a) { return random::gamma({4}, a, {}, 3); });
  expect_tf_draw("gamma/global17_op3", f(alpha), kGpuUlps);
  expect_tf_draw("gamma/global17_op3_again", f(alpha), kGpuUlps);
}

// ψ in long double: the recurrence up to 30, then the asymptotic series.
long double digamma_ld(long double a) {
  long double r = 0;
  for (; a < 30; a += 1) r -= 1 / a;
  const long double i2 = 1 / (a * a);
  return r + std::log(a) - 1 / (2 * a) -
         i2 * (1.0L / 12 - i2 * (1.0L / 120 - i2 * (1.0L / 252 - i2 * (1.0L / 240 - i2 / 132))));
}

// Simpson's rule of f over [lo, hi] with n (even) intervals, in long double.
template <typename F>
long double simpson(F f, long double lo, long double hi, int n) {
  const long double h = (hi - lo) / n;
  long double s = f(lo) + f(hi);
  for (int i = 1; i < n; ++i) s += f(lo + i * h) * (i % 2 ? 4 : 2);
  return s * h / 3;
}

// dx/da of a Gamma(a, 1) sample x: -(∂P(a, x)/∂a) / p(x), where ∂P/∂a =
// ∫₀ˣ t^(a-1) e^-t (ln t - ψ(a)) dt / Γ(a) = -∫ₓ^∞ (the same) (the whole
// integral is Γ'(a) - ψ(a)Γ(a) = 0), by quadrature: the upper tail for x
// beyond a + 1 (t = x + s), else the lower part (t = x·z^(4/a), which makes
// the integrand smooth at 0).
double gamma_sample_der_alpha_reference(double a_in, double x_in) {
  const long double a = a_in, x = x_in, psi = digamma_ld(a);
  if (x > a + 1) {
    return static_cast<double>(simpson(
        [&](long double s) { return std::pow(1 + s / x, a - 1) * std::exp(-s) * (std::log(x + s) - psi); }, 0, 90,
        40000));
  }
  const long double integral = simpson(
      [&](long double z) {
        if (z == 0) return 0.0L;
        const long double t = x * std::pow(z, 4 / a);
        return 4 * z * z * z * std::exp(-t) * (std::log(x) + 4 * std::log(z) / a - psi);
      },
      0, 1, 40000);
  return static_cast<double>(-x * std::exp(x) / a * integral);
}

// RandomGammaGrad on both of its branches: TensorFlow's values, and the
// quadrature everywhere (also where TensorFlow's float32 or float64
// prefactor underflows and it gives 0; ember's formula has no prefactor to
// underflow, so it gives the derivative there).
TEST_P(GammaTest, GammaGradIsTheImplicitDerivative) {
  const std::vector<double> alphas = {0.05, 0.5, 1.0, 2.5, 10.0, 150.0};
  const std::vector<double> samples = {1e-3, 0.3, 1.0, 2.0, 9.0, 40.0, 160.0};
  for (DType t : {float32, float64}) {
    SCOPED_TRACE(dtype_name(t));
    // (float32's values in both dtypes, as the fixture's: its float64 inputs are casts of float32's)
    const Tensor a = cast(cast(constant(alphas), float32), t), x = reshape(cast(cast(constant(samples), float32), t), {7, 1});
    const std::vector<double> got = values(random::gamma_grad(a, x));
    const TfCase& want = tf_fixtures("tf_random.txt").at(t == float32 ? "gamma/grad_f32" : "gamma/grad_f64");
    ASSERT_EQ(got.size(), want.values.size());
    int compared = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double av = alphas[i % 6], xv = samples[i / 6];
      const double ref = gamma_sample_der_alpha_reference(double(float(av)), double(float(xv)));
      const double tol = t == float32 ? 2e-6 : 1e-9;
      EXPECT_NEAR(got[i], ref, tol * std::abs(ref) + 1e-30) << "alpha " << av << ", sample " << xv;
      if (want.values[i] != 0) {
        EXPECT_NEAR(got[i], want.values[i], (t == float32 ? 3e-5 : 1e-10) * std::abs(want.values[i]))
            << "alpha " << av << ", sample " << xv;
        ++compared;
      }
    }
    // TensorFlow gives 0 where x^a·e^-x/Γ(a) underflows its dtype (below
    // e^-88.7 in float32: alpha 150 up to x = 9, and x = 160 but for alpha
    // 150; below e^-709 in float64: alpha 150 at x = 0.001 and 0.3).
    EXPECT_EQ(compared, t == float32 ? 32 : 40);
  }
  // The edges: 0 at a zero sample, NaN outside the domain, 0 for an infinite sample.
  const std::vector<double> edge = values(random::gamma_grad(constant({2.0, 2.0, -1.0, 2.0, 2.0}),
                                                             constant({0.0, -1.0, 1.0, double(INFINITY), double(NAN)})));
  EXPECT_EQ(edge[0], 0.0);
  EXPECT_TRUE(std::isnan(edge[1]));
  EXPECT_TRUE(std::isnan(edge[2]));
  EXPECT_EQ(edge[3], 0.0);
  EXPECT_TRUE(std::isnan(edge[4]));
}

// The tape's gradients of a stateless gamma draw in alpha (RandomGammaGrad,
// summed over the sample dimensions) and beta (through the division) are
// TensorFlow's.
TEST_P(GammaTest, GradientsInAlphaAndBetaAreTensorFlows) {
  Variable alpha(constant(std::vector<double>{0.4, 1.0, 2.0, 7.5})), beta(constant(std::vector<double>{1.5, 0.5}, {2, 1}));
  GradientTape tape;
  const Tensor y = random::stateless_gamma({30, 2, 4}, {11, 12}, alpha.read_value(), beta.read_value());
  const Tensor w = reshape(range(0, 240, 1, float64) / 240.0, {30, 2, 4});
  const Tensor loss = reduce_sum(square(y) * w);
  const std::vector<Tensor> grads = tape.gradient(loss, {alpha, beta});
  // (TensorFlow's RandomGammaGrad stops its series where Eigen's criterion
  // does, ember's where its own does: the last digits differ.)
  for (auto [name, g] : {std::pair{"gamma/tape_dalpha_f64", grads[0]}, std::pair{"gamma/tape_dbeta_f64", grads[1]}}) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures("tf_random.txt").at(name);
    EXPECT_EQ(g.shape(), want.shape);
    EXPECT_TRUE(all_close(g, want.values, want.shape, 1e-10, 0));
  }
  // tf.random.gamma's (RandomGamma: the sample dimensions before alpha's).
  random::set_seed(23);
  Variable alpha2(constant(std::vector<double>{0.4, 3.0})), beta2(constant(0.8, float64));
  GradientTape tape2;
  const Tensor y2 = random::gamma({20}, alpha2.read_value(), beta2.read_value(), 2);
  const Tensor loss2 = reduce_sum(sqrt(y2) * reshape(range(0, 40, 1, float64) / 40.0, {20, 2}));
  const std::vector<Tensor> grads2 = tape2.gradient(loss2, {alpha2, beta2});
  for (auto [name, g] : {std::pair{"gamma/tape_stateful_dalpha_f64", grads2[0]},
                         std::pair{"gamma/tape_stateful_dbeta_f64", grads2[1]}}) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures("tf_random.txt").at(name);
    EXPECT_EQ(g.shape(), want.shape);
    EXPECT_TRUE(all_close(g, want.values, want.shape, 1e-10, 0));
  }
}

TEST_P(GammaTest, EmptyAndMalformed) {
  EXPECT_EQ(random::stateless_gamma({0, 3}, {1, 2}, constant({1.f, 2.f, 3.f})).shape(), TensorShape({0, 3}));
  EXPECT_EQ(random::gamma({2}, zeros({0})).shape(), TensorShape({2, 0}));
  EXPECT_EQ(random::gamma({2, 3}, constant(2.f)).shape(), TensorShape({2, 3}));
  // NaN alpha, and alpha below -2/3 (TensorFlow's sampler has no square
  // root of d there): NaN, as TensorFlow's.
  const std::vector<double> odd = values(random::stateless_gamma({2}, {1, 1}, constant({double(NAN), -1.0}, {2})));
  EXPECT_TRUE(std::isnan(odd[0]));
  EXPECT_TRUE(std::isnan(odd[1]));
  EXPECT_NE(error_of<InvalidArgument>([] { random::stateless_gamma({3, 2}, {1, 2}, constant({1.f, 2.f, 3.f})); })
                .find("Shape passed in must end with broadcasted shape."),
            std::string::npos);
  EXPECT_EQ(error_of<InvalidArgument>([] { random::gamma({2}, constant(2)); }),
            "[random::gamma] alpha must be a floating dtype, got int32");
  EXPECT_EQ(error_of<InvalidArgument>([] { random::gamma({2}, constant(2.f), constant(1.0, float64)); }),
            "[random::gamma] beta must have alpha's dtype, float32, got float64");
  // RandomGammaGrad has no gradient of its own (TensorFlow defines none).
  Variable a(constant({2.0}));
  GradientTape tape;
  const Tensor g = random::gamma_grad(a.read_value(), constant({1.5}));
  EXPECT_NE(error_of<Unimplemented>([&] { tape.gradient(g, a); }).find("no gradient is defined for op RandomGammaGrad"),
            std::string::npos);
}

EMBER_INSTANTIATE_DEVICE_TESTS(GammaTest);

class PoissonTest : public DeviceTest {
 protected:
  void TearDown() override { random::clear_seed(); }
};

TEST_P(PoissonTest, StatelessPoissonIsTensorFlows) {
  const Tensor rate = constant({0.5f, 4.0f, 25.0f});
  expect_tf_draw("poisson/stateless", random::stateless_poisson({40, 3}, {1, 2}, rate), 0);
  expect_tf_draw("poisson/stateless_f32", random::stateless_poisson({40, 3}, {1, 2}, rate, float32), 0);
  // Either side of Knuth's and Hörmann's threshold, and large rates.
  expect_tf_draw("poisson/stateless_f64_int64",
                 random::stateless_poisson({10, 4}, {3, 8}, constant(std::vector<double>{9.99, 10.0, 1000.0, 1e6}), int64),
                 0);
  expect_tf_draw("poisson/stateless_edges",
                 random::stateless_poisson({3, 4}, {6, 1}, constant({0.0f, -2.0f, 1e-3f, 60.0f}), float32), 0);
  expect_tf_draw("poisson/stateless_inf", random::stateless_poisson({2, 2}, {6, 1}, constant({INFINITY, 3.0f}), float32), 0);
  expect_tf_draw("poisson/stateless_inf_int32", random::stateless_poisson({2, 2}, {6, 1}, constant({INFINITY, 3.0f})), 0);
  expect_tf_draw("poisson/stateless_f16", random::stateless_poisson({20}, {2, 2}, constant(7.5, float16), float16), 0);
  expect_tf_draw("poisson/stateless_int_rate", random::stateless_poisson({6, 2}, {5, 4}, constant({3, 12})), 0);
  // TensorFlow's op with the shape and an int32 seed as tensors, eagerly
  // and traced with neither known.
  const Tensor shape = constant(std::vector<int32_t>{5, 2}), seed = constant(std::vector<int32_t>{4, 4});
  const Tensor rate2 = constant({0.7f, 17.0f});
  expect_tf_draw("poisson/raw_int32_seed", random::stateless_poisson(shape, seed, rate2, float32), 0);
  auto f = function([](Tensor s, Tensor sd, Tensor r) { return random::stateless_poisson(s, sd, r, float32); });
  expect_tf_draw("poisson/raw_int32_seed", f(shape, seed, rate2), 0);
}

// A seeded op's stream is its eager kernel's: a categorical draw of another
// output dtype starts its own, while a Poisson draw of another rate dtype
// continues the same one (TensorFlow 2.21's behaviour, both).
TEST_P(PoissonTest, EachKernelHasItsStream) {
  random::set_seed(31);
  expect_tf_draw("streams/poisson_f32_rate", random::poisson({3}, constant(2.0f), float32, 5), 0);
  expect_tf_draw("streams/poisson_f64_rate", random::poisson({3}, constant(2.0, float64), float32, 5), 0);
  expect_tf_draw("streams/poisson_f32_rate_again", random::poisson({3}, constant(2.0f), float32, 5), 0);
  const Tensor logits = constant({0.f, 1.f}, {1, 2});
  expect_tf_draw("streams/categorical_int64", random::categorical(logits, 6, int64, 5), 0);
  expect_tf_draw("streams/categorical_int32", random::categorical(logits, 6, int32, 5), 0);
  expect_tf_draw("streams/categorical_int64_again", random::categorical(logits, 6, int64, 5), 0);
}

// tf.random.poisson: the shape followed by the rate's; an op seed's stream
// continued by 256 blocks per output; eagerly and traced.
TEST_P(PoissonTest, PoissonFollowsTensorFlowsSeedRules) {
  const Tensor rate = constant({2.0f, 15.0f});
  random::set_seed(29);
  expect_tf_draw("poisson/global29_op4", random::poisson({5}, rate, float32, 4), 0);
  expect_tf_draw("poisson/global29_op4_again", random::poisson({5}, rate, float32, 4), 0);
  expect_tf_draw("poisson/global29_op4_int32", random::poisson({3, 2}, constant(8.0f), int32, 4), 0);
  expect_tf_draw("poisson/global29_fresh", random::poisson({4}, constant({1.0f, 30.0f}, {1, 2}), int64), 0);
  random::set_seed(29);
  auto f = function([](Tensor r) { return random::poisson({5}, r, float32, 4); });
  expect_tf_draw("poisson/global29_op4", f(rate), 0);
  expect_tf_draw("poisson/global29_op4_again", f(rate), 0);
}

// The counts' frequencies against Poisson's probabilities e^-λ·λ^k/k! (in
// long double), at a rate of each algorithm: 20000 draws, every count with
// an expected frequency of at least 1% within 5 standard deviations, and
// the mean and variance λ within 5 of theirs.
TEST_P(PoissonTest, CountsHaveThePoissonDistribution) {
  for (double rate : {3.5, 23.0}) {
    SCOPED_TRACE(rate);
    const int64_t n = 20000;
    const std::vector<double> k = values(random::stateless_poisson({n}, {9, 9}, constant(rate, float64), float64));
    std::vector<double> count(200, 0.0);
    double sum = 0, squares = 0;
    for (double v : k) {
      ASSERT_EQ(v, std::floor(v));
      ASSERT_GE(v, 0);
      count[static_cast<size_t>(std::min(v, 199.0))] += 1;
      sum += v;
      squares += v * v;
    }
    for (int j = 0; j < 200; ++j) {
      const long double p = std::exp(-static_cast<long double>(rate) + j * std::log(static_cast<long double>(rate)) -
                                     std::lgamma(static_cast<long double>(j) + 1));
      if (p < 0.01) continue;
      const double sd = std::sqrt(double(n) * double(p) * (1 - double(p)));
      EXPECT_NEAR(count[size_t(j)], double(n) * double(p), 5 * sd) << "count " << j;
    }
    const double mean = sum / n, variance = squares / n - mean * mean;
    EXPECT_NEAR(mean, rate, 5 * std::sqrt(rate / n));
    EXPECT_NEAR(variance, rate, 5 * rate * std::sqrt(2.0 / n));
  }
}

TEST_P(PoissonTest, EmptyAndMalformed) {
  EXPECT_EQ(random::stateless_poisson({0, 3}, {1, 2}, constant({1.f, 2.f, 3.f})).shape(), TensorShape({0, 3}));
  EXPECT_EQ(random::poisson({2}, zeros({0})).shape(), TensorShape({2, 0}));
  EXPECT_NE(error_of<InvalidArgument>([] { random::stateless_poisson({3, 2}, {1, 2}, constant({1.f, 2.f, 3.f})); })
                .find("Shape passed in must end with broadcasted shape."),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { random::poisson({2}, constant(2.f), bool_); })
                .find("dtype must be a floating dtype, int32 or int64, got bool"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { random::poisson({2}, constant(true)); })
                .find("rate must be a floating dtype, int32 or int64, got bool"),
            std::string::npos);
  // A NaN rate, where TensorFlow's loop never ends: NaN once the sample's
  // 256 blocks are spent (an integer dtype's lowest value).
  const std::vector<double> nan_counts = values(random::stateless_poisson({2}, {1, 1}, constant(NAN), float32));
  EXPECT_TRUE(std::isnan(nan_counts[0]) && std::isnan(nan_counts[1]));
  EXPECT_EQ(random::stateless_poisson({1}, {1, 1}, constant(NAN)).to_vector<int32_t>()[0], INT32_MIN);
  // Not differentiable: no gradient flows to the rate.
  Variable r(constant({2.0f, 30.0f}));
  GradientTape tape;
  const Tensor y = reduce_sum(random::stateless_poisson({3, 2}, {4, 5}, r.read_value(), float32));
  EXPECT_FALSE(tape.gradient(y, r).defined());
}

EMBER_INSTANTIATE_DEVICE_TESTS(PoissonTest);

class BinomialTest : public DeviceTest {};

TEST_P(BinomialTest, StatelessBinomialIsTensorFlows) {
  // Inversion (count·p below 10), BTRS, and p above 1/2 by its complement.
  expect_tf_draw("binomial/stateless",
                 random::stateless_binomial({30, 4}, {1, 2}, constant({5.f, 40.f, 100.f, 1000.f}),
                                            constant({0.3f, 0.2f, 0.75f, 0.5f})),
                 0);
  expect_tf_draw("binomial/stateless_f64",
                 random::stateless_binomial({20, 2, 3}, {3, 4}, constant(std::vector<double>{10.0, 300.0}, {2, 1}),
                                            constant(std::vector<double>{0.05, 0.5, 0.97}), float64),
                 0);
  // Counts or probabilities at most 0 give 0, probabilities at least 1 the
  // count, a NaN probability NaN.
  expect_tf_draw("binomial/stateless_edges",
                 random::stateless_binomial({3, 6}, {5, 6}, constant({0.f, -3.f, 7.f, 7.f, 7.f, 12.f}),
                                            constant({0.5f, 0.5f, 0.f, 1.f, 1.5f, NAN}), float32),
                 0);
  expect_tf_draw("binomial/stateless_int64",
                 random::stateless_binomial({8, 3}, {7, 7}, constant({20.f, 50.f, 2e6f}), constant({0.999f, 0.01f, 0.3f}),
                                            int64),
                 0);
  expect_tf_draw("binomial/stateless_f16",
                 random::stateless_binomial({12, 2}, {8, 1}, cast(constant({30.f, 4.f}), float16),
                                            cast(constant({0.5f, 0.9f}), float16), float16),
                 0);
  const Tensor shape = constant(std::vector<int32_t>{5, 2}), seed = constant(std::vector<int32_t>{4, 4});
  const Tensor counts = constant({25.f, 3.f}), probs = constant({0.6f, 0.1f});
  expect_tf_draw("binomial/raw_int32_seed", random::stateless_binomial(shape, seed, counts, probs), 0);
  auto f = function([](Tensor s, Tensor sd, Tensor n, Tensor p) { return random::stateless_binomial(s, sd, n, p); });
  expect_tf_draw("binomial/raw_int32_seed", f(shape, seed, counts, probs), 0);
}

// The counts' frequencies against the binomial probabilities C(n, k)·p^k·
// (1 - p)^(n - k) (in long double), for each algorithm: 20000 draws, every
// count with an expected frequency of at least 1% within 5 standard
// deviations, and the mean n·p within 5 of its.
TEST_P(BinomialTest, CountsHaveTheBinomialDistribution) {
  for (auto [count, p] : {std::pair{12.0, 0.3}, std::pair{80.0, 0.4}, std::pair{30.0, 0.9}, std::pair{200.0, 0.7}}) {
    SCOPED_TRACE(::testing::Message() << "n " << count << ", p " << p);
    const int64_t n = 20000;
    const std::vector<double> k = values(
        random::stateless_binomial({n}, {9, 9}, constant(count, float64), constant(p, float64), float64));
    std::vector<double> frequency(static_cast<size_t>(count) + 1, 0.0);
    double sum = 0;
    for (double v : k) {
      ASSERT_EQ(v, std::floor(v));
      ASSERT_GE(v, 0);
      ASSERT_LE(v, count);
      frequency[static_cast<size_t>(v)] += 1;
      sum += v;
    }
    for (size_t j = 0; j < frequency.size(); ++j) {
      const long double jj = static_cast<long double>(j), nn = count;
      const long double log_p = std::lgamma(nn + 1) - std::lgamma(jj + 1) - std::lgamma(nn - jj + 1) +
                                jj * std::log(static_cast<long double>(p)) + (nn - jj) * std::log1p(-static_cast<long double>(p));
      const double prob = static_cast<double>(std::exp(log_p));
      if (prob < 0.01) continue;
      EXPECT_NEAR(frequency[j], n * prob, 5 * std::sqrt(n * prob * (1 - prob))) << "count " << j;
    }
    EXPECT_NEAR(sum / n, count * p, 5 * std::sqrt(count * p * (1 - p) / n));
  }
}

TEST_P(BinomialTest, Malformed) {
  EXPECT_EQ(random::stateless_binomial({0, 2}, {1, 2}, constant({3.f, 4.f}), constant(0.5f)).shape(), TensorShape({0, 2}));
  EXPECT_NE(error_of<InvalidArgument>([] {
              random::stateless_binomial({3, 2}, {1, 2}, constant({1.f, 2.f, 3.f}), constant(0.5f));
            }).find("Shape passed in must end with broadcasted shape."),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { random::stateless_binomial({2}, {1, 2}, constant({1.f, 2.f}), constant(0.5, float64)); })
                .find("probs must have counts' dtype, float32, got float64"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { random::stateless_binomial({2}, {1, 2}, constant({1, 2}), constant({0, 1})); })
                .find("counts must be a floating dtype, got int32"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] {
              random::stateless_binomial({2}, {1, 2}, constant({1.f, 2.f}), constant(0.5f), bool_);
            }).find("dtype must be a floating dtype, int32 or int64, got bool"),
            std::string::npos);
}

EMBER_INSTANTIATE_DEVICE_TESTS(BinomialTest);

}  // namespace
}  // namespace ember::test
