// Trackable, Module, MutableHashTable and Checkpoint: the format's bytes
// against FORMATS.md, TensorFlow's own checkpoint restored into ember
// objects, ember's checkpoint read by TensorFlow (where Python with
// TensorFlow is present), restore-on-creation, the manager, bad input, and
// a mutation fuzz loop over a valid checkpoint.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "serialization/bundle.h"
#include "serialization/crc32c.h"
#include "serialization/table.h"
#include "test_util.h"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

std::string hex(const std::string& s) {
  std::string out;
  char b[4];
  for (unsigned char c : s) {
    std::snprintf(b, sizeof b, "%02X ", c);
    out += b;
  }
  if (!out.empty()) out.pop_back();
  return out;
}

// ---- the format's pieces ------------------------------------------------------------------

TEST(Crc32c, KnownValuesAndMasking) {
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::value(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c::value(std::string("123456789")), 0xE3069283u);  // the standard check value
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::value(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c::mask(0), 0xA282EAD8u);
  for (uint32_t v : {0u, 1u, 0x8A9136AAu, 0xFFFFFFFFu})
    EXPECT_EQ(crc32c::unmask(crc32c::mask(v)), v);
  // Extending in pieces equals one pass.
  std::string s = "hello, tensor bundle";
  EXPECT_EQ(crc32c::extend(crc32c::value(s.substr(0, 7)), s.data() + 7, s.size() - 7),
            crc32c::value(s));
}

TEST(Table, RoundTripAcrossManyBlocksAndDetectsCorruption) {
  table::Builder b(/*block_size=*/256, /*restart_interval=*/4);
  std::vector<std::pair<std::string, std::string>> want;
  for (int i = 0; i < 500; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "key/%05d", i);
    want.emplace_back(key,
                      std::string(static_cast<size_t>(i % 17), static_cast<char>('a' + i % 26)));
  }
  for (auto& [k, v] : want) b.add(k, v);
  std::string file = b.finish();
  EXPECT_EQ(hex(file.substr(file.size() - 8)), "57 FB 80 8B 24 75 47 DB");
  EXPECT_EQ(table::read_all(file, "mem"), want);
  EXPECT_THROW(b.add("a", "b"), Internal);
  std::string bad = file;
  bad[100] ^= 1;
  try {
    table::read_all(bad, "mem");
    FAIL();
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("block checksum mismatch"), std::string::npos) << e.what();
  }
  bad = file;
  bad[bad.size() - 1] ^= 1;
  EXPECT_THROW(table::read_all(bad, "mem"), DataLoss);
  EXPECT_THROW(table::read_all(file.substr(0, 20), "mem"), DataLoss);
  // An empty table still has an (empty) index block.
  table::Builder empty;
  EXPECT_TRUE(table::read_all(empty.finish(), "mem").empty());
}

TEST(Bundle, HeaderAndEntryBytesMatchTensorFlow) {
  std::string dir = temp_dir("bytes");
  {
    bundle::Writer w(dir + "/b");
    SavedTensor first;
    first.dtype = float32;
    first.shape = {3};
    first.bytes.assign(12, '\0');
    w.add("a", first);
    SavedTensor t;
    t.dtype = float32;
    t.shape = {5, 10};
    t.bytes.assign(200, '\x01');
    w.add("b", t);
    w.finish();
  }
  std::ifstream in(dir + "/b.index", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto entries = table::read_all(bytes, "b.index");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].first, "");
  EXPECT_EQ(hex(entries[0].second), "08 01 1A 02 08 01");
  std::string crc(4, '\0');
  uint32_t c = crc32c::mask(crc32c::value(std::string(200, '\x01')));
  std::memcpy(crc.data(), &c, 4);
  EXPECT_EQ(hex(entries[2].second),
            "08 01 12 08 12 02 08 05 12 02 08 0A 20 0C 28 C8 01 35 " + hex(crc));
  fs::remove_all(dir);
}

// read() is const and opens its data file on first use: threads reading
// one fresh Reader together open it once (a race opened it per thread and
// leaked all but one descriptor).
TEST(Bundle, ThreadsReadingOneReaderOpenTheDataFileOnce) {
  std::string dir = temp_dir("threads");
  SavedTensor t;
  t.dtype = float32;
  t.shape = {4};
  t.bytes.assign(16, '\x02');
  {
    bundle::Writer w(dir + "/t");
    for (int k = 0; k < 8; ++k) w.add("k" + std::to_string(k), t);
    w.finish();
  }
  auto open_fds = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{});
  };
  const auto before = open_fds();
  for (int round = 0; round < 100; ++round) {
    bundle::Reader r(dir + "/t");
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
      threads.emplace_back([&, k] {
        ready.fetch_add(1);
        while (ready.load() < 4) std::this_thread::yield();
        EXPECT_EQ(r.read("k" + std::to_string(k)).bytes, t.bytes);
      });
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(open_fds(), before);
  fs::remove_all(dir);
}

TEST(Bundle, NumericAndStringTensorsRoundTrip) {
  std::string dir = temp_dir("roundtrip");
  SavedTensor num;
  num.dtype = int64;
  num.shape = {2, 2};
  std::vector<int64_t> v = {1, -2, 3, 1LL << 40};
  num.bytes.assign(reinterpret_cast<const char*>(v.data()), 32);
  SavedTensor str;
  str.is_string = true;
  str.shape = {3};
  str.strings = {"", "a.b/c", std::string(300, 'x')};
  SavedTensor empty;
  empty.is_string = true;
  empty.shape = {0};
  {
    bundle::Writer w(dir + "/c");
    w.add("z/num", num);
    w.add("a/str", str);
    w.add("m/empty", empty);
    w.finish();
  }
  bundle::Reader r(dir + "/c");
  EXPECT_EQ(r.keys(), (std::vector<std::string>{"a/str", "m/empty", "z/num"}));
  EXPECT_EQ(r.read("z/num").bytes, num.bytes);
  EXPECT_EQ(r.read("a/str").strings, str.strings);
  EXPECT_EQ(r.entry("m/empty").size, 4u);  // the checksum alone
  EXPECT_TRUE(r.read("m/empty").strings.empty());
  try {
    r.read("nope");
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("Key nope not found in checkpoint"), std::string::npos);
  }
  EXPECT_THROW(bundle::Reader(dir + "/missing"), NotFound);
  fs::remove_all(dir);
}

// ---- Trackable and Module -----------------------------------------------------------------------

TEST(Trackable, DependenciesAreOwnedAndOrdered) {
  auto x = std::make_shared<Trackable>();
  auto y = std::make_shared<Trackable>();
  x->track("ccc", y);
  EXPECT_EQ(x->lookup_dependency("ccc"), y);
  y.reset();
  EXPECT_TRUE(x->lookup_dependency("ccc"));  // the parent keeps it alive
  EXPECT_FALSE(x->lookup_dependency("nope"));
  Variable v(constant(1.f));
  x->track("vvv", v);
  ASSERT_EQ(x->dependencies().size(), 2u);
  EXPECT_EQ(x->dependencies()[0].first, "ccc");
  EXPECT_EQ(x->dependencies()[1].first, "vvv");
  EXPECT_EQ(trackable_of(v), trackable_of(v));  // one node per variable
  auto saveables = trackable_of(v)->saveables();
  ASSERT_EQ(saveables.size(), 1u);
  EXPECT_EQ(saveables.begin()->first, "VARIABLE_VALUE");
  EXPECT_TRUE(x->saveables().empty());
  auto z = std::make_shared<Trackable>();
  x->track("ccc", z);  // rebinding keeps the place in the order
  EXPECT_EQ(x->dependencies()[0].second, z);
}

struct Dense : Module {
  using Module::Module;
  Tracked<Variable> w{this, "w"};
  Tracked<Variable> b{this, "b"};
  void build() {
    auto s = name_scope();
    b = Variable(zeros({2}), {.name = "b"});
    w = Variable(ones({3, 2}), {.name = "w"});
  }
};

