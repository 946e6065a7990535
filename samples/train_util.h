// What the Fashion-MNIST training samples share: flags, the data pipeline,
// a progress line per epoch, and the evaluation.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ember.h"

namespace sample {

struct Flags {
  int epochs = 3;
  int64_t batch_size = 128;
  double learning_rate = 1e-3;
  std::string device;  // "" = the default device
  std::string checkpoint_dir;
  bool resume = false;
  std::string data_dir = ember::data::kFashionMnistDir;
  std::string logdir;  // TensorBoard event files; "" = /tmp/ember-runs/<program>
  int64_t seed = 1;
  bool eager = false;  // run the step eagerly instead of as a traced function
  // Data-parallel over the ranks of `mpirun -np N` (batch_size per rank).
  bool distributed = false;
  // The dtype policy: float32, mixed_bfloat16 or mixed_float16 (with loss scaling).
  std::string precision = "float32";
};

inline void usage(const char* program, const Flags& d) {
  std::printf(
      "usage: %s [--epochs N (%d)] [--batch-size N (%lld)] [--learning-rate X (%g)]\n"
      "          [--device cpu|cuda] [--checkpoint-dir DIR] [--resume] [--data-dir DIR] [--seed N]\n"
      "          [--logdir DIR (TensorBoard scalars; default /tmp/ember-runs/<program>)] [--eager]\n"
      "          [--distributed (data-parallel over mpirun's ranks; the batch size is per rank)]\n"
      "          [--precision float32|mixed_bfloat16|mixed_float16]\n",
      program, d.epochs, static_cast<long long>(d.batch_size), d.learning_rate);
}

/// Parses --name value flags (exits with the usage on a bad one) and seeds
/// ember's random numbers with --seed.
inline Flags parse_flags(int argc, char** argv, Flags f) {
  Flags defaults = f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: %s needs a value\n", argv[0], a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--epochs") f.epochs = std::stoi(value());
      else if (a == "--batch-size") f.batch_size = std::stoll(value());
      else if (a == "--learning-rate") f.learning_rate = std::stod(value());
      else if (a == "--device") f.device = value();
      else if (a == "--checkpoint-dir") f.checkpoint_dir = value();
      else if (a == "--resume") f.resume = true;
      else if (a == "--data-dir") f.data_dir = value();
      else if (a == "--seed") f.seed = std::stoll(value());
      else if (a == "--logdir") f.logdir = value();
      else if (a == "--eager") f.eager = true;
      else if (a == "--distributed") f.distributed = true;
      else if (a == "--precision") f.precision = value();
      else if (a == "--help" || a == "-h") {
        usage(argv[0], defaults);
        std::exit(0);
      } else {
        std::fprintf(stderr, "%s: unknown flag %s\n", argv[0], a.c_str());
        usage(argv[0], defaults);
        std::exit(2);
      }
    } catch (const std::logic_error&) {
      std::fprintf(stderr, "%s: bad value for %s\n", argv[0], a.c_str());
      std::exit(2);
    }
  }
  if (f.epochs < 0 || f.batch_size <= 0 || !(f.learning_rate > 0)) {
    std::fprintf(stderr, "%s: epochs must be >= 0, batch size and learning rate positive\n", argv[0]);
    std::exit(2);
  }
  // Seeded here, before the program makes its layers: their initializers
  // draw their seeds when constructed, as Keras's do; and the layers take
  // the dtype policy set now.
  ember::random::set_seed(f.seed);
  try {
    ember::mixed_precision::set_global_policy(f.precision);
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    std::exit(2);
  }
  return f;
}

/// Images as float32 in [0, 1] with `shape` per example, labels as int32.
struct Split {
  ember::Tensor images, labels;
};
inline Split prepare(const ember::Tensor& images, const ember::Tensor& labels,
                     const ember::TensorShape& example) {
  using namespace ember;
  std::vector<int64_t> dims{images.dim(0)};
  for (int64_t d : example.dims()) dims.push_back(d);
  Tensor x = reshape(cast(images, float32) * (1.0f / 255), TensorShape(dims));
  return {x, cast(labels, int32)};
}

