#include "serialization/checkpoint.h"

#include <google/protobuf/text_format.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "checkpoint_state.pb.h"
#include "core/context.h"
#include "core/error.h"
#include "serialization/bundle.h"
#include "trackable_object_graph.pb.h"

namespace ember {

namespace fs = std::filesystem;
using tensorflow::TrackableObjectGraph;

namespace {

const char* const kGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH";

class RootObject : public AutoTrackable {};

struct Node {
  std::shared_ptr<Trackable> obj;
  std::string path;  // escaped local names joined by '/'
};

// Breadth first from the root, children in tracking order; an object reached
// again keeps its first (shortest) path.
std::vector<Node> breadth_first(const std::shared_ptr<Trackable>& root,
                                std::map<const Trackable*, int>& ids) {
  std::vector<Node> nodes{{root, ""}};
  ids[root.get()] = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node n = nodes[i];
    for (const auto& [name, child] : n.obj->dependencies()) {
      if (ids.count(child.get())) continue;
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

std::string dirname_of(const std::string& path) {
  fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

void write_file_atomically(const std::string& file, const std::string& contents) {
  std::string tmp =
      file + ".tmp" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) throw DataLoss(detail::str_cat("[checkpoint] cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw DataLoss(detail::str_cat("[checkpoint] cannot rename ", tmp, " to ", file));
  }
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
  write_file_atomically((fs::path(dir) / "checkpoint").string(), text);
}

bool read_state(const std::string& dir, tensorflow::CheckpointState& s) {
  std::ifstream in(fs::path(dir) / "checkpoint");
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  if (!google::protobuf::TextFormat::ParseFromString(ss.str(), &s))
    throw DataLoss(detail::str_cat("[checkpoint] ", (fs::path(dir) / "checkpoint").string(),
                                   " is not a CheckpointState"));
  return true;
}

std::string resolve(const std::string& dir, const std::string& p) {
  return fs::path(p).is_absolute() ? p : (fs::path(dir) / p).string();
}

void remove_checkpoint_files(const std::string& prefix) {
  std::error_code ec;
  fs::remove(prefix + ".index", ec);
  fs::path dir =
      fs::path(prefix).has_parent_path() ? fs::path(prefix).parent_path() : fs::path(".");
  std::string stem = fs::path(prefix).filename().string() + ".data-";
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(stem, 0) == 0) fs::remove(e.path(), ec);
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
  int pending = 0;

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

  // Binds `node` to `obj` and below; reads and checks every value first
  // (collect), so a mismatch throws before anything changes.
  void collect(int node, const std::shared_ptr<Trackable>& obj, std::vector<Plan>& plans,
               std::vector<Deferral>& deferrals) {
    if (!bound[static_cast<size_t>(node)].expired()) return;
    bound[static_cast<size_t>(node)] = obj;
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
    for (auto& d : deferrals) {
      if (!self->bound[static_cast<size_t>(d.node)].expired()) continue;
      ++self->pending;
      int node = d.node;
      d.parent->defer_until_tracked(d.name, [self, node](const std::shared_ptr<Trackable>& child) {
        --self->pending;
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
  if (state_->pending > 0)
    throw FailedPrecondition(
        detail::str_cat("[checkpoint] ", state_->pending,
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

std::string Checkpoint::write(const std::string& path) {
  std::map<const Trackable*, int> ids;
  auto nodes = breadth_first(root_, ids);
  TrackableObjectGraph graph;
  bundle::Writer writer(path);
  for (const Node& n : nodes) {
    auto* p = graph.add_nodes();
    for (const auto& [name, child] : n.obj->dependencies()) {
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
  // has_checkpoint_values: the node or anything below it saves something.
  std::vector<int> memo(nodes.size(), -1);
  std::function<bool(int)> has = [&](int i) -> bool {
    if (memo[static_cast<size_t>(i)] >= 0) return memo[static_cast<size_t>(i)];
    memo[static_cast<size_t>(i)] = 0;  // cycles (not expected) count as empty
    bool v = graph.nodes(i).attributes_size() > 0;
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
  save_counter_.assign_add(constant(int64_t{1}, save_counter_.device()));
  int64_t n = save_counter_.read_value().item<int64_t>();
  std::string path = prefix + "-" + std::to_string(n);
  write(path);
  write_state(dirname_of(prefix), {path}, {now_seconds()}, now_seconds());
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
  if (!read_state(dir, s) || s.model_checkpoint_path().empty()) return "";
  std::string p = resolve(dir, s.model_checkpoint_path());
  return fs::exists(p + ".index") ? p : "";
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
  fs::create_directories(dir_);
  tensorflow::CheckpointState s;
  if (read_state(dir_, s)) {
    for (int i = 0; i < s.all_model_checkpoint_paths_size(); ++i) {
      std::string p = resolve(dir_, s.all_model_checkpoint_paths(i));
      if (!fs::exists(p + ".index")) continue;
      paths_.push_back(p);
      timestamps_.push_back(i < s.all_model_checkpoint_timestamps_size()
                                ? s.all_model_checkpoint_timestamps(i)
                                : now_seconds());
    }
    if (s.last_preserved_timestamp() > 0) last_preserved_ = s.last_preserved_timestamp();
  }
}

std::string CheckpointManager::save() {
  Variable counter = checkpoint_.save_counter();
  counter.assign_add(constant(int64_t{1}, counter.device()));
  std::string path =
      (fs::path(dir_) / (name_ + "-" + std::to_string(counter.read_value().item<int64_t>())))
          .string();
  checkpoint_.write(path);
  paths_.erase(std::remove(paths_.begin(), paths_.end(), path), paths_.end());
  paths_.push_back(path);
  timestamps_.resize(paths_.size() - 1);
  timestamps_.push_back(now_seconds());
  // Sweep the oldest beyond max_to_keep, keeping one every keep_hours.
  while (max_to_keep_ > 0 && static_cast<int>(paths_.size()) > max_to_keep_) {
    std::string old = paths_.front();
    double stamp = timestamps_.front();
    paths_.erase(paths_.begin());
    timestamps_.erase(timestamps_.begin());
    if (keep_hours_ > 0 && stamp - last_preserved_ >= keep_hours_ * 3600) {
      last_preserved_ = stamp;  // kept on disk, no longer managed
      continue;
    }
    remove_checkpoint_files(old);
  }
  write_state(dir_, paths_, timestamps_, last_preserved_);
  return path;
}

}  // namespace ember
