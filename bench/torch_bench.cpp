// torch-bench: the same workloads as ember-bench, run by libtorch, for
// figures taken side by side in one run on one machine. Each is timed in
// libtorch's best form (BENCHMARKS.md, "Baselines"): out= variants into
// preallocated tensors, so libtorch's allocator is not what is timed, and
// libtorch's thread count equal to ember's (OpenMP's).
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>

#include "bench/harness.h"

namespace {

using bench::Figure;

std::vector<Figure> op_overhead() {
  torch::NoGradGuard no_grad;
  auto a = torch::ones({1}), b = torch::ones({1});
  double t = bench::time_per_call([&] { auto c = a + b; }, 200000, 5, 1);
  return {{"op_overhead", t * 1e6, "us"}};
}

std::vector<Figure> add_16m() {
  torch::NoGradGuard no_grad;
  const int64_t n = int64_t{1} << 24;
  auto a = torch::rand({n}), b = torch::rand({n}), c = torch::empty({n});
  double t = bench::time_per_call([&] { torch::add_out(c, a, b); }, 10, 7, 3);
  return {{"add_16M", 12.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> sum_16m() {
  torch::NoGradGuard no_grad;
  const int64_t n = int64_t{1} << 24;
  auto a = torch::rand({n}), c = torch::empty({});
  double t = bench::time_per_call([&] { torch::sum_out(c, a, std::vector<int64_t>{0}); }, 10, 7, 3);
  return {{"sum_16M", 4.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> matmul_1024() {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024}), c = torch::empty({1024, 1024});
  double t = bench::time_per_call([&] { torch::mm_out(c, a, b); }, 5, 7, 2);
  return {{"matmul_1024", 2.0 * 1024.0 * 1024 * 1024 / t / 1e9, "GFLOP/s"}};
}

std::vector<Figure> log_softmax_bench() {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4096, 1024}), y = torch::empty({4096, 1024});
  double t = bench::time_per_call([&] { at::_log_softmax_out(y, x, -1, false); }, 10, 7, 3);
  return {{"log_softmax", 8.0 * 4096 * 1024 / t / 1e9, "GB/s"}};
}

// Fused attention, causal, q/k/v [32, 4, 128, 64] float32: forward, then
// backward for q, k and v (torch's scaled_dot_product_attention).
std::vector<Figure> attention_bench() {
  auto opts = torch::TensorOptions().requires_grad(true);
  auto q = torch::randn({32, 4, 128, 64}, opts), k = torch::randn({32, 4, 128, 64}, opts),
       v = torch::randn({32, 4, 128, 64}, opts);
  double t = bench::time_per_call(
      [&] {
        auto o = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
        auto grads = torch::autograd::grad({o}, {q, k, v}, {torch::ones_like(o)});
      },
      3, 7, 2);
  return {{"attention", 3 * 4.0 * 32 * 4 * 128 * 128 * 64 / t / 1e9, "GFLOP/s"}};
}

std::vector<Figure> op_overhead_recorded() {
  auto a = torch::ones({1}, torch::requires_grad()), b = torch::ones({1});
  double t = bench::time_per_call([&] { auto c = a + b; }, 200000, 5, 1);
  return {{"op_overhead_recorded", t * 1e6, "us"}};
}

// The cnn model's two convolutions at batch 64, forward and both gradients
// (at::convolution_backward computes the input and weight gradients in one
// call, as autograd does). Timed in NCHW and in channels-last, the faster
// reported: libtorch's best form on this machine.
std::vector<Figure> conv2d_bench() {
  torch::NoGradGuard no_grad;
  struct Conv {
    at::Tensor x, w, g;
  };
  double flops = 0;
  auto run = [&](bool channels_last) {
    std::vector<Conv> convs;
    flops = 0;
    for (auto [n, h, ci, co] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{64, 28, 1, 32}, {64, 13, 32, 64}}) {
      auto fmt = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
      Conv c{torch::randn({n, ci, h, h}).contiguous(fmt), torch::randn({co, ci, 3, 3}).contiguous(fmt),
             torch::randn({n, co, h - 2, h - 2}).contiguous(fmt)};
      flops += 3 * 2.0 * double(n * (h - 2) * (h - 2) * co * 9 * ci);
      convs.push_back(c);
    }
    return bench::time_per_call(
        [&] {
          for (Conv& c : convs) {
            auto y = at::convolution(c.x, c.w, {}, {1, 1}, {0, 0}, {1, 1}, false, {0, 0}, 1);
            auto grads = at::convolution_backward(c.g, c.x, c.w, at::OptionalIntArrayRef{}, {1, 1}, {0, 0},
                                                  {1, 1}, false, {0, 0}, 1, {true, true, false});
          }
        },
        5, 7, 2);
  };
  double t = std::min(run(false), run(true));
  return {{"conv2d", flops / t / 1e9, "GFLOP/s"}};
}


// ---- training: the mlp and cnn models of BENCHMARKS.md on Fashion-MNIST ------------------

int64_t g_batch_override = 0;
// --precision mixed_bfloat16: the forward pass and loss under CPU autocast
// (libtorch 2.x: torch.autocast("cpu", torch.bfloat16)'s C++ form).
std::string g_precision = "float32";

std::string named(const std::string& base) { return g_precision == "mixed_bfloat16" ? base + "_bf16" : base; }

/// Autocast to bfloat16 on the CPU while alive, its cast cache cleared at
/// the end (as leaving torch.autocast does).
struct CpuAutocast {
  bool on;
  explicit CpuAutocast(bool enable) : on(enable) {
#if TORCH_VERSION_MAJOR >= 2
    if (on) {
      at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
      at::autocast::set_autocast_enabled(at::kCPU, true);
    }
#else
    if (on) throw std::runtime_error("--precision needs libtorch 2.x (torch2-bench)");
#endif
  }
  ~CpuAutocast() {
#if TORCH_VERSION_MAJOR >= 2
    if (on) {
      at::autocast::set_autocast_enabled(at::kCPU, false);
      at::autocast::clear_cache();
    }
#endif
  }
};

/// A gzipped IDX file of unsigned bytes (ember reads these with
/// data::read_idx; libtorch has no reader, so the baseline carries this one).
at::Tensor read_idx_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("torch-bench: cannot open " + path);
  auto read = [&](void* p, unsigned n) {
    if (gzread(f, p, n) != static_cast<int>(n)) throw std::runtime_error("torch-bench: short " + path);
  };
  unsigned char magic[4];
  read(magic, 4);
  std::vector<int64_t> dims(magic[3]);
  for (auto& d : dims) {
    unsigned char b[4];
    read(b, 4);
    d = (int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
  }
  auto t = torch::empty(dims, torch::kUInt8);
  read(t.data_ptr(), static_cast<unsigned>(t.numel()));
  gzclose(f);
  return t;
}

struct Trained {
  double ms_per_step;
  float accuracy;
};

/// BENCHMARKS.md's recipe in libtorch's usual form: the data in memory, a
/// permutation per epoch, index_select batches, Adam, cross_entropy.
template <typename Model>
Trained train_fashion_mnist(Model& model, std::vector<int64_t> example, int64_t batch, int epochs) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  auto prepare = [&](const char* images, const char* labels) {
    auto x = read_idx_gz(dir + images).to(torch::kFloat32).div_(255);
    example.insert(example.begin(), x.size(0));
    x = x.reshape(example).contiguous();
    example.erase(example.begin());
    return std::pair{x, read_idx_gz(dir + labels).to(torch::kInt64)};
  };
  auto [train_x, train_y] = prepare("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
  auto [test_x, test_y] = prepare("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const int64_t n = train_x.size(0);
  int64_t steps = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto perm = torch::randperm(n);
    for (int64_t i = 0; i < n; i += batch) {
      auto idx = perm.slice(0, i, std::min(n, i + batch));
      auto x = train_x.index_select(0, idx), y = train_y.index_select(0, idx);
      if (x.dim() == 4) x = x.contiguous(at::MemoryFormat::ChannelsLast);
      optimizer.zero_grad();
      torch::Tensor loss;
      {
        CpuAutocast autocast(g_precision == "mixed_bfloat16");
        loss = torch::nn::functional::cross_entropy(model->forward(x), y);
      }
      loss.backward();
      optimizer.step();
      ++steps;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  torch::NoGradGuard no_grad;
  auto predicted = model->forward(test_x).argmax(1);
  float accuracy = predicted.eq(test_y).to(torch::kFloat32).mean().template item<float>();
  return {secs * 1e3 / double(steps), accuracy};
}

// ---- gpt_char: BENCHMARKS.md's character-level GPT in torch::nn ---------------------------

// The fortunes text as ids over its distinct bytes, the rule of samples/gpt.h.
struct Fortunes {
  std::vector<int64_t> ids;
  int64_t vocab = 0, train_size = 0;
};
Fortunes load_fortunes() {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator("/usr/share/games/fortunes")) {
    const std::string ext = e.path().extension().string();
    if (!e.is_symlink() && e.is_regular_file() && ext != ".dat" && ext != ".u8") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (text.empty()) throw std::runtime_error("no text in /usr/share/games/fortunes");
  int64_t id_of[256];
  bool seen[256] = {};
  Fortunes f;
  for (unsigned char c : text) seen[c] = true;
  for (int c = 0; c < 256; ++c)
    if (seen[c]) id_of[c] = f.vocab++;
  for (unsigned char c : text) f.ids.push_back(id_of[c]);
  f.train_size = static_cast<int64_t>(f.ids.size()) * 9 / 10;
  return f;
}

// Windows at `starts` and their next-character targets, [n, context] int64.
std::pair<torch::Tensor, torch::Tensor> gpt_windows(const Fortunes& f, const std::vector<int64_t>& starts,
                                                    int64_t context) {
  std::vector<int64_t> x, y;
  for (int64_t s : starts) {
    x.insert(x.end(), f.ids.begin() + s, f.ids.begin() + s + context);
    y.insert(y.end(), f.ids.begin() + s + 1, f.ids.begin() + s + context + 1);
  }
  const int64_t n = static_cast<int64_t>(starts.size());
  return {torch::tensor(x).view({n, context}), torch::tensor(y).view({n, context})};
}

struct GptBlockImpl : torch::nn::Module {
  GptBlockImpl(int64_t d, int64_t heads) : heads(heads) {
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    qkv = register_module("qkv", torch::nn::Linear(d, 3 * d));
    proj = register_module("proj", torch::nn::Linear(d, d));
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    fc = register_module("fc", torch::nn::Linear(d, 4 * d));
    out = register_module("out", torch::nn::Linear(4 * d, d));
  }
  torch::Tensor forward(torch::Tensor x) {
    const int64_t b = x.size(0), t = x.size(1), d = x.size(2);
    auto parts = qkv(ln1(x)).view({b, t, 3, heads, d / heads}).permute({2, 0, 3, 1, 4});
    auto a = at::scaled_dot_product_attention(parts[0], parts[1], parts[2], {}, 0.0, /*is_causal=*/true);
    x = x + torch::dropout(proj(a.transpose(1, 2).reshape({b, t, d})), p, is_training());
    return x + torch::dropout(out(torch::gelu(fc(ln2(x)), "tanh")), p, is_training());
  }
  int64_t heads;
  double p = 0.1;  // dropout
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc{nullptr}, out{nullptr};
};
TORCH_MODULE(GptBlock);

struct GptImpl : torch::nn::Module {
  GptImpl(int64_t vocab, int64_t layers = 4, int64_t heads = 4, int64_t d = 256, int64_t context = 128) {
    wte = register_module("wte", torch::nn::Embedding(vocab, d));
    wpe = register_module("wpe", torch::nn::Embedding(context, d));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t l = 0; l < layers; ++l) blocks->push_back(GptBlock(d, heads));
    lnf = register_module("lnf", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    // GPT-2's initialisation: N(0, 0.02), residual projections / √(2·layers), zero biases.
    torch::NoGradGuard no_grad;
    for (auto& p : named_parameters()) {
      const std::string& n = p.key();
      if (n.find("ln") != std::string::npos) continue;
      if (n.ends_with("bias"))
        p.value().zero_();
      else
        p.value().normal_(0, n.find("proj.weight") != std::string::npos || n.find("out.weight") != std::string::npos
                                 ? 0.02 / std::sqrt(2.0 * static_cast<double>(layers))
                                 : 0.02);
    }
  }
  torch::Tensor forward(torch::Tensor idx) {
    auto x = wte(idx) + wpe(torch::arange(idx.size(1)));
    x = torch::dropout(x, p, is_training());
    for (const auto& b : *blocks) x = b->as<GptBlock>()->forward(x);
    return torch::matmul(lnf(x), wte->weight.t());  // tied, no bias
  }
  double p = 0.1;  // dropout
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm lnf{nullptr};
};
TORCH_MODULE(Gpt);

std::vector<Figure> gpt_char_bench() {
  const Fortunes text = load_fortunes();
  torch::manual_seed(1);
  Gpt model(text.vocab);
  torch::optim::AdamW adamw(model->parameters(),
                            torch::optim::AdamWOptions(3e-4).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1));
  const char* env = std::getenv("GPT_STEPS");
  const int64_t train_steps = env ? std::atoll(env) : 0;
  int64_t s = 0;
  auto one = [&] {
    // The learning rate of BENCHMARKS.md: warm-up over 100 steps, cosine to 10% over 2,000.
    const double lr = s < 100 ? 3e-4 * double(s + 1) / 100
                              : 3e-4 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * std::min(1.0, double(s - 100) / 2000))));
    for (auto& g : adamw.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    std::mt19937_64 gen(0x9E3779B97F4A7C15ull + static_cast<uint64_t>(s++));  // samples/gpt.h's train_batch, seed 1
    std::uniform_int_distribution<int64_t> start(0, text.train_size - 128 - 1);
    std::vector<int64_t> starts(32);
    for (auto& st : starts) st = start(gen);
    auto [x, y] = gpt_windows(text, starts, 128);
    adamw.zero_grad();
    torch::Tensor loss;
    {
      CpuAutocast autocast(g_precision == "mixed_bfloat16");
      loss = torch::nn::functional::cross_entropy(model->forward(x).view({-1, text.vocab}), y.view({-1}));
    }
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    adamw.step();
  };
  if (train_steps == 0) {
    model->train();
    return {{named("gpt_char"), bench::time_per_call(one, 1, 50, 10) * 1e3, "ms"}};
  }
  model->train();
  while (s < train_steps) one();
  model->eval();
  torch::NoGradGuard no_grad;
  const int64_t span = static_cast<int64_t>(text.ids.size()) - text.train_size - 128 - 1;
  double total = 0;
  for (int64_t b = 0; b < 32; ++b) {
    std::vector<int64_t> starts;
    for (int64_t i = b * 32; i < b * 32 + 32; ++i) starts.push_back(text.train_size + span * i / 1023);
    auto [x, y] = gpt_windows(text, starts, 128);
    total += torch::nn::functional::cross_entropy(model->forward(x).view({-1, text.vocab}), y.view({-1})).item<double>();
  }
  return {{named("gpt_char") + "_val_loss", total / 32, "nats"}};
}

struct MlpImpl : torch::nn::Module {
  torch::nn::Linear fc1{784, 256}, fc2{256, 10};
  MlpImpl() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  at::Tensor forward(const at::Tensor& x) { return fc2(torch::relu(fc1(x))); }
};
TORCH_MODULE(Mlp);

struct CnnImpl : torch::nn::Module {
  torch::nn::Conv2d c1{torch::nn::Conv2dOptions(1, 32, 3)}, c2{torch::nn::Conv2dOptions(32, 64, 3)};
  torch::nn::Linear fc1{1600, 128}, fc2{128, 10};
  CnnImpl() {
    register_module("c1", c1);
    register_module("c2", c2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  at::Tensor forward(const at::Tensor& x) {
    auto h = torch::max_pool2d(torch::relu(c1(x)), 2);
    h = torch::max_pool2d(torch::relu(c2(h)), 2);
    return fc2(torch::relu(fc1(h.flatten(1))));
  }
};
TORCH_MODULE(Cnn);

std::vector<Figure> mlp_bench() {
  torch::manual_seed(1);
  Mlp model;
  Trained t = train_fashion_mnist(model, {784}, g_batch_override ? g_batch_override : 128, 3);
  return {{named("mlp"), t.ms_per_step, "ms"}, {named("mlp") + "_accuracy", t.accuracy, "fraction"}};
}

// libtorch has no traced training step in C++: its eager step is the
// baseline mlp_traced is held to (BENCHMARKS.md), timed again here so that
// bench/compare.sh pairs the figures.
std::vector<Figure> mlp_traced_bench() {
  auto f = mlp_bench();
  return {{named("mlp_traced"), f[0].value, "ms"}, {named("mlp_traced") + "_accuracy", f[1].value, "fraction"}};
}

std::vector<Figure> cnn_bench() {
  torch::manual_seed(1);
  Cnn model;
  // Channels-last: libtorch's faster form for this model here (19.7 against
  // 24.1 ms a step in NCHW, 2026-11-29), as BENCHMARKS.md asks.
  for (auto& p : model->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  Trained t = train_fashion_mnist(model, {1, 28, 28}, g_batch_override ? g_batch_override : 64, 1);
  return {{named("cnn"), t.ms_per_step, "ms"}, {named("cnn") + "_accuracy", t.accuracy, "fraction"}};
}

}  // namespace

// ---- --gpt-match DIR: the sample's first training losses, from ember's initial weights --------

// DIR (tests/gpt_sample_test.cpp's export) holds each of ember's variables
// as raw float32 (`<name>.f32`, ember's [in, out] kernels), the batches as
// raw int32 (`x.i32`, `y.i32`: [steps, batch, 128]) and `config.txt`
// (`vocab layers steps batch`). Trains the same model without dropout,
// with the same optimizer and schedule, and prints one loss per step:
// tests/data/torch_gpt_losses.txt (scripts/make_gpt_torch_fixture.sh).
std::vector<float> read_raw_f32(const std::string& path, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * 4)))
    throw std::runtime_error("cannot read " + std::to_string(n) + " floats from " + path);
  return v;
}

