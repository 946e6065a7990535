// The executor: runs a graph from a plan made once. Kernels and output specs
// are resolved at planning (inference runs at call time only for nodes whose
// traced shapes are partly unknown), every node output has a slot, and each
// slot is released right after its last use.
//
// Where every shape is known, intermediates live in an arena: after a first
// plain run shows which device each node runs on, every intermediate that
// cannot escape (not an output, not read by a stateful op or a view-making
// op) gets a buffer assigned by liveness (a buffer is reused once the value
// in it is dead), allocated once. Later calls run the kernels straight into
// those buffers: no allocation, placement or inference per node. A call that
// finds the arena busy (another thread) or its arguments on another device
// runs the plain way.
//
// On a GPU the arena's run is captured once as a CUDA graph (the call after
// the arena is built) and later calls replay it: the arguments are copied
// into the graph's input buffers, the graph is launched, and the outputs are
// copied out of the buffers it leaves them in. A graph bakes in addresses
// and host decisions, so only some graphs qualify: no random op (its stream
// position is a kernel argument), no control flow (it reads its condition
// on the host), no stateful op but variable reads and writes, no variable
// argument, and every write in place (no read of the
// variable still alive when it is written). A replay first checks that
// every variable the graph touches still has its captured buffer (else the
// graph is captured again) and that the ones it writes are not held by a
// read (else the call runs the arena's way); a capture that fails (a kernel
// that waits for the host) leaves the executor on the arena's way.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "core/variable.h"
#include "graph/executor_stats.h"
#include "graph/graph.h"

namespace ember {
namespace cuda {
class CudaGraph;
}

/// The random streams of a graph's random nodes (their attributes, whose
/// offset advances at every draw), in program order. Two executors of graphs
/// with the same random nodes may share them (a traced function and its
/// forward-with-saved-values), so neither repeats the other's numbers.
struct RandomStreams {
  std::mutex mu;
  std::vector<Attrs> attrs;
};

class Executor {
 public:
  /// Plans `graph` (which the executor keeps a reference to; it must not
  /// change afterwards). `streams`: random streams to continue (another
  /// executor's), which must have one per random node of `graph`.
  /// `cuda_graphs`: capture and replay on a GPU where the graph qualifies
  /// (EMBER_CUDA_GRAPHS=0 in the environment turns it off everywhere).
  /// `loop_step`: the graph is a loop's fused step (run_loop): its last
  /// output, the condition, lives in the arena (a call's result then holds
  /// the arena's buffer, valid until the next call).
  explicit Executor(const Graph& graph, std::shared_ptr<RandomStreams> streams = nullptr, bool cuda_graphs = true,
                    bool loop_step = false);
  ~Executor();
  const std::shared_ptr<RandomStreams>& random_streams() const { return random_; }
  ExecutorStats stats() const;
  /// Whether the graph qualifies for CUDA-graph replay (see above).
  bool cuda_graph_eligible() const { return graph_eligible_; }
  /// Runs the graph on its arguments (one per Graph::arguments, checked by
  /// the caller) and returns its outputs. With no tracer and no tape active
  /// the plan runs kernels directly; otherwise every node goes through the
  /// dispatch point (so an enclosing trace records the ops, and tapes record
  /// them for gradients). An error names the node and its op.
  std::vector<Tensor> run(std::span<const Tensor> arguments);
  /// Runs the graph as a loop's step: its outputs are the next call's
  /// arguments plus a scalar bool, and calls repeat (with no allocation
  /// once its outputs' buffers are recycled) until that bool is false;
  /// `vars` then holds the last arguments. False, with `vars` untouched,
  /// where only a plain call can run it (no arena yet, a tape or a trace
  /// active, another device, a CUDA graph): the caller loops on run().
  bool run_loop(std::vector<Tensor>& vars);
  /// Lets the arena's buffers, recycled outputs and CUDA graph go (a trace
  /// that has gone cold): the next direct call runs the plain way and
  /// builds them again.
  void release_buffers();

