#include "autograd/tape.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/context.h"
#include "core/indexed_slices.h"
#include "core/logging.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/tensor_list.h"

namespace ember {

namespace {

// A recorded tensor: always its identity, dtype, device and shape (the dims
// live in the tape's dims arena); its value only when the op's gradient
// reads it (OpDef::grad_uses).
struct Slot {
  Tensor value;  // undefined when the gradient does not need it
  uint64_t id;   // 0 for an undefined tensor
  Device device;
  DType dtype;
  uint8_t rank;
  uint32_t dims_begin;
  bool defined() const { return id != 0; }
};

// One recorded op. Its slots live in the tape's arena (one vector for the
// whole record), so recording an op allocates nothing per tensor.
struct Entry {
  const OpDef* op;
  uint32_t in_begin, in_count, out_begin, out_count;
  Attrs attrs;
  std::shared_ptr<const void> owner;  // keeps `op` alive when it is not a registered op
};

// A set of tensor ids (never 0): open addressing with linear probing, so a
// lookup or insert while recording is a multiply and a probe or two, with
// no allocation per element.
class IdSet {
 public:
  bool contains(uint64_t id) const {
    if (slots_.empty()) return false;
    for (size_t i = slot(id);; i = (i + 1) & mask_) {
      if (slots_[i] == id) return true;
      if (slots_[i] == 0) return false;
    }
  }
  /// Whether `id` was new.
  bool insert(uint64_t id) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    for (size_t i = slot(id);; i = (i + 1) & mask_) {
      if (slots_[i] == id) return false;
      if (slots_[i] == 0) {
        slots_[i] = id;
        ++size_;
        return true;
      }
    }
  }
  void clear() {
    slots_.clear();
    size_ = 0;
    mask_ = 0;
  }

 private:
  size_t slot(uint64_t id) const {
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
  }
  void grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, 0);
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (uint64_t id : old)
      if (id) insert(id);
  }
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
};

// A resource handle that is a variable's (not another resource's).
bool is_variable(const Tensor& handle) {
  return std::dynamic_pointer_cast<VariableState>(handle.impl()->resource) != nullptr;
}

}  // namespace

struct GradientTape::Impl {
  GradientTapeOptions options;
  bool recording = true;
  bool used = false;  // a non-persistent tape that has computed its gradients
  bool warned_recording = false;
  std::vector<Entry> entries;
  std::vector<Slot> arena;    // the inputs and outputs of every entry
  std::vector<int64_t> dims;  // the shapes of the slots
  uint64_t serial = next_serial();
  IdSet watched_overflow;  // watched tensors whose two marks were taken

  static uint64_t next_serial() {
    static std::atomic<uint64_t> counter{1};
    return counter.fetch_add(1, std::memory_order_relaxed);
  }
  bool is_watched(const Tensor& t) const {
    const auto* m = t.impl()->watch_marks;
    return m[0].load(std::memory_order_relaxed) == serial || m[1].load(std::memory_order_relaxed) == serial ||
           watched_overflow.contains(t.id());
  }
  void mark_watched(const Tensor& t) {
    auto* m = t.impl()->watch_marks;
    if (m[0].load(std::memory_order_relaxed) == serial || m[1].load(std::memory_order_relaxed) == serial) return;
    // Take a free mark, or one a finished tape left (an older serial than any
    // live tape's); compare-and-swap, as another thread's tape may race for it.
    for (int k = 0; k < 2; ++k) {
      uint64_t seen = m[k].load(std::memory_order_relaxed);
      while (true) {
        if (seen == serial) return;
        if (seen != 0 && seen >= oldest_live_serial()) break;
        if (m[k].compare_exchange_weak(seen, serial, std::memory_order_relaxed)) return;
      }
    }
    if (m[0].load(std::memory_order_relaxed) == serial || m[1].load(std::memory_order_relaxed) == serial) return;
    watched_overflow.insert(t.id());
  }
  static uint64_t oldest_live_serial();

