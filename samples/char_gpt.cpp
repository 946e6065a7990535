// Trains BENCHMARKS.md's `gpt_char`: a character-level GPT (4 layers, 4
// heads, d_model 256, context 128, batch 32) on Debian's fortunes, with
// AdamW (weight decay 0.1, betas 0.9/0.95), 100 warm-up steps then cosine
// decay to 10% over the rest, dropout 0.1, clipping at global norm 1, the
// whole step traced. Prints a progress line, writes TensorBoard scalars,
// checkpoints (--checkpoint-dir, --resume), then the validation loss in
// nats per character and 300 sampled characters (temperature, top-k, a
// key-value cache), and saves a SavedModel whose serving_default maps ids
// [batch, T] to the next character's logits [batch, vocab].
//   ember-char-gpt [--steps 2100] [--checkpoint-dir DIR [--resume]] [--saved-model DIR] ...
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "ember.h"
#include "samples/flags.h"
#include "samples/gpt.h"

namespace {

using namespace ember;

struct Flags {
  int64_t steps = 2100;
  int64_t batch_size = 32;
  double learning_rate = 3e-4;
  int64_t warmup_steps = 100;
  std::string device;
  std::string checkpoint_dir;
  bool resume = false;
  int64_t save_every = 200;
  std::string data_dir = "/usr/share/games/fortunes";
  std::string logdir = "/tmp/ember-runs/char_gpt";
  std::string saved_model;
  int64_t seed = 1;
  int64_t sample_chars = 300;
  double temperature = 0.8;
  int64_t top_k = 40;
  std::string prompt = "\n";
  bool eager = false;
  std::string precision = "float32";  // or mixed_bfloat16 (mixed_float16 adds loss scaling)
};

void usage(const char* program) {
  Flags d;
  std::printf(
      "usage: %s [--steps N (%lld)] [--batch-size N (%lld)] [--learning-rate X (%g)] "
      "[--warmup-steps N (%lld)]\n"
      "          [--device cpu|cuda] [--checkpoint-dir DIR] [--resume] [--save-every N (%lld)]\n"
      "          [--data-dir DIR (%s)] [--logdir DIR (%s)] [--saved-model DIR]\n"
      "          [--seed N] [--sample-chars N (%lld)] [--temperature X (%g)] [--top-k N (%lld)] "
      "[--prompt TEXT]\n"
      "          [--eager] [--precision float32|mixed_bfloat16|mixed_float16]\n",
      program, static_cast<long long>(d.steps), static_cast<long long>(d.batch_size),
      d.learning_rate, static_cast<long long>(d.warmup_steps), static_cast<long long>(d.save_every),
      d.data_dir.c_str(), d.logdir.c_str(), static_cast<long long>(d.sample_chars), d.temperature,
      static_cast<long long>(d.top_k));
}

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] { return sample::flags::value(argc, argv, i); };
    try {
      if (a == "--steps")
        f.steps = sample::flags::integer(value());
      else if (a == "--batch-size")
        f.batch_size = sample::flags::integer(value());
      else if (a == "--learning-rate")
        f.learning_rate = sample::flags::number(value());
      else if (a == "--warmup-steps")
        f.warmup_steps = sample::flags::integer(value());
      else if (a == "--device")
        f.device = value();
      else if (a == "--checkpoint-dir")
        f.checkpoint_dir = value();
      else if (a == "--resume")
        f.resume = true;
      else if (a == "--save-every")
        f.save_every = sample::flags::integer(value());
      else if (a == "--data-dir")
        f.data_dir = value();
      else if (a == "--logdir")
        f.logdir = value();
      else if (a == "--saved-model")
        f.saved_model = value();
      else if (a == "--seed")
        f.seed = sample::flags::integer(value());
      else if (a == "--sample-chars")
        f.sample_chars = sample::flags::integer(value());
      else if (a == "--temperature")
        f.temperature = sample::flags::number(value());
      else if (a == "--top-k")
        f.top_k = sample::flags::integer(value());
      else if (a == "--prompt")
        f.prompt = value();
      else if (a == "--eager")
        f.eager = true;
      else if (a == "--precision")
        f.precision = value();
      else if (a == "--help" || a == "-h") {
        usage(argv[0]);
        std::exit(0);
      } else {
        std::fprintf(stderr, "%s: unknown flag %s\n", argv[0], a.c_str());
        usage(argv[0]);
        std::exit(2);
      }
    } catch (const std::logic_error&) {
      std::fprintf(stderr, "%s: bad value for %s\n", argv[0], a.c_str());
      std::exit(2);
    }
  }
  if (f.steps < 0 || f.batch_size <= 0 || !(f.learning_rate > 0) || f.warmup_steps < 0 ||
      f.save_every <= 0 || !(f.temperature > 0) || f.top_k <= 0 || f.sample_chars < 0) {
    std::fprintf(
        stderr,
        "%s: steps >= 0; batch size, learning rate, save-every, temperature, top-k positive\n",
        argv[0]);
    std::exit(2);
  }
  return f;
}

