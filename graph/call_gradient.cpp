// The gradient of a traced function's call (see function_impl.h).
#include <unordered_map>
#include <unordered_set>

#include "autograd/tape.h"
#include "core/op_names.h"
#include "graph/executor.h"
#include "graph/function_impl.h"
#include "graph/passes.h"

namespace ember::detail {

namespace {

// One trace of the function's graph replayed under a tape, then the tape's
// gradient: `targets` (the differentiable outputs, and for a second-order
// backward the saved values too) with a placeholder as each one's gradient.
struct GradientTrace {
  std::shared_ptr<Graph> graph = std::make_shared<Graph>();
  std::vector<NodeOutput> flat;         // the placeholders for the flat inputs
  std::vector<std::string> flat_names;  // and their names
  size_t boundary = 0;                  // nodes from here on were added by the gradient
  std::vector<NodeOutput> outputs;      // the function's outputs
  std::vector<NodeOutput> output_grads;  // a placeholder per target
  std::vector<NodeOutput> grads;        // per flat input the gradient reaches, in order
  std::vector<int> grad_of;             // the flat input of each of `grads`
  std::vector<int> original_node;       // per replayed op node, the function graph's node (-1: none)
};

// `seeds`: outputs of the function's graph that get an output gradient too.
GradientTrace trace_gradient(const ConcreteFunctionImpl& impl, std::span<const Tensor> flat_inputs,
                             const std::vector<NodeOutput>& seeds) {
  const Graph& g = *impl.graph;
  GradientTrace r;
  TapeIsolation isolation;  // the caller's tapes must not see this trace
  Tracer tracer(*r.graph, /*may_create_variables=*/false, /*first_trace_made_none=*/false);
  TraceScope scope(tracer);
  std::vector<Tensor> args, caps;
  auto add_flat = [&](const Node& n, const Tensor& fed, std::vector<Tensor>& into) {
    const OutputSpec& spec = n.outputs[0];
    Tensor p = tracer.placeholder(spec.dtype, spec.shape, n.name);
    if (spec.dtype == resource) p.impl()->resource = fed.impl()->resource;  // the variable's dtype and shape
    r.flat.push_back(tracer.output_of(p));
    r.flat_names.push_back(n.name);
    into.push_back(p);
  };
  size_t k = 0;
  for (int a : g.arguments) add_flat(g.nodes[static_cast<size_t>(a)], flat_inputs[k++], args);
  for (int c : g.captures) add_flat(g.nodes[static_cast<size_t>(c)], flat_inputs[k++], caps);

  GradientTape tape({.persistent = false, .watch_accessed_variables = false});
  std::vector<Source> sources;
  std::vector<Tensor> flat_tensors = args;
  flat_tensors.insert(flat_tensors.end(), caps.begin(), caps.end());
  std::vector<int> source_of = watch_differentiable(tape, flat_tensors, sources);
  for (size_t i = 0; i < source_of.size(); ++i)
    if (source_of[i] >= 0) r.grad_of.push_back(static_cast<int>(i));

  std::vector<std::vector<Tensor>> values = interpret(g, args, caps);
  // An output that is a constant becomes a node of the trace now, so that
  // it belongs to the forward (the boundary's side) and not to the backward.
  for (NodeOutput o : g.outputs) tracer.output_of(values[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)]);
  r.boundary = r.graph->nodes.size();
  r.original_node.assign(r.boundary, -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].kind == Node::Kind::Op && !values[i].empty())
      r.original_node[static_cast<size_t>(tracer.output_of(values[i][0]).node)] = static_cast<int>(i);

