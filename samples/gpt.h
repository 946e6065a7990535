// The character-level GPT of ../shared/BENCHMARKS.md (`gpt_char`), shared by
// samples/char_gpt.cpp, bench/ember_bench.cpp and tests/gpt_sample_test.cpp:
// the text (Debian's fortunes), its windows, and the model: learned token
// and position embeddings, pre-norm blocks (LayerNorm → fused QKV → causal
// fused attention → projection; LayerNorm → Dense 4× with tanh GELU →
// Dense), a final LayerNorm and the token embedding reused as the output
// layer. GPT-2's initialisation: N(0, 0.02), the residual projections
// scaled by 1/√(2·layers), zero biases. Generation keeps a key-value cache,
// so each new token costs one position.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ember.h"

namespace sample {

/// The regular files of `dir` (not fortune's `.dat` indexes nor the `.u8`
/// links), concatenated in name order. InvalidArgument naming the folder or
/// file when it is missing, unreadable or holds no text.
inline std::string load_text(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  EMBER_CHECK(fs::is_directory(dir, ec), InvalidArgument, "[char_gpt] no text folder at ", dir,
              " (Debian's fortunes package installs /usr/share/games/fortunes: scripts/setup.sh)");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (e.is_symlink() || !e.is_regular_file() || ext == ".dat" || ext == ".u8") continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    EMBER_CHECK(in, InvalidArgument, "[char_gpt] cannot read ", f.string());
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EMBER_CHECK(!text.empty(), InvalidArgument, "[char_gpt] the text in ", dir, " is empty (",
              files.size(), " files)");
  return text;
}

/// The text as ids over its distinct bytes (the vocabulary, in byte order).
struct Corpus {
  std::vector<unsigned char> vocab;  // id -> byte
  std::vector<int32_t> ids;
  int64_t train_size = 0;  // the first 90% trains, the rest validates

  explicit Corpus(const std::string& text) {
    bool seen[256] = {};
    for (unsigned char c : text) seen[c] = true;
    int32_t id_of[256];
    for (int c = 0; c < 256; ++c)
      if (seen[c]) {
        id_of[c] = static_cast<int32_t>(vocab.size());
        vocab.push_back(static_cast<unsigned char>(c));
      }
    ids.reserve(text.size());
    for (unsigned char c : text) ids.push_back(id_of[c]);
    train_size = static_cast<int64_t>(ids.size()) * 9 / 10;
  }
  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  /// `s` as ids; InvalidArgument naming a byte the text does not hold.
  std::vector<int32_t> encode(const std::string& s) const {
    std::vector<int32_t> out;
    for (unsigned char c : s) {
      auto it = std::find(vocab.begin(), vocab.end(), c);
      EMBER_CHECK(it != vocab.end(), InvalidArgument, "[char_gpt] byte ", static_cast<int>(c),
                  c >= 0x20 && c < 0x7f ? " ('" + std::string(1, static_cast<char>(c)) + "')" : std::string(),
                  " of \"", s, "\" is not in the text's vocabulary of ", vocab.size(), " bytes");
      out.push_back(static_cast<int32_t>(it - vocab.begin()));
    }
    return out;
  }
  std::string decode(const std::vector<int32_t>& v) const {
    std::string s;
    for (int32_t i : v) s.push_back(static_cast<char>(vocab[static_cast<size_t>(i)]));
    return s;
  }
};

/// Windows of `context` ids starting at `starts`, and the ids one later:
/// inputs and targets [starts.size(), context] (int32, on the CPU).
inline std::pair<ember::Tensor, ember::Tensor> windows(const Corpus& c,
                                                       const std::vector<int64_t>& starts,
                                                       int64_t context) {
  std::vector<int32_t> x, y;
  for (int64_t s : starts) {
    x.insert(x.end(), c.ids.begin() + s, c.ids.begin() + s + context);
    y.insert(y.end(), c.ids.begin() + s + 1, c.ids.begin() + s + context + 1);
  }
  const ember::TensorShape shape{static_cast<int64_t>(starts.size()), context};
  ember::DeviceScope cpu(ember::Device::cpu());
  return {ember::constant(x, shape), ember::constant(y, shape)};
}

/// InvalidArgument unless the training text (and, with `validating`, the
/// validation text) holds a window of `context` + 1 characters: a model's
/// input and its targets.
inline void check_windows(const Corpus& c, int64_t context, bool validating = true) {
  const int64_t train = c.train_size, validation = c.size() - c.train_size;
  EMBER_CHECK(train > context && (!validating || validation > context + 1), InvalidArgument, "[char_gpt] the text (",
              c.size(), " characters: ", train, " to train, ", validation,
              " to validate) is too short: each part needs a window of ", context + 1,
              " characters, and the validation part one more");
}

/// Training step `step`'s batch: random windows of the training text, a
/// function of (seed, step) alone, so a resumed run sees the same batches.
inline std::pair<ember::Tensor, ember::Tensor> train_batch(const Corpus& c, int64_t batch,
                                                           int64_t context, uint64_t seed,
                                                           int64_t step) {
  check_windows(c, context, /*validating=*/false);
  std::mt19937_64 gen(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(step));
  std::uniform_int_distribution<int64_t> start(0, c.train_size - context - 1);
  std::vector<int64_t> starts(static_cast<size_t>(batch));
  for (auto& s : starts) s = start(gen);
  return windows(c, starts, context);
}

/// `count` windows spaced evenly over the validation text.
inline std::vector<int64_t> validation_starts(const Corpus& c, int64_t count, int64_t context) {
  check_windows(c, context);
  const int64_t first = c.train_size, span = c.size() - c.train_size - context - 1;
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < count; ++i)
    starts.push_back(first + span * i / std::max<int64_t>(count - 1, 1));
  return starts;
}

