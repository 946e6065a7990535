// ember-bench: the workloads of ../shared/BENCHMARKS.md that ember can run
// today. Usage: ember-bench [--json] [--device cpu|cuda] [--batch N] [workload...]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "bench/harness.h"
#include "core/cuda_runtime.h"
#include "ember.h"
#include "samples/gpt.h"
#include "samples/models.h"

#if EMBER_WITH_CUDA
#include <cublas_v2.h>
#endif
#if EMBER_BENCH_WITH_MPI
#include <mpi.h>
#endif

namespace {

using namespace ember;
using bench::Figure;

Device g_device = default_device();

void sync() {
  if (g_device.is_cuda()) cuda::synchronize(g_device.index());
}

std::vector<Figure> op_overhead() {
  DeviceScope scope(g_device);
  Tensor a = ones({1}), b = ones({1});
  const int n = 200000;
  double t = bench::time_per_call([&] { Tensor c = a + b; }, n, 5, 1, sync);
  return {{"op_overhead", t * 1e6, "us"}};
}

std::vector<Figure> op_overhead_recorded() {
  DeviceScope scope(g_device);
  Tensor a = ones({1}), b = ones({1});
  const int n = 200000;
  std::vector<double> times;
  for (int rep = 0; rep < 5; ++rep) {
    GradientTape tape;  // a fresh tape per batch, so the record does not grow without bound
    tape.watch(a);
    times.push_back(bench::time_per_call([&] { Tensor c = a + b; }, n, 1, rep == 0 ? 1 : 0, sync));
  }
  std::sort(times.begin(), times.end());
  return {{"op_overhead_recorded", times[times.size() / 2] * 1e6, "us"}};
}

std::vector<Figure> add_16m() {
  DeviceScope scope(g_device);
  const int64_t n = int64_t{1} << 24;
  Tensor a = random::uniform({n}), b = random::uniform({n});
  double t = bench::time_per_call([&] { Tensor c = a + b; }, 10, 7, 3, sync);
  return {{"add_16M", 12.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> sum_16m() {
  DeviceScope scope(g_device);
  const int64_t n = int64_t{1} << 24;
  Tensor a = random::uniform({n});
  double t = bench::time_per_call([&] { Tensor c = reduce_sum(a); }, 10, 7, 3, sync);
  return {{"sum_16M", 4.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> matmul_1024() {
  DeviceScope scope(g_device);
  const int64_t n = 1024;
  Tensor a = random::normal({n, n}), b = random::normal({n, n});
  double t = bench::time_per_call([&] { Tensor c = matmul(a, b); }, 5, 7, 2, sync);
  return {{"matmul_1024", 2.0 * double(n * n * n) / t / 1e9, "GFLOP/s"}};
}

std::vector<Figure> log_softmax_bench() {
  DeviceScope scope(g_device);
  Tensor x = random::normal({4096, 1024});
  double t = bench::time_per_call([&] { Tensor y = log_softmax(x); }, 10, 7, 3, sync);
  return {{"log_softmax", 8.0 * 4096 * 1024 / t / 1e9, "GB/s"}};
}

// Fused attention, causal, q/k/v [32, 4, 128, 64] float32: forward, then
// backward for q, k and v; 4·B·H·S²·D flops forward and twice that backward.
std::vector<Figure> attention_bench() {
  DeviceScope scope(g_device);
  const TensorShape shape{32, 4, 128, 64};
  Tensor q = random::normal(shape), k = random::normal(shape), v = random::normal(shape);
  double t = bench::time_per_call(
      [&] {
        GradientTape tape;
        for (const Tensor* x : {&q, &k, &v}) tape.watch(*x);
        Tensor o = scaled_dot_product_attention(q, k, v, {.causal = true});
        auto grads = tape.gradient(o, {q, k, v});
      },
      3, 7, 2, sync);
  return {{"attention", 3 * 4.0 * 32 * 4 * 128 * 128 * 64 / t / 1e9, "GFLOP/s"}};
}

// The cnn model's two convolutions at batch 64 (VALID, stride 1): forward,
// input gradient and filter gradient of each, 2·N·Ho·Wo·Co·Kh·Kw·Ci flops a pass.
std::vector<Figure> conv2d_bench() {
  DeviceScope scope(g_device);
  struct Conv {
    TensorShape x, f;
    Tensor xt, ft, gt;
    double flops;
  };
  std::vector<Conv> convs = {{{64, 28, 28, 1}, {3, 3, 1, 32}, {}, {}, {}, 0},
                             {{64, 13, 13, 32}, {3, 3, 32, 64}, {}, {}, {}, 0}};
  double flops = 0;
  Attrs a = {{"strides", std::vector<int64_t>{1, 1, 1, 1}}, {"padding", std::string("VALID")},
             {"explicit_paddings", std::vector<int64_t>{}}, {"dilations", std::vector<int64_t>{1, 1, 1, 1}},
             {"data_format", std::string("NHWC")}};
  for (Conv& c : convs) {
    c.xt = random::normal(c.x);
    c.ft = random::normal(c.f);
    int64_t ho = c.x.dim(1) - 2, wo = c.x.dim(2) - 2;
    c.gt = random::normal({c.x.dim(0), ho, wo, c.f.dim(3)});
    c.flops = 2.0 * double(c.x.dim(0) * ho * wo * c.f.dim(3) * 9 * c.f.dim(2));
    flops += 3 * c.flops;
  }
  auto step = [&] {
    for (Conv& c : convs) {
      Tensor y = conv2d(c.xt, c.ft);
      Attrs ai = a, af = a;
      ai.set("input_sizes", c.x.as_vector());
      af.set("filter_sizes", c.f.as_vector());
      Tensor dx = execute1(op_def("Conv2DBackpropInput"), {c.ft, c.gt}, ai);
      Tensor df = execute1(op_def("Conv2DBackpropFilter"), {c.xt, c.gt}, af);
    }
  };
  double t = bench::time_per_call(step, 5, 7, 2, sync);
  return {{"conv2d", flops / t / 1e9, "GFLOP/s"}};
}

// ---- tracing -------------------------------------------------------------------------------

// A function of 100 elementwise ops on a 1×1 tensor: traced once (ms), then
// called 100,000 times (µs per call). Beside it, the same 100 ops run
// eagerly per call, measured in the same run (the target: a call of the
// traced function costs at most a quarter of that).
Tensor hundred_ops(Tensor x) {
  for (int i = 0; i < 25; ++i) x = tanh(x * 0.5f + 0.25f) - x;  // 4 ops a round
  return x;
}

// A traced while_loop of 1,000 iterations of one scalar add (µs per
// iteration); beside it, trace_call's time per op in the same run (the
// target: at most 3x).
std::vector<Figure> while_bench() {
  DeviceScope scope(g_device);
  auto loop = function([](Tensor x) {
    return while_loop([](const LoopVars& v) { return less(v[0], constant(1000.f)); },
                      [](const LoopVars& v) { return LoopVars{v[0] + 1.f}; }, {x})[0];
  });
  Tensor zero = constant(0.f);
  loop(zero);
  double per_loop = bench::time_per_call([&] { Tensor y = loop(zero); }, 1000 / 5, 5, 5, sync);
  Tensor x = ones({1, 1});
  auto f = function(hundred_ops, {.name = "hundred_ops"});
  f(x);
  double call = bench::time_per_call([&] { Tensor y = f(x); }, 100000 / 5, 5, 1000, sync);
  return {{"while_1000", per_loop / 1000 * 1e6, "us/iteration"}, {"while_1000_trace_call_per_op", call / 100 * 1e6, "us"}};
}

std::vector<Figure> trace_bench() {
  DeviceScope scope(g_device);
  Tensor x = ones({1, 1});
  std::vector<double> trace_t;
  for (int rep = 0; rep < 5; ++rep) {
    auto f = function(hundred_ops, {.name = "hundred_ops"});
    auto t0 = std::chrono::steady_clock::now();
    f.get_concrete_function(x);
    trace_t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(trace_t.begin(), trace_t.end());
  auto f = function(hundred_ops, {.name = "hundred_ops"});
  f(x);
  double call = bench::time_per_call([&] { Tensor y = f(x); }, 100000 / 5, 5, 1000, sync);
  double eager = bench::time_per_call([&] { Tensor y = hundred_ops(x); }, 100000 / 5, 5, 1000, sync);
  std::vector<Figure> figures{{"trace", trace_t[trace_t.size() / 2] * 1e3, "ms"},
                              {"trace_call", call * 1e6, "us"},
                              {"trace_call_eager_100_ops", eager * 1e6, "us"}};
  if (g_device.is_cuda()) {  // the same calls without CUDA-graph replay
    auto plain = function(hundred_ops, {.name = "hundred_ops", .cuda_graphs = false});
    plain(x);
    double p = bench::time_per_call([&] { Tensor y = plain(x); }, 100000 / 5, 5, 1000, sync);
    figures.push_back({"trace_call_no_cuda_graphs", p * 1e6, "us"});
  }
  return figures;
}

// ---- training: the mlp and cnn models of BENCHMARKS.md on Fashion-MNIST ------------------

int64_t g_batch_override = 0;  // --batch N: the GPU's batch-1024 variants
std::string g_precision = "float32";  // --precision mixed_bfloat16|mixed_float16

// A figure's name under --precision: mlp_bf16, mlp_f16.
std::string named(const std::string& base) {
  if (g_precision == "mixed_bfloat16") return base + "_bf16";
  if (g_precision == "mixed_float16") return base + "_f16";
  return base;
}

// A model made under --precision's policy.
template <typename Make>
std::shared_ptr<layers::Layer> under_policy(Make make) {
  mixed_precision::PolicyScope scope(g_precision);
  return make();
}

struct Trained {
  double ms_per_step;
  float accuracy;
};

/// Trains `model` as BENCHMARKS.md says (Adam(1e-3), softmax cross-entropy,
/// shuffled each epoch) and times every step of every epoch, data included.
Trained train_fashion_mnist(const std::shared_ptr<layers::Layer>& model, const TensorShape& example,
                            int64_t batch, int epochs, bool traced = false) {
  data::Mnist mnist = [] {
    DeviceScope cpu(Device::cpu());
    const char* dir = std::getenv("EMBER_FASHION_MNIST_DIR");  // (a GPU machine: the bundle's copy)
    return data::load_mnist(dir ? dir : data::kFashionMnistDir);
  }();
  auto prepare = [&](const Tensor& images, const Tensor& labels) {
    DeviceScope cpu(Device::cpu());
    std::vector<int64_t> dims{images.dim(0)};
    for (int64_t d : example.dims()) dims.push_back(d);
    return std::pair{reshape(cast(images, float32) * (1.0f / 255), TensorShape(dims)), cast(labels, int32)};
  };
  auto [train_x, train_y] = prepare(mnist.train_images, mnist.train_labels);
  auto [test_x, test_y] = prepare(mnist.test_images, mnist.test_labels);
  DeviceScope scope(g_device);
  random::set_seed(1);
  auto dataset = data::Dataset::from_tensor_slices({train_x, train_y})
                     .shuffle(train_x.dim(0), 1)
                     .batch(batch)
                     .prefetch(2, g_device);
  auto optimizer = std::make_shared<optimizers::Adam>(1e-3);
  // mixed_float16 scales the loss (as Keras's compile does).
  auto scaled = g_precision == "mixed_float16" ? std::make_shared<optimizers::LossScaleOptimizer>(optimizer) : nullptr;
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  auto step = [&](Tensor x, Tensor y) {
    GradientTape tape;
    Tensor loss = loss_fn(y, (*model)(x, true));
    auto vars = model->trainable_variables();
    if (scaled) {
      scaled->apply(tape.gradient(scaled->scale_loss(loss), vars), vars);
    } else {
      optimizer->apply(tape.gradient(loss, vars), vars);
    }
    return loss;
  };
  auto traced_step = function(step, {.name = "train_step"});
  int64_t steps = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto it = dataset.iterator();
    while (auto b = it.next()) {
      if (traced)
        traced_step((*b)[0], (*b)[1]);
      else
        step((*b)[0], (*b)[1]);
      ++steps;
    }
  }
  sync();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  metrics::SparseCategoricalAccuracy accuracy;
  auto it = data::Dataset::from_tensor_slices({test_x, test_y}).batch(1000).iterator();
  while (auto b = it.next()) accuracy.update_state((*b)[1], (*model)((*b)[0].to(g_device)));
  return {secs * 1e3 / double(steps), accuracy.result().item<float>()};
}

// ---- distributed: under `mpirun -np N` (each rank runs the workload; rank 0 prints) ---------

void mpi_barrier() {
#if EMBER_BENCH_WITH_MPI
  MPI_Barrier(MPI_COMM_WORLD);
#endif
}

// ember's all-reduce (the op: its dispatch, the hop to the transport's
// thread, the ranks' comparison of the call and a new output) beside
// MPI_Allreduce called directly on the same buffers, interleaved; bus
// bandwidth 2(n-1)/n bytes/s, median of 9.
std::vector<Figure> allreduce_64m() {
#if EMBER_BENCH_WITH_MPI
  const int n = collective::size();
  EMBER_CHECK(n > 1, FailedPrecondition, "allreduce_64M runs under mpirun -np 2 (or more)");
  int level = 0;
  MPI_Query_thread(&level);
  EMBER_CHECK(level == MPI_THREAD_MULTIPLE, FailedPrecondition,
              "allreduce_64M calls MPI beside ember's thread: this MPI lacks MPI_THREAD_MULTIPLE");
  DeviceScope cpu(Device::cpu());
  const int64_t count = int64_t{1} << 24;
  Tensor x = fill(TensorShape{count}, 1.0 + collective::rank());
  Tensor direct = zeros(TensorShape{count});
  std::vector<double> ember_t, mpi_t;
  auto timed = [](const std::function<void()>& f) {
    mpi_barrier();
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  Tensor y;
  for (int rep = 0; rep < 11; ++rep) {
    double te = timed([&] { y = collective::all_reduce(x); });
    double tm = timed([&] {
      MPI_Allreduce(x.data<float>(), direct.data<float>(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    });
    if (rep >= 2) {  // warm-up
      ember_t.push_back(te);
      mpi_t.push_back(tm);
    }
  }
  EMBER_CHECK(y.to_vector<float>()[7] == static_cast<float>(n * (n + 1) / 2), Internal, "allreduce_64M: a wrong sum");
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double bus = 2.0 * (n - 1) / n * static_cast<double>(count) * 4;
  return {{"allreduce_64M", bus / median(ember_t) / 1e9, "GB/s"},
          {"allreduce_64M_mpi", bus / median(mpi_t) / 1e9, "GB/s"}};
#else
  throw FailedPrecondition("allreduce_64M: ember-bench was built without MPI");
#endif
}

// The mlp workload (3 epochs) on one CPU thread per rank: first rank 0
// alone (batch 128, the others waiting), then every rank data-parallel
// (global batch 128 x ranks); examples/s of each and the parallel model's
// test accuracy.
std::vector<Figure> mlp_ddp() {
  const int n = collective::size(), me = collective::rank();
  set_cpu_threads_for_this_thread(1);
  data::Mnist mnist = [] {
    const char* dir = std::getenv("EMBER_FASHION_MNIST_DIR");
    return data::load_mnist(dir ? dir : data::kFashionMnistDir);
  }();
  Tensor train_x = reshape(cast(mnist.train_images, float32) * (1.0f / 255), TensorShape{-1, 784});
  Tensor train_y = cast(mnist.train_labels, int32);
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  distribute::MultiWorkerMirroredStrategy strategy;
  auto train = [&](bool parallel) {
    random::set_seed(1);
    std::shared_ptr<layers::Layer> model;
    {
      std::optional<distribute::MultiWorkerMirroredStrategy::Scope> scope;  // rank 0's initial weights everywhere
      if (parallel) scope.emplace();
      model = sample::mlp_model();
      (*model)(zeros({1, 784}));  // builds the layers (on their first call)
    }
    optimizers::Adam optimizer(1e-3);
    auto vars = model->trainable_variables();
    auto examples = data::Dataset::from_tensor_slices({train_x, train_y}).shuffle(train_x.dim(0), 1);
    auto batches = (parallel ? strategy.distribute_dataset(examples, 128 * n) : examples.batch(128, true)).prefetch(2);
    int64_t seen = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int epoch = 0; epoch < 3; ++epoch)
      for (auto it = batches.iterator(); auto b = it.next();) {
        GradientTape tape;
        Tensor loss = loss_fn((*b)[1], (*model)((*b)[0], true));
        optimizer.apply(parallel ? strategy.gradient(tape, loss, vars) : tape.gradient(loss, vars), vars);
        seen += (*b)[0].dim(0) * (parallel ? n : 1);
      }
    (void)vars[0].read_value().to_vector<float>();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics::SparseCategoricalAccuracy accuracy;
    Tensor test_x = reshape(cast(mnist.test_images, float32) * (1.0f / 255), TensorShape{-1, 784});
    accuracy.update_state(cast(mnist.test_labels, int32), (*model)(test_x));
    return std::pair{static_cast<double>(seen) / secs, accuracy.result().item<float>()};
  };
  std::vector<Figure> figures;
  if (me == 0) {  // one rank alone, calling no collective
    auto [rate, acc] = train(false);
    figures.push_back({"mlp_1rank", rate, "examples/s"});
  }
  collective::barrier();
  auto [rate, acc] = train(true);
  figures.push_back({"mlp_ddp", rate, "examples/s"});
  figures.push_back({"mlp_ddp_accuracy", acc, "fraction"});
  figures.push_back({"mlp_ddp_ranks", static_cast<double>(n), "ranks"});
  return figures;
}

// ---- gpt_char: the character-level GPT of samples/gpt.h on Debian's fortunes -------------

// ms per traced training step (median of 50 after 10 warm-up); with
// GPT_STEPS=N, N steps of training then the validation loss in nats per
// character over 1,024 evenly spaced windows.
std::vector<Figure> gpt_char_bench() {
  DeviceScope scope(g_device);
  const char* dir = std::getenv("EMBER_FORTUNES_DIR");  // (a GPU machine: the bundle's copy)
  const sample::Corpus corpus(sample::load_text(dir ? dir : "/usr/share/games/fortunes"));
  random::set_seed(1);
  auto model = [&] {
    mixed_precision::PolicyScope policy(g_precision);
    return std::make_shared<sample::Gpt>(sample::GptConfig{.vocab = static_cast<int64_t>(corpus.vocab.size())});
  }();
  const char* env = std::getenv("GPT_STEPS");
  const int64_t train_steps = env ? std::atoll(env) : 0;
  auto optimizer = sample::gpt_optimizer(std::make_shared<sample::WarmupCosine>(3e-4, 100, 2000));
  auto scaled = g_precision == "mixed_float16" ? std::make_shared<optimizers::LossScaleOptimizer>(optimizer) : nullptr;
  auto vars = model->trainable_variables();
  auto step = function(
      [&](Tensor x, Tensor y) {
        GradientTape tape;
        Tensor loss = sample::gpt_loss((*model)(x, true), y);
        if (scaled) {
          scaled->apply(tape.gradient(scaled->scale_loss(loss), vars), vars);
        } else {
          optimizer->apply(tape.gradient(loss, vars), vars);
        }
        return loss;
      },
      {.name = "train_step"});
  int64_t s = 0;
  auto one = [&] {
    auto [x, y] = sample::train_batch(corpus, 32, 128, 1, s++);
    Tensor loss = step(x.to(g_device), y.to(g_device));
  };
  std::vector<Figure> figures;
  if (train_steps == 0) {
    double t = bench::time_per_call(one, 1, 50, 10, sync);
    figures.push_back({named("gpt_char"), t * 1e3, "ms"});
  } else {
    while (s < train_steps) one();
    std::vector<int64_t> starts = sample::validation_starts(corpus, 1024, 128);
    double total = 0;
    for (size_t b = 0; b < starts.size(); b += 32) {
      auto [x, y] = sample::windows(corpus, {starts.begin() + static_cast<int64_t>(b), starts.begin() + static_cast<int64_t>(b + 32)}, 128);
      total += sample::gpt_loss((*model)(x.to(g_device), false), y.to(g_device)).item<float>();
    }
    figures.push_back({named("gpt_char") + "_val_loss", total / 32, "nats"});
  }
  return figures;
}

std::vector<Figure> mlp_bench() {
  Trained t = train_fashion_mnist(under_policy(sample::mlp_model), {784}, g_batch_override ? g_batch_override : 128, 3);
  return {{named("mlp"), t.ms_per_step, "ms"}, {named("mlp") + "_accuracy", t.accuracy, "fraction"}};
}

// The whole step (forward, tape, gradient, Adam) traced into one function.
std::vector<Figure> mlp_traced_bench() {
  Trained t = train_fashion_mnist(under_policy(sample::mlp_model), {784}, g_batch_override ? g_batch_override : 128, 3,
                                  true);
  return {{named("mlp_traced"), t.ms_per_step, "ms"}, {named("mlp_traced") + "_accuracy", t.accuracy, "fraction"}};
}

// The `mlp` workload through Model::fit (verbose 0, no metrics beyond the
// loss it always tracks): the same model, data, batches and steps as
// mlp_traced, so the two figures' ratio is fit's own cost.
std::vector<Figure> mlp_fit_bench() {
  data::Mnist mnist = [] {
    DeviceScope cpu(Device::cpu());
    const char* dir = std::getenv("EMBER_FASHION_MNIST_DIR");
    return data::load_mnist(dir ? dir : data::kFashionMnistDir);
  }();
  Tensor train_x, train_y, test_x, test_y;
  {
    DeviceScope cpu(Device::cpu());
    train_x = reshape(cast(mnist.train_images, float32) * (1.0f / 255), TensorShape{-1, 784});
    train_y = cast(mnist.train_labels, int32);
    test_x = reshape(cast(mnist.test_images, float32) * (1.0f / 255), TensorShape{-1, 784});
    test_y = cast(mnist.test_labels, int32);
  }
  const int64_t batch = g_batch_override ? g_batch_override : 128;
  DeviceScope scope(g_device);
  random::set_seed(1);
  auto model = std::static_pointer_cast<Model>(under_policy(sample::mlp_model));
  model->compile({.optimizer = std::make_shared<optimizers::Adam>(1e-3),
                  .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(losses::LossOptions{.from_logits = true})});
  // fit prefetches onto the device itself.
  auto dataset = data::Dataset::from_tensor_slices({train_x, train_y}).shuffle(train_x.dim(0), 1).batch(batch);
  const int64_t steps = 3 * dataset.cardinality();
  auto t0 = std::chrono::steady_clock::now();
  model->fit(dataset, {.epochs = 3, .verbose = 0});
  sync();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  metrics::SparseCategoricalAccuracy accuracy;
  auto it = data::Dataset::from_tensor_slices({test_x, test_y}).batch(1000).iterator();
  while (auto b = it.next()) accuracy.update_state((*b)[1], (*model)((*b)[0].to(g_device)));
  return {{named("mlp_fit"), secs * 1e3 / double(steps), "ms"},
          {named("mlp_fit") + "_accuracy", accuracy.result().item<float>(), "fraction"}};
}

std::vector<Figure> cnn_bench() {
  Trained t = train_fashion_mnist(under_policy(sample::cnn_model), {28, 28, 1}, g_batch_override ? g_batch_override : 64, 1);
  return {{named("cnn"), t.ms_per_step, "ms"}, {named("cnn") + "_accuracy", t.accuracy, "fraction"}};
}

// ---- the GPU sizes (BENCHMARKS.md): run only with --device cuda -------------------------

std::vector<Figure> add_256m() {
  if (!g_device.is_cuda()) return {};
  DeviceScope scope(g_device);
  const int64_t n = int64_t{1} << 28;
  Tensor a = random::uniform({n}), b = random::uniform({n});
  double t = bench::time_per_call([&] { Tensor c = a + b; }, 10, 7, 3, sync);
  // The reference: a device-to-device copy of the same size (bytes read + written).
  double tc = bench::time_per_call([&] { Tensor c = a.clone(); }, 10, 7, 3, sync);
  return {{"add_256M", 12.0 * double(n) / t / 1e9, "GB/s"}, {"copy_256M", 8.0 * double(n) / tc / 1e9, "GB/s"}};
}

// gpt2_124m: GPT-2 small (12 layers, 12 heads, d_model 768, context 1024,
// vocabulary 50,257) on random tokens, under mixed_bfloat16, batch 16: tokens
// per second of a whole traced training step (forward, gradient, AdamW with
// clipping), median of 10 after 3 warm-up steps. A GPU workload; on the CPU
// it runs only when GPT2_BATCH and GPT2_CONTEXT ask for a smaller size (a
// smoke run of the same model and step).
std::vector<Figure> gpt2_124m() {
  const char* batch_env = std::getenv("GPT2_BATCH");
  const char* context_env = std::getenv("GPT2_CONTEXT");
  if (!g_device.is_cuda() && !(batch_env && context_env)) return {};
  const int64_t batch = batch_env ? std::atoll(batch_env) : 16;
  const int64_t context = context_env ? std::atoll(context_env) : 1024;
  DeviceScope scope(g_device);
  random::set_seed(1);
  const int64_t vocab = 50257;
  auto model = [&] {
    mixed_precision::PolicyScope policy("mixed_bfloat16");
    return std::make_shared<sample::Gpt>(
        sample::GptConfig{.vocab = vocab, .layers = 12, .heads = 12, .d_model = 768, .context = 1024});
  }();
  auto optimizer = sample::gpt_optimizer(std::make_shared<sample::WarmupCosine>(3e-4, 100, 2000));
  auto vars = model->trainable_variables();
  auto step = function(
      [&](Tensor x, Tensor y) {
        GradientTape tape;
        Tensor loss = sample::gpt_loss((*model)(x, true), y);
        optimizer->apply(tape.gradient(loss, vars), vars);
        return loss;
      },
      {.name = "train_step"});
  // Random tokens, drawn once per call on the device (as the data a loader
  // would have placed there).
  int64_t s = 0;
  auto one = [&] {
    Tensor ids = cast(random::stateless_uniform({batch, context + 1}, {11, s++}, 0, double(vocab), float32), int32);
    Tensor loss = step(slice(ids, {0, 0}, {batch, context}), slice(ids, {0, 1}, {batch, context}));
  };
  const double t = bench::time_per_call(one, 1, 10, 3, sync);
  return {{"gpt2_124m", double(batch * context) / t, "tokens/s"}};
}

#if EMBER_WITH_CUDA
// cuBLAS called directly on ember's buffers and stream, with its own handle:
// the reference ember's matmul is held to (BENCHMARKS.md: at least 95%).
struct DirectCublas {
  cublasHandle_t h = nullptr;
  explicit DirectCublas(int device) {
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw Internal("[bench] cublasCreate failed");
    cublasSetStream(h, cuda::stream(device));
  }
  ~DirectCublas() { cublasDestroy(h); }
  // C = A·B for row-major n×n operands (computed as C^T = B^T·A^T).
  void gemm(const Tensor& a, const Tensor& b, Tensor& c, int64_t n, DType dt, bool tf32) {
    float one = 1, zero = 0;
    cudaDataType_t t = dt == bfloat16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t ct = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    int ni = static_cast<int>(n);
    cublasStatus_t st =
        cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, ni, ni, ni, &one, b.raw_data(), t, ni,
                     a.raw_data(), t, ni, &zero, c.raw_data(), t, ni, ct, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) throw Internal("[bench] cublasGemmEx failed");
  }
};
#endif

std::vector<Figure> matmul_8192() {
  if (!g_device.is_cuda()) return {};
  DeviceScope scope(g_device);
  const int64_t n = 8192;
  Tensor a32 = random::normal({n, n}), b32 = random::normal({n, n});
  double flops = 2.0 * double(n) * double(n) * double(n);
  std::vector<Figure> out;
  struct Case {
    const char* name;
    DType dtype;
    bool tf32;
  };
  for (Case k : {Case{"fp32", float32, false}, Case{"tf32", float32, true},
                 Case{"bf16", bfloat16, false}}) {
    Tensor a = cast(a32, k.dtype), b = cast(b32, k.dtype);
    enable_tensor_float_32_execution(k.tf32);
    double t = bench::time_per_call([&] { Tensor c = matmul(a, b); }, 3, 5, 1, sync);
    out.push_back({std::string("matmul_8192_") + k.name, flops / t / 1e12, "TFLOP/s"});
#if EMBER_WITH_CUDA
    DirectCublas direct(g_device.index());
    Tensor c = Tensor::empty(TensorShape{n, n}, k.dtype, g_device);
    double td = bench::time_per_call([&] { direct.gemm(a, b, c, n, k.dtype, k.tf32); }, 3, 5, 1, sync);
    out.push_back({std::string("cublas_8192_") + k.name, flops / td / 1e12, "TFLOP/s"});
#endif
  }
  enable_tensor_float_32_execution(false);
  return out;
}

// 64 float32 variables of 1M elements (256 MB) saved and restored, with the
// disk's own sequential write (synced) and read speed measured beside them.
std::vector<Figure> checkpoint_bench() {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ember_bench_ckpt_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto module = std::make_shared<Module>("model");
  std::vector<Variable> vars;
  for (int i = 0; i < 64; ++i) {
    std::string name = std::to_string(i);
    name.insert(0, 1, 'v');  // (not "v" + ...: GCC 12 warns falsely on it)
    vars.emplace_back(random::uniform({1 << 20}), VariableOptions{.name = name});
    module->track(name, trackable_of(vars.back()));
  }
  const double bytes = 64.0 * (1 << 20) * 4;
  Checkpoint ckpt({{"model", module}});
  auto seconds = [](auto&& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> save_t, restore_t, write_t, read_t;
  std::string blob(static_cast<size_t>(bytes), '\x5a');
  for (int rep = 0; rep < 3; ++rep) {
    std::string path = (dir / std::to_string(rep)).string() + "c";
    save_t.push_back(seconds([&] { ckpt.write(path); }));
    restore_t.push_back(seconds([&] { ckpt.restore(path); }));
    std::string raw = (dir / std::to_string(rep)).string() + "raw";
    write_t.push_back(seconds([&] {
      int fd = ::open(raw.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      for (size_t off = 0; off < blob.size();)
        off += static_cast<size_t>(::write(fd, blob.data() + off, blob.size() - off));
      ::fsync(fd);
      ::close(fd);
    }));
    read_t.push_back(seconds([&] {
      std::string back(blob.size(), '\0');
      int fd = ::open(raw.c_str(), O_RDONLY);
      for (size_t off = 0; off < back.size();)
        off += static_cast<size_t>(
            ::pread(fd, back.data() + off, back.size() - off, static_cast<off_t>(off)));
      ::close(fd);
    }));
  }
  fs::remove_all(dir);
  auto best = [](std::vector<double> v) { return *std::min_element(v.begin(), v.end()); };
  return {{"checkpoint_save", bytes / best(save_t) / 1e9, "GB/s"},
          {"checkpoint_restore", bytes / best(restore_t) / 1e9, "GB/s"},
          {"disk_write_synced", bytes / best(write_t) / 1e9, "GB/s"},
          {"disk_read", bytes / best(read_t) / 1e9, "GB/s"}};
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) {
      json = true;
    } else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) {
      g_device = Device::parse(argv[++i]);
    } else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
      g_batch_override = std::atoll(argv[++i]);
    } else if (!std::strcmp(argv[i], "--precision") && i + 1 < argc) {
      g_precision = argv[++i];
      try {
        (void)mixed_precision::Policy(g_precision);
      } catch (const Error& e) {
        std::fprintf(stderr, "ember-bench: %s\n", e.what());
        return 2;
      }
      std::fprintf(stderr, "precision %s; CPU instruction set: %s\n", g_precision.c_str(), build_info().cpu_isa.c_str());
    } else if (!std::strcmp(argv[i], "--help")) {
      std::printf("usage: ember-bench [--json] [--device cpu|cuda] [--batch N (mlp, cnn)]\n"
                  "                   [--precision mixed_bfloat16|mixed_float16 (mlp, mlp_traced, mlp_fit, cnn, gpt_char)] [workload...]\n");
      return 0;
    } else {
      names.emplace_back(argv[i]);
    }
  }
  random::set_seed(1);
  // Under mpirun every rank runs the workloads; rank 0 reports.
  if (collective::size() > 1 && collective::rank() != 0 && !std::freopen("/dev/null", "w", stdout)) return 1;
  try {
    return bench::run({{"op_overhead", op_overhead},
                       {"op_overhead_recorded", op_overhead_recorded},
                       {"add_16M", add_16m},
                       {"sum_16M", sum_16m},
                       {"matmul_1024", matmul_1024},
                       {"log_softmax", log_softmax_bench},
                       {"attention", attention_bench},
                       {"conv2d", conv2d_bench},
                       {"trace", trace_bench},
                       {"while_1000", while_bench},
                       {"mlp", mlp_bench},
                       {"mlp_traced", mlp_traced_bench},
                       {"mlp_fit", mlp_fit_bench},
                       {"cnn", cnn_bench},
                       {"gpt_char", gpt_char_bench},
                       {"checkpoint", checkpoint_bench},
                       {"allreduce_64M", allreduce_64m},
                       {"mlp_ddp", mlp_ddp},
                       {"add_256M", add_256m},
                       {"matmul_8192", matmul_8192},
                       {"gpt2_124m", gpt2_124m}},
                      names, json);
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "ember-bench: %s\n", e.what());
    return 1;
  }
}
