// Variable, its data side: a handle to a device buffer that ops read and
// assign (ReadVariableOp, AssignVariableOp, AssignAddVariableOp,
// AssignSubVariableOp), so tapes record reads and traced functions capture
// the variable itself. Its trackable side (checkpoints) lives in state/.
//
// A Variable is a handle: copies share one state. Reads alias the current
// buffer; the assignments and the optimizer updates (ResourceApply*) write
// in place when no read still holds the buffer (its address stays), and
// into a new buffer otherwise (copy on write), so a value read before an
// assignment never changes.
#pragma once

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember {

/// The state behind a variable handle.
struct VariableState : ResourceBase {
  // The rule, as TensorFlow's: a read sees a whole value, never a torn one,
  // on any thread. Reads take the current buffer under a lock; an
  // assignment writes into it only while no read value holds it (else it
  // installs a new one), and assign_add/assign_sub hold the lock from
  // reading the old value to writing the new one, so concurrent updates are
  // not lost.
  Tensor value() const {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }
  void set_value(Tensor v) {
    std::lock_guard<std::mutex> lock(mu_);
    value_ = std::move(v);
  }
  /// The current buffer's address, and whether the variable alone holds it
  /// (so an in-place write changes no value anyone else can see).
  std::pair<const void*, bool> buffer_state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {value_.defined() ? value_.raw_data() : nullptr, value_.buffer_is_exclusive()};
  }
  /// value = f(value), atomically with respect to other reads and updates.
  template <typename F>
  void update(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    value_ = f(value_);
  }

  /// Runs f(values) on the current buffers of `states` (distinct variables),
  /// holding every one's lock (taken in address order, so two updates of
  /// overlapping sets cannot deadlock). Each buffer is first made exclusive:
  /// one a read still holds is copied (copy on write), so `f` may write
  /// into them and a value read earlier never changes. The optimizer
  /// updates' kernels run through this.
  template <typename F>
  static void update_in_place(std::span<VariableState* const> states, F&& f) {
    std::vector<VariableState*> order(states.begin(), states.end());
    std::sort(order.begin(), order.end());
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(order.size());
    for (VariableState* s : order) locks.emplace_back(s->mu_);
    std::vector<Tensor> values;
    values.reserve(states.size());
    for (VariableState* s : states) {
      if (!s->value_.buffer_is_exclusive()) s->value_ = s->value_.clone();
      values.push_back(s->value_);
    }
    f(std::span<Tensor>(values));
  }

  DType dtype;
  TensorShape shape;
  std::string name;  // "scope/Variable:0"
  bool trainable = true;
  // The variable's node in an object graph, made by state/ on first use (a
  // hook: core does not know what it points to).
  std::weak_ptr<void> trackable;

 private:
  mutable std::mutex mu_;
  Tensor value_;
};

struct VariableOptions {
  std::string name = "Variable";  // prefixed with the current name scope, suffixed ":0"
  bool trainable = true;
};

class Variable {
 public:
  /// An empty handle (`defined()` is false), for members built later.
  Variable() = default;
  /// A variable holding a copy of `initial_value`, on its device.
  Variable(const Tensor& initial_value, VariableOptions options = {});  // NOLINT: implicit
  /// Variable(1.0) is float32, as tf.Variable(1.0); Variable(1) int32.
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Variable(T initial_value, VariableOptions options = {})  // NOLINT: implicit, as tf.Variable(1.0)
      : Variable(constant(initial_value), std::move(options)) {}
  /// A list literal: Variable({1.f, 2.f}), Variable({1., 2.}) (float32).
  template <typename T>
  Variable(std::initializer_list<T> initial_value, VariableOptions options = {})  // NOLINT
      : Variable(constant(initial_value), std::move(options)) {}

  bool defined() const { return state_ != nullptr; }
  const std::string& name() const { return state().name; }
  bool trainable() const { return state().trainable; }
  DType dtype() const { return state().dtype; }
  const TensorShape& shape() const { return state().shape; }
  Device device() const { return handle_.device(); }

  /// The current value, through ReadVariableOp (recorded by tapes that watch it).
  Tensor read_value() const;
  /// A Variable is usable wherever a tensor is: it reads its value.
  operator Tensor() const { return read_value(); }  // NOLINT: implicit

  /// Assigns a value of the variable's dtype and shape; returns *this.
  Variable& assign(const Tensor& value);
  Variable& assign_add(const Tensor& delta);
  Variable& assign_sub(const Tensor& delta);
  /// Lists in the variable's dtype: v.assign_add({1.f, 1.f}).
  template <typename T>
  Variable& assign(std::initializer_list<T> value) {
    return assign(constant(value, dtype(), device()));
  }
  template <typename T>
  Variable& assign_add(std::initializer_list<T> delta) {
    return assign_add(constant(delta, dtype(), device()));
  }
  template <typename T>
  Variable& assign_sub(std::initializer_list<T> delta) {
    return assign_sub(constant(delta, dtype(), device()));
  }

  /// The resource tensor ops take (dtype resource, shape ()); stable for the
  /// variable's lifetime, so tapes watch a variable through its id.
  const Tensor& handle() const { return handle_; }
  const std::shared_ptr<VariableState>& state_ptr() const { return state_; }
  /// The variable a resource handle belongs to.
  static Variable from_handle(const Tensor& handle);

  friend bool operator==(const Variable& a, const Variable& b) { return a.state_ == b.state_; }
  std::string to_string() const;

 private:
  const VariableState& state() const;
  std::shared_ptr<VariableState> state_;
  Tensor handle_;
};

std::ostream& operator<<(std::ostream& os, const Variable& v);

}  // namespace ember
