// What the Fashion-MNIST training samples share: flags, the data, and
// training with Model::fit (its progress bar, TensorBoard scalars, backups)
// and evaluate.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ember.h"
#include "samples/flags.h"

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
    auto value = [&] { return flags::value(argc, argv, i); };
    try {
      if (a == "--epochs") f.epochs = static_cast<int>(flags::integer(value(), INT32_MAX));
      else if (a == "--batch-size") f.batch_size = flags::integer(value());
      else if (a == "--learning-rate") f.learning_rate = flags::number(value());
      else if (a == "--device") f.device = value();
      else if (a == "--checkpoint-dir") f.checkpoint_dir = value();
      else if (a == "--resume") f.resume = true;
      else if (a == "--data-dir") f.data_dir = value();
      else if (a == "--seed") f.seed = flags::integer(value());
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

/// Trains `model` with Model::fit (Adam, sparse cross-entropy from logits,
/// accuracy) over `flags.epochs`, backing it up each epoch when a folder is
/// given (BackupAndRestore: --resume goes on from it), then prints the test
/// accuracy. Returns it. With --distributed, every rank of `mpirun -np N`
/// trains on its part of each global batch (N x the batch size); rank 0
/// prints and writes TensorBoard scalars and the backups.
inline float train_and_evaluate(const Flags& flags, const std::shared_ptr<ember::Model>& model,
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
  auto strategy = flags.distributed ? std::make_shared<distribute::MultiWorkerMirroredStrategy>() : nullptr;
  const int ranks = strategy ? strategy->num_replicas_in_sync() : 1;
  const bool chief = !strategy || strategy->is_chief();
  const int64_t global_batch = flags.batch_size * ranks;
  // Under mixed_float16, compile wraps Adam in a LossScaleOptimizer (as Keras's does).
  model->compile({.optimizer = std::make_shared<optimizers::Adam>(flags.learning_rate),
                  .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(losses::LossOptions{.from_logits = true}),
                  .metrics = {"accuracy"},
                  .run_eagerly = flags.eager,
                  .distribute = strategy});
  const std::string logdir = flags.logdir.empty() ? std::string("/tmp/ember-runs/") + name : flags.logdir;
  CallbackList callbacks{std::make_shared<callbacks::TensorBoard>(logdir, 20)};
  if (!flags.checkpoint_dir.empty()) {
    // The model, Adam's step and slots, and (in one process) the data
    // iterator, each epoch; a resumed run sees the batches an uninterrupted
    // one would have. A backup is never overwritten without --resume.
    const std::string latest = latest_checkpoint(flags.checkpoint_dir);
    if (!latest.empty() && !flags.resume) {
      if (chief)
        std::fprintf(stderr, "%s: %s holds a backup (%s): pass --resume to go on from it, or name another folder\n",
                     name, flags.checkpoint_dir.c_str(), latest.c_str());
      std::exit(2);
    }
    if (chief) {
      if (!latest.empty()) std::printf("resuming from %s: the model, the optimizer and where training was\n", latest.c_str());
      else if (flags.resume) std::printf("no backup in %s: starting afresh\n", flags.checkpoint_dir.c_str());
    }
    callbacks.push_back(std::make_shared<callbacks::BackupAndRestore>(flags.checkpoint_dir, 0, /*delete_checkpoint=*/false));
  }
  if (chief) {
    if (strategy)
      std::printf("%s: %d ranks, global batch %lld (%lld per rank), Adam(%g), %d epochs, on %s, %s steps, %s\n", name,
                  ranks, static_cast<long long>(global_batch), static_cast<long long>(flags.batch_size),
                  flags.learning_rate, flags.epochs, device.to_string().c_str(), flags.eager ? "eager" : "traced",
                  flags.precision.c_str());
    else
      std::printf("%s: %lld training images, batch %lld, Adam(%g), %d epochs, on %s, %s steps, %s\n", name,
                  static_cast<long long>(train.images.dim(0)), static_cast<long long>(flags.batch_size),
                  flags.learning_rate, flags.epochs, device.to_string().c_str(), flags.eager ? "eager" : "traced",
                  flags.precision.c_str());
    std::printf("TensorBoard scalars: %s\n", logdir.c_str());
  }
  model->fit(train.images, train.labels,
             {.batch_size = global_batch, .epochs = flags.epochs, .verbose = chief ? 1 : 0, .callbacks = callbacks});
  const float acc = static_cast<float>(
      model->evaluate(test.images, test.labels, {.batch_size = 1000, .verbose = 0}).at("accuracy"));
  if (chief) std::printf("test accuracy: %.4f\n", acc);
  return acc;
}

}  // namespace sample
