#include "serialization/checkpoint.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "checkpoint_state.pb.h"
#include "core/context.h"
#include "core/error.h"
#include "serialization/bundle.h"
#include "serialization/file_ops.h"
#include "trackable_object_graph.pb.h"

namespace ember {

namespace fs = std::filesystem;
using tensorflow::TrackableObjectGraph;

namespace {

const char* const kGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH";

class RootObject : public AutoTrackable {};

struct ObjectNode {
  std::shared_ptr<Trackable> obj;
  std::string path;  // escaped local names joined by '/'
};

// Breadth first from the root, children in tracking order; an object reached
// again keeps its first (shortest) path.
std::vector<ObjectNode> breadth_first(const std::shared_ptr<Trackable>& root,
                                std::map<const Trackable*, int>& ids) {
  std::vector<ObjectNode> nodes{{root, ""}};
  ids[root.get()] = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    ObjectNode n = nodes[i];
    for (const auto& [name, child] : n.obj->dependencies()) {
      if (child->saved_model_only() || ids.count(child.get())) continue;
      ids[child.get()] = static_cast<int>(nodes.size());
      std::string esc = escape_checkpoint_name(name);
      nodes.push_back({child, n.path.empty() ? esc : n.path + "/" + esc});
    }
  }
  return nodes;
}

std::string attribute_key(const std::string& path, const std::string& escaped_attr) {
  return (path.empty() ? "" : path + "/") + ".ATTRIBUTES/" + escaped_attr;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void write_state(const std::string& dir, const std::vector<std::string>& paths,
                 const std::vector<double>& stamps, double last_preserved) {
  tensorflow::CheckpointState s;
  s.set_model_checkpoint_path(fs::path(paths.back()).filename().string());
  for (const auto& p : paths) s.add_all_model_checkpoint_paths(fs::path(p).filename().string());
  for (double t : stamps) s.add_all_model_checkpoint_timestamps(t);
  s.set_last_preserved_timestamp(last_preserved);
  std::string text;
  google::protobuf::TextFormat::PrintToString(s, &text);
  files::write_atomically((fs::path(dir) / "checkpoint").string(), text);
}

// Reads `dir/checkpoint`; false when there is none.
bool read_state(const std::string& dir, tensorflow::CheckpointState& s) {
  std::string file = (fs::path(dir) / "checkpoint").string();
  if (!files::exists(file)) return false;
  // Parse errors become the message of ember's error instead of protobuf's log lines.
  struct Collector : google::protobuf::io::ErrorCollector {
    std::string first;
    void AddError(int line, int column, const std::string& message) override {
      if (first.empty()) first = detail::str_cat(line + 1, ":", column + 1, ": ", message);
    }
  } errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(files::read_file(file), &s))
    throw DataLoss(
        detail::str_cat("[checkpoint] ", file, " is not a CheckpointState: ", errors.first));
  return true;
}

std::string resolve(const std::string& dir, const std::string& p) {
  return fs::path(p).is_absolute() ? p : (fs::path(dir) / p).string();
}

// Deletes a checkpoint: its index first, so that it is never a complete
// checkpoint with part of its data gone.
void remove_checkpoint_files(const std::string& prefix) {
  files::remove_file(prefix + ".index");
  std::string dir = files::dirname(prefix);
  std::string stem = fs::path(prefix).filename().string() + ".data-";
  for (const std::string& name : files::list_dir(dir))
    if (name.rfind(stem, 0) == 0) files::remove_file((fs::path(dir) / name).string());
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// N of "<name>-N<rest>" when what follows the digits is `rest` exactly.
std::optional<int64_t> checkpoint_number(const std::string& file, const std::string& name,
                                         const std::string& rest) {
  if (!starts_with(file, name + "-")) return std::nullopt;
  size_t i = name.size() + 1, j = i;
  while (j < file.size() && j - i < 18 && file[j] >= '0' && file[j] <= '9') ++j;
  if (j == i || file.compare(j, std::string::npos, rest) != 0) return std::nullopt;
  return std::stoll(file.substr(i, j - i));
}

// Deletes what a killed save of `name`-N checkpoints left in `dir`: the
// bundle writer's `*.tempstate*` files and the state file's `checkpoint.tmp*`.
void remove_temporaries(const std::string& dir, const std::string& name) {
  if (!files::exists(dir)) return;
  for (const std::string& file : files::list_dir(dir))
    if ((starts_with(file, name + "-") && file.find(".tempstate") != std::string::npos) ||
        starts_with(file, "checkpoint.tmp"))
      files::remove_file((fs::path(dir) / file).string());
}

// Slot variables get nodes after every breadth-first one: by optimizer (in
// node order), then slot name, then original variable in node order. Each
// is referenced from its optimizer's `slot_variables` only; a slot whose
// variable is not in the graph is not saved (as TensorFlow).
void write_slot_variables(const std::vector<ObjectNode>& nodes, const std::map<const Trackable*, int>& ids,
                          TrackableObjectGraph& graph, bundle::Writer& writer) {
  for (size_t opt = 0; opt < nodes.size(); ++opt) {
    struct Slot {
      int original;
      std::string name;
      Variable slot;
    };
    std::vector<Slot> slots;
    for (const SlotVariable& sv : nodes[opt].obj->slot_variables()) {
      auto it = ids.find(trackable_of(sv.original).get());
      if (it != ids.end()) slots.push_back({it->second, sv.name, sv.slot});
    }
    std::stable_sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
      return std::tie(a.name, a.original) < std::tie(b.name, b.original);
    });
    for (const Slot& sl : slots) {
      int id = graph.nodes_size();
      auto* node = graph.add_nodes();
      std::shared_ptr<Saveable> saveable = trackable_of(sl.slot)->saveables().at("VARIABLE_VALUE");
      std::string key = nodes[static_cast<size_t>(sl.original)].path + "/.OPTIMIZER_SLOT/" +
                        nodes[opt].path + "/" + escape_checkpoint_name(sl.name) +
                        "/.ATTRIBUTES/VARIABLE_VALUE";
      auto* st = node->add_attributes();
      st->set_name("VARIABLE_VALUE");
      st->set_full_name(saveable->full_name());
      st->set_checkpoint_key(key);
      for (const SavedTensor& t : saveable->save()) writer.add(key + t.suffix, t);
      auto* ref = graph.mutable_nodes(static_cast<int>(opt))->add_slot_variables();
      ref->set_original_variable_node_id(sl.original);
      ref->set_slot_name(sl.name);
      ref->set_slot_variable_node_id(id);
    }
  }
}

}  // namespace

