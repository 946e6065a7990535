// SavedModel (serialization/saved_model.h): ember's models loaded by ember
// (without the saving code's classes) and by TensorFlow
// (tests/tf/check_saved_model.py), TensorFlow's models loaded by ember
// (tests/tf/make_saved_models.py), and bad directories, truncated and
// corrupted files: each a clear error, nothing crashes.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <stdexcept>

#include "graph/control_flow.h"
#include "graph/function.h"
#include "saved_model.pb.h"
#include "serialization/bundle.h"
#include "serialization/graph_import.h"
#include "serialization/npy.h"
#include "serialization/saved_model.h"
#include "state/module.h"
#include "test_util.h"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

std::vector<float> ramp(size_t n, float scale, float shift) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * scale) + shift;
  return v;
}

void expect_close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  EXPECT_EQ(got.dtype(), want.dtype());
  EXPECT_TRUE(all_close(got, values(want), want.shape(), rtol, atol));
}

// Runs `f`, expecting error type E whose message holds `part`.
template <typename E, typename F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << part << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// relu(x·w + b), with its variables as members and `__call__` a traced function.
struct Dense : Module {
  Tracked<Variable> w{this, "w"}, b{this, "b"};
  Dense() : Module("dense") {
    w = Variable(constant(ramp(6, 0.9f, 0.1f), {3, 2}), {.name = "w"});
    b = Variable(constant({0.25f, -0.5f}), {.name = "b"});
  }
};

std::shared_ptr<Dense> make_dense() {
  auto m = std::make_shared<Dense>();
  Dense* self = m.get();  // the function reads the module's variables; a raw pointer keeps no cycle
  auto call = function([self](Tensor x) { return relu(matmul(x, *self->w) + *self->b); },
                       {.name = "__call__", .input_signature = std::vector<TensorSpec>{TensorSpec({-1, 3}, float32, "x")}});
  m->track("__call__", call);
  return m;
}

// The float64 reference of Dense on `x` (rows of 3).
std::vector<double> dense_reference(const std::vector<double>& x, const std::vector<double>& w,
                                    const std::vector<double>& b) {
  size_t rows = x.size() / 3;
  std::vector<double> out(rows * 2);
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < 2; ++j) {
      double s = b[j];
      for (size_t k = 0; k < 3; ++k) s += x[r * 3 + k] * w[k * 2 + j];
      out[r * 2 + j] = std::max(s, 0.0);
    }
  return out;
}

// Has TensorFlow load the model in `dir` and check the calls of `cases`
// (tests/tf/check_saved_model.py): `checks` outputs and variables compared
// through tf.saved_model.load, `graph_mode_checks` signature outputs through
// the graph-mode loader (a Session restoring the variables by the SaverDef,
// as the C++ loader and TF Serving do).
void check_in_tensorflow(const std::string& dir, const std::string& cases, int checks, int graph_mode_checks) {
  if (tensorflow_side_in_release_suite_only()) GTEST_SKIP() << "TensorFlow's side runs in the release suite";
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string log;
  int rc = run_python(python, data_dir() + "/../tf/check_saved_model.py", dir + " " + cases, log);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("OK " + std::to_string(checks) + " graph-mode " + std::to_string(graph_mode_checks) + "\n"),
            std::string::npos)
      << log;
}

