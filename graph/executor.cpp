// The executor: planning, the plain node-by-node run, and the choice of way
// for each call. The arena's way: executor_arena.cpp; CUDA-graph capture
// and replay: executor_cuda_graph.cpp.
#include "graph/executor.h"

#include "core/cuda_runtime.h"
#include "core/random.h"

namespace ember {
namespace {

// A node run with shapes the trace did not know must give outputs its
// traced specs admit: the trace's inference promised them to the nodes after
// it. Anything else is an inference defect, never a value to return.
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

// Whether where a tensor lives binds the arena, whose kernels are one
// device's: data, and variables' handles (the kernels read and write them).
bool Executor::placed(const Tensor& t) { return is_computable(t.dtype()) || t.dtype() == resource; }

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
    s.async = n.op->start != nullptr && s.static_specs;
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
Executor::~Executor() { drop_graph(); }

ExecutorStats Executor::stats() const {
  return {plain_runs_.load(), arena_runs_.load(), captures_.load(), replays_.load(), graph_eligible_,
          overlapped_.load()};
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
void Executor::start_step(InFlight& f, size_t step, FinishFn finish) {
  if (f.at.empty()) f.at.assign(static_cast<size_t>(num_slots_), -1);
  const Step& s = steps_[step];
  for (size_t k = 0; k < graph_.nodes[static_cast<size_t>(s.node)].outputs.size(); ++k)
    f.at[static_cast<size_t>(s.out_slot) + k] = static_cast<int>(f.started.size());
  f.started.push_back({static_cast<int>(step), std::move(finish), f.steps_run});
}
void Executor::finish_one(InFlight& f, size_t k, std::vector<Tensor>& slots) {
  InFlight::Started& st = f.started[k];
  if (!st.finish) return;
  const Step& s = steps_[static_cast<size_t>(st.step)];
  const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
  FinishFn finish = std::move(st.finish);
  st.finish = nullptr;
  std::vector<Tensor> out;
  try {
    out = finish();
  } catch (const Error&) {
    rethrow_with_prefix("[function] node '" + n.name + "' (" + n.op->name + "): ");
  }
  if (f.steps_run > st.steps_run) ++overlapped_;
  for (size_t j = 0; j < out.size(); ++j) {
    slots[static_cast<size_t>(s.out_slot) + j] = std::move(out[j]);
    f.at[static_cast<size_t>(s.out_slot) + j] = -1;
  }
}
void Executor::finish_inputs(InFlight& f, const Step& s, std::vector<Tensor>& slots) {
  if (f.at.empty()) return;
  for (int sl : s.in_slots)
    if (int k = f.at[static_cast<size_t>(sl)]; k >= 0) finish_one(f, static_cast<size_t>(k), slots);
}
void Executor::finish_all(InFlight& f, std::vector<Tensor>& slots) {
  for (size_t k = 0; k < f.started.size(); ++k) finish_one(f, k, slots);
}

std::vector<Tensor> Executor::run_steps(std::vector<Tensor>& slots, bool direct, std::vector<Device>* devices) {
  std::vector<Tensor> in;
  InFlight flight;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    finish_inputs(flight, s, slots);
    in.clear();
    for (int sl : s.in_slots) in.push_back(slots[static_cast<size_t>(sl)]);
    try {
      std::vector<Tensor> out;
      if (direct && s.async) {
        if (devices && !in.empty() && in[0].defined()) devices->push_back(in[0].device());
        start_step(flight, i, start_op(*n.op, in, n.attrs, n.outputs));
      } else if (s.random >= 0) {
        // The node's stream continues from its last draw, whichever thread calls.
        std::lock_guard<std::mutex> lock(random_->mu);
        Attrs& attrs = random_->attrs[static_cast<size_t>(s.random)];
        out = direct && s.static_specs ? run_op(*n.op, in, attrs, n.outputs) : execute(*n.op, in, attrs);
        random::advance_stream(*n.op, attrs, out[0]);
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
    ++flight.steps_run;
  }
  finish_all(flight, slots);
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
