// Tracked lists and maps (state/data_structures.h) against TensorFlow's
// ListWrapper and _DictWrapper: the checkpoint keys and Module.variables'
// order TensorFlow 2.21 gives for the same structure (tests/data/tf_tracked,
// from tests/tf/tracked_structures.py), its checkpoint restored into ember,
// ember's checkpoint and SavedModel read by TensorFlow, and the rules for
// changing a tracked list.
#include <filesystem>
#include <fstream>

#include "serialization/bundle.h"
#include "serialization/checkpoint.h"
#include "serialization/saved_model.h"
#include "state/data_structures.h"
#include "state/module.h"
#include "test_util.h"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

struct Leaf : Module {
  Tracked<Variable> w{this, "w"};
  Leaf() : Module("leaf") {}
};

// TensorFlow's M of tests/tf/tracked_structures.py:
//   self.vs = [a, b]; self.d = {"z": z, "k": k}; self.inner = [Module(w), {"x": x}]
struct M : Module {
  std::shared_ptr<TrackedList<Variable>> vs = track("vs", std::make_shared<TrackedList<Variable>>());
  std::shared_ptr<TrackedDict<Variable>> d = track("d", std::make_shared<TrackedDict<Variable>>());
  std::shared_ptr<TrackedList<std::shared_ptr<Trackable>>> inner =
      track("inner", std::make_shared<TrackedList<std::shared_ptr<Trackable>>>());
  std::shared_ptr<Leaf> leaf = std::make_shared<Leaf>();
  std::shared_ptr<TrackedDict<Variable>> inner_dict = std::make_shared<TrackedDict<Variable>>();

  // `build` false leaves the structures empty (filled after a restore).
  explicit M(float scale, bool build = true) : Module("m") {
    if (build) fill(scale);
  }
  void fill(float scale) {
    vs->push_back(Variable(constant(1.f * scale), {.name = "a"}));
    vs->push_back(Variable(constant(2.f * scale), {.name = "b"}));
    d->set("z", Variable(constant(3.f * scale), {.name = "z"}));
    d->set("k", Variable(constant(4.f * scale), {.name = "k"}));
    inner->push_back(leaf);
    inner->push_back(inner_dict);
    inner_dict->set("x", Variable(constant(5.f * scale), {.name = "x"}));
    leaf->w = Variable(constant({6.f * scale, 7.f * scale}), {.name = "w"});
  }
  std::vector<std::vector<double>> all_values() const {
    return {test::values((*vs)[0].read_value()), test::values((*vs)[1].read_value()),
            test::values(d->at("z").read_value()), test::values(d->at("k").read_value()),
            test::values(inner_dict->at("x").read_value()), test::values(leaf->w->read_value())};
  }
};

std::vector<std::vector<double>> expected(double scale) {
  return {{1 * scale}, {2 * scale}, {3 * scale}, {4 * scale}, {5 * scale}, {6 * scale, 7 * scale}};
}

// The fixture's "key ..." or "variable ..." lines.
std::vector<std::string> fixture_lines(const std::string& kind) {
  std::ifstream in(data_dir() + "/tf_tracked/keys.txt");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.rfind(kind + " ", 0) == 0) out.push_back(line.substr(kind.size() + 1));
  return out;
}

TEST(TrackedStructures, KeysAndVariableOrderAreTensorFlows) {
  auto m = std::make_shared<M>(1.f);
  std::vector<std::string> names;
  for (const Variable& v : m->variables()) names.push_back(v.name());
  EXPECT_EQ(names, fixture_lines("variable"));  // k, z, x, a, b, w
  std::string dir = temp_dir("tracked_keys");
  std::string prefix = Checkpoint({{"m", m}}).write(dir + "/ckpt");
  std::vector<std::string> keys;
  for (const std::string& k : bundle::Reader(prefix).keys())
    if (k.find("save_counter") == std::string::npos) keys.push_back(k);
  EXPECT_EQ(keys, fixture_lines("key"));
  fs::remove_all(dir);
}

