// The per-thread execution context: device scope, name scope, and the two
// hooks through which the upper layers attach to the dispatch point (a graph
// being traced, and the active gradient tapes). core/ never includes those
// layers; they fill these slots.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/denormal.h"
#include "core/device.h"

namespace ember {

class Tensor;
struct OpDef;
class Attrs;
struct OutputSpec;

/// Filled by graph/ while a function is traced on this thread: the dispatch
/// point hands each op to the graph instead of running it.
class TraceHook {
 public:
  virtual ~TraceHook() = default;
  virtual std::vector<Tensor> add_node(const OpDef& op, std::span<const Tensor> inputs,
                                       const Attrs& attrs,
                                       std::span<const OutputSpec> output_specs) = 0;
  /// A Variable is being created while tracing: refuses (FailedPrecondition)
  /// where the function may not create one, and returns the initial value as
  /// a concrete tensor (a symbolic one is computed outside the graph, as
  /// tf.function lifts variable initialisers).
  virtual Tensor variable_created(const Tensor& initial_value) = 0;
  /// The next op seed of the graph being traced, for a random op given none
  /// while a global seed is set: 0, 1, 2, ... in creation order (a
  /// TensorFlow function graph's own count).
  virtual int64_t next_op_seed() = 0;
};

/// Suspends tracing on this thread while alive (tf.init_scope): ops run
/// eagerly, as a layer's variable initialisers do inside a traced call.
class InitScope {
 public:
  InitScope();
  ~InitScope();
  InitScope(const InitScope&) = delete;
  InitScope& operator=(const InitScope&) = delete;

 private:
  TraceHook* saved_;
};

/// Filled by autograd/ while any GradientTape records on this thread: the
/// dispatch point offers each executed op to the tapes.
class TapeHook {
 public:
  virtual ~TapeHook() = default;
  /// Records a call of `op`. `owner`, when given, keeps `op` alive while
  /// the record holds it (an op that is not in the registry: a traced
  /// function's call).
  virtual void record(const OpDef& op, std::span<const Tensor> inputs,
                      std::span<const Tensor> outputs, const Attrs& attrs,
                      std::shared_ptr<const void> owner = nullptr) = 0;
  /// Whether some tape would record a call of `op` on `inputs` (one reads a
  /// watched tensor, or a variable a tape watches on access).
  virtual bool would_record(const OpDef& op, std::span<const Tensor> inputs) const = 0;
};

struct Context {
  bool has_device_scope = false;
  Device device_scope;
  std::vector<std::string> name_scopes;
  TraceHook* tracer = nullptr;
  TapeHook* tapes = nullptr;
  // The user-facing function being called (ApiScope), for error messages.
  const char* api = nullptr;
  // The op whose gradient a tape is computing, for error messages.
  const OpDef* gradient_of = nullptr;
  // Makes a new variable's initial value from the one given (and the
  // variable's name): a distribution strategy's scope makes every rank's
  // rank 0's (distribute/strategy.h). Null: the value as given.
  Tensor (*initial_value_hook)(const Tensor& value, const std::string& name) = nullptr;
};

/// This thread's context.
inline Context& context() {
  thread_local Context ctx;
  return ctx;
}

/// How many CPU threads the ops this thread runs may use (OpenMP's
/// per-thread count; the default is every core). A helper thread such as the
/// data pipeline's sets 1: a second team of spinning OpenMP threads would
/// fight the training step's team for the cores.
void set_cpu_threads_for_this_thread(int n);

/// While kernels run (`run_op`, a graph executor's plan): tapes do not
/// record the ops a kernel calls, those run on the kernel's `device`
/// whatever the caller's scope, errors name `api`, and on the CPU denormal
/// floats are flushed to zero (core/denormal.h). Restores it all.
class KernelScope {
 public:
  KernelScope(Context& c, Device device, const char* api);
  ~KernelScope();
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;
  /// The name errors gave before this scope (an enclosing ApiScope's), if any.
  const char* outer_api() const { return api_; }

 private:
  Context& c_;
  TapeHook* tapes_;
  bool had_scope_;
  Device scope_;
  const char* api_;
  std::optional<FlushDenormals> flush_;  // CPU kernels only
};

/// The current name scope, "outer/inner/" (empty at top level).
std::string current_name_scope();

/// Pushes a name scope while alive, like `tf.name_scope`. An `absolute`
/// scope ("outer/dense") replaces the current scopes instead of nesting.
class NameScope {
 public:
  explicit NameScope(std::string name, bool absolute = false);
  ~NameScope();
  NameScope(const NameScope&) = delete;
  NameScope& operator=(const NameScope&) = delete;

 private:
  bool absolute_;
  std::vector<std::string> saved_;
};

}  // namespace ember
