// Traced graphs in TensorFlow's protobuf forms: a GraphDef (a graph of its
// own, as `tf.compat.v1.import_graph_def` reads) and a FunctionDef (a
// function of a library, as a SavedModel stores every traced function).
//
// A node maps onto TensorFlow's node of the same op name. Where ember keeps
// as an attribute what TensorFlow takes as an input tensor (a reduction's
// axes, a reshape's shape, a slice's bounds, a random op's shape...), the
// value becomes a Const node feeding that input; TensorFlow's type
// attributes ("T", "Tidx", "SrcT"/"DstT", ...) are filled from the inputs'
// and outputs' dtypes; attributes TensorFlow lacks (a random op's stream
// offset) are left out. Gelu, which TensorFlow has no op for, is written
// with TensorFlow's ops as tf.nn.gelu writes it.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "graph/graph.h"

namespace tensorflow {
class FunctionDefLibrary;
}

namespace ember {

/// `graph` as a serialized GraphDef: a Placeholder per argument and per
/// captured tensor (named as in the graph), its nodes, and an Identity
/// "output_<i>" per output (fetch "output_0:0"); its library holds the
/// functions that control-flow nodes call, and those they call.
std::string graph_def(const Graph& graph);

/// `graph` as a serialized FunctionDef named `name`: its arguments, then its
/// captures, are the input args (names made valid for TensorFlow: lower
/// case); its outputs are the output args "output_<i>". The functions its
/// control-flow nodes call are not included (graph_def and
/// graph_def_calling put them in the library).
std::string function_def(const Graph& graph, const std::string& name);

/// Adds `graph` as FunctionDef `name` to `library`, with every function its
/// control-flow nodes call, each once (`done`: the names already there). As
/// a SavedModel stores a concrete function: its input args are the graph's
/// arguments, then one resource arg per captured handle (with the
/// variable's dtype and shape as handle data), in capture order; a captured
/// tensor of another dtype becomes a Const in the body.
void add_saved_function(tensorflow::FunctionDefLibrary& library, std::unordered_set<std::string>& done,
                        const Graph& graph, const std::string& name);

/// A serialized GraphDef whose library holds `function_def(graph, name)`
/// and whose nodes call it: a Placeholder per input arg, a
/// StatefulPartitionedCall node "call", and an Identity "output_<i>" per
/// output. TensorFlow instantiating it checks the FunctionDef.
std::string graph_def_calling(const Graph& graph, const std::string& name);

/// TensorFlow's output-arg names of op `op` as a FunctionDef refers to its
/// outputs ("z" for AddV2, "product" for MatMul, ...); `list`: every output
/// is an element of the one list arg named (SplitV's "output"). From the
/// op's TfMapping; NotFound for an op ember does not have.
struct TensorFlowOutputArgs {
  std::vector<std::string> names;
  bool list = false;
};
TensorFlowOutputArgs tensorflow_output_args(const std::string& op);

}  // namespace ember