TEST(Trackable, TrackReturnsTheChildWithItsType) {
  auto root = std::make_shared<Trackable>();
  std::shared_ptr<Module> dense = root->track("dense", std::make_shared<Module>("dense"));
  EXPECT_EQ(root->lookup_dependency("dense"), dense);
  EXPECT_EQ(dense->name(), "dense");
  Variable v(constant({1.f}));
  EXPECT_EQ(root->track("v", v).handle().id(), v.handle().id());
  EXPECT_EQ(root->lookup_dependency("v"), trackable_of(v));
}

struct DenseLayer : Module {};
struct MLPBlock : Module {};
namespace nested {
template <typename T>
struct ConvLayer2D : Module {};
}  // namespace nested

// A module made without a name takes its class's name in snake_case, as tf.Module.
TEST(ModuleTest, DefaultNamesComeFromTheClass) {
  EXPECT_EQ(std::make_shared<DenseLayer>()->name(), "dense_layer");
  EXPECT_EQ(std::make_shared<MLPBlock>()->name(), "mlp_block");
  EXPECT_EQ(std::make_shared<nested::ConvLayer2D<float>>()->name(), "conv_layer2_d");
  EXPECT_EQ(Module().name(), "module");
  EXPECT_EQ(camel_to_snake("HTTPServer2Go"), "http_server2_go");
  auto d = std::make_shared<DenseLayer>();
  Variable w = d->with_name_scope([] { return Variable(1.f, {.name = "w"}); });
  EXPECT_EQ(w.name(), "dense_layer/w:0");
}

TEST(ModuleTest, NamesScopesVariablesAndSubmodules) {
  auto dense = std::make_shared<Dense>("dense");
  EXPECT_EQ(dense->name(), "dense");
  EXPECT_EQ(dense->scope_name(), "dense/");
  dense->build();
  EXPECT_EQ(dense->w->name(), "dense/w:0");
  auto vars = dense->variables();
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0].name(), "dense/b:0");  // attribute name order, not creation order
  EXPECT_EQ(vars[1].name(), "dense/w:0");
  Variable made = dense->with_name_scope([] { return Variable(constant(1.f), {.name = "ahaha"}); });
  EXPECT_EQ(made.name(), "dense/ahaha:0");
  {
    NameScope outer("outer");
    Module inner_scoped("m");
    EXPECT_EQ(inner_scoped.scope_name(), "outer/m/");
  }
  auto top = std::make_shared<Module>("top");
  auto a = std::make_shared<Module>("a");
  auto b = std::make_shared<Module>("b");
  auto c = std::make_shared<Module>("c");
  top->track("z_child", b);
  top->track("a_child", a);
  a->track("deep", c);
  top->track("x", trackable_of(Variable(constant(1.f), {.name = "x", .trainable = false})));
  a->track("y", trackable_of(Variable(constant(2.f), {.name = "y"})));
  auto subs = top->submodules();
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs[0], a);  // tf.Module order: own attributes by name, then depth first
  EXPECT_EQ(subs[1], b);
  EXPECT_EQ(subs[2], c);
  auto all = top->variables();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name(), "x:0");
  EXPECT_EQ(all[1].name(), "y:0");
  auto trainable = top->trainable_variables();
  ASSERT_EQ(trainable.size(), 1u);
  EXPECT_EQ(trainable[0].name(), "y:0");
  EXPECT_THROW(Module("bad name!"), InvalidArgument);
}

TEST(HashTable, InsertLookupRemoveExport) {
  MutableHashTable t(KeyType::String, int64, -1);
  t.insert({"a", "b"}, constant(std::vector<int64_t>{1, 2}));
  EXPECT_EQ(t.lookup({"b", "zz", "a"}).to_vector<int64_t>(), (std::vector<int64_t>{2, -1, 1}));
  t.insert({"a"}, constant(std::vector<int64_t>{5}));
  EXPECT_EQ(t.size(), 2);
  t.remove({"b"});
  EXPECT_EQ(t.size(), 1);
  auto [keys, values] = t.export_strings();
  EXPECT_EQ(keys, std::vector<std::string>{"a"});
  EXPECT_EQ(values.to_vector<int64_t>(), std::vector<int64_t>{5});
  MutableHashTable f(KeyType::Int64, float64, 0.5);
  f.insert(constant(std::vector<int64_t>{3, 4}), constant({1.0, 2.0}, float64));
  EXPECT_EQ(f.lookup(constant(std::vector<int64_t>{4, 9})).to_vector<double>(),
            (std::vector<double>{2.0, 0.5}));
  EXPECT_THROW(f.insert(constant(std::vector<int64_t>{1}), constant({1.f})), InvalidArgument);
  EXPECT_THROW(f.insert({"x"}, constant({1.0}, float64)), InvalidArgument);
  EXPECT_THROW(MutableHashTable(KeyType::Int64, int32, 0), InvalidArgument);
}

// ---- the API.md example: restore-on-creation
// ------------------------------------------------------

struct MyModule : Module {
  using Module::Module;
  Tracked<Variable> w{this, "w"};
  void assign(const Tensor& init) {
    auto s = name_scope();
    w = Variable(init);
  }
  void operate(const Tensor& v) { w->assign_add(v); }
};

// int64 values are held exactly, beyond 2^53 and up to INT64_MAX/MIN, in the
// table and through a checkpoint.
TEST(HashTable, Int64ValuesAreExact) {
  std::string dir = temp_dir("table_exact");
  const std::vector<int64_t> big = {(int64_t{1} << 53) + 1, std::numeric_limits<int64_t>::max(),
                                    std::numeric_limits<int64_t>::min(), -((int64_t{1} << 60) + 7)};
  auto t = std::make_shared<MutableHashTable>(KeyType::Int64, int64, -1);
  t->insert(constant(std::vector<int64_t>{1, 2, 3, 4}), constant(big));
  EXPECT_EQ(t->lookup(constant(std::vector<int64_t>{1, 2, 3, 4, 5})).to_vector<int64_t>(),
            (std::vector<int64_t>{big[0], big[1], big[2], big[3], -1}));
  std::string path = Checkpoint({{"t", t}}).save(dir + "/ckpt");
  auto back = std::make_shared<MutableHashTable>(KeyType::Int64, int64, -1);
  Checkpoint({{"t", back}}).restore(path).assert_consumed();
  EXPECT_EQ(back->lookup(constant(std::vector<int64_t>{1, 2, 3, 4})).to_vector<int64_t>(), big);
  fs::remove_all(dir);
}

TEST(CheckpointTest, RestoreOnCreation) {
  std::string dir = temp_dir("on_creation");
  auto m = std::make_shared<MyModule>("test");
  m->assign(constant({1.f, 2.f, 3.f}));
  m->operate(constant({1.f, 1.f, 1.f}));
  EXPECT_EQ(m->w->name(), "test/Variable:0");
  std::string path = Checkpoint({{"module", m}}).save(dir + "/ckpt.save.test");
  EXPECT_EQ(path, dir + "/ckpt.save.test-1");
  EXPECT_EQ(latest_checkpoint(dir), path);

  auto fresh = std::make_shared<MyModule>("test");
  Checkpoint ckpt({{"module", fresh}});
  auto status = ckpt.restore(latest_checkpoint(dir));
  EXPECT_FALSE(fresh->w);                                      // nothing to restore into yet
  EXPECT_THROW(status.assert_consumed(), FailedPrecondition);  // w's value still waits
  fresh->assign(constant({1.f, 1.f, 1.f}));                    // created now: takes the saved value
  EXPECT_EQ(fresh->w->read_value().to_vector<float>(), (std::vector<float>{2, 3, 4}));
  status.assert_consumed();
  status.assert_nontrivial_match();
  EXPECT_EQ(ckpt.save_counter().read_value().item<int64_t>(), 1);
  fs::remove_all(dir);
}

