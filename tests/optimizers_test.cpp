// nn/optimizers and nn/schedules against what Keras 3 computed for the same
// steps (tests/tf/make_nn_fixtures.py): five updates of a [2, 3] variable
// with gradients the test recomputes; slots and checkpoints.
#include <cmath>
#include <filesystem>

#include "nn/optimizers.h"
#include "test_util.h"

namespace ember::test {
namespace {

using namespace optimizers;
namespace sch = schedules;

class OptimizersTest : public DeviceTest {};

const std::vector<double> kW0 = {0.5, -1.0, 1.5, -2.0, 0.25, 3.0};

Tensor grad(int t) {
  std::vector<double> g(6);
  for (int i = 0; i < 6; ++i) g[static_cast<size_t>(i)] = double((i * 7 + t * 3) % 11 - 5) / 4;
  return make(g, {2, 3}, float32);
}

void expect_keras(const std::string& name, Optimizer& opt, double rtol = 2e-6) {
  SCOPED_TRACE(name);
  Variable w(make(kW0, {2, 3}, float32));
  for (int t = 0; t < 5; ++t) opt.apply({grad(t)}, {w});
  const TfCase& want = tf_fixtures("tf_nn.txt").at(name);
  EXPECT_TRUE(all_close(w.read_value(), want.values, want.shape, rtol, 1e-7));
  EXPECT_EQ(opt.iterations().read_value().item<int64_t>(), 5);
}

TEST_P(OptimizersTest, MatchKeras) {
  { SGD o(0.1); expect_keras("opt/sgd", o); }
  { SGD o(0.1, {.momentum = 0.9}); expect_keras("opt/sgd_momentum", o); }
  { SGD o(0.1, {.momentum = 0.9, .nesterov = true}); expect_keras("opt/sgd_nesterov", o); }
  { Adam o(0.01); expect_keras("opt/adam", o); }
  { AdamW o(0.01, {}, {.weight_decay = 0.1}); expect_keras("opt/adamw", o); }
  // TensorFlow's RMSProp kernels order the moving average's arithmetic
  // differently from Keras 3's ops: the last bits differ.
  { RMSprop o(0.01); expect_keras("opt/rmsprop", o, 2e-5); }
  { RMSprop o(0.01, {.momentum = 0.5, .centered = true}); expect_keras("opt/rmsprop_centered_momentum", o, 2e-5); }
  // Keras 3's Adagrad adds epsilon under the square root, TensorFlow's op after it.
  { Adagrad o(0.1); expect_keras("opt/adagrad", o, 1e-5); }
  { Adam o(0.01, {}, {.clipnorm = 1.0}); expect_keras("opt/adam_clipnorm", o); }
  { Adam o(0.01, {}, {.global_clipnorm = 1.0}); expect_keras("opt/adam_global_clipnorm", o); }
  { SGD o(0.1, {}, {.clipvalue = 0.5}); expect_keras("opt/sgd_clipvalue", o); }
  {
    Adam o(std::make_shared<sch::ExponentialDecay>(0.01, 2, 0.5));
    expect_keras("opt/adam_exponential_decay", o);
  }
}

TEST_P(OptimizersTest, SchedulesMatchKeras) {
  std::vector<std::pair<std::string, std::shared_ptr<sch::LearningRateSchedule>>> cases = {
      {"exponential", std::make_shared<sch::ExponentialDecay>(0.1, 3, 0.5)},
      {"exponential_staircase", std::make_shared<sch::ExponentialDecay>(0.1, 3, 0.5, true)},
      {"piecewise", std::make_shared<sch::PiecewiseConstantDecay>(std::vector<int64_t>{2, 5},
                                                                  std::vector<double>{1.0, 0.5, 0.1})},
      {"cosine", std::make_shared<sch::CosineDecay>(0.1, 8, sch::CosineDecay::Options{.alpha = 0.1})},
      {"cosine_warmup",
       std::make_shared<sch::CosineDecay>(0.0, 6, sch::CosineDecay::Options{.warmup_steps = 4, .warmup_target = 0.2})},
      {"polynomial", std::make_shared<sch::PolynomialDecay>(0.1, 8, 0.01, 2.0)},
      {"polynomial_cycle", std::make_shared<sch::PolynomialDecay>(0.1, 4, 0.01, 1.0, true)},
  };
  for (const auto& [name, s] : cases) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures("tf_nn.txt").at("schedule/" + name);
    for (int64_t k = 0; k < 12; ++k)
      EXPECT_NEAR(s->at(k), want.values[static_cast<size_t>(k)], 1e-7 + 1e-6 * std::fabs(want.values[static_cast<size_t>(k)]))
          << "step " << k;
  }
  EXPECT_THROW(sch::PiecewiseConstantDecay({1}, {1.0}), InvalidArgument);
  EXPECT_THROW(sch::ExponentialDecay(0.1, 0, 0.5), InvalidArgument);
}

TEST_P(OptimizersTest, SlotsAreNamedAndSkippedGradientsLeaveVariablesAlone) {
  Adam opt(0.1);
  Variable a(constant({1.f, 2.f}), {.name = "a"}), b(constant({3.f}), {.name = "b"});
  opt.apply({constant({1.f, 1.f}), Tensor()}, {a, b});
  EXPECT_EQ(values(b.read_value()), (std::vector<double>{3}));
  EXPECT_EQ(opt.get_slot(a, "m").name(), "Adam/a/m:0");
  EXPECT_EQ(opt.iterations().name(), "Adam/iter:0");
  EXPECT_FALSE(opt.get_slot(a, "v").trainable());
  EXPECT_THROW(opt.get_slot(b, "m"), FailedPrecondition);
  EXPECT_EQ(opt.slot_variables().size(), 2u);
  EXPECT_THROW(opt.apply({constant({1.f})}, {a}), InvalidArgument);   // wrong shape
  EXPECT_THROW(opt.apply({constant({1.f})}, {a, b}), InvalidArgument);  // counts differ
  Variable i(constant({1, 2}));
  EXPECT_THROW(opt.apply({constant({1, 1})}, {i}), InvalidArgument);  // not floating
}

// A slot value waiting for a variable belongs to that variable only: a
// new variable made where a dead one lived (the same address) does not take
// it (the wait was keyed on the address).
TEST_P(OptimizersTest, AWaitingSlotValueIsNotGivenToAVariableAtTheSameAddress) {
  Adam opt(0.1);
  int restored = 0;
  {
    Variable gone(constant({1.f, 2.f}), {.name = "gone"});
    opt.restore_slot(gone, "m", [&](const Variable& slot) {
      ++restored;
      Variable s = slot;
      s.assign(constant({42.f, 42.f}, slot.device()));
    });
  }
  for (int k = 0; k < 20; ++k) {
    Variable fresh(constant({1.f, 2.f}), {.name = "fresh"});
    opt.build({fresh});
    EXPECT_EQ(values(opt.get_slot(fresh, "m").read_value()), (std::vector<double>{0, 0}));
  }
  EXPECT_EQ(restored, 0);
}

// Train, save with the optimizer, restore into fresh objects (whose slots do
// not exist yet), train on: the same numbers as training straight through.
TEST_P(OptimizersTest, CheckpointedOptimizerResumesExactly) {
  auto dir = std::filesystem::temp_directory_path() / ("ember_opt_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto make_model = [] {
    auto m = std::make_shared<Module>("model");
    m->track("w", Variable(make(kW0, {2, 3}, float32), {.name = "w"}));
    return m;
  };
  auto w_of = [](const std::shared_ptr<Module>& m) {
    return std::static_pointer_cast<TrackableVariable>(m->lookup_dependency("w"))->variable();
  };
  // Straight through: 6 steps.
  auto straight = make_model();
  auto opt1 = std::make_shared<Adam>(0.05);
  for (int t = 0; t < 6; ++t) opt1->apply({grad(t)}, {w_of(straight)});
  // 3 steps, save, fresh objects, restore, 3 more.
  auto first = make_model();
  auto opt2 = std::make_shared<Adam>(0.05);
  for (int t = 0; t < 3; ++t) opt2->apply({grad(t)}, {w_of(first)});
  Checkpoint({{"model", first}, {"optimizer", opt2}}).save((dir / "ckpt").string());
  auto second = make_model();
  auto opt3 = std::make_shared<Adam>(0.05);
  Checkpoint ck({{"model", second}, {"optimizer", opt3}});
  auto status = ck.restore(latest_checkpoint(dir.string()));
  EXPECT_EQ(opt3->iterations().read_value().item<int64_t>(), 3);
  EXPECT_THROW(status.assert_consumed(), FailedPrecondition);  // slots not made yet
  for (int t = 3; t < 6; ++t) opt3->apply({grad(t)}, {w_of(second)});
  status.assert_consumed();
  EXPECT_EQ(values(w_of(second).read_value()), values(w_of(straight).read_value()));
  EXPECT_EQ(values(opt3->get_slot(w_of(second), "v").read_value()),
            values(opt1->get_slot(w_of(straight), "v").read_value()));
  std::filesystem::remove_all(dir);
}

EMBER_INSTANTIATE_DEVICE_TESTS(OptimizersTest);

}  // namespace
}  // namespace ember::test
