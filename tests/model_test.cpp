// Model: compile, fit, evaluate, predict and the callbacks. fit is held to
// the hand-written traced loop (the same weights), to Keras 3's History on
// the same model and data, and the callbacks' decisions to Keras's epoch by
// epoch (tests/data/fit, from tests/tf/make_fit_fixtures.py); summary()'s
// counts to Keras's for the samples' models. A BackupAndRestore killed at
// random instants is resume_test.cpp's "fit" case.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember.h"
#include "samples/models.h"
#include "test_util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ember::test {
namespace {

std::shared_ptr<losses::Loss> sparse_ce() {
  return std::make_shared<losses::SparseCategoricalCrossentropy>(losses::LossOptions{.from_logits = true});
}

// Random features and labels: pure functions of `seed`.
std::pair<Tensor, Tensor> toy_data(int64_t n, int64_t features, int64_t classes, int64_t seed) {
  Tensor x = random::stateless_normal({n, features}, {seed, 1});
  Tensor y = cast(random::stateless_uniform({n}, {seed, 2}, 0, static_cast<double>(classes)), int32);
  return {x, y};
}

Tensor from_case(const TfCase& c, DType dtype = float32) {
  return cast(constant(c.values, c.shape), dtype);
}

double max_abs_diff(const std::vector<Variable>& a, const std::vector<Variable>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, reduce_max(abs(cast(a[i].read_value(), float64) - cast(b[i].read_value(), float64)))
                                .item<double>());
  return worst;
}

// ---- fit against the hand-written loop -------------------------------------------------------

// The MLP of the samples trained by fit equals the traced loop the samples
// carried (the same seed, batches and steps).
TEST(Fit, EqualsTheHandWrittenTracedLoop) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(640, 784, 10, 4);
  auto batches = [&] { return data::Dataset::from_tensor_slices({x, y}).shuffle(640, 9).batch(128); };

  random::set_seed(1);
  auto fitted = std::static_pointer_cast<Model>(sample::mlp_model());
  fitted->compile({.optimizer = std::make_shared<optimizers::Adam>(1e-3), .loss = sparse_ce()});
  auto history = fitted->fit(batches(), {.epochs = 3, .verbose = 0});

  random::set_seed(1);
  auto model = sample::mlp_model();
  optimizers::Adam adam(1e-3);
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  auto step = function(
      [&](Tensor bx, Tensor by) {
        GradientTape tape;
        Tensor loss = loss_fn(by, (*model)(bx, true));
        auto vars = model->trainable_variables();
        adam.apply(tape.gradient(loss, vars), vars);
        return loss;
      },
      {.name = "train_step"});
  auto data = batches();
  double last_epoch_loss = 0;
  for (int epoch = 0; epoch < 3; ++epoch) {
    double total = 0;
    int64_t count = 0;
    for (auto it = data.iterator(); auto b = it.next();) {
      total += step((*b)[0], (*b)[1]).item<float>() * double((*b)[0].dim(0));
      count += (*b)[0].dim(0);
    }
    last_epoch_loss = total / double(count);
  }
  EXPECT_EQ(fitted->optimizer().iterations().read_value().item<int64_t>(), 15);
  EXPECT_LE(max_abs_diff(fitted->variables(), model->variables()), 1e-6);
  // History's loss: the epoch's mean over examples (Keras weighs each batch by its size).
  ASSERT_EQ(history->history.at("loss").size(), 3u);
  EXPECT_NEAR(history->history.at("loss").back(), last_epoch_loss, 1e-5);
  EXPECT_EQ(history->epoch, (std::vector<int>{0, 1, 2}));
}

// Eager steps and traced steps give the same training.
TEST(Fit, RunEagerlyEqualsTraced) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(96, 20, 4, 5);
  std::vector<std::shared_ptr<Model>> models;
  for (bool eager : {false, true}) {
    random::set_seed(3);
    auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
        std::make_shared<layers::Dense>(16, layers::DenseOptions{.activation = "relu"}),
        std::make_shared<layers::Dense>(4)});
    m->compile({.optimizer = std::make_shared<optimizers::SGD>(0.05), .loss = sparse_ce(), .metrics = {"accuracy"},
                .run_eagerly = eager});
    m->fit(x, y, {.batch_size = 32, .epochs = 2, .verbose = 0});
    models.push_back(m);
  }
  EXPECT_LE(max_abs_diff(models[0]->variables(), models[1]->variables()), 1e-6);
}

// ---- against Keras 3 ---------------------------------------------------------------------------

