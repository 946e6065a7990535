#include "graph/executor.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

#include "core/allocator.h"
#include "core/cuda_runtime.h"
#include "core/logging.h"
#include "core/op_names.h"
#include "core/random.h"

namespace ember {
namespace {

// A node run with shapes the trace did not know must give outputs its
// traced specs admit: the trace's inference promised them to the nodes after
// it. Anything else is an inference defect, never a value to return.
// Whether where a tensor lives binds the arena, whose kernels are one
// device's: data, and variables' handles (the kernels read and write them).
bool placed(const Tensor& t) { return is_computable(t.dtype()) || t.dtype() == resource; }

void check_outputs_fit_trace(const Node& n, const std::vector<Tensor>& out) {
  if (context().tracer) return;  // recorded into an enclosing trace: nothing ran
  for (size_t k = 0; k < out.size() && k < n.outputs.size(); ++k) {
    const OutputSpec& want = n.outputs[k];
    const Tensor& t = out[k];
    if (t.defined() && t.dtype() == want.dtype && want.shape.is_compatible_with(t.shape())) continue;
    throw Internal(detail::str_cat("output ", k, " is ", t.defined() ? dtype_name(t.dtype()) : "undefined", " ",
                                   t.defined() ? t.shape().to_string() : "", " where the trace inferred ",
                                   dtype_name(want.dtype), " ", want.shape.to_string()));
  }
}

}  // namespace

Executor::Executor(const Graph& graph, std::shared_ptr<RandomStreams> streams, bool cuda_graphs, bool loop_step)
    : graph_(graph), loop_step_(loop_step) {
  const bool fresh_streams = streams == nullptr;
  random_ = fresh_streams ? std::make_shared<RandomStreams>() : std::move(streams);
  size_t random_count = 0;
  const auto& nodes = graph.nodes;
  slot_base_.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    slot_base_[i] = num_slots_;
    num_slots_ += static_cast<int>(nodes[i].outputs.size());
  }
  auto slot = [&](NodeOutput o) { return slot_base_[static_cast<size_t>(o.node)] + o.index; };
  // Last use of each slot, by step; outputs of the function are never released.
  std::vector<int> last_use(static_cast<size_t>(num_slots_), -1);
  std::vector<bool> pinned(static_cast<size_t>(num_slots_), false);
  for (NodeOutput o : graph.outputs) {
    output_slots_.push_back(slot(o));
    pinned[static_cast<size_t>(slot(o))] = true;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.kind != Node::Kind::Op) {
      if (n.value.defined()) preset_.push_back({slot_base_[i], static_cast<int>(i)});
      continue;
    }
    Step s;
    s.node = static_cast<int>(i);
    for (NodeOutput o : n.inputs) s.in_slots.push_back(slot(o));
    s.out_slot = slot_base_[i];
    // Static: the trace inferred every output from fully known inputs, so
    // the plan's specs hold at every call. Where an input was partly unknown
    // (an argument of unknown dimensions, or a value computed from one), the
    // call's actual shapes are checked by inference at every run.
    s.static_specs = true;
    for (const OutputSpec& spec : n.outputs) s.static_specs = s.static_specs && spec.shape.is_fully_defined();
    for (NodeOutput o : n.inputs) s.static_specs = s.static_specs && graph.spec(o).shape.is_fully_defined();
    s.static_specs = s.static_specs && unresolved_attrs(*n.op, n.attrs) == 0;  // values known at run time
    if (n.op->stateful && n.attrs.has("offset")) {
      s.random = static_cast<int>(random_count++);
      if (fresh_streams) random_->attrs.push_back(n.attrs);
    }
    int step = static_cast<int>(steps_.size());
    for (int in : s.in_slots) last_use[static_cast<size_t>(in)] = step;
    // An output nothing reads is released at once; a later reader moves this on.
    for (size_t k = 0; k < n.outputs.size(); ++k) last_use[static_cast<size_t>(s.out_slot) + k] = step;
    steps_.push_back(std::move(s));
  }
  EMBER_CHECK(random_count == random_->attrs.size(), Internal, "[function] the graph has ", random_count,
              " random nodes, the shared streams ", random_->attrs.size());
  for (int sl = 0; sl < num_slots_; ++sl)
    if (last_use[static_cast<size_t>(sl)] >= 0 && !pinned[static_cast<size_t>(sl)])
      steps_[static_cast<size_t>(last_use[static_cast<size_t>(sl)])].release.push_back(sl);
  plan_arena();
  plan_cuda_graph(cuda_graphs && random_count == 0, last_use, pinned);
}