  void add_slot(const Tensor& t, bool keep) {
    if (!t.defined()) {
      arena.push_back({Tensor(), 0, Device(), float32, 0, 0});
      return;
    }
    auto begin = static_cast<uint32_t>(dims.size());
    for (int64_t d : t.shape().dims()) dims.push_back(d);
    // A traced (symbolic) tensor is kept whatever the gradient declared: it
    // holds no buffer, and a stand-in would lose what ties it to its graph.
    arena.push_back({keep || t.is_symbolic() ? t : Tensor(), t.id(), t.device(), t.dtype(),
                     static_cast<uint8_t>(t.shape().rank_known() ? t.rank() : 0), begin});
  }
  /// The slot's tensor, or a stand-in with its metadata (and id) but no buffer.
  Tensor tensor_of(const Slot& s) const {
    if (s.value.defined() || !s.id) return s.value;
    auto impl = std::make_shared<TensorImpl>();
    impl->dtype = s.dtype;
    impl->shape = TensorShape(std::span<const int64_t>(dims.data() + s.dims_begin, s.rank));
    impl->device = s.device;
    impl->id = s.id;
    return Tensor(std::move(impl));
  }
  std::vector<Variable> variables;
  IdSet variable_handles;

  void watch_variable(const Variable& v) {
    if (variable_handles.insert(v.handle().id())) {
      variables.push_back(v);
      mark_watched(v.handle());
    }
  }
  std::span<const Slot> inputs_of(const Entry& e) const {
    return {arena.data() + e.in_begin, e.in_count};
  }
  std::span<const Slot> outputs_of(const Entry& e) const {
    return {arena.data() + e.out_begin, e.out_count};
  }
  /// Drops the record and every watch (a new serial forgets all marks at
  /// once); watched variables stay watched unless `forget_variables`.
  void clear_record(bool forget_variables = false) {
    entries.clear();
    arena.clear();
    dims.clear();
    watched_overflow.clear();
    uint64_t old = serial;
    serial = next_serial();
    replace_live(old, serial);
    if (forget_variables) {
      variables.clear();
      variable_handles.clear();
    }
    for (const Variable& v : variables) mark_watched(v.handle());
  }
  static void replace_live(uint64_t old, uint64_t now);

  std::vector<Tensor> backprop(const std::vector<Tensor>& targets,
                               const std::vector<Source>& sources,
                               const std::vector<Tensor>& output_gradients,
                               UnconnectedGradients unconnected,
                               const GradientTape::GradientReady* on_ready = nullptr);
};

// ---- the per-thread set of active tapes, installed as core's TapeHook ----------------

namespace {

class TapeSet final : public TapeHook {
 public:
  std::vector<GradientTape::Impl*> active;

  void record(const OpDef& op, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
              const Attrs& attrs, std::shared_ptr<const void> owner) override {
    if (op.differentiability == Differentiability::NotDifferentiable) return;
    for (GradientTape::Impl* tape : active) {
      if (!tape->recording) continue;
      if (op.reads_variables && tape->options.watch_accessed_variables)
        for (const Tensor& t : inputs)
          if (t.defined() && t.dtype() == resource && is_variable(t)) {
            Variable v = Variable::from_handle(t);
            if (v.trainable() && is_floating(v.dtype())) tape->watch_variable(v);
          }
      bool any = false;
      for (const Tensor& t : inputs)
        if (t.defined() && tape->is_watched(t)) {
          any = true;
          break;
        }
      if (!any) continue;
      auto begin = static_cast<uint32_t>(tape->arena.size());
      bool keep_in = op.grad_uses & kGradUsesInputs, keep_out = op.grad_uses & kGradUsesOutputs;
      for (const Tensor& t : inputs) tape->add_slot(t, keep_in);
      for (const Tensor& t : outputs) tape->add_slot(t, keep_out);
      tape->entries.push_back({&op, begin, static_cast<uint32_t>(inputs.size()),
                               begin + static_cast<uint32_t>(inputs.size()),
                               static_cast<uint32_t>(outputs.size()), attrs, owner});
      for (const Tensor& t : outputs)
        if (t.defined() && is_differentiable(t.dtype())) tape->mark_watched(t);
    }
  }

  bool would_record(const OpDef& op, std::span<const Tensor> inputs) const override {
    if (op.differentiability == Differentiability::NotDifferentiable) return false;
    for (const GradientTape::Impl* tape : active) {
      if (!tape->recording) continue;
      if (op.reads_variables && tape->options.watch_accessed_variables)
        for (const Tensor& t : inputs)
          if (t.defined() && t.dtype() == resource && is_variable(t)) {
            Variable v = Variable::from_handle(t);
            if (v.trainable() && is_floating(v.dtype())) return true;
          }
      for (const Tensor& t : inputs)
        if (t.defined() && tape->is_watched(t)) return true;
    }
    return false;
  }