int gpt_match(const std::string& dir) {
  int64_t vocab, layers, steps, batch;
  std::ifstream(dir + "/config.txt") >> vocab >> layers >> steps >> batch;
  torch::manual_seed(1);
  Gpt model(vocab, layers);
  {
  torch::NoGradGuard no_grad;  // the weights are set, not recorded
  auto load = [&](torch::Tensor p, const std::string& name, bool transposed) {
    auto shape = transposed ? std::vector<int64_t>{p.size(1), p.size(0)} : p.sizes().vec();
    auto v = read_raw_f32(dir + "/" + name + ".f32", p.numel());
    auto t = torch::from_blob(v.data(), shape, torch::kFloat32).clone();
    p.copy_(transposed ? t.t() : t);
  };
  load(model->wte->weight, "wte", false);
  load(model->wpe->weight, "wpe", false);
  for (int64_t l = 0; l < layers; ++l) {
    auto b = model->blocks[static_cast<size_t>(l)]->as<GptBlock>();
    const std::string h = "h" + std::to_string(l) + "_";
    load(b->ln1->weight, h + "ln_1_gamma", false);
    load(b->ln1->bias, h + "ln_1_beta", false);
    load(b->qkv->weight, h + "attn_qkv_kernel", true);
    load(b->qkv->bias, h + "attn_qkv_bias", false);
    load(b->proj->weight, h + "attn_proj_kernel", true);
    load(b->proj->bias, h + "attn_proj_bias", false);
    load(b->ln2->weight, h + "ln_2_gamma", false);
    load(b->ln2->bias, h + "ln_2_beta", false);
    load(b->fc->weight, h + "mlp_fc_kernel", true);
    load(b->fc->bias, h + "mlp_fc_bias", false);
    load(b->out->weight, h + "mlp_proj_kernel", true);
    load(b->out->bias, h + "mlp_proj_bias", false);
    b->p = 0;
  }
  load(model->lnf->weight, "ln_f_gamma", false);
  load(model->lnf->bias, "ln_f_beta", false);
  }
  model->p = 0;  // no dropout: the comparison is deterministic
  auto read_ids = [&](const std::string& name) {
    std::vector<int32_t> v(static_cast<size_t>(steps * batch * 128));
    std::ifstream in(dir + "/" + name, std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4)))
      throw std::runtime_error("cannot read " + dir + "/" + name);
    return torch::from_blob(v.data(), {steps, batch, 128}, torch::kInt32).to(torch::kInt64);
  };
  torch::Tensor xs = read_ids("x.i32"), ys = read_ids("y.i32");
  torch::optim::AdamW adamw(model->parameters(),
                            torch::optim::AdamWOptions(3e-4).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1));
  model->train();
  for (int64_t s = 0; s < steps; ++s) {
    const double lr = s < 100 ? 3e-4 * double(s + 1) / 100
                              : 3e-4 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * std::min(1.0, double(s - 100) / 2000))));
    for (auto& g : adamw.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    adamw.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(xs[s]).view({-1, vocab}), ys[s].view({-1}));
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    adamw.step();
    std::printf("%.9g\n", loss.item<double>());
  }
  return 0;
}

