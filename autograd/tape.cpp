#include "autograd/tape.h"

#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "core/context.h"
#include "core/logging.h"
#include "core/op.h"
#include "core/ops.h"

namespace ember {

namespace {
struct Entry {
  const OpDef* op;
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  Attrs attrs;
};

bool differentiable_dtype(DType t) { return t == float32 || t == float64 || t == float16 || t == bfloat16; }
}  // namespace

struct GradientTape::Impl {
  GradientTapeOptions options;
  bool recording = true;
  bool used = false;  // a non-persistent tape that has computed its gradients
  bool warned_recording = false;
  std::deque<Entry> entries;  // a deque: recording during backprop keeps references valid
  std::unordered_set<uint64_t> watched;
  std::vector<Variable> variables;
  std::unordered_set<uint64_t> variable_handles;

  void watch_variable(const Variable& v) {
    if (variable_handles.insert(v.handle().id()).second) {
      variables.push_back(v);
      watched.insert(v.handle().id());
    }
  }

  std::vector<Tensor> backprop(const std::vector<Tensor>& targets, const std::vector<Source>& sources,
                               const std::vector<Tensor>& output_gradients, UnconnectedGradients unconnected);
};

// ---- the per-thread set of active tapes, installed as core's TapeHook ----------------

namespace {

class TapeSet final : public TapeHook {
 public:
  std::vector<GradientTape::Impl*> active;

  void record(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
              const Attrs& attrs) override {
    if (op.differentiability == Differentiability::NotDifferentiable) return;
    bool is_read = op.name == "ReadVariableOp";
    for (GradientTape::Impl* tape : active) {
      if (!tape->recording) continue;
      if (is_read && tape->options.watch_accessed_variables) {
        Variable v = Variable::from_handle(inputs[0]);
        if (v.trainable() && differentiable_dtype(v.dtype())) tape->watch_variable(v);
      }
      bool any = false;
      for (const Tensor& t : inputs)
        if (t.defined() && tape->watched.count(t.id())) {
          any = true;
          break;
        }
      if (!any) continue;
      tape->entries.push_back({&op, {inputs.begin(), inputs.end()}, {outputs.begin(), outputs.end()}, attrs});
      for (const Tensor& t : outputs)
        if (t.defined() && differentiable_dtype(t.dtype())) tape->watched.insert(t.id());
    }
  }

  void update_hook() { context().tapes = active.empty() ? nullptr : this; }
};

TapeSet& tape_set() {
  thread_local TapeSet set;
  return set;
}

const char* kNonPersistentMessage =
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)";

}  // namespace

// ---- backprop --------------------------------------------------------------------------