void Executor::plan_cuda_graph(bool allowed, const std::vector<int>& last_use, const std::vector<bool>& pinned) {
  static const bool enabled = [] {
    const char* e = std::getenv("EMBER_CUDA_GRAPHS");
    return !(e && std::string_view(e) == "0");
  }();
  const auto& nodes = graph_.nodes;
  bool ok = allowed && enabled && arena_state_ == ArenaState::Planned;
  for (int a : graph_.arguments) ok = ok && is_computable(nodes[static_cast<size_t>(a)].outputs[0].dtype);
  for (NodeOutput o : graph_.outputs) ok = ok && is_computable(graph_.spec(o).dtype);
  std::unordered_map<int, size_t> variable_of;  // capture node -> captured_variables_ index
  for (int c : graph_.captures) {
    const Tensor& v = nodes[static_cast<size_t>(c)].value;
    if (v.dtype() != resource) continue;
    if (auto state = std::dynamic_pointer_cast<VariableState>(v.impl()->resource)) {
      variable_of[c] = captured_variables_.size();
      captured_variables_.push_back(std::move(state));
      written_variables_.push_back(false);
    }
  }
  // Per slot, the variable (its capture node) whose buffer it may alias: a
  // read, or a view made of one.
  std::vector<int> alias(static_cast<size_t>(num_slots_), -1);
  for (size_t k = 0; k < steps_.size() && ok; ++k) {
    const Step& s = steps_[k];
    const Node& n = nodes[static_cast<size_t>(s.node)];
    const OpDef& op = *n.op;
    if (op.name == op_name::ReadVariableOp) {
      alias[static_cast<size_t>(s.out_slot)] = n.inputs[0].node;
      continue;
    }
    if (op.allocates_outputs)
      for (int in : s.in_slots)
        if (alias[static_cast<size_t>(in)] >= 0)
          for (size_t j = 0; j < n.outputs.size(); ++j) alias[static_cast<size_t>(s.out_slot) + j] = alias[static_cast<size_t>(in)];
    if (op.data_dependent_shapes) {  // control flow: it reads its condition on the host
      ok = false;
      break;
    }
    if (!op.stateful) continue;
    if (op.resource_inputs == 0) {  // print: a host effect a replay would not repeat
      ok = false;
      break;
    }
    // A write: in place only while no read of the variable is alive.
    for (int r = 0; r < op.resource_inputs && ok; ++r) {
      int res = n.inputs[static_cast<size_t>(r)].node;
      auto it = variable_of.find(res);
      if (it == variable_of.end()) {
        ok = false;
        break;
      }
      written_variables_[it->second] = true;
      for (int sl = 0; sl < num_slots_ && ok; ++sl)
        if (alias[static_cast<size_t>(sl)] == res &&
            (pinned[static_cast<size_t>(sl)] || last_use[static_cast<size_t>(sl)] >= static_cast<int>(k)))
          ok = false;
    }
  }
  graph_eligible_ = ok;
}

Executor::~Executor() { drop_graph(); }

ExecutorStats Executor::stats() const {
  return {plain_runs_.load(), arena_runs_.load(), captures_.load(), replays_.load(), graph_eligible_};
}

void Executor::release_buffers() {
  std::lock_guard<std::mutex> lock(arena_mu_);
  recycled_.clear();
  if (arena_state_ != ArenaState::Built) return;
  drop_graph();
  arena_slot_tensor_.clear();
  for (Step& s : steps_) {
    s.arena_in.clear();
    s.arena_out.clear();
    s.dynamic_in.clear();
    s.dynamic_moves.clear();
  }
  arena_state_ = ArenaState::Planned;  // the next direct call runs plainly and builds the arena again
}