// Variables a traced function creates (a layer built on its first call, an
// optimizer's slots made at its first step) take the restored values: the
// restore assigns them when they are made, outside the trace, which is
// then discarded and traced again (TensorFlow's restore-on-creation).
TEST(CheckpointTest, RestoreOnCreationHoldsForVariablesMadeWhileTracing) {
  std::string dir = temp_dir("traced_creation");
  auto make = [] {
    auto model = std::make_shared<layers::Dense>(3, layers::DenseOptions{.name = "dense"});
    auto opt = std::make_shared<optimizers::Adam>(0.1);
    return std::make_pair(model, opt);
  };
  Tensor x = constant({{1.f, -2.f}, {0.5f, 3.f}});
  auto step_of = [&](std::shared_ptr<layers::Dense> model, std::shared_ptr<optimizers::Adam> opt) {
    return function([model, opt](Tensor in) {
      GradientTape tape;
      Tensor loss = reduce_sum(square((*model)(in)));
      auto vars = model->trainable_variables();
      opt->apply(tape.gradient(loss, vars), vars);
      return loss;
    });
  };
  auto [m1, o1] = make();
  auto step1 = step_of(m1, o1);
  for (int i = 0; i < 3; ++i) step1(x);
  std::string path = Checkpoint({{"model", m1}, {"optimizer", o1}}).save(dir + "/ckpt");
  Tensor next_loss = step1(x);  // what the fourth step gives

  auto [m2, o2] = make();
  auto status = Checkpoint({{"model", m2}, {"optimizer", o2}}).restore(path);
  auto step2 = step_of(m2, o2);
  Tensor resumed_loss = step2(x);  // builds the layer and the slots inside the trace
  EXPECT_EQ(resumed_loss.item<float>(), next_loss.item<float>());
  EXPECT_EQ(m2->kernel.read_value().to_vector<float>(), m1->kernel.read_value().to_vector<float>());
  EXPECT_EQ(o2->iterations().read_value().item<int64_t>(), 4);
  status.assert_consumed();
  fs::remove_all(dir);
}

