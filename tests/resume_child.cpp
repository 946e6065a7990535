// ember-resume-child: trains a small model (Dense, BatchNormalization,
// Dropout, Dense; Adam on a decaying schedule) up to step TO, restoring the
// latest checkpoint in DIR first when there is one, then prints every
// variable's bytes in hex. tests/resume_test.cpp runs it straight through,
// in two processes, and killed at random instants and restarted, and
// compares the output: a resumed run must equal an uninterrupted one.
//   ember-resume-child DIR FROM TO [MODE] [EVERY]
// FROM: the step the restored checkpoint must be at (-1: whatever it holds).
// MODE: eager (the step runs op by op), traced (the step is a traced
// function that builds the layers on its first call), dataset (traced, fed
// by a shuffle with no seed of its own, prefetched, whose iterator the
// checkpoint keeps).
// fit (Model::fit with a BackupAndRestore in DIR, 5 steps an epoch, TO
// steps in all; FROM is ignored: the backup says where to go on), or
// fit_epochs (the same, backed up at each epoch's end only).
// EVERY: save a checkpoint after every step (else at the end only; fit: at
// each epoch's end).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ember.h"

using namespace ember;

// "name hexbytes": a variable's exact value.
void print_bytes(const Variable& v) {
  Tensor t = v.read_value().to(Device::cpu());
  std::printf("%s ", v.name().c_str());
  const auto* p = static_cast<const unsigned char*>(t.raw_data());
  for (size_t i = 0; i < t.nbytes(); ++i) std::printf("%02x", p[i]);
  std::printf("\n");
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 6) {
    std::fprintf(stderr, "usage: ember-resume-child DIR FROM TO [eager|traced|dataset|fit|fit_epochs] [every]\n");
    return 2;
  }
  std::string dir = argv[1];
  int64_t from = std::atoll(argv[2]), to = std::atoll(argv[3]);
  std::string mode = argc > 4 ? argv[4] : "eager";
  bool every = argc > 5 && std::strcmp(argv[5], "every") == 0;
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
    // The data: a shuffle without a seed of its own (its seed comes from the
    // global one; its passes restart at 0 in every process: the checkpointed
    // iterator carries the order on), batched, prefetched.
    Tensor all_x = random::stateless_normal({40, 5}, {11, 1});
    Tensor all_y = cast(random::stateless_uniform({40}, {11, 2}, 0, 3), int32);
    auto batches = data::Dataset::from_tensor_slices({all_x, all_y}).shuffle(40).batch(8).repeat().prefetch(2).make_iterator();
    if (mode == "fit" || mode == "fit_epochs") {
      // The same model and data, trained by fit: a BackupAndRestore every
      // step (or epoch) puts a killed run back where it was.
      model->compile({.optimizer = opt,
                      .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                          losses::LossOptions{.from_logits = true}),
                      .metrics = {"accuracy"}});
      auto history = model->fit(all_x, all_y,
                                {.batch_size = 8,
                                 .epochs = static_cast<int>(to / 5),
                                 .verbose = 0,
                                 .callbacks = {std::make_shared<callbacks::BackupAndRestore>(
                                     dir, mode == "fit" && every ? 1 : 0)}});
      std::printf("iterations %lld\n", static_cast<long long>(opt->iterations().read_value().item<int64_t>()));
      // The last epoch's results: the metrics' totals came through the kills
      // too (a run resumed after its last epoch has no History of its own).
      (void)history;
      for (const auto& metric : model->metrics())
        std::printf("%s %.9g\n", metric->name().c_str(), metric->result().item<float>());
      for (const Variable& v : model->variables()) print_bytes(v);
      return 0;
    }
    CheckpointRoots roots{{"model", model}, {"optimizer", opt}};
    if (mode == "dataset") roots.emplace_back("iterator", batches);
    Checkpoint ckpt(roots);
    CheckpointManager manager(ckpt, dir, 2);
    auto status = ckpt.restore(latest_checkpoint(dir));
    losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
    auto step_fn = [&](Tensor x, Tensor y) {
      GradientTape tape;
      Tensor loss = loss_fn(y, (*model)(x, true));
      auto vars = model->trainable_variables();
      opt->apply(tape.gradient(loss, vars), vars);
      return loss;
    };
    auto traced = function(step_fn, {.name = "train_step"});
    int64_t done = opt->iterations().read_value().item<int64_t>();
    if (from >= 0 && done != from) {
      std::fprintf(stderr, "ember-resume-child: the checkpoint is at step %lld, not %lld\n",
                   static_cast<long long>(done), static_cast<long long>(from));
      return 1;
    }
    for (int64_t step = done; step < to; ++step) {
      Tensor x, y;
      if (mode == "dataset") {
        data::Element b = *batches->next();
        x = b[0];
        y = b[1];
      } else {  // each step's batch a pure function of the step
        x = random::stateless_normal({8, 5}, {step, 1});
        y = cast(random::stateless_uniform({8}, {step, 2}, 0, 3), int32);
      }
      if (mode == "eager") step_fn(x, y);
      else traced(x, y);
      if (every) manager.save();
    }
    if (done >= to && done > 0) {
      // Restored where the run ends (a run killed after its last save): the
      // layers and the slots are made now, so they take the saved values.
      (*model)(zeros({8, 5}), false);
      opt->build(model->trainable_variables());
    }
    if (done > 0) status.assert_consumed();
    if (!every) manager.save();
    std::printf("iterations %lld\n", static_cast<long long>(opt->iterations().read_value().item<int64_t>()));
    for (const Variable& v : model->variables()) print_bytes(v);
    for (const SlotVariable& s : opt->slot_variables()) print_bytes(s.slot);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember-resume-child: %s\n", e.what());
    return 1;
  }
  return 0;
}