struct GptConfig {
  int64_t vocab = 114, layers = 4, heads = 4, d_model = 256, context = 128;
  double dropout = 0.1;
  int64_t seed = 1;  // the initializers' and dropouts' seeds derive from it
};

/// y reshaped to the first `lead` dimensions of `like`, then `tail`: from
/// like's static shape where known (a trace of known shapes), else from its
/// run-time shape.
inline ember::Tensor reshape_lead(const ember::Tensor& y, const ember::Tensor& like, int lead,
                                  std::vector<int64_t> tail) {
  using namespace ember;
  std::vector<int64_t> dims(like.shape().dims().begin(), like.shape().dims().begin() + lead);
  dims.insert(dims.end(), tail.begin(), tail.end());
  if (TensorShape(dims).is_fully_defined()) return reshape(y, TensorShape(dims));
  // (ensure_shape keeps the dimensions known here for what follows: split, matmul.)
  return ensure_shape(
      reshape(y, concat({slice(shape(like, int64), {0}, {lead}), constant(tail)}, 0)),
      TensorShape(dims));
}

/// `v`'s value in `dtype` (a mixed-precision model's variables are float32).
inline ember::Tensor read_as(const ember::Variable& v, ember::DType dtype) {
  return v.dtype() == dtype ? v.read_value() : ember::cast(v.read_value(), dtype);
}

/// x [..., in] · w [in, out] + b, in x's dtype.
inline ember::Tensor linear(const ember::Tensor& x, const ember::Variable& w,
                            const ember::Variable& b) {
  using namespace ember;
  Tensor y = matmul(reshape(x, {-1, w.shape().dim(0)}), read_as(w, x.dtype()));
  if (b.defined()) y = y + read_as(b, x.dtype());
  return reshape_lead(y, x, x.rank() - 1, {w.shape().dim(1)});
}

class Gpt : public ember::Module {
 public:
  /// Per layer, the keys and values of every position seen so far
  /// ([batch, heads, positions, head_dim]).
  struct Cache {
    std::vector<ember::Tensor> k, v;
    int64_t length = 0;
  };