// Checkpoint::write inside a traced function (tf.function's SaveV2 node):
// nothing is written while tracing; each run of the trace writes the values
// the objects hold at that point of the run; a training step that checkpoints
// itself resumes exactly. save, a manager's save and restore are refused
// there, save with TensorFlow's text (TensorFlow 2.21 raises for all three).
TEST(CheckpointTest, ATracedFunctionWritesACheckpointEachTimeItRuns) {
  std::string dir = temp_dir("traced_write");
  Variable v(constant({1.f, 2.f}), {.name = "v"});
  Variable w(constant(int64_t{3}), {.name = "w"});
  Checkpoint ckpt({{"v", trackable_of(v)}, {"w", trackable_of(w)}});
  const std::string path = dir + "/in_function";
  auto step = function([&](Tensor x) {
    v.assign_add(x);
    EXPECT_EQ(ckpt.write(path), path);
    v.assign_add(x);
    return v.read_value();
  });
  step.get_concrete_function(TensorSpec({2}, float32));
  EXPECT_FALSE(fs::exists(path + ".index")) << "written while tracing";

  auto written = [&] {
    Variable rv(constant({0.f, 0.f})), rw(constant(int64_t{0}));
    Checkpoint({{"v", trackable_of(rv)}, {"w", trackable_of(rw)}}).read(path).assert_consumed();
    return std::make_pair(rv.read_value().to_vector<float>(), rw.read_value().item<int64_t>());
  };
  EXPECT_EQ(step(constant({1.f, 1.f})).to_vector<float>(), (std::vector<float>{3, 4}));
  EXPECT_EQ(written(), std::make_pair(std::vector<float>{2, 3}, int64_t{3}));
  w.assign(constant(int64_t{7}));
  EXPECT_EQ(step(constant({10.f, 10.f})).to_vector<float>(), (std::vector<float>{23, 24}));
  EXPECT_EQ(written(), std::make_pair(std::vector<float>{13, 14}, int64_t{7}));
  EXPECT_EQ(step.tracing_count(), 1);
  bundle::Reader reader(path);
  EXPECT_FALSE(reader.contains("save_counter/.ATTRIBUTES/VARIABLE_VALUE"));  // write makes no counter

  // No TensorFlow form yet: a SavedModel of it is refused, naming the write, and leaves nothing.
  auto holder = std::make_shared<Module>("holder");
  holder->track("v", v);
  holder->track("step", step);
  try {
    saved_model::save(holder, dir + "/model");
    ADD_FAILURE() << "saved";
  } catch (const Unimplemented& e) {
    EXPECT_NE(std::string(e.what()).find("Checkpoint.write('" + path + "')"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/model"));

  // Asynchronous writes inside a trace are synchronous, as in TensorFlow.
  auto async_step = function([&] { ckpt.write(dir + "/async", {.enable_async = true}); });
  async_step();
  EXPECT_TRUE(fs::exists(dir + "/async.index"));

  auto refused = [](const std::function<void()>& body, const std::string& text) {
    auto f = function(body);
    try {
      f();
      ADD_FAILURE() << "no error; wanted " << text;
    } catch (const Unimplemented& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  refused([&] { ckpt.save(dir + "/saved"); },
          "Calling tf.train.Checkpoint.save() from a function is not supported, as save() modifies saving "
          "metadata in ways not supported by TensorFlow Operations. Consider using tf.train.Checkpoint.write()");
  CheckpointManager manager(ckpt, dir + "/managed", 2);
  refused([&] { manager.save(); }, "[CheckpointManager] save inside a traced function is not supported");
  refused([&] { ckpt.restore(path); }, "[Checkpoint] restore inside a traced function is not supported");
  refused([&] { ckpt.read(path); }, "[Checkpoint] read inside a traced function is not supported");
  EXPECT_FALSE(fs::exists(dir + "/saved-1.index"));
  EXPECT_EQ(latest_checkpoint(dir + "/managed"), "");
  fs::remove_all(dir);
}

// A traced training step that checkpoints the model and optimizer after its
// update: the checkpoint of the Nth call restores into fresh objects whose
// next step equals the uninterrupted run's, and TensorFlow restores it.
TEST(CheckpointTest, ATracedTrainingStepThatCheckpointsItselfResumesExactly) {
  std::string dir = temp_dir("traced_step_write");
  const std::string path = dir + "/step";
  Tensor x = constant({{1.f, -2.f}, {0.5f, 3.f}});
  auto make = [] {
    return std::make_pair(std::make_shared<layers::Dense>(
                              3, layers::DenseOptions{.kernel_initializer = std::make_shared<initializers::GlorotUniform>(5),
                                                      .name = "dense"}),
                          std::make_shared<optimizers::Adam>(0.1));
  };
  auto [m1, o1] = make();
  Checkpoint ckpt({{"model", m1}, {"optimizer", o1}});
  auto step1 = function([&, m1 = m1, o1 = o1](Tensor in) {
    GradientTape tape;
    Tensor loss = reduce_sum(square((*m1)(in)));
    auto vars = m1->trainable_variables();
    o1->apply(tape.gradient(loss, vars), vars);
    ckpt.write(path);
    return loss;
  });
  for (int i = 0; i < 5; ++i) step1(x);  // the checkpoint holds the state after five steps

  auto [m2, o2] = make();
  m2->build(TensorShape{2, 2});
  Checkpoint({{"model", m2}, {"optimizer", o2}}).restore(path);
  auto step2 = function([m2 = m2, o2 = o2](Tensor in) {
    GradientTape tape;
    Tensor loss = reduce_sum(square((*m2)(in)));
    auto vars = m2->trainable_variables();
    o2->apply(tape.gradient(loss, vars), vars);
    return loss;
  });
  Tensor resumed = step2(x);  // (Adam's slots are made, and restored, here)
  Tensor sixth = step1(x);    // now the checkpoint holds six steps
  EXPECT_EQ(resumed.item<float>(), sixth.item<float>());
  EXPECT_EQ(m2->kernel.read_value().to_vector<float>(), m1->kernel.read_value().to_vector<float>());
  EXPECT_EQ(o2->iterations().read_value().item<int64_t>(), 6);

  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string text;
  int rc = run_python(python, data_dir() + "/../tf/check_traced_write.py", path + " 6", text);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("OK 6"), std::string::npos) << text;
  fs::remove_all(dir);
}

// One object reachable by two paths: creating it under either path consumes
// it (TensorFlow counts pending restorations per object, not per path).
TEST(CheckpointTest, RestoreOnCreationCountsObjectsNotPaths) {
  std::string dir = temp_dir("two_paths");
  auto root = std::make_shared<Trackable>();
  auto child = std::make_shared<Trackable>();
  Variable v(constant({1.f, 2.f}));
  child->track("v", v);
  root->track("a", child);
  root->track("b", child);
  std::string path = Checkpoint({{"root", root}}).save(dir + "/ckpt");

  auto fresh = std::make_shared<Trackable>();
  auto status = Checkpoint({{"root", fresh}}).restore(path);
  auto fresh_child = std::make_shared<Trackable>();
  Variable w(zeros({2}));
  fresh_child->track("v", w);
  fresh->track("a", fresh_child);  // "b" is never created
  EXPECT_EQ(w.read_value().to_vector<float>(), (std::vector<float>{1.f, 2.f}));
  EXPECT_NO_THROW(status.assert_consumed());
  fs::remove_all(dir);
}

TEST(CheckpointTest, SaveNumbersAndWrite) {
  std::string dir = temp_dir("numbers");
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(1.0, float64));
  Checkpoint c({{"model", m}});
  EXPECT_EQ(c.save(dir + "/model.ckpt"), dir + "/model.ckpt-1");
  EXPECT_EQ(c.save(dir + "/model.ckpt"), dir + "/model.ckpt-2");
  EXPECT_TRUE(fs::exists(dir + "/model.ckpt-2.index"));
  EXPECT_TRUE(fs::exists(dir + "/model.ckpt-2.data-00000-of-00001"));
  EXPECT_EQ(latest_checkpoint(dir), dir + "/model.ckpt-2");
  std::ifstream state(dir + "/checkpoint");
  std::string first;
  std::getline(state, first);
  EXPECT_EQ(first, "model_checkpoint_path: \"model.ckpt-2\"");
  EXPECT_EQ(c.write(dir + "/plain"), dir + "/plain");
  EXPECT_EQ(latest_checkpoint(dir), dir + "/model.ckpt-2");  // write() leaves the state file alone
  EXPECT_EQ(latest_checkpoint(dir + "/nowhere"), "");
  for (auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().string().find("tempstate"), std::string::npos)
        << "temporary file left: " << e.path();
  EXPECT_THROW(Checkpoint({}).restore("").assert_consumed(), FailedPrecondition);
  fs::remove_all(dir);
}

TEST(CheckpointTest, ManagerKeepsTheNewest) {
  std::string dir = temp_dir("manager");
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(0.0, float64));
  Checkpoint c({{"model", m}});
  {
    CheckpointManager mgr(c, dir, 2);
    for (int i = 0; i < 4; ++i) {
      m->operate(constant(1.0, float64));
      mgr.save();
    }
    EXPECT_EQ(mgr.checkpoints(), (std::vector<std::string>{dir + "/ckpt-3", dir + "/ckpt-4"}));
    EXPECT_FALSE(fs::exists(dir + "/ckpt-1.index"));
    EXPECT_FALSE(fs::exists(dir + "/ckpt-2.data-00000-of-00001"));
    EXPECT_EQ(latest_checkpoint(dir), dir + "/ckpt-4");
  }
  CheckpointManager again(c, dir, 2);  // recovers its list from the state file
  EXPECT_EQ(again.checkpoints().size(), 2u);
  auto fresh = std::make_shared<MyModule>("m");
  fresh->assign(constant(0.0, float64));
  Checkpoint(CheckpointRoots{{"model", fresh}})
      .restore(again.latest_checkpoint())
      .assert_consumed();
  EXPECT_EQ(fresh->w->read_value().item<double>(), 4.0);
  fs::remove_all(dir);
}

std::vector<std::string> index_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".index") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A manager never deletes what it does not manage (each case checked on
// TensorFlow 2.21 with the same calls): its constructor deletes nothing;
// entries of a state file without timestamps (Checkpoint::save's) are not
// its own; what keep_checkpoint_every_n_hours preserved stays for every
// later manager too.
TEST(CheckpointTest, AManagerNeverDeletesCheckpointsItDoesNotManage) {
  std::string dir = temp_dir("unmanaged");
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(1.0, float64));
  {
    Checkpoint c({{"model", m}});
    for (int i = 0; i < 3; ++i) c.save(dir + "/a/ckpt");
    // Checkpoint::save writes the state file's two paths alone, as TensorFlow.
    EXPECT_EQ(slurp_file(dir + "/a/checkpoint"),
              "model_checkpoint_path: \"ckpt-3\"\nall_model_checkpoint_paths: \"ckpt-3\"\n");
    CheckpointManager mgr(c, dir + "/a", 5);
    EXPECT_EQ(index_files(dir + "/a"), (std::vector<std::string>{"ckpt-1.index", "ckpt-2.index", "ckpt-3.index"}));
    EXPECT_TRUE(mgr.checkpoints().empty());
    EXPECT_EQ(mgr.latest_checkpoint(), dir + "/a/ckpt-3");
  }
  {
    Checkpoint c({{"model", m}});
    for (int i = 0; i < 2; ++i) c.save(dir + "/b/other");
    CheckpointManager mgr(c, dir + "/b", 2);
    EXPECT_TRUE(mgr.checkpoints().empty());
    EXPECT_EQ(mgr.latest_checkpoint(), dir + "/b/other-2");
    for (int i = 0; i < 3; ++i) mgr.save();
    EXPECT_EQ(index_files(dir + "/b"),
              (std::vector<std::string>{"ckpt-4.index", "ckpt-5.index", "other-1.index", "other-2.index"}));
    EXPECT_EQ(mgr.checkpoints(), (std::vector<std::string>{dir + "/b/ckpt-4", dir + "/b/ckpt-5"}));
    EXPECT_EQ(latest_checkpoint(dir + "/b"), dir + "/b/ckpt-5");
  }
  {
    Checkpoint c({{"model", m}});
    // One kept every 0.1 s: saves 0.15 s apart are each preserved as max_to_keep drops them.
    CheckpointManager mgr(c, dir + "/c", 1, 0.1 / 3600);
    for (int i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      mgr.save();
    }
    EXPECT_EQ(mgr.checkpoints(), (std::vector<std::string>{dir + "/c/ckpt-4"}));
    CheckpointManager later(c, dir + "/c", 1);  // without the setting
    for (int i = 0; i < 3; ++i) later.save();
    EXPECT_EQ(index_files(dir + "/c"),
              (std::vector<std::string>{"ckpt-1.index", "ckpt-2.index", "ckpt-3.index", "ckpt-7.index"}));
    EXPECT_EQ(later.checkpoints(), (std::vector<std::string>{dir + "/c/ckpt-7"}));
  }
  // A state file that names no checkpoint is TensorFlow's error, not "no checkpoint".
  fs::create_directories(dir + "/d");
  std::ofstream(dir + "/d/checkpoint") << "";
  EXPECT_EQ(error_of<InvalidArgument>([&] { latest_checkpoint(dir + "/d"); }),
            "Invalid checkpoint state loaded from " + dir + "/d");
  EXPECT_EQ(get_checkpoint_state(dir + "/nowhere"), std::nullopt);
  std::optional<CheckpointState> s = get_checkpoint_state(dir + "/b");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->model_checkpoint_path, dir + "/b/ckpt-5");
  EXPECT_EQ(s->all_model_checkpoint_paths, (std::vector<std::string>{dir + "/b/ckpt-4", dir + "/b/ckpt-5"}));
  EXPECT_EQ(s->all_model_checkpoint_timestamps.size(), 2u);
  update_checkpoint_state(dir + "/b", dir + "/b/other-1");
  EXPECT_EQ(latest_checkpoint(dir + "/b"), dir + "/b/other-1");
  fs::remove_all(dir);
}

