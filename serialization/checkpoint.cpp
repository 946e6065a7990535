// Checkpoint: writing an object graph and its values as a tensor bundle
// (FORMATS.md §3), numbered saves, and asynchronous writes. Restoring:
// checkpoint_restore.cpp; the state file and the manager: checkpoint_manager.cpp.
#include "serialization/checkpoint.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "core/context.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "serialization/bundle.h"
#include "serialization/file_ops.h"
#include "serialization/checkpoint_internal.h"
#include "trackable_object_graph.pb.h"

namespace ember {

namespace fs = std::filesystem;
using tensorflow::TrackableObjectGraph;

namespace detail {

std::vector<ObjectNode> breadth_first(const std::shared_ptr<Trackable>& root, std::map<const Trackable*, int>& ids,
                                      const std::vector<std::pair<std::string, std::shared_ptr<Trackable>>>& attached) {
  std::vector<ObjectNode> nodes{{root, ""}};
  ids[root.get()] = 0;
  auto visit = [&](const ObjectNode& n, const std::string& name, const std::shared_ptr<Trackable>& child) {
    if (child->saved_model_only() || ids.count(child.get())) return;
    ids[child.get()] = static_cast<int>(nodes.size());
    std::string esc = escape_checkpoint_name(name);
    nodes.push_back({child, n.path.empty() ? esc : n.path + "/" + esc});
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    ObjectNode n = nodes[i];
    for (const auto& [name, child] : n.obj->dependencies()) visit(n, name, child);
    if (i == 0)
      for (const auto& [name, child] : attached) visit(n, name, child);
  }
  return nodes;
}

std::string attribute_key(const std::string& path, const std::string& escaped_attr) {
  return path + "/.ATTRIBUTES/" + escaped_attr;
}

std::vector<std::string> remove_temporaries(const std::string& dir, const std::string& name) {
  std::vector<std::string> kept;
  if (!files::exists(dir)) return kept;
  for (const std::string& file : files::list_dir(dir)) {
    const char* marker = file.starts_with(name + "-") && file.find(".tempstate") != std::string::npos ? ".tempstate"
                         : file.starts_with("checkpoint.tmp")                                          ? ".tmp"
                                                                                                       : nullptr;
    if (!marker) continue;
    if (files::left_by_dead_writer(file, marker))
      files::remove_file((fs::path(dir) / file).string());
    else
      kept.push_back(file);
  }
  return kept;
}

}  // namespace detail

namespace {

using detail::ObjectNode;

class RootObject : public AutoTrackable {};

// What a checkpoint writes, taken at once (values copied to the host), so
// that an asynchronous write is of the values when save() was called.
struct Snapshot {
  std::vector<std::pair<std::string, SavedTensor>> tensors;  // key, value
  TrackableObjectGraph graph;
};

// Slot variables get nodes after every breadth-first one: by optimizer (in
// node order), then slot name, then original variable in node order. Each
// is referenced from its optimizer's `slot_variables` only; a slot whose
// variable is not in the graph is not saved (as TensorFlow).
void snapshot_slot_variables(const std::vector<ObjectNode>& nodes, const std::map<const Trackable*, int>& ids,
                             Snapshot& snap) {
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
      int id = snap.graph.nodes_size();
      auto* node = snap.graph.add_nodes();
      std::shared_ptr<Saveable> saveable = trackable_of(sl.slot)->saveables().at("VARIABLE_VALUE");
      std::string key = nodes[static_cast<size_t>(sl.original)].path + "/.OPTIMIZER_SLOT/" + nodes[opt].path + "/" +
                        escape_checkpoint_name(sl.name) + "/.ATTRIBUTES/VARIABLE_VALUE";
      auto* st = node->add_attributes();
      st->set_name("VARIABLE_VALUE");
      st->set_full_name(saveable->full_name());
      st->set_checkpoint_key(key);
      for (SavedTensor& t : saveable->save()) snap.tensors.emplace_back(key + t.suffix, std::move(t));
      auto* ref = snap.graph.mutable_nodes(static_cast<int>(opt))->add_slot_variables();
      ref->set_original_variable_node_id(sl.original);
      ref->set_slot_name(sl.name);
      ref->set_slot_variable_node_id(id);
    }
  }
}