void Executor::drop_graph() {
  graph_outputs_.clear();  // graph allocations: freed before the graph goes
  graph_inputs_.clear();
  graph_variables_.clear();
  cuda_graph_.reset();
  if (graph_mode_ == GraphMode::Captured) graph_mode_ = GraphMode::Untried;
}

namespace {
// Fresh tensors holding `from`'s values (a graph's outputs, which its next launch overwrites).
std::vector<Tensor> copies(const std::vector<Tensor>& from, Device device) {
  std::vector<Tensor> out;
  out.reserve(from.size());
  for (const Tensor& t : from) out.push_back(detail::copy_to_device(t, device));
  return out;
}
constexpr int kMaxRecaptures = 3;
}  // namespace

std::vector<Tensor> Executor::run_graph(std::vector<Tensor>& slots, std::span<const Tensor> arguments) {
  if (graph_mode_ == GraphMode::Untried) {
    // A write the capture would record in place must find its buffer free now.
    for (size_t i = 0; i < captured_variables_.size(); ++i)
      if (written_variables_[i] && !captured_variables_[i]->buffer_state().second) {
        ++arena_runs_;
        return run_in_arena(slots);
      }
    return capture_graph(slots, arguments);
  }
  for (const WatchedVariable& w : graph_variables_) {
    auto [buffer, exclusive] = w.state->buffer_state();
    if (buffer != w.buffer) {  // the variable has another buffer now: capture again
      drop_graph();
      if (++graph_recaptures_ > kMaxRecaptures) graph_mode_ = GraphMode::Unusable;
      ++arena_runs_;
      return run_in_arena(slots);
    }
    if (w.written && !exclusive) {  // a read holds it: this call copies on write
      ++arena_runs_;
      return run_in_arena(slots);
    }
  }
  for (size_t i = 0; i < arguments.size(); ++i)
    if (arguments[i].nbytes())
      copy_bytes(graph_inputs_[i].raw_data(), arena_device_, arguments[i].raw_data(), arguments[i].device(),
                 arguments[i].nbytes());
  cuda_graph_->launch();
  ++replays_;
  return copies(graph_outputs_, arena_device_);
}

std::vector<Tensor> Executor::capture_graph(std::vector<Tensor>& slots, std::span<const Tensor> arguments) {
  // The arguments go through buffers of the graph's own, filled before each launch.
  graph_inputs_.clear();
  for (size_t i = 0; i < arguments.size(); ++i) {
    Tensor b = detail::copy_to_device(arguments[i], arena_device_);
    slots[static_cast<size_t>(slot_base_[static_cast<size_t>(graph_.arguments[i])])] = b;
    graph_inputs_.push_back(std::move(b));
  }
  std::vector<WatchedVariable> watched;
  for (size_t i = 0; i < captured_variables_.size(); ++i)
    watched.push_back({captured_variables_[i], captured_variables_[i]->buffer_state().first, written_variables_[i]});
  std::string why;
  std::vector<Tensor> out;
  cuda::begin_capture(arena_device_.index());
  try {
    out = run_in_arena(slots);
  } catch (const Error& e) {
    why = e.what();
  }
  std::string end_why;
  std::unique_ptr<cuda::CudaGraph> g = cuda::end_capture(end_why);
  bool moved = false;
  for (const WatchedVariable& w : watched) moved = moved || w.state->buffer_state().first != w.buffer;
  if (!why.empty() || !g) {
    // Nothing ran; the host state is as before (every write was to be in place).
    EMBER_CHECK(!moved, Internal, "[function] a failed CUDA-graph capture replaced a variable's buffer (",
                why.empty() ? end_why : why, ")");
    EMBER_LOG_DEBUG("[function] not replayed as a CUDA graph: {}", why.empty() ? end_why : why);
    graph_mode_ = GraphMode::Unusable;
    graph_inputs_.clear();
    for (size_t i = 0; i < arguments.size(); ++i)
      slots[static_cast<size_t>(slot_base_[static_cast<size_t>(graph_.arguments[i])])] = arguments[i];
    ++arena_runs_;
    return run_in_arena(slots);
  }
  g->launch();  // this call's work
  ++captures_;
  if (moved) {
    // A host decision a replay cannot repeat (a write that was not in
    // place after all): the graph serves this call only; its allocations
    // outlive it.
    graph_mode_ = GraphMode::Unusable;
    graph_inputs_.clear();
    return out;
  }
  cuda_graph_ = std::move(g);
  graph_outputs_ = std::move(out);
  graph_variables_ = std::move(watched);
  graph_mode_ = GraphMode::Captured;
  return copies(graph_outputs_, arena_device_);
}