TEST(SavedModelTest, LoadsADenseModuleWithoutItsClass) {
  std::string dir = temp_dir("sm_dense") + "/model";
  auto m = make_dense();
  saved_model::save(m, dir);
  for (const char* f : {"saved_model.pb", "fingerprint.pb", "variables/variables.index",
                        "variables/variables.data-00000-of-00001", "assets"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;

  auto loaded = saved_model::load(dir);
  Tensor x = constant(ramp(12, 1.7f, -0.2f), {4, 3});
  std::vector<Tensor> y = loaded.function("__call__")(x);
  ASSERT_EQ(y.size(), 1u);
  Tensor want = make(dense_reference(values(x), values(m->w->read_value()), values(m->b->read_value())), {4, 2}, float64);
  expect_close(cast(y[0], float64), want, 1e-6, 1e-6);
  // The root is callable (its __call__), any batch size fits (None, 3).
  expect_close(cast(loaded(constant(ramp(3, 0.3f, 0.f), {1, 3}))[0], float64),
               make(dense_reference(values(constant(ramp(3, 0.3f, 0.f), {1, 3})), values(m->w->read_value()),
                                    values(m->b->read_value())),
                    {1, 2}, float64),
               1e-6, 1e-6);
  // The variables, restored under their names.
  expect_close(loaded->variable("w").read_value(), m->w->read_value(), 0, 0);
  expect_close(loaded->variable("b").read_value(), m->b->read_value(), 0, 0);
  EXPECT_EQ(loaded.variables().size(), 2u);
  EXPECT_TRUE(loaded->variable("w").trainable());

  // One traced function on the root: it is serving_default, called by keyword.
  const auto& sig = loaded.signature("serving_default");
  ASSERT_EQ(sig.inputs().size(), 1u);
  EXPECT_EQ(sig.inputs()[0].first, "x");
  EXPECT_EQ(sig.inputs()[0].second.to_string(), "TensorSpec(shape=(None, 3), dtype=tf.float32, name='x')");
  ASSERT_EQ(sig.outputs().size(), 1u);
  EXPECT_EQ(sig.outputs()[0].first, "output_0");
  auto out = sig({{"x", x}});
  expect_close(cast(out.at("output_0"), float64), want, 1e-6, 1e-6);
  EXPECT_THROW(sig({{"y", x}}), InvalidArgument);
  EXPECT_THROW(sig({{"x", cast(x, float64)}}), InvalidArgument);
}

// tf.train.Checkpoint(root=model).restore("<saved model>/variables/variables"):
// a SavedModel's variables are a checkpoint of its root, so a model of the
// same structure restores from them, TensorFlow's as well as ember's.
TEST(SavedModelTest, ACheckpointRestoresFromASavedModelsVariables) {
  std::string dir = temp_dir("sm_ckpt_vars") + "/model";
  auto saved = make_dense();
  saved->w->assign(constant(ramp(6, 0.4f, -0.3f), {3, 2}));
  saved_model::save(saved, dir);
  auto fresh = std::make_shared<Dense>();
  // As in TensorFlow 2.21, the restore makes the checkpoint's save_counter,
  // which the SavedModel's variables do not hold: every object of the model
  // matched, and the assertion names save_counter alone.
  RestoreStatus status = Checkpoint({{"root", fresh}}).restore(dir + "/variables/variables");
  std::string unmatched = error_of<FailedPrecondition>([&] { status.assert_existing_objects_matched(); });
  EXPECT_NE(unmatched.find("'save_counter' has values but matched nothing"), std::string::npos) << unmatched;
  EXPECT_EQ(unmatched.find("'w'"), std::string::npos) << unmatched;
  status.assert_nontrivial_match();
  Checkpoint::of_object(std::make_shared<Dense>()).restore(dir + "/variables/variables").assert_consumed();
  expect_close(fresh->w->read_value(), constant(ramp(6, 0.4f, -0.3f), {3, 2}), 0, 0);
  expect_close(fresh->b->read_value(), constant({0.25f, -0.5f}), 0, 0);

  // TensorFlow's Dense of tests/tf/make_saved_models.py: w = sin(0.9 i + 0.1),
  // b, and inner.scale; ember's object of the same shape takes them.
  struct Inner : Module {
    Tracked<Variable> scale{this, "scale"};
    Inner() : Module("inner") { scale = Variable(constant({0.f, 0.f}), {.name = "scale"}); }
  };
  struct TfDense : Module {
    Tracked<Variable> w{this, "w"}, b{this, "b"};
    std::shared_ptr<Inner> inner = track<Inner>("inner", std::make_shared<Inner>());
    TfDense() : Module("dense") {
      w = Variable(zeros({3, 2}), {.name = "w"});
      b = Variable(zeros({2}), {.name = "b"});
    }
  };
  auto tf_model = std::make_shared<TfDense>();
  Checkpoint::of_object(tf_model)
      .restore(data_dir() + "/tf_saved_models/dense/variables/variables")
      .assert_existing_objects_matched();
  std::vector<double> w(6);
  for (size_t i = 0; i < 6; ++i) w[i] = static_cast<float>(std::sin(static_cast<double>(i) * 0.9 + 0.1));
  EXPECT_EQ(values(tf_model->w->read_value()), w);
  EXPECT_EQ(values(tf_model->b->read_value()), (std::vector<double>{0.25, -0.5}));
  EXPECT_EQ(values(tf_model->inner->scale->read_value()), (std::vector<double>{0.5, -1.5}));
}

TEST(SavedModelTest, TwoLoadsHaveTheirOwnVariablesAndTheFunctionsReadThem) {
  std::string dir = temp_dir("sm_twice") + "/model";
  auto m = make_dense();
  saved_model::save(m, dir);
  auto a = saved_model::load(dir);
  auto b = saved_model::load(dir);
  a->variable("b").assign(constant({10.f, 20.f}));
  Tensor x = constant(ramp(6, 1.1f, 0.f), {2, 3});
  std::vector<double> ya = values(a(x)[0]), yb = values(b(x)[0]);
  auto ref_b = dense_reference(values(x), values(m->w->read_value()), values(m->b->read_value()));
  auto ref_a = dense_reference(values(x), values(m->w->read_value()), {10, 20});
  for (size_t i = 0; i < ya.size(); ++i) {
    EXPECT_NEAR(ya[i], ref_a[i], 1e-5);
    EXPECT_NEAR(yb[i], ref_b[i], 1e-5);
  }
  expect_close(m->b->read_value(), constant({0.25f, -0.5f}), 0, 0);
}

TEST(SavedModelTest, EveryTraceIsSavedAndANonMatchingCallListsThem) {
  std::string dir = temp_dir("sm_traces") + "/model";
  auto root = std::make_shared<Module>("root");
  Variable scale = root->track("scale", Variable(constant(2.f), {.name = "scale"}));
  auto f = function([scale](Tensor x, int power) {
    Tensor y = x * scale.read_value();
    for (int i = 1; i < power; ++i) y = y * x;
    return std::make_tuple(y, reduce_sum(y));
  }, {.name = "f", .arg_names = {"x", "power"}});
  f(constant({1.f, 2.f, 3.f}), 1);
  f(constant({{1., 2.}, {3., 4.}}), 2);
  root->track("f", f);
  // A signature takes tensors only: not the trace with `power` baked in.
  EXPECT_THROW(saved_model::save(root, dir, {.signatures = {{"cube", f.get_concrete_function(TensorSpec({3}, float32, "x"), 3)}}}),
               InvalidArgument);
  EXPECT_FALSE(fs::exists(dir));
  auto cube = function([scale](Tensor x) { return std::make_tuple(x * x * x * scale.read_value(), reduce_sum(x)); },
                       {.name = "cube", .arg_names = {"x"}});
  root->track("cube", cube);
  saved_model::save(root, dir, {.signatures = {{"cube", cube.get_concrete_function(TensorSpec({3}, float32))}}});
  auto loaded = saved_model::load(dir);
  const auto& lf = loaded.function("f");
  ASSERT_EQ(lf.concrete_functions().size(), 3u);  // the two calls' traces, and the one the refused signature made
  // A float64 matrix fits the second trace (power 2 baked in): 2·x·x.
  std::vector<Tensor> r = lf.concrete_functions()[1].call({constant({{1., 2.}, {3., 4.}})});
  expect_close(r[0], constant({{2., 8.}, {18., 32.}}), 1e-12, 1e-12);
  expect_close(r[1], constant(60.), 1e-12, 1e-12);
  // A trace with a baked value is called through its concrete function;
  // the loaded function itself tries the traces of tensors only.
  expect_close(loaded.function("cube")(constant({1.f, 2.f, 3.f}))[0], constant({2.f, 16.f, 54.f}), 1e-6, 1e-6);
  // The signature: x·x·x·2 and the sum, outputs named output_0 and output_1.
  auto out = loaded.signature("cube")({{"x", constant({1.f, 2.f, 3.f})}});
  expect_close(out.at("output_0"), constant({2.f, 16.f, 54.f}), 1e-6, 1e-6);
  expect_close(out.at("output_1"), constant(6.f), 1e-6, 1e-6);
  EXPECT_THROW(loaded.signature("serving_default"), NotFound);
  // TensorFlow picks the trace by the baked value too.
  std::ofstream c(fs::path(dir).parent_path() / "case.txt");
  c << "call f\n";
  write_case_tensor(c, "input x", constant({{1.f, 2.f}, {3.f, 4.f}}));
  c << "value 2\n";
  write_case_tensor(c, "output 0", r[0]);
  write_case_tensor(c, "output 1", r[1]);
  c << "call signature:cube\n";
  write_case_tensor(c, "input x", constant({1.f, 2.f, 3.f}));
  write_case_tensor(c, "output 0", out.at("output_0"));
  write_case_tensor(c, "output 1", out.at("output_1"));
  c.close();
  check_in_tensorflow(dir, (fs::path(dir).parent_path() / "case.txt").string(), 4, 2);
  // No trace takes int32: TensorFlow's message, listing the options.
  try {
    lf(constant({1, 2}));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Could not find matching concrete function to call loaded from the SavedModel. Got:\n  "
                     "Positional arguments (1 total):\n    * Tensor(shape=(2,), dtype=int32)"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("Expected these arguments to match one of the following 3 option(s):"), std::string::npos) << m;
    EXPECT_NE(m.find("Option 1:\n  Positional arguments (2 total):\n    * TensorSpec(shape=(3,), dtype=tf.float32, "
                     "name='x')\n    * 1\n  Keyword arguments: {}"),
              std::string::npos)
        << m;
  }
}



TEST(SavedModelInterop, TensorFlowLoadsAndCallsEmbersDenseModel) {
  std::string dir = temp_dir("sm_tf_dense");
  auto m = make_dense();
  Dense* self = m.get();
  // A second function returning a map: a signature named by its keys.
  auto classify = function(
      [self](Tensor x) {
        Tensor logits = matmul(x, *self->w) + *self->b;
        return std::map<std::string, Tensor>{{"probs", softmax(logits)}, {"Label", argmax(logits, 1)}};
      },
      {.name = "classify", .input_signature = std::vector<TensorSpec>{TensorSpec({-1, 3}, float32, "features")}});
  m->track("classify", classify);
  saved_model::save(m, dir + "/model",
                    {.signatures = {{"serving_default",
                                     std::dynamic_pointer_cast<TrackedFunction>(m->lookup_dependency("__call__"))->concrete_functions()[0]},
                                    {"classify", classify.get_concrete_function()}}});
  Tensor x = constant(ramp(12, 0.8f, 0.05f), {4, 3});
  Tensor y = relu(matmul(x, *m->w) + *m->b);
  Tensor logits = matmul(x, *m->w) + *m->b;
  auto loaded = saved_model::load(dir + "/model");
  const auto& sig = loaded.signature("classify");
  ASSERT_EQ(sig.outputs().size(), 2u);
  EXPECT_EQ(sig.outputs()[0].first, "Label");
  EXPECT_EQ(sig.outputs()[1].first, "probs");
  auto r = sig({{"features", x}});
  EXPECT_EQ(values(r.at("Label")), values(argmax(logits, 1)));
  EXPECT_TRUE(all_close(r.at("probs"), values(softmax(logits)), {4, 2}, 1e-6, 1e-6));
  {
    std::ofstream c(dir + "/case.txt");
    c << "call signature:serving_default\n";
    write_case_tensor(c, "input x", x);
    write_case_tensor(c, "output 0", y);
    c << "call __call__\n";
    write_case_tensor(c, "input x", x);
    write_case_tensor(c, "output 0", y);
    write_case_tensor(c, "variable w", m->w->read_value());
    write_case_tensor(c, "variable b", m->b->read_value());
    c << "call signature:classify\n";
    write_case_tensor(c, "input features", x);
    write_case_tensor(c, "output 0", argmax(logits, 1));  // keys in order: Label, probs
    write_case_tensor(c, "output 1", softmax(logits));
  }
  check_in_tensorflow(dir + "/model", dir + "/case.txt", 6, 3);
}

// An optimizer tracked with the model: its slots are saved (a slot of a
// variable the model does not track is not), and TensorFlow's graph-mode
// loader restores every saved variable by its checkpoint key.
TEST(SavedModelInterop, AModelWithAnOptimizerSavesItsSlots) {
  std::string dir = temp_dir("sm_slots");
  auto m = make_dense();
  auto opt = std::make_shared<optimizers::Adam>(0.1);
  m->track("optimizer", opt);
  Variable w = *m->w, b = *m->b;
  Variable stray(constant({1.f}), {.name = "stray"});
  {
    GradientTape tape;
    Tensor loss = reduce_sum(square(w.read_value())) + reduce_sum(b.read_value()) + reduce_sum(stray.read_value());
    auto g = tape.gradient(loss, std::vector<Variable>{w, b, stray});
    opt->apply_gradients({{g[0], w}, {g[1], b}, {g[2], stray}});
  }
  saved_model::save(m, dir + "/model");
  auto loaded = saved_model::load(dir + "/model");
  Tensor x = constant(ramp(6, 0.9f, 0.2f), {2, 3});
  Tensor y = relu(matmul(x, w) + b);
  EXPECT_TRUE(all_close(loaded(x)[0], dense_reference(values(x), values(w.read_value()), values(b.read_value())), {2, 2},
                        1e-6, 1e-6));
  {
    std::ofstream c(dir + "/case.txt");
    c << "call signature:serving_default\n";
    write_case_tensor(c, "input x", x);
    write_case_tensor(c, "output 0", y);
    write_case_tensor(c, "variable w", w.read_value());
  }
  check_in_tensorflow(dir + "/model", dir + "/case.txt", 2, 1);
}

// A loop: the running product of powers of x, n times (a while_loop over
// two variables), and a TensorArray of the steps, stacked.
struct Looper : Module {
  Tracked<Variable> base{this, "base"};
  Looper() : Module("looper") { base = Variable(constant({1.5f, -0.5f, 2.f}), {.name = "base"}); }
};

TEST(SavedModelInterop, TensorFlowLoadsAndCallsAModelWithAWhileLoop) {
  std::string dir = temp_dir("sm_tf_loop");
  auto m = std::make_shared<Looper>();
  Looper* self = m.get();
  auto run = function(
      [self](Tensor x, Tensor n) {
        auto [i, acc] = while_loop(
            [&](const Tensor& k, const Tensor&) { return less(k, n); },
            [&](const Tensor& k, const Tensor& a) { return std::make_pair(k + 1, a * x + self->base->read_value()); },
            std::make_pair(constant(0), zeros_like(x)));
        return std::make_tuple(acc, i);
      },
      {.name = "run", .input_signature = std::vector<TensorSpec>{TensorSpec({3}, float32, "x"), TensorSpec({}, int32, "n")}});
  m->track("run", run);
  saved_model::save(m, dir + "/model");

  Tensor x = constant({0.5f, 2.f, -1.f});
  Tensor n = constant(4);
  // The reference: acc = acc·x + base, four times.
  std::vector<double> xs = values(x), base = values(m->base->read_value()), acc(3, 0.0);
  for (int k = 0; k < 4; ++k)
    for (size_t j = 0; j < 3; ++j) acc[j] = acc[j] * xs[j] + base[j];
  auto loaded = saved_model::load(dir + "/model");
  std::vector<Tensor> got = loaded.function("run")(x, n);
  expect_close(cast(got[0], float64), make(acc, {3}, float64), 1e-5, 1e-5);
  EXPECT_EQ(got[1].item<int32_t>(), 4);
  {
    std::ofstream c(dir + "/case.txt");
    c << "call signature:serving_default\n";
    write_case_tensor(c, "input x", x);
    write_case_tensor(c, "input n", n);
    write_case_tensor(c, "output 0", got[0]);
    write_case_tensor(c, "output 1", got[1]);
    c << "call run\n";
    write_case_tensor(c, "input x", x);
    write_case_tensor(c, "input n", n);
    write_case_tensor(c, "output 0", got[0]);
    write_case_tensor(c, "output 1", got[1]);
  }
  check_in_tensorflow(dir + "/model", dir + "/case.txt", 4, 2);
}

// A small convolutional network with a TensorArray loop, a cond and a
// gradient inside the function (TensorFlow runs the gradient ops ember traced).
struct ConvNet : Module {
  Tracked<Variable> k{this, "k"}, d{this, "d"};
  ConvNet() : Module("conv_net") {
    k = Variable(constant(ramp(36, 0.37f, 0.f), {3, 3, 1, 4}), {.name = "k"});
    d = Variable(constant(ramp(108, 0.11f, 0.f), {36, 3}), {.name = "d"});
  }
};

TEST(SavedModelInterop, TensorFlowLoadsAConvNetWithALoopACondAndAGradient) {
  std::string dir = temp_dir("sm_tf_conv");
  auto m = std::make_shared<ConvNet>();
  ConvNet* self = m.get();
  auto call = function(
      [self](Tensor images) {
        GradientTape tape;
        Tensor h = relu(conv2d(images, *self->k, {.padding = "SAME"}));
        h = reshape(max_pool2d(h, {2}, {2}), {-1, 36});
        Tensor logits = matmul(h, *self->d);
        Tensor probs = softmax(logits);
        TensorArray ta(float32, 3);
        ta = for_range(constant(int64_t{0}), constant(int64_t{3}), constant(int64_t{1}),
                       [&](const Tensor& i, const TensorArray& a) {
                         return a.write(cast(i, int32), reduce_sum(gather(probs, i, 1)));
                       },
                       ta);
        Tensor sums = ta.stack();
        Tensor score = cond(greater(reduce_sum(logits), constant(0.f)), [&] { return reduce_max(probs); },
                            [&] { return reduce_min(probs); });
        // (The gradient for the filters: one for the images would need the
        // batch size, which this signature leaves unknown; see ARCHITECTURE.md.)
        Tensor grad = tape.gradient(reduce_sum(logits * logits), *self->k);
        return std::make_tuple(probs, sums, score, grad);
      },
      {.name = "__call__", .input_signature = std::vector<TensorSpec>{TensorSpec({-1, 6, 6, 1}, float32, "images")}});
  m->track("__call__", call);
  saved_model::save(m, dir + "/model");
  Tensor images = constant(ramp(72, 0.23f, 0.f), {2, 6, 6, 1});
  std::vector<Tensor> out = saved_model::load(dir + "/model")(images);
  std::vector<Tensor> live = call.get_concrete_function(TensorSpec({-1, 6, 6, 1}, float32, "images")).call({images});
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(all_close(out[i], values(live[i]), live[i].shape(), 1e-6, 1e-6)) << i;
  {
    std::ofstream c(dir + "/case.txt");
    c << "call __call__\n";
    write_case_tensor(c, "input images", images);
    for (size_t i = 0; i < out.size(); ++i) write_case_tensor(c, "output " + std::to_string(i), out[i]);
    c << "call signature:serving_default\n";
    write_case_tensor(c, "input images", images);
    for (size_t i = 0; i < out.size(); ++i) write_case_tensor(c, "output " + std::to_string(i), out[i]);
  }
  check_in_tensorflow(dir + "/model", dir + "/case.txt", 8, 4);
}

}  // namespace
}  // namespace ember::test

namespace ember::test {
namespace {

struct TfCall {
  std::string function;
  std::vector<std::pair<std::string, Tensor>> inputs;
  std::vector<Tensor> outputs;
};

Tensor parse_tensor(std::istringstream& in) {
  std::string dtype;
  int rank = 0;
  in >> dtype >> rank;
  std::vector<int64_t> dims(static_cast<size_t>(rank));
  for (auto& d : dims) in >> d;
  std::vector<double> v;
  std::string x;
  while (in >> x) v.push_back(std::stod(x));  // (nan and inf too, which >> a double does not read)
  for (DType dt : {float32, float64, float16, bfloat16, int32, int64, uint8, bool_})
    if (dtype == dtype_name(dt)) return make(v, TensorShape(dims), dt);
  throw std::runtime_error("a case line of dtype " + dtype + ", which the tests do not read");
}

std::vector<TfCall> read_calls(const std::string& path) {
  std::vector<TfCall> calls;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string kind, name;
    in >> kind >> name;
    if (kind == "call") calls.push_back({name, {}, {}});
    else if (kind == "input") calls.back().inputs.emplace_back(name, parse_tensor(in));
    else if (kind == "output") calls.back().outputs.push_back(parse_tensor(in));
  }
  return calls;
}

// TensorFlow's models (tests/tf/make_saved_models.py tests/data/tf_saved_models,
// TensorFlow 2.21), committed so these tests run without TensorFlow.
std::string tensorflow_models() { return data_dir() + "/tf_saved_models"; }

int check_calls(const saved_model::Loaded& loaded, const std::string& cases) {
  int checked = 0;
  for (const TfCall& c : read_calls(cases)) {
    SCOPED_TRACE(c.function);
    std::vector<Tensor> got;
    if (c.function.rfind("signature:", 0) == 0) {
      std::map<std::string, Tensor> in(c.inputs.begin(), c.inputs.end());
      for (auto& [k, v] : loaded.signature(c.function.substr(10))(in)) got.push_back(v);
    } else {
      std::vector<Tensor> in;
      for (const auto& [k, v] : c.inputs) in.push_back(v);
      got = loaded.function(c.function).call(in);
    }
    EXPECT_EQ(got.size(), c.outputs.size());
    for (size_t i = 0; i < std::min(got.size(), c.outputs.size()); ++i) {
      EXPECT_EQ(got[i].dtype(), c.outputs[i].dtype()) << "output " << i;
      EXPECT_TRUE(all_close(got[i], values(c.outputs[i]), c.outputs[i].shape(), 1e-5, 1e-6)) << "output " << i;
      ++checked;
    }
  }
  return checked;
}

TEST(SavedModelInterop, EmberLoadsTensorFlowsModuleAndGivesItsOutputs) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/dense");
  EXPECT_EQ(check_calls(loaded, dir + "/dense.txt"), 8);
  // The object tree: the submodule and its variable, by their attribute names.
  EXPECT_EQ(loaded->child("inner")->variable("scale").shape(), TensorShape({2}));
  EXPECT_EQ(loaded.variables().size(), 3u);
  EXPECT_EQ(loaded.function("stats").concrete_functions().size(), 2u);
  EXPECT_THROW(loaded.function("stats")(constant({1, 2})), InvalidArgument);
  EXPECT_THROW(loaded.function("missing"), NotFound);
}