/// One line per epoch that redraws itself on a terminal (steps, loss,
/// accuracy, examples/s, ETA) and is printed once at the end elsewhere.
class Progress {
 public:
  Progress(int epoch, int epochs, int64_t steps) : epoch_(epoch), epochs_(epochs), steps_(steps) {
    tty_ = isatty(fileno(stdout));
    start_ = last_ = std::chrono::steady_clock::now();
  }
  void update(int64_t step, int64_t examples, float loss, float accuracy, bool done = false) {
    auto now = std::chrono::steady_clock::now();
    if (!done && (!tty_ || now - last_ < std::chrono::milliseconds(100))) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? double(examples) / secs : 0;
    double eta = step > 0 ? secs / double(step) * double(steps_ - step) : 0;
    int width = 24, filled = steps_ > 0 ? int(width * step / steps_) : width;
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(static_cast<size_t>(width), '.');
    std::printf("%sepoch %d/%d [%s] %lld/%lld  loss %.4f  accuracy %.4f  %.0f examples/s  %s %.1fs%s",
                tty_ ? "\r" : "", epoch_, epochs_, bar.c_str(), static_cast<long long>(step),
                static_cast<long long>(steps_), loss, accuracy, rate, done ? "took" : "ETA",
                done ? secs : eta, done || !tty_ ? "\n" : "");
    std::fflush(stdout);
  }