void Executor::plan_arena() {
  arena_buffer_.assign(static_cast<size_t>(num_slots_), -1);
  for (const Step& s : steps_)
    if (!s.static_specs) {
      arena_state_ = ArenaState::Unusable;
      return;
    }
  // Which slots may live in the arena: outputs of stateless ops that write
  // into given buffers, never returned, and read only by such ops (a
  // stateful op may keep its input, an assignment does; a view-making op
  // may alias it).
  auto plain = [&](const Node& n) { return !n.op->stateful && !n.op->allocates_outputs; };
  std::vector<bool> eligible(static_cast<size_t>(num_slots_), false);
  for (const Step& s : steps_) {
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    if (!plain(n)) continue;
    for (size_t k = 0; k < n.outputs.size(); ++k)
      eligible[static_cast<size_t>(s.out_slot) + k] = is_computable(n.outputs[k].dtype);
  }
  for (size_t i = 0; i < output_slots_.size(); ++i)  // (a loop step's condition stays: outputs are never freed)
    if (!loop_step_ || i + 1 < output_slots_.size() ||
        std::count(output_slots_.begin(), output_slots_.end(), output_slots_[i]) > 1)
      eligible[static_cast<size_t>(output_slots_[i])] = false;
  for (const Step& s : steps_)
    if (!plain(graph_.nodes[static_cast<size_t>(s.node)]))
      for (int in : s.in_slots) eligible[static_cast<size_t>(in)] = false;
  // Buffers by liveness: a value takes the smallest free buffer that holds
  // it (else the largest, grown; else a new one); a buffer is free again
  // after the step that last reads its value.
  std::vector<int> free_buffers;
  for (const Step& s : steps_) {
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      size_t sl = static_cast<size_t>(s.out_slot) + k;
      if (!eligible[sl]) continue;
      size_t need = static_cast<size_t>(n.outputs[k].shape.num_elements()) * dtype_size(n.outputs[k].dtype);
      need = std::max<size_t>((need + 63) / 64 * 64, 64);
      auto best = free_buffers.end();
      for (auto it = free_buffers.begin(); it != free_buffers.end(); ++it) {
        size_t have = arena_bytes_[static_cast<size_t>(*it)];
        if (best == free_buffers.end()) {
          best = it;
          continue;
        }
        size_t cur = arena_bytes_[static_cast<size_t>(*best)];
        bool fits = have >= need, cur_fits = cur >= need;
        if ((fits && (!cur_fits || have < cur)) || (!fits && !cur_fits && have > cur)) best = it;
      }
      int b;
      if (best != free_buffers.end()) {
        b = *best;
        free_buffers.erase(best);
        arena_bytes_[static_cast<size_t>(b)] = std::max(arena_bytes_[static_cast<size_t>(b)], need);
      } else {
        b = static_cast<int>(arena_bytes_.size());
        arena_bytes_.push_back(need);
      }
      arena_buffer_[sl] = b;
    }
    for (int sl : s.release)
      if (arena_buffer_[static_cast<size_t>(sl)] >= 0) free_buffers.push_back(arena_buffer_[static_cast<size_t>(sl)]);
  }
  arena_state_ = ArenaState::Planned;
}