std::string escape_checkpoint_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '.')
      out += "..";
    else if (c == '/')
      out += ".S";
    else
      out += c;
  }
  return out;
}

// ---- restore state ---------------------------------------------------------------------------

struct RestoreState {
  std::string path;
  bool nothing = false;  // restore("") : no checkpoint
  std::unique_ptr<bundle::Reader> reader;
  TrackableObjectGraph graph;
  std::vector<std::weak_ptr<Trackable>> bound;
  std::vector<bool> restored;
  // Nodes waiting for an object to be created. Counted per node, not per
  // path: a node reachable by two paths is done when either is created.
  std::set<int> deferred;
  int pending() const {
    int n = 0;
    for (int node : deferred) n += bound[static_cast<size_t>(node)].expired() && has_values(node);
    return n;
  }

  struct Plan {
    int node;
    std::shared_ptr<Saveable> saveable;
    std::map<std::string, SavedTensor> tensors;
  };
  struct Deferral {
    std::shared_ptr<Trackable> parent;
    std::string name;
    int node;
  };
  // A slot value to hand to its optimizer once the optimizer and the
  // original variable are both bound.
  struct SlotRef {
    int optimizer, original, slot;
    std::string name;
  };
  std::vector<SlotRef> waiting_slots;  // one of the two not bound yet
  struct SlotPlan {
    std::shared_ptr<Trackable> optimizer;
    Variable original;
    SlotRef ref;
    std::map<std::string, SavedTensor> tensors;
  };
  std::vector<SlotPlan> slot_plans;  // staged by collect, handed over by apply

