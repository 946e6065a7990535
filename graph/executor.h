// The executor: runs a graph from a plan made once. Kernels and output specs
// are resolved at planning (inference runs at call time only for nodes whose
// traced shapes are partly unknown), every node output has a slot, and each
// slot is released right after its last use, so a step's intermediates are
// freed (and their buffers reused by the allocator's cache) as it goes.
#pragma once

#include <mutex>
#include <span>
#include <vector>

#include "graph/graph.h"

namespace ember {

class Executor {
 public:
  /// Plans `graph` (which the executor keeps a reference to; it must not
  /// change afterwards).
  explicit Executor(const Graph& graph);
  /// Runs the graph on its arguments (one per Graph::arguments, checked by
  /// the caller) and returns its outputs. With no tracer and no tape active
  /// the plan runs kernels directly; otherwise every node goes through the
  /// dispatch point (so an enclosing trace records the ops, and tapes record
  /// them for gradients). An error names the node and its op.
  std::vector<Tensor> run(std::span<const Tensor> arguments);

 private:
  struct Step {
    int node;
    std::vector<int> in_slots;
    int out_slot;          // the first of the node's output slots
    bool static_specs;     // the traced specs are fully known
    bool random;           // a stateful random draw: its stream advances every call
    std::vector<int> release;  // slots whose last use is this step
  };
  std::vector<Tensor> run_steps(std::vector<Tensor>& slots, bool direct);
  const Graph& graph_;
  std::vector<int> slot_base_;  // per node, its first output's slot
  int num_slots_ = 0;
  std::vector<Step> steps_;
  std::vector<int> output_slots_;
  std::vector<std::pair<int, int>> preset_;  // (slot, node): constants and captures
  std::vector<Attrs> random_attrs_;           // per node (random ones only)
  std::mutex random_mu_;
};

}  // namespace ember