TEST(SavedModelInterop, EmberLoadsTensorFlowsWhileLoopAndCond) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/loop");
  EXPECT_EQ(check_calls(loaded, dir + "/loop.txt"), 6);
}

TEST(SavedModelInterop, EmberLoadsTensorFlowsConvNetWithATensorArrayLoop) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/convnet");
  EXPECT_EQ(check_calls(loaded, dir + "/convnet.txt"), 5);
}

TEST(SavedModelInterop, EmberRunsTensorFlowOpsItHasNoOpForAsOtherOps) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/composites");
  EXPECT_EQ(check_calls(loaded, dir + "/composites.txt"), 8);
}

// A Keras 3 model exported for serving (model.export) loads and gives Keras's outputs.
TEST(SavedModelInterop, EmberLoadsAKerasExportedModel) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/keras_export");
  EXPECT_EQ(check_calls(loaded, dir + "/keras_export.txt"), 2);
  // Two kernels and two biases, which Keras's export records twice, as
  // separate objects (its `variables` and `_all_variables` lists).
  EXPECT_EQ(loaded.variables().size(), 8u);
  EXPECT_EQ(loaded->child("variables")->variable("0").shape(), TensorShape({4, 8}));
}

// TensorFlow's functions of an input of unknown rank (TensorSpec(None)):
// "all axes", reversed axes and negative axes come from the actual rank.
TEST(SavedModelInterop, EmberRunsTensorFlowsFunctionsOfUnknownRank) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/unknown_shapes");
  EXPECT_EQ(check_calls(loaded, dir + "/unknown_shapes.txt"), 22);
}

// for i in tf.range(n): a loop whose bound (a Range of a tensor) is known when it runs.
TEST(SavedModelInterop, EmberRunsARangeLoopOfABoundKnownWhenItRuns) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/range_loop");
  EXPECT_EQ(check_calls(loaded, dir + "/range_loop.txt"), 6);
}

// Keras exports whose graphs compute shapes: Flatten (Shape, StridedSlice,
// Pack, a Reshape to the result) and an LSTM (its loop over time).
TEST(SavedModelInterop, EmberLoadsKerasExportsWithFlattenAndAnLstm) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_flatten"), dir + "/keras_flatten.txt"), 2);
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_lstm"), dir + "/keras_lstm.txt"), 1);
}

// Keras 3's export of a causal attention block (Embedding, MultiHeadAttention
// with use_causal_mask, LayerNormalization, a Dense with the exact gelu):
// its causal mask is a Cumsum and its gelu an Erfc, which ember lacked, so
// such a model did not load ("op Cumsum is not one ember has").
TEST(SavedModelInterop, EmberLoadsAKerasCausalAttentionExport) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_transformer"), dir + "/keras_transformer.txt"), 1);
}

// A Bidirectional LSTM over masked embeddings: its backward half reverses
// time (ReverseV2, which ember lacked; now reverse()'s strided slice); then
// a swish Dense, whose custom gradient's function captures tensors the
// loader had refused (it differentiates the ops instead).
TEST(SavedModelInterop, EmberLoadsAKerasBidirectionalLstm) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_bidirectional"), dir + "/keras_bidirectional.txt"), 1);
}

// Rescaling, Resizing (ResizeBilinear, which ember lacked: imported as
// gathers and lerps) and a Normalization given its mean and variance: the
// export's function captures them as constants (SavedObject kind
// `constant`), which the loader refused.
TEST(SavedModelInterop, EmberLoadsAKerasExportThatCapturesConstants) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_preprocessing"), dir + "/keras_preprocessing.txt"), 1);
  // TensorFlow 1's resize_bilinear: align_corners, the legacy scale, half-pixel down.
  EXPECT_EQ(check_calls(saved_model::load(dir + "/resize_bilinear"), dir + "/resize_bilinear.txt"), 3);
}

// UpSampling2D (nearest, then bilinear after a Conv2D, whose images' height
// and width the loaded graph knows only when it runs: the resize indices
// were computed when loading, which refused it) and a nearest Resizing.
TEST(SavedModelInterop, EmberLoadsKerasUpSamplingOfSizesKnownWhenItRuns) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_upsampling"), dir + "/keras_upsampling.txt"), 1);
}

// Keras's Conv3D (SAME; VALID with a depth stride),
// MaxPooling3D and AveragePooling3D (SAME, whose average counts only the
// elements inside the input, and VALID): ember has no 3-D ops, and imports
// each as its 2-D op per tap of the depth window.
TEST(SavedModelInterop, EmberLoadsKerasConv3DAndPooling3D) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_conv3d"), dir + "/keras_conv3d.txt"), 1);
}

// IsNan, IsInf, IsFinite, Roll, BroadcastArgs and DenseBincount, which
// ember imports as its own ops, and Where (tf.where of one argument, and
// tf.boolean_mask's): a tf.Module's function, NaN and ±inf among the inputs.
TEST(SavedModelInterop, EmberRunsTensorFlowsMathOpsItImportsAsItsOwn) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/math_ops"), dir + "/math_ops.txt"), 9);
}

// More ops users' SavedModels hold, each of which failed to load: tf.sort
// and tf.argsort (a TopKV2 whose k is the row's length, known when it runs),
// tf.gather_nd (TensorFlow's GatherNd lacks ember's batch_dims attribute,
// and batch_dims > 0 is its composite), Cumprod, Atan2, the no-NaN ops,
// Softsign, the truncating division, CheckNumerics; tf.eye of a size known
// when it runs, diag, diag_part, trace and set_diag of one diagonal
// (MatrixDiagV3, MatrixDiagPartV3, MatrixSetDiagV3), nearest-neighbour
// resizing in TensorFlow's three coordinate rules, SpaceToDepth,
// DepthToSpace, Rint, PreventGradient, tf.switch_case (StatelessCase) of a
// branch index known when it runs, out of range included (the last branch),
// Bucketize (Keras's Discretization) of floats and integers, an Assert
// (whose message is string constants, which ember has no tensors of),
// TensorScatterUpdate, UnsortedSegmentMax/Min/Prod (an empty segment
// included), ReverseSequence along either axis, tf.searchsorted.
TEST(SavedModelInterop, EmberRunsMoreOfTensorFlowsOps) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/more_ops");
  EXPECT_EQ(check_calls(loaded, dir + "/more_ops.txt"), 4 * 45);
  // A TensorScatterUpdate of duplicate indices: refused when it runs (TensorFlow's order is undefined).
  const std::string twice = error_of<InvalidArgument>(
      [&] { loaded.function("scatter_twice").call(std::vector<Tensor>{zeros({3, 6})}); });
  EXPECT_NE(twice.find("TensorScatterUpdate with duplicate indices"), std::string::npos) << twice;
  // tf.debugging.assert_less (an Assert of string constants and x, in its
  // AssertGuard's If) holds for those inputs and fails, as TensorFlow's, for x >= 10.
  const std::string e = error_of<InvalidArgument>(
      [&] { loaded.function("__call__").call(std::vector<Tensor>{fill({2, 6}, 20.0), constant(int32_t{0})}); });
  EXPECT_NE(e.find("assertion failed: [x too big] [Condition x < y did not hold element-wise:] [x (x:0) = ]"),
            std::string::npos) << e;
}

// tf.linalg in float64 (tests/tf/make_saved_models.py, linalg_outputs):
// ember loads TensorFlow's forward function and its gradient functions (a
// graph of TensorFlow's gradient ops: MatrixSetDiagV3, MatrixBandPart,
// BatchMatMulV2, the solves, QR's of square, wide and tall matrices) and
// gives their outputs; and ember's own tape,
// on the same outputs written with ember's ops, gives TensorFlow's gradients.
std::map<std::string, Tensor> linalg_outputs(const Tensor& a, const Tensor& b) {
  const Tensor spd = matmul(a, a, false, true) + scalar_like(a, 3) * eye(shape_at(a, -1), a.dtype());
  const Tensor well = a + scalar_like(a, 4) * eye(shape_at(a, -1), a.dtype());
  const Tensor chol = cholesky(spd);
  const SignAndLogDeterminant slogdet = log_matrix_determinant(a);
  const QrResult square = qr(a), wide = qr(concat({a, b}, -1));
  const QrResult full = qr(concat({a, transpose(b, {0, 2, 1})}, -2), /*full_matrices=*/true);
  return {{"chol", chol},
          {"inv", matrix_inverse(well)},
          {"inv_adjoint", matrix_inverse(well, true)},
          {"det", matrix_determinant(a)},
          {"sign", slogdet.sign},
          {"logdet", slogdet.log_abs_determinant},
          {"solve", matrix_solve(well, b)},
          {"solve_adjoint", matrix_solve(well, b, true)},
          {"lower", triangular_solve(well, b)},
          {"upper_adjoint", triangular_solve(well, b, false, true)},
          {"cholesky_solve", cholesky_solve(chol, b)},
          {"band", band_part(a, 1, 0)},
          {"qr_q", square.q + scalar_like(a, 1)},
          {"qr_r", square.r},
          {"qr_wide_q", wide.q + scalar_like(a, 1)},
          {"qr_wide_r", wide.r},
          {"qr_full_q", full.q},
          {"qr_full_r", full.r}};
}

TEST(SavedModelInterop, EmberLoadsTensorFlowsLinalgAndItsGradientsAreTensorFlows) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/linalg");
  EXPECT_EQ(check_calls(loaded, dir + "/linalg.txt"), 3 * (18 + 16) + 6 + 2 * 5);
  int compared = 0;
  for (const TfCall& c : read_calls(dir + "/linalg.txt")) {
    if (c.function == "qr") {  // (one matrix, 40 x 33 or 33 x 40: LAPACK's blocked QR on the CPU)
      const std::vector<int64_t> size = c.inputs[0].second.index_values();
      const Tensor count = cast(range(size[0] * size[1]), float64);
      const Tensor m = reshape(sin(count * count * 0.37 + 0.4) * 2.0, TensorShape(Dims(size.begin(), size.end())));
      SCOPED_TRACE("qr of a " + m.shape().to_debug_string());
      const QrResult reduced = qr(m), full = qr(m, /*full_matrices=*/true);
      const auto diagonal = [](const Tensor& r) { return values(reduce_sum(band_part(r, 0, 0), {0})); };
      std::vector<double> r_diag = diagonal(reduced.r), r_full_diag = diagonal(full.r);
      r_diag.resize(static_cast<size_t>(std::min(size[0], size[1])));  // (diag_part: min(rows, cols) long)
      r_full_diag.resize(static_cast<size_t>(std::min(size[0], size[1])));
      const std::vector<std::vector<double>> got{  // sorted by name, as TensorFlow's
          values(slice(reduced.q, {0, 0}, {-1, 1})), values(slice(full.q, {0, size[0] - 1}, {-1, 1})), r_diag,
          r_full_diag, values(slice(reduced.r, {0, 0}, {1, -1}))};
      ASSERT_EQ(got.size(), c.outputs.size());
      for (size_t i = 0; i < got.size(); ++i, ++compared)
        EXPECT_TRUE(all_close(make(got[i], c.outputs[i].shape(), float64), values(c.outputs[i]), c.outputs[i].shape(),
                              1e-9, 1e-9)) << "output " << i;
      continue;
    }
    const Tensor &a = c.inputs[0].second, &b = c.inputs[1].second;
    SCOPED_TRACE(c.function + " of a " + a.shape().to_debug_string());
    GradientTape tape({.persistent = true});
    tape.watch(a);
    tape.watch(b);
    const std::map<std::string, Tensor> out = linalg_outputs(a, b);
    std::vector<Tensor> got;  // in TensorFlow's order: sorted by name
    if (c.function == "__call__") {
      for (const auto& [name, v] : out) got.push_back(v);
    } else {
      std::map<std::string, Tensor> losses, grads;
      // (qr_gradients: those of the QR outputs, which TensorFlow differentiates only where the shapes
      // are known, and not full_matrices of a tall matrix; gradients: the others')
      const bool qr_only = c.function == "qr_gradients";
      for (const auto& [name, v] : out)
        if (name != "sign" && name.starts_with("qr_") == qr_only && !name.starts_with("qr_full"))
          losses[name] = reduce_sum(v * v);
      auto paused = tape.stop_recording();
      for (const auto& [name, loss] : losses) {
        const std::vector<Tensor> g = tape.gradient(loss, {a, b});
        grads[name + "_a"] = g[0];
        if (name.find("solve") != std::string::npos || name == "lower" || name == "upper_adjoint" ||
            name.starts_with("qr_wide"))
          grads[name + "_b"] = g[1];
      }
      for (const auto& [name, g] : grads) got.push_back(g);
    }
    ASSERT_EQ(got.size(), c.outputs.size());
    for (size_t i = 0; i < got.size(); ++i, ++compared)
      EXPECT_TRUE(all_close(got[i], values(c.outputs[i]), c.outputs[i].shape(), 1e-9, 1e-9)) << "output " << i;
  }
  EXPECT_EQ(compared, 3 * (18 + 16) + 6 + 2 * 5);
}