// tf.train.CheckpointManager's other arguments: the step numbers the
// checkpoints and checkpoint_interval skips saves too close to the last;
// restore_or_initialize restores the latest or calls init_fn; a number
// given names the checkpoint.
// A manager (and Checkpoint::save) sweeps what killed saves left: only
// theirs. Another process saving into the same directory right now (or a
// thread of this one) keeps its temporaries, and the data file its index is
// about to join; a writer that is gone, or an older ember's nameless
// temporaries, are swept.
TEST(CheckpointTest, TheSweepLeavesALiveWritersSaveAlone) {
  const std::string dir = temp_dir("sweep");
  const pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);  // its id now names no process
  auto touch = [&](const std::string& name) { std::ofstream(dir + "/" + name) << "bytes"; };
  const std::string live = std::to_string(::getpid()), gone = std::to_string(dead);
  const std::vector<std::string> kept = {
      "ckpt-7.data-00000-of-00001",  // renamed into place; its index not yet
      "ckpt-7.index.tempstate-" + live + "-00000000000000aa",
      "ckpt-8.data-00000-of-00001.tempstate-" + live + "-00000000000000bb",
      "checkpoint.tmp-" + live + "-00000000000000cc",
  };
  const std::vector<std::string> swept = {
      "ckpt-3.data-00000-of-00001",  // its writer was killed between the renames
      "ckpt-3.index.tempstate-" + gone + "-00000000000000dd",
      "ckpt-4.data-00000-of-00001.tempstate-" + gone + "-00000000000000ee",
      "checkpoint.tmp-" + gone + "-00000000000000ff",
      "ckpt-5.data-00000-of-00001.tempstate0123456789abcdef",  // an older ember's: no writer's id
      "ckpt-6.data-00000-of-00001",                            // data whose index no one writes
  };
  for (const auto& f : kept) touch(f);
  for (const auto& f : swept) touch(f);
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(0.0, float64));
  Checkpoint c({{"model", m}});
  CheckpointManager mgr(c, dir, 2);
  for (const auto& f : kept) EXPECT_TRUE(fs::exists(dir + "/" + f)) << f << " was deleted under its live writer";
  for (const auto& f : swept) EXPECT_FALSE(fs::exists(dir + "/" + f)) << f << " was left";
  // Checkpoint::save sweeps the same way.
  for (const auto& f : swept) touch(f);
  c.save(dir + "/ckpt");
  for (const auto& f : kept) EXPECT_TRUE(fs::exists(dir + "/" + f)) << f << " was deleted under its live writer";
  for (const auto& f : swept)
    if (f.find("tempstate") != std::string::npos || f.starts_with("checkpoint.tmp")) {
      EXPECT_FALSE(fs::exists(dir + "/" + f)) << f << " was left";
    }
}

TEST(CheckpointTest, ManagerStepCounterIntervalAndRestoreOrInitialize) {
  std::string dir = temp_dir("manager_steps");
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(1.0, float64));
  Variable step(constant(int64_t{0}), {.name = "step", .trainable = false});
  Checkpoint c({{"model", m}, {"step", trackable_of(step)}});
  int initialized = 0;
  CheckpointManager mgr(c, dir, 3,
                        {.step_counter = step, .checkpoint_interval = 10, .init_fn = [&] { ++initialized; }});
  EXPECT_EQ(mgr.restore_or_initialize(), "");
  EXPECT_EQ(initialized, 1);
  std::vector<std::string> saved;
  for (int64_t s = 0; s <= 25; s += 5) {
    step.assign(constant(s));
    saved.push_back(mgr.save());
  }
  EXPECT_EQ(saved, (std::vector<std::string>{dir + "/ckpt-0", "", dir + "/ckpt-10", "", dir + "/ckpt-20", ""}));
  EXPECT_EQ(mgr.save(std::nullopt, /*check_interval=*/false), dir + "/ckpt-25");
  EXPECT_EQ(mgr.save(int64_t{99}, false), dir + "/ckpt-99");
  EXPECT_EQ(mgr.checkpoints(), (std::vector<std::string>{dir + "/ckpt-20", dir + "/ckpt-25", dir + "/ckpt-99"}));
  EXPECT_THROW(CheckpointManager(c, dir, 0), InvalidArgument);
  EXPECT_THROW(CheckpointManager(c, dir, 3, {.checkpoint_interval = 5}), InvalidArgument);

  step.assign(constant(int64_t{1}));
  m->w->assign(constant(7.0, float64));
  CheckpointManager again(c, dir, std::nullopt, {.step_counter = step, .checkpoint_interval = 10,
                                                .init_fn = [&] { ++initialized; }});
  EXPECT_EQ(again.restore_or_initialize(), dir + "/ckpt-99");
  EXPECT_EQ(initialized, 1);
  EXPECT_EQ(step.read_value().item<int64_t>(), 25);  // the step saved at ckpt-99
  EXPECT_EQ(m->w->read_value().item<double>(), 1.0);
  EXPECT_EQ(again.save(), "");  // step 25: within the interval of the restored step
  fs::remove_all(dir);
}

// Asynchronous saves (CheckpointOptions::enable_async): the values when
// save() was called are written on the checkpoint's own thread; a second
// save waits for the first; restore and sync see them complete.
TEST(CheckpointTest, AsynchronousSavesWriteTheValuesOfTheirCall) {
  std::string dir = temp_dir("async");
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(std::vector<double>(1 << 16, 1.0), TensorShape{1 << 16}));
  Checkpoint c({{"model", m}});
  CheckpointManager mgr(c, dir, 2);
  std::vector<std::string> paths;
  for (int i = 1; i <= 4; ++i) {
    paths.push_back(mgr.save(std::nullopt, true, CheckpointOptions{.enable_async = true}));
    m->operate(ones({1 << 16}, float64));  // the step goes on while the values are written
  }
  c.sync();
  EXPECT_EQ(latest_checkpoint(dir), dir + "/ckpt-4");
  EXPECT_EQ(index_files(dir), (std::vector<std::string>{"ckpt-3.index", "ckpt-4.index"}));
  auto fresh = std::make_shared<MyModule>("m");
  fresh->assign(constant(std::vector<double>(1 << 16, 0.0), TensorShape{1 << 16}));
  Checkpoint(CheckpointRoots{{"model", fresh}}).restore(paths[2]).assert_consumed();
  EXPECT_EQ(fresh->w->read_value().to_vector<double>()[123], 3.0);  // the values of save 3's call
  // A save into a place that cannot be written raises at the next sync.
  Checkpoint broken({{"model", m}});
  broken.save(dir + "/" + std::string(300, 'x'), CheckpointOptions{.enable_async = true});  // a name too long
  EXPECT_THROW(broken.sync(), Error);
  fs::remove_all(dir);
}

// TensorFlow's restore semantics: the last restore wins where two reach one
// object not yet made; only children with values below them wait; write()
// saves save_counter only once a save made it; a root object (root=...)
// keeps its attributes under "/.ATTRIBUTES/"; the file is closed after restore().
TEST(CheckpointTest, RestoreSemanticsAsTensorFlow) {
  std::string dir = temp_dir("restore_semantics");
  auto make_shared_child = [](double v) {
    auto owner = std::make_shared<Trackable>();
    auto shared = std::make_shared<Trackable>();
    shared->track("v", Variable(constant(v, float64)));
    owner->track("shared", shared);
    return owner;
  };
  std::string first = Checkpoint({{"a", make_shared_child(1.0)}}).write(dir + "/first");
  std::string second = Checkpoint({{"b", make_shared_child(2.0)}}).write(dir + "/second");
  auto a = std::make_shared<Trackable>(), b = std::make_shared<Trackable>();
  auto sb = Checkpoint({{"b", b}}).restore(second);  // b's child: 2.0, waiting
  auto sa = Checkpoint({{"a", a}}).restore(first);   // a's child: 1.0, waiting: the later restore
  auto shared = std::make_shared<Trackable>();
  Variable v(constant(0.0, float64));
  shared->track("v", v);
  a->track("shared", shared);  // 1.0 (restore 2)
  b->track("shared", shared);  // 2.0 is restore 1's: older, so it does not overwrite
  EXPECT_EQ(v.read_value().item<double>(), 1.0);
  sa.expect_partial();
  sb.expect_partial();

  // write() before any save: no save_counter, as TensorFlow's.
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(1.0, float64));
  Checkpoint c({{"model", m}});
  std::string w = c.write(dir + "/w");
  bundle::Reader r(w);
  EXPECT_EQ(r.keys_with_prefix("save_counter").size(), 0u);
  c.save(dir + "/s");
  bundle::Reader r2(c.write(dir + "/w2"));
  EXPECT_EQ(r2.keys_with_prefix("save_counter").size(), 1u);

  // Checkpoint(root=...): the root object's own attribute under "/.ATTRIBUTES/".
  Variable root_var(constant(2.5, float64));
  auto root = trackable_of(root_var);
  std::string rp = Checkpoint({{"root", root}}).write(dir + "/root");
  bundle::Reader rr(rp);
  EXPECT_EQ(rr.keys_with_prefix("/.ATTRIBUTES/VARIABLE_VALUE").size(), 1u);
  Variable back(constant(0.0, float64));
  Checkpoint({{"root", trackable_of(back)}}).read(rp).assert_existing_objects_matched();
  EXPECT_EQ(back.read_value().item<double>(), 2.5);

  // Only what has values waits; the checkpoint's files are closed once restore() returns.
  auto owner = std::make_shared<Trackable>();
  auto status = Checkpoint({{"a", owner}}).read(first);
  EXPECT_EQ(owner->pending_restorations(), 1u);  // "shared" (with a value below)
  int open = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    open += fs::read_symlink(e.path(), ec).string().find(dir + "/first") == 0;
  }
  EXPECT_EQ(open, 0);
  auto later = std::make_shared<Trackable>();
  Variable lv(constant(0.0, float64));
  later->track("v", lv);
  owner->track("shared", later);  // read from the file again now
  EXPECT_EQ(lv.read_value().item<double>(), 1.0);
  status.assert_consumed();
  fs::remove_all(dir);
}