// The same Dense(3), data and SGD as Keras's fit: each epoch's loss and
// accuracy, validation's, and the final weights.
TEST(Fit, HistoryMatchesKeras) {
  DeviceScope cpu(Device::cpu());
  const auto& f = tf_fixtures("fit/fit.txt");
  auto dense = std::make_shared<layers::Dense>(3);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{dense});
  Tensor x = from_case(f.at("x")), y = from_case(f.at("y"), int32);
  (*model)(x);
  dense->kernel.assign(from_case(f.at("kernel")));
  dense->bias.assign(from_case(f.at("bias")));
  model->compile({.optimizer = std::make_shared<optimizers::SGD>(0.1), .loss = sparse_ce(), .metrics = {"accuracy"}});
  auto h = model->fit(x, y,
                      {.batch_size = 4,
                       .epochs = 3,
                       .verbose = 0,
                       .validation_data = data::Element{from_case(f.at("xv")), from_case(f.at("yv"), int32)},
                       .shuffle = false});
  for (const char* key : {"loss", "accuracy", "val_loss", "val_accuracy"}) {
    SCOPED_TRACE(key);
    const auto& want = f.at(std::string("history_") + key).values;
    ASSERT_EQ(h->history.at(key).size(), want.size());
    for (size_t e = 0; e < want.size(); ++e) EXPECT_NEAR(h->history.at(key)[e], want[e], 2e-6) << "epoch " << e;
  }
  EXPECT_LE(reduce_max(abs(dense->kernel.read_value() - from_case(f.at("final_kernel")))).item<float>(), 2e-6);
  EXPECT_LE(reduce_max(abs(dense->bias.read_value() - from_case(f.at("final_bias")))).item<float>(), 2e-6);
}

// EarlyStopping, ReduceLROnPlateau and ModelCheckpoint given the logs Keras's
// were given: the same decisions, wait counts, best values and rates.
TEST(Callbacks, DecisionsMatchKerasEpochByEpoch) {
  DeviceScope cpu(Device::cpu());
  std::ifstream in(data_dir() + "/fit/callbacks.txt");
  ASSERT_TRUE(in.good());
  const std::vector<double> val_loss{1.0, 0.9, 0.95, 0.899, 0.9, 0.85, 0.86, 0.87, 0.8499, 0.88, 0.7, 0.71, 0.72, 0.73};
  const std::vector<double> val_acc{0.30, 0.40, 0.40, 0.45, 0.44, 0.55, 0.55, 0.54, 0.60, 0.60, 0.61, 0.59, 0.58, 0.62};
  const std::string dir = temp_dir("callbacks");
  auto make = [&](const std::string& name) -> std::shared_ptr<callbacks::Callback> {
    using namespace callbacks;
    if (name == "early_loss") return std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .min_delta = 0.01, .patience = 2});
    if (name == "early_acc_baseline")
      return std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_accuracy", .patience = 1, .baseline = 0.5});
    if (name == "early_start")
      return std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .patience = 1, .start_from_epoch = 3});
    if (name == "early_max")
      return std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss", .patience = 3, .mode = Mode::Max});
    if (name == "plateau")
      return std::make_shared<ReduceLROnPlateau>(
          ReduceLROnPlateauOptions{.monitor = "val_loss", .factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.02});
    if (name == "plateau_acc")
      return std::make_shared<ReduceLROnPlateau>(
          ReduceLROnPlateauOptions{.monitor = "val_accuracy", .factor = 0.2, .patience = 1, .min_delta = 0.02});
    if (name == "checkpoint_best")
      return std::make_shared<ModelCheckpoint>(dir + "/best-{epoch:02d}",
                                               ModelCheckpointOptions{.monitor = "val_loss", .save_best_only = true,
                                                                      .save_weights_only = true});
    if (name == "checkpoint_acc_threshold")
      return std::make_shared<ModelCheckpoint>(
          dir + "/acc-{epoch:02d}", ModelCheckpointOptions{.monitor = "val_accuracy", .save_best_only = true,
                                                           .save_weights_only = true, .initial_value_threshold = 0.5});
    ADD_FAILURE() << "unknown case " << name;
    return nullptr;
  };
  std::shared_ptr<Model> model;
  std::shared_ptr<callbacks::Callback> cb;
  std::string current;
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name, best, lr;
    int epoch = 0, stop = 0, wait = 0, saved = 0;
    ls >> name >> epoch >> stop >> wait >> best >> lr >> saved;
    SCOPED_TRACE(line);
    if (name != current) {
      current = name;
      model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
      (*model)(zeros({2, 4}));
      model->compile({.optimizer = std::make_shared<optimizers::SGD>(0.1), .loss = sparse_ce(), .metrics = {"accuracy"}});
      cb = make(name);
      ASSERT_NE(cb, nullptr);
      cb->set_model(model.get());
      Logs none;
      cb->on_train_begin(none);
    }
    Logs logs;
    logs.set("loss", 1.0);
    logs.set("accuracy", 0.5);
    logs.set("val_loss", val_loss[static_cast<size_t>(epoch)]);
    logs.set("val_accuracy", val_acc[static_cast<size_t>(epoch)]);
    const auto files_before = std::distance(std::filesystem::directory_iterator(dir), {});
    cb->on_epoch_begin(epoch, logs);
    cb->on_epoch_end(epoch, logs);
    const auto files_after = std::distance(std::filesystem::directory_iterator(dir), {});
    EXPECT_EQ(model->stop_training, stop == 1);
    std::optional<double> got_best;
    int got_wait = 0;
    if (auto* es = dynamic_cast<callbacks::EarlyStopping*>(cb.get())) {
      got_best = es->best();
      got_wait = es->wait();
    } else if (auto* rl = dynamic_cast<callbacks::ReduceLROnPlateau*>(cb.get())) {
      got_best = rl->best();
      got_wait = rl->wait();
      EXPECT_EQ(static_cast<float>(model->optimizer().learning_rate()), static_cast<float>(std::stod(lr)));
    } else if (auto* mc = dynamic_cast<callbacks::ModelCheckpoint*>(cb.get())) {
      got_best = mc->best();
      EXPECT_EQ(files_after > files_before, saved == 1);
    }
    EXPECT_EQ(got_wait, wait);
    if (best == "None") {
      EXPECT_FALSE(got_best.has_value());
    } else {
      ASSERT_TRUE(got_best.has_value());
      EXPECT_DOUBLE_EQ(*got_best, std::stod(best));
    }
    ++lines;
  }
  EXPECT_GT(lines, 60);
}