std::vector<Tensor> GradientTape::Impl::backprop(const std::vector<Tensor>& targets,
                                                 const std::vector<Source>& sources,
                                                 const std::vector<Tensor>& output_gradients,
                                                 UnconnectedGradients unconnected) {
  EMBER_CHECK(output_gradients.empty() || output_gradients.size() == targets.size(), InvalidArgument,
              "[GradientTape.gradient] ", output_gradients.size(), " output gradients for ", targets.size(),
              " targets");
  size_t n = entries.size();  // ops the gradient computation itself records come after
  // Which tensors depend on a source: only those entries need a gradient.
  std::unordered_set<uint64_t> reach;
  for (const Source& s : sources) reach.insert(s.tracked().id());
  std::vector<bool> relevant(n, false);
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries[i];
    for (const Tensor& t : e.inputs)
      if (t.defined() && reach.count(t.id())) {
        relevant[i] = true;
        break;
      }
    if (relevant[i])
      for (const Tensor& t : e.outputs)
        if (t.defined()) reach.insert(t.id());
  }

  std::unordered_map<uint64_t, Tensor> grads;
  auto accumulate = [&](const Tensor& t, const Tensor& g) {
    auto [it, fresh] = grads.try_emplace(t.id(), g);
    if (!fresh) it->second = add(it->second, g);
  };
  for (size_t i = 0; i < targets.size(); ++i) {
    const Tensor& t = targets[i];
    EMBER_CHECK(t.defined(), InvalidArgument, "[GradientTape.gradient] target ", i, " is undefined");
    if (!differentiable_dtype(t.dtype())) continue;  // integer targets give no gradient
    Tensor seed = output_gradients.empty() || !output_gradients[i].defined() ? ones_like(t) : output_gradients[i];
    EMBER_CHECK(seed.shape() == t.shape() && seed.dtype() == t.dtype(), InvalidArgument,
                "[GradientTape.gradient] output gradient ", i, " is ", dtype_name(seed.dtype()), " ",
                seed.shape().to_debug_string(), ", the target is ", dtype_name(t.dtype()), " ",
                t.shape().to_debug_string());
    accumulate(t, seed);
  }

  for (size_t i = n; i-- > 0;) {
    if (!relevant[i]) continue;
    const Entry& e = entries[i];
    std::vector<Tensor> out_grads(e.outputs.size());
    bool any = false;
    for (size_t k = 0; k < e.outputs.size(); ++k) {
      auto it = e.outputs[k].defined() ? grads.find(e.outputs[k].id()) : grads.end();
      if (it != grads.end()) {
        out_grads[k] = it->second;
        any = true;
      }
    }
    if (!any) continue;
    if (!e.op->grad) {
      throw Unimplemented(detail::str_cat("[GradientTape.gradient] no gradient is defined for op ", e.op->name,
                                          " (", e.op->api_name, ")"));
    }
    // Gradient functions see a gradient for every output: zeros where none flows.
    for (size_t k = 0; k < out_grads.size(); ++k)
      if (!out_grads[k].defined() && e.outputs[k].defined() && differentiable_dtype(e.outputs[k].dtype()))
        out_grads[k] = zeros_like(e.outputs[k]);
    GradContext gc{*e.op, e.inputs, e.outputs, out_grads, e.attrs};
    std::vector<Tensor> in_grads = e.op->grad(gc);
    EMBER_CHECK(in_grads.size() == e.inputs.size(), Internal, "[GradientTape.gradient] the gradient of ",
                e.op->name, " returned ", in_grads.size(), " values for ", e.inputs.size(), " inputs");
    for (size_t j = 0; j < e.inputs.size(); ++j)
      if (in_grads[j].defined() && e.inputs[j].defined() && reach.count(e.inputs[j].id()))
        accumulate(e.inputs[j], in_grads[j]);
  }

  std::vector<Tensor> result;
  result.reserve(sources.size());
  for (const Source& s : sources) {
    auto it = grads.find(s.tracked().id());
    if (it != grads.end()) {
      result.push_back(it->second);
    } else if (unconnected == UnconnectedGradients::Zero) {
      result.push_back(zeros(s.shape(), s.dtype(), s.tracked().device()));
    } else {
      result.emplace_back();
    }
  }
  return result;
}

// ---- GradientTape ------------------------------------------------------------------------

GradientTape::GradientTape(GradientTapeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  auto& set = tape_set();
  set.active.push_back(impl_.get());
  set.update_hook();
}

GradientTape::~GradientTape() {
  auto& set = tape_set();
  std::erase(set.active, impl_.get());
  set.update_hook();
}

void GradientTape::watch(const Tensor& t) {
  EMBER_CHECK(t.defined(), InvalidArgument, "[GradientTape.watch] the tensor is undefined");
  if (t.dtype() == resource) return watch(Variable::from_handle(t));
  if (!differentiable_dtype(t.dtype())) {
    EMBER_LOG_WARN("The dtype of the watched tensor must be floating (e.g. float32), got {}", dtype_name(t.dtype()));
    return;
  }
  impl_->watched.insert(t.id());
}

void GradientTape::watch(const Variable& v) {
  EMBER_CHECK(v.defined(), InvalidArgument, "[GradientTape.watch] the variable is undefined");
  if (!differentiable_dtype(v.dtype())) {
    EMBER_LOG_WARN("The dtype of the watched variable must be floating (e.g. float32), got {}", dtype_name(v.dtype()));
    return;
  }
  impl_->watch_variable(v);
}

std::vector<Variable> GradientTape::watched_variables() const { return impl_->variables; }

Tensor GradientTape::gradient(const Tensor& target, const Source& source, UnconnectedGradients unconnected) {
  return gradient(std::vector<Tensor>{target}, std::vector<Source>{source}, {}, unconnected)[0];
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Source>& sources,
                                           UnconnectedGradients unconnected) {
  return gradient(std::vector<Tensor>{target}, sources, {}, unconnected);
}