  /// Computes in the global dtype policy's compute dtype (float32 variables
  /// under a mixed policy; layer norms in float32; float32 logits).
  explicit Gpt(GptConfig c) : Module("gpt"), c_(c), compute_(ember::mixed_precision::global_policy().compute_dtype()) {
    using namespace ember;
    EMBER_CHECK(c.d_model % c.heads == 0, InvalidArgument, "[Gpt] d_model ", c.d_model,
                " is not a multiple of heads ", c.heads);
    auto scope = name_scope();
    int64_t seed = c.seed * 1000;
    auto normal = [&](double stddev) {
      return std::make_shared<initializers::RandomNormal>(0, stddev, seed++);
    };
    auto var = [&](Module& owner, const std::string& name, TensorShape shape, double stddev) {
      auto scope_ = owner.name_scope();
      Variable v = stddev > 0 ? Variable((*normal(stddev))(shape, float32), {.name = name})
                              : Variable(zeros(shape), {.name = name});
      owner.track(name, v);
      return v;
    };
    auto ones_var = [&](Module& owner, const std::string& name, int64_t n) {
      auto scope_ = owner.name_scope();
      Variable v(ones({n}), {.name = name});
      owner.track(name, v);
      return v;
    };
    const int64_t d = c.d_model;
    const double residual = 0.02 / std::sqrt(2.0 * static_cast<double>(c.layers));
    wte_ = var(*this, "wte", {c.vocab, d}, 0.02);
    wpe_ = var(*this, "wpe", {c.context, d}, 0.02);
    for (int64_t l = 0; l < c.layers; ++l) {
      auto b = std::make_shared<Module>("h" + std::to_string(l));
      track("h" + std::to_string(l), b);
      Block k;
      k.ln1_g = ones_var(*b, "ln_1_gamma", d);
      k.ln1_b = var(*b, "ln_1_beta", {d}, 0);
      k.qkv_w = var(*b, "attn_qkv_kernel", {d, 3 * d}, 0.02);
      k.qkv_b = var(*b, "attn_qkv_bias", {3 * d}, 0);
      k.proj_w = var(*b, "attn_proj_kernel", {d, d}, residual);
      k.proj_b = var(*b, "attn_proj_bias", {d}, 0);
      k.ln2_g = ones_var(*b, "ln_2_gamma", d);
      k.ln2_b = var(*b, "ln_2_beta", {d}, 0);
      k.fc_w = var(*b, "mlp_fc_kernel", {d, 4 * d}, 0.02);
      k.fc_b = var(*b, "mlp_fc_bias", {4 * d}, 0);
      k.out_w = var(*b, "mlp_proj_kernel", {4 * d, d}, residual);
      k.out_b = var(*b, "mlp_proj_bias", {d}, 0);
      {
        auto s = b->name_scope();
        k.drop_attn = std::make_shared<layers::Dropout>(c.dropout, seed++, "attn_dropout");
        k.drop_mlp = std::make_shared<layers::Dropout>(c.dropout, seed++, "mlp_dropout");
      }
      b->track("attn_dropout", k.drop_attn);
      b->track("mlp_dropout", k.drop_mlp);
      blocks_.push_back(k);
    }
    lnf_g_ = ones_var(*this, "ln_f_gamma", d);
    lnf_b_ = var(*this, "ln_f_beta", {d}, 0);
    drop_ = track("embedding_dropout",
                  std::make_shared<layers::Dropout>(c.dropout, seed++, "embedding_dropout"));
  }

  const GptConfig& config() const { return c_; }

  /// Logits [batch, T, vocab] for ids [batch, T] (int32), T <= context.
  ember::Tensor operator()(const ember::Tensor& ids, bool training) {
    return forward(ids, training, nullptr);
  }