 private:
  struct Step {
    int node;
    KernelFn kernel = nullptr;  // the arena's device's, resolved when it is built
    const char* api = nullptr;  // the name errors give (api_name_for)
    std::vector<int> in_slots;
    int out_slot;          // the first of the node's output slots
    bool static_specs;     // the traced specs are fully known
    int random = -1;       // a stateful random draw: its stream (advanced every call)
    bool async = false;    // started, and finished when first read (OpDef::start: the collectives)
    std::vector<int> release;  // slots whose last use is this step
    // The arena's run: the kernel's inputs and outputs, kept between calls.
    // Arena values sit there for good; `dynamic_in` lists the positions
    // (and slots) filled per call, and cleared after the step.
    std::vector<Tensor> arena_in, arena_out;
    std::vector<std::pair<int, int>> dynamic_in;
    std::vector<bool> dynamic_moves;  // per dynamic_in: moved in (its last use) rather than copied
  };
  // The asynchronous steps one call started and has not finished: each is
  // finished when a later step first reads one of its outputs, the rest at
  // the end of the call, in the order started; the steps between run meanwhile.
  struct InFlight {
    struct Started {
      int step;
      FinishFn finish;
      size_t steps_run;  // when it started
    };
    std::vector<Started> started;
    std::vector<int> at;  // per slot: its step's index in `started`, or -1 (empty until a start)
    size_t steps_run = 0;
  };
  void start_step(InFlight& f, size_t step, FinishFn finish);
  void finish_inputs(InFlight& f, const Step& s, std::vector<Tensor>& slots);
  void finish_all(InFlight& f, std::vector<Tensor>& slots);
  void finish_one(InFlight& f, size_t k, std::vector<Tensor>& slots);
  // Whether where a tensor lives binds the arena (data and variable handles).
  static bool placed(const Tensor& t);
  std::vector<Tensor> run_steps(std::vector<Tensor>& slots, bool direct, std::vector<Device>* devices = nullptr);
  std::vector<Tensor> run_in_arena(std::vector<Tensor>& slots);
  void run_in_arena(std::vector<Tensor>& slots, std::vector<Tensor>& outputs);
  // The arena's steps, inside the caller's KernelScope; the first `count` outputs.
  void run_arena_steps(Context& ctx, const char* outer_api, std::vector<Tensor>& slots, std::vector<Tensor>& outputs,
                       size_t count = SIZE_MAX);
  void fill_slots(std::vector<Tensor>& slots, std::span<const Tensor> arguments) const;
  // The arena's way: the arguments given (all, or none where the caller
  // placed them) and the constants that are outputs (its steps hold the rest).
  void fill_arena_slots(std::vector<Tensor>& slots, std::span<const Tensor> arguments) const;
  std::vector<Tensor> run_graph(std::vector<Tensor>& slots, std::span<const Tensor> arguments);
  std::vector<Tensor> capture_graph(std::vector<Tensor>& slots, std::span<const Tensor> arguments);
  void drop_graph();
  void plan_cuda_graph(bool allowed, const std::vector<int>& last_use, const std::vector<bool>& pinned);
  void build_arena(const std::vector<Device>& step_devices);
  void plan_arena();
  // An output (or an escaping value) of the arena's run: a buffer a former
  // call returned, once nobody holds it (a loop's previous iterations), else
  // a new one. Host values up to kRecycledBytes; two kept per slot (ping-pong).
  Tensor recycled_output(size_t slot, const OutputSpec& spec);
  static constexpr size_t kRecycledBytes = 64 * 1024;
  std::vector<std::array<Tensor, 2>> recycled_;  // per slot; guarded by arena_mu_
  const Graph& graph_;
  std::vector<int> slot_base_;  // per node, its first output's slot
  int num_slots_ = 0;
  std::vector<Step> steps_;
  std::vector<int> output_slots_;
  std::vector<bool> output_moves_;
  bool loop_step_ = false;  // per output, once the arena is built: moved out of its slot
  std::vector<std::pair<int, int>> preset_;  // (slot, node): constants and captures
  std::shared_ptr<RandomStreams> random_;

  // The arena: per slot, its buffer (-1: allocated per call), the buffers'
  // sizes, and once built, the device and a tensor per arena slot.
  std::vector<int> arena_buffer_;
  std::vector<size_t> arena_bytes_;
  std::mutex arena_mu_;
  enum class ArenaState : uint8_t { Unplanned, Planned, Built, Unusable };
  std::atomic<ArenaState> arena_state_{ArenaState::Unplanned};  // read before taking arena_mu_
  Device arena_device_;
  std::vector<Tensor> arena_slot_tensor_;

  // CUDA-graph replay (guarded by arena_mu_).
  bool graph_eligible_ = false;
  enum class GraphMode : uint8_t { Untried, Captured, Unusable };
  GraphMode graph_mode_ = GraphMode::Untried;
  int graph_recaptures_ = 0;
  std::unique_ptr<cuda::CudaGraph> cuda_graph_;
  std::vector<Tensor> graph_inputs_;   // the argument buffers the graph reads
  std::vector<Tensor> graph_outputs_;  // the buffers it leaves the outputs in
  struct WatchedVariable {
    std::shared_ptr<VariableState> state;
    const void* buffer;  // at capture
    bool written;
  };
  std::vector<WatchedVariable> graph_variables_;
  std::vector<std::shared_ptr<VariableState>> captured_variables_;  // every variable the graph reads or writes
  std::vector<bool> written_variables_;                              // per captured_variables_

  std::atomic<int64_t> plain_runs_{0}, arena_runs_{0}, captures_{0}, replays_{0};
  std::atomic<int64_t> overlapped_{0};  // asynchronous steps finished after later steps ran
};

/// Runs `graph` node by node through the dispatch point (so an active trace
/// records it, and tapes see every op), feeding its arguments and captures
/// with the tensors given. Returns every node's outputs.
std::vector<std::vector<Tensor>> interpret(const Graph& graph, std::span<const Tensor> arguments,
                                           std::span<const Tensor> captures);

}  // namespace ember