namespace {
// Runs `body` with the bookkeeping TensorFlow does around gradient() and
// jacobian(): one use for a non-persistent tape (which stops recording
// first and releases its record after), a warning when a persistent tape
// records its own gradient computation.
template <typename F>
auto with_gradient_rules(GradientTape::Impl& impl, const char* api, F&& body) {
  EMBER_CHECK(!impl.used, FailedPrecondition, kNonPersistentMessage);
  if (!impl.options.persistent) {
    impl.recording = false;
  } else if (impl.recording && !impl.warned_recording) {
    impl.warned_recording = true;
    EMBER_LOG_WARN("Calling GradientTape.{} on a persistent tape inside its context is significantly less "
                   "efficient than calling it outside the context (it causes the gradient ops to be recorded "
                   "on the tape, leading to increased CPU and memory usage).",
                   api);
  }
  auto result = body();
  if (!impl.options.persistent) {
    impl.used = true;
    impl.entries.clear();
    impl.watched.clear();
  }
  return result;
}
}  // namespace

std::vector<Tensor> GradientTape::gradient(const std::vector<Tensor>& targets, const std::vector<Source>& sources,
                                           const std::vector<Tensor>& output_gradients,
                                           UnconnectedGradients unconnected) {
  return with_gradient_rules(*impl_, "gradient",
                             [&] { return impl_->backprop(targets, sources, output_gradients, unconnected); });
}

Tensor GradientTape::jacobian(const Tensor& target, const Source& source, UnconnectedGradients unconnected) {
  return with_gradient_rules(*impl_, "jacobian", [&] {
    int64_t n = target.num_elements();
    Dims shape = target.shape().dims();
    TensorShape source_shape = source.shape();
    for (int64_t d : source_shape.dims()) shape.push_back(d);
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < n; ++i) {
      Tensor seed = reshape(one_hot(constant(i), n, 1, 0, -1, target.dtype()), target.shape());
      Tensor g = impl_->backprop({target}, {source}, {seed}, unconnected)[0];
      if (!g.defined()) return Tensor();  // unconnected: None, as TensorFlow
      rows.push_back(reshape(g, {-1}));
    }
    if (rows.empty()) return zeros(TensorShape(shape), source.dtype(), source.tracked().device());
    return reshape(stack(rows), TensorShape(shape));
  });
}

Tensor GradientTape::batch_jacobian(const Tensor& target, const Tensor& source, UnconnectedGradients unconnected) {
  EMBER_CHECK(target.rank() >= 2 && source.rank() >= 2, InvalidArgument,
              "[GradientTape.batch_jacobian] target and source must have rank >= 2, got ",
              target.shape().to_debug_string(), " and ", source.shape().to_debug_string());
  EMBER_CHECK(target.dim(0) == source.dim(0), InvalidArgument,
              "[GradientTape.batch_jacobian] the first dimensions differ: target ", target.shape().to_debug_string(),
              ", source ", source.shape().to_debug_string());
  return with_gradient_rules(*impl_, "batch_jacobian", [&] {
    int64_t b = target.dim(0), ny = target.num_elements() / std::max<int64_t>(b, 1);
    Dims shape = target.shape().dims();
    for (int i = 1; i < source.rank(); ++i) shape.push_back(source.dim(i));
    std::vector<Tensor> cols;
    for (int64_t j = 0; j < ny; ++j) {
      Tensor col = one_hot(fill({b}, static_cast<double>(j), int64), ny, 1, 0, -1, target.dtype());
      Tensor g = impl_->backprop({target}, {source}, {reshape(col, target.shape())}, unconnected)[0];
      if (!g.defined()) return Tensor();
      cols.push_back(reshape(g, {b, -1}));
    }
    if (cols.empty()) return zeros(TensorShape(shape), source.dtype(), source.device());
    return reshape(stack(cols, 1), TensorShape(shape));
  });
}

GradientTape::StopRecording GradientTape::stop_recording() {
  EMBER_CHECK(impl_->recording, FailedPrecondition, "Trying to stop recording a tape which is not recording.");
  impl_->recording = false;
  return StopRecording(this);
}

GradientTape::StopRecording::~StopRecording() {
  if (tape_) tape_->impl_->recording = true;
}

void GradientTape::reset() {
  impl_->entries.clear();
  impl_->watched.clear();
  impl_->variables.clear();
  impl_->variable_handles.clear();
  impl_->used = false;
  impl_->recording = true;
}

bool GradientTape::persistent() const { return impl_->options.persistent; }
bool GradientTape::recording() const { return impl_->recording; }
size_t GradientTape::num_recorded() const { return impl_->entries.size(); }

}  // namespace ember
