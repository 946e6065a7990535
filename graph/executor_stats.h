// How an executor's calls ran: what a ConcreteFunction reports
// (run_stats) without its users including the executor.
#pragma once

#include <cstdint>

namespace ember {

/// How an executor's calls ran (tests and benchmarks read it).
struct ExecutorStats {
  int64_t plain = 0;     // node by node (through run_op, or the dispatch point)
  int64_t arena = 0;     // the arena's kernels, directly
  int64_t captures = 0;  // CUDA graphs captured
  int64_t replays = 0;   // calls that launched a captured CUDA graph
  bool cuda_graph_eligible = false;  // whether the graph qualifies for CUDA-graph replay
  // Asynchronous nodes (the collectives) that later nodes ran beside:
  // finished only after at least one node after them had run.
  int64_t overlapped = 0;
};

}  // namespace ember