  void update_hook() { context().tapes = active.empty() ? nullptr : this; }
};

TapeSet& tape_set() {
  thread_local TapeSet set;
  return set;
}

// Serials of the tapes alive in the process, for reclaiming marks.
std::mutex live_mu;
std::multiset<uint64_t> live_serials;
std::atomic<uint64_t> oldest_live{UINT64_MAX};

void update_oldest() {
  oldest_live.store(live_serials.empty() ? UINT64_MAX : *live_serials.begin());
}

const char* kNonPersistentMessage =
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)";

}  // namespace

uint64_t GradientTape::Impl::oldest_live_serial() {
  return oldest_live.load(std::memory_order_relaxed);
}

void GradientTape::Impl::replace_live(uint64_t old, uint64_t now) {
  std::lock_guard<std::mutex> lock(live_mu);
  auto it = live_serials.find(old);
  if (it != live_serials.end()) live_serials.erase(it);
  live_serials.insert(now);
  update_oldest();
}

// ---- backprop --------------------------------------------------------------------------

std::vector<Tensor> GradientTape::Impl::backprop(const std::vector<Tensor>& targets,
                                                 const std::vector<Source>& sources,
                                                 const std::vector<Tensor>& output_gradients,
                                                 UnconnectedGradients unconnected,
                                                 const GradientTape::GradientReady* on_ready) {
  EMBER_CHECK(output_gradients.empty() || output_gradients.size() == targets.size(),
              InvalidArgument, "[GradientTape.gradient] ", output_gradients.size(),
              " output gradients for ", targets.size(), " targets");
  size_t n = entries.size();  // ops the gradient computation itself records come after
  // Which tensors depend on a source: only those entries need a gradient.
  std::unordered_set<uint64_t> reach;
  for (const Source& s : sources) reach.insert(s.tracked().id());
  std::vector<bool> relevant(n, false);
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries[i];
    for (const Slot& t : inputs_of(e))
      if (t.defined() && reach.count(t.id)) {
        relevant[i] = true;
        break;
      }
    if (relevant[i])
      for (const Slot& t : outputs_of(e))
        if (t.defined()) reach.insert(t.id);
  }

  std::unordered_map<uint64_t, Tensor> grads;
  auto accumulate = [&](const Tensor& t, const Tensor& g) {
    auto [it, fresh] = grads.try_emplace(t.id(), g);
    if (!fresh) it->second = t.dtype() == variant ? add_n({it->second, g}) : add_gradients(it->second, g);
  };
  for (size_t i = 0; i < targets.size(); ++i) {
    const Tensor& t = targets[i];
    EMBER_CHECK(t.defined(), InvalidArgument, "[GradientTape.gradient] target ", i,
                " is undefined");
    if (!is_differentiable(t.dtype())) continue;  // integer targets give no gradient
    const bool seeded = !output_gradients.empty() && output_gradients[i].defined();
    if (t.dtype() == variant && !seeded) continue;  // a list target needs its gradient list
    Tensor seed = seeded ? output_gradients[i] : ones_like(t);
    EMBER_CHECK(seed.shape() == t.shape() && seed.dtype() == t.dtype(), InvalidArgument,
                "[GradientTape.gradient] output gradient ", i, " is ", dtype_name(seed.dtype()),
                " ", seed.shape().to_debug_string(), ", the target is ", dtype_name(t.dtype()), " ",
                t.shape().to_debug_string());
    accumulate(t, seed);
  }

  // With `on_ready`: each source's last reader (the earliest relevant entry
  // that takes it), after whose gradient function its gradient is final;
  // sources handed over in that order, those read by nothing at the end.
  std::vector<std::pair<size_t, size_t>> ready_after;  // (entry, source), latest entry first
  size_t next_ready = 0;
  if (on_ready) {
    std::unordered_map<uint64_t, size_t> first_reader;
    for (size_t i = n; i-- > 0;)
      if (relevant[i])
        for (const Slot& t : inputs_of(entries[i]))
          if (t.defined()) first_reader[t.id] = i;
    for (size_t k = 0; k < sources.size(); ++k) {
      auto it = first_reader.find(sources[k].tracked().id());
      if (it != first_reader.end()) ready_after.emplace_back(it->second, k);
    }
    std::stable_sort(ready_after.begin(), ready_after.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
  }
  auto hand_over = [&](size_t k) {
    auto it = grads.find(sources[k].tracked().id());
    (*on_ready)(k, it == grads.end() ? Tensor() : it->second);
  };
  // Hands over every source whose last reader is after entry `i`.
  auto ready_before = [&](size_t i) {
    for (; next_ready < ready_after.size() && ready_after[next_ready].first > i; ++next_ready)
      hand_over(ready_after[next_ready].second);
  };

  for (size_t i = n; i-- > 0;) {
    if (on_ready) ready_before(i);
    if (!relevant[i]) continue;
    // Copies: a persistent tape may record into `entries` and `arena` while
    // the gradient function runs.
    const OpDef* op = entries[i].op;
    std::shared_ptr<const void> owner = entries[i].owner;
    Attrs attrs = entries[i].attrs;
    std::vector<Tensor> out_grads(entries[i].out_count);
    bool any = false;
    for (size_t k = 0; k < out_grads.size(); ++k) {
      const Slot& o = outputs_of(entries[i])[k];
      auto it = o.defined() ? grads.find(o.id) : grads.end();
      if (it != grads.end()) {
        out_grads[k] = it->second;
        any = true;
      }
    }
    if (!any) continue;
    std::vector<Tensor> inputs, outputs;
    for (const Slot& t : inputs_of(entries[i])) inputs.push_back(tensor_of(t));
    for (const Slot& t : outputs_of(entries[i])) outputs.push_back(tensor_of(t));
    if (!op->grad) {
      throw Unimplemented(detail::str_cat("[GradientTape.gradient] no gradient is defined for op ",
                                          op->name, " (", op->api_name, ")"));
    }
    // Gradient functions see a gradient for every output: zeros where none
    // flows (unless the op fills them itself).
    for (size_t k = 0; k < out_grads.size() && !op->grad_sees_undefined; ++k)
      if (!out_grads[k].defined() && outputs[k].defined() &&
          is_floating(outputs[k].dtype()))
        out_grads[k] = zeros_like(outputs[k]);
    std::vector<bool> needed;
    for (const Slot& t : inputs_of(entries[i])) needed.push_back(t.defined() && reach.count(t.id) > 0);
    GradContext gc{*op, inputs, outputs, out_grads, attrs, &needed};
    // A forward value the gradient did not declare (GRAD's uses) is a
    // stand-in without a buffer; reading it raises Internal naming this op.
    struct GradientOf {
      Context& c;
      const OpDef* saved = c.gradient_of;
      ~GradientOf() { c.gradient_of = saved; }
    } scope{context()};
    context().gradient_of = op;
    std::vector<Tensor> in_grads;
    try {
      in_grads = op->grad(gc);
    } catch (const Internal&) {
      // An attribute known only when the op runs (a tensor, AttrDecl::may_be_input):
      // a gradient that needs its value says so.
      if (unresolved_attrs(*op, attrs) == 0) throw;
      std::string which;
      for (const AttrDecl& d : op->attr_decls)
        if (d.may_be_input && !attrs.has(d.name)) which += (which.empty() ? "'" : ", '") + d.name + "'";
      throw Unimplemented(detail::str_cat("[GradientTape.gradient] the gradient of ", op->name, " (", op->api_name,
                                          ") with ", which, " known only when it runs (a tensor: a trace of unknown ",
                                          "rank, or computed bounds) is not supported"));
    }
    // The trailing tensors holding attributes (integers: never differentiable)
    // get no gradient; a gradient function returns one per input of its own.
    if (const size_t own = inputs.size() - static_cast<size_t>(unresolved_attrs(*op, attrs));
        in_grads.size() == own && own < inputs.size())
      in_grads.resize(inputs.size());
    EMBER_CHECK(in_grads.size() == inputs.size(), Internal,
                "[GradientTape.gradient] the gradient of ", op->name, " returned ", in_grads.size(),
                " values for ", inputs.size(), " inputs");
    for (size_t j = 0; j < inputs.size(); ++j)
      if (in_grads[j].defined() && inputs[j].defined() && reach.count(inputs[j].id()))
        accumulate(inputs[j], in_grads[j]);
  }

  if (on_ready) {
    for (; next_ready < ready_after.size(); ++next_ready) hand_over(ready_after[next_ready].second);
    std::vector<bool> handed(sources.size(), false);
    for (const auto& [entry, k] : ready_after) handed[k] = true;
    for (size_t k = 0; k < sources.size(); ++k)
      if (!handed[k]) hand_over(k);  // read by nothing the target depends on (or a target itself)
  }

  std::vector<Tensor> result;
  result.reserve(sources.size());
  for (const Source& s : sources) {
    auto it = grads.find(s.tracked().id());
    if (it != grads.end()) {
      result.push_back(it->second);
    } else if (unconnected == UnconnectedGradients::Zero) {
      // (A traced tensor of unknown shape: zeros of its shape when the function runs.)
      result.push_back(s.tracked().dtype() == variant             ? zeros_gradient(s.tracked())
                       : !s.is_variable() && !s.shape().is_fully_defined() ? zeros_like(s.tracked())
                                                                   : zeros(s.shape(), s.dtype(), s.tracked().device()));
    } else {
      result.emplace_back();
    }
  }
  return result;
}

