// The transformer layers against Keras 3: MultiHeadAttention (cross
// attention with a mask, causal self-attention), LayerNormalization and
// Embedding restore the checkpoint Keras wrote
// (tests/tf/make_transformer_fixtures.py), every value consumed, and give
// Keras's outputs; TensorFlow reads the checkpoint ember writes back into
// Keras's layers. Errors name the layer.
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/random.h"
#include "nn/mixed_precision.h"
#include "test_util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

const std::string kFile = "keras_transformer/keras_transformer.txt";

Tensor fixture(const std::string& name, DType dtype = float32) {
  const TfCase& c = tf_fixtures(kFile).at(name);
  return make(c.values, c.shape, dtype, Device::cpu());
}

struct Layers {
  std::shared_ptr<layers::MultiHeadAttention> cross =
      std::make_shared<layers::MultiHeadAttention>(2, 3, layers::MultiHeadAttentionOptions{.value_dim = 4});
  std::shared_ptr<layers::MultiHeadAttention> causal =
      std::make_shared<layers::MultiHeadAttention>(3, 4, layers::MultiHeadAttentionOptions{.output_dim = 5});
  std::shared_ptr<layers::LayerNormalization> norm = std::make_shared<layers::LayerNormalization>();
  std::shared_ptr<layers::Embedding> emb = std::make_shared<layers::Embedding>(10, 6);

  CheckpointRoots roots() const { return {{"cross", cross}, {"causal", causal}, {"norm", norm}, {"emb", emb}}; }

  // What Keras computed, from the fixture's inputs.
  std::vector<Tensor> run() {
    Tensor query = fixture("query"), value = fixture("value"), key = fixture("key");
    Tensor mask = cast(fixture("mask"), bool_);
    return {(*cross)(query, value, {.key = key, .attention_mask = mask}),
            (*causal)(query, query, {.use_causal_mask = true}), (*norm)(query * 3.f + 1.f),
            (*emb)(fixture("ids", int64))};
  }
};

void expect_keras_outputs(const std::vector<Tensor>& got) {
  const char* names[] = {"cross", "causal", "norm", "emb"};
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(names[i]);
    const TfCase& want = tf_fixtures(kFile).at(names[i]);
    EXPECT_TRUE(all_close(got[i], want.values, want.shape, 2e-6, 2e-6));
  }
}

TEST(TransformerLayers, RestoreKerasWeightsAndGiveKerasOutputs) {
  Layers l;
  l.run();  // builds every variable
  Checkpoint ckpt(l.roots());
  ckpt.read(data_dir() + "/keras_transformer/keras-ckpt").assert_consumed();
  expect_keras_outputs(l.run());
  EXPECT_EQ(l.cross->query_kernel.name(), l.cross->name() + "/query/kernel:0");
  EXPECT_EQ(l.causal->output_kernel.shape(), (TensorShape{3, 4, 5}));
}

// Restored before the layers are built: the values wait for their variables.
TEST(TransformerLayers, RestoreBeforeBuildIsDeferred) {
  Layers l;
  Checkpoint ckpt(l.roots());
  auto status = ckpt.read(data_dir() + "/keras_transformer/keras-ckpt");
  expect_keras_outputs(l.run());
  status.assert_consumed();
}

// Keras reads what ember writes: the same keys, the values ember holds.
TEST(TransformerLayers, TensorFlowReadsEmbersCheckpointIntoKerasLayers) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  Layers l;
  l.run();
  Checkpoint(l.roots()).read(data_dir() + "/keras_transformer/keras-ckpt").assert_consumed();
  // Ember's own values: every variable scaled, so Keras must read them, not its own file.
  for (const auto& [name, root] : l.roots())
    for (Variable v : std::static_pointer_cast<Module>(root)->variables()) v.assign(v.read_value() * 2.f);
  std::string dir = temp_dir("keras_reads");
  std::string path = Checkpoint(l.roots()).write(dir + "/ckpt");
  std::vector<Tensor> outs = l.run();
  {
    std::ofstream c(dir + "/outputs.txt");
    const char* names[] = {"cross", "causal", "norm", "emb"};
    for (size_t i = 0; i < outs.size(); ++i) write_case_tensor(c, names[i], outs[i]);
  }
  std::string log;
  int rc = run_python(python, data_dir() + "/../tf/check_keras_transformer.py",
                      path + " " + data_dir() + "/keras_transformer " + dir + "/outputs.txt", log);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("OK 4"), std::string::npos) << log;
  fs::remove_all(dir);
}

