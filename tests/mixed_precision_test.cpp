// Mixed precision: Keras 3's dtype policies on ember's layers, and
// LossScaleOptimizer against TensorFlow's step by step
// (tests/data/loss_scale/steps.txt, from tests/tf/make_loss_scale_fixtures.py)
// and through each other's checkpoints (tests/tf/check_loss_scale_checkpoint.py).
#include <cmath>
#include <fstream>
#include <sstream>

#include "nn/mixed_precision.h"
#include "test_util.h"

namespace ember::test {
namespace {

using mixed_precision::Policy;
using mixed_precision::PolicyScope;

TEST(MixedPrecision, PoliciesAreKerasNames) {
  EXPECT_EQ(Policy("mixed_bfloat16").compute_dtype(), bfloat16);
  EXPECT_EQ(Policy("mixed_bfloat16").variable_dtype(), float32);
  EXPECT_EQ(Policy("mixed_float16").compute_dtype(), float16);
  EXPECT_EQ(Policy("bfloat16").variable_dtype(), bfloat16);
  EXPECT_EQ(Policy().name(), "float32");
  EXPECT_EQ(mixed_precision::global_policy().name(), "float32");
  {
    PolicyScope scope("mixed_float16");
    EXPECT_EQ(mixed_precision::global_policy().name(), "mixed_float16");
  }
  EXPECT_EQ(mixed_precision::global_policy().name(), "float32");
  EXPECT_NE(error_of<InvalidArgument>([] { Policy("mixed_int8"); }).find("unknown policy 'mixed_int8'"),
            std::string::npos);
}

// A Dense layer under mixed_bfloat16 keeps float32 variables, computes in
// bfloat16 and sends float32 gradients to its variables; its values are the
// float32 layer's within bfloat16's rounding.
TEST(MixedPrecision, DenseComputesIn16BitsWithFloat32Variables) {
  DeviceScope cpu(Device::cpu());
  // The kernels' initial values from a fixed global seed: with entropy, one
  // run in about 25 had a pre-activation so near 0 that bfloat16's rounding
  // flipped its relu, and the kernel's gradient there by a whole input.
  random::set_seed(5);
  struct Clear {
    ~Clear() { random::clear_seed(); }
  } clear;
  for (const char* name : {"mixed_bfloat16", "mixed_float16"}) {
    SCOPED_TRACE(name);
    std::shared_ptr<layers::Dense> mixed;
    {
      PolicyScope scope(name);
      mixed = std::make_shared<layers::Dense>(3, layers::DenseOptions{.activation = "relu"});
    }
    auto reference = std::make_shared<layers::Dense>(3, layers::DenseOptions{.activation = "relu"});
    Tensor x = random::stateless_uniform({4, 5}, {3, 4}, -1, 1);
    (*mixed)(x);
    (*reference)(x);
    reference->kernel.assign(mixed->kernel.read_value());
    reference->bias.assign(constant({0.1f, -0.2f, 0.3f}));
    mixed->bias.assign(constant({0.1f, -0.2f, 0.3f}));
    EXPECT_EQ(mixed->kernel.dtype(), float32);
    EXPECT_EQ(mixed->bias.dtype(), float32);
    GradientTape tape;
    Tensor y = (*mixed)(x);
    const DType compute = Policy(name).compute_dtype();
    EXPECT_EQ(y.dtype(), compute);
    Tensor loss = reduce_sum(cast(y, float32));
    std::vector<Tensor> g = tape.gradient(loss, std::vector<Variable>{mixed->kernel, mixed->bias});
    EXPECT_EQ(g[0].dtype(), float32);
    EXPECT_EQ(g[1].dtype(), float32);
    GradientTape tape_ref;
    Tensor y_ref = (*reference)(x);
    std::vector<Tensor> g_ref = tape_ref.gradient(reduce_sum(y_ref), std::vector<Variable>{reference->kernel, reference->bias});
    const double eps = compute == bfloat16 ? 1.0 / 128 : 1.0 / 1024;  // the format's unit roundoff x 2
    std::vector<float> got = cast(y, float32).to_vector<float>(), want = y_ref.to_vector<float>();
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 4 * eps * (1 + std::abs(want[i]))) << i;
    std::vector<float> gk = g[0].to_vector<float>(), gk_ref = g_ref[0].to_vector<float>();
    for (size_t i = 0; i < gk.size(); ++i) EXPECT_NEAR(gk[i], gk_ref[i], 8 * eps * (1 + std::abs(gk_ref[i]))) << i;
  }
}

// Keras 3's "bfloat16" and "float16" policies keep the variables in the
// 16-bit type too. The optimizers update them as Keras 3's do, with the rate,
// step and hyper-parameters in the variable's dtype: in bfloat16 Adam's
// beta_2 (0.999) rounds to 1 and Adam makes no update, as Keras's
// (tests/data/half_optimizers.txt, from tests/tf/make_half_optimizer_fixtures.py).
// ember's fused update computes in float32 and rounds each element once,
// where Keras rounds after every operation: after one step they are at most
// two steps of the format apart; over several float16 Adam steps Keras's
// roundings add up, and ember stays nearer the exact trajectory (float64
// arithmetic on the same 16-bit hyper-parameters).
TEST(MixedPrecision, OptimizersUpdateSixteenBitVariablesAsKerasDoes) {
  DeviceScope cpu(Device::cpu());
  const auto& want = tf_fixtures("half_optimizers.txt");
  for (DType t : {bfloat16, float16}) {
    const std::string dt(dtype_name(t));
    const double step = t == bfloat16 ? 1.0 / 128 : 1.0 / 1024;  // the format's spacing at 1
    const std::vector<double> grad = {0.5, -1, 2};
    auto run = [&](std::shared_ptr<optimizers::Optimizer> opt, int steps) {
      Variable v(cast(ones({3}), t));
      Tensor g = cast(constant(grad), t);
      for (int i = 0; i < steps; ++i) opt->apply({g}, {v});
      EXPECT_EQ(v.dtype(), t);
      return cast(v.read_value(), float64).to_vector<double>();
    };
    auto near_keras = [&](const std::string& name, const std::vector<double>& got) {
      SCOPED_TRACE(dt + "/" + name);
      const TfCase& keras = want.at(dt + "/" + name);
      for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], keras.values[i], step * 2 * std::abs(keras.values[i])) << i;
    };
    std::vector<double> adam = run(std::make_shared<optimizers::Adam>(0.1), 1);
    near_keras("adam", adam);
    if (t == bfloat16) {
      EXPECT_EQ(adam, (std::vector<double>{1, 1, 1}));  // no update, exactly
    }
    near_keras("sgd_momentum_2", run(std::make_shared<optimizers::SGD>(0.1, optimizers::SGDParams{.momentum = 0.9}), 2));
    near_keras("rmsprop_2", run(std::make_shared<optimizers::RMSprop>(0.01), 2));