// ---- GradientTape ------------------------------------------------------------------------

GradientTape::GradientTape(GradientTapeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  {
    std::lock_guard<std::mutex> lock(live_mu);
    live_serials.insert(impl_->serial);
    update_oldest();
  }
  auto& set = tape_set();
  set.active.push_back(impl_.get());
  set.update_hook();
}

GradientTape::~GradientTape() {
  {
    std::lock_guard<std::mutex> lock(live_mu);
    live_serials.erase(live_serials.find(impl_->serial));
    update_oldest();
  }
  auto& set = tape_set();
  std::erase(set.active, impl_.get());
  set.update_hook();
}

void GradientTape::watch(const Tensor& t) {
  EMBER_CHECK(t.defined(), InvalidArgument, "[GradientTape.watch] the tensor is undefined");
  if (t.dtype() == resource) return watch(Variable::from_handle(t));
  if (!is_differentiable(t.dtype())) {
    EMBER_LOG_WARN("The dtype of the watched tensor must be floating (e.g. float32), got {}",
                   dtype_name(t.dtype()));
    return;
  }
  impl_->mark_watched(t);
}

void GradientTape::watch(const Variable& v) {
  EMBER_CHECK(v.defined(), InvalidArgument, "[GradientTape.watch] the variable is undefined");
  if (!is_floating(v.dtype())) {
    EMBER_LOG_WARN("The dtype of the watched variable must be floating (e.g. float32), got {}",
                   dtype_name(v.dtype()));
    return;
  }
  impl_->watch_variable(v);
}

