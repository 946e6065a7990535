#include "graph/graph.h"

#include <atomic>
#include <sstream>

#include "core/error.h"

namespace ember {

const char* Node::op_name() const {
  switch (kind) {
    case Kind::Placeholder: return "Placeholder";
    case Kind::Const: return "Const";
    case Kind::Op: return op->name.c_str();
  }
  return "?";
}

Graph::Graph() {
  static std::atomic<uint64_t> next{1};
  id_ = next.fetch_add(1, std::memory_order_relaxed);
}

std::string Graph::unique_name(const std::string& base) {
  std::string name = base;
  int& n = name_counts_[base];
  while (used_names_.count(name)) name = base + "_" + std::to_string(++n);
  used_names_.insert(name);
  return name;
}

std::string Graph::output_name(NodeOutput o) const {
  const std::string& n = nodes[static_cast<size_t>(o.node)].name;
  return o.index == 0 ? n : n + ":" + std::to_string(o.index);
}

std::string Graph::to_string() const {
  std::ostringstream os;
  for (const Node& n : nodes) {
    os << n.name << " = " << n.op_name();
    if (n.kind == Node::Kind::Op) {
      os << "(";
      for (size_t i = 0; i < n.inputs.size(); ++i) os << (i ? ", " : "") << output_name(n.inputs[i]);
      for (size_t i = 0; i < n.control_inputs.size(); ++i)
        os << (n.inputs.empty() && i == 0 ? "^" : ", ^") << nodes[static_cast<size_t>(n.control_inputs[i])].name;
      os << ")";
      if (!n.attrs.entries().empty()) os << " " << n.attrs.to_string();
    } else if (n.kind == Node::Kind::Const && n.value.num_elements() <= 8) {
      os << " " << format_values(n.value);
    } else if (n.kind == Node::Kind::Placeholder && n.value.defined()) {
      os << " (captured)";
    }
    os << " ->";
    for (size_t i = 0; i < n.outputs.size(); ++i)
      os << (i ? "," : "") << " " << dtype_name(n.outputs[i].dtype) << " " << n.outputs[i].shape.to_string();
    os << "\n";
  }
  os << "return";
  for (size_t i = 0; i < outputs.size(); ++i) os << (i ? ", " : " ") << output_name(outputs[i]);
  os << "\n";
  return os.str();
}

void Graph::rebuild(const std::vector<bool>& keep,
                    const std::unordered_map<int64_t, NodeOutput>& replace) {
  auto redirect = [&](NodeOutput o) {
    // Replacements may chain (an identity of an identity).
    for (auto it = replace.find(output_key(o)); it != replace.end(); it = replace.find(output_key(o)))
      o = it->second;
    return o;
  };
  std::vector<int> new_id(nodes.size(), -1);
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!keep[i]) continue;
    new_id[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(nodes[i]));
  }
  auto renumber = [&](NodeOutput o) {
    o = redirect(o);
    int id = new_id[static_cast<size_t>(o.node)];
    EMBER_CHECK(id >= 0, Internal, "[graph] a kept node uses a removed one");
    return NodeOutput{id, o.index};
  };
  for (Node& n : kept) {
    for (NodeOutput& in : n.inputs) in = renumber(in);
    // Passes never remove a stateful node, so control inputs all survive.
    std::vector<int> controls;
    for (int c : n.control_inputs) {
      int id = new_id[static_cast<size_t>(c)];
      EMBER_CHECK(id >= 0, Internal, "[graph] a control input was removed");
      controls.push_back(id);
    }
    n.control_inputs = std::move(controls);
  }
  auto renumber_ids = [&](std::vector<int>& ids) {
    std::vector<int> out;
    for (int id : ids)
      if (new_id[static_cast<size_t>(id)] >= 0) out.push_back(new_id[static_cast<size_t>(id)]);
    ids = std::move(out);
  };
  renumber_ids(arguments);
  renumber_ids(captures);
  for (NodeOutput& o : outputs) o = renumber(o);
  nodes = std::move(kept);
}

