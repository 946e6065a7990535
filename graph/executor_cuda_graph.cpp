// The executor's CUDA-graph replay (graph/executor.h): which graphs
// qualify, capture, replay, and dropping a captured graph.
#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

#include "core/cuda_runtime.h"
#include "core/logging.h"
#include "core/op_names.h"
#include "graph/executor.h"

namespace ember {

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
}  // namespace ember