Snapshot take_snapshot(const std::shared_ptr<Trackable>& root, const CheckpointRoots& attached) {
  std::map<const Trackable*, int> ids;
  auto nodes = detail::breadth_first(root, ids, attached);
  for (const ObjectNode& n : nodes) n.obj->check_saveable();
  Snapshot snap;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ObjectNode& n = nodes[i];
    auto* p = snap.graph.add_nodes();
    auto add_child = [&](const std::string& name, const std::shared_ptr<Trackable>& child) {
      if (child->saved_model_only()) return;
      auto* ref = p->add_children();
      ref->set_node_id(ids.at(child.get()));
      ref->set_local_name(name);
    };
    for (const auto& [name, child] : n.obj->dependencies()) add_child(name, child);
    if (i == 0)
      for (const auto& [name, child] : attached) add_child(name, child);
    for (const auto& [attr, saveable] : n.obj->saveables()) {
      std::string esc = escape_checkpoint_name(attr);
      std::string key = detail::attribute_key(n.path, esc);
      auto* st = p->add_attributes();
      st->set_name(esc);
      st->set_full_name(saveable->full_name());
      st->set_checkpoint_key(key);
      for (SavedTensor& t : saveable->save()) snap.tensors.emplace_back(key + t.suffix, std::move(t));
    }
  }
  snapshot_slot_variables(nodes, ids, snap);
  // has_checkpoint_values: the node or anything below it saves something.
  TrackableObjectGraph& graph = snap.graph;
  std::vector<int> memo(static_cast<size_t>(graph.nodes_size()), -1);  // slot nodes included
  std::function<bool(int)> has = [&](int i) -> bool {
    if (memo[static_cast<size_t>(i)] >= 0) return memo[static_cast<size_t>(i)];
    memo[static_cast<size_t>(i)] = 0;  // cycles (not expected) count as empty
    bool v = graph.nodes(i).attributes_size() > 0 || graph.nodes(i).slot_variables_size() > 0;
    for (const auto& r : graph.nodes(i).children()) v = has(r.node_id()) || v;
    memo[static_cast<size_t>(i)] = v;
    return v;
  };
  for (int i = 0; i < graph.nodes_size(); ++i) graph.mutable_nodes(i)->mutable_has_checkpoint_values()->set_value(has(i));
  return snap;
}

void write_snapshot(const std::string& path, const Snapshot& snap) {
  bundle::Writer writer(path);
  for (const auto& [key, t] : snap.tensors) writer.add(key, t);
  SavedTensor g;
  g.is_string = true;
  g.strings = {snap.graph.SerializeAsString()};
  writer.add(detail::kObjectGraphKey, g);
  writer.finish();
}

// Checkpoint::write called while a function is traced: the trace gets a
// StatefulPartitionedCall of this body, which writes the checkpoint each
// time the function runs, with the values the objects hold at that point of
// the run (tf.function's SaveV2 node, which reads the variables there).
// Stateful, so the executor keeps it after the ops traced before it and
// before those traced after; it has no inputs or outputs.
class TracedWrite final : public FunctionBody {
 public:
  TracedWrite(Checkpoint checkpoint, std::string path)
      : checkpoint_(std::move(checkpoint)), path_(std::move(path)), name_("Checkpoint.write('" + path_ + "')") {}
  const std::string& name() const override { return name_; }
  std::vector<Tensor> call(std::span<const Tensor>) const override {
    Checkpoint c = checkpoint_;  // (write is not const; copies share the objects and the writer)
    c.write(path_);
    return {};
  }
  std::vector<OutputSpec> input_specs() const override { return {}; }
  std::vector<OutputSpec> output_specs() const override { return {}; }
  bool stateful() const override { return true; }
  std::shared_ptr<const FunctionBody> gradient(std::span<const Tensor>) const override {
    throw Internal(detail::str_cat("[", name_, "] has no inputs to differentiate"));
  }

 private:
  Checkpoint checkpoint_;
  std::string path_;
  std::string name_;
};

bool tracing() { return context().tracer != nullptr; }

}  // namespace

// ---- Checkpoint ---------------------------------------------------------------------------------