// Values a restore never used are warned about by TensorFlow's names for
// them (its ObjectGraphProtoPrettyPrinter): the path from the root, and for
// an optimizer's slot "<optimizer>'s state 'm' for <variable>". Slots are
// reached from no parent, and had been named "(root)." alone.
TEST(CheckpointTest, UnusedValuesAreNamedAsTensorFlowNamesThem) {
  std::string dir = temp_dir("unused_values");
  auto make = [] {
    auto m = std::make_shared<Trackable>();
    Variable a(constant(std::vector<float>{1, 2}, {2}));
    m->track("a", a);
    return std::pair{m, a};
  };
  auto [m1, a1] = make();
  auto adam = std::make_shared<optimizers::Adam>(0.1);
  {
    GradientTape tape;
    Tensor loss = reduce_sum(a1.read_value() * a1.read_value());
    adam->apply(tape.gradient(loss, std::vector<Variable>{a1}), std::vector<Variable>{a1});
  }
  std::string path = Checkpoint({{"model", m1}, {"optimizer", adam}}).save(dir + "/ck");
  ::testing::internal::CaptureStderr();
  {
    auto [m2, a2] = make();
    Checkpoint({{"model", m2}}).restore(path).assert_existing_objects_matched();
    EXPECT_EQ(a2.read_value().to_vector<float>(), a1.read_value().to_vector<float>());
  }  // (the warning comes when the restore's state goes)
  const std::string text = ::testing::internal::GetCapturedStderr();
  for (const std::string name : {"(root).optimizer.iter", "(root).optimizer's state 'm' for (root).model.a",
                                 "(root).optimizer's state 'v' for (root).model.a"})
    EXPECT_NE(text.find("Value in checkpoint could not be found in the restored object: " + name + "\n"),
              std::string::npos)
        << name << " in:\n" << text;
  EXPECT_EQ(text.find("(root).\n"), std::string::npos) << text;
  fs::remove_all(dir);
}

// Saving over a listed checkpoint (the counter set back) moves it to the
// newest place with its new timestamp; the others keep theirs.
TEST(CheckpointTest, ManagerSavingAPathAgainKeepsEachTimestampWithItsPath) {
  std::string dir = temp_dir("manager_again");
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(0.0, float64));
  Checkpoint c({{"model", m}});
  auto stamps = [&] {
    std::ifstream in(dir + "/checkpoint");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> out;
    for (size_t at = text.find("all_model_checkpoint_timestamps: "); at != std::string::npos;
         at = text.find("all_model_checkpoint_timestamps: ", at + 1))
      out.push_back(text.substr(at + 33, text.find('\n', at) - at - 33));
    return out;
  };
  CheckpointManager mgr(c, dir, 3);
  for (int i = 0; i < 3; ++i) mgr.save();
  std::vector<std::string> before = stamps();
  ASSERT_EQ(before.size(), 3u);
  c.save_counter().assign(constant(int64_t{1}));
  mgr.save();  // ckpt-2 again
  EXPECT_EQ(mgr.checkpoints(),
            (std::vector<std::string>{dir + "/ckpt-1", dir + "/ckpt-3", dir + "/ckpt-2"}));
  std::vector<std::string> after = stamps();
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0], before[0]);  // ckpt-1's
  EXPECT_EQ(after[1], before[2]);  // ckpt-3's, not ckpt-2's old one
  EXPECT_EQ(latest_checkpoint(dir), dir + "/ckpt-2");
  fs::remove_all(dir);
}

TEST(CheckpointTest, ManagerPreservesOnePerIntervalAndNamesFiles) {
  std::string dir = temp_dir("manager_hours");
  auto m = std::make_shared<MyModule>("m");
  m->assign(constant(0.0, float64));
  Checkpoint c({{"model", m}});
  // An interval of ~0: every checkpoint pushed out of the newest 1 is old
  // enough to be preserved, so it stays on disk but leaves the managed list.
  CheckpointManager mgr(c, dir, 1, 1e-12, "model");
  mgr.save();
  mgr.save();
  mgr.save();
  EXPECT_EQ(mgr.checkpoints(), std::vector<std::string>{dir + "/model-3"});
  EXPECT_TRUE(fs::exists(dir + "/model-1.index"));
  EXPECT_TRUE(fs::exists(dir + "/model-2.index"));
  EXPECT_EQ(latest_checkpoint(dir), dir + "/model-3");
  fs::remove_all(dir);
}

TEST(CheckpointTest, MismatchesAreErrorsAndChangeNothing) {
  std::string dir = temp_dir("mismatch");
  auto m = std::make_shared<Module>("m");
  m->track("a", trackable_of(Variable(constant({1.f, 2.f}))));
  m->track("b", trackable_of(Variable(constant({5.0, 6.0, 7.0, 8.0, 9.0}, float64))));
  Checkpoint writer({{"model", m}});
  writer.save_counter();  // (made, so written: a restoring Checkpoint makes its own and matches it)
  std::string path = writer.write(dir + "/c");

  auto target = std::make_shared<Module>("m");
  Variable a(constant({0.f, 0.f})), b(constant({0.0, 0.0, 0.0}, float64));
  target->track("a", trackable_of(a));
  target->track("b", trackable_of(b));
  try {
    Checkpoint({{"model", target}}).restore(path);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Received incompatible tensor with shape (5,) when "
                                         "attempting to restore variable with shape (3,)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(a.read_value().to_vector<float>(),
            (std::vector<float>{0, 0}));  // untouched, though it fit

  auto typed = std::make_shared<Module>("m");
  typed->track("a", trackable_of(Variable(constant({0.0, 0.0}, float64))));
  try {
    Checkpoint({{"model", typed}}).restore(path);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(
        std::string(e.what()).find("expected dtype float64 does not equal original dtype float32"),
        std::string::npos)
        << e.what();
  }
  // Values the live graph lacks make assert_consumed fail, not restore.
  auto partial = std::make_shared<Module>("m");
  Variable only(constant({0.f, 0.f}));
  partial->track("a", trackable_of(only));
  auto status = Checkpoint({{"model", partial}}).restore(path);
  EXPECT_EQ(only.read_value().to_vector<float>(), (std::vector<float>{1, 2}));
  status.assert_existing_objects_matched();
  EXPECT_THROW(status.assert_consumed(), FailedPrecondition);
  status.expect_partial();
  // A live object the checkpoint does not know.
  partial->track("extra", trackable_of(Variable(constant(3.f))));
  auto s2 = Checkpoint({{"model", partial}}).restore(path);
  EXPECT_THROW(s2.assert_existing_objects_matched(), FailedPrecondition);
  fs::remove_all(dir);
}

// ---- TensorFlow interoperability ----------------------------------------------------------------

