// Tracked lists and maps: what `self.layers = [...]` and `self.d = {...}`
// make in TensorFlow (ListWrapper, _DictWrapper). Each is a node of the
// object graph whose children are its elements, named by index ("0", "1",
// ...) or by key, so checkpoint keys are TensorFlow's
// (`m/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE`) and elements appended
// after a restore take their values then (restore-on-creation).
//
//   struct Mlp : ember::Module {
//     std::shared_ptr<ember::TrackedList<std::shared_ptr<Dense>>> layers =
//         track("layers", std::make_shared<ember::TrackedList<std::shared_ptr<Dense>>>());
//   };
//   mlp->layers->push_back(std::make_shared<Dense>(10));
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "state/trackable.h"

namespace ember {

/// What tracked lists and maps share (TensorFlow's TrackableDataStructure):
/// tf.Module's flattening walks into their elements.
class TrackableDataStructure : public Trackable {
 public:
  /// The elements that are trackable, as tf.nest orders them (a list in
  /// order, a map by key).
  virtual std::vector<std::shared_ptr<Trackable>> elements() const = 0;
};

/// A list whose trackable elements are dependencies "0", "1", ... As in
/// TensorFlow, only appending keeps it saveable: after an element is
/// replaced or removed, restoring by index could hand a value to the wrong
/// object, so a checkpoint or SavedModel that includes it is refused.
template <typename T>
class TrackedList final : public TrackableDataStructure {
 public:
  TrackedList() = default;
  explicit TrackedList(std::vector<T> items) {
    for (T& x : items) push_back(std::move(x));
  }

  /// Appends: tracked as its index (and restored now if a checkpoint waits for it).
  void push_back(T value) {
    items_.push_back(std::move(value));
    if (auto t = detail::as_trackable(items_.back())) track(std::to_string(items_.size() - 1), t);
  }
  /// Replaces element i; the list can no longer be saved.
  void set(size_t i, T value) {
    EMBER_CHECK(i < items_.size(), InvalidArgument, "[TrackedList] index ", i, " out of range for a list of ",
                items_.size());
    items_[i] = std::move(value);
    mutated_ = true;
  }
  /// Removes the last element; the list can no longer be saved.
  void pop_back() {
    EMBER_CHECK(!items_.empty(), InvalidArgument, "[TrackedList] pop from an empty list");
    items_.pop_back();
    mutated_ = true;
  }
  const T& operator[](size_t i) const { return items_.at(i); }
  const T& back() const { return items_.back(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

  std::vector<std::shared_ptr<Trackable>> elements() const override {
    std::vector<std::shared_ptr<Trackable>> out;
    for (const T& x : items_)
      if (auto t = detail::as_trackable(x)) out.push_back(t);
    return out;
  }
  void check_saveable() const override {
    EMBER_CHECK(!mutated_, InvalidArgument,
                "Unable to save the object ListWrapper(", items_.size(),
                " elements) (a list wrapper constructed to track trackable TensorFlow objects). A list element "
                "was replaced (__setitem__, __setslice__), deleted (__delitem__, __delslice__), or moved (sort). "
                "In order to support restoration on object creation, tracking is exclusively for append-only "
                "data structures.\n\nIf you don't need this list checkpointed, wrap it in a non-trackable "
                "object; it will be subsequently ignored.");
  }
  std::string saved_object_identifier() const override { return "trackable_list_wrapper"; }

 private:
  std::vector<T> items_;
  bool mutated_ = false;
};

/// A map from string keys whose trackable values are dependencies named by
/// key. As TensorFlow's dict wrapper, it may be changed freely: a key set
/// again is tracked again, an erased key stops being a dependency.
template <typename T>
class TrackedDict final : public TrackableDataStructure {
 public:
  TrackedDict() = default;
  explicit TrackedDict(std::map<std::string, T> items) {
    for (auto& [k, v] : items) set(k, std::move(v));
  }

  void set(const std::string& key, T value) {
    T& slot = items_[key] = std::move(value);
    if (auto t = detail::as_trackable(slot))
      track(key, t);
    else
      untrack(key);
  }
  void erase(const std::string& key) {
    items_.erase(key);
    untrack(key);
  }
  const T& at(const std::string& key) const {
    auto it = items_.find(key);
    EMBER_CHECK(it != items_.end(), NotFound, "[TrackedDict] no key '", key, "'");
    return it->second;
  }
  bool contains(const std::string& key) const { return items_.count(key) != 0; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

  std::vector<std::shared_ptr<Trackable>> elements() const override {
    std::vector<std::shared_ptr<Trackable>> out;
    for (const auto& [k, v] : items_)
      if (auto t = detail::as_trackable(v)) out.push_back(t);
    return out;
  }
  std::string saved_object_identifier() const override { return "trackable_dict_wrapper"; }

 private:
  std::map<std::string, T> items_;
};

}  // namespace ember
