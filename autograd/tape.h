// GradientTape: TensorFlow 2's tf.GradientTape.
//
// A tape records the ops whose inputs it watches: tensors passed to
// `watch()`, trainable variables read while it records (unless
// `watch_accessed_variables` is false), and every floating output of a
// recorded op. `gradient()` walks the record backwards once, calling each
// op's gradient function, which is written with ordinary ops: so gradients
// run on any device, and an enclosing tape records them (a gradient of a
// gradient is just a second tape).
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"
#include "core/variable.h"

namespace ember {

/// What `gradient` returns for a source the target does not depend on.
enum class UnconnectedGradients { None, Zero };

/// A source of a gradient: a tensor (which must be watched) or a variable.
class Source {
 public:
  Source(const Tensor& t) : tensor_(t) {}                           // NOLINT: implicit
  Source(const Variable& v) : tensor_(v.handle()), variable_(v) {}  // NOLINT: implicit
  /// The tensor the tape tracks: the tensor itself, or the variable's handle.
  const Tensor& tracked() const { return tensor_; }
  bool is_variable() const { return variable_.defined(); }
  const Variable& variable() const { return variable_; }
  /// Shape and dtype of the source's value.
  TensorShape shape() const { return is_variable() ? variable_.shape() : tensor_.shape(); }
  DType dtype() const { return is_variable() ? variable_.dtype() : tensor_.dtype(); }

 private:
  Tensor tensor_;
  Variable variable_;
};

struct GradientTapeOptions {
  bool persistent = false;
  bool watch_accessed_variables = true;
};

class GradientTape {
 public:
  /// Starts recording on this thread (a tape is its own `with` block).
  explicit GradientTape(GradientTapeOptions options = {});
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  /// Watches a floating tensor (others are ignored with a warning), or a variable.
  void watch(const Tensor& t);
  void watch(const Variable& v);
  /// Variables watched so far, explicitly or by being read, in first-watch order.
  std::vector<Variable> watched_variables() const;

  /// d(target)/d(source). A non-scalar target gives the gradient of its sum.
  Tensor gradient(const Tensor& target, const Source& source,
                  UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// One gradient per source (undefined, or zeros, where unconnected).
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Source>& sources,
                               UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// One gradient per variable (model.trainable_variables()). A template so
  /// that a braced list still means a list of Sources.
  template <typename V>
    requires std::same_as<V, Variable>
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<V>& sources,
                               UnconnectedGradients unconnected = UnconnectedGradients::None) {
    return gradient(target, std::vector<Source>(sources.begin(), sources.end()), unconnected);
  }
  /// Several targets (their gradients are summed), each with an optional
  /// output gradient (the vector of a vector-Jacobian product).
  std::vector<Tensor> gradient(const std::vector<Tensor>& targets,
                               const std::vector<Source>& sources,
                               const std::vector<Tensor>& output_gradients,
                               UnconnectedGradients unconnected = UnconnectedGradients::None);

  /// Called with a source's index and its gradient (undefined when none
  /// flows) as soon as the backward pass has nothing more to add to it,
  /// while the pass goes on: a distributed step starts reducing a bucket of
  /// gradients then (distribute/strategy.h), as PyTorch's DDP hooks do.
  using GradientReady = std::function<void(size_t source, const Tensor& gradient)>;
  /// The gradients of `target` as above, each handed to `on_ready` when final.
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Source>& sources,
                               const GradientReady& on_ready,
                               UnconnectedGradients unconnected = UnconnectedGradients::None);

  /// The full Jacobian: shape target.shape + source.shape.
  Tensor jacobian(const Tensor& target, const Source& source,
                  UnconnectedGradients unconnected = UnconnectedGradients::None);
  /// Per-example Jacobians: target [b, y...], source [b, x...] -> [b, y..., x...].
  /// Assumes example i of the target depends only on example i of the source.
  Tensor batch_jacobian(const Tensor& target, const Tensor& source,
                        UnconnectedGradients unconnected = UnconnectedGradients::None);

  /// Pauses recording while alive (tape.stop_recording()).
  class StopRecording {
   public:
    ~StopRecording();
    StopRecording(StopRecording&& o) noexcept : tape_(o.tape_) { o.tape_ = nullptr; }
    StopRecording(const StopRecording&) = delete;
    StopRecording& operator=(const StopRecording&) = delete;

   private:
    friend class GradientTape;
    explicit StopRecording(GradientTape* tape) : tape_(tape) {}
    GradientTape* tape_;
  };
  [[nodiscard]] StopRecording stop_recording();
  /// Forgets everything recorded and watched, as leaving and re-entering the tape.
  void reset();

  bool persistent() const;
  bool recording() const;
  /// Ops recorded so far (for tests and memory checks).
  size_t num_recorded() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// A gradient of zeros for `like`: zeros of its shape, or for a list (a
/// variant tensor) a list of as many unset elements.
Tensor zeros_gradient(const Tensor& like);

/// Watches on `tape` every input a gradient can reach (a floating tensor, a
/// list, a floating variable's handle) and appends it to `sources`. Returns, per
/// input, its index in `sources` (-1: none).
std::vector<int> watch_differentiable(GradientTape& tape, std::span<const Tensor> inputs,
                                      std::vector<Source>& sources);

/// Whether a tape on this thread is recording now.
bool any_tape_recording();

/// The gradient of a While op as ops (a loop that runs the forward again
/// keeping each iteration's inputs, then a loop over the body's gradient
/// function in reverse): what a loop inside a trace, or under a tape that
/// records the gradient, needs. graph/control_flow.cpp builds it (it traces
/// the loops' functions) and installs it here.
struct GradContext;  // core/op_registry.h
using LoopGradientFn = std::vector<Tensor> (*)(const GradContext& c);
void set_loop_gradient(LoopGradientFn fn);
LoopGradientFn loop_gradient();

/// Hides this thread's active tapes while alive: the ops run meanwhile are
/// recorded only by tapes made inside (how graph/ traces the gradient of a
/// traced function without the caller's tapes seeing it).
class TapeIsolation {
 public:
  TapeIsolation();
  ~TapeIsolation();
  TapeIsolation(const TapeIsolation&) = delete;
  TapeIsolation& operator=(const TapeIsolation&) = delete;

 private:
  std::vector<GradientTape::Impl*> saved_;
  TapeHook* saved_hook_;  // the context's hook as it was (a kernel's scope pauses it)
};

}  // namespace ember