std::shared_ptr<Graph> extract_graph(const Graph& g, const std::vector<NodeOutput>& inputs,
                                     const std::vector<std::string>& names, const std::vector<bool>& keep,
                                     const std::vector<NodeOutput>& outputs) {
  auto out = std::make_shared<Graph>();
  std::unordered_map<int64_t, NodeOutput> map;  // old output -> new
  for (size_t i = 0; i < inputs.size(); ++i) {
    Node n;
    n.kind = Node::Kind::Placeholder;
    n.name = out->unique_name(names[i]);
    n.outputs = {g.spec(inputs[i])};
    out->nodes.push_back(std::move(n));
    int id = static_cast<int>(out->nodes.size()) - 1;
    out->arguments.push_back(id);
    map.emplace(output_key(inputs[i]), NodeOutput{id, 0});
  }
  std::vector<int> new_id(g.nodes.size(), -1);
  std::unordered_set<int> captured(g.captures.begin(), g.captures.end());
  auto lookup = [&](NodeOutput o) {
    auto it = map.find(output_key(o));
    if (it != map.end()) return it->second;
    int id = new_id[static_cast<size_t>(o.node)];
    EMBER_CHECK(id >= 0, Internal, "[graph] extracting a graph: node '", g.nodes[static_cast<size_t>(o.node)].name,
                "' is used but neither kept nor an input");
    return NodeOutput{id, o.index};
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!keep[i]) continue;
    EMBER_CHECK(g.nodes[i].kind != Node::Kind::Placeholder || captured.count(static_cast<int>(i)), Internal,
                "[graph] extracting a graph: argument '", g.nodes[i].name, "' must be an input");
    Node n = g.nodes[i];
    n.name = out->unique_name(n.name);
    for (NodeOutput& in : n.inputs) in = lookup(in);
    std::vector<int> controls;
    for (int c : n.control_inputs)
      if (new_id[static_cast<size_t>(c)] >= 0) controls.push_back(new_id[static_cast<size_t>(c)]);
    n.control_inputs = std::move(controls);
    out->nodes.push_back(std::move(n));
    new_id[i] = static_cast<int>(out->nodes.size()) - 1;
    if (captured.count(static_cast<int>(i))) out->captures.push_back(new_id[i]);
  }
  for (NodeOutput o : outputs) out->outputs.push_back(lookup(o));
  return out;
}

// ---- the tracer ---------------------------------------------------------------------

Tracer::Tracer(Graph& graph, bool may_create_variables, bool first_trace_made_none)
    : graph_(graph), may_create_(may_create_variables), first_made_none_(first_trace_made_none) {}

Tensor Tracer::symbolic(NodeOutput o) {
  const OutputSpec& s = graph_.spec(o);
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = s.dtype;
  impl->shape = s.shape;
  const Context& ctx = context();
  impl->device = ctx.has_device_scope ? ctx.device_scope : default_device();
  impl->symbolic = std::make_shared<SymbolicValue>(SymbolicValue{graph_.id(), o});
  if (s.dtype == resource) {  // a handle keeps its resource: Variable::from_handle works on it
    const Node& n = graph_.nodes[static_cast<size_t>(o.node)];
    auto it = resource_of_.find(o.node);
    if (it != resource_of_.end())
      impl->resource = it->second;
    else if (n.value.defined())
      impl->resource = n.value.impl()->resource;
  }
  return Tensor(std::move(impl));
}

Tensor Tracer::placeholder(DType dtype, const TensorShape& shape, const std::string& name, Tensor value) {
  Node n;
  n.kind = Node::Kind::Placeholder;
  n.name = graph_.unique_name(name);
  n.outputs = {{dtype, shape}};
  graph_.nodes.push_back(std::move(n));
  int id = static_cast<int>(graph_.nodes.size()) - 1;
  graph_.arguments.push_back(id);
  if (value.defined() && !value.is_symbolic()) argument_values_.emplace(id, std::move(value));
  return symbolic({id, 0});
}

Tracer::Tracer(Graph& graph, Tracer* parent) : graph_(graph), may_create_(false), first_made_none_(false), parent_(parent) {}

NodeOutput Tracer::lift_placeholder(const Tensor& outer, const OutputSpec& spec) {
  Node n;
  n.kind = Node::Kind::Placeholder;
  n.name = graph_.unique_name("input");
  n.outputs = {spec};
  graph_.nodes.push_back(std::move(n));
  int id = static_cast<int>(graph_.nodes.size()) - 1;
  graph_.arguments.push_back(id);
  lifted_inputs_.push_back(outer);
  if (spec.dtype == resource) resource_of_[id] = outer.impl()->resource;
  return {id, 0};
}