void Executor::build_arena(const std::vector<Device>& step_devices) {
  arena_state_ = ArenaState::Unusable;
  // One device for every node and every constant or captured tensor.
  std::optional<Device> device;
  for (const Device& d : step_devices) {
    if (device && !(*device == d)) return;
    device = d;
  }
  if (!device) return;
  for (auto [sl, node] : preset_) {  // constants and captures, captured variables' handles included
    const Tensor& v = graph_.nodes[static_cast<size_t>(node)].value;
    if (placed(v) && !(v.device() == *device)) return;
  }
  for (Step& s : steps_) {
    const OpDef& op = *graph_.nodes[static_cast<size_t>(s.node)].op;
    s.kernel = op.kernels[static_cast<int>(device->kind())];
    s.api = op.api_name.empty() ? op.name.c_str() : op.api_name.c_str();
    if (!s.kernel) return;
  }
  std::vector<Tensor> buffers;
  for (size_t bytes : arena_bytes_)
    buffers.push_back(Tensor::empty(TensorShape{static_cast<int64_t>(bytes)}, uint8, *device));
  arena_slot_tensor_.assign(static_cast<size_t>(num_slots_), Tensor());
  for (Step& s : steps_) {
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    s.arena_out.assign(n.outputs.size(), Tensor());
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      size_t sl = static_cast<size_t>(s.out_slot) + k;
      if (arena_buffer_[sl] < 0) continue;
      auto view = TensorImpl::view_of(*buffers[static_cast<size_t>(arena_buffer_[sl])].impl());
      view->dtype = n.outputs[k].dtype;
      view->shape = n.outputs[k].shape;
      arena_slot_tensor_[sl] = Tensor(std::move(view));
      s.arena_out[k] = arena_slot_tensor_[sl];
    }
  }
  std::unordered_map<int, const Tensor*> preset_value;
  for (auto [sl, node] : preset_) preset_value[sl] = &graph_.nodes[static_cast<size_t>(node)].value;
  // The outputs a call moves out of their slots (each slot once; constants stay).
  output_moves_.clear();
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    int sl = output_slots_[i];
    bool once = std::count(output_slots_.begin(), output_slots_.end(), sl) == 1;
    output_moves_.push_back(once && !preset_value.count(sl));
  }
  for (Step& s : steps_) {
    s.arena_in.assign(s.in_slots.size(), Tensor());
    s.dynamic_in.clear();
    s.dynamic_moves.clear();
    for (size_t i = 0; i < s.in_slots.size(); ++i) {
      const Tensor& held = arena_slot_tensor_[static_cast<size_t>(s.in_slots[i])];
      auto preset = preset_value.find(s.in_slots[i]);
      if (held.defined())
        s.arena_in[i] = held;
      else if (preset != preset_value.end())  // a constant or a capture: held for good too
        s.arena_in[i] = *preset->second;
      else
        s.dynamic_in.emplace_back(static_cast<int>(i), s.in_slots[i]);
    }
    // A value this step reads last, once, moves into the kernel's inputs
    // (no reference count traffic): its slot is released here anyway.
    for (auto [pos, sl] : s.dynamic_in) {
      int uses = 0;
      for (auto [p2, sl2] : s.dynamic_in) uses += sl2 == sl;
      bool last = std::find(s.release.begin(), s.release.end(), sl) != s.release.end();
      s.dynamic_moves.push_back(last && uses == 1);
    }
  }
  arena_device_ = *device;
  arena_state_ = ArenaState::Built;
}

void Executor::fill_arena_slots(std::vector<Tensor>& slots, std::span<const Tensor> arguments) const {
  for (size_t i = 0; i < arguments.size(); ++i)
    slots[static_cast<size_t>(slot_base_[static_cast<size_t>(graph_.arguments[i])])] = arguments[i];
  for (size_t i = 0; i < output_slots_.size(); ++i)  // (the steps hold the rest of the constants)
    if (!output_moves_[i]) {
      int sl = output_slots_[i];
      for (auto [psl, node] : preset_)
        if (psl == sl) slots[static_cast<size_t>(sl)] = graph_.nodes[static_cast<size_t>(node)].value;
    }
}