  std::vector<Tensor> targets, output_grads;
  auto seed = [&](NodeOutput o, const std::string& name) {
    const Tensor& t = values[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)];
    Tensor gph = tracer.placeholder(t.dtype(), t.shape(), name);
    targets.push_back(t);
    output_grads.push_back(gph);
    r.output_grads.push_back(tracer.output_of(gph));
  };
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    NodeOutput o = g.outputs[i];
    r.outputs.push_back(tracer.output_of(values[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)]));
    if (is_differentiable(g.spec(o).dtype)) seed(o, "output_grad_" + std::to_string(i));
  }
  for (size_t i = 0; i < seeds.size(); ++i) seed(seeds[i], "saved_grad_" + std::to_string(i));
  std::vector<Tensor> grads = tape.gradient(targets, sources, output_grads);
  std::vector<int> grad_of;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    r.grads.push_back(tracer.output_of(grads[i]));
    grad_of.push_back(r.grad_of[i]);
  }
  r.grad_of = std::move(grad_of);
  return r;
}

std::vector<int> differentiable_outputs(const Graph& g) {
  std::vector<int> out;
  for (size_t i = 0; i < g.outputs.size(); ++i)
    if (is_differentiable(g.spec(g.outputs[i]).dtype)) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace

struct CallGradient {
  // flat inputs -> the outputs, then the saved values. Its random nodes
  // continue the function's own streams.
  std::shared_ptr<Graph> forward;
  std::unique_ptr<Executor> forward_executor;
  // (flat inputs, saved values, a gradient per differentiable output) ->
  // the gradients of the flat inputs `grad_of` names.
  ConcreteFunction backward;
  std::vector<int> grad_of;
  std::vector<int> float_outputs;  // the outputs that take a gradient
  // The saved values as outputs of the function's graph (what a
  // second-order backward seeds).
  std::vector<NodeOutput> saved;
  // For a gradient that reaches the saved values (a second derivative):
  // (flat inputs, output gradients, saved values' gradients) -> gradients
  // of `second_grad_of`, recomputing the forward. Built when first needed.
  std::mutex second_mu;
  ConcreteFunction second;
  std::vector<int> second_grad_of;
};

namespace {

std::shared_ptr<CallGradient> build_call_gradient(const ConcreteFunctionImpl& impl, std::span<const Tensor> flat) {
  GradientTrace t = trace_gradient(impl, flat, {});
  const Graph& cg = *t.graph;
  auto result = std::make_shared<CallGradient>();
  result->grad_of = t.grad_of;
  result->float_outputs = differentiable_outputs(*impl.graph);

  // Saved: replayed op outputs that the gradient's nodes (or results) read.
  std::vector<NodeOutput> saved;
  std::unordered_set<int64_t> seen;
  auto consider = [&](NodeOutput o) {
    if (static_cast<size_t>(o.node) >= t.boundary || cg.nodes[static_cast<size_t>(o.node)].kind != Node::Kind::Op) return;
    if (seen.insert(output_key(o)).second) saved.push_back(o);
  };
  for (size_t i = t.boundary; i < cg.nodes.size(); ++i)
    for (NodeOutput in : cg.nodes[i].inputs) consider(in);
  for (NodeOutput o : t.grads) consider(o);
  for (NodeOutput o : saved) {
    int original = t.original_node[static_cast<size_t>(o.node)];
    EMBER_CHECK(original >= 0, Internal, "[function] a saved value is not a node of the function's graph");
    result->saved.push_back({original, o.index});
  }

  std::unordered_set<int> flat_nodes;
  for (NodeOutput o : t.flat) flat_nodes.insert(o.node);
  std::unordered_set<int> grad_nodes;
  for (NodeOutput o : t.output_grads) grad_nodes.insert(o.node);
  std::unordered_set<int> captures(cg.captures.begin(), cg.captures.end());

  // The forward: the replayed nodes.
  std::vector<bool> keep(cg.nodes.size(), false);
  for (size_t i = 0; i < t.boundary; ++i) keep[i] = !flat_nodes.count(static_cast<int>(i));
  std::vector<NodeOutput> forward_outputs = t.outputs;
  forward_outputs.insert(forward_outputs.end(), saved.begin(), saved.end());
  result->forward = extract_graph(cg, t.flat, t.flat_names, keep, forward_outputs);
  passes::optimize(*result->forward);
  result->forward_executor = std::make_unique<Executor>(*result->forward, impl.executor->random_streams());

  // The backward: the gradient's nodes, and the constants and captures they read.
  for (size_t i = 0; i < cg.nodes.size(); ++i) {
    const Node& n = cg.nodes[i];
    bool constant = n.kind == Node::Kind::Const || captures.count(static_cast<int>(i));
    keep[i] = i < t.boundary ? constant : !grad_nodes.count(static_cast<int>(i));
  }
  std::vector<NodeOutput> inputs = t.flat;
  std::vector<std::string> names = t.flat_names;
  for (size_t i = 0; i < saved.size(); ++i) {
    inputs.push_back(saved[i]);
    names.push_back("saved_" + std::to_string(i));
  }
  for (NodeOutput o : t.output_grads) {
    inputs.push_back(o);
    names.push_back(cg.nodes[static_cast<size_t>(o.node)].name);
  }
  result->backward = ConcreteFunction(make_concrete(impl.name + "_backward", extract_graph(cg, inputs, names, keep, t.grads)));
  return result;
}

// The second-order backward: the forward replayed, with the saved values seeded too.
void build_second(const ConcreteFunctionImpl& impl, CallGradient& grad, std::span<const Tensor> flat) {
  for (const Node& n : impl.graph->nodes)
    if (n.is_stateful() && n.op->name != op_name::ReadVariableOp)
      throw Unimplemented("[" + impl.name + "] a gradient of the gradient of a traced function that runs the stateful op " +
                          n.op->name + " (node '" + n.name +
                          "') is not supported: computing it would run the op again. Differentiate an "
                          "eager computation, or keep the stateful op out of the function");
  GradientTrace t = trace_gradient(impl, flat, grad.saved);
  std::vector<bool> keep(t.graph->nodes.size(), true);
  for (NodeOutput o : t.flat) keep[static_cast<size_t>(o.node)] = false;
  for (NodeOutput o : t.output_grads) keep[static_cast<size_t>(o.node)] = false;
  std::vector<NodeOutput> inputs = t.flat;
  std::vector<std::string> names = t.flat_names;
  for (NodeOutput o : t.output_grads) {
    inputs.push_back(o);
    names.push_back(t.graph->nodes[static_cast<size_t>(o.node)].name);
  }
  grad.second = ConcreteFunction(make_concrete(impl.name + "_backward_full", extract_graph(*t.graph, inputs, names, keep, t.grads)));
  grad.second_grad_of = t.grad_of;
}

std::vector<Tensor> call_gradient(const ConcreteFunctionImpl& impl, const GradContext& gc) {
  CallGradient& grad = *impl.gradient;
  const size_t n_out = impl.graph->outputs.size();
  std::vector<Tensor> flat(impl.op_order.size());
  std::vector<size_t> position(impl.op_order.size());  // flat input -> op input
  for (size_t k = 0; k < impl.op_order.size(); ++k) {
    flat[static_cast<size_t>(impl.op_order[k])] = gc.inputs[k];
    position[static_cast<size_t>(impl.op_order[k])] = k;
  }
  std::vector<Tensor> output_grads;
  for (int k : grad.float_outputs) {
    const Tensor& g = gc.output_grads[static_cast<size_t>(k)];
    output_grads.push_back(g.defined() ? g : zeros_like(gc.outputs[static_cast<size_t>(k)]));
  }
  bool saved_have_grads = false;
  for (size_t j = 0; j < grad.saved.size(); ++j) saved_have_grads = saved_have_grads || gc.output_grads[n_out + j].defined();

  std::vector<Tensor> result(gc.inputs.size());
  std::vector<Tensor> in = flat, out;
  const std::vector<int>* grad_of = &grad.grad_of;
  if (!saved_have_grads) {
    for (size_t j = 0; j < grad.saved.size(); ++j) in.push_back(gc.outputs[n_out + j]);
    in.insert(in.end(), output_grads.begin(), output_grads.end());
    out = grad.backward.call(std::move(in));
  } else {
    {
      std::lock_guard<std::mutex> lock(grad.second_mu);
      if (!grad.second.defined()) build_second(impl, grad, flat);
    }
    in.insert(in.end(), output_grads.begin(), output_grads.end());
    for (size_t j = 0; j < grad.saved.size(); ++j) {
      const Tensor& g = gc.output_grads[n_out + j];
      in.push_back(g.defined() ? g : zeros_like(gc.outputs[n_out + j]));
    }
    out = grad.second.call(std::move(in));
    grad_of = &grad.second_grad_of;
  }
  for (size_t j = 0; j < out.size(); ++j) result[position[static_cast<size_t>((*grad_of)[j])]] = out[j];
  return result;
}

}  // namespace

void init_call_op(ConcreteFunctionImpl& impl) {
  const Graph& g = *impl.graph;
  std::vector<int> resources, others;
  int k = 0;
  for (int a : g.arguments) (g.nodes[static_cast<size_t>(a)].outputs[0].dtype == resource ? resources : others).push_back(k++);
  for (int c : g.captures) (g.nodes[static_cast<size_t>(c)].outputs[0].dtype == resource ? resources : others).push_back(k++);
  impl.op_order = resources;
  impl.op_order.insert(impl.op_order.end(), others.begin(), others.end());
  OpDef& op = impl.call_op;
  op.name = "StatefulPartitionedCall";
  op.api_name = impl.name;
  op.num_inputs = static_cast<int>(impl.op_order.size());
  op.resource_inputs = static_cast<int>(resources.size());
  op.reads_variables = true;
  op.grad_sees_undefined = true;
  op.differentiability = Differentiability::Differentiable;
  op.grad_uses = kGradUsesAll;
  ConcreteFunctionImpl* self = &impl;  // the tape's record keeps impl alive (its owner)
  op.grad = [self](const GradContext& gc) { return call_gradient(*self, gc); };
}

std::shared_ptr<ConcreteFunctionImpl> make_concrete(std::string name, std::shared_ptr<Graph> graph) {
  passes::optimize(*graph);
  auto impl = std::make_shared<ConcreteFunctionImpl>();
  impl->name = std::move(name);
  impl->graph = std::move(graph);
  for (int a : impl->graph->arguments) {
    const Node& n = impl->graph->nodes[static_cast<size_t>(a)];
    CallArg arg;
    arg.kind = CallArg::Kind::Spec;
    arg.spec = TensorSpec(n.outputs[0].shape, n.outputs[0].dtype, n.name);
    impl->signature.push_back(std::move(arg));
  }
  impl->output_structure = "[";
  for (size_t i = 0; i < impl->graph->outputs.size(); ++i) impl->output_structure += i ? ", %" : "%";
  impl->output_structure += "]";
  impl->executor = std::make_unique<Executor>(*impl->graph);
  init_call_op(*impl);
  return impl;
}

std::vector<Tensor> call_recorded(const std::shared_ptr<ConcreteFunctionImpl>& impl, std::vector<Tensor> flat,
                                  std::vector<Tensor> op_inputs) {
  std::shared_ptr<CallGradient> grad;
  {
    std::lock_guard<std::mutex> lock(impl->gradient_mu);
    if (!impl->gradient) impl->gradient = build_call_gradient(*impl, flat);
    grad = impl->gradient;
  }
  std::vector<Tensor> out;
  {
    PauseTapes pause;
    out = grad->forward_executor->run(flat);
  }
  // Every output its own tensor: one that is an input, or an earlier output,
  // gets a view of its own (a tape keys gradients on tensors). A variable's
  // handle passed through stays itself: gradients of the variable gather on
  // its handle.
  std::unordered_set<const TensorImpl*> taken;
  for (const Tensor& t : op_inputs) taken.insert(t.impl());
  for (Tensor& t : out)
    if (t.dtype() != resource && !taken.insert(t.impl()).second) {
      t = Tensor(TensorImpl::view_of(*t.impl()));
      taken.insert(t.impl());
    }
  context().tapes->record(impl->call_op, op_inputs, out, Attrs{}, impl);
  out.resize(impl->graph->outputs.size());
  return out;
}

}  // namespace ember::detail