  void check_node_id(int id) const {
    if (id < 0 || id >= graph.nodes_size())
      throw DataLoss(detail::str_cat("[checkpoint] ", path, ": object graph refers to node ", id,
                                     " of ", graph.nodes_size()));
  }

  // Stages the slots that become ready now that `node` is bound.
  void stage_slots(int node) {
    for (const auto& ref : graph.nodes(node).slot_variables()) {
      check_node_id(ref.original_variable_node_id());
      check_node_id(ref.slot_variable_node_id());
      waiting_slots.push_back({node, ref.original_variable_node_id(), ref.slot_variable_node_id(),
                               ref.slot_name()});
    }
    for (auto it = waiting_slots.begin(); it != waiting_slots.end();) {
      auto opt = bound[static_cast<size_t>(it->optimizer)].lock();
      auto orig = std::dynamic_pointer_cast<TrackableVariable>(
          bound[static_cast<size_t>(it->original)].lock());
      if (!opt || !orig) {
        ++it;
        continue;
      }
      SlotPlan p{opt, orig->variable(), *it, {}};
      const auto& attrs = graph.nodes(it->slot).attributes();
      if (attrs.empty())
        throw DataLoss(detail::str_cat("[checkpoint] ", path, ": slot '", it->name,
                                       "' has no value"));
      std::string key = attrs[0].checkpoint_key();
      for (const auto& k : reader->keys_with_prefix(key)) {
        std::string suffix = k.substr(key.size());
        if (suffix.empty() || suffix[0] == '-') p.tensors[suffix] = reader->read(k);
      }
      if (p.tensors.empty())
        throw NotFound(detail::str_cat("Key ", key, " not found in checkpoint ", path));
      slot_plans.push_back(std::move(p));
      it = waiting_slots.erase(it);
    }
  }

  // Binds `node` to `obj` and below; reads and checks every value first
  // (collect), so a mismatch throws before anything changes.
  void collect(int node, const std::shared_ptr<Trackable>& obj, std::vector<Plan>& plans,
               std::vector<Deferral>& deferrals) {
    if (!bound[static_cast<size_t>(node)].expired()) return;
    bound[static_cast<size_t>(node)] = obj;
    stage_slots(node);
    const auto& proto = graph.nodes(node);
    auto live = obj->saveables();
    for (const auto& attr : proto.attributes()) {
      std::shared_ptr<Saveable> saveable;
      for (const auto& [name, s] : live)
        if (escape_checkpoint_name(name) == attr.name()) saveable = s;
      if (!saveable) continue;  // an unused value: assert_consumed reports it
      Plan p{node, saveable, {}};
      std::string key = attr.checkpoint_key();
      bool any = false;
      for (const auto& k : reader->keys_with_prefix(key)) {
        std::string suffix = k.substr(key.size());
        if (!suffix.empty() && suffix[0] != '-') continue;
        p.tensors[suffix] = reader->read(k);
        any = true;
      }
      if (!any) throw NotFound(detail::str_cat("Key ", key, " not found in checkpoint ", path));
      saveable->check(p.tensors);
      plans.push_back(std::move(p));
    }
    for (const auto& ref : proto.children()) {
      if (ref.node_id() < 0 || ref.node_id() >= graph.nodes_size())
        throw DataLoss(detail::str_cat("[checkpoint] ", path, ": object graph refers to node ",
                                       ref.node_id(), " of ", graph.nodes_size()));
      if (auto child = obj->lookup_dependency(ref.local_name()))
        collect(ref.node_id(), child, plans, deferrals);
      else
        deferrals.push_back({obj, ref.local_name(), ref.node_id()});
    }
  }