    // Three Adam steps, exactly (Keras 3's formula in float64 on the
    // hyper-parameters as the 16-bit type holds them).
    auto in_t = [&](double x) { return cast(cast(constant(x, float64), t), float64).to_vector<double>()[0]; };
    const double lr = in_t(0.1), b1 = in_t(0.9), b2 = in_t(0.999), eps = in_t(1e-7);
    std::vector<double> exact(3, 1.0), m(3, 0.0), v2(3, 0.0);
    for (int k = 1; k <= 3; ++k) {
      const double alpha = lr * std::sqrt(1 - std::pow(b2, k)) / (1 - std::pow(b1, k));
      for (size_t i = 0; i < 3; ++i) {
        m[i] += (grad[i] - m[i]) * (1 - b1);
        v2[i] += (grad[i] * grad[i] - v2[i]) * (1 - b2);
        exact[i] -= m[i] * alpha / (std::sqrt(v2[i]) + eps);
      }
    }
    std::vector<double> adam3 = run(std::make_shared<optimizers::Adam>(0.1), 3);
    const TfCase& keras3 = want.at(dt + "/adam_3");
    for (size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE(dt + "/adam_3");
      EXPECT_LE(std::abs(adam3[i] - exact[i]), std::abs(keras3.values[i] - exact[i]) + step * std::abs(exact[i])) << i;
      EXPECT_NEAR(adam3[i], exact[i], 2 * step * std::abs(exact[i])) << i;
    }
  }
}

