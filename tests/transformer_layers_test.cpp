// The transformer layers against Keras 3: MultiHeadAttention (cross
// attention with a mask, causal self-attention), LayerNormalization and
// Embedding restore the checkpoint Keras wrote
// (tests/tf/make_transformer_fixtures.py), every value consumed, and give
// Keras's outputs; TensorFlow reads the checkpoint ember writes back into
// Keras's layers. Errors name the layer.
#include <filesystem>

#include "core/random.h"
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