// tf.math's special functions at their poles and edges, cumulative
// logsumexp (with a term 1000 below the rest and a -inf), the sorted segment
// reductions with an empty segment, cross, LRN and histogram_fixed_width
// (tests/tf/make_saved_models.py, special_outputs): ember loads TensorFlow's
// function and gives its outputs, and ember's own front-ends give them too.
TEST(SavedModelInterop, EmberLoadsTensorFlowsSpecialFunctionsAndSegmentsAndItsOwnOpsAgree) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/special");
  EXPECT_EQ(check_calls(loaded, dir + "/special.txt"), 16);
  const std::vector<TfCall> calls = read_calls(dir + "/special.txt");
  ASSERT_EQ(calls.size(), 1u);
  const TfCall& c = calls[0];
  const Tensor &x = c.inputs[0].second, &y = c.inputs[1].second, &m = c.inputs[2].second, &ids = c.inputs[3].second;
  const Tensor ones = ones_like(x);
  const std::map<std::string, Tensor> ember{
      {"lgamma", lgamma(x)},
      {"digamma", digamma(x)},
      {"erfinv", erfinv(y)},
      {"trigamma", polygamma(ones, x)},
      {"polygamma3", polygamma(ones * 3.0, x)},
      {"zeta", zeta(ones * 2.5, x)},
      {"cumlse", cumulative_logsumexp(m, 0)},
      {"cumlse_exclusive_reverse", cumulative_logsumexp(m, 1, true, true)},
      {"segment_sum", segment_sum(m, ids)},
      {"segment_mean", segment_mean(m, ids)},
      {"segment_max", segment_max(m, ids)},
      {"segment_min", segment_min(m, ids)},
      {"segment_prod", segment_prod(m, ids)}};
  const std::vector<std::string> names = {"cross",     "cumlse",       "cumlse_exclusive_reverse",
                                          "digamma",   "erfinv",       "histogram",
                                          "lgamma",    "lrn",          "polygamma3",
                                          "segment_max", "segment_mean", "segment_min",
                                          "segment_prod", "segment_sum", "trigamma",
                                          "zeta"};  // TensorFlow's order: sorted
  ASSERT_EQ(c.outputs.size(), names.size());
  int compared = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = ember.find(names[i]);
    if (it == ember.end()) continue;  // (cross, LRN and the histogram are TensorFlow ops ember imports, not its own)
    SCOPED_TRACE(names[i]);
    EXPECT_TRUE(all_close(it->second, values(c.outputs[i]), c.outputs[i].shape(), 1e-12, 1e-12));
    ++compared;
  }
  EXPECT_EQ(compared, 13);
  // Unsorted ids: TensorFlow's error, from ember's check when it runs.
  const Tensor shuffled = constant(std::vector<int32_t>{0, 2, 1, 3, 3});
  EXPECT_NE(error_of<InvalidArgument>([&] { segment_sum(m, shuffled); }).find("[segment_sum] segment ids are not increasing"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { loaded.function("__call__").call(std::vector<Tensor>{x, y, m, shuffled}); })
                .find("segment ids are not increasing"),
            std::string::npos);
}

// Keras 3 models' training steps as TensorFlow saves them (a tape, its
// gradients and the optimizer's updates in one tf.function;
// tests/tf/make_saved_models.py, KerasTrain): ember loads the gradient graphs
// (TensorFlow's gradient ops of the activations, an LSTM's while loop and
// its gradient, the reductions' shape bookkeeping, batch normalization) and
// the optimizers' updates of the variables, and three steps from the saved
// state give TensorFlow's losses, then its predictions.
TEST(SavedModelInterop, EmberTrainsKerasModelsByTheirSavedTrainingSteps) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/keras_train"), dir + "/keras_train.txt"), 8);
}

// Twelve Keras 3 models' training steps as TensorFlow saves them now
// (tests/tf/make_train_steps.py, run here: recurrent layers, normalization,
// convolutions and their transposes, attention, every activation, Keras's
// optimizers): three steps each from the saved state give TensorFlow's
// losses, then its predictions.
TEST(SavedModelInterop, EmberTrainsTheKerasModelsTensorFlowSaves) {
  const std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  const std::string dir = temp_dir("train_steps");
  std::string log;
  ASSERT_EQ(run_python(python, data_dir() + "/../tf/make_train_steps.py", dir, log), 0) << log;
  ASSERT_NE(log.find("OK 12"), std::string::npos) << log;
  int checked = 0;
  for (const char* name : {"lstm_sgd", "gru_rmsprop", "bigru_adamax", "simple_rnn_adadelta", "cnn_bn_adamw",
                           "conv_transpose_groupnorm_lion", "transformer_adam", "huber_adagrad", "conv1d_swish_nadam",
                           "binary_ftrl", "l2_nesterov", "mse_clipnorm"}) {
    SCOPED_TRACE(name);
    checked += check_calls(saved_model::load(dir + "/" + name), dir + "/" + name + ".txt");
  }
  EXPECT_EQ(checked, 12 * 4);
}

// The ops of TensorFlow's gradient graphs that ember imports as its own
// ops, called directly (tests/tf/make_saved_models.py, GradOps): the
// activations' gradients at values of both signs and at relu6's edges,
// DynamicStitch with an index given twice (the later wins),
// InvertPermutation, ShapeN and VariableShape.
TEST(SavedModelInterop, EmberRunsTensorFlowsGradientOpsAsItsOwn) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/grad_ops"), dir + "/grad_ops.txt"), 15);
}

// tf.bitwise on int32, int64 and uint8 (tests/tf/make_saved_models.py,
// Bitwise): ember loads TensorFlow's function and gives its outputs, and
// ember's own front-ends give them too.
TEST(SavedModelInterop, EmberLoadsTensorFlowsBitwiseOpsAndItsOwnOpsAgree) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/bitwise");
  EXPECT_EQ(check_calls(loaded, dir + "/bitwise.txt"), 24);
  const std::vector<TfCall> calls = read_calls(dir + "/bitwise.txt");
  ASSERT_EQ(calls.size(), 1u);
  const TfCall& c = calls[0];
  std::map<std::string, Tensor> ember;  // in TensorFlow's order: sorted by name
  for (const auto& [kind, i] : {std::pair<std::string, size_t>{"i32", 0}, {"i64", 2}, {"u8", 4}}) {
    const Tensor &a = c.inputs[i].second, &b = c.inputs[i + 1].second;
    ember[kind + "_and"] = bitwise_and(a, b);
    ember[kind + "_or"] = bitwise_or(a, b);
    ember[kind + "_xor"] = bitwise_xor(a, b);
    ember[kind + "_left"] = left_shift(a, b);
    ember[kind + "_right"] = right_shift(a, b);
    ember[kind + "_invert"] = invert(a);
    ember[kind + "_popcount"] = population_count(a);
    ember[kind + "_left_scalar"] = left_shift(a, cast(constant(int32_t{1}), a.dtype()));
  }
  ASSERT_EQ(c.outputs.size(), ember.size());
  size_t i = 0;
  for (const auto& [name, got] : ember) {
    SCOPED_TRACE(name);
    EXPECT_EQ(got.dtype(), c.outputs[i].dtype());
    EXPECT_TRUE(all_close(got, values(c.outputs[i]), c.outputs[i].shape(), 0, 0));
    ++i;
  }
}

// tf.random.stateless_* as TensorFlow 2.21 traces them (a key and counter
// from the seed, then StatelessRandomUniformV2, NormalV2, TruncatedNormalV2;
// tests/tf/make_saved_models.py, StatelessRandom): ember's draws from the
// seed give TensorFlow's numbers, scaled, in float32, float64 and float16,
// for two seeds and a shape known when it runs.
TEST(SavedModelInterop, EmberDrawsTensorFlowsStatelessRandomNumbers) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/stateless_random"), dir + "/stateless_random.txt"), 10);
}

// A module holding a tf.random.Generator and a function drawing from it:
// the SavedModel holds the generator's state (its node and "_state_var",
// as TensorFlow's), and a model loaded from it continues the stream from
// there, in ember and in TensorFlow (its StatefulStandardNormalV2 kernel on
// the restored variable): both give the draws the module made after saving.
TEST(SavedModelTest, AGeneratorsStreamContinuesInTheLoadedModelAndInTensorFlow) {
  const std::string dir = temp_dir("sm_generator");
  auto m = std::make_shared<Module>();
  random::Generator g(21);
  g.normal({5});
  m->track("gen", g);
  auto draw = function([&g](Tensor scale) { return g.normal({3}) * scale; },
                       {.name = "draw", .input_signature = std::vector<TensorSpec>{TensorSpec({}, float32, "scale")}});
  m->track("draw", draw);
  saved_model::save(m, dir + "/model");
  const Tensor one = constant(1.f), two = constant(2.f);
  const Tensor first = draw(one), second = draw(two);
  {
    std::ofstream c(dir + "/case.txt");
    c << "call draw\n";
    write_case_tensor(c, "input scale", one);
    write_case_tensor(c, "output 0", first);
    c << "call draw\n";
    write_case_tensor(c, "input scale", two);
    write_case_tensor(c, "output 0", second);
  }
  EXPECT_EQ(check_calls(saved_model::load(dir + "/model"), dir + "/case.txt"), 2);
  check_in_tensorflow(dir + "/model", dir + "/case.txt", 2, 0);
}

// tf.random.Generator's draws as TensorFlow 2.21 traces them
// (tests/tf/make_saved_models.py, Generators: RngReadAndSkip, then the V2
// draws on the counter and key bitcast to uint64), from a generator the
// model saved: ember imports each as its Stateful* draw on the restored
// state variable, and its two calls give TensorFlow's two calls' numbers.
TEST(SavedModelInterop, EmberContinuesTheStreamOfAGeneratorTensorFlowSaved) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/generators"), dir + "/generators.txt"), 10);
  // Generator.skip: an RngReadAndSkip no draw takes, refused rather than imported without its skip.
  const std::string error = error_of<Unimplemented>([&] { saved_model::load(dir + "/generator_skip"); });
  EXPECT_NE(error.find("RngReadAndSkip without a draw from the state it read (tf.random.Generator.skip)"),
            std::string::npos)
      << error;
}

// Integer draws, a shuffle and tf.nn.l2_loss as TensorFlow 2.21 traces them
// (tests/tf/make_saved_models.py, RandomInts): StatelessRandomUniformIntV2
// from the seed's key and counter, RandomUniformInt and RandomShuffle with
// op seeds (their streams continued by the second call), L2Loss and its
// gradient. ember runs TensorFlow's function, and its own ops give the same
// numbers, the draws exactly.
TEST(SavedModelInterop, EmberRunsTensorFlowsIntegerDrawsShuffleAndL2Loss) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/random_ints"), dir + "/random_ints.txt"), 12);
  const std::vector<TfCall> calls = read_calls(dir + "/random_ints.txt");
  ASSERT_EQ(calls.size(), 2u);
  // Outputs in key order: int32, int64, l2, l2_grad, seeded_int32, shuffled.
  auto expect_exact = [](const Tensor& got, const Tensor& want) {
    EXPECT_EQ(got.dtype(), want.dtype());
    EXPECT_TRUE(all_close(got, values(want), want.shape(), 0, 0));
  };
  const TfCall& first = calls[0];  // seed [7, 3], shape [2, 3]
  expect_exact(random::stateless_uniform({3, 4}, {7, 3}, -5, 5, int32), first.outputs[0]);
  expect_exact(random::stateless_uniform({2, 3}, {7, 3}, -1099511627776.0, 1099511627776.0, int64), first.outputs[1]);
  random::clear_seed();  // (the op seeds' streams from their starts: TensorFlow's first call)
  for (const TfCall& c : calls) {
    const Tensor& x = c.inputs[2].second;
    GradientTape tape;
    tape.watch(x);
    const Tensor l2 = l2_loss(x);
    EXPECT_TRUE(all_close(l2, values(c.outputs[2]), TensorShape{}, 1e-6, 0));
    expect_exact(tape.gradient(l2, x), c.outputs[3]);
    expect_exact(random::uniform({4}, 0, 50, int32, 6), c.outputs[4]);
    expect_exact(random::shuffle(x, 4), c.outputs[5]);
  }
  random::clear_seed();
}