// summary() counts what Keras counts for the samples' models.
TEST(Model, SummaryCountsMatchKeras) {
  DeviceScope cpu(Device::cpu());
  std::ifstream in(data_dir() + "/fit/summary.txt");
  ASSERT_TRUE(in.good());
  std::map<std::string, std::vector<int64_t>> keras;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    ls >> name;
    for (int64_t v; ls >> v;) keras[name].push_back(v);
  }
  auto commas = [](int64_t n) {
    std::string d = std::to_string(n), s;
    for (size_t i = 0; i < d.size(); ++i) {
      if (i > 0 && (d.size() - i) % 3 == 0) s += ',';
      s += d[i];
    }
    return s;
  };
  auto bn = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
      std::make_shared<layers::Dense>(16, layers::DenseOptions{.activation = "relu"}),
      std::make_shared<layers::BatchNormalization>(), std::make_shared<layers::Dropout>(0.25),
      std::make_shared<layers::Dense>(3)});
  struct Case {
    std::string name;
    std::shared_ptr<Model> model;
    TensorShape input;
  };
  for (const Case& c : {Case{"mlp", std::static_pointer_cast<Model>(sample::mlp_model()), {2, 784}},
                        Case{"cnn", std::static_pointer_cast<Model>(sample::cnn_model()), {2, 28, 28, 1}},
                        Case{"bn", bn, {2, 5}}}) {
    SCOPED_TRACE(c.name);
    (*c.model)(zeros(c.input));
    const auto& want = keras.at(c.name);
    ASSERT_GE(want.size(), 3u);
    EXPECT_EQ(c.model->count_params(), want[0]);
    const std::string table = c.model->summary_string();
    EXPECT_NE(table.find("Total params: " + commas(want[0]) + " "), std::string::npos) << table;
    EXPECT_NE(table.find("Trainable params: " + commas(want[1]) + " "), std::string::npos) << table;
    EXPECT_NE(table.find("Non-trainable params: " + commas(want[2]) + " "), std::string::npos) << table;
    auto* seq = dynamic_cast<Sequential*>(c.model.get());
    ASSERT_NE(seq, nullptr);
    ASSERT_EQ(seq->layers().size() + 3, want.size());
    // Each layer's row ends with its count.
    for (size_t i = 0; i < seq->layers().size(); ++i) {
      const std::string& layer = seq->layers()[i]->name();
      const size_t at = table.find(" " + layer + " (");
      ASSERT_NE(at, std::string::npos) << layer << "\n" << table;
      const std::string row = table.substr(at, table.find('\n', at) - at);
      std::string count(" ");
      count.append(commas(want[i + 3])).append(" ");
      EXPECT_EQ(row.substr(row.size() - std::min(row.size(), count.size())), count) << row;
    }
  }
  // After a step, the optimizer's variables too (its step, its rate, Adam's slots).
  auto mlp = sample::mlp_model();
  mlp->compile({.optimizer = std::make_shared<optimizers::Adam>(1e-3), .loss = sparse_ce()});
  mlp->train_on_batch(zeros({2, 784}), zeros({2}, int32));
  const std::string table = mlp->summary_string();
  std::string optimizer_line("Optimizer params: ");
  optimizer_line.append(commas(keras.at("mlp_adam_optimizer").at(0))).append(" ");
  EXPECT_NE(table.find(optimizer_line), std::string::npos) << table;
  EXPECT_NE(table.find("(Dense)"), std::string::npos) << table;
}