  static void apply(const std::shared_ptr<RestoreState>& self, std::vector<Plan>& plans,
                    std::vector<Deferral>& deferrals) {
    for (auto& p : plans) {
      p.saveable->restore(p.tensors);
      self->restored[static_cast<size_t>(p.node)] = true;
    }
    // Slots: restored by their optimizer now, or when it creates them.
    std::vector<SlotPlan> slots = std::move(self->slot_plans);
    self->slot_plans.clear();
    for (auto& sp : slots) {
      int node = sp.ref.slot;
      sp.optimizer->restore_slot(
          sp.original, sp.ref.name,
          [self, node, tensors = std::move(sp.tensors)](const Variable& slot) {
            auto t = trackable_of(slot);
            std::shared_ptr<Saveable> saveable = t->saveables().at("VARIABLE_VALUE");
            saveable->check(tensors);
            saveable->restore(tensors);
            self->bound[static_cast<size_t>(node)] = t;
            self->restored[static_cast<size_t>(node)] = true;
          });
    }
    for (auto& d : deferrals) {
      if (!self->bound[static_cast<size_t>(d.node)].expired()) continue;
      int node = d.node;
      self->deferred.insert(node);
      d.parent->defer_until_tracked(d.name, [self, node](const std::shared_ptr<Trackable>& child) {
        std::vector<Plan> plans2;
        std::vector<Deferral> deferrals2;
        self->collect(node, child, plans2, deferrals2);
        apply(self, plans2, deferrals2);
      });
    }
  }

  bool has_values(int node) const {
    const auto& n = graph.nodes(node);
    if (n.has_has_checkpoint_values()) return n.has_checkpoint_values().value();
    return n.attributes_size() > 0;
  }

  std::string describe(int node) const {
    // The path of names from the root, for messages.
    std::vector<std::string> parent_name(static_cast<size_t>(graph.nodes_size()));
    std::vector<int> parent(static_cast<size_t>(graph.nodes_size()), -1);
    std::deque<int> q{0};
    std::vector<bool> seen(static_cast<size_t>(graph.nodes_size()), false);
    seen[0] = true;
    while (!q.empty()) {
      int i = q.front();
      q.pop_front();
      for (const auto& r : graph.nodes(i).children())
        if (r.node_id() >= 0 && r.node_id() < graph.nodes_size() &&
            !seen[static_cast<size_t>(r.node_id())]) {
          seen[static_cast<size_t>(r.node_id())] = true;
          parent[static_cast<size_t>(r.node_id())] = i;
          parent_name[static_cast<size_t>(r.node_id())] = r.local_name();
          q.push_back(r.node_id());
        }
    }
    std::string s;
    for (int i = node; i > 0; i = parent[static_cast<size_t>(i)])
      s = "." + parent_name[static_cast<size_t>(i)] + s;
    return "(root)" + s;
  }
};

namespace {
[[noreturn]] void no_checkpoint() {
  throw FailedPrecondition("No checkpoint specified (save_path=None); nothing is being restored.");
}
}  // namespace

const RestoreStatus& RestoreStatus::assert_existing_objects_matched() const {
  if (state_->nothing) no_checkpoint();
  std::set<const Trackable*> bound;
  for (const auto& b : state_->bound)
    if (auto p = b.lock()) bound.insert(p.get());
  std::map<const Trackable*, int> ids;
  for (const auto& n : breadth_first(root_, ids)) {
    if (n.obj->saveables().empty() || bound.count(n.obj.get())) continue;
    throw FailedPrecondition(
        detail::str_cat("[checkpoint] Some objects were not bound to checkpointed values: '",
                        n.path, "' has values but matched nothing in ", state_->path));
  }
  for (size_t i = 0; i < state_->bound.size(); ++i) {
    auto obj = state_->bound[i].lock();
    if (!obj) continue;
    for (const auto& attr : state_->graph.nodes(static_cast<int>(i)).attributes())
      if (!state_->restored[i])
        throw FailedPrecondition(
            detail::str_cat("[checkpoint] ", state_->describe(static_cast<int>(i)),
                            " has no value '", attr.name(), "' to take the checkpoint's"));
  }
  return *this;
}