// return_attention_scores: Keras's weights for the cross attention with a
// mask and the causal self-attention, beside Keras's outputs.
TEST(TransformerLayers, AttentionScoresAreKerasScores) {
  Layers l;
  l.run();
  Checkpoint(l.roots()).read(data_dir() + "/keras_transformer/keras-ckpt").assert_consumed();
  Tensor query = fixture("query"), value = fixture("value"), key = fixture("key");
  auto [cross, cross_scores] =
      l.cross->with_attention_scores(query, value, {.key = key, .attention_mask = cast(fixture("mask"), bool_)});
  auto [causal, causal_scores] = l.causal->with_attention_scores(query, query, {.use_causal_mask = true});
  const std::pair<Tensor, const char*> got[] = {
      {cross, "cross"}, {cross_scores, "cross_scores"}, {causal, "causal"}, {causal_scores, "causal_scores"}};
  for (const auto& [t, name] : got) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures(kFile).at(name);
    EXPECT_TRUE(all_close(t, want.values, want.shape, 2e-6, 2e-6));
  }
}

// The weights against float64 (q and k projected, scaled, softmax over the
// keys the mask and the causal triangle allow): a forbidden weight is
// exactly 0, and a query with no key allowed has zero weights and a zero
// output (no biases). Traced with unknown lengths, the same values.
TEST(TransformerLayers, AttentionScoresMaskedCausalAndTraced) {
  constexpr int64_t B = 2, T = 5, S = 7, H = 2, D = 4, E = 8;
  layers::MultiHeadAttention mha(H, D, {.use_bias = false});
  Tensor q = random_tensor({B, T, E}, float32, -1, 1, 3), v = random_tensor({B, S, E}, float32, -1, 1, 4);
  std::vector<uint8_t> allow(B * T * S);
  for (size_t i = 0; i < allow.size(); ++i) allow[i] = (i * 7919 % 11) < 7;
  for (int64_t j = 0; j < S; ++j) allow[(1 * T + 3) * S + j] = 0;  // batch 1, query 3: no key
  Tensor mask = cast(constant(allow, TensorShape{B, T, S}), bool_);
  auto [y, w] = mha.with_attention_scores(q, v, {.attention_mask = mask, .use_causal_mask = true});
  ASSERT_EQ(w.shape(), (TensorShape{B, H, T, S}));
  ASSERT_EQ(w.dtype(), float32);
  const std::vector<double> qv = values(q), vv = values(v), wq = values(mha.query_kernel.read_value()),
                            wk = values(mha.key_kernel.read_value()), got = values(w), out = values(y);
  auto project = [&](const std::vector<double>& x, const std::vector<double>& kernel, int64_t b, int64_t t,
                     int64_t len, int64_t h, int64_t d) {
    double s = 0;
    for (int64_t e = 0; e < E; ++e) s += x[(b * len + t) * E + e] * kernel[(e * H + h) * D + d];
    return s;
  };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> logit(S, 0);
        double top = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < S; ++j) {
          for (int64_t d = 0; d < D; ++d) logit[j] += project(qv, wq, b, i, T, h, d) * project(vv, wk, b, j, S, h, d);
          logit[j] /= std::sqrt(static_cast<double>(D));
          if (allow[(b * T + i) * S + j] && j <= i) top = std::max(top, logit[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < S; ++j) sum += allow[(b * T + i) * S + j] && j <= i ? std::exp(logit[j] - top) : 0;
        for (int64_t j = 0; j < S; ++j) {
          SCOPED_TRACE(testing::Message() << "b " << b << " h " << h << " query " << i << " key " << j);
          const double g = got[((b * H + h) * T + i) * S + j];
          if (allow[(b * T + i) * S + j] && j <= i)
            EXPECT_NEAR(g, std::exp(logit[j] - top) / sum, 1e-6);
          else
            EXPECT_EQ(g, 0.0);
        }
      }
  for (int64_t e = 0; e < E; ++e) EXPECT_EQ(out[(1 * T + 3) * E + e], 0.0) << e;

  auto traced = function([&](Tensor a, Tensor c, Tensor m) {
    auto [yy, ww] = mha.with_attention_scores(a, c, {.attention_mask = m, .use_causal_mask = true});
    return std::vector<Tensor>{yy, ww};
  });
  std::vector<Tensor> t = traced.get_concrete_function(TensorSpec({-1, -1, E}, float32), TensorSpec({-1, -1, E}, float32),
                                                       TensorSpec({-1, -1, -1}, bool_))(q, v, mask);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_TRUE(all_close(t[0], out, y.shape(), 1e-6, 1e-6));
  EXPECT_TRUE(all_close(t[1], got, w.shape(), 1e-6, 1e-6));
}

