// Graph: what tracing records. A traced function's body as nodes in program
// order (which is a topological order): placeholders for its arguments and
// for the tensors it captures by reference, constants for the small tensors
// it captures by value, and op nodes naming a registered OpDef with the
// attributes the front-end gave. Stateful ops (assignments, random draws,
// print) carry a control edge to the previous stateful node, so passes and
// the executor keep their program order.
//
// `Tracer` is the dispatch point's TraceHook while a function is traced on a
// thread: each op becomes a node and returns symbolic tensors.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/context.h"
#include "core/op_registry.h"
#include "core/tensor.h"

namespace ember {

/// Output `index` of node `node`.
struct NodeOutput {
  int node = -1;
  int index = 0;
  friend bool operator==(const NodeOutput&, const NodeOutput&) = default;
};

struct Node {
  enum class Kind : uint8_t { Placeholder, Const, Op };
  Kind kind = Kind::Op;
  std::string name;          // unique in the graph: "MatMul", "MatMul_1", "x"
  const OpDef* op = nullptr;  // Kind::Op
  Attrs attrs;
  std::vector<NodeOutput> inputs;
  std::vector<int> control_inputs;  // nodes that run first (stateful program order)
  std::vector<OutputSpec> outputs;
  Tensor value;  // Kind::Const: the value; a captured Placeholder: what it captures
  bool is_stateful() const { return kind == Kind::Op && op->stateful; }
  /// "MatMul", "Placeholder", "Const": TensorFlow's op names.
  const char* op_name() const;
};

class Graph {
 public:
  Graph();
  /// Never reused: symbolic tensors name their graph by it.
  uint64_t id() const { return id_; }
  std::vector<Node> nodes;
  /// The function's argument placeholders, in order.
  std::vector<int> arguments;
  /// Placeholders standing for captured tensors (variables' handles, large
  /// eager tensors), fed with `Node::value` at every call.
  std::vector<int> captures;
  std::vector<NodeOutput> outputs;

  /// A fresh node name from `base`: base, base_1, base_2, ...
  std::string unique_name(const std::string& base);
  const OutputSpec& spec(NodeOutput o) const {
    return nodes[static_cast<size_t>(o.node)].outputs[static_cast<size_t>(o.index)];
  }
  /// One node per line, in order, then the outputs:
  ///   `MatMul = MatMul(x, w) [transpose_a=false, transpose_b=false] -> float32 (2, 4)`
  std::string to_string() const;
  /// "name" for output 0, "name:i" for another.
  std::string output_name(NodeOutput o) const;

  /// Keeps the nodes `keep` marks, renumbering them and every reference to
  /// them (inputs, control inputs, arguments, captures, outputs), after
  /// first redirecting every use of an output that `replace` maps elsewhere.
  void rebuild(const std::vector<bool>& keep,
               const std::unordered_map<int64_t, NodeOutput>& replace = {});

 private:
  uint64_t id_;
  std::unordered_map<std::string, int> name_counts_;
  std::unordered_set<std::string> used_names_;
};

/// A new graph of the nodes of `g` that `keep` marks (copied in order, with
/// their names), whose arguments are placeholders standing for `inputs`
/// (outputs of `g`, named `names`) and whose outputs are `outputs`. A kept
/// placeholder that `g` captures stays a capture. Control inputs on nodes
/// not kept are dropped; a use of a value that is neither kept nor an input
/// is Internal.
std::shared_ptr<Graph> extract_graph(const Graph& g, const std::vector<NodeOutput>& inputs,
                                     const std::vector<std::string>& names, const std::vector<bool>& keep,
                                     const std::vector<NodeOutput>& outputs);

/// The key of a node output in `Graph::rebuild`'s replacement map.
inline int64_t output_key(NodeOutput o) { return (int64_t{o.node} << 16) | o.index; }

/// What a symbolic tensor points to.
struct SymbolicValue {
  uint64_t graph;
  NodeOutput output;
};

/// Records ops into `graph` while installed on this thread (see TraceScope).
class Tracer final : public TraceHook {
 public:
  /// `may_create_variables`: whether the function may create variables
  /// now (its first trace); `first_trace_made_none` picks the error text.
  Tracer(Graph& graph, bool may_create_variables, bool first_trace_made_none);
  /// A tracer for a function nested in the one `parent` traces (a branch, a
  /// loop body): a tensor of an enclosing trace used inside, and every
  /// variable handle, becomes an argument placeholder of this graph, and
  /// the tensor itself is kept in `lifted_inputs()` for the op that calls
  /// the function to pass in.
  Tracer(Graph& graph, Tracer* parent);
  /// The tensors behind this graph's lifted arguments, as the traced code
  /// used them (of an enclosing trace, or variable handles), in the order of
  /// their placeholders in `Graph::arguments` (after the ones `placeholder`
  /// made). The op calling the function passes them in.
  const std::vector<Tensor>& lifted_inputs() const { return lifted_inputs_; }
  Graph& graph() { return graph_; }

  std::vector<Tensor> add_node(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs,
                               std::span<const OutputSpec> output_specs) override;
  Tensor variable_created(const Tensor& initial_value) override;
  int64_t next_op_seed() override { return op_seeds_++; }

  /// A placeholder for an argument of the function; `value`, when the trace
  /// is made by a call, is the call's argument: a variable created from it
  /// on the first call takes its initial value from it (TensorFlow
  /// initialises such a variable inside that call; ember before it).
  Tensor placeholder(DType dtype, const TensorShape& shape, const std::string& name, Tensor value = {});
  /// The graph output a tensor returned by the traced callable stands for:
  /// a node of this graph, or a capture (a concrete tensor returned as is).
  NodeOutput output_of(const Tensor& t);
  /// How many variables this trace created.
  int variables_created() const { return created_; }

 private:
  NodeOutput resolve(const Tensor& t);
  Tensor symbolic(NodeOutput o);
  Graph& graph_;
  bool may_create_;
  bool first_made_none_;
  int last_stateful_ = -1;
  Tensor evaluate_outside(NodeOutput o);
  std::unordered_map<uint64_t, NodeOutput> captured_;              // by tensor id
  std::unordered_map<const ResourceBase*, NodeOutput> resources_;  // by what a handle points to
  int created_ = 0;
  int64_t op_seeds_ = 0;
  Tracer* parent_ = nullptr;
  std::vector<Tensor> lifted_inputs_;
  std::unordered_map<uint64_t, NodeOutput> lifted_;  // by the enclosing tensor's id
  std::unordered_map<int, std::shared_ptr<ResourceBase>> resource_of_;  // lifted handles' resources, by node
  std::unordered_map<int, Tensor> argument_values_;                     // the call's arguments, by placeholder node
  NodeOutput lift_placeholder(const Tensor& outer, const OutputSpec& spec);
};

/// Installs a tracer on this thread while alive (restoring the previous
/// one, so a trace inside a trace nests).
class TraceScope {
 public:
  explicit TraceScope(Tracer& t);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  TraceHook* saved_;
};

/// Constants up to this many elements are captured by value; larger tensors
/// by reference (FUNCTIONS.md).
inline constexpr int64_t kCaptureByValueLimit = 128;

}  // namespace ember