 private:
  int epoch_, epochs_;
  int64_t steps_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

/// Adam, wrapped in dynamic loss scaling under mixed_float16 (as Keras's
/// compile does): `step` takes the tape and the loss and applies the
/// gradients `gradient` computes from them (the tape's, or the strategy's).
struct Trainer {
  std::shared_ptr<ember::optimizers::Adam> adam;
  std::shared_ptr<ember::optimizers::LossScaleOptimizer> scaled;
  Trainer(double learning_rate, const std::string& precision)
      : adam(std::make_shared<ember::optimizers::Adam>(learning_rate)) {
    if (precision == "mixed_float16") scaled = std::make_shared<ember::optimizers::LossScaleOptimizer>(adam);
  }
  std::shared_ptr<ember::Trackable> trackable() const {
    return scaled ? std::static_pointer_cast<ember::Trackable>(scaled) : adam;
  }
  template <typename Gradient>
  void step(ember::GradientTape& tape, const ember::Tensor& loss, const std::vector<ember::Variable>& vars,
            Gradient gradient) {
    if (scaled) {
      scaled->apply(gradient(tape, scaled->scale_loss(loss), vars), vars);
    } else {
      adam->apply(gradient(tape, loss, vars), vars);
    }
  }
  int64_t iterations() const { return adam->iterations().read_value().item<int64_t>(); }
};

/// The test accuracy of `model`, in batches of 1000.
inline float evaluate(const std::shared_ptr<ember::layers::Layer>& model, const Split& test, ember::Device device) {
  using namespace ember;
  metrics::SparseCategoricalAccuracy test_accuracy;
  auto it = data::Dataset::from_tensor_slices({test.images, test.labels}).batch(1000).iterator();
  while (auto batch = it.next()) test_accuracy.update_state((*batch)[1], (*model)((*batch)[0].to(device)));
  return test_accuracy.result().item<float>();
}

/// --distributed: every rank of `mpirun -np N` trains the same model on its
/// part of each global batch (N x the batch size), gradients averaged
/// across ranks. Rank 0 prints, writes TensorBoard scalars and checkpoints;
/// every rank restores. Each epoch's order comes from the seed and the
/// epoch alone, so a run resumes with any number of ranks.
inline float train_distributed(const Flags& flags, const std::shared_ptr<ember::layers::Layer>& model,
                               const Split& train, const Split& test, const ember::TensorShape& example,
                               const char* name, ember::Device device) {
  using namespace ember;
  distribute::MultiWorkerMirroredStrategy strategy;
  const int ranks = strategy.num_replicas_in_sync();
  const bool chief = strategy.is_chief();
  const int64_t global_batch = flags.batch_size * ranks;
  {
    auto scope = strategy.scope();  // the layers build on their first call: here, with rank 0's values
    std::vector<int64_t> dims{1};
    for (int64_t d : example.dims()) dims.push_back(d);
    (*model)(zeros(TensorShape(dims)));
  }
  Trainer optimizer(flags.learning_rate, flags.precision);
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  Checkpoint ckpt({{"model", model}, {"optimizer", optimizer.trackable()}});
  std::unique_ptr<CheckpointManager> manager;
  int start_epoch = 0;
  if (!flags.checkpoint_dir.empty()) {
    manager = std::make_unique<CheckpointManager>(ckpt, flags.checkpoint_dir, 3);
    if (const std::string latest = latest_checkpoint(flags.checkpoint_dir); flags.resume && !latest.empty()) {
      ckpt.restore(latest);  // every rank, the same file
      start_epoch = static_cast<int>(ckpt.save_counter().read_value().item<int64_t>());
      if (chief) std::printf("resumed from %s (epoch %d done)\n", latest.c_str(), start_epoch);
    }
  }
  if (chief)
    std::printf("%s: %d ranks, global batch %lld (%lld per rank), Adam(%g), %d epochs, on %s, %s steps, %s\n", name,
                ranks, static_cast<long long>(global_batch), static_cast<long long>(flags.batch_size),
                flags.learning_rate, flags.epochs, device.to_string().c_str(), flags.eager ? "eager" : "traced",
                flags.precision.c_str());
  std::unique_ptr<SummaryWriter> events;
  if (chief) events = std::make_unique<SummaryWriter>(flags.logdir.empty() ? std::string("/tmp/ember-runs/") + name : flags.logdir);
  auto train_step = [&](Tensor x, Tensor y) {
    GradientTape tape;
    Tensor logits = (*model)(x, true);
    Tensor loss = loss_fn(y, logits);
    optimizer.step(tape, loss, model->trainable_variables(),
                   [&](GradientTape& t, const Tensor& l, const std::vector<Variable>& v) { return strategy.gradient(t, l, v); });
    return std::pair{loss, logits};
  };
  auto traced_step = function(train_step, {.name = "train_step"});
  auto examples = data::Dataset::from_tensor_slices({train.images, train.labels});
  for (int epoch = start_epoch; epoch < flags.epochs; ++epoch) {
    auto batches = strategy.distribute_dataset(examples.shuffle(train.images.dim(0), flags.seed + epoch), global_batch)
                       .prefetch(2, device);
    const int64_t steps = batches.cardinality();
    metrics::Mean mean_loss;
    metrics::SparseCategoricalAccuracy accuracy;
    Progress progress(epoch + 1, flags.epochs, steps);
    int64_t step = 0;
    for (auto it = batches.iterator(); auto batch = it.next();) {
      const Tensor& x = (*batch)[0];
      const Tensor& y = (*batch)[1];
      auto [loss, logits] = flags.eager ? train_step(x, y) : traced_step(x, y);
      mean_loss.update_state(loss);
      accuracy.update_state(y, logits);
      if (++step % 20 == 0 || step == steps) {  // every rank: the metrics are reduced across them
        float l = strategy.reduce(mean_loss).item<float>(), a = strategy.reduce(accuracy).item<float>();
        if (chief) {
          progress.update(step, step * global_batch, l, a, step == steps);
          int64_t global = optimizer.iterations();
          events->scalar("loss", l, global);
          events->scalar("accuracy", a, global);
        }
      }
    }
    if (manager) strategy.save(*manager);
  }
  float acc = evaluate(model, test, device);  // the same model on every rank
  if (chief) {
    std::printf("test accuracy: %.4f\n", acc);
    events->scalar("test_accuracy", acc, optimizer.iterations());
    events->flush();
  }
  return acc;
}

/// Trains `model` with `loss_fn` and `optimizer` over `flags.epochs`,
/// checkpointing each epoch when a folder is given, then prints the test
/// accuracy. Returns it.
inline float train_and_evaluate(const Flags& flags, const std::shared_ptr<ember::layers::Layer>& model,
                                const ember::TensorShape& example, const char* name) {
  using namespace ember;
  Device device = flags.device.empty() ? default_device() : Device::parse(flags.device);
  Split train, test;
  {
    DeviceScope cpu(Device::cpu());  // the data stays in host memory; batches travel
    data::Mnist mnist = data::load_mnist(flags.data_dir);
    train = prepare(mnist.train_images, mnist.train_labels, example);
    test = prepare(mnist.test_images, mnist.test_labels, example);
  }
  DeviceScope on(device);
  if (flags.distributed) return train_distributed(flags, model, train, test, example, name, device);
  // One iterator over every epoch's shuffled batches (the shuffle's pass
  // count gives each epoch its order), checkpointed with the model, so a
  // resumed run sees the batches an uninterrupted one would have.
  auto epoch_batches = data::Dataset::from_tensor_slices({train.images, train.labels})
                           .shuffle(train.images.dim(0), flags.seed)
                           .batch(flags.batch_size);
  const int64_t steps = epoch_batches.cardinality();
  auto batches = epoch_batches.repeat().prefetch(2, device).make_iterator();
  Trainer optimizer(flags.learning_rate, flags.precision);
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  Checkpoint ckpt({{"model", model}, {"optimizer", optimizer.trackable()}, {"iterator", batches}});
  std::unique_ptr<CheckpointManager> manager;
  int start_epoch = 0;
  if (!flags.checkpoint_dir.empty()) {
    manager = std::make_unique<CheckpointManager>(ckpt, flags.checkpoint_dir, 3);
    if (flags.resume) {
      std::string latest = latest_checkpoint(flags.checkpoint_dir);
      if (latest.empty()) {
        std::printf("no checkpoint in %s: starting afresh\n", flags.checkpoint_dir.c_str());
      } else {
        // The variables (those the first step builds take their values when
        // it builds them), Adam's step and slots, and the data iterator.
        ckpt.restore(latest);
        start_epoch = static_cast<int>(ckpt.save_counter().read_value().item<int64_t>());
        std::printf("resumed from %s: the model, the optimizer (step %lld) and the data iterator (epoch %d done)\n",
                    latest.c_str(), static_cast<long long>(optimizer.iterations()), start_epoch);
      }
    }
  }
  std::printf("%s: %lld training images, batch %lld, Adam(%g), %d epochs, on %s, %s steps, %s\n", name,
              static_cast<long long>(train.images.dim(0)), static_cast<long long>(flags.batch_size),
              flags.learning_rate, flags.epochs, device.to_string().c_str(), flags.eager ? "eager" : "traced",
              flags.precision.c_str());
  SummaryWriter events(flags.logdir.empty() ? std::string("/tmp/ember-runs/") + name : flags.logdir);
  std::printf("TensorBoard scalars: %s\n", events.path().c_str());
  // One training step: forward, gradient, Adam. Traced into one function
  // (the first call traces; the short last batch of an epoch traces once more).
  auto train_step = [&](Tensor x, Tensor y) {
    GradientTape tape;
    Tensor logits = (*model)(x, true);
    Tensor loss = loss_fn(y, logits);
    optimizer.step(tape, loss, model->trainable_variables(),
                   [](GradientTape& t, const Tensor& l, const std::vector<Variable>& v) { return t.gradient(l, v); });
    return std::pair{loss, logits};
  };
  auto traced_step = function(train_step, {.name = "train_step"});
  for (int epoch = start_epoch; epoch < flags.epochs; ++epoch) {
    metrics::Mean mean_loss;
    metrics::SparseCategoricalAccuracy accuracy;
    Progress progress(epoch + 1, flags.epochs, steps);
    int64_t step = 0, examples = 0;
    for (int64_t k = 0; k < steps; ++k) {
      auto batch = batches->next();
      const Tensor& x = (*batch)[0];
      const Tensor& y = (*batch)[1];
      auto [loss, logits] = flags.eager ? train_step(x, y) : traced_step(x, y);
      mean_loss.update_state(loss);
      accuracy.update_state(y, logits);
      ++step;
      examples += x.dim(0);
      if (step % 20 == 0 || step == steps) {
        float l = mean_loss.result().item<float>(), a = accuracy.result().item<float>();
        progress.update(step, examples, l, a, step == steps);
        int64_t global = optimizer.iterations();
        events.scalar("loss", l, global);
        events.scalar("accuracy", a, global);
      }
    }
    if (manager) manager->save();
  }
  float acc = evaluate(model, test, device);
  std::printf("test accuracy: %.4f\n", acc);
  events.scalar("test_accuracy", acc, optimizer.iterations());
  events.flush();
  return acc;
}

}  // namespace sample
