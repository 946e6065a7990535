// Initializers against the values Keras 3 / TensorFlow 2.21 gave for the same
// seeds (tests/tf/make_random_fixtures.py), Keras's fan rules, and what an
// orthogonal matrix must satisfy.
#include <cmath>

#include "nn/initializers.h"
#include "test_util.h"

namespace ember::test {
namespace {

using namespace initializers;

class InitializersTest : public DeviceTest {
 protected:
  void TearDown() override { random::clear_seed(); }
};

void expect_keras(const std::string& name, const Tensor& got, double gpu_ulps) {
  expect_tf_draw(name, got, gpu_ulps);
}

TEST_P(InitializersTest, SeededInitializersGiveKerassValues) {
  expect_keras("init/glorot_normal_1", GlorotNormal(1)({20, 30}), 2);
  expect_keras("init/glorot_uniform_1", GlorotUniform(1)({20, 30}), 0);
  expect_keras("init/he_normal_conv_2", HeNormal(2)({3, 3, 4, 8}), 2);
  expect_keras("init/he_uniform_conv_2", HeUniform(2)({3, 3, 4, 8}), 0);
  expect_keras("init/lecun_normal_3", LecunNormal(3)({7, 5}), 2);
  expect_keras("init/lecun_uniform_3", LecunUniform(3)({7, 5}), 0);
  expect_keras("init/random_normal_4", RandomNormal(0.5, 2.0, 4)({3, 4}), 2);
  expect_keras("init/random_uniform_4", RandomUniform(-1.0, 2.0, 4)({3, 4}), 0);
  expect_keras("init/truncated_normal_5", TruncatedNormal(0, 0.1, 5)({6}), 2);
  expect_keras("init/glorot_normal_f64_7", GlorotNormal(7)({4, 3}, float64), 2);
  // Keras folds a seed into int32 range: 3e9 mod (2^31 - 2).
  expect_keras("init/seed_big", GlorotUniform(3000000000)({2, 2}), 0);
}

// Variables of a 16-bit policy ("bfloat16", "float16") are initialised in
// their dtype, as Keras draws them.
TEST_P(InitializersTest, SixteenBitInitializersGiveKerassValues) {
  for (auto [t, short_name] : {std::pair{bfloat16, "bf16"}, std::pair{float16, "f16"}}) {
    const std::string n = short_name;
    expect_keras("half/glorot_uniform_1_" + n, GlorotUniform(1)({20, 30}, t), 0);
    expect_keras("half/glorot_normal_1_" + n, GlorotNormal(1)({20, 30}, t), 1);
    expect_keras("half/random_uniform_4_" + n, RandomUniform(-1.0, 2.0, 4)({3, 4}, t), 0);
  }
}

// tf.random_normal_initializer / tf.random_uniform_initializer (not Keras's):
// unseeded, each call is the next stateful draw after set_seed(42); seeded,
// the stateless numbers of [seed, 0].
TEST_P(InitializersTest, TensorFlowsOwnInitializersDrawAsTensorFlow) {
  random::set_seed(42);
  expect_keras("init_v2/random_normal", random_normal_initializer()({3, 4}), 2);
  random_normal_initializer rn(1.0, 2.0);
  expect_keras("init_v2/random_normal_call1", rn({5}), 2);
  expect_keras("init_v2/random_normal_call2", rn({5}), 2);
  expect_keras("init_v2/random_uniform", random_uniform_initializer(-1.0, 2.0)({2, 3}), 0);
  expect_keras("init_v2/random_normal_f64", random_normal_initializer()({3}, float64), 2);
  expect_keras("init_v2/random_normal_seed7", random_normal_initializer(0, 0.05, 7)({4}), 2);
  expect_keras("init_v2/random_uniform_seed7", random_uniform_initializer(-0.05, 0.05, 7)({4}), 0);
  expect_keras("init_v2/random_uniform_seed0", random_uniform_initializer(-0.05, 0.05, 0)({3}), 0);
  EXPECT_THROW(random_normal_initializer()({2}, int32), InvalidArgument);
}

TEST_P(InitializersTest, OrthogonalMatchesKerasToFloatRounding) {
  // Keras factors in float32 and ember in float64, so the last bits differ.
  for (auto [name, got] : {std::pair{"init/orthogonal_6", Orthogonal(1.0, 6)({6, 4})},
                           std::pair{"init/orthogonal_wide_6", Orthogonal(2.0, 6)({3, 5})}}) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures("tf_random.txt").at(name);
    ASSERT_EQ(got.shape(), want.shape);
    auto v = values(got);
    for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], want.values[i], 2e-6) << i;
  }
}