TEST(Model, SummaryShowsOutputShapesWithTheBatchUnknown) {
  DeviceScope cpu(Device::cpu());
  auto model = std::static_pointer_cast<Model>(sample::cnn_model());
  (*model)(zeros({2, 28, 28, 1}));
  const std::string table = model->summary_string();
  EXPECT_NE(table.find("(None, 26, 26, 32)"), std::string::npos) << table;
  EXPECT_NE(table.find("(None, 1600)"), std::string::npos) << table;
  EXPECT_NE(table.find("conv2d"), std::string::npos) << table;
}

// ---- callbacks in fit ----------------------------------------------------------------------------

TEST(Callbacks, EarlyStoppingRestoresTheBestWeights) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(64, 8, 3, 6);
  random::set_seed(2);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  // A rate this high makes the loss climb after the first epochs.
  model->compile({.optimizer = std::make_shared<optimizers::SGD>(5.0), .loss = sparse_ce()});
  std::vector<std::vector<Tensor>> weights;  // after each epoch
  auto record = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackFns{
      .on_epoch_end = [&](int, Logs&) {
        std::vector<Tensor> w;
        for (const Variable& v : model->variables()) w.push_back(v.read_value().clone());
        weights.push_back(w);
      }});
  auto early = std::make_shared<callbacks::EarlyStopping>(
      callbacks::EarlyStoppingOptions{.monitor = "loss", .patience = 2, .restore_best_weights = true});
  auto h = model->fit(x, y, {.batch_size = 16, .epochs = 30, .verbose = 0, .callbacks = {record, early}});
  const auto& losses = h->history.at("loss");
  ASSERT_LT(losses.size(), 30u) << "did not stop";
  const size_t best = static_cast<size_t>(std::min_element(losses.begin(), losses.end()) - losses.begin());
  EXPECT_EQ(early->best_epoch(), static_cast<int>(best));
  EXPECT_EQ(early->stopped_epoch(), static_cast<int>(losses.size()) - 1);
  EXPECT_EQ(losses.size(), best + 3);  // patience 2: two epochs without improvement, then stop
  auto vars = model->variables();
  for (size_t i = 0; i < vars.size(); ++i)
    EXPECT_EQ(reduce_max(abs(vars[i].read_value() - weights[best][i])).item<float>(), 0.0f);
}

TEST(Callbacks, LearningRateSchedulerReachesTheTracedStep) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(32, 4, 3, 7);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  auto sgd = std::make_shared<optimizers::SGD>(0.1);
  model->compile({.optimizer = sgd, .loss = sparse_ce()});
  std::vector<Tensor> before;
  // Epoch 0 at 0.1; epoch 1 at rate 0: the traced step must read the new rate.
  auto sched = std::make_shared<callbacks::LearningRateScheduler>([](int epoch, double lr) { return epoch == 0 ? lr : 0.0; });
  auto snap = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallbackFns{.on_epoch_begin = [&](int e, Logs&) {
    if (e == 1)
      for (const Variable& v : model->variables()) before.push_back(v.read_value().clone());
  }});
  auto h = model->fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0, .callbacks = {sched, snap}});
  EXPECT_EQ(h->history.at("learning_rate"), (std::vector<double>{static_cast<float>(0.1), 0.0}));
  auto vars = model->variables();
  ASSERT_EQ(before.size(), vars.size());
  for (size_t i = 0; i < vars.size(); ++i) EXPECT_EQ(reduce_max(abs(vars[i].read_value() - before[i])).item<float>(), 0.0f);
  EXPECT_EQ(sgd->iterations().read_value().item<int64_t>(), 8);
  // A schedule's rate cannot be set.
  auto scheduled = std::make_shared<optimizers::SGD>(std::make_shared<schedules::ExponentialDecay>(0.1, 10, 0.5));
  EXPECT_NE(error_of<InvalidArgument>([&] { scheduled->set_learning_rate(0.5); }).find("not settable"), std::string::npos);
}