/// Mean validation loss over 1,024 windows spaced evenly (32 batches of 32, no dropout).
double validation_loss(sample::Gpt& model, const sample::Corpus& corpus, Device device) {
  const int64_t context = model.config().context;
  std::vector<int64_t> starts = sample::validation_starts(corpus, 1024, context);
  double total = 0;
  for (size_t b = 0; b < starts.size(); b += 32) {
    std::vector<int64_t> part(starts.begin() + static_cast<int64_t>(b),
                              starts.begin() + static_cast<int64_t>(b + 32));
    auto [x, y] = sample::windows(corpus, part, context);
    total += sample::gpt_loss(model(x.to(device), false), y.to(device)).item<float>();
  }
  return total / static_cast<double>(starts.size() / 32);
}

/// `count` characters after the prompt's `ids`, each drawn from the top-k
/// logits (k at most the vocabulary) at `temperature`; the key-value cache
/// makes each new character one position.
std::string generate(sample::Gpt& model, const sample::Corpus& corpus, std::vector<int32_t> ids,
                     const Flags& flags, Device device) {
  if (ids.empty()) ids.push_back(0);
  const int64_t k = std::min<int64_t>(flags.top_k, model.config().vocab);
  const int64_t context = model.config().context;
  if (static_cast<int64_t>(ids.size()) > context / 2)
    ids.erase(ids.begin(), ids.end() - context / 2);
  std::mt19937_64 gen(static_cast<uint64_t>(flags.seed));
  std::vector<int32_t> out;
  sample::Gpt::Cache cache;
  Tensor next = constant(ids, {1, static_cast<int64_t>(ids.size())}).to(device);
  for (int64_t n = 0; n < flags.sample_chars; ++n) {
    if (cache.length >= context) {  // the window is full: start again from its second half
      std::vector<int32_t> tail(
          out.end() - std::min<int64_t>(static_cast<int64_t>(out.size()), context / 2), out.end());
      cache = {};
      next = constant(tail, {1, static_cast<int64_t>(tail.size())}).to(device);
    }
    TopK top = top_k(model.next_logits(next, cache) * static_cast<float>(1 / flags.temperature),
                     k);
    std::vector<float> logits = top.values.to(Device::cpu()).to_vector<float>();
    std::vector<int32_t> index = top.indices.to(Device::cpu()).to_vector<int32_t>();
    std::vector<double> p(logits.size());
    for (size_t i = 0; i < p.size(); ++i)
      p[i] = std::exp(static_cast<double>(logits[i] - logits[0]));
    int32_t id = index[std::discrete_distribution<size_t>(p.begin(), p.end())(gen)];
    out.push_back(id);
    next = constant(std::vector<int32_t>{id}, {1, 1}).to(device);
  }
  return corpus.decode(out);
}

