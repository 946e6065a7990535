// The executor's arena (graph/executor.h): planning buffers by liveness,
// building them on the device a plain run showed, running kernels straight
// into them, recycled outputs, and a loop's fused steps.
#include <algorithm>
#include <unordered_map>

#include "core/allocator.h"
#include "core/context.h"
#include "core/random.h"
#include "graph/executor.h"

namespace ember {

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
  InFlight flight;
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = steps_[i];
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    finish_inputs(flight, s, slots);
    for (size_t j = 0; j < s.dynamic_in.size(); ++j) {
      auto [pos, sl] = s.dynamic_in[j];
      Tensor& from = slots[static_cast<size_t>(sl)];
      s.arena_in[static_cast<size_t>(pos)] = s.dynamic_moves[j] ? std::move(from) : from;
    }
    if (s.async) {  // (a stateful op's inputs and outputs are never arena buffers)
      try {
        ctx.api = outer_api ? outer_api : s.api;
        KernelContext kctx{*n.op, s.arena_in, s.arena_out, n.attrs, arena_device_, n.outputs};
        start_step(flight, i, n.op->start(kctx));
      } catch (const Error&) {
        for (auto [pos, sl] : s.dynamic_in) s.arena_in[static_cast<size_t>(pos)] = Tensor();
        rethrow_with_prefix("[function] node '" + n.name + "' (" + n.op->name + "): ");
      }
      for (auto [pos, sl] : s.dynamic_in) s.arena_in[static_cast<size_t>(pos)] = Tensor();
      for (int sl : s.release)
        if (arena_buffer_[static_cast<size_t>(sl)] < 0) slots[static_cast<size_t>(sl)] = Tensor();
      ++flight.steps_run;
      continue;
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
        random::advance_stream(*n.op, attrs, s.arena_out[0]);
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
    ++flight.steps_run;
  }
  finish_all(flight, slots);
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
}  // namespace ember