int main(int argc, char** argv) {
  // libtorch's intra-op threads = ember's (OpenMP's count, OMP_NUM_THREADS or the cores).
  if (const char* n = std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(std::atoi(n));
  // Denormals flushed to zero, as ember's CPU kernels flush them (and as
  // TensorFlow's do): libtorch's best form for training (torch.set_flush_denormal),
  // set before its threads start so that they inherit the mode.
  at::globalContext().setFlushDenormal(true);
  bool json = false;
  std::vector<std::string> names;
  if (argc == 3 && !std::strcmp(argv[1], "--gpt-match")) return gpt_match(argv[2]);
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json"))
      json = true;
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc)
      g_batch_override = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--precision") && i + 1 < argc)
      g_precision = argv[++i];
    else
      names.emplace_back(argv[i]);
  }
  return bench::run({{"op_overhead", op_overhead},
                     {"op_overhead_recorded", op_overhead_recorded},
                     {"add_16M", add_16m},
                     {"sum_16M", sum_16m},
                     {"matmul_1024", matmul_1024},
                     {"log_softmax", log_softmax_bench},
                     {"attention", attention_bench},
                     {"conv2d", conv2d_bench},
                     {"mlp", mlp_bench},
                     {"mlp_traced", mlp_traced_bench},
                     {"cnn", cnn_bench},
                     {"gpt_char", gpt_char_bench}},
                    names, json, /*skip_unknown=*/true);
}