const RestoreStatus& RestoreStatus::assert_consumed() const {
  if (state_->nothing) no_checkpoint();
  assert_existing_objects_matched();
  for (int i = 0; i < state_->graph.nodes_size(); ++i) {
    if (state_->bound[static_cast<size_t>(i)].expired() && state_->has_values(i))
      throw FailedPrecondition(detail::str_cat("[checkpoint] Unresolved object in checkpoint ",
                                               state_->describe(i), " (", state_->path, ")"));
  }
  if (int pending = state_->pending(); pending > 0)
    throw FailedPrecondition(
        detail::str_cat("[checkpoint] ", pending,
                        " restorations are still waiting for their objects to be created"));
  return *this;
}

const RestoreStatus& RestoreStatus::assert_nontrivial_match() const {
  if (state_->nothing) no_checkpoint();
  int matched = 0;
  for (size_t i = 1; i < state_->bound.size(); ++i)
    if (!state_->bound[i].expired()) ++matched;
  if (matched == 0)
    throw FailedPrecondition(
        detail::str_cat("[checkpoint] nothing except the root matched in ", state_->path));
  return *this;
}

// ---- Checkpoint
// ------------------------------------------------------------------------------------

Checkpoint::Checkpoint(CheckpointRoots roots) : root_(std::make_shared<RootObject>()) {
  std::sort(roots.begin(), roots.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, obj] : roots) {
    EMBER_CHECK(name != "save_counter", InvalidArgument, "[Checkpoint] 'save_counter' is reserved");
    root_->track(name, obj);
  }
  NameScope top("", /*absolute=*/true);
  save_counter_ =
      Variable(constant(int64_t{0}, Device::cpu()), {.name = "save_counter", .trainable = false});
  root_->track("save_counter", trackable_of(save_counter_));
}

Checkpoint Checkpoint::of_object(std::shared_ptr<Trackable> root) {
  EMBER_CHECK(root != nullptr, InvalidArgument, "[Checkpoint] of_object: the root is null");
  return Checkpoint(std::move(root), true);
}

std::string Checkpoint::write(const std::string& path) {
  std::map<const Trackable*, int> ids;
  auto nodes = breadth_first(root_, ids);
  TrackableObjectGraph graph;
  bundle::Writer writer(path);
  for (const ObjectNode& n : nodes) {
    auto* p = graph.add_nodes();
    for (const auto& [name, child] : n.obj->dependencies()) {
      if (child->saved_model_only()) continue;
      auto* ref = p->add_children();
      ref->set_node_id(ids.at(child.get()));
      ref->set_local_name(name);
    }
    for (const auto& [attr, saveable] : n.obj->saveables()) {
      std::string esc = escape_checkpoint_name(attr);
      std::string key = attribute_key(n.path, esc);
      auto* st = p->add_attributes();
      st->set_name(esc);
      st->set_full_name(saveable->full_name());
      st->set_checkpoint_key(key);
      for (const SavedTensor& t : saveable->save()) writer.add(key + t.suffix, t);
    }
  }
  write_slot_variables(nodes, ids, graph, writer);
  // has_checkpoint_values: the node or anything below it saves something.
  std::vector<int> memo(static_cast<size_t>(graph.nodes_size()), -1);  // slot nodes included
  std::function<bool(int)> has = [&](int i) -> bool {
    if (memo[static_cast<size_t>(i)] >= 0) return memo[static_cast<size_t>(i)];
    memo[static_cast<size_t>(i)] = 0;  // cycles (not expected) count as empty
    bool v = graph.nodes(i).attributes_size() > 0 || graph.nodes(i).slot_variables_size() > 0;
    for (const auto& r : graph.nodes(i).children()) v = has(r.node_id()) || v;
    memo[static_cast<size_t>(i)] = v;
    return v;
  };
  for (int i = 0; i < graph.nodes_size(); ++i)
    graph.mutable_nodes(i)->mutable_has_checkpoint_values()->set_value(has(i));
  SavedTensor g;
  g.is_string = true;
  g.strings = {graph.SerializeAsString()};
  writer.add(kGraphKey, g);
  writer.finish();
  return path;
}