// A Dense layer under the 16-bit policies: variables and slots in the
// 16-bit type, and SGD with momentum trains it as it trains float32's.
TEST(MixedPrecision, SixteenBitPoliciesTrainSixteenBitVariables) {
  DeviceScope cpu(Device::cpu());
  Tensor x = random::stateless_uniform({32, 4}, {7, 8}, -1, 1);
  Tensor y = matmul(x, constant({{1.f}, {-2.f}, {0.5f}, {3.f}}));
  for (const char* name : {"bfloat16", "float16"}) {
    SCOPED_TRACE(name);
    const DType t = Policy(name).compute_dtype();
    // The float32 model starts from the 16-bit one's weights (a 16-bit draw
    // has other bits than float32's, as in Keras).
    Tensor start;
    auto train = [&](const char* policy) {
      std::shared_ptr<layers::Dense> model;
      {
        PolicyScope scope(policy);
        model = std::make_shared<layers::Dense>(
            1, layers::DenseOptions{.kernel_initializer = std::make_shared<initializers::GlorotUniform>(3)});
      }
      model->build(x.shape());
      if (start.defined())
        model->kernel.assign(cast(start, model->kernel.dtype()));
      else
        start = model->kernel.read_value();
      auto opt = std::make_shared<optimizers::SGD>(0.1, optimizers::SGDParams{.momentum = 0.9});
      std::vector<float> losses;
      for (int step = 0; step < 40; ++step) {
        GradientTape tape;
        Tensor loss = reduce_mean(square(cast((*model)(x), float32) - y));
        auto vars = model->trainable_variables();
        opt->apply(tape.gradient(loss, vars), vars);
        losses.push_back(loss.item<float>());
      }
      return std::make_tuple(model, opt, losses);
    };
    auto [m16, o16, l16] = train(name);
    auto [m32, o32, l32] = train("float32");
    EXPECT_EQ(m16->kernel.dtype(), t);
    EXPECT_EQ(m16->bias.dtype(), t);
    EXPECT_EQ(o16->get_slot(m16->kernel, "momentum").dtype(), t);
    EXPECT_LT(l16.back(), 0.02 * l16.front());
    EXPECT_LT(l32.back(), 0.02 * l32.front());
    // The first steps follow float32's closely (later ones drift apart by
    // the 16-bit roundings of 40 steps, while both converge).
    for (int k = 0; k < 5; ++k) EXPECT_NEAR(l16[static_cast<size_t>(k)], l32[static_cast<size_t>(k)], 0.05 * l32[static_cast<size_t>(k)]) << k;
  }
}