TEST(Callbacks, TerminateOnNaNStopsAtTheFirstBadBatch) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(32, 4, 3, 8);
  std::vector<float> bad(32 * 4, 1.0f);
  bad[8 * 4] = std::nanf("");  // in the second batch
  Tensor xb = constant(bad, TensorShape{32, 4});
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  model->compile({.optimizer = std::make_shared<optimizers::SGD>(0.1), .loss = sparse_ce()});
  auto h = model->fit(xb, y,
                      {.batch_size = 8, .epochs = 3, .verbose = 0,
                       .callbacks = {std::make_shared<callbacks::TerminateOnNaN>()}, .shuffle = false});
  EXPECT_EQ(model->optimizer().iterations().read_value().item<int64_t>(), 2);
  EXPECT_EQ(h->epoch.size(), 1u);
  EXPECT_TRUE(std::isnan(h->history.at("loss")[0]));
}

TEST(Callbacks, CsvLoggerAndTensorBoardWriteEachEpoch) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(40, 4, 3, 9);
  const std::string dir = temp_dir("csv_tb");
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  model->compile({.optimizer = std::make_shared<optimizers::SGD>(0.1), .loss = sparse_ce(), .metrics = {"accuracy"}});
  auto h = model->fit(x, y,
                      {.batch_size = 8, .epochs = 3, .verbose = 0,
                       .callbacks = {std::make_shared<callbacks::CSVLogger>(dir + "/log.csv"),
                                     std::make_shared<callbacks::TensorBoard>(dir + "/tb", 2)},
                       .validation_split = 0.25});
  std::ifstream csv(dir + "/log.csv");
  std::string header, row;
  std::getline(csv, header);
  EXPECT_EQ(header, "epoch,accuracy,loss,val_accuracy,val_loss");
  int rows = 0;
  while (std::getline(csv, row)) {
    std::istringstream rs(row);
    std::string epoch, accuracy, loss;
    std::getline(rs, epoch, ',');
    std::getline(rs, accuracy, ',');
    std::getline(rs, loss, ',');
    EXPECT_EQ(std::stoi(epoch), rows);
    EXPECT_DOUBLE_EQ(std::stod(loss), h->history.at("loss")[static_cast<size_t>(rows)]);
    ++rows;
  }
  EXPECT_EQ(rows, 3);
  for (const char* sub : {"/tb/train", "/tb/validation"}) {
    ASSERT_TRUE(std::filesystem::is_directory(dir + sub)) << sub;
    EXPECT_FALSE(std::filesystem::is_empty(dir + sub)) << sub;
  }
}

TEST(Callbacks, ModelCheckpointSavesModelsThatLoadAndTrainOn) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(48, 6, 3, 10);
  const std::string dir = temp_dir("model_checkpoint");
  auto make = [] {
    random::set_seed(4);
    auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
        std::make_shared<layers::Dense>(8, layers::DenseOptions{.activation = "relu"}), std::make_shared<layers::Dense>(3)});
    m->compile({.optimizer = std::make_shared<optimizers::Adam>(0.01), .loss = sparse_ce()});
    return m;
  };
  // Two epochs straight through ...
  auto straight = make();
  straight->fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0, .shuffle = false});
  // ... against one epoch saved as a SavedModel each epoch, loaded into a new
  // model (the same code) with its optimizer, and one more epoch.
  auto first = make();
  auto ckpt = std::make_shared<callbacks::ModelCheckpoint>(dir + "/model-{epoch}", callbacks::ModelCheckpointOptions{});
  first->fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0, .callbacks = {ckpt}, .shuffle = false});
  ASSERT_EQ(ckpt->saved(), std::vector<std::string>{dir + "/model-1"});
  ASSERT_TRUE(std::filesystem::exists(dir + "/model-1/saved_model.pb"));
  auto resumed = make();
  resumed->load_weights(dir + "/model-1");
  resumed->fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0, .shuffle = false});
  EXPECT_EQ(resumed->optimizer().iterations().read_value().item<int64_t>(), 6);
  EXPECT_LE(max_abs_diff(resumed->variables(), straight->variables()), 1e-6);
  // The SavedModel serves without the model's code.
  auto loaded = saved_model::load(dir + "/model-1");
  auto serve = std::dynamic_pointer_cast<saved_model::LoadedFunction>(loaded->lookup_dependency("serve"));
  ASSERT_NE(serve, nullptr);
  Tensor want = first->predict(x);
  Tensor got = serve->call(std::vector<Tensor>{x})[0];
  EXPECT_LE(reduce_max(abs(got - want)).item<float>(), 1e-6f);
}