struct Model {
  std::shared_ptr<Module> root;
  Variable w, b, counts, steps, flags, pixels, cube, weird, iw, ib;
  std::shared_ptr<MutableHashTable> table, itable;
};

std::vector<float> arange_f(int n, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i) * scale;
  return v;
}

// make_fixtures.build() in ember: with its values, or zeros and empty tables.
Model build_model(bool values) {
  Model m;
  auto pick = [&](Tensor t) { return values ? t : zeros_like(t); };
  m.root = std::make_shared<Module>("root");
  auto dense = std::make_shared<Module>("dense");
  m.w = Variable(pick(constant(arange_f(6, 0.5f), {2, 3})), {.name = "w"});
  m.b = Variable(pick(constant(std::vector<double>{0.75, -1.25, 1.625})), {.name = "b"});
  dense->track("w", trackable_of(m.w));
  dense->track("b", trackable_of(m.b));
  m.root->track("dense", dense);
  m.counts = Variable(pick(constant(std::vector<int32_t>{1, -2, 3})));
  m.steps = Variable(pick(constant(int64_t{123456789012})));
  m.flags = Variable(values ? constant(std::vector<bool>{true, false, true}) : zeros({3}, bool_));
  m.pixels = Variable(pick(constant(std::vector<uint8_t>{0, 128, 255, 7}, {2, 2})));
  m.cube = Variable(pick(constant(arange_f(24, 0.125f), {2, 3, 4})));
  m.weird = Variable(pick(constant(7.0f)));
  for (auto [name, v] : std::vector<std::pair<std::string, Variable>>{{"counts", m.counts},
                                                                      {"steps", m.steps},
                                                                      {"flags", m.flags},
                                                                      {"pixels", m.pixels},
                                                                      {"cube", m.cube},
                                                                      {"we.ird/name", m.weird}})
    m.root->track(name, trackable_of(v));
  auto nested = std::make_shared<Module>("nested");
  auto inner = std::make_shared<Module>("inner");
  m.iw = Variable(pick(constant(arange_f(6, 2.0f), {2, 3})));
  m.ib = Variable(pick(constant(std::vector<double>{3.0, -5.0, 6.5})));
  inner->track("w", trackable_of(m.iw));
  inner->track("b", trackable_of(m.ib));
  nested->track("inner", inner);
  m.root->track("nested", nested);
  m.table = std::make_shared<MutableHashTable>(KeyType::String, int64, -1);
  m.itable = std::make_shared<MutableHashTable>(KeyType::Int64, float32, 0);
  if (values) {
    m.table->insert({"apple", "banana", "cherry"}, constant(std::vector<int64_t>{1, 2, 3}));
    m.itable->insert(constant(std::vector<int64_t>{10, 20}), constant({0.5f, 1.5f}));
  }
  m.root->track("table", m.table);
  m.root->track("itable", m.itable);
  return m;
}

void expect_model_values(const Model& m) {
  Model want = build_model(true);
  for (auto [got, exp] : std::vector<std::pair<Variable, Variable>>{{m.w, want.w},
                                                                    {m.b, want.b},
                                                                    {m.counts, want.counts},
                                                                    {m.steps, want.steps},
                                                                    {m.flags, want.flags},
                                                                    {m.pixels, want.pixels},
                                                                    {m.cube, want.cube},
                                                                    {m.weird, want.weird},
                                                                    {m.iw, want.iw},
                                                                    {m.ib, want.ib}}) {
    EXPECT_EQ(got.dtype(), exp.dtype());
    EXPECT_EQ(values(got), values(exp)) << exp.name();
  }
  EXPECT_EQ(m.table->lookup({"apple", "banana", "cherry", "durian"}).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 2, 3, -1}));
  EXPECT_EQ(m.itable->lookup(constant(std::vector<int64_t>{10, 20, 30})).to_vector<float>(),
            (std::vector<float>{0.5f, 1.5f, 0.f}));
}

TEST(TensorFlowInterop, RestoresACheckpointTensorFlowWrote) {
  std::string dir = data_dir() + "/tf_checkpoint";
  std::string path = latest_checkpoint(dir);
  ASSERT_EQ(path, dir + "/ckpt-1");
  Model m = build_model(false);
  Checkpoint ckpt({{"model", m.root}});
  ckpt.restore(path).assert_consumed().assert_nontrivial_match();
  expect_model_values(m);
  EXPECT_EQ(ckpt.save_counter().read_value().item<int64_t>(), 1);
}

TEST(TensorFlowInterop, TensorFlowReadsEmbersCheckpoint) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string dir = temp_dir("tf_reads");
  Model m = build_model(true);
  std::string path = Checkpoint({{"model", m.root}}).save(dir + "/ckpt");
  std::string text;
  int rc = run_python(python, data_dir() + "/../tf/check_ember_checkpoint.py", path, text);
  EXPECT_EQ(rc, 0) << text;
  fs::remove_all(dir);
}

// A tf.random.Generator in a checkpoint, both ways: TensorFlow restores the
// stream ember saved (under TensorFlow's key, model/gen/_state_var) and
// draws what ember draws next; ember restores the checkpoint TensorFlow
// writes after drawing on, and draws what TensorFlow draws next
// (tests/tf/check_generator_checkpoint.py).
TEST(TensorFlowInterop, GeneratorStateCrossesCheckpointsBothWays) {
  auto model = std::make_shared<Trackable>();
  random::Generator g(42);
  g.normal({7});
  model->track("gen", g);
  const std::string dir = temp_dir("generator_checkpoint");
  const std::string prefix = Checkpoint({{"model", model}}).write(dir + "/ember");
  {  // a fresh generator restored continues the stream
    auto again = std::make_shared<Trackable>();
    random::Generator fresh(0);
    again->track("gen", fresh);
    Checkpoint({{"model", again}}).read(prefix).assert_consumed();
    EXPECT_EQ(fresh.state().lo, g.state().lo);
    EXPECT_EQ(fresh.state().key, g.state().key);
  }
  const std::vector<float> next = g.normal({4}).to_vector<float>();
  {
    std::ofstream c(dir + "/case.txt");
    c.precision(17);
    for (float v : next) c << static_cast<double>(v) << " ";
  }
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string text;
  ASSERT_EQ(run_python(python, data_dir() + "/../tf/check_generator_checkpoint.py",
                       prefix + " " + dir + "/case.txt " + dir + "/tf", text),
            0)
      << text;
  auto restored = std::make_shared<Trackable>();
  random::Generator from_tf(0);
  restored->track("gen", from_tf);
  Checkpoint({{"model", restored}}).read(dir + "/tf").assert_consumed();
  std::ifstream in(dir + "/tf.txt");
  std::vector<float> want;
  for (double v; in >> v;) want.push_back(static_cast<float>(v));
  ASSERT_EQ(want.size(), 5u) << text;
  EXPECT_EQ(from_tf.uniform({5}).to_vector<float>(), want);
}

// An optimizer's slots: TensorFlow reads the checkpoint and finds every slot
// where its own optimizers put them (tests/tf/check_ember_slots.py).
TEST(TensorFlowInterop, TensorFlowReadsOptimizerSlots) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string dir = temp_dir("tf_slots");
  auto model = std::make_shared<Module>("model");
  Variable w(constant({{1.f, 2.f}, {3.f, 4.f}}), {.name = "w"}), b(constant({0.5f, -0.5f}), {.name = "b"});
  model->track("w", w);
  model->track("b", b);
  auto opt = std::make_shared<optimizers::Adam>(0.1);
  opt->apply({ones({2, 2}), ones({2})}, {w, b});
  std::string path = Checkpoint({{"model", model}, {"optimizer", opt}}).save(dir + "/ckpt");
  std::string text;
  int rc = run_python(python, data_dir() + "/../tf/check_ember_slots.py", path + " 4", text);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("OK 4"), std::string::npos) << text;
  fs::remove_all(dir);
}

