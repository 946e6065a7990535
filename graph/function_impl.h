// What a ConcreteFunction holds, and how a call under a tape is recorded:
// private to graph/ (function.cpp, call_gradient.cpp).
//
// A call that a tape would record runs a forward graph that returns the
// function's outputs and then the intermediate values its backward function
// reads, and is recorded as one op (`call_op`) whose gradient calls that
// backward function: itself a ConcreteFunction, so a tape recording the
// backward call gives second derivatives. Both are traced from one graph on
// the first such call: the function's graph replayed under a tape, then the
// tape's gradient of its outputs with placeholders as output gradients;
// the replayed nodes are the forward, those the gradient added the backward.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph/executor.h"
#include "graph/function.h"

namespace ember::detail {

struct CallGradient;

/// Hides the tapes from what runs meanwhile: a call that records itself as
/// one op, or one no tape would record, runs as if no tape were there.
struct PauseTapes {
  Context& c = context();
  TapeHook* saved = c.tapes;
  PauseTapes() { c.tapes = nullptr; }
  ~PauseTapes() { c.tapes = saved; }
  PauseTapes(const PauseTapes&) = delete;
  PauseTapes& operator=(const PauseTapes&) = delete;
};

struct ConcreteFunctionImpl {
  std::string name;
  std::string output_structure;  // '%' per output tensor
  // Per argument: Spec (a tensor), Variable (dtype, shape, trainability) or Value.
  std::vector<CallArg> signature;
  std::shared_ptr<Graph> graph;
  std::unique_ptr<Executor> executor;

  // What a tape records for a call: an op whose inputs are the graph's
  // arguments and captures (the flat inputs) with the resource handles
  // first, and whose outputs are the function's outputs and then the saved
  // values. `op_order[k]` is the flat input at op input k.
  OpDef call_op;
  std::vector<int> op_order;
  std::mutex gradient_mu;
  std::shared_ptr<CallGradient> gradient;  // built on the first recorded call
};

/// Sets up `impl.call_op` and `op_order` once `impl.graph` is final.
void init_call_op(ConcreteFunctionImpl& impl);
/// A concrete function around `graph` (its arguments become the signature;
/// its outputs a flat list), optimised and planned.
std::shared_ptr<ConcreteFunctionImpl> make_concrete(std::string name, std::shared_ptr<Graph> graph);
/// Runs a call that a tape records: the forward graph, then the record.
std::vector<Tensor> call_recorded(const std::shared_ptr<ConcreteFunctionImpl>& impl, std::vector<Tensor> flat,
                                  std::vector<Tensor> op_inputs);

}  // namespace ember::detail