TEST_P(InitializersTest, OrthogonalColumnsOrRowsAreOrthonormal) {
  for (TensorShape shape : {TensorShape{8, 3}, TensorShape{3, 8}, TensorShape{2, 2, 3, 4}}) {
    SCOPED_TRACE(shape.to_string());
    Tensor q = Orthogonal(1.5, 11)(shape, float64);
    EXPECT_EQ(q.shape(), shape);
    Tensor m = reshape(q, {-1, shape.dim(-1)});
    bool tall = m.dim(0) >= m.dim(1);
    Tensor gram = tall ? matmul(m, m, true, false) : matmul(m, m, false, true);
    auto g = values(gram);
    int64_t k = gram.dim(0);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        EXPECT_NEAR(g[static_cast<size_t>(i * k + j)], i == j ? 2.25 : 0.0, 1e-12);
  }
}

TEST_P(InitializersTest, SeededOrNotAnInitializerRepeatsItself) {
  GlorotUniform seeded(5), unseeded;
  EXPECT_EQ(values(seeded({4, 4})), values(seeded({4, 4})));
  EXPECT_EQ(values(unseeded({4, 4})), values(unseeded({4, 4})));
  EXPECT_NE(values(GlorotUniform()({4, 4})), values(GlorotUniform()({4, 4})));
  // After set_seed the seeds unseeded initializers take are reproducible.
  random::set_seed(9);
  auto first = values(HeNormal()({5}));
  random::set_seed(9);
  EXPECT_EQ(values(HeNormal()({5})), first);
}

TEST_P(InitializersTest, FansFollowKeras) {
  EXPECT_EQ(compute_fans({}).fan_in, 1);
  EXPECT_EQ(compute_fans({7}).fan_out, 7);
  EXPECT_EQ(compute_fans({3, 5}).fan_in, 3);
  EXPECT_EQ(compute_fans({3, 5}).fan_out, 5);
  Fans conv = compute_fans({3, 3, 4, 8});  // receptive field 9
  EXPECT_EQ(conv.fan_in, 36);
  EXPECT_EQ(conv.fan_out, 72);
  // Glorot uniform's limit: sqrt(6 / (fan_in + fan_out)).
  auto v = values(GlorotUniform(1)({300, 100}));
  double limit = std::sqrt(6.0 / 400);
  double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  EXPECT_GE(lo, -limit);
  EXPECT_LE(hi, limit);
  EXPECT_LT(lo, -0.99 * limit);
  EXPECT_GT(hi, 0.99 * limit);
}

TEST_P(InitializersTest, ConstantsAndNames) {
  EXPECT_EQ(values(Zeros()({2, 2})), std::vector<double>(4, 0.0));
  EXPECT_EQ(values(Ones()({3}, float64)), std::vector<double>(3, 1.0));
  EXPECT_EQ(values(Constant(2.5)({2})), std::vector<double>(2, 2.5));
  EXPECT_EQ(get("glorot_uniform")->name(), "glorot_uniform");
  EXPECT_EQ((*get("zeros"))({3}).shape(), TensorShape{3});
  try {
    get("glorot");
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown initializer 'glorot'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("he_normal"), std::string::npos);
  }
  EXPECT_THROW(Orthogonal()({5}), InvalidArgument);
  EXPECT_THROW(GlorotNormal()(TensorShape{-1, 3}), InvalidArgument);
}

EMBER_INSTANTIATE_DEVICE_TESTS(InitializersTest);

}  // namespace
}  // namespace ember::test
