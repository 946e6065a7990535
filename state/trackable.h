// The object graph a checkpoint saves: Trackable (a node with named
// dependencies and the tensors it saves), AutoTrackable (members that track
// themselves when assigned), the trackable side of Variable, and the hook
// through which serialization/ restores objects that are created after the
// restore was asked for (restore-on-creation).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "core/variable.h"
#include "graph/function.h"

namespace ember {

/// One tensor as a checkpoint stores it: numeric bytes, or strings.
struct SavedTensor {
  std::string suffix;  // appended to the attribute's key: "" or "-keys", "-values"
  bool is_string = false;
  DType dtype = float32;  // for numeric tensors
  TensorShape shape;
  std::string bytes;                 // numeric: row-major little-endian
  std::vector<std::string> strings;  // string tensors
};

/// Something an object saves under one attribute name ("VARIABLE_VALUE",
/// "table"): the tensors to write, and how to take them back.
class Saveable {
 public:
  virtual ~Saveable() = default;
  /// The full name TensorFlow records ("dense/kernel" for a variable; empty otherwise).
  virtual std::string full_name() const { return {}; }
  virtual std::vector<SavedTensor> save() const = 0;
  /// Checks that `tensors` (by suffix) fit, throwing InvalidArgument with
  /// TensorFlow's wording otherwise; changes nothing.
  virtual void check(const std::map<std::string, SavedTensor>& tensors) const = 0;
  /// Takes the values (already checked).
  virtual void restore(const std::map<std::string, SavedTensor>& tensors) = 0;
};

/// A slot variable an optimizer keeps for one variable ("m" of a kernel):
/// checkpoints save it under the variable's path, referenced from the
/// optimizer's node only (TensorFlow's SlotVariableReference).
struct SlotVariable {
  Variable original;
  std::string name;
  Variable slot;
};

class TrackedFunction;

class Trackable : public std::enable_shared_from_this<Trackable> {
 public:
  virtual ~Trackable() = default;

  /// Adds (or rebinds) the dependency `name`; the child is kept alive.
  /// Returns it, as TensorFlow's `_track_trackable` does.
  std::shared_ptr<Trackable> track(const std::string& name, std::shared_ptr<Trackable> child);
  /// As above, returning the child with its own type, as TensorFlow's
  /// `_track_trackable` does: `auto dense = root->track("dense", make_shared<Dense>())`.
  template <typename T>
    requires(std::is_base_of_v<Trackable, T> && !std::is_same_v<T, Trackable>)
  std::shared_ptr<T> track(const std::string& name, std::shared_ptr<T> child) {
    track(name, std::static_pointer_cast<Trackable>(child));
    return child;
  }
  /// Tracks a variable through its (unique) trackable node; returns the variable.
  const Variable& track(const std::string& name, const Variable& v);
  /// Tracks a tf.random.Generator as TensorFlow does: a node whose
  /// dependency "_state_var" is the generator's state variable, so a
  /// checkpoint holds its stream under TensorFlow's key
  /// (`<name>/_state_var/.ATTRIBUTES/VARIABLE_VALUE`) and a restore
  /// continues it. Returns the generator.
  const random::Generator& track(const std::string& name, const random::Generator& g);
  /// Tracks a traced function, as `self.f = tf.function(...)` does: a
  /// SavedModel saves its traces (checkpoints skip it).
  template <typename F>
  std::shared_ptr<TrackedFunction> track(const std::string& name, const Function<F>& f);
  /// Adds (or rebinds) the dependency `name` without keeping the child
  /// alive: an edge back to an object that (indirectly) owns this one, as
  /// a SavedModel's object graph may hold (TensorFlow allows cycles; shared
  /// ownership around one would never be freed). Gone once the child is.
  void track_back_reference(const std::string& name, const std::shared_ptr<Trackable>& child);
  /// The dependency called `name`, or null.
  std::shared_ptr<Trackable> lookup_dependency(const std::string& name) const;
  /// Dependencies in the order they were first tracked (a back reference
  /// whose object is gone left out).
  std::vector<std::pair<std::string, std::shared_ptr<Trackable>>> dependencies() const;
  /// Whether only a SavedModel records this object (a function), a
  /// checkpoint not (TensorFlow's SaveType.SAVEDMODEL children).
  virtual bool saved_model_only() const { return false; }
  /// What this object saves, by attribute name (empty for a plain trackable).
  virtual std::map<std::string, std::shared_ptr<Saveable>> saveables() { return {}; }
  /// Throws (InvalidArgument) when this object cannot be saved as it is: a
  /// tracked list changed other than by appending. Checkpoints and
  /// SavedModels ask every object before writing anything.
  virtual void check_saveable() const {}
  /// The identifier a SavedModel records for this object when it is neither
  /// a variable nor a function; empty for TensorFlow's generic user object.
  virtual std::string saved_object_identifier() const { return {}; }