// TensorFlow loads what Model::save writes: the serving function and its
// signature give ember's outputs, and the optimizer's step is there.
TEST(Model, TensorFlowLoadsASavedModel) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(24, 6, 3, 15);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
      std::make_shared<layers::Dense>(8, layers::DenseOptions{.activation = "relu"}), std::make_shared<layers::Dense>(3)});
  model->compile({.optimizer = std::make_shared<optimizers::Adam>(0.01), .loss = sparse_ce()});
  model->fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0});
  const std::string dir = temp_dir("model_save_tf");
  model->save(dir + "/model");
  Tensor probe = slice(x, {0, 0}, {5, 6});
  Tensor out = model->predict(probe);
  std::ofstream c(dir + "/case.txt");
  c << "call serve\n";
  write_case_tensor(c, "input inputs", probe);
  write_case_tensor(c, "output 0", out);
  c << "call signature:serving_default\n";
  write_case_tensor(c, "input inputs", probe);
  write_case_tensor(c, "output 0", out);
  write_case_tensor(c, "variable optimizer.iter", model->optimizer().iterations().read_value());
  c.close();
  std::string log;
  int rc = run_python(python, data_dir() + "/../tf/check_saved_model.py", dir + "/model " + dir + "/case.txt", log);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("OK 3 graph-mode 1\n"), std::string::npos) << log;
}

// A backup left after the last epoch (delete_checkpoint false, or a run
// killed before deleting it): a new fit finds nothing to train, and its
// model, made afresh, still takes the backed-up weights and optimizer.
TEST(Callbacks, BackupAndRestoreAfterTheLastEpochRestoresAnUnbuiltModel) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(32, 5, 3, 17);
  const std::string dir = temp_dir("backup_done");
  auto make = [] {
    auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
        std::make_shared<layers::Dense>(8, layers::DenseOptions{.activation = "relu"}), std::make_shared<layers::Dense>(3)});
    m->compile({.optimizer = std::make_shared<optimizers::Adam>(0.01), .loss = sparse_ce()});
    return m;
  };
  auto first = make();
  first->fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0,
                    .callbacks = {std::make_shared<callbacks::BackupAndRestore>(dir + "/b", 0, false)}});
  auto again = make();
  auto backup = std::make_shared<callbacks::BackupAndRestore>(dir + "/b", 0, false);
  auto h = again->fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0, .callbacks = {backup}});
  ASSERT_TRUE(backup->resumed_at().has_value());
  EXPECT_EQ(*backup->resumed_at(), (std::pair<int, int64_t>{2, 0}));
  EXPECT_TRUE(h->epoch.empty());
  ASSERT_TRUE(again->built());
  EXPECT_EQ(max_abs_diff(again->variables(), first->variables()), 0.0);
  EXPECT_EQ(again->optimizer().iterations().read_value().item<int64_t>(), 8);
  EXPECT_EQ(again->optimizer().slot_variables().size(), first->optimizer().slot_variables().size());
  for (size_t i = 0; i < first->optimizer().slot_variables().size(); ++i)
    EXPECT_EQ(reduce_max(abs(again->optimizer().slot_variables()[i].slot.read_value() -
                             first->optimizer().slot_variables()[i].slot.read_value()))
                  .item<float>(),
              0.0f);
}

TEST(Callbacks, ModelCheckpointFillsPythonFormatFields) {
  callbacks::ModelCheckpoint a("/tmp/run/w-{epoch:02d}-{val_loss:.3f}-{epoch}");
  Logs logs;
  logs.set("val_loss", 0.123456);
  EXPECT_EQ(a.path_for(2, logs), "/tmp/run/w-03-0.123-3");
  callbacks::ModelCheckpoint b("/tmp/run/{not a field}/{loss}");
  EXPECT_NE(error_of<InvalidArgument>([&] { b.path_for(0, logs); }).find("names 'loss', which the logs do not hold"),
            std::string::npos);
  logs.set("loss", 2.0);
  EXPECT_EQ(b.path_for(0, logs), "/tmp/run/{not a field}/2");
  callbacks::ModelCheckpoint c("/tmp/{loss:%n}");
  EXPECT_NE(error_of<InvalidArgument>([&] { c.path_for(0, logs); }).find("a spec is flags, width, precision"),
            std::string::npos);
}