// Keras's float32 output layer under a mixed policy takes the 16-bit input
// in float32; normalisation computes in float32 and returns the compute
// dtype; losses take 16-bit predictions in float32.
TEST(MixedPrecision, Float32LayersNormalisationAndLosses) {
  DeviceScope cpu(Device::cpu());
  random::set_seed(3);
  PolicyScope scope("mixed_bfloat16");
  auto hidden = std::make_shared<layers::Dense>(4);
  auto out = std::make_shared<layers::Dense>(2);
  out->set_dtype_policy("float32");
  auto norm = std::make_shared<layers::LayerNormalization>();
  auto batch_norm = std::make_shared<layers::BatchNormalization>();
  Tensor x = random::stateless_uniform({3, 5}, {1, 2}, -1, 1);
  Tensor h = (*hidden)(x);
  EXPECT_EQ(h.dtype(), bfloat16);
  Tensor n = (*norm)(h);
  EXPECT_EQ(n.dtype(), bfloat16);
  EXPECT_EQ(norm->gamma.dtype(), float32);
  // LayerNormalization in float32 of the bfloat16 input, rounded once.
  Tensor hf = cast(h, float32);
  Tensor mean = reduce_mean(hf, std::vector<int64_t>{-1}, true);
  Tensor var = reduce_mean(square(hf - mean), std::vector<int64_t>{-1}, true);
  // (the fused op's float32 may differ from these ops' in the last bit, and
  // so round to the neighbouring bfloat16: one bfloat16 step apart at most)
  std::vector<float> got_n = cast(n, float32).to_vector<float>(), want_n = ((hf - mean) / sqrt(var + 1e-3f)).to_vector<float>();
  for (size_t i = 0; i < got_n.size(); ++i) EXPECT_NEAR(got_n[i], want_n[i], std::ldexp(std::abs(want_n[i]), -8)) << i;
  EXPECT_EQ((*batch_norm)(h, true).dtype(), bfloat16);
  EXPECT_EQ(batch_norm->moving_mean.dtype(), float32);
  Tensor logits = (*out)(n);
  EXPECT_EQ(logits.dtype(), float32);
  EXPECT_EQ(out->kernel.dtype(), float32);
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  Tensor labels = constant(std::vector<int32_t>{0, 1, 1}, TensorShape{3});
  EXPECT_EQ(loss_fn(labels, cast(logits, bfloat16)).dtype(), float32);
  EXPECT_NE(error_of<FailedPrecondition>([&] { hidden->set_dtype_policy("float32"); }).find("before the layer builds"),
            std::string::npos);
  // Convolution and pooling compute in the compute dtype, as Keras's.
  auto conv = std::make_shared<layers::Conv2D>(2, std::vector<int64_t>{3});
  auto pool = std::make_shared<layers::MaxPool2D>();
  Tensor image = cast(random::stateless_uniform({1, 6, 6, 1}, {5, 6}, -1, 1), bfloat16);
  Tensor c = (*conv)(image);
  EXPECT_EQ(c.dtype(), bfloat16);
  EXPECT_EQ(conv->kernel.dtype(), float32);
  EXPECT_EQ((*pool)(c).dtype(), bfloat16);
  // Dropout keeps or zeroes 16-bit values (its draw is float32's).
  auto dropout = std::make_shared<layers::Dropout>(0.5, 7);
  Tensor dropped = cast((*dropout)(c, true), float32);
  std::vector<float> cv = cast(c, float32).to_vector<float>(), dv = dropped.to_vector<float>();
  int kept = 0;
  for (size_t i = 0; i < dv.size(); ++i) {
    EXPECT_TRUE(dv[i] == 0 || dv[i] == 2 * cv[i]) << i;
    kept += dv[i] != 0;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, static_cast<int>(dv.size()));
  // The kernel read as bfloat16, the convolution's sums rounded to bfloat16
  // once, the bias added in bfloat16 (the float64 sums may round to the
  // neighbouring bfloat16 where float32's do not: one step apart at most).
  auto bf16_of = [](const Tensor& t) { return cast(cast(t, bfloat16), float64); };
  Tensor want_c = bf16_of(conv2d(bf16_of(image), bf16_of(conv->kernel.read_value()), {.padding = "VALID"}));
  want_c = bf16_of(want_c + bf16_of(conv->bias.read_value()));
  std::vector<double> got_c = cast(c, float64).to_vector<double>(), want_cv = want_c.to_vector<double>();
  ASSERT_EQ(got_c.size(), want_cv.size());
  int exact = 0;
  for (size_t i = 0; i < got_c.size(); ++i) {
    EXPECT_NEAR(got_c[i], want_cv[i], std::ldexp(std::abs(want_cv[i]), -7)) << i;
    exact += got_c[i] == want_cv[i];
  }
  EXPECT_GE(exact, static_cast<int>(got_c.size()) - 2);
}