  /// The slot variables this object holds (an optimizer's), in creation order.
  virtual std::vector<SlotVariable> slot_variables() const { return {}; }
  /// Restore-on-creation of a slot: a checkpoint holds slot `name` of
  /// `original`; `restore` takes it into the slot variable, now if the slot
  /// exists, else the moment it is created. An object without slots
  /// ignores it (the value stays unused).
  virtual void restore_slot(const Variable& original, const std::string& name,
                            std::function<void(const Variable& slot)> restore) {
    (void)original;
    (void)name;
    (void)restore;
  }

  /// Restore-on-creation: `on_track` runs (once) when a dependency called
  /// `name` is tracked, or right away if it already exists. Filled by
  /// serialization/ for values whose object did not exist at restore time.
  void defer_until_tracked(const std::string& name,
                           std::function<void(const std::shared_ptr<Trackable>&)> on_track);
  /// Restorations still waiting here for a dependency to be created.
  size_t pending_restorations() const;

 protected:
  /// Drops the dependency `name`, if any (a tracked map's erased key).
  void untrack(const std::string& name);

 private:
  struct Dependency {
    std::string name;
    std::shared_ptr<Trackable> owned;  // null for a back reference
    std::weak_ptr<Trackable> back;
    std::shared_ptr<Trackable> get() const { return owned ? owned : back.lock(); }
  };
  void bind(const std::string& name, std::shared_ptr<Trackable> owned, std::weak_ptr<Trackable> back);
  std::vector<Dependency> deps_;
  std::multimap<std::string, std::function<void(const std::shared_ptr<Trackable>&)>> pending_;
};

/// The trackable node of a variable: one per variable, whichever handle asks.
class TrackableVariable : public Trackable {
 public:
  explicit TrackableVariable(Variable v) : variable_(std::move(v)) {}
  const Variable& variable() const { return variable_; }
  std::map<std::string, std::shared_ptr<Saveable>> saveables() override;

 private:
  Variable variable_;
};

/// The (unique) trackable node of `v`.
std::shared_ptr<TrackableVariable> trackable_of(const Variable& v);

inline const Variable& Trackable::track(const std::string& name, const Variable& v) {
  track(name, std::static_pointer_cast<Trackable>(trackable_of(v)));
  return v;
}

inline const random::Generator& Trackable::track(const std::string& name, const random::Generator& g) {
  auto node = std::make_shared<Trackable>();
  node->track("_state_var", g.state_variable());
  track(name, node);
  return g;
}

/// A traced function in the object graph (what `Trackable::track` makes of
/// a Function): a SavedModel saves its concrete functions.
class TrackedFunction : public Trackable {
 public:
  using Traces = std::function<std::vector<ConcreteFunction>()>;
  TrackedFunction(FunctionOptions options, Traces traces)
      : options_(std::move(options)), traces_(std::move(traces)) {}
  bool saved_model_only() const override { return true; }
  /// The traces a SavedModel saves (tracing the input signature if needed).
  std::vector<ConcreteFunction> concrete_functions() const { return traces_(); }
  const FunctionOptions& options() const { return options_; }

 private:
  FunctionOptions options_;
  Traces traces_;
};

template <typename F>
std::shared_ptr<TrackedFunction> Trackable::track(const std::string& name, const Function<F>& f) {
  auto node = std::make_shared<TrackedFunction>(f.options(), [fn = Function<F>(f)]() mutable { return fn.concrete_functions_for_saving(); });
  track(name, std::static_pointer_cast<Trackable>(node));
  return node;
}

/// A Trackable that tracks its members when they are assigned (members are
/// declared as Tracked<T>).
class AutoTrackable : public Trackable {};

namespace detail {
inline std::shared_ptr<Trackable> as_trackable(const Variable& v) {
  return v.defined() ? trackable_of(v) : nullptr;
}
template <typename T>
std::shared_ptr<Trackable> as_trackable(const std::shared_ptr<T>& p) {
  return std::static_pointer_cast<Trackable>(p);
}
}  // namespace detail

/// A member that adds itself as a dependency of its owner when assigned, as
/// `self.w = tf.Variable(...)` does:
///   ember::Tracked<ember::Variable> w{this, "w"};
///   w = ember::Variable(init);   // tracked as "w"; restored now if a checkpoint waits for it
template <typename T>
class Tracked {
 public:
  Tracked(Trackable* owner, std::string name) : owner_(owner), name_(std::move(name)) {}
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;

  Tracked& operator=(T value) {
    value_ = std::move(value);
    if (auto t = detail::as_trackable(value_)) owner_->track(name_, t);
    return *this;
  }
  T& operator*() { return value_; }
  const T& operator*() const { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  const T& get() const { return value_; }
  explicit operator bool() const {
    if constexpr (std::is_same_v<T, Variable>)
      return value_.defined();
    else
      return value_ != nullptr;
  }
  const std::string& name() const { return name_; }

 private:
  Trackable* owner_;
  std::string name_;
  T value_{};
};

}  // namespace ember