// tf.image.non_max_suppression as TensorFlow 2.21 traces it
// (tests/tf/make_saved_models.py, NonMaxSuppression): V3 with and without
// a score threshold, V5's soft suppression (its decayed scores), V4
// padded, V2, V1, and float16 boxes, on overlapping boxes with tied
// scores, empty boxes and corners in either order: ember selects the boxes
// TensorFlow selects, and its own front-ends select them too.
TEST(SavedModelInterop, EmberSelectsTheBoxesTensorFlowSelects) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/non_max_suppression"), dir + "/non_max_suppression.txt"), 27);
  // Outputs in key order: half, soft_indices, soft_scores, v1, v2, v3, v3_threshold, v4_indices, v4_valid.
  for (const TfCall& c : read_calls(dir + "/non_max_suppression.txt")) {
    const Tensor &boxes = c.inputs[0].second, &scores = c.inputs[1].second;
    const int64_t k = c.inputs[2].second.item<int32_t>();
    auto expect_exact = [](const Tensor& got, const Tensor& want) {
      EXPECT_EQ(got.dtype(), want.dtype());
      EXPECT_TRUE(all_close(got, values(want), want.shape(), 0, 0));
    };
    expect_exact(non_max_suppression(cast(boxes, float16), cast(scores, float16), k, 0.45), c.outputs[0]);
    const NonMaxSuppressionResult soft = non_max_suppression_with_scores(boxes, scores, k, 0.6, 0.05, 0.5);
    expect_exact(soft.selected_indices, c.outputs[1]);
    EXPECT_TRUE(all_close(soft.selected_scores, values(c.outputs[2]), c.outputs[2].shape(), 1e-6, 0));
    expect_exact(non_max_suppression(boxes, scores, k, 0.5), c.outputs[5]);
    expect_exact(non_max_suppression(boxes, scores, k, 0.3, 0.4), c.outputs[6]);
  }
}

// ImageProjectiveTransformV3 as TensorFlow 2.21 runs it
// (tests/tf/make_saved_models.py, Projective): both interpolations, every
// fill mode, a rotation-zoom, a projective map and a shift off the image,
// one transform for the batch and one per image, into a larger output;
// uint8 and float16 images; V2; and Keras's RandomRotation, RandomZoom and
// RandomTranslation in training (their seed generators' stateless draws,
// a second call continuing them). ember runs TensorFlow's function, and its
// own front-end gives the same pixels.
TEST(SavedModelInterop, EmberTransformsImagesAsTensorFlow) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/projective"), dir + "/projective.txt"), 28);
  // Outputs in key order: bilinear_{constant, nearest, reflect, wrap}, float16,
  // keras_{rotation, translation, zoom}, nearest_{constant, nearest, reflect, wrap}, uint8, v2.
  const std::pair<int, ProjectiveTransformOptions> raw[] = {
      {0, {.fill_mode = "CONSTANT"}}, {1, {.fill_mode = "NEAREST"}},
      {2, {.fill_mode = "REFLECT"}},  {3, {.fill_mode = "WRAP"}},
      {8, {.interpolation = "NEAREST", .fill_mode = "CONSTANT"}}, {9, {.interpolation = "NEAREST", .fill_mode = "NEAREST"}},
      {10, {.interpolation = "NEAREST", .fill_mode = "REFLECT"}}, {11, {.interpolation = "NEAREST", .fill_mode = "WRAP"}}};
  for (const TfCall& c : read_calls(dir + "/projective.txt")) {
    const Tensor &images = c.inputs[0].second, &transforms = c.inputs[1].second;
    const std::array<int64_t, 2> size{images.dim(1) + 1, images.dim(2) + 2};
    for (auto [k, options] : raw) {
      SCOPED_TRACE(k);
      options.output_shape = size;
      options.fill_value = -1.5;
      EXPECT_TRUE(all_close(image_projective_transform(images, transforms, options), values(c.outputs[size_t(k)]),
                            c.outputs[size_t(k)].shape(), 0, 0));
    }
    const Tensor bytes = image_projective_transform(cast(abs(images) * 40.f, uint8), transforms,
                                                    {.output_shape = size, .fill_mode = "REFLECT", .fill_value = 7});
    EXPECT_TRUE(all_close(bytes, values(c.outputs[12]), c.outputs[12].shape(), 0, 0));
    const Tensor half = image_projective_transform(cast(images, float16), slice(transforms, {0, 0}, {1, -1}),
                                                   {.output_shape = size, .fill_value = 0.25});
    EXPECT_EQ(half.dtype(), float16);
    EXPECT_TRUE(all_close(half, values(c.outputs[4]), c.outputs[4].shape(), 0, 0));
  }
}

// Gamma draws as TensorFlow 2.21 traces them (tests/tf/make_saved_models.py,
// Gamma): stateless_gamma's StatelessRandomGammaV3 from the seed's key with
// its gradients in alpha and beta (RandomGammaGrad), tf.random.gamma's
// RandomGamma with an op seed (its stream continued by the second call),
// and Keras's MixUp and CutMix in training (their seed generators' states
// advancing). ember's own front-ends give the stateless samples exactly.
TEST(SavedModelInterop, EmberRunsTensorFlowsGammaDrawsMixUpAndCutMix) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/gamma"), dir + "/gamma.txt"), 16);
  // Outputs in key order: cutmix_images, cutmix_labels, dalpha, dbeta,
  // mixup_images, mixup_labels, seeded, stateless.
  for (const TfCall& c : read_calls(dir + "/gamma.txt")) {
    const Tensor &seed = c.inputs[0].second, &shape = c.inputs[1].second, &alpha = c.inputs[2].second;
    const Tensor y = random::stateless_gamma(shape, seed, alpha, constant(2.0f));
    EXPECT_TRUE(all_close(y, values(c.outputs[7]), c.outputs[7].shape(), 0, 0));
  }
}

// Poisson draws as TensorFlow 2.21 traces them (tests/tf/make_saved_models.py,
// Poisson): StatelessRandomPoisson with the shape a tensor, int32 and
// float32 counts, RandomPoissonV2 with an op seed (its stream continued by
// the second call), and tf.random.split and fold_in of the seed
// (StatelessRandomUniformFullIntV2): ember gives TensorFlow's numbers
// exactly, and its own front-ends give them too.
TEST(SavedModelInterop, EmberRunsTensorFlowsPoissonDrawsAndSeedSplits) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/poisson"), dir + "/poisson.txt"), 10);
  // Outputs in key order: float32, fold_in, int32, seeded, split.
  for (const TfCall& c : read_calls(dir + "/poisson.txt")) {
    const Tensor &seed = c.inputs[0].second, &shape = c.inputs[1].second, &lam = c.inputs[2].second;
    EXPECT_TRUE(all_close(random::stateless_poisson(shape, seed, lam), values(c.outputs[2]), c.outputs[2].shape(), 0, 0));
    // (int64 seeds: compared as the fixture's doubles hold them; tests/random_test.cpp checks their words)
    EXPECT_TRUE(all_close(random::split(seed, 3), values(c.outputs[4]), c.outputs[4].shape(), 0, 0));
    EXPECT_TRUE(all_close(random::fold_in(seed, constant(lam.num_elements())), values(c.outputs[1]), c.outputs[1].shape(), 0, 0));
  }
}

// The resizes' gradients as TensorFlow's tapes write them into a saved
// training step (tests/tf/make_saved_models.py, ResizeGrads):
// ResizeBilinearGrad, ResizeBicubicGrad and ResizeNearestNeighborGrad, up
// and down, aligned corners, half-pixel centers, the legacy rule and
// float16 images. ember imports each as the adjoint of its resize and gets
// TensorFlow's gradients (to its float32 accumulation order).
TEST(SavedModelInterop, EmberRunsTensorFlowsResizeGradients) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/resize_grads"), dir + "/resize_grads.txt"), 8);
}

// The 3-D windows' gradients as TensorFlow's tapes write them
// (tests/tf/make_saved_models.py, Window3dGrads): Conv3DBackpropInputV2 and
// FilterV2 of strided SAME and VALID convolutions, MaxPool3DGrad,
// AvgPool3DGrad, and Keras's Conv3DTranspose (Conv3DBackpropInputV2 as its
// forward op): ember imports each as the adjoint of its forward op and
// gets TensorFlow's values (to float32 accumulation order).
TEST(SavedModelInterop, EmberRunsTensorFlows3dWindowGradients) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/window3d_grads"), dir + "/window3d_grads.txt"), 7);
}

// tf.image.rgb_to_hsv and hsv_to_rgb (tests/tf/make_saved_models.py,
// Colorspace): ember runs TensorFlow's function (RGBToHSV, HSVToRGB, its
// gradient formula, Keras's RandomHue and RandomSaturation) to its values,
// its own front-ends give TensorFlow's conversions bit for bit in float32,
// float64 and float16, and its tape's gradient is TensorFlow's where the
// channels are distinct (at a gray or black pixel hue has no derivative:
// TensorFlow's formula gives a value there, ember's tape another).
TEST(SavedModelInterop, EmberConvertsColorsAsTensorFlow) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/colorspace"), dir + "/colorspace.txt"), 9);
  const std::vector<TfCall> calls = read_calls(dir + "/colorspace.txt");
  ASSERT_EQ(calls.size(), 1u);
  const TfCall& c = calls[0];
  // Outputs in key order: grad, hsv, hsv_f16, hsv_f64, keras_hue, keras_saturation, rgb, rgb_of_hsv_f16, rgb_of_wrapping.
  const Tensor& rgb = c.inputs[0].second;
  auto expect_exact = [](const Tensor& got, const Tensor& want) {
    EXPECT_TRUE(all_close(cast(got, float32), values(want), want.shape(), 0, 0));
  };
  const Tensor hsv = rgb_to_hsv(rgb);
  expect_exact(hsv, c.outputs[1]);
  expect_exact(rgb_to_hsv(cast(rgb, float64)), c.outputs[3]);
  expect_exact(rgb_to_hsv(cast(rgb, float16)), c.outputs[2]);
  expect_exact(hsv_to_rgb(hsv), c.outputs[6]);
  expect_exact(hsv_to_rgb(cast(rgb, float16)), c.outputs[7]);
  expect_exact(hsv_to_rgb(rgb * constant({1.8f, 1.f, 1.f}) - constant({0.4f, 0.f, 0.f})), c.outputs[8]);
  GradientTape tape;
  tape.watch(rgb);
  const Tensor loss = reduce_sum(rgb_to_hsv(rgb) * constant({0.7f, -1.3f, 0.4f}));
  const std::vector<double> got = values(tape.gradient(loss, rgb)), want = values(c.outputs[0]);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 6; i < got.size(); ++i)  // (pixels 0 and 1 are gray and black)
    EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << "element " << i;
}

// tf.linalg.eigh, eigvalsh and svd (tests/tf/make_saved_models.py, EigSvd)
// as quantities a vector's sign does not change: ember runs TensorFlow's
// function and its gradient graph, and its own ops and tape give TensorFlow's
// values and gradients.
TEST(SavedModelInterop, EmberGivesTensorFlowsEigenvaluesSingularValuesAndTheirGradients) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/eig_svd"), dir + "/eig_svd.txt"), 20);
  const std::vector<TfCall> calls = read_calls(dir + "/eig_svd.txt");
  ASSERT_EQ(calls.size(), 1u);
  const TfCall& c = calls[0];
  const Tensor &a = c.inputs[0].second, &b = c.inputs[1].second;
  const Tensor w4 = reshape(cos(cast(range(16), float64) * 0.7), {4, 4});
  const Tensor w5 = reshape(cos(cast(range(15), float64) * 0.4), {5, 3});
  const auto first_pair = [](const Tensor& u, const Tensor& v) {  // u₁·v₁ᵀ
    return matmul(slice(u, {0, 0, 0}, {-1, -1, 1}), slice(v, {0, 0, 0}, {-1, -1, 1}), false, true);
  };
  const auto cube = [](const Tensor& x) { return x * x * x; };
  GradientTape tape({.persistent = true});
  tape.watch(a);
  tape.watch(b);
  const Tensor b_wide = transpose(slice(b, {0, 0, 0}, {-1, 4, -1}), {0, 2, 1});
  const EighResult eig = eigh(a);
  const SvdResult tall = svd(b), wide = svd(b_wide, /*full_matrices=*/true);
  const std::map<std::string, Tensor> losses{
      {"eigh_values", reduce_sum(eig.eigenvalues * make({1, -2, 0.5, 3}, {4}, float64))},
      {"eigh_vectors", reduce_sum(eig.eigenvectors * eig.eigenvectors * w4)},
      {"eigvalsh", reduce_sum(square(eigvalsh(a)))},
      {"svd_values", reduce_sum(tall.s * make({2, -1, 0.7}, {3}, float64))},
      {"svd_vectors", reduce_sum(first_pair(tall.u, tall.v) * w5) + reduce_sum(tall.u * tall.u * w5)},
      {"svd_values_only", reduce_sum(cube(svd(b, false, /*compute_uv=*/false).s))},
      {"svd_wide_full", reduce_sum(first_pair(wide.u, wide.v) * transpose(slice(w5, {0, 0}, {4, -1}), {1, 0})) +
                            reduce_sum(wide.s)}};
  std::map<std::string, Tensor> ember{{"eigh_e", eig.eigenvalues},
                                      {"eigh_v_squared", eig.eigenvectors * eig.eigenvectors},
                                      {"svd_s", tall.s},
                                      {"svd_u1_v1", first_pair(tall.u, tall.v)},
                                      {"svd_wide_s", wide.s},
                                      {"svd_wide_full_v_squared", wide.v * wide.v}};
  auto paused = tape.stop_recording();
  for (const auto& [name, loss] : losses) {
    const std::vector<Tensor> g = tape.gradient(loss, {a, b});
    ember["grad_" + name + "_a"] = g[0].defined() ? g[0] : zeros_like(a);
    ember["grad_" + name + "_b"] = g[1].defined() ? g[1] : zeros_like(b);
  }
  ASSERT_EQ(c.outputs.size(), ember.size());
  size_t i = 0;
  for (const auto& [name, got] : ember) {  // (TensorFlow's order: sorted by name)
    SCOPED_TRACE(name);
    EXPECT_TRUE(all_close(got, values(c.outputs[i]), c.outputs[i].shape(), 1e-10, 1e-10));
    ++i;
  }
}