TEST(Model, EvaluateAndPredictCoverEveryExample) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(50, 4, 3, 11);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  model->compile({.optimizer = std::make_shared<optimizers::SGD>(0.1), .loss = sparse_ce(), .metrics = {"accuracy"}});
  Tensor out = model->predict(x, {.batch_size = 16});  // 16, 16, 16, 2
  ASSERT_EQ(out.shape(), TensorShape({50, 3}));
  EXPECT_LE(reduce_max(abs(out - (*model)(x))).item<float>(), 1e-6f);
  Logs logs = model->evaluate(x, y, {.batch_size = 16, .verbose = 0});
  const double loss = losses::SparseCategoricalCrossentropy({.from_logits = true})(y, out).item<float>();
  const double acc = reduce_mean(metrics::sparse_categorical_accuracy(y, out)).item<float>();
  EXPECT_NEAR(logs.at("loss"), loss, 1e-6);
  EXPECT_NEAR(logs.at("accuracy"), acc, 1e-6);
  EXPECT_EQ(logs.keys(), (std::vector<std::string>{"loss", "accuracy"}));
  // train_on_batch: one step, the batch's loss.
  Logs step = model->train_on_batch(x, y);
  EXPECT_NEAR(step.at("loss"), loss, 1e-6);
  EXPECT_EQ(model->optimizer().iterations().read_value().item<int64_t>(), 1);
}

TEST(Fit, SampleWeightsWeighTheLoss) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(16, 4, 3, 12);
  std::vector<float> w(16, 1.0f);
  for (size_t i = 8; i < 16; ++i) w[i] = 0.0f;  // the second half does not count
  auto make = [] {
    random::set_seed(6);
    auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
    m->compile({.optimizer = std::make_shared<optimizers::SGD>(0.1), .loss = sparse_ce()});
    return m;
  };
  auto weighted = make();
  auto h = weighted->fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0, .shuffle = false}, constant(w, TensorShape{16}));
  // Keras's sum_over_batch_size: the weighted sum over all 16 examples.
  auto plain = make();
  Tensor first_half = slice(x, {0, 0}, {8, 4}), first_labels = slice(y, {0}, {8});
  const double half_loss = losses::SparseCategoricalCrossentropy({.from_logits = true})(first_labels, (*plain)(first_half)).item<float>();
  EXPECT_NEAR(h->history.at("loss")[0], half_loss / 2, 1e-6);
}

// initial_epoch counts epochs as done; steps_per_epoch shorter than a pass
// goes on where the last epoch stopped (one iterator over every epoch), as
// Keras's does over a repeated dataset.
TEST(Fit, InitialEpochAndStepsPerEpoch) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(40, 4, 3, 16);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  auto sgd = std::make_shared<optimizers::SGD>(0.1);
  model->compile({.optimizer = sgd, .loss = sparse_ce()});
  auto h = model->fit(x, y, {.batch_size = 8, .epochs = 4, .verbose = 0, .initial_epoch = 2});
  EXPECT_EQ(h->epoch, (std::vector<int>{2, 3}));
  EXPECT_EQ(sgd->iterations().read_value().item<int64_t>(), 10);
  // 5 batches a pass, 2 steps an epoch: the batches seen are 0 1 | 2 3 | 4 0
  // (a train_step of one's own, run eagerly, records each batch's first row).
  struct Recorder : Sequential {
    using Sequential::Sequential;
    std::vector<float> firsts;
    void train_step(const Tensor& bx, const Tensor& by, const Tensor& w) override {
      firsts.push_back(slice(bx, {0, 0}, {1, 1}).item<float>());
      Sequential::train_step(bx, by, w);
    }
  };
  auto ds = data::Dataset::from_tensor_slices({x, y}).batch(8);
  auto probe = std::make_shared<Recorder>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  auto counting = std::make_shared<optimizers::SGD>(0.0);
  probe->compile({.optimizer = counting, .loss = sparse_ce(), .run_eagerly = true});
  auto hp = probe->fit(ds, {.epochs = 3, .verbose = 0, .steps_per_epoch = 2});
  EXPECT_EQ(counting->iterations().read_value().item<int64_t>(), 6);
  EXPECT_EQ(hp->epoch.size(), 3u);
  std::vector<float> want;
  for (int64_t b : {0, 1, 2, 3, 4, 0}) want.push_back(slice(x, {b * 8, 0}, {1, 1}).item<float>());
  EXPECT_EQ(probe->firsts, want);
  // A dataset that never ends needs steps_per_epoch.
  EXPECT_NE(error_of<InvalidArgument>([&] { probe->fit(ds.repeat(), {.epochs = 1, .verbose = 0}); })
                .find("never ends (a repeat() without a count): give `steps_per_epoch`"),
            std::string::npos);
  auto hr = probe->fit(ds.repeat(), {.epochs = 2, .verbose = 0, .steps_per_epoch = 7});
  EXPECT_EQ(counting->iterations().read_value().item<int64_t>(), 20);
  EXPECT_FALSE(ds.infinite());
  EXPECT_TRUE(ds.repeat().infinite());
  EXPECT_FALSE(ds.repeat().take(3).infinite());
}