// LayerNormalization under mixed_bfloat16 hands the bfloat16 input to the
// LayerNorm op with its float32 gamma and beta: a traced call and its
// gradient hold no Cast at all (the layer used to cast x up and y down, and
// the gradients back), and give the bits of x widened, normalised in
// float32 and rounded once; gamma's gradient stays float32.
TEST(MixedPrecision, LayerNormalizationTakesSixteenBitsWithoutCasts) {
  DeviceScope cpu(Device::cpu());
  PolicyScope scope("mixed_bfloat16");
  auto norm = std::make_shared<layers::LayerNormalization>();
  Tensor x = cast(random::stateless_uniform({4, 24}, {8, 1}, -3, 3), bfloat16);
  Tensor w = cast(random::stateless_uniform({4, 24}, {8, 2}, 0.5, 1.5), bfloat16);
  (*norm)(x);  // builds gamma and beta (float32)
  norm->gamma.assign(random::stateless_uniform({24}, {8, 3}, 0.5, 2));
  norm->beta.assign(random::stateless_uniform({24}, {8, 4}, -1, 1));
  auto step = function([&](Tensor in) {
    GradientTape tape;
    tape.watch(in);
    Tensor y = (*norm)(in);
    std::vector<Tensor> g = tape.gradient(reduce_sum(y * w), {Source(in), Source(norm->gamma)});
    return std::make_tuple(y, g[0], g[1]);
  });
  auto [y, dx, dgamma] = step(x);
  int casts = 0;
  for (const Node& n : step.list_concrete_functions()[0].graph().nodes)
    casts += n.kind == Node::Kind::Op && n.op->name == op_name::Cast;
  EXPECT_EQ(casts, 0) << step.list_concrete_functions()[0].graph().to_string();
  EXPECT_EQ(y.dtype(), bfloat16);
  EXPECT_EQ(dx.dtype(), bfloat16);
  EXPECT_EQ(dgamma.dtype(), float32);
  Tensor want = cast(layer_norm(cast(x, float32), norm->gamma.read_value(), norm->beta.read_value(), 1e-3), bfloat16);
  EXPECT_EQ(values(y), values(want));
}

struct ScaleStep {
  double scale;
  int64_t counter, iterations;
  std::vector<float> w;
};

std::vector<ScaleStep> tensorflow_steps() {
  std::ifstream in(data_dir() + "/loss_scale/steps.txt");
  std::vector<ScaleStep> steps;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    int step;
    ScaleStep s;
    s.w.resize(3);
    f >> step >> s.scale >> s.counter >> s.iterations >> s.w[0] >> s.w[1] >> s.w[2];
    steps.push_back(s);
  }
  return steps;
}

// TensorFlow's LossScaleOptimizer and ember's, step by step: overflowing
// losses skip the step and halve the scale, two finite steps double it, the
// inner optimizer counts the steps it applied; eager and traced.
TEST(LossScaleOptimizer, StepsAsTensorFlowsDo) {
  DeviceScope cpu(Device::cpu());
  const std::vector<ScaleStep> want = tensorflow_steps();
  ASSERT_EQ(want.size(), 14u);
  for (bool traced : {false, true}) {
    SCOPED_TRACE(traced ? "traced" : "eager");
    Variable w(constant({0.5f, -1.5f, 2.0f}), {.name = "w"});
    Tensor x = constant({1.0f, 2.0f, -3.0f}), y = constant({0.25f, 1.0f, -2.0f});
    optimizers::LossScaleOptimizer opt(std::make_shared<optimizers::SGD>(0.01),
                                       {.initial_scale = std::ldexp(1.0, 127), .dynamic_growth_steps = 2});
    auto step = [&] {
      GradientTape tape;
      Tensor loss = reduce_sum(square(w.read_value() * x - y));
      Tensor scaled = opt.scale_loss(loss);
      opt.apply({tape.gradient(scaled, w)}, {w});
      return loss;
    };
    auto traced_step = function([&] { return step(); });
    for (size_t k = 0; k < want.size(); ++k) {
      SCOPED_TRACE(k);
      if (traced) {
        traced_step();
      } else {
        step();
      }
      EXPECT_EQ(opt.dynamic_scale().read_value().item<float>(), static_cast<float>(want[k].scale));
      EXPECT_EQ(opt.step_counter().read_value().item<int64_t>(), want[k].counter);
      EXPECT_EQ(opt.iterations().read_value().item<int64_t>(), want[k].iterations);
      std::vector<float> got = w.read_value().to_vector<float>();
      for (int i = 0; i < 3; ++i) EXPECT_NEAR(got[i], want[k].w[i], 1e-6) << i;
    }
  }
}

