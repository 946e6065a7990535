// Restoring a checkpoint (Checkpoint::restore): the saved object graph is
// matched against the live one from the root, by local names; every value
// for a live object is read and checked before any is assigned; values for
// objects that do not exist yet wait for them (restore-on-creation,
// Trackable::defer_until_tracked), read from the checkpoint again when they
// are made, and a later restore wins over an earlier one (each restore has
// an id, and an object remembers the id of the restore that set it).
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "core/context.h"
#include "core/error.h"
#include "core/logging.h"
#include "serialization/bundle.h"
#include "serialization/checkpoint.h"
#include "serialization/checkpoint_internal.h"
#include "trackable_object_graph.pb.h"

namespace ember {

using tensorflow::TrackableObjectGraph;
using detail::breadth_first;

namespace {

std::atomic<uint64_t> next_restore_uid{1};

// Per object, the id of the restore that last set its values (TensorFlow's
// _update_uid). Keyed by address, with the object held weakly so that a new
// object at a reused address starts afresh.
struct RestoreIds {
  std::mutex mu;
  std::map<const Trackable*, std::pair<std::weak_ptr<Trackable>, uint64_t>> ids;
};
RestoreIds& restore_ids() {
  static RestoreIds* r = new RestoreIds();  // (outlives static destructors)
  return *r;
}

// Whether restore `uid` may set `obj`'s values (no newer restore set them); records it.
bool claim(const std::shared_ptr<Trackable>& obj, uint64_t uid) {
  RestoreIds& r = restore_ids();
  std::lock_guard<std::mutex> lock(r.mu);
  auto [it, fresh] = r.ids.try_emplace(obj.get(), obj, uid);
  if (!fresh) {
    if (!it->second.first.expired() && it->second.first.lock() == obj && it->second.second > uid) return false;
    it->second = {obj, uid};
  }
  if (r.ids.size() > 4096 && fresh)  // now and then, forget the objects that are gone
    std::erase_if(r.ids, [](const auto& e) { return e.second.first.expired(); });
  return true;
}

}  // namespace


struct RestoreState {
  std::string path;
  bool nothing = false;  // restore("") : no checkpoint
  uint64_t uid = next_restore_uid++;
  bool partial_expected = false;
  // The root's attached dependencies (Checkpoint(root=...)), matched as its children.
  CheckpointRoots attached;
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

  // The checkpoint's reader: open while a restore reads, closed between
  // (a value waiting for its object reads the file again when it is made).
  std::unique_ptr<bundle::Reader> open_reader;
  bundle::Reader& reader() {
    if (!open_reader) open_reader = std::make_unique<bundle::Reader>(path);
    return *open_reader;
  }
  void close_reader() { open_reader.reset(); }

  // TensorFlow's warning when the restored objects go with values they never took.
  ~RestoreState() {
    if (nothing || partial_expected || bound.size() != static_cast<size_t>(graph.nodes_size())) return;
    try {
      std::vector<std::string> unused;
      for (int i = 0; i < graph.nodes_size(); ++i) {
        bool never_bound = bound[static_cast<size_t>(i)].expired() && !restored[static_cast<size_t>(i)];
        if (never_bound && graph.nodes(i).attributes_size() > 0) unused.push_back(describe(i));
      }
      if (unused.empty()) return;
      EMBER_LOG_WARN(
          "Detecting that an object or model or tf.train.Checkpoint is being deleted with unrestored values. "
          "See the following logs for the specific values in question. To silence these warnings, use "
          "`status.expect_partial()`.");
      for (const std::string& u : unused)
        EMBER_LOG_WARN("Value in checkpoint could not be found in the restored object: {}", u);
    } catch (...) {  // (a destructor never throws)
    }
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
      for (const auto& k : reader().keys_with_prefix(key)) {
        std::string suffix = k.substr(key.size());
        if (suffix.empty() || suffix[0] == '-') p.tensors[suffix] = reader().read(k);
      }
      if (p.tensors.empty())
        throw NotFound(detail::str_cat("Key ", key, " not found in checkpoint ", path));
      slot_plans.push_back(std::move(p));
      it = waiting_slots.erase(it);
    }
  }

  std::shared_ptr<Trackable> lookup(int node, const std::shared_ptr<Trackable>& obj, const std::string& name) const {
    if (node == 0)
      for (const auto& [n, a] : attached)
        if (n == name) return a;
    return obj->lookup_dependency(name);
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
      for (const auto& k : reader().keys_with_prefix(key)) {
        std::string suffix = k.substr(key.size());
        if (!suffix.empty() && suffix[0] != '-') continue;
        p.tensors[suffix] = reader().read(k);
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
      if (auto child = lookup(node, obj, ref.local_name()))
        collect(ref.node_id(), child, plans, deferrals);
      else if (has_values(ref.node_id()))  // (nothing to wait for below a node without values)
        deferrals.push_back({obj, ref.local_name(), ref.node_id()});
    }
  }