void Executor::fill_slots(std::vector<Tensor>& slots, std::span<const Tensor> arguments) const {
  for (size_t i = 0; i < graph_.arguments.size(); ++i)
    slots[static_cast<size_t>(slot_base_[static_cast<size_t>(graph_.arguments[i])])] = arguments[i];
  for (auto [sl, node] : preset_) slots[static_cast<size_t>(sl)] = graph_.nodes[static_cast<size_t>(node)].value;
}

std::vector<Tensor> Executor::run(std::span<const Tensor> arguments) {
  const Context& ctx = context();
  bool direct = ctx.tracer == nullptr && ctx.tapes == nullptr;
  if (direct && arena_state_ != ArenaState::Unusable) {
    std::unique_lock<std::mutex> lock(arena_mu_, std::try_to_lock);
    if (lock.owns_lock()) {
      if (arena_state_ == ArenaState::Built) {
        bool same_device = true;
        for (const Tensor& a : arguments) same_device = same_device && (!placed(a) || a.device() == arena_device_);
        if (same_device) {
          std::vector<Tensor> slots(static_cast<size_t>(num_slots_));
          if (graph_eligible_ && arena_device_.is_cuda() && graph_mode_ != GraphMode::Unusable) {
            fill_slots(slots, arguments);
            return run_graph(slots, arguments);
          }
          fill_arena_slots(slots, arguments);
          ++arena_runs_;
          return run_in_arena(slots);
        }
      } else if (arena_state_ == ArenaState::Planned) {
        std::vector<Tensor> slots(static_cast<size_t>(num_slots_));
        fill_slots(slots, arguments);
        std::vector<Device> devices;
        ++plain_runs_;
        std::vector<Tensor> out = run_steps(slots, true, &devices);
        build_arena(devices);
        return out;
      }
    }
  }
  std::vector<Tensor> slots(static_cast<size_t>(num_slots_));
  fill_slots(slots, arguments);
  ++plain_runs_;
  return run_steps(slots, direct);
}

Tensor Executor::recycled_output(size_t slot, const OutputSpec& spec) {
  // (Host buffers only: a CUDA graph bakes in the addresses it writes, and
  // the caching allocator makes a GPU buffer cheap anyway.)
  if (!arena_device_.is_cpu()) return Tensor::empty(spec.shape, spec.dtype, arena_device_);
  if (recycled_.size() != static_cast<size_t>(num_slots_)) recycled_.resize(static_cast<size_t>(num_slots_));
  auto& pool = recycled_[slot];
  for (Tensor& old : pool)
    if (old.defined() && old.buffer_is_exclusive()) {  // nobody holds what a call returned before: write over it
      TensorImpl& impl = *old.impl();
      impl.id = TensorImpl::next_id();  // a new value: a new identity for tapes
      impl.watch_marks[0].store(0, std::memory_order_relaxed);
      impl.watch_marks[1].store(0, std::memory_order_relaxed);
      return old;
    }
  Tensor fresh = Tensor::empty(spec.shape, spec.dtype, arena_device_);
  if (fresh.nbytes() <= kRecycledBytes) {  // (small values only: the pool keeps the last two alive)
    pool[0] = std::move(pool[1]);
    pool[1] = fresh;
  }
  return fresh;
}

std::vector<Tensor> Executor::run_in_arena(std::vector<Tensor>& slots) {
  std::vector<Tensor> outputs;
  run_in_arena(slots, outputs);
  return outputs;
}