std::string Checkpoint::save(const std::string& prefix) {
  EMBER_CHECK(save_counter_.defined(), FailedPrecondition,
              "[Checkpoint] save: a checkpoint of one object (of_object) has no save counter; use write");
  remove_temporaries(files::dirname(prefix), fs::path(prefix).filename().string());
  save_counter_.assign_add(constant(int64_t{1}, save_counter_.device()));
  int64_t n = save_counter_.read_value().item<int64_t>();
  std::string path = prefix + "-" + std::to_string(n);
  write(path);
  write_state(files::dirname(prefix), {path}, {now_seconds()}, now_seconds());
  return path;
}

RestoreStatus Checkpoint::restore(const std::string& path) {
  auto state = std::make_shared<RestoreState>();
  state->path = path;
  if (path.empty()) {
    state->nothing = true;
    return RestoreStatus(state, root_);
  }
  state->reader = std::make_unique<bundle::Reader>(path);
  SavedTensor g = state->reader->read(kGraphKey);
  if (!g.is_string || g.strings.size() != 1 || !state->graph.ParseFromString(g.strings[0]))
    throw DataLoss(
        detail::str_cat("[checkpoint] ", path, ": ", kGraphKey, " is not a TrackableObjectGraph"));
  if (state->graph.nodes_size() == 0)
    throw DataLoss(detail::str_cat("[checkpoint] ", path, ": empty object graph"));
  state->bound.resize(static_cast<size_t>(state->graph.nodes_size()));
  state->restored.assign(static_cast<size_t>(state->graph.nodes_size()), false);
  std::vector<RestoreState::Plan> plans;
  std::vector<RestoreState::Deferral> deferrals;
  state->collect(0, root_, plans,
                 deferrals);  // reads and checks everything; throws before any change
  RestoreState::apply(state, plans, deferrals);
  return RestoreStatus(state, root_);
}

std::string latest_checkpoint(const std::string& dir) {
  tensorflow::CheckpointState s;
  if (!read_state(dir, s)) return "";
  if (!s.model_checkpoint_path().empty()) {
    std::string p = resolve(dir, s.model_checkpoint_path());
    if (files::exists(p + ".index")) return p;
  }
  // A state file written by a save that was killed half-way (by an older
  // ember, or another writer) may name a checkpoint that is gone: the newest
  // listed one that is complete is the latest.
  for (int i = s.all_model_checkpoint_paths_size() - 1; i >= 0; --i) {
    std::string p = resolve(dir, s.all_model_checkpoint_paths(i));
    if (files::exists(p + ".index")) return p;
  }
  return "";
}

// ---- CheckpointManager
// -------------------------------------------------------------------------------

CheckpointManager::CheckpointManager(Checkpoint& checkpoint, std::string directory, int max_to_keep,
                                     double keep_checkpoint_every_n_hours,
                                     std::string checkpoint_name)
    : checkpoint_(checkpoint),
      dir_(std::move(directory)),
      name_(std::move(checkpoint_name)),
      max_to_keep_(max_to_keep),
      keep_hours_(keep_checkpoint_every_n_hours),
      last_preserved_(now_seconds()) {
  files::create_dirs(dir_);
  tensorflow::CheckpointState s;
  if (read_state(dir_, s)) {
    for (int i = 0; i < s.all_model_checkpoint_paths_size(); ++i) {
      std::string p = resolve(dir_, s.all_model_checkpoint_paths(i));
      if (!files::exists(p + ".index")) continue;
      paths_.push_back(p);
      timestamps_.push_back(i < s.all_model_checkpoint_timestamps_size()
                                ? s.all_model_checkpoint_timestamps(i)
                                : now_seconds());
    }
    if (s.last_preserved_timestamp() > 0) last_preserved_ = s.last_preserved_timestamp();
  }
  recover();
}