// ---- bad input: a clear error naming the argument, before any step --------------------------------

TEST(Fit, BadInputIsAClearErrorBeforeAnyStep) {
  DeviceScope cpu(Device::cpu());
  auto [x, y] = toy_data(20, 4, 3, 13);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{std::make_shared<layers::Dense>(3)});
  EXPECT_NE(error_of<FailedPrecondition>([&] { model->fit(x, y); }).find("must be compiled first"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { model->compile({.loss = sparse_ce()}); }).find("`optimizer` is required"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] {
              model->compile({.optimizer = std::make_shared<optimizers::SGD>(), .loss = sparse_ce(), .metrics = {"acuracy"}});
            }).find("unknown metric 'acuracy'"),
            std::string::npos);
  auto sgd = std::make_shared<optimizers::SGD>(0.1);
  model->compile({.optimizer = sgd, .loss = sparse_ce()});
  for (double split : {-0.1, 1.0, 1.5}) {
    EXPECT_NE(error_of<InvalidArgument>([&] { model->fit(x, y, {.verbose = 0, .validation_split = split}); })
                  .find("`validation_split` must be in [0, 1)"),
              std::string::npos);
  }
  EXPECT_NE(error_of<InvalidArgument>([&] { model->fit(x, slice(y, {0}, {10}), {.verbose = 0}); }).find("`y` has 10 rows"),
            std::string::npos);
  // One-hot labels against a sparse loss.
  Tensor onehot = one_hot(y, 3);
  const std::string shape_error = error_of<InvalidArgument>([&] { model->fit(x, onehot, {.verbose = 0}); });
  EXPECT_NE(shape_error.find("the loss 'sparse_categorical_crossentropy' does not fit the model's outputs"),
            std::string::npos)
      << shape_error;
  EXPECT_NE(shape_error.find("[20,3]"), std::string::npos) << shape_error;
  // A dataset of the wrong structure.
  auto only_x = data::Dataset::from_tensor_slices({x}).batch(4);
  EXPECT_NE(error_of<InvalidArgument>([&] { model->fit(only_x, {.verbose = 0}); }).find("yields 1 tensors per batch"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] {
              model->fit(data::Dataset::from_tensor_slices({x, y}).batch(4), {.verbose = 0, .validation_split = 0.2});
            }).find("`validation_split` needs tensors"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { model->fit(slice(x, {0, 0}, {0, 4}), slice(y, {0}, {0}), {.verbose = 0}); })
                .find("the training data has no examples"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] {
              model->fit(data::Dataset::from_tensor_slices({x, y}).take(0).batch(4), {.verbose = 0});
            }).find("the training data has no batches"),
            std::string::npos);
  EXPECT_EQ(sgd->iterations().read_value().item<int64_t>(), 0);  // no step ran
}

TEST(Fit, MixedFloat16CompilesALossScaleOptimizer) {
  DeviceScope cpu(Device::cpu());
  mixed_precision::PolicyScope policy("mixed_float16");
  auto [x, y] = toy_data(32, 8, 3, 14);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
      std::make_shared<layers::Dense>(16, layers::DenseOptions{.activation = "relu"}), std::make_shared<layers::Dense>(3)});
  model->compile({.optimizer = std::make_shared<optimizers::Adam>(0.01), .loss = sparse_ce(), .metrics = {"accuracy"}});
  ASSERT_NE(model->loss_scale_optimizer(), nullptr);
  auto h = model->fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0});
  EXPECT_LT(h->history.at("loss").back(), h->history.at("loss").front());
  EXPECT_EQ(model->optimizer().iterations().read_value().item<int64_t>(), 12);
}

}  // namespace
}  // namespace ember::test