// Under mixed_bfloat16 the weights come in the compute dtype: Keras's
// causal layer restored into a mixed-precision one gives Keras's float32
// weights within what bfloat16 inputs and projections allow (8 significant
// bits: 2^-8 relative on each of query, kernels and scores).
TEST(TransformerLayers, AttentionScoresInTheComputeDtype) {
  mixed_precision::PolicyScope scope("mixed_bfloat16");
  Layers l;
  l.run();  // builds every variable (float32, as the policy keeps them)
  Checkpoint(l.roots()).read(data_dir() + "/keras_transformer/keras-ckpt").assert_consumed();
  Tensor query = fixture("query");
  auto [y, w] = l.causal->with_attention_scores(query, query, {.use_causal_mask = true});
  EXPECT_EQ(y.dtype(), bfloat16);
  EXPECT_EQ(w.dtype(), bfloat16);
  const TfCase& want = tf_fixtures(kFile).at("causal_scores");
  EXPECT_TRUE(all_close(w, want.values, want.shape, 3e-2, 1e-2));
}

// Dropout on the probabilities in training only: each training call draws
// new masks (the dropout layer's seed advances), inference never drops, and
// two layers with the same seed drop the same probabilities.
TEST(TransformerLayers, MultiHeadAttentionDropsInTrainingOnly) {
  Tensor x = random_tensor({2, 5, 8}, float32, -1, 1, 21);
  auto make = [] {
    random::set_seed(4);
    return std::make_shared<layers::MultiHeadAttention>(
        2, 4, layers::MultiHeadAttentionOptions{.dropout = 0.5, .seed = 9});
  };
  auto a = make(), b = make();
  random::clear_seed();
  std::vector<double> eval = values((*a)(x)), again = values((*a)(x));
  EXPECT_EQ(eval, again);
  std::vector<double> t1 = values((*a)(x, x, {.training = true})), t2 = values((*a)(x, x, {.training = true}));
  EXPECT_NE(t1, eval);
  EXPECT_NE(t1, t2);
  EXPECT_EQ(values((*b)(x, x, {.training = true})), t1);  // the same seed, the same first masks
  EXPECT_EQ(values((*a)(x)), eval);
}

TEST(TransformerLayers, MultiHeadAttentionErrorsNameTheLayer) {
  layers::MultiHeadAttention mha(2, 4, {.name = "mha"});
  auto error = [](const std::function<void()>& f) { return error_of<InvalidArgument>(f); };
  EXPECT_NE(error([&] { mha(zeros({2, 5}), zeros({2, 5})); }).find("[layers::MultiHeadAttention mha] query must be"),
            std::string::npos);
  mha(zeros({2, 5, 8}), zeros({2, 3, 8}));
  EXPECT_NE(error([&] { mha(zeros({2, 5, 8}), zeros({2, 3, 7})); }).find("built for query, value and key dims 8, 8"),
            std::string::npos);
  EXPECT_NE(error([&] { mha(zeros({2, 5, 8}), zeros({2, 3, 8}), {.attention_mask = cast(zeros({2, 5, 4}), bool_)}); })
                .find("does not broadcast"),
            std::string::npos);
  EXPECT_NE(error([&] { layers::MultiHeadAttention(0, 4); }).find("num_heads and key_dim must be positive"),
            std::string::npos);
}

}  // namespace
}  // namespace ember::test