Checkpoint::Checkpoint(CheckpointRoots roots) {
  std::sort(roots.begin(), roots.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  auto given = std::find_if(roots.begin(), roots.end(), [](const auto& r) { return r.first == "root"; });
  if (given != roots.end()) {
    EMBER_CHECK(given->second != nullptr, InvalidArgument, "[Checkpoint] the root object is null");
    root_ = given->second;
    roots.erase(given);
    attached_ = std::make_shared<CheckpointRoots>();
  } else {
    root_ = std::make_shared<RootObject>();
  }
  for (auto& [name, obj] : roots) {
    EMBER_CHECK(name != "save_counter", InvalidArgument, "[Checkpoint] 'save_counter' is reserved");
    EMBER_CHECK(obj != nullptr, InvalidArgument, "[Checkpoint] '", name, "' is null");
    if (attached_)
      attached_->emplace_back(name, obj);
    else
      root_->track(name, obj);
  }
  async_ = std::make_shared<AsyncWriter>();
}

Checkpoint Checkpoint::of_object(std::shared_ptr<Trackable> root) {
  EMBER_CHECK(root != nullptr, InvalidArgument, "[Checkpoint] of_object: the root is null");
  Checkpoint c(std::move(root), true);
  c.async_ = std::make_shared<AsyncWriter>();
  return c;
}

Variable Checkpoint::save_counter() {
  EMBER_CHECK(!one_object_, FailedPrecondition,
              "[Checkpoint] a checkpoint of one object (of_object) has no save counter");
  auto existing = [&]() -> std::shared_ptr<Trackable> {
    if (!attached_) return root_->lookup_dependency("save_counter");
    for (const auto& [name, obj] : *attached_)
      if (name == "save_counter") return obj;
    return nullptr;
  }();
  if (existing) return std::static_pointer_cast<TrackableVariable>(existing)->variable();
  InitScope eager;
  NameScope top("", /*absolute=*/true);
  // Each process's own count, made without a strategy's broadcast of rank
  // 0's value: under MultiWorkerMirroredStrategy only rank 0 saves, so only
  // it comes here, and a broadcast would wait for ranks that never join (a
  // restore gives every rank the saved count).
  struct NoInitialValueHook {
    decltype(Context::initial_value_hook) saved = std::exchange(context().initial_value_hook, nullptr);
    ~NoInitialValueHook() { context().initial_value_hook = saved; }
  } own_value;
  Variable counter(constant(int64_t{0}, Device::cpu()), {.name = "save_counter", .trainable = false});
  if (attached_)
    attached_->emplace_back("save_counter", trackable_of(counter));
  else
    root_->track("save_counter", trackable_of(counter));  // (a restore waiting for it hands it its value)
  return counter;
}

std::string Checkpoint::write(const std::string& path, const CheckpointOptions& options) {
  if (tracing()) {
    if (options.enable_async)
      EMBER_LOG_WARN(
          "Saving async checkpoint in graph mode is currently not supported; switching to regular sync "
          "checkpoint instead.");
    execute(op_def(op_name::StatefulPartitionedCall), std::span<const Tensor>{},
            {{"f", FunctionRef(std::make_shared<TracedWrite>(*this, path))}});
    return path;
  }
  return write_then(path, options, nullptr);
}

std::string Checkpoint::write_then(const std::string& path, const CheckpointOptions& options,
                                   std::function<void()> after) {
  async_->sync();  // (a write never overtakes an earlier asynchronous one)
  auto snap = std::make_shared<Snapshot>(take_snapshot(root_, attached_ ? *attached_ : CheckpointRoots{}));
  auto finish = [path, snap, after = std::move(after)] {
    write_snapshot(path, *snap);
    if (after) after();
  };
  if (options.enable_async)
    async_->submit(finish);
  else
    finish();
  return path;
}

std::string Checkpoint::save(const std::string& prefix, const CheckpointOptions& options) {
  EMBER_CHECK(!one_object_, FailedPrecondition,
              "[Checkpoint] save: a checkpoint of one object (of_object) has no save counter; use write");
  EMBER_CHECK(!tracing(), Unimplemented,
              "Calling tf.train.Checkpoint.save() from a function is not supported, as save() modifies saving "
              "metadata in ways not supported by TensorFlow Operations. Consider using tf.train.Checkpoint.write(), "
              "a lower-level API which does not update metadata. tf.train.latest_checkpoint and related APIs will "
              "not see this checkpoint.");
  async_->sync();
  detail::remove_temporaries(files::dirname(prefix), fs::path(prefix).filename().string());
  Variable counter = save_counter();
  counter.assign_add(constant(int64_t{1}, counter.device()));
  std::string path = prefix + "-" + std::to_string(counter.read_value().item<int64_t>());
  return write_then(path, options, [path] { update_checkpoint_state(files::dirname(path), path, {path}); });
}

void Checkpoint::sync() { async_->sync(); }

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

}  // namespace ember