// What a save killed at any instant leaves behind, and what becomes of it:
// - temporaries (`*.tempstate*` of the bundle writer, `checkpoint.tmp*` of
//   the state file): deleted;
// - a complete checkpoint newer than every listed one (killed after writing
//   it, before the state file named it): adopted as the latest;
// - a complete checkpoint older than the latest and not listed (killed after
//   the state file dropped it, before its files were deleted): deleted,
//   unless it may be one that keep_checkpoint_every_n_hours preserved;
// - data files without an index (killed between the bundle's renames): deleted.
void CheckpointManager::recover() {
  int64_t latest = 0;
  std::set<int64_t> listed;
  for (const std::string& p : paths_)
    if (auto n = checkpoint_number(fs::path(p).filename().string(), name_, "")) {
      listed.insert(*n);
      latest = std::max(latest, *n);
    }
  std::set<int64_t> complete, with_data;
  bool changed = false;
  remove_temporaries(dir_, name_);
  for (const std::string& file : files::list_dir(dir_)) {
    if (auto n = checkpoint_number(file, name_, ".index")) {
      complete.insert(*n);
    } else if (auto d = checkpoint_number(file, name_, ".data-00000-of-00001")) {
      with_data.insert(*d);
    }
  }
  auto prefix = [&](int64_t n) { return (fs::path(dir_) / (name_ + "-" + std::to_string(n))).string(); };
  for (int64_t n : with_data)
    if (!complete.count(n)) remove_checkpoint_files(prefix(n));
  for (int64_t n : complete) {
    if (listed.count(n)) continue;
    if (n > latest) {
      paths_.push_back(prefix(n));
      timestamps_.push_back(now_seconds());
      changed = true;
    } else if (keep_hours_ <= 0) {
      remove_checkpoint_files(prefix(n));
    }
  }
  if (changed) {
    std::vector<std::string> doomed = sweep();
    write_state(dir_, paths_, timestamps_, last_preserved_);
    for (const std::string& p : doomed) remove_checkpoint_files(p);
  }
}

// Drops the oldest beyond max_to_keep from the list (keeping one every
// keep_hours on disk, unmanaged); returns the prefixes to delete.
std::vector<std::string> CheckpointManager::sweep() {
  std::vector<std::string> doomed;
  while (max_to_keep_ > 0 && static_cast<int>(paths_.size()) > max_to_keep_) {
    std::string old = paths_.front();
    double stamp = timestamps_.front();
    paths_.erase(paths_.begin());
    timestamps_.erase(timestamps_.begin());
    if (keep_hours_ > 0 && stamp - last_preserved_ >= keep_hours_ * 3600) {
      last_preserved_ = stamp;  // kept on disk, no longer managed
      continue;
    }
    doomed.push_back(old);
  }
  return doomed;
}

std::string CheckpointManager::save() {
  Variable counter = checkpoint_.save_counter();
  counter.assign_add(constant(int64_t{1}, counter.device()));
  std::string path =
      (fs::path(dir_) / (name_ + "-" + std::to_string(counter.read_value().item<int64_t>())))
          .string();
  // Saving over a listed checkpoint: unlist it first, so that the state file
  // never names a checkpoint while it is rewritten.
  if (auto it = std::find(paths_.begin(), paths_.end(), path); it != paths_.end()) {
    timestamps_.erase(timestamps_.begin() + (it - paths_.begin()));
    paths_.erase(it);
    if (paths_.empty())
      files::remove_file((fs::path(dir_) / "checkpoint").string());
    else
      write_state(dir_, paths_, timestamps_, last_preserved_);
  }
  // The order that keeps a complete checkpoint named at every instant: the
  // new checkpoint, then the state file naming it, then the deletions.
  checkpoint_.write(path);
  paths_.push_back(path);
  timestamps_.push_back(now_seconds());
  std::vector<std::string> doomed = sweep();
  write_state(dir_, paths_, timestamps_, last_preserved_);
  for (const std::string& p : doomed) remove_checkpoint_files(p);
  return path;
}

}  // namespace ember