// tf.math's trigonometric and hyperbolic functions (tests/tf/make_saved_models.py,
// Trig) at points in and outside their domains (±1, beyond, ±inf, NaN):
// ember runs TensorFlow's function, gradients included, and its own ops and
// tape give TensorFlow's values and gradients.
TEST(SavedModelInterop, EmberGivesTensorFlowsTrigonometricFunctionsAndGradients) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/trig"), dir + "/trig.txt"), 27);
  const std::vector<TfCall> calls = read_calls(dir + "/trig.txt");
  ASSERT_EQ(calls.size(), 1u);
  const TfCall& c = calls[0];
  const Tensor &x = c.inputs[0].second, &x32 = c.inputs[1].second;
  const std::map<std::string, Tensor (*)(const Tensor&)> functions{
      {"tan", ember::tan},   {"asin", ember::asin},   {"acos", ember::acos},
      {"atan", ember::atan}, {"sinh", ember::sinh},   {"cosh", ember::cosh},
      {"asinh", ember::asinh}, {"acosh", ember::acosh}, {"atanh", ember::atanh}};
  std::map<std::string, Tensor> ember;  // in TensorFlow's order: sorted by name
  for (const auto& [name, f] : functions) {
    GradientTape tape;
    tape.watch(x);
    const Tensor y = f(x);
    ember[name] = y;
    ember[name + "_grad"] = tape.gradient(y, x);
    ember[name + "_f32"] = f(x32);
  }
  ASSERT_EQ(c.outputs.size(), ember.size());
  size_t i = 0;
  for (const auto& [name, got] : ember) {
    SCOPED_TRACE(name);
    EXPECT_EQ(got.dtype(), c.outputs[i].dtype());
    const bool f32 = got.dtype() == float32;
    EXPECT_TRUE(all_close(got, values(c.outputs[i]), c.outputs[i].shape(), f32 ? 1e-6 : 1e-14, f32 ? 1e-7 : 1e-15));
    ++i;
  }
}

// ResizeBicubic (tf.image.resize's half-pixel form with its renormalized
// edges, TensorFlow 1's aligned and legacy forms, up and down),
// ExtractImagePatches (VALID, and SAME with strides and rates) and
// CropAndResize (bilinear and nearest, boxes partly outside the image and
// flipped, a crop of one pixel), as TensorFlow computes them.
TEST(SavedModelInterop, EmberLoadsBicubicResizesImagePatchesAndCrops) {
  const std::string dir = tensorflow_models();
  auto loaded = saved_model::load(dir + "/images");
  EXPECT_EQ(check_calls(loaded, dir + "/images.txt"), 9);
}

// serialization/tf_attr_defaults.inc is TensorFlow's defaults for the ops of
// core/op_names.h, made by tests/tf/make_attr_defaults.py: an op added since
// it was last made has none, and a SavedModel that strips them fails to
// load (Cumsum's `exclusive`, Shape's `out_type` were missing).
TEST(TensorFlowInterop, TheAttributeDefaultsTableIsCurrent) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string log;
  EXPECT_EQ(run_python(python, data_dir() + "/../tf/make_attr_defaults.py", "--check", log), 0) << log;
}

const CoveredOps covered{op_name::PartitionedCall, op_name::StatefulPartitionedCall};

// TensorFlow allows cycles in the object graph (a child naming its parent,
// an object naming itself): the load links them, computes TensorFlow's
// values, and frees every object with the root (back edges do not own).
TEST(SavedModelInterop, ACyclicObjectGraphLoadsAndIsFreedWithItsRoot) {
  const std::string dir = tensorflow_models();
  std::weak_ptr<saved_model::LoadedObject> root, child;
  {
    saved_model::Loaded loaded = saved_model::load(dir + "/cyclic");
    EXPECT_EQ(check_calls(loaded, dir + "/cyclic.txt"), 1);  // TensorFlow's values
    std::shared_ptr<saved_model::LoadedObject> c = loaded->child("child");
    EXPECT_EQ(c->child("parent"), loaded.root());
    EXPECT_EQ(c->child("itself"), c);
    EXPECT_EQ(c->variable("v").read_value().to_vector<float>(), (std::vector<float>{0.25f, 4.f}));
    root = loaded.root();
    child = c;
    // Saving it again walks the cycles once.
    const std::string out = temp_dir("cyclic_resave");
    Checkpoint::of_object(loaded.root()).write(out + "/ckpt");
    EXPECT_EQ(bundle::Reader(out + "/ckpt").keys(),
              (std::vector<std::string>{"_CHECKPOINTABLE_OBJECT_GRAPH", "child/v/.ATTRIBUTES/VARIABLE_VALUE",
                                        "v/.ATTRIBUTES/VARIABLE_VALUE"}));
  }
  EXPECT_TRUE(root.expired()) << "the root outlived its last owner: the cycle leaks";
  EXPECT_TRUE(child.expired());
}