bool Executor::run_loop(std::vector<Tensor>& vars) {
  const Context& ctx = context();
  if (ctx.tracer != nullptr || ctx.tapes != nullptr || arena_state_ != ArenaState::Built) return false;
  std::unique_lock<std::mutex> lock(arena_mu_, std::try_to_lock);
  if (!lock.owns_lock() || arena_state_ != ArenaState::Built || (graph_eligible_ && arena_device_.is_cuda()))
    return false;
  const size_t n = vars.size();
  if (n + 1 != output_slots_.size() || n != graph_.arguments.size()) return false;
  for (const Tensor& a : vars)
    if (is_computable(a.dtype()) && !(a.device() == arena_device_)) return false;
  std::vector<Tensor> slots(static_cast<size_t>(num_slots_));
  std::vector<Tensor> in = std::move(vars), out;
  out.reserve(n + 1);
  Context& c = context();
  KernelScope scope(c, arena_device_, nullptr);  // once for every iteration
  int64_t runs = 0;
  for (;;) {
    // The arguments move into their slots: nothing else needs them.
    for (size_t i = 0; i < n; ++i)
      slots[static_cast<size_t>(slot_base_[static_cast<size_t>(graph_.arguments[i])])] = std::move(in[i]);
    fill_arena_slots(slots, {});
    ++runs;
    out.clear();
    run_arena_steps(c, scope.outer_api(), slots, out, n);  // the condition is read where it lies
    size_t flag = static_cast<size_t>(output_slots_.back());
    const Tensor& keep = arena_buffer_[flag] >= 0 ? arena_slot_tensor_[flag] : slots[flag];
    bool keep_going = keep.device().is_cpu() ? *static_cast<const bool*>(keep.raw_data())
                                             : keep.to(Device::cpu()).item<bool>();
    std::swap(in, out);  // this iteration's results are the next one's arguments
    if (!keep_going) break;
  }
  arena_runs_ += runs;
  vars = std::move(in);
  return true;
}

void Executor::run_in_arena(std::vector<Tensor>& slots, std::vector<Tensor>& outputs) {
  // The context run_op sets per op, set once: the arena's device, no tapes.
  Context& ctx = context();
  KernelScope scope(ctx, arena_device_, nullptr);
  run_arena_steps(ctx, scope.outer_api(), slots, outputs);
}

void Executor::run_arena_steps(Context& ctx, const char* outer_api, std::vector<Tensor>& slots,
                               std::vector<Tensor>& outputs, size_t count) {
  // Arena values never pass through `slots`: the steps hold them.
  for (Step& s : steps_) {
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    for (size_t j = 0; j < s.dynamic_in.size(); ++j) {
      auto [pos, sl] = s.dynamic_in[j];
      Tensor& from = slots[static_cast<size_t>(sl)];
      s.arena_in[static_cast<size_t>(pos)] = s.dynamic_moves[j] ? std::move(from) : from;
    }
    try {
      for (size_t k = 0; k < n.outputs.size(); ++k)
        if (arena_buffer_[static_cast<size_t>(s.out_slot) + k] < 0 && !n.op->allocates_outputs)
          s.arena_out[k] = recycled_output(static_cast<size_t>(s.out_slot) + k, n.outputs[k]);
      ctx.api = outer_api ? outer_api : s.api;
      if (s.random >= 0) {
        std::lock_guard<std::mutex> lock(random_->mu);
        Attrs& attrs = random_->attrs[static_cast<size_t>(s.random)];
        KernelContext kctx{*n.op, s.arena_in, s.arena_out, attrs, arena_device_, n.outputs};
        s.kernel(kctx);
        random::advance_stream(attrs, s.arena_out[0].num_elements());
      } else {
        KernelContext kctx{*n.op, s.arena_in, s.arena_out, n.attrs, arena_device_, n.outputs};
        s.kernel(kctx);
      }
    } catch (const Error&) {
      for (auto [pos, sl] : s.dynamic_in) s.arena_in[static_cast<size_t>(pos)] = Tensor();
      for (size_t k = 0; k < n.outputs.size(); ++k)
        if (arena_buffer_[static_cast<size_t>(s.out_slot) + k] < 0) s.arena_out[k] = Tensor();
      rethrow_with_prefix("[function] node '" + n.name + "' (" + n.op->name + "): ");
    }
    for (auto [pos, sl] : s.dynamic_in) s.arena_in[static_cast<size_t>(pos)] = Tensor();
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      size_t sl = static_cast<size_t>(s.out_slot) + k;
      if (arena_buffer_[sl] < 0)
        slots[sl] = std::move(s.arena_out[k]);
      else  // kernels write into their outputs; one that replaced an arena buffer breaks the plan
        EMBER_CHECK(s.arena_out[k].impl() == arena_slot_tensor_[sl].impl(), Internal, "[function] op ",
                    n.op->name, " replaced its preallocated output");
    }
    for (int sl : s.release)
      if (arena_buffer_[static_cast<size_t>(sl)] < 0) slots[static_cast<size_t>(sl)] = Tensor();
  }
  outputs.reserve(output_slots_.size());
  count = std::min(count, output_slots_.size());
  for (size_t i = 0; i < count; ++i) {
    size_t sl = static_cast<size_t>(output_slots_[i]);
    Tensor& v = slots[sl];
    if (arena_buffer_[sl] >= 0)
      outputs.push_back(arena_slot_tensor_[sl]);  // a loop step's condition
    else
      outputs.push_back(output_moves_[i] ? std::move(v) : v);
  }
}