int run(const Flags& flags) {
  random::set_seed(flags.seed);
  Device device = flags.device.empty() ? default_device() : Device::parse(flags.device);
  const sample::Corpus corpus(sample::load_text(flags.data_dir));
  sample::GptConfig config{.vocab = static_cast<int64_t>(corpus.vocab.size()), .seed = flags.seed};
  sample::check_windows(corpus, config.context);  // (before training, not after)
  const std::vector<int32_t> prompt = corpus.encode(flags.prompt);
  std::error_code ec;  // (a SavedModel path that cannot be one is refused before training, not after)
  EMBER_CHECK(flags.saved_model.empty() || !std::filesystem::exists(flags.saved_model, ec) ||
                  std::filesystem::is_directory(flags.saved_model, ec),
              InvalidArgument, "[char_gpt] --saved-model ", flags.saved_model, " exists and is not a directory");
  DeviceScope on(device);
  auto model = [&] {
    mixed_precision::PolicyScope policy(flags.precision);  // the model computes in its compute dtype
    return std::make_shared<sample::Gpt>(config);
  }();
  auto schedule = std::make_shared<sample::WarmupCosine>(flags.learning_rate, flags.warmup_steps,
                                                         flags.steps - flags.warmup_steps);
  auto optimizer = sample::gpt_optimizer(schedule);
  auto scaled = flags.precision == "mixed_float16" ? std::make_shared<optimizers::LossScaleOptimizer>(optimizer)
                                                   : nullptr;
  Checkpoint ckpt({{"model", model},
                   {"optimizer", scaled ? std::static_pointer_cast<Trackable>(scaled) : optimizer}});
  std::unique_ptr<CheckpointManager> manager;
  if (!flags.checkpoint_dir.empty()) {
    manager = std::make_unique<CheckpointManager>(ckpt, flags.checkpoint_dir, 3);
    if (flags.resume) {
      std::string latest = latest_checkpoint(flags.checkpoint_dir);
      if (latest.empty()) {
        std::printf("no checkpoint in %s: starting afresh\n", flags.checkpoint_dir.c_str());
      } else {
        // The model now; Adam's slots when its first step makes them (deferred).
        ckpt.restore(latest).assert_existing_objects_matched();
        std::printf("resumed from %s at step %lld\n", latest.c_str(),
                    static_cast<long long>(optimizer->iterations().read_value().item<int64_t>()));
      }
    }
  }
  int64_t params = 0;
  for (const Variable& v : model->trainable_variables()) params += v.shape().num_elements();
  std::printf(
      "char_gpt: %lld characters (%lld train, vocabulary %zu), %lld parameters, batch %lld x %lld, "
      "%lld steps, "
      "on %s, %s, %s\n",
      static_cast<long long>(corpus.size()), static_cast<long long>(corpus.train_size),
      corpus.vocab.size(), static_cast<long long>(params), static_cast<long long>(flags.batch_size),
      static_cast<long long>(config.context), static_cast<long long>(flags.steps),
      device.to_string().c_str(), flags.eager ? "eager" : "traced", flags.precision.c_str());
  SummaryWriter events(flags.logdir);
  std::printf("TensorBoard scalars: %s\n", events.path().c_str());

  auto vars = model->trainable_variables();
  auto train_step = [&](Tensor x, Tensor y) {
    GradientTape tape;
    Tensor loss = sample::gpt_loss((*model)(x, true), y);
    if (scaled) {
      scaled->apply(tape.gradient(scaled->scale_loss(loss), vars), vars);
    } else {
      optimizer->apply(tape.gradient(loss, vars), vars);
    }
    return loss;
  };
  auto traced_step = function(train_step, {.name = "train_step"});
  const bool tty = isatty(fileno(stdout));
  auto start = std::chrono::steady_clock::now();
  int64_t step = optimizer->iterations().read_value().item<int64_t>();
  const int64_t first = step;
  double smoothed = 0;
  for (; step < flags.steps; ++step) {
    auto [x, y] = sample::train_batch(corpus, flags.batch_size, config.context,
                                      static_cast<uint64_t>(flags.seed), step);
    Tensor loss = flags.eager ? train_step(x.to(device), y.to(device))
                              : traced_step(x.to(device), y.to(device));
    const bool report = (step + 1) % 10 == 0 || step + 1 == flags.steps;
    if (report) {
      const double l = loss.item<float>();
      smoothed = step - first < 10 ? l : 0.9 * smoothed + 0.1 * l;
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double per = secs / static_cast<double>(step + 1 - first);
      const int width = 24,
                filled = static_cast<int>(width * (step + 1) / std::max<int64_t>(flags.steps, 1));
      std::string bar(static_cast<size_t>(filled), '=');
      bar.resize(width, '.');
      std::printf("%sstep [%s] %lld/%lld  loss %.4f  %.0f ms/step  ETA %.0fs%s", tty ? "\r" : "",
                  bar.c_str(), static_cast<long long>(step + 1),
                  static_cast<long long>(flags.steps), smoothed, per * 1e3,
                  per * static_cast<double>(flags.steps - step - 1),
                  tty && step + 1 < flags.steps ? "" : "\n");
      std::fflush(stdout);
      events.scalar("loss", l, step + 1);
      events.scalar("learning_rate", schedule->at(step), step + 1);
    }
    if (manager && ((step + 1) % flags.save_every == 0 || step + 1 == flags.steps)) manager->save();
  }
  const double val = validation_loss(*model, corpus, device);
  std::printf("validation loss: %.4f nats per character\n", val);
  events.scalar("val_loss", val, flags.steps);
  events.flush();
  std::printf("sample (temperature %g, top-k %lld):\n%s\n", flags.temperature,
              static_cast<long long>(std::min<int64_t>(flags.top_k, config.vocab)),
              generate(*model, corpus, prompt, flags, device).c_str());
  if (!flags.saved_model.empty()) {
    // serving_default: ids [batch, T] (T <= context) -> the next character's logits [batch, vocab].
    auto serve = sample::serving_function(model);
    model->track("serve", serve);
    saved_model::save(model, flags.saved_model,
                      {.signatures = {{"serving_default", serve.get_concrete_function()}}});
    std::printf("SavedModel: %s (serving_default: ids [batch, T] -> logits [batch, %zu])\n",
                flags.saved_model.c_str(), corpus.vocab.size());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse(argc, argv);
  try {
    return run(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember-char-gpt: %s\n", e.what());
    return 1;
  }
}