  /// Appends ids [batch, n] to the cache and returns the logits of its
  /// last position [batch, vocab]: each position is computed once.
  ember::Tensor next_logits(const ember::Tensor& ids, Cache& cache) {
    using namespace ember;
    Tensor logits = forward(ids, false, &cache);
    const int64_t n = ids.dim(1);
    return reshape(slice(logits, {0, n - 1, 0}, {-1, 1, -1}), {ids.dim(0), c_.vocab});
  }

 private:
  struct Block {
    ember::Variable ln1_g, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_g, ln2_b, fc_w, fc_b, out_w,
        out_b;
    std::shared_ptr<ember::layers::Dropout> drop_attn, drop_mlp;
  };

  ember::Tensor forward(const ember::Tensor& ids, bool training, Cache* cache) {
    using namespace ember;
    EMBER_CHECK(ids.shape().rank_known() && ids.rank() == 2, InvalidArgument,
                "[Gpt] ids must be [batch, T], got ", ids.shape().to_string());
    const int64_t past = cache ? cache->length : 0, t = ids.dim(1);
    EMBER_CHECK(t == TensorShape::kUnknown || past + t <= c_.context, InvalidArgument, "[Gpt] ",
                past + t, " positions exceed the model's context of ", c_.context);
    const int64_t d = c_.d_model, heads = c_.heads, hd = d / heads;
    // Positions past .. past + T - 1, from the run-time shape (T may be unknown in a trace).
    Tensor length = shape_at(ids, 1);
    Tensor checked = ids;
    if (t == TensorShape::kUnknown)  // (a trace of any length, the serving function's: checked when it runs)
      checked = check(ids, less_equal(constant(past) + length, constant(c_.context)),
                      detail::str_cat("[Gpt] the ids are longer than the model's context of ", c_.context, " positions"));
    Tensor positions = range(constant(past), constant(past) + length, constant(int64_t{1}));
    Tensor h = gather(wte_.read_value(), checked) + gather(wpe_.read_value(), positions);
    if (h.dtype() != compute_) h = cast(h, compute_);
    h = (*drop_)(h, training);
    // Layer norms in float32 (as Keras keeps them): the fused op takes a
    // 16-bit y with the float32 gamma and beta, and rounds its result once.
    auto norm = [&](const Tensor& y, const Variable& g, const Variable& b) {
      return layer_norm(y, g.read_value(), b.read_value(), 1e-5);
    };
    if (cache && cache->k.empty()) cache->k.resize(blocks_.size()), cache->v.resize(blocks_.size());
    const std::vector<int64_t> heads_first{0, 2, 1, 3};
    for (size_t l = 0; l < blocks_.size(); ++l) {
      const Block& b = blocks_[l];
      Tensor x = norm(h, b.ln1_g, b.ln1_b);
      auto qkv = split(linear(x, b.qkv_w, b.qkv_b), 3, -1);
      auto split_heads = [&](const Tensor& y) {
        return transpose(reshape_lead(y, y, 2, {heads, hd}), heads_first);
      };
      Tensor q = split_heads(qkv[0]), k = split_heads(qkv[1]), v = split_heads(qkv[2]);
      AttentionOptions a{.causal = true, .scale = 1 / std::sqrt(static_cast<double>(hd))};
      if (cache) {
        if (cache->k[l].defined()) {
          k = concat({cache->k[l], k}, 2);
          v = concat({cache->v[l], v}, 2);
        }
        cache->k[l] = k;
        cache->v[l] = v;
        if (past > 0) {  // query i (position past + i) attends to keys 0 .. past + i
          a.causal = false;
          Tensor rows = range(past, past + t, 1, int64), cols = range(0, past + t, 1, int64);
          a.mask = expand_dims(rows, 1) >= cols;
        }
      }
      Tensor o = transpose(scaled_dot_product_attention(q, k, v, a), heads_first);
      o = reshape_lead(o, o, 2, {d});
      h = h + (*b.drop_attn)(linear(o, b.proj_w, b.proj_b), training);
      x = norm(h, b.ln2_g, b.ln2_b);
      h = h +
          (*b.drop_mlp)(linear(gelu(linear(x, b.fc_w, b.fc_b), true), b.out_w, b.out_b), training);
    }
    if (cache) cache->length = past + t;
    h = norm(h, lnf_g_, lnf_b_);
    // The output layer is the token embedding, transposed (tied, no bias).
    Tensor logits = matmul(reshape(h, {-1, d}), read_as(wte_, h.dtype()), false, true);
    if (logits.dtype() != float32) logits = cast(logits, float32);
    return reshape_lead(logits, h, 2, {c_.vocab});
  }