NodeOutput Tracer::resolve(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (impl->symbolic) {
    if (impl->symbolic->graph == graph_.id()) return impl->symbolic->output;
    EMBER_CHECK(parent_ != nullptr, InvalidArgument,
                "[function] a symbolic tensor of another traced function is used here; pass it to "
                "this function as an argument instead");
    // A tensor of an enclosing trace: an argument here, which the op
    // calling this function passes in (resolved there in turn).
    auto it = lifted_.find(impl->id);
    if (it != lifted_.end()) return it->second;
    return lifted_[impl->id] = lift_placeholder(t, {t.dtype(), t.shape()});
  }
  if (t.dtype() == resource && parent_) {
    // A variable's handle: an argument too, so the enclosing graph (and a
    // tape around the op) sees which variables the function uses.
    auto [it, fresh] = resources_.try_emplace(impl->resource.get());
    if (!fresh) return it->second;
    return it->second = lift_placeholder(t, {resource, TensorShape{}});
  }
  if (t.dtype() == resource) {
    auto [it, fresh] = resources_.try_emplace(impl->resource.get());
    if (!fresh) return it->second;
    Node n;
    n.kind = Node::Kind::Placeholder;
    n.name = graph_.unique_name("capture");
    n.outputs = {{resource, TensorShape{}}};
    n.value = t;
    graph_.nodes.push_back(std::move(n));
    int id = static_cast<int>(graph_.nodes.size()) - 1;
    graph_.captures.push_back(id);
    return it->second = NodeOutput{id, 0};
  }
  auto [it, fresh] = captured_.try_emplace(impl->id);
  if (!fresh) return it->second;
  Node n;
  // (A list, a variant, is always captured: a GraphDef has no constant of it.)
  bool by_value = is_computable(t.dtype()) && t.num_elements() <= kCaptureByValueLimit;
  n.kind = by_value ? Node::Kind::Const : Node::Kind::Placeholder;
  n.name = graph_.unique_name(by_value ? "Const" : "capture");
  n.outputs = {{t.dtype(), t.shape()}};
  n.value = t;
  graph_.nodes.push_back(std::move(n));
  int id = static_cast<int>(graph_.nodes.size()) - 1;
  if (!by_value) graph_.captures.push_back(id);
  return it->second = NodeOutput{id, 0};
}

NodeOutput Tracer::output_of(const Tensor& t) {
  EMBER_CHECK(t.defined(), InvalidArgument, "[function] the function returned an undefined tensor");
  return resolve(t);
}

std::vector<Tensor> Tracer::add_node(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs,
                                     std::span<const OutputSpec> output_specs) {
  Node n;
  n.kind = Node::Kind::Op;
  n.op = &op;
  n.attrs = attrs;
  n.inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) n.inputs.push_back(resolve(t));
  n.outputs.assign(output_specs.begin(), output_specs.end());
  n.name = graph_.unique_name(current_name_scope() + op.name);
  int id = static_cast<int>(graph_.nodes.size());
  if (op.stateful) {
    if (last_stateful_ >= 0) n.control_inputs.push_back(last_stateful_);
    last_stateful_ = id;
  }
  graph_.nodes.push_back(std::move(n));
  std::vector<Tensor> out;
  out.reserve(output_specs.size());
  for (size_t i = 0; i < output_specs.size(); ++i) out.push_back(symbolic({id, static_cast<int>(i)}));
  return out;
}

Tensor Tracer::evaluate_outside(NodeOutput target) {
  // The nodes the value depends on, run eagerly in program order.
  std::vector<bool> needed(graph_.nodes.size(), false);
  std::vector<int> stack{target.node};
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (needed[static_cast<size_t>(id)]) continue;
    needed[static_cast<size_t>(id)] = true;
    const Node& n = graph_.nodes[static_cast<size_t>(id)];
    // An argument's value is known when a call traces (tf.Variable(x) on the
    // first call), not when get_concrete_function traces a TensorSpec.
    EMBER_CHECK(!(n.kind == Node::Kind::Placeholder && !n.value.defined() && !argument_values_.count(id)),
                FailedPrecondition, "[Variable] Unable to lift tensor because it depends transitively on placeholder '",
                n.name, "': the initial value of a variable created in a traced function is computed from the ",
                "function's argument, whose value is known only when the function is called with a tensor ",
                "(not traced from a TensorSpec)");
    for (NodeOutput in : n.inputs) stack.push_back(in.node);
  }
  InitScope eager;
  std::vector<std::vector<Tensor>> values(graph_.nodes.size());
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (!needed[i]) continue;
    const Node& n = graph_.nodes[i];
    if (n.kind != Node::Kind::Op) {
      auto arg = argument_values_.find(static_cast<int>(i));
      values[i] = {arg != argument_values_.end() ? arg->second : n.value};
      continue;
    }
    std::vector<Tensor> in;
    for (NodeOutput o : n.inputs) in.push_back(values[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)]);
    values[i] = execute(*n.op, in, n.attrs);
  }
  return values[static_cast<size_t>(target.node)][static_cast<size_t>(target.index)];
}

Tensor Tracer::variable_created(const Tensor& initial_value) {
  if (!may_create_) {
    throw FailedPrecondition(
        first_made_none_
            ? "Creating variables on a non-first call to a function decorated with tf.function."
            : "tf.function only supports singleton tf.Variables created on the first call. Make "
              "sure the tf.Variable is only created once or created outside tf.function.");
  }
  ++created_;
  EMBER_CHECK(initial_value.defined(), InvalidArgument, "[Variable] the initial value is undefined");
  if (!initial_value.is_symbolic()) return initial_value;
  return evaluate_outside(resolve(initial_value));
}

TraceScope::TraceScope(Tracer& t) : saved_(context().tracer) { context().tracer = &t; }
TraceScope::~TraceScope() { context().tracer = saved_; }

}  // namespace ember