std::vector<Variable> GradientTape::watched_variables() const { return impl_->variables; }

Tensor GradientTape::gradient(const Tensor& target, const Source& source,
                              UnconnectedGradients unconnected) {
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
    EMBER_LOG_WARN(
        "Calling GradientTape.{} on a persistent tape inside its context is significantly less "
        "efficient than calling it outside the context (it causes the gradient ops to be recorded "
        "on the tape, leading to increased CPU and memory usage).",
        api);
  }
  auto result = body();
  if (!impl.options.persistent) {
    impl.used = true;
    impl.clear_record();
  }
  return result;
}
}  // namespace

std::vector<Tensor> GradientTape::gradient(const std::vector<Tensor>& targets,
                                           const std::vector<Source>& sources,
                                           const std::vector<Tensor>& output_gradients,
                                           UnconnectedGradients unconnected) {
  return with_gradient_rules(*impl_, "gradient", [&] {
    return impl_->backprop(targets, sources, output_gradients, unconnected);
  });
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Source>& sources,
                                           const GradientReady& on_ready, UnconnectedGradients unconnected) {
  return with_gradient_rules(*impl_, "gradient", [&] {
    return impl_->backprop({target}, sources, {}, unconnected, &on_ready);
  });
}

Tensor GradientTape::jacobian(const Tensor& target, const Source& source,
                              UnconnectedGradients unconnected) {
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

Tensor GradientTape::batch_jacobian(const Tensor& target, const Tensor& source,
                                    UnconnectedGradients unconnected) {
  EMBER_CHECK(target.rank() >= 2 && source.rank() >= 2, InvalidArgument,
              "[GradientTape.batch_jacobian] target and source must have rank >= 2, got ",
              target.shape().to_debug_string(), " and ", source.shape().to_debug_string());
  EMBER_CHECK(target.dim(0) == source.dim(0), InvalidArgument,
              "[GradientTape.batch_jacobian] the first dimensions differ: target ",
              target.shape().to_debug_string(), ", source ", source.shape().to_debug_string());
  return with_gradient_rules(*impl_, "batch_jacobian", [&] {
    int64_t b = target.dim(0), ny = target.num_elements() / std::max<int64_t>(b, 1);
    Dims shape = target.shape().dims();
    for (int i = 1; i < source.rank(); ++i) shape.push_back(source.dim(i));
    std::vector<Tensor> cols;
    for (int64_t j = 0; j < ny; ++j) {
      Tensor col = one_hot(fill({b}, static_cast<double>(j), int64), ny, 1, 0, -1, target.dtype());
      Tensor g =
          impl_->backprop({target}, {source}, {reshape(col, target.shape())}, unconnected)[0];
      if (!g.defined()) return Tensor();
      cols.push_back(reshape(g, {b, -1}));
    }
    if (cols.empty()) return zeros(TensorShape(shape), source.dtype(), source.device());
    return reshape(stack(cols, 1), TensorShape(shape));
  });
}

namespace {
std::atomic<LoopGradientFn> loop_gradient_fn{nullptr};
}  // namespace
void set_loop_gradient(LoopGradientFn fn) { loop_gradient_fn = fn; }
LoopGradientFn loop_gradient() { return loop_gradient_fn.load(); }

Tensor zeros_gradient(const Tensor& like) {
  if (like.dtype() != variant) return zeros_like(like);
  // The elements' dtype of a traced list is not known here; an unset
  // element reads as zeros of the dtype the reading op names, and sums take
  // the other list's.
  return list::reserve(list::length(like), float32, TensorShape::unknown_rank());
}

std::vector<int> watch_differentiable(GradientTape& tape, std::span<const Tensor> inputs,
                                      std::vector<Source>& sources) {
  std::vector<int> index(inputs.size(), -1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (t.dtype() == resource) {
      if (!is_variable(t) || !is_floating(Variable::from_handle(t).dtype())) continue;
      Variable v = Variable::from_handle(t);
      tape.watch(v);
      sources.emplace_back(v);
    } else {
      if (!is_differentiable(t.dtype())) continue;
      tape.watch(t);
      sources.emplace_back(t);
    }
    index[i] = static_cast<int>(sources.size()) - 1;
  }
  return index;
}

bool any_tape_recording() {
  for (const GradientTape::Impl* tape : tape_set().active)
    if (tape->recording) return true;
  return false;
}

TapeIsolation::TapeIsolation() : saved_hook_(context().tapes) {
  auto& set = tape_set();
  saved_ = std::move(set.active);
  set.active.clear();
  set.update_hook();
}

TapeIsolation::~TapeIsolation() {
  auto& set = tape_set();
  set.active = std::move(saved_);
  // Back to the hook as it was, not as the tape set would set it: inside a
  // kernel (KernelScope pauses the tapes) the kernel's own ops must stay
  // unrecorded after an isolated trace.
  context().tapes = saved_hook_;
}

GradientTape::StopRecording GradientTape::stop_recording() {
  EMBER_CHECK(impl_->recording, FailedPrecondition,
              "Trying to stop recording a tape which is not recording.");
  impl_->recording = false;
  return StopRecording(this);
}

GradientTape::StopRecording::~StopRecording() {
  if (tape_) tape_->impl_->recording = true;
}

void GradientTape::reset() {
  impl_->clear_record(/*forget_variables=*/true);
  impl_->used = false;
  impl_->recording = true;
}

bool GradientTape::persistent() const { return impl_->options.persistent; }
bool GradientTape::recording() const { return impl_->recording; }
size_t GradientTape::num_recorded() const { return impl_->entries.size(); }

}  // namespace ember