// A function library whose calls fan out (f_k calls f_(k-1) twice): each
// function is imported once and called as one op, so loading takes time
// linear in the functions, not in the calls (2^40 here).
TEST(SavedModelInterop, AFunctionLibraryWhoseCallsFanOutImportsEachFunctionOnce) {
  const std::string dir = tensorflow_models();
  EXPECT_EQ(check_calls(saved_model::load(dir + "/fanout10"), dir + "/fanout10.txt"), 1);  // TensorFlow's values

  tensorflow::FunctionDefLibrary lib;
  auto add_arg = [](tensorflow::OpDef* sig, const char* name, bool output) {
    auto* a = output ? sig->add_output_arg() : sig->add_input_arg();
    a->set_name(name);
    a->set_type(tensorflow::DT_FLOAT);
  };
  auto set_type = [](tensorflow::NodeDef* n) { (*n->mutable_attr())["T"].set_type(tensorflow::DT_FLOAT); };
  {  // f0(x) = x * 1.5
    auto* f = lib.add_function();
    f->mutable_signature()->set_name("f0");
    add_arg(f->mutable_signature(), "x", false);
    add_arg(f->mutable_signature(), "y", true);
    auto* c = f->add_node_def();
    c->set_name("c");
    c->set_op("Const");
    (*c->mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
    auto* v = (*c->mutable_attr())["value"].mutable_tensor();
    v->set_dtype(tensorflow::DT_FLOAT);
    v->mutable_tensor_shape();
    v->add_float_val(1.5f);
    auto* m = f->add_node_def();
    m->set_name("m");
    m->set_op("Mul");
    m->add_input("x");
    m->add_input("c:output:0");
    set_type(m);
    (*f->mutable_ret())["y"] = "m:z:0";
  }
  for (int k = 1; k <= 40; ++k) {  // f_k(x) = f_(k-1)(x) + f_(k-1)(x)
    auto* f = lib.add_function();
    f->mutable_signature()->set_name("f" + std::to_string(k));
    add_arg(f->mutable_signature(), "x", false);
    add_arg(f->mutable_signature(), "y", true);
    for (const char* name : {"a", "b"}) {
      auto* call = f->add_node_def();
      call->set_name(name);
      call->set_op("StatefulPartitionedCall");
      call->add_input("x");
      (*call->mutable_attr())["f"].mutable_func()->set_name("f" + std::to_string(k - 1));
      (*call->mutable_attr())["Tin"].mutable_list()->add_type(tensorflow::DT_FLOAT);
      (*call->mutable_attr())["Tout"].mutable_list()->add_type(tensorflow::DT_FLOAT);
    }
    auto* sum = f->add_node_def();
    sum->set_name("sum");
    sum->set_op("AddV2");
    sum->add_input("a:output:0");
    sum->add_input("b:output:0");
    set_type(sum);
    (*f->mutable_ret())["y"] = "sum:z:0";
  }
  FunctionImporter importer(lib, "fanout");
  importer.check("f40");
  ConcreteFunction deep = importer.import("f40", {TensorSpec({2}, float32, "x")}, {}, "");
  int calls = 0;
  for (const Node& n : deep.graph().nodes)
    calls += n.kind == Node::Kind::Op && (n.op->name == op_name::PartitionedCall || n.op->name == op_name::StatefulPartitionedCall);
  // Two calls of f39 (merged into one: the same stateless call of the same input), not 2^40 inlined bodies.
  EXPECT_GE(calls, 1);
  EXPECT_LE(deep.graph().nodes.size(), 4u) << deep.graph().to_string();
  // f12 calls f0 4096 times: 1.5 * 2^12 * x.
  ConcreteFunction f12 = importer.import("f12", {TensorSpec({2}, float32, "x")}, {}, "");
  EXPECT_EQ(f12.call({constant({1.f, -0.5f})})[0].to_vector<float>(), (std::vector<float>{6144.f, -3072.f}));
  // Differentiable through its calls: d/dx = 6144.
  Tensor x = constant({1.f, -0.5f});
  GradientTape tape;
  tape.watch(x);
  Tensor y = reduce_sum(f12.call({x})[0]);
  EXPECT_EQ(tape.gradient(y, x).to_vector<float>(), (std::vector<float>{6144.f, 6144.f}));
}

// Shape, Size and Rank fold to constants where the shape is known at load
// (TensorFlow folds them itself when it can, so its models rarely hold them).
TEST(SavedModelInterop, ShapeSizeAndRankFoldWhereKnownAndRunWhereNot) {
  tensorflow::FunctionDefLibrary lib;
  auto* f = lib.add_function();
  f->mutable_signature()->set_name("shapes");
  auto* arg = f->mutable_signature()->add_input_arg();
  arg->set_name("x");
  arg->set_type(tensorflow::DT_FLOAT);
  const char* ops[] = {"Shape", "Size", "Rank"};
  for (const char* op : ops) {
    auto* n = f->add_node_def();
    n->set_name(std::string("n_") + op);
    n->set_op(op);
    n->add_input("x");
    if (std::string(op) == "Size") (*n->mutable_attr())["out_type"].set_type(tensorflow::DT_INT64);
    auto* out = f->mutable_signature()->add_output_arg();
    out->set_name(std::string("out_") + op);
    (*f->mutable_ret())[out->name()] = n->name() + ":output:0";
  }
  FunctionImporter importer(lib, "test");
  importer.check("shapes");
  ConcreteFunction cf = importer.import("shapes", {TensorSpec({2, 3}, float32, "x")}, {}, "");
  std::vector<Tensor> r = cf.call({zeros({2, 3})});
  EXPECT_EQ(r[0].to_vector<int32_t>(), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(r[1].item<int64_t>(), 6);
  EXPECT_EQ(r[2].item<int32_t>(), 2);
  auto count = [](const ConcreteFunction& c, const char* op) {
    int n = 0;
    for (const Node& node : c.graph().nodes) n += node.kind == Node::Kind::Op && node.op->name == op;
    return n;
  };
  EXPECT_EQ(count(cf, "Shape") + count(cf, "Size") + count(cf, "Rank"), 0) << cf.graph().to_string();  // folded
  // Of a shape known only when it runs, they are ops that read it then.
  for (const TensorSpec& spec : {TensorSpec({-1, 3}, float32, "x"), TensorSpec(TensorShape::unknown_rank(), float32, "x")}) {
    ConcreteFunction dyn = importer.import("shapes", {spec}, {}, "");
    EXPECT_EQ(count(dyn, "Shape") + count(dyn, "Size"), 2) << dyn.graph().to_string();
    for (const TensorShape& s : {TensorShape{4, 3}, TensorShape{0, 3}}) {
      std::vector<Tensor> got = dyn.call({zeros(s)});
      EXPECT_EQ(got[0].to_vector<int32_t>(), (std::vector<int32_t>{static_cast<int32_t>(s.dim(0)), 3}));
      EXPECT_EQ(got[1].item<int64_t>(), s.num_elements());
      EXPECT_EQ(got[2].item<int32_t>(), 2);
    }
  }
}

// TensorFlow's models loaded and run on each device (the default device
// while loading places the variables; the functions run where they are).
class SavedModelDevices : public DeviceTest {};

TEST_P(SavedModelDevices, TensorFlowsModelsRunOnTheDevice) {
  const std::string dir = tensorflow_models();
  for (const char* name : {"dense", "loop", "convnet"}) {
    SCOPED_TRACE(name);
    auto loaded = saved_model::load(dir + "/" + name);
    for (const Variable& v : loaded.variables()) EXPECT_EQ(v.read_value().device(), device());
    EXPECT_GT(check_calls(loaded, dir + "/" + name + ".txt"), 0);
  }
}

EMBER_INSTANTIATE_DEVICE_TESTS(SavedModelDevices);

TEST(SavedModelInterop, AnOpEmberLacksIsUnimplementedAtLoadNamingItAndTheFunction) {
  const std::string dir = tensorflow_models();
  try {
    saved_model::load(dir + "/unknown_op");
    FAIL() << "expected Unimplemented";
  } catch (const Unimplemented& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("op BesselI0e is not one ember has"), std::string::npos) << m;
    EXPECT_NE(m.find("function '__inference_bessel_"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace ember::test

namespace ember::test {
namespace {

std::string slurp(const std::string& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void spit(const std::string& f, const std::string& s) { std::ofstream(f, std::ios::binary | std::ios::trunc) << s; }


// A copy of `from` whose saved_model.pb `edit` has changed.
std::string edited(const std::string& from, const std::string& name,
                   const std::function<void(tensorflow::SavedModel&)>& edit) {
  std::string dir = temp_dir("sm_edit_" + name) + "/model";
  fs::copy(from, dir, fs::copy_options::recursive);
  tensorflow::SavedModel model;
  EXPECT_TRUE(model.ParseFromString(slurp(dir + "/saved_model.pb")));
  edit(model);
  spit(dir + "/saved_model.pb", model.SerializeAsString());
  return dir;
}

tensorflow::FunctionDef* find_function(tensorflow::SavedModel& m, const std::string& prefix) {
  for (auto& f : *m.mutable_meta_graphs(0)->mutable_graph_def()->mutable_library()->mutable_function())
    if (f.signature().name().rfind(prefix, 0) == 0) return &f;
  ADD_FAILURE() << "no function " << prefix;
  return nullptr;
}

TEST(SavedModelBadInput, MissingAndBrokenFilesAreClearErrors) {
  std::string good = temp_dir("sm_bad") + "/model";
  saved_model::save(make_dense(), good);
  expect_error<NotFound>([&] { saved_model::load(good + "-nothing"); }, "no saved_model.pb");

  std::string no_vars = temp_dir("sm_novars") + "/model";
  fs::copy(good, no_vars, fs::copy_options::recursive);
  fs::remove(no_vars + "/variables/variables.index");
  expect_error<NotFound>([&] { saved_model::load(no_vars); }, "variables.index");

  std::string garbage = temp_dir("sm_garbage") + "/model";
  fs::copy(good, garbage, fs::copy_options::recursive);
  spit(garbage + "/saved_model.pb", "\xff\xff\xff not a proto");
  expect_error<DataLoss>([&] { saved_model::load(garbage); }, "does not parse as a SavedModel");

  std::string unknown_fn = edited(good, "unknown_fn", [](tensorflow::SavedModel& m) {
    auto* w = find_function(m, "__inference_signature_wrapper");
    if (!w) return;
    (*w->mutable_node_def(0)->mutable_attr())["f"].mutable_func()->set_name("__inference_nowhere_7");
  });
  expect_error<NotFound>([&] { saved_model::load(unknown_fn); }, "calls function '__inference_nowhere_7', which the library does not hold");

  std::string unknown_node = edited(good, "unknown_node", [](tensorflow::SavedModel& m) {
    auto* f = find_function(m, "__inference___call__");
    if (!f) return;
    for (auto& n : *f->mutable_node_def())
      if (n.op() == "Relu") n.set_input(0, "nowhere:z:0");
  });
  expect_error<NotFound>([&] { saved_model::load(unknown_node); }, "reads 'nowhere:z:0', which names no node or argument");

  std::string cycle = edited(good, "cycle", [](tensorflow::SavedModel& m) {
    auto* f = find_function(m, "__inference___call__");
    if (!f) return;
    for (auto& n : *f->mutable_node_def())
      if (n.op() == "MatMul") n.set_input(0, "Relu:activations:0");
  });
  expect_error<InvalidArgument>([&] { saved_model::load(cycle); }, "its inputs form a cycle");

  std::string not_served = edited(good, "tags", [](tensorflow::SavedModel& m) {
    m.mutable_meta_graphs(0)->mutable_meta_info_def()->set_tags(0, "train");
  });
  expect_error<NotFound>([&] { saved_model::load(not_served); }, "no MetaGraphDef tagged 'serve' (tags: 'train')");

  std::string bad_child = edited(good, "child", [](tensorflow::SavedModel& m) {
    m.mutable_meta_graphs(0)->mutable_object_graph_def()->mutable_nodes(0)->mutable_children(0)->set_node_id(99);
  });
  expect_error<DataLoss>([&] { saved_model::load(bad_child); }, "refers to object 99");

  std::string wrong_dtype = edited(good, "dtype", [](tensorflow::SavedModel& m) {
    auto* f = find_function(m, "__inference___call__");
    if (!f) return;
    f->mutable_signature()->mutable_input_arg(0)->set_type(tensorflow::DT_DOUBLE);
  });
  expect_error<InvalidArgument>([&] { saved_model::load(wrong_dtype); }, "its saved signature says");

  // Files that are not files: ember errors naming them, never std::ios_failure or std::bad_alloc.
  std::string dir_index = temp_dir("sm_dir_index") + "/model";
  fs::copy(good, dir_index, fs::copy_options::recursive);
  fs::remove(dir_index + "/variables/variables.index");
  fs::create_directory(dir_index + "/variables/variables.index");
  expect_error<FailedPrecondition>([&] { saved_model::load(dir_index); }, "variables.index");
  std::string endless = temp_dir("sm_dev_zero") + "/model";
  fs::copy(good, endless, fs::copy_options::recursive);
  fs::remove(endless + "/saved_model.pb");
  fs::create_symlink("/dev/zero", endless + "/saved_model.pb");
  expect_error<FailedPrecondition>([&] { saved_model::load(endless); }, "saved_model.pb: not a regular file");

  // Errors name the model, the function and the node.
  std::string bad_attr = edited(good, "bad_attr", [](tensorflow::SavedModel& m) {
    auto* f = find_function(m, "__inference___call__");
    if (!f) return;
    for (auto& n : *f->mutable_node_def())
      if (n.op() == "MatMul") (*n.mutable_attr())["transpose_b"].set_b(true);
  });
  try {
    saved_model::load(bad_attr);
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("[saved_model] " + bad_attr), std::string::npos) << what;
    EXPECT_NE(what.find("function '__inference___call__"), std::string::npos) << what;
    EXPECT_NE(what.find("node 'MatMul"), std::string::npos) << what;
    EXPECT_NE(what.find("[matmul] inner dimensions differ"), std::string::npos) << what;
  }
}

// A loaded function reshaping its input of unknown size to [2^30, 2^30]
// loads, and a call is refused as it runs, not a crash.
TEST(SavedModelBadInput, AHugeReshapeOfAnInputOfUnknownSizeIsRefusedWhenCalled) {
  tensorflow::FunctionDefLibrary lib;
  auto* f = lib.add_function();
  f->mutable_signature()->set_name("huge");
  auto* arg = f->mutable_signature()->add_input_arg();
  arg->set_name("x");
  arg->set_type(tensorflow::DT_FLOAT);
  auto* out = f->mutable_signature()->add_output_arg();
  out->set_name("y");
  out->set_type(tensorflow::DT_FLOAT);
  auto* c = f->add_node_def();
  c->set_name("shape");
  c->set_op("Const");
  (*c->mutable_attr())["dtype"].set_type(tensorflow::DT_INT64);
  auto* v = (*c->mutable_attr())["value"].mutable_tensor();
  v->set_dtype(tensorflow::DT_INT64);
  v->mutable_tensor_shape()->add_dim()->set_size(2);
  v->add_int64_val(int64_t{1} << 30);
  v->add_int64_val(int64_t{1} << 30);
  auto* r = f->add_node_def();
  r->set_name("reshaped");
  r->set_op("Reshape");
  r->add_input("x");
  r->add_input("shape:output:0");
  (*r->mutable_attr())["T"].set_type(tensorflow::DT_FLOAT);
  (*r->mutable_attr())["Tshape"].set_type(tensorflow::DT_INT64);
  (*f->mutable_ret())["y"] = "reshaped:output:0";
  FunctionImporter importer(lib, "huge");
  ConcreteFunction cf = importer.import("huge", {TensorSpec({-1}, float32, "x")}, {}, "");
  for (int i = 0; i < 2; ++i)
    expect_error<InvalidArgument>([&] { cf.call({constant({1.f, 2.f, 3.f})}); }, "cannot reshape a tensor of 3 elements");
}

TEST(SavedModelBadInput, SaveRefusesWhatItCannotHoldAndLeavesNothing) {
  std::string dir = temp_dir("sm_refuse");
  // A function reading a variable the root does not track.
  auto root = std::make_shared<Module>("root");
  Variable stray(constant({1.f, 2.f}), {.name = "stray"});
  auto f = function([stray](Tensor x) { return x * stray.read_value(); },
                    {.name = "f", .input_signature = std::vector<TensorSpec>{TensorSpec({2}, float32, "x")}});
  root->track("f", f);
  expect_error<InvalidArgument>([&] { saved_model::save(root, dir + "/a"); },
                                "references an 'untracked' resource: function 'f' reads variable 'stray:0'");
  EXPECT_FALSE(fs::exists(dir + "/a"));
  root->track("stray", stray);
  saved_model::save(root, dir + "/a");  // tracked now: saves
  EXPECT_TRUE(fs::exists(dir + "/a/saved_model.pb"));

  // A trace taking a variable as an argument.
  auto g = std::make_shared<Module>("g");
  Variable v = g->track("v", Variable(constant(3.f), {.name = "v"}));
  auto by_var = function([](Variable var) { return var.read_value() * 2.f; }, {.name = "by_var"});
  by_var(v);
  g->track("by_var", by_var);
  expect_error<Unimplemented>([&] { saved_model::save(g, dir + "/b"); }, "was traced with a Variable argument");

  // A hash table.
  auto h = std::make_shared<Module>("h");
  h->track("table", std::make_shared<MutableHashTable>(KeyType::Int64, float32, 0.0));
  expect_error<Unimplemented>([&] { saved_model::save(h, dir + "/c"); }, "MutableHashTable");
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename().string(), "a") << "left behind";
}

// A function of 100000 nodes in one chain imports (its order is found
// without recursion) and computes what the chain computes.
TEST(SavedModelBadInput, ALongChainOfNodesLoads) {
  std::string good = temp_dir("sm_chain") + "/model";
  auto m = make_dense();
  saved_model::save(m, good);
  std::string dir = edited(good, "chain", [](tensorflow::SavedModel& model) {
    auto* f = find_function(model, "__inference___call__");
    if (!f) return;
    std::string prev = (*f->mutable_ret())["output_0"];
    for (int i = 0; i < 100000; ++i) {
      auto* n = f->add_node_def();
      n->set_name("chain_" + std::to_string(i));
      n->set_op(i % 2 ? "Identity" : "Neg");
      n->add_input(prev);
      (*n->mutable_attr())["T"].set_type(tensorflow::DT_FLOAT);
      prev = n->name() + (i % 2 ? ":output:0" : ":y:0");
    }
    (*f->mutable_ret())["output_0"] = prev;  // an even number of negations
  });
  auto loaded = saved_model::load(dir);
  Tensor x = constant(ramp(6, 0.4f, 0.f), {2, 3});
  EXPECT_TRUE(all_close(loaded(x)[0], values(relu(matmul(x, *m->w) + *m->b)), {2, 2}, 1e-6, 1e-6));
}

// Mutations that keep saved_model.pb parseable and reach the importer: a
// node's op, an attribute's value, an input reference, an argument's dtype,
// a spec's shape or dtype, a bound input. Each load fails with an ember
// error, or loads and each call fails with an ember error or returns.
TEST(SavedModelBadInput, SemanticMutationsAreErrorsNotCrashes) {
  std::vector<std::string> ops;
  for (const OpDef* op : registered_ops()) ops.push_back(op->name);
  for (const char* op : {"If", "While", "StatefulPartitionedCall", "Identity", "Const", "NoOp", "Pad", "Shape"})
    ops.emplace_back(op);
  std::mt19937 gen(99);
  int errors = 0, ran = 0;
  for (const char* model : {"loop", "convnet", "dense"}) {
    const std::string source = tensorflow_models() + "/" + model;
    tensorflow::SavedModel good;
    ASSERT_TRUE(good.ParseFromString(slurp(source + "/saved_model.pb")));
    std::string dir = temp_dir(std::string("sm_semantic_") + model) + "/model";
    fs::copy(source, dir, fs::copy_options::recursive);
    std::vector<Tensor> inputs;
    for (const TfCall& c : read_calls(tensorflow_models() + "/" + model + ".txt"))
      if (c.function == "__call__" || c.function == "run")
        for (const auto& [k, v] : c.inputs) inputs.push_back(v);
    for (int iter = 0; iter < 150; ++iter) {  // 3000 per model with four seeds ran clean
      SCOPED_TRACE(std::string(model) + " mutation " + std::to_string(iter));
      tensorflow::SavedModel m = good;
      auto* lib = m.mutable_meta_graphs(0)->mutable_graph_def()->mutable_library();
      auto* f = lib->mutable_function(static_cast<int>(gen() % static_cast<unsigned>(lib->function_size())));
      auto* objects = m.mutable_meta_graphs(0)->mutable_object_graph_def();
      int kind = static_cast<int>(gen() % 7);
      if (f->node_def_size() == 0) kind = 3;
      auto* n = f->node_def_size() ? f->mutable_node_def(static_cast<int>(gen() % static_cast<unsigned>(f->node_def_size()))) : nullptr;
      if (kind == 0) {
        n->set_op(ops[gen() % ops.size()]);
      } else if (kind == 1 && n->attr_size() > 0) {
        auto it = n->mutable_attr()->begin();
        std::advance(it, static_cast<long>(gen() % static_cast<unsigned>(n->attr_size())));
        switch (gen() % 5) {
          case 0: it->second.set_i(static_cast<int64_t>(gen() % 7) - 3); break;
          case 1: it->second.set_type(static_cast<tensorflow::DataType>(gen() % 24)); break;
          case 2: it->second.mutable_list()->add_i(static_cast<int64_t>(gen() % 9) - 4); break;
          case 3: it->second.mutable_shape()->add_dim()->set_size(static_cast<int64_t>(gen() % 5) - 1); break;
          default: n->mutable_attr()->erase(it); break;
        }
      } else if (kind == 2 && n->input_size() > 0) {
        int k = static_cast<int>(gen() % static_cast<unsigned>(n->input_size()));
        const auto& other = f->node_def(static_cast<int>(gen() % static_cast<unsigned>(f->node_def_size())));
        n->set_input(k, other.name() + ":output:" + std::to_string(gen() % 3));
      } else if (kind == 3 && f->signature().input_arg_size() > 0) {
        f->mutable_signature()->mutable_input_arg(static_cast<int>(gen() % static_cast<unsigned>(f->signature().input_arg_size())))
            ->set_type(static_cast<tensorflow::DataType>(1 + gen() % 20));
      } else if (kind == 4 && n->op() == "Const") {
        auto* t = (*n->mutable_attr())["value"].mutable_tensor();
        t->mutable_tensor_shape()->add_dim()->set_size(static_cast<int64_t>(gen() % 4));
      } else if (kind == 5 && objects->concrete_functions_size() > 0) {
        auto it = objects->mutable_concrete_functions()->begin();
        std::advance(it, static_cast<long>(gen() % static_cast<unsigned>(objects->concrete_functions_size())));
        if (it->second.bound_inputs_size() > 0) it->second.set_bound_inputs(0, static_cast<int>(gen() % 12) - 2);
        else it->second.add_bound_inputs(static_cast<int>(gen() % 12));
      } else if (objects->concrete_functions_size() > 0) {
        auto it = objects->mutable_concrete_functions()->begin();
        std::advance(it, static_cast<long>(gen() % static_cast<unsigned>(objects->concrete_functions_size())));
        auto* args = it->second.mutable_canonicalized_input_signature();
        if (args->has_tuple_value() && args->tuple_value().values_size() > 0 && args->tuple_value().values(0).has_tuple_value() &&
            args->tuple_value().values(0).tuple_value().values_size() > 0) {
          auto* spec = args->mutable_tuple_value()->mutable_values(0)->mutable_tuple_value()->mutable_values(0)->mutable_tensor_spec_value();
          if (gen() % 2) spec->set_dtype(static_cast<tensorflow::DataType>(1 + gen() % 20));
          else spec->mutable_shape()->add_dim()->set_size(static_cast<int64_t>(gen() % 4) - 1);
        }
      }
      // A mutated loop condition or body may loop forever, as it would in
      // TensorFlow: such models are loaded, not called.
      bool loop_function = false;
      for (const auto& g : lib->function())
        for (const auto& node : g.node_def())
          for (const char* key : {"cond", "body"})
            if (node.attr().count(key) && node.attr().at(key).func().name() == f->signature().name()) loop_function = true;
      spit(dir + "/saved_model.pb", m.SerializeAsString());
      try {
        auto loaded = saved_model::load(dir);
        if (loop_function) continue;
        for (const auto& [name, dep] : loaded->dependencies())
          if (auto fn = std::dynamic_pointer_cast<saved_model::LoadedFunction>(dep)) {
            try {
              fn->call(inputs);
              ++ran;
            } catch (const Error&) {
              ++errors;
            }
          }
      } catch (const Error&) {
        ++errors;
      }
    }
  }
  EXPECT_GT(errors, 100);
  EXPECT_GT(ran, 50);
}

// Truncations and random mutations of saved_model.pb and the variables:
// each load fails with an ember error or succeeds and computes what the
// model computes; nothing crashes.
TEST(SavedModelBadInput, MutatedModelsAreRefusedOrLoadWhole) {
  std::string good = temp_dir("sm_fuzz") + "/model";
  auto m = make_dense();
  saved_model::save(m, good);
  Tensor x = constant(ramp(6, 0.4f, 0.f), {2, 3});
  std::vector<double> want = values(relu(matmul(x, *m->w) + *m->b));
  const std::string pb = slurp(good + "/saved_model.pb"), index = slurp(good + "/variables/variables.index");
  std::string dir = temp_dir("sm_fuzz_work") + "/model";
  fs::copy(good, dir, fs::copy_options::recursive);
  std::mt19937 gen(4321);
  int errors = 0, loaded_ok = 0;
  for (int iter = 0; iter < 400; ++iter) {
    SCOPED_TRACE("mutation " + std::to_string(iter));
    std::string p = pb, idx = index;
    std::string& victim = iter % 4 == 3 ? idx : p;
    int kind = static_cast<int>(gen() % 4);
    if (kind == 0) {
      victim.resize(gen() % victim.size());
    } else if (kind == 1) {
      for (int k = 0; k < 1 + static_cast<int>(gen() % 4); ++k) victim[gen() % victim.size()] ^= static_cast<char>(1 << (gen() % 8));
    } else if (kind == 2) {
      size_t at = gen() % victim.size();
      for (size_t k = at; k < std::min(victim.size(), at + 8); ++k) victim[k] = static_cast<char>(gen());
    } else {
      size_t at = gen() % victim.size();
      victim.insert(at, victim.substr(at, gen() % 16));
    }
    spit(dir + "/saved_model.pb", p);
    spit(dir + "/variables/variables.index", idx);
    try {
      auto loaded = saved_model::load(dir);
      std::vector<Tensor> y = loaded(x);
      ++loaded_ok;
      // A mutation that loads may still have changed what the model computes
      // (a flipped bit in a constant); the call itself must be sound.
      EXPECT_EQ(y.size(), 1u);
      if (p == pb && idx == index) {
        EXPECT_TRUE(all_close(y[0], want, TensorShape{2, 2}, 1e-6, 1e-6));
      }
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 200);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ember::test

namespace ember::test {
namespace {

TEST(Npy, ReadsNumPysFileAndWritesWhatItReadsBack) {
  // x.npy was written by NumPy (tests/tf/make_saved_models.py): sin(0.7·i + 0.3), float32, (4, 3).
  Tensor x = npy::read(data_dir() + "/tf_saved_models/x.npy");
  ASSERT_EQ(x.dtype(), float32);
  ASSERT_EQ(x.shape(), TensorShape({4, 3}));
  std::vector<double> want;
  for (int i = 0; i < 12; ++i) want.push_back(static_cast<float>(std::sin(i * 0.7 + 0.3)));
  EXPECT_TRUE(all_close(x, want, {4, 3}, 1e-7, 0));
  std::string dir = temp_dir("npy");
  for (const Tensor& t : {constant({{1., 2.}, {3., 4.}}), constant({7}), constant(int64_t{-3}),
                          cast(constant({1, 0, 1}), bool_), Tensor::empty({0, 3}, float32, Device::cpu()),
                          Tensor::empty({3, 0}, int32, Device::cpu()), Tensor::empty({1, 2, 0}, float64, Device::cpu())}) {
    npy::write(dir + "/t.npy", t);
    Tensor back = npy::read(dir + "/t.npy");
    EXPECT_EQ(back.dtype(), t.dtype());
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(values(back), values(t));
  }
  EXPECT_THROW(npy::parse("not numpy", "bad"), DataLoss);
  std::string good(std::istreambuf_iterator<char>(std::ifstream(data_dir() + "/tf_saved_models/x.npy", std::ios::binary).rdbuf()), {});
  EXPECT_THROW(npy::parse(good.substr(0, good.size() - 4), "short"), DataLoss);
  EXPECT_THROW(npy::read(dir + "/missing.npy"), NotFound);
  // A header claiming more than the file holds, in any way, is DataLoss, never an allocation.
  std::string huge = good;
  size_t at = huge.find("(4, 3)");
  ASSERT_NE(at, std::string::npos);
  huge.replace(at, 6, "(999999999999999, 999999999999999)");
  EXPECT_THROW(npy::parse(huge, "huge"), DataLoss);
  std::mt19937 gen(5);
  for (int i = 0; i < 500; ++i) {
    std::string b = good;
    for (int k = 0; k < 3; ++k) b[gen() % 128] = static_cast<char>(gen());
    if (i % 3 == 0) b.resize(gen() % b.size());
    try {
      Tensor t = npy::parse(b, "mutated");
      EXPECT_LE(t.nbytes(), b.size());
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace ember::test

namespace ember::test {
namespace {

// A loaded model trains: the tape differentiates its function with respect
// to its variables (the imported graph's gradient, as for any trace).
TEST(SavedModelTest, ALoadedFunctionIsDifferentiableInItsVariables) {
  std::string dir = temp_dir("sm_grad") + "/model";
  auto m = make_dense();
  saved_model::save(m, dir);
  auto loaded = saved_model::load(dir);
  Variable w = loaded->variable("w"), b = loaded->variable("b");
  Tensor x = constant(ramp(12, 0.8f, 0.3f), {4, 3});
  GradientTape tape;
  Tensor loss = reduce_sum(loaded(x)[0]);
  auto grads = tape.gradient(loss, std::vector<Variable>{w, b});
  // d/dw sum(relu(xw + b)) = xᵀ·mask, d/db = column sums of the mask (float64 reference).
  std::vector<double> xv = values(x), wv = values(w.read_value()), bv = values(b.read_value());
  std::vector<double> dw(6, 0.0), db(2, 0.0);
  for (size_t r = 0; r < 4; ++r)
    for (size_t j = 0; j < 2; ++j) {
      double s = bv[j];
      for (size_t k = 0; k < 3; ++k) s += xv[r * 3 + k] * wv[k * 2 + j];
      if (s <= 0) continue;
      db[j] += 1;
      for (size_t k = 0; k < 3; ++k) dw[k * 2 + j] += xv[r * 3 + k];
    }
  ASSERT_EQ(grads.size(), 2u);
  EXPECT_TRUE(all_close(grads[0], dw, {3, 2}, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(grads[1], db, {2}, 1e-6, 1e-6));
}

// A loaded model saves again (its signatures anew) and loads the same.
TEST(SavedModelTest, ALoadedModelSavesAgain) {
  std::string dir = temp_dir("sm_resave");
  auto m = make_dense();
  saved_model::save(m, dir + "/a");
  auto first = saved_model::load(dir + "/a");
  first->variable("b").assign(constant({1.f, -1.f}));
  saved_model::save(first.root(), dir + "/b");
  auto second = saved_model::load(dir + "/b");
  Tensor x = constant(ramp(9, 0.5f, 0.1f), {3, 3});
  EXPECT_TRUE(all_close(second(x)[0], dense_reference(values(x), values(m->w->read_value()), {1, -1}), {3, 2}, 1e-6, 1e-6));
  EXPECT_EQ(values(second->variable("b").read_value()), (std::vector<double>{1, -1}));
  EXPECT_EQ(second.signatures().size(), 1u);  // the one function's one trace: serving_default again
  // TensorFlow's model saves again too, its traces recorded once each.
  auto tf_model = saved_model::load(tensorflow_models() + "/dense");
  saved_model::save(tf_model.root(), dir + "/c");
  auto third = saved_model::load(dir + "/c");
  EXPECT_EQ(third.function("stats").dependencies().size(), 2u);  // trace_0, trace_1
  EXPECT_EQ(check_calls(third, tensorflow_models() + "/dense.txt"), 8);  // serving_default kept
  check_in_tensorflow(dir + "/c", tensorflow_models() + "/dense.txt", 8, 1);  // and TensorFlow loads ember's copy
}

}  // namespace
}  // namespace ember::test