  static void apply(const std::shared_ptr<RestoreState>& self, std::vector<Plan>& plans,
                    std::vector<Deferral>& deferrals) {
    for (auto& p : plans) {
      auto obj = self->bound[static_cast<size_t>(p.node)].lock();
      if (obj && claim(obj, self->uid)) p.saveable->restore(p.tensors);  // (a newer restore's value stays)
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
            if (claim(t, self->uid)) saveable->restore(tensors);
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
        try {
          self->collect(node, child, plans2, deferrals2);
        } catch (...) {
          self->close_reader();
          throw;
        }
        self->close_reader();
        apply(self, plans2, deferrals2);
      });
    }
  }

  bool has_values(int node) const {
    const auto& n = graph.nodes(node);
    if (n.has_has_checkpoint_values()) return n.has_checkpoint_values().value();
    return n.attributes_size() > 0;
  }

  // A node's name for messages, as TensorFlow's ObjectGraphProtoPrettyPrinter
  // gives it: the path of names from the root, "(root).model.dense.kernel";
  // a slot variable "<optimizer>'s state 'm' for <variable>".
  std::string describe(int node) const {
    if (names.empty()) {
      const auto n = static_cast<size_t>(graph.nodes_size());
      names.assign(n, std::string());
      std::vector<bool> seen(n, false);
      std::deque<int> q{0};
      names[0] = "(root)";
      seen[0] = true;
      while (!q.empty()) {
        int i = q.front();
        q.pop_front();
        for (const auto& r : graph.nodes(i).children())
          if (r.node_id() >= 0 && r.node_id() < graph.nodes_size() && !seen[static_cast<size_t>(r.node_id())]) {
            seen[static_cast<size_t>(r.node_id())] = true;
            names[static_cast<size_t>(r.node_id())] = names[static_cast<size_t>(i)] + "." + r.local_name();
            q.push_back(r.node_id());
          }
      }
      auto valid = [&](int i) { return i >= 0 && i < graph.nodes_size(); };
      for (int i = 0; i < graph.nodes_size(); ++i)
        for (const auto& sv : graph.nodes(i).slot_variables())
          if (valid(sv.slot_variable_node_id()) && valid(sv.original_variable_node_id()))
            names[static_cast<size_t>(sv.slot_variable_node_id())] =
                names[static_cast<size_t>(i)] + "'s state '" + sv.slot_name() + "' for " +
                names[static_cast<size_t>(sv.original_variable_node_id())];
      for (size_t i = 0; i < n; ++i)
        if (names[i].empty()) names[i] = "(node " + std::to_string(i) + ", not reached from the root)";
    }
    return names[static_cast<size_t>(node)];
  }
  mutable std::vector<std::string> names;  // describe's, made on first use
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
  for (const auto& n : breadth_first(root_, ids, state_->attached)) {
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

const RestoreStatus& RestoreStatus::expect_partial() const {
  state_->partial_expected = true;
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


RestoreStatus Checkpoint::restore_impl(const std::string& path, bool make_save_counter) {
  // (TensorFlow's restore and read fail inside a tf.function too, with a TypeError.)
  EMBER_CHECK(context().tracer == nullptr, Unimplemented, "[Checkpoint] ",
              make_save_counter ? "restore" : "read",
              " inside a traced function is not supported: restore before calling the function (values wait "
              "for variables the function creates)");
  async_->sync();  // (a checkpoint being written in the background is complete first)
  auto state = std::make_shared<RestoreState>();
  state->path = path;
  if (path.empty()) {
    state->nothing = true;
    return RestoreStatus(state, root_);
  }
  if (!one_object_ && make_save_counter) save_counter();  // made now, so it takes the saved count
  if (attached_) state->attached = *attached_;
  SavedTensor g = state->reader().read(detail::kObjectGraphKey);
  if (!g.is_string || g.strings.size() != 1 || !state->graph.ParseFromString(g.strings[0]))
    throw DataLoss(detail::str_cat("[checkpoint] ", path, ": ", detail::kObjectGraphKey, " is not a TrackableObjectGraph"));
  if (state->graph.nodes_size() == 0) throw DataLoss(detail::str_cat("[checkpoint] ", path, ": empty object graph"));
  state->bound.resize(static_cast<size_t>(state->graph.nodes_size()));
  state->restored.assign(static_cast<size_t>(state->graph.nodes_size()), false);
  std::vector<RestoreState::Plan> plans;
  std::vector<RestoreState::Deferral> deferrals;
  state->collect(0, root_, plans, deferrals);  // reads and checks everything; throws before any change
  state->close_reader();
  RestoreState::apply(state, plans, deferrals);
  return RestoreStatus(state, root_);
}

}  // namespace ember