std::vector<Tensor> Executor::run_steps(std::vector<Tensor>& slots, bool direct, std::vector<Device>* devices) {
  std::vector<Tensor> in;
  for (const Step& s : steps_) {
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    in.clear();
    for (int sl : s.in_slots) in.push_back(slots[static_cast<size_t>(sl)]);
    try {
      std::vector<Tensor> out;
      if (s.random >= 0) {
        // The node's stream continues from its last draw, whichever thread calls.
        std::lock_guard<std::mutex> lock(random_->mu);
        Attrs& attrs = random_->attrs[static_cast<size_t>(s.random)];
        out = direct && s.static_specs ? run_op(*n.op, in, attrs, n.outputs) : execute(*n.op, in, attrs);
        random::advance_stream(attrs, out[0].num_elements());
      } else if (direct && s.static_specs) {
        out = run_op(*n.op, in, n.attrs, n.outputs);
      } else {
        out = execute(*n.op, in, n.attrs);
      }
      if (!s.static_specs) check_outputs_fit_trace(n, out);
      if (devices) {  // where it ran: its outputs' device, and the variables it reads or writes
        if (!out.empty() && out[0].defined()) devices->push_back(out[0].device());
        for (const Tensor& t : in)
          if (t.defined() && t.dtype() == resource) devices->push_back(t.device());
      }
      for (size_t k = 0; k < out.size(); ++k) slots[static_cast<size_t>(s.out_slot) + k] = std::move(out[k]);
    } catch (const Error&) {
      rethrow_with_prefix("[function] node '" + n.name + "' (" + n.op->name + "): ");
    }
    for (int sl : s.release) slots[static_cast<size_t>(sl)] = Tensor();
  }
  std::vector<Tensor> outputs;
  outputs.reserve(output_slots_.size());
  for (int sl : output_slots_) outputs.push_back(slots[static_cast<size_t>(sl)]);
  return outputs;
}

std::vector<std::vector<Tensor>> interpret(const Graph& graph, std::span<const Tensor> arguments,
                                           std::span<const Tensor> captures) {
  EMBER_CHECK(arguments.size() == graph.arguments.size() && captures.size() == graph.captures.size(), Internal,
              "[function] interpreting a graph of ", graph.arguments.size(), " arguments and ",
              graph.captures.size(), " captures with ", arguments.size(), " and ", captures.size());
  std::vector<std::vector<Tensor>> values(graph.nodes.size());
  for (size_t i = 0; i < graph.arguments.size(); ++i) values[static_cast<size_t>(graph.arguments[i])] = {arguments[i]};
  for (size_t i = 0; i < graph.captures.size(); ++i) values[static_cast<size_t>(graph.captures[i])] = {captures[i]};
  std::vector<Tensor> in;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    if (n.kind == Node::Kind::Const) values[i] = {n.value};
    if (n.kind != Node::Kind::Op) continue;
    in.clear();
    for (NodeOutput o : n.inputs) in.push_back(values[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)]);
    try {
      values[i] = execute(*n.op, in, n.attrs);
    } catch (const Error&) {
      rethrow_with_prefix("[function] node '" + n.name + "' (" + n.op->name + "): ");
    }
  }
  return values;
}

}  // namespace ember