TEST(LossScaleOptimizer, BadArguments) {
  auto sgd = std::make_shared<optimizers::SGD>(0.1);
  EXPECT_NE(error_of<InvalidArgument>([&] { optimizers::LossScaleOptimizer(sgd, {.initial_scale = 0}); })
                .find("initial_scale must be positive"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { optimizers::LossScaleOptimizer(sgd, {.dynamic_growth_steps = 0}); })
                .find("dynamic_growth_steps must be at least 1"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { optimizers::LossScaleOptimizer(nullptr); }).find("inner optimizer is null"),
            std::string::npos);
}

// ember's checkpoint of a mixed_float16 model, SGD inside a loss-scale
// optimizer, restored by TensorFlow's (Keras 3) objects; TensorFlow's
// restored by ember's.
TEST(LossScaleOptimizer, CheckpointsMoveBetweenEmberAndTensorFlow) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  DeviceScope cpu(Device::cpu());
  const std::string dir = temp_dir("loss_scale_ckpt");
  random::set_seed(5);  // the layers' initial values (whether a float16 step overflows depends on them)
  PolicyScope scope("mixed_float16");
  auto model = std::make_shared<layers::Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
      std::make_shared<layers::Dense>(3, layers::DenseOptions{.activation = "relu"}), std::make_shared<layers::Dense>(2)});
  auto opt = std::make_shared<optimizers::LossScaleOptimizer>(std::make_shared<optimizers::SGD>(0.01),
                                                              optimizers::LossScaleParams{.dynamic_growth_steps = 2});
  Tensor x = constant({{0.f, 1.f, 2.f, 3.f}, {4.f, 5.f, 6.f, 7.f}});
  Tensor y = constant({{1.f, 0.f}, {0.f, 1.f}});
  for (int k = 0; k < 3; ++k) {
    GradientTape tape;
    Tensor loss = reduce_mean(square(cast((*model)(x), float32) - y));
    auto vars = model->trainable_variables();
    opt->apply(tape.gradient(opt->scale_loss(loss), vars), vars);
  }
  const float scale = opt->dynamic_scale().read_value().item<float>();
  const int64_t counter = opt->step_counter().read_value().item<int64_t>();
  Checkpoint({{"model", model}, {"optimizer", opt}}).write(dir + "/ember");
  std::string log;
  int rc = run_python(python, data_dir() + "/../tf/check_loss_scale_checkpoint.py", dir, log);
  ASSERT_EQ(rc, 0) << log;
  // TensorFlow read ember's scale and counter, took a finite step (with
  // growth every 2 steps: a counter of 1 doubles the scale), and wrote them.
  auto number = [](float v) {
    std::ostringstream o;
    o << v << ".0";
    return o.str();
  };
  EXPECT_NE(log.find("restored dynamic_scale " + number(scale) + " step_counter " + std::to_string(counter)),
            std::string::npos)
      << log;
  const float tf_scale = counter == 1 ? 2 * scale : scale;
  const int64_t tf_counter = counter == 1 ? 0 : counter + 1;
  EXPECT_NE(log.find("wrote dynamic_scale " + number(tf_scale) + " step_counter " + std::to_string(tf_counter)),
            std::string::npos)
      << log;
  auto back = std::make_shared<optimizers::LossScaleOptimizer>(std::make_shared<optimizers::SGD>(0.01));
  Checkpoint({{"optimizer", back}}).read(dir + "/tensorflow").expect_partial();
  EXPECT_EQ(back->dynamic_scale().read_value().item<float>(), tf_scale);
  EXPECT_EQ(back->step_counter().read_value().item<int64_t>(), tf_counter);
}

}  // namespace
}  // namespace ember::test
