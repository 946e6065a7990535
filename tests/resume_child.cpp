// ember-resume-child: trains a small model (Dense, BatchNormalization,
// Dropout, Dense; Adam on a decaying schedule) for steps [from, to),
// restoring the latest checkpoint in DIR first when there is one and saving
// one at the end, then prints every variable's bytes in hex.
// tests/resume_test.cpp runs it straight through and in two processes and
// compares the output: a resumed run must equal an uninterrupted one.
//   ember-resume-child DIR FROM TO
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ember.h"

using namespace ember;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: ember-resume-child DIR FROM TO\n");
    return 2;
  }
  std::string dir = argv[1];
  int64_t from = std::atoll(argv[2]), to = std::atoll(argv[3]);
  try {
    random::set_seed(5);
    auto model = std::make_shared<layers::Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
        std::make_shared<layers::Dense>(16, layers::DenseOptions{
                                                .activation = "relu",
                                                .kernel_initializer = std::make_shared<initializers::GlorotUniform>(1)}),
        std::make_shared<layers::BatchNormalization>(),
        std::make_shared<layers::Dropout>(0.25, 7),
        std::make_shared<layers::Dense>(3, layers::DenseOptions{
                                               .kernel_initializer = std::make_shared<initializers::GlorotUniform>(2)})});
    auto opt = std::make_shared<optimizers::Adam>(std::make_shared<schedules::ExponentialDecay>(0.01, 4, 0.7));
    Checkpoint ckpt({{"model", model}, {"optimizer", opt}});
    CheckpointManager manager(ckpt, dir, 2);
    auto status = ckpt.restore(latest_checkpoint(dir));
    losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
    for (int64_t step = from; step < to; ++step) {
      // Each step's batch is a pure function of the step.
      Tensor x = random::stateless_normal({8, 5}, {step, 1});
      Tensor y = cast(random::stateless_uniform({8}, {step, 2}, 0, 3) , int32);
      GradientTape tape;
      Tensor loss = loss_fn(y, (*model)(x, true));
      auto vars = model->trainable_variables();
      opt->apply(tape.gradient(loss, vars), vars);
    }
    if (from > 0) status.assert_consumed();
    manager.save();
    std::printf("iterations %lld\n", static_cast<long long>(opt->iterations().read_value().item<int64_t>()));
    for (const Variable& v : model->variables()) {
      Tensor t = v.read_value().to(Device::cpu());
      std::printf("%s ", v.name().c_str());
      const auto* p = static_cast<const unsigned char*>(t.raw_data());
      for (size_t i = 0; i < t.nbytes(); ++i) std::printf("%02x", p[i]);
      std::printf("\n");
    }
    for (const SlotVariable& s : opt->slot_variables()) {
      Tensor t = s.slot.read_value();
      std::printf("%s ", s.slot.name().c_str());
      const auto* p = static_cast<const unsigned char*>(t.raw_data());
      for (size_t i = 0; i < t.nbytes(); ++i) std::printf("%02x", p[i]);
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember-resume-child: %s\n", e.what());
    return 1;
  }
  return 0;
}