  GptConfig c_;
  ember::DType compute_;
  ember::Variable wte_, wpe_, lnf_g_, lnf_b_;
  std::vector<Block> blocks_;
  std::shared_ptr<ember::layers::Dropout> drop_;
};

/// BENCHMARKS.md's schedule: lr·(s + 1)/warmup for the first `warmup`
/// steps, then cosine decay to 10% of lr over the remaining steps.
class WarmupCosine : public ember::schedules::LearningRateSchedule {
 public:
  WarmupCosine(double lr, int64_t warmup, int64_t decay)
      : lr_(lr), warmup_(warmup), decay_(std::max<int64_t>(decay, 1)) {}
  ember::Tensor operator()(const ember::Tensor& step) const override {
    using namespace ember;
    Tensor s = cast(step, float32);
    Tensor warm = (s + 1.f) * static_cast<float>(lr_ / std::max<int64_t>(warmup_, 1));
    Tensor progress =
        minimum((s - static_cast<float>(warmup_)) / static_cast<float>(decay_), scalar_like(s, 1));
    Tensor cosine = static_cast<float>(lr_) *
                    (0.1f + 0.9f * 0.5f * (1.f + cos(progress * static_cast<float>(M_PI))));
    return where(s < static_cast<float>(warmup_), warm, cosine);
  }

 private:
  double lr_;
  int64_t warmup_, decay_;
};

/// BENCHMARKS.md's optimizer: AdamW (weight decay 0.1 on every variable,
/// betas 0.9/0.95, epsilon 1e-8) clipping at global norm 1.
inline std::shared_ptr<ember::optimizers::AdamW> gpt_optimizer(
    ember::schedules::SchedulePtr schedule) {
  using namespace ember::optimizers;
  return std::make_shared<AdamW>(std::move(schedule),
                                 AdamParams{.beta_1 = 0.9, .beta_2 = 0.95, .epsilon = 1e-8},
                                 Options{.global_clipnorm = 1.0, .weight_decay = 0.1});
}

/// The model's serving function: int32 ids [batch, T] (T <= context) to the
/// last position's logits [batch, vocab], traced for any batch and length
/// (what the sample's SavedModel exports as serving_default). It holds the
/// model weakly: the model tracks the function, and a strong capture would
/// make a cycle that keeps both alive forever.
inline auto serving_function(const std::shared_ptr<Gpt>& model) {
  using namespace ember;
  return function(
      [weak = std::weak_ptr<Gpt>(model)](Tensor ids) {
        std::shared_ptr<Gpt> m = weak.lock();
        EMBER_CHECK(m, FailedPrecondition, "[Gpt] serving_default called after its model was destroyed");
        Tensor logits = (*m)(ids, false);
        Tensor last = shape_at(logits, 1) - int64_t{1};
        return gather(logits, last, 1);
      },
      {.name = "serving_default", .input_signature = std::vector<TensorSpec>{TensorSpec({-1, -1}, int32, "ids")}});
}

/// Mean cross-entropy of the logits [batch, T, vocab] against targets [batch, T], in nats.
inline ember::Tensor gpt_loss(const ember::Tensor& logits, const ember::Tensor& targets) {
  return ember::reduce_mean(ember::sparse_softmax_cross_entropy_with_logits(targets, logits));
}

}  // namespace sample