// TensorBoard scalars: TensorFlow's summary_iterator reads ember's event
// file back (tests/tf/check_ember_events.py), checksums and all.
TEST(TensorFlowInterop, TensorFlowReadsEmbersEventFile) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string dir = temp_dir("tf_events");
  std::string path;
  {
    SummaryWriter w(dir + "/logs");
    w.scalar("loss", 0.5, 1);
    w.scalar("accuracy", 0.875, 1);
    w.scalar("loss", 0.25, 300);
    path = w.path();
  }
  std::string text;
  int rc = run_python(python, data_dir() + "/../tf/check_ember_events.py", path, text);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("loss 1 0.5\naccuracy 1 0.875\nloss 300 0.25"), std::string::npos) << text;
  fs::remove_all(dir);
}

// 16-bit float variables: saved with TensorFlow's dtype codes (bfloat16 14,
// half 19), restored bit for bit, and read by TensorFlow when it is here.
TEST(HalfCheckpoint, RoundTripAndTensorFlowReadsThem) {
  std::string dir = temp_dir("half");
  std::vector<float> vals = {0.1f, -2.5f, 65504.f, 1e-3f, 3.0e38f};
  Variable b(cast(constant(vals), bfloat16), {.name = "b"});
  Variable h(cast(constant(std::vector<float>(vals.begin(), vals.begin() + 4)), float16),
             {.name = "h"});
  std::string path =
      Checkpoint({{"b", trackable_of(b)}, {"h", trackable_of(h)}}).save(dir + "/ckpt");
  Variable b2(zeros({5}, bfloat16)), h2(zeros({4}, float16));
  Checkpoint({{"b", trackable_of(b2)}, {"h", trackable_of(h2)}}).restore(path).assert_consumed();
  auto want_b = b.read_value().to_vector<bfloat16_t>(), got_b = b2.read_value().to_vector<bfloat16_t>();
  auto want_h = h.read_value().to_vector<float16_t>(), got_h = h2.read_value().to_vector<float16_t>();
  for (size_t i = 0; i < want_b.size(); ++i) EXPECT_EQ(got_b[i].bits, want_b[i].bits) << i;
  for (size_t i = 0; i < want_h.size(); ++i) EXPECT_EQ(got_h[i].bits, want_h[i].bits) << i;
  bundle::Reader reader(path);
  EXPECT_EQ(reader.entry("b/.ATTRIBUTES/VARIABLE_VALUE").tf_dtype, 14);
  EXPECT_EQ(reader.entry("h/.ATTRIBUTES/VARIABLE_VALUE").tf_dtype, 19);

  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);  // the round trip above has run either way
  std::string text;
  EXPECT_EQ(run_python(python, data_dir() + "/../tf/check_half_checkpoint.py", path, text), 0) << text;
  fs::remove_all(dir);
}

// File-system failures are ember errors naming the path, never
// std::filesystem exceptions: a state file naming a path longer than the
// system allows, a prefix whose file name is too long, a directory that is a file.
TEST(CheckpointTest, FileSystemFailuresAreEmberErrorsWithThePath) {
  std::string dir = temp_dir("fs_errors");
  std::string huge(5000, 'x');
  std::ofstream(dir + "/checkpoint") << "model_checkpoint_path: \"" << huge << "\"\n";
  try {
    latest_checkpoint(dir);
    ADD_FAILURE() << "no error";
  } catch (const FailedPrecondition& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/" + huge.substr(0, 100)), std::string::npos);
  }
  Variable v(constant({1.f}));
  Checkpoint ckpt({{"v", trackable_of(v)}});
  EXPECT_THROW(ckpt.write(dir + "/" + std::string(300, 'y')), Error);
  std::ofstream(dir + "/file") << "not a directory";
  EXPECT_THROW(ckpt.save(dir + "/file/ckpt"), Error);
  EXPECT_THROW(CheckpointManager(ckpt, dir + "/file/sub", 2), Error);
  fs::remove_all(dir);
}

// ---- hostile files
// ----------------------------------------------------------------------------------

// Mutations of a valid checkpoint and of its state file: bit flips,
// truncation, random and zero-filled runs, duplicated slices, missing files,
// garbage and over-long state files. Each restore either fails with an ember
// error that changed nothing, or succeeds with exactly the saved values.
TEST(CheckpointFuzz, MutatedFilesAreRefusedOrRestoreExactly) {
  std::string dir = temp_dir("fuzz");
  Model m = build_model(true);
  Checkpoint writer({{"model", m.root}});
  writer.save_counter();  // (made, so written: the restoring Checkpoint makes its own and matches it)
  std::string path = writer.write(dir + "/good");
  auto slurp = [](const std::string& f) {
    std::ifstream in(f, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  auto spit = [](const std::string& f, const std::string& s) {
    std::ofstream(f, std::ios::binary | std::ios::trunc) << s;
  };
  const std::string index = slurp(path + ".index"), data = slurp(path + ".data-00000-of-00001");
  const std::string state = "model_checkpoint_path: \"bad\"\nall_model_checkpoint_paths: \"bad\"\n";
  std::mt19937 gen(1234);
  int errors = 0, restored = 0;
  for (int iter = 0; iter < 900; ++iter) {
    SCOPED_TRACE("mutation " + std::to_string(iter));
    std::string idx = index, dat = data, st = state;
    std::string& victim = iter % 5 == 4 ? st : iter % 3 == 0 ? dat : idx;
    int kind = static_cast<int>(gen() % 7);
    bool remove_victim = false;
    if (kind == 0) {  // flip bits
      for (int k = 0; k < 1 + static_cast<int>(gen() % 4); ++k)
        victim[gen() % victim.size()] ^= static_cast<char>(1 << (gen() % 8));
    } else if (kind == 1) {  // truncate
      victim.resize(gen() % victim.size());
    } else if (kind == 2) {  // overwrite a run with random bytes
      size_t at = gen() % victim.size();
      for (size_t k = at; k < std::min(victim.size(), at + 8); ++k)
        victim[k] = static_cast<char>(gen());
    } else if (kind == 3) {  // duplicate a slice
      size_t at = gen() % victim.size();
      victim.insert(at, victim.substr(at, gen() % 16));
    } else if (kind == 4) {  // zero-fill a range
      size_t at = gen() % victim.size();
      std::fill(victim.begin() + static_cast<long>(at),
                victim.begin() + static_cast<long>(std::min(victim.size(), at + 1 + gen() % 64)), '\0');
    } else if (kind == 5) {  // the file is missing
      remove_victim = true;
    } else if (&victim == &st) {  // an over-long or garbage state file
      victim = gen() % 2 ? "model_checkpoint_path: \"" + std::string(5000, 'x') + "\"\n"
                         : std::string(gen() % 300, static_cast<char>(gen()));
    } else {
      victim.assign(victim.size(), static_cast<char>(gen()));
    }
    spit(dir + "/bad.index", idx);
    spit(dir + "/bad.data-00000-of-00001", dat);
    spit(dir + "/checkpoint", st);
    if (remove_victim)
      fs::remove(&victim == &st    ? dir + "/checkpoint"
                 : &victim == &dat ? dir + "/bad.data-00000-of-00001"
                                   : dir + "/bad.index");
    Model target = build_model(false);
    try {
      std::string latest = latest_checkpoint(dir);
      if (&victim != &st) {  // an intact state file names the checkpoint while its index exists
        ASSERT_EQ(latest, remove_victim && &victim == &idx ? "" : dir + "/bad");
      }
      if (latest.empty()) continue;
      Checkpoint({{"model", target.root}}).restore(latest).assert_consumed();
      ++restored;
      expect_model_values(target);  // a restore that succeeds is exact
    } catch (const Error& e) {
      ++errors;
      bool expected_kind = dynamic_cast<const DataLoss*>(&e) ||
                           dynamic_cast<const InvalidArgument*>(&e) ||
                           dynamic_cast<const NotFound*>(&e) ||
                           dynamic_cast<const FailedPrecondition*>(&e);
      EXPECT_TRUE(expected_kind) << e.what();
      // A failed restore changed nothing.
      EXPECT_EQ(target.w.read_value().to_vector<float>(), std::vector<float>(6, 0.f));
      EXPECT_EQ(target.table->size(), 0);
    }
  }
  EXPECT_GT(errors, 500);  // the checksums catch nearly every mutation of the bundle
  EXPECT_GT(restored, 10);  // state-file mutations and harmless changes do restore
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ember::test
