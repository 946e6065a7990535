// The character-level GPT of samples/gpt.h (samples/char_gpt.cpp, the
// gpt_char benchmark), small: its text loading and errors, the key-value
// cache against full forward passes, its context limit, and its SavedModel,
// which TensorFlow loads and calls with ember's results.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "samples/gpt.h"
#include "test_util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

sample::GptConfig tiny() {
  return {
      .vocab = 11, .layers = 2, .heads = 2, .d_model = 8, .context = 12, .dropout = 0.1, .seed = 3};
}

Tensor ids_of(const std::vector<int32_t>& v) {
  return constant(v, {1, static_cast<int64_t>(v.size())});
}

TEST(GptSample, TextLoadingRefusesWhatItCannotUse) {
  std::string dir = temp_dir("gpt_text");
  auto error = [](const std::function<void()>& f) { return error_of<InvalidArgument>(f); };
  EXPECT_NE(error([&] {
              sample::load_text(dir + "/missing");
            }).find("[char_gpt] no text folder at " + dir + "/missing"),
            std::string::npos);
  std::ofstream(dir + "/a.dat") << "index, not text";
  std::ofstream(dir + "/empty");
  EXPECT_NE(error([&] { sample::load_text(dir); }).find("is empty (1 files)"), std::string::npos);
  std::ofstream(dir + "/b") << "ba";
  std::ofstream(dir + "/a") << "cab\n";
  EXPECT_EQ(sample::load_text(dir), "cab\nba");  // name order; .dat left out
  sample::Corpus c("hello world, hello");
  EXPECT_EQ(std::string(c.vocab.begin(), c.vocab.end()), " ,dehlorw");
  EXPECT_EQ(c.decode(c.ids), "hello world, hello");
  EXPECT_EQ(c.train_size, 16);
  fs::remove_all(dir);
}

// A text too short for one window in either part is refused up front: the
// training draw's range would otherwise be negative (a crash, found with a
// 12-byte text), and the validation check came only after training.
TEST(GptSample, ATextTooShortForAWindowIsRefusedBeforeTraining) {
  auto error = [](const std::function<void()>& f) { return error_of<InvalidArgument>(f); };
  const std::string too_short =
      "[char_gpt] the text (12 characters: 10 to train, 2 to validate) is too short: each part needs a "
      "window of 5 characters, and the validation part one more";
  sample::Corpus twelve("hello world\n");
  EXPECT_EQ(error([&] { sample::check_windows(twelve, 4); }), too_short);
  EXPECT_EQ(error([&] { sample::validation_starts(twelve, 2, 4); }), too_short);
  sample::train_batch(twelve, 2, 4, 1, 0);  // (training needs no validation window)
  EXPECT_NE(error([&] { sample::train_batch(twelve, 2, 10, 1, 0); }).find("needs a window of 11"),
            std::string::npos);
  // 90 to train, 10 to validate: a window of 9 fits both (the validation
  // part needs 10), one of 10 does not.
  sample::Corpus hundred(std::string(100, 'a'));
  sample::check_windows(hundred, 8);
  auto [x, y] = sample::train_batch(hundred, 3, 8, 1, 0);
  EXPECT_EQ(x.shape(), TensorShape({3, 8}));
  EXPECT_EQ(sample::validation_starts(hundred, 2, 8), (std::vector<int64_t>{90, 91}));
  EXPECT_NE(error([&] { sample::check_windows(hundred, 9); }).find("90 to train, 10 to validate"),
            std::string::npos);
}

// A prompt's bytes become ids of the text's vocabulary; one the text does
// not hold is an error naming it (it had been dropped without a word).
TEST(GptSample, APromptOutsideTheVocabularyIsRefused) {
  sample::Corpus c("hello world, hello");
  EXPECT_EQ(c.encode("old"), (std::vector<int32_t>{6, 5, 2}));
  EXPECT_EQ(c.encode(""), std::vector<int32_t>{});
  EXPECT_EQ(error_of<InvalidArgument>([&] { c.encode("howdy"); }),
            "[char_gpt] byte 121 ('y') of \"howdy\" is not in the text's vocabulary of 9 bytes");
  EXPECT_EQ(error_of<InvalidArgument>([&] { c.encode("h\xe2"); }),
            "[char_gpt] byte 226 of \"h\xe2\" is not in the text's vocabulary of 9 bytes");
}