TEST(TrackedStructures, TensorFlowsCheckpointRestoresIntoEmber) {
  auto m = std::make_shared<M>(0.f);
  Checkpoint({{"m", m}}).read(data_dir() + "/tf_tracked/ckpt").assert_consumed();
  EXPECT_EQ(m->all_values(), expected(1.f));
}

TEST(TrackedStructures, ElementsAppendedAfterARestoreTakeTheirValues) {
  auto m = std::make_shared<M>(0.f, /*build=*/false);
  auto status = Checkpoint({{"m", m}}).read(data_dir() + "/tf_tracked/ckpt");
  m->fill(0.f);  // every element made after the restore: restored on creation
  EXPECT_EQ(m->all_values(), expected(1.f));
  status.assert_consumed();
}

TEST(TrackedStructures, AListChangedOtherThanByAppendingCannotBeSaved) {
  std::string dir = temp_dir("tracked_mutated");
  auto replaced = std::make_shared<M>(1.f);
  replaced->vs->set(0, Variable(constant(9.f)));
  // TensorFlow 2.21's ValueError for the same change.
  std::string why = error_of<InvalidArgument>([&] { Checkpoint({{"m", replaced}}).write(dir + "/a"); });
  EXPECT_NE(why.find("A list element was replaced (__setitem__, __setslice__), deleted (__delitem__, "
                     "__delslice__), or moved (sort). In order to support restoration on object creation, "
                     "tracking is exclusively for append-only data structures."),
            std::string::npos)
      << why;
  EXPECT_THROW(saved_model::save(replaced, dir + "/model"), InvalidArgument);
  auto popped = std::make_shared<M>(1.f);
  popped->vs->pop_back();
  EXPECT_THROW(Checkpoint({{"m", popped}}).write(dir + "/b"), InvalidArgument);
  EXPECT_FALSE(fs::exists(dir + "/a.index") || fs::exists(dir + "/b.index") || fs::exists(dir + "/model"));

  // A dict may change freely (as TensorFlow's): the erased key is gone, the
  // key set again saves its new value.
  auto changed = std::make_shared<M>(1.f);
  changed->d->erase("z");
  changed->d->set("k", Variable(constant(40.f)));
  std::string prefix = Checkpoint({{"m", changed}}).write(dir + "/c");
  bundle::Reader r(prefix);
  EXPECT_FALSE(r.contains("m/d/z/.ATTRIBUTES/VARIABLE_VALUE"));
  ASSERT_TRUE(r.contains("m/d/k/.ATTRIBUTES/VARIABLE_VALUE"));
  auto fresh = std::make_shared<M>(0.f);
  fresh->d->erase("z");
  Checkpoint({{"m", fresh}}).read(prefix).assert_consumed();
  EXPECT_EQ(values(fresh->d->at("k").read_value()), std::vector<double>{40});
  EXPECT_THROW(fresh->d->at("z"), NotFound);
  EXPECT_THROW(fresh->vs->set(5, Variable(constant(1.f))), InvalidArgument);
  fs::remove_all(dir);
}

TEST(TrackedStructures, TensorFlowReadsEmbersCheckpointAndSavedModel) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string dir = temp_dir("tracked_tf");
  auto m = std::make_shared<M>(2.f);
  std::string prefix = Checkpoint({{"m", m}}).write(dir + "/ckpt");
  saved_model::save(m, dir + "/model");
  std::string log;
  EXPECT_EQ(run_python(python, data_dir() + "/../tf/tracked_structures.py",
                       "check " + prefix + " " + dir + "/model 2", log),
            0)
      << log;
  EXPECT_NE(log.find("OK"), std::string::npos) << log;
  // ember loads it back: the lists and dicts are objects with the same children.
  auto loaded = saved_model::load(dir + "/model");
  EXPECT_EQ(values(loaded->child("vs")->variable("1").read_value()), std::vector<double>{4});
  EXPECT_EQ(loaded->child("vs")->identifier(), "trackable_list_wrapper");
  EXPECT_EQ(loaded->child("d")->identifier(), "trackable_dict_wrapper");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ember::test