// Each next_logits call computes only the new positions; what it returns
// must be what a full forward pass over the whole prefix gives at its end,
// whether the new positions come one at a time or several after a cache.
TEST(GptSample, KeyValueCacheGivesTheFullPassesLogits) {
  sample::Gpt model(tiny());
  const std::vector<int32_t> text{3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
  sample::Gpt::Cache cache;
  size_t at = 0;
  for (size_t n : {3, 1, 2, 1, 3}) {
    std::vector<int32_t> piece(text.begin() + static_cast<int64_t>(at),
                               text.begin() + static_cast<int64_t>(at + n));
    Tensor got = model.next_logits(ids_of(piece), cache);
    at += n;
    Tensor full = model(
        ids_of(std::vector<int32_t>(text.begin(), text.begin() + static_cast<int64_t>(at))), false);
    Tensor want = reshape(slice(full, {0, static_cast<int64_t>(at) - 1, 0}, {1, 1, -1}), {1, 11});
    EXPECT_TRUE(all_close(got, values(want), {1, 11}, 1e-5, 1e-5))
        << "after " << at << " positions";
  }
  EXPECT_EQ(cache.length, 10);
}

TEST(GptSample, AContextLongerThanTheModelsIsRefused) {
  sample::Gpt model(tiny());
  std::string e = error_of<InvalidArgument>([&] { model(zeros({1, 13}, int32), false); });
  EXPECT_NE(e.find("[Gpt] 13 positions exceed the model's context of 12"), std::string::npos) << e;
  sample::Gpt::Cache cache;
  model.next_logits(zeros({1, 10}, int32), cache);
  e = error_of<InvalidArgument>([&] { model.next_logits(zeros({1, 3}, int32), cache); });
  EXPECT_NE(e.find("13 positions exceed"), std::string::npos) << e;
  // The serving function, traced for any length: checked when it runs (it
  // had failed in the position embedding's gather, "indices[12] = 12 is not
  // in [0, 12)").
  auto shared = std::make_shared<sample::Gpt>(tiny());
  auto serve = sample::serving_function(shared);
  EXPECT_EQ(serve(zeros({2, 12}, int32)).shape(), (TensorShape{2, 11}));
  e = error_of<InvalidArgument>([&] { serve(zeros({2, 13}, int32)); });
  EXPECT_EQ(e, "[function] node 'Check' (Check): [Gpt] the ids are longer than the model's context of 12 positions");
  // Its SavedModel holds the check as TensorFlow writes one (an Assert and
  // an Identity that waits for it): loaded back, it still refuses.
  std::string dir = temp_dir("gpt_context");
  shared->track("serve", serve);
  saved_model::save(shared, dir + "/model", {.signatures = {{"serving_default", serve.get_concrete_function()}}});
  auto loaded = saved_model::load(dir + "/model");
  EXPECT_EQ(loaded.signature("serving_default")({{"ids", zeros({2, 12}, int32)}}).begin()->second.shape(),
            (TensorShape{2, 11}));
  e = error_of<InvalidArgument>([&] { loaded.signature("serving_default")({{"ids", zeros({2, 13}, int32)}}); });
  EXPECT_NE(e.find("assertion failed: [[Gpt] the ids are longer than the model's context of 12 positions]"),
            std::string::npos) << e;
  fs::remove_all(dir);
}

// Training lowers the loss on a text it can learn (a repeated phrase), with
// dropout, the traced step, and the fused ops' gradients end to end.
TEST(GptSample, ATracedStepLearnsARepeatedText) {
  sample::Corpus repeated(std::string("the cat sat on the mat. ") + "the cat sat on the mat. " +
                          "the cat sat on the mat. " + "the cat sat on the mat. " +
                          "the cat sat on the mat. ");
  sample::GptConfig c = tiny();
  c.vocab = static_cast<int64_t>(repeated.vocab.size());
  auto model = std::make_shared<sample::Gpt>(c);
  optimizers::Adam adam(0.01);
  auto vars = model->trainable_variables();
  auto step = function([&](Tensor x, Tensor y) {
    GradientTape tape;
    Tensor loss = sample::gpt_loss((*model)(x, true), y);
    adam.apply(tape.gradient(loss, vars), vars);
    return loss;
  });
  float first = 0, last = 0;
  for (int64_t s = 0; s < 60; ++s) {
    auto [x, y] = sample::train_batch(repeated, 8, c.context, 5, s);
    last = step(x, y).item<float>();
    if (s == 0) first = last;
  }
  EXPECT_GT(first, 2.0f);
  EXPECT_LT(last, 0.5f * first) << "first " << first << ", last " << last;
}

// The sample's model and optimizer (no dropout, batch 8) from its seeded
// initial weights, five traced steps on a fixed text, against the losses
// libtorch 2.15's same model computes from the same weights and batches
// (tests/data/torch_gpt_losses.txt, from scripts/make_gpt_torch_fixture.sh:
// this test with EMBER_GPT_EXPORT_DIR set writes the weights and batches,
// `torch2-bench --gpt-match` trains from them).
TEST(GptSample, FirstLossesMatchLibtorchFromTheSameWeights) {
  std::mt19937 gen(11);
  const char* words[] = {"the ", "cat ", "sat ", "on ", "a ", "mat, ", "and ", "dog ", "ran. ", "Why? ", "\n"};
  std::string text;
  while (text.size() < 20000) text += words[gen() % 11];
  const sample::Corpus corpus(text);
  const int64_t steps = 5, batch = 8;
  sample::GptConfig config{.vocab = static_cast<int64_t>(corpus.vocab.size()), .dropout = 0, .seed = 1};
  auto model = std::make_shared<sample::Gpt>(config);
  auto optimizer = sample::gpt_optimizer(std::make_shared<sample::WarmupCosine>(3e-4, 100, 2000));
  auto vars = model->trainable_variables();
  if (const char* dir = std::getenv("EMBER_GPT_EXPORT_DIR")) {
    fs::create_directories(dir);
    for (const Variable& v : vars) {
      std::string name = v.name().substr(4, v.name().size() - 6);  // "gpt/h0/ln_1_gamma:0" -> "h0_ln_1_gamma"
      std::replace(name.begin(), name.end(), '/', '_');
      std::vector<float> f = v.read_value().to_vector<float>();
      std::ofstream(std::string(dir) + "/" + name + ".f32", std::ios::binary)
          .write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size() * 4));
    }
    std::ofstream xs(std::string(dir) + "/x.i32", std::ios::binary), ys(std::string(dir) + "/y.i32", std::ios::binary);
    for (int64_t s = 0; s < steps; ++s) {
      auto [x, y] = sample::train_batch(corpus, batch, config.context, 1, s);
      std::vector<int32_t> xv = x.to_vector<int32_t>(), yv = y.to_vector<int32_t>();
      xs.write(reinterpret_cast<const char*>(xv.data()), static_cast<std::streamsize>(xv.size() * 4));
      ys.write(reinterpret_cast<const char*>(yv.data()), static_cast<std::streamsize>(yv.size() * 4));
    }
    std::ofstream(std::string(dir) + "/config.txt") << config.vocab << " " << config.layers << " " << steps << " "
                                                    << batch << "\n";
  }
  std::ifstream in(data_dir() + "/torch_gpt_losses.txt");
  std::vector<double> want;
  for (double l; in >> l;) want.push_back(l);
  ASSERT_EQ(want.size(), static_cast<size_t>(steps)) << "tests/data/torch_gpt_losses.txt";
  auto step = function([&](Tensor x, Tensor y) {
    GradientTape tape;
    Tensor loss = sample::gpt_loss((*model)(x, true), y);
    optimizer->apply(tape.gradient(loss, vars), vars);
    return loss;
  });
  for (int64_t s = 0; s < steps; ++s) {
    auto [x, y] = sample::train_batch(corpus, batch, config.context, 1, s);
    const double got = step(x, y).item<float>();
    EXPECT_NEAR(got, want[static_cast<size_t>(s)], 2e-5 * want[static_cast<size_t>(s)]) << "step " << s;
  }
}

TEST(GptSample, TensorFlowCallsTheSavedModelsServingDefault) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  auto model = std::make_shared<sample::Gpt>(tiny());
  auto serve = sample::serving_function(model);
  model->track("serve", serve);
  std::string dir = temp_dir("gpt_saved_model");
  saved_model::save(model, dir + "/model",
                    {.signatures = {{"serving_default", serve.get_concrete_function()}}});
  Tensor ids = constant(std::vector<int32_t>{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 0, 7, 7, 2}, {2, 7});
  Tensor want = serve(ids);
  // The same as the last position of ember's eager forward pass.
  Tensor eager = reshape(slice((*model)(ids, false), {0, 6, 0}, {2, 1, -1}), {2, 11});
  EXPECT_TRUE(all_close(want, values(eager), {2, 11}, 1e-5, 1e-5));
  {
    std::ofstream c(dir + "/case.txt");
    c << "call signature:serving_default\n";
    write_case_tensor(c, "input ids", ids);
    write_case_tensor(c, "output 0", want);
  }
  std::string log;
  int rc = run_python(python, data_dir() + "/../tf/check_saved_model.py",
                      dir + "/model " + dir + "/case.txt", log);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("OK 1 graph-mode 1\n"), std::string::npos) << log;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ember::test
