#include "serialization/graph_def.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "autograd/tape.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/variable.h"
#include "graph/control_flow.h"
#include "graph/graph.h"
#include "graph.pb.h"
#include "serialization/bundle.h"
#include "serialization/tf_proto.h"

namespace ember {
namespace {

namespace tf = tensorflow;

using tfproto::arg_name;
using tfproto::set_shape;
tf::DataType tf_type(DType t) { return tfproto::data_type(t); }

tf::AttrValue attr_value(const AttrValue& v) {
  tf::AttrValue a;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          a.set_b(x);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          a.set_i(x);
        } else if constexpr (std::is_same_v<T, double>) {
          a.set_f(static_cast<float>(x));
        } else if constexpr (std::is_same_v<T, DType>) {
          a.set_type(tf_type(x));
        } else if constexpr (std::is_same_v<T, std::string>) {
          a.set_s(x);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          auto* list = a.mutable_list();
          for (int64_t i : x) list->add_i(i);
        } else if constexpr (std::is_same_v<T, TensorShape>) {
          set_shape(a.mutable_shape(), x);
        } else {
          a.mutable_func()->set_name(x ? x->name() : std::string());
        }
      },
      v);
  return a;
}

tf::AttrValue type_attr(DType t) {
  tf::AttrValue a;
  a.set_type(tf_type(t));
  return a;
}

// Builds the nodes of a GraphDef or a FunctionDef body.
class Emitter {
 public:
  Emitter(const Graph& g, bool function) : g_(g), function_(function), refs_(g.nodes.size()) {}

  std::vector<tf::NodeDef> nodes;

  /// The reference to output `index` of ember node `node`.
  const std::string& ref(NodeOutput o) const { return refs_[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)]; }
  void set_refs(int node, std::vector<std::string> refs) { refs_[static_cast<size_t>(node)] = std::move(refs); }
  std::string unique(const std::string& base) {
    std::string name = base;
    for (int k = 1; !names_.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    return name;
  }
  void reserve(const std::string& name) { names_.insert(name); }

  /// A reference to output `index` (of output arg `arg`) of the TensorFlow node `name`.
  std::string node_ref(const std::string& name, const std::string& arg, int index, int index_in_arg) const {
    if (function_) return name + ":" + arg + ":" + std::to_string(index_in_arg);
    return index == 0 ? name : name + ":" + std::to_string(index);
  }

  /// A Const node holding `value`; returns the reference to it.
  std::string add_const(const std::string& base, const Tensor& value) {
    tf::NodeDef n = tfproto::const_node(unique(base), value);
    nodes.push_back(n);
    return node_ref(n.name(), "output", 0, 0);
  }
  std::string add_ints(const std::string& base, const std::vector<int64_t>& v, const TensorShape& shape,
                       DType dtype = int32) {
    std::vector<double> d(v.begin(), v.end());
    return add_const(base, cast_values(d, shape, dtype));
  }
  std::string add_scalar(const std::string& base, double v, DType dtype) {
    return add_const(base, cast_values({v}, TensorShape{}, dtype));
  }

  void emit_op(int index);
  void emit_check(int index);
  void emit_composite(int index);
  DType dtype_of(const Node& n, DTypeOf d) const;
  std::string attr_as_input(const Node& n, const TfInputAttr& a);
  /// The functions the emitted nodes call (control flow), each once.
  std::vector<FunctionRef> functions;
  /// A Cast node of `ref` from `from` to `to`; returns the reference to it.
  std::string add_cast(const std::string& base, const std::string& ref, DType from, DType to) {
    tf::NodeDef cast;
    cast.set_name(unique(base));
    cast.set_op(op_name::Cast);
    cast.add_input(ref);
    (*cast.mutable_attr())["SrcT"] = type_attr(from);
    (*cast.mutable_attr())["DstT"] = type_attr(to);
    (*cast.mutable_attr())["Truncate"].set_b(false);
    nodes.push_back(cast);
    return node_ref(cast.name(), "y", 0, 0);
  }

 private:
  static Tensor cast_values(const std::vector<double>& v, const TensorShape& shape, DType dtype) {
    return cast(constant(v, shape, Device::cpu()), dtype);
  }
  const Graph& g_;
  bool function_;
  std::vector<std::vector<std::string>> refs_;
  std::unordered_set<std::string> names_;
  std::unordered_map<std::string, std::pair<std::string, DType>> attr_inputs_;  // of the node being emitted
};

// The output arg names of `op`'s TensorFlow form (TfMapping::outputs; one
// "output" by default).
TensorFlowOutputArgs output_args_of(const OpDef& op) {
  if (op.tf.outputs.empty()) return {{"output"}, false};
  return {op.tf.outputs, op.tf.output_list};
}

DType Emitter::dtype_of(const Node& n, DTypeOf d) const {
  switch (d.from) {
    case DTypeOf::From::Input: return g_.spec(n.inputs[static_cast<size_t>(d.index)]).dtype;
    case DTypeOf::From::Output: return n.outputs[static_cast<size_t>(d.index)].dtype;
    case DTypeOf::From::Fixed: break;
  }
  return d.fixed;
}

// Attribute `a.attr` of `n` as the tensor TensorFlow takes: a Const of its
// value, or (computed in the graph) the tensor the node was given, cast.
std::string Emitter::attr_as_input(const Node& n, const TfInputAttr& a) {
  const DType dtype = dtype_of(n, a.dtype);
  if (auto it = attr_inputs_.find(a.attr); it != attr_inputs_.end()) {
    auto [ref, have] = it->second;
    return have == dtype ? ref : add_cast(n.name + "/" + a.attr + "_cast", ref, have, dtype);
  }
  const std::string base = n.name + "/" + a.attr;
  switch (a.form) {
    case TfInputForm::Ints: {
      const auto& v = n.attrs.get<std::vector<int64_t>>(a.attr);
      return add_ints(base, v, TensorShape{static_cast<int64_t>(v.size())}, dtype);
    }
    case TfInputForm::Int: return add_ints(base, {n.attrs.get<int64_t>(a.attr)}, TensorShape{}, dtype);
    case TfInputForm::Float: return add_scalar(base, n.attrs.get<double>(a.attr), dtype);
    case TfInputForm::Paddings: {  // ember's flat before/after pairs -> [rank, 2]
      const auto& v = n.attrs.get<std::vector<int64_t>>(a.attr);
      return add_ints(base, v, TensorShape{static_cast<int64_t>(v.size() / 2), 2}, dtype);
    }
    case TfInputForm::ElementShape: {
      const TensorShape& shape = n.attrs.get<TensorShape>(a.attr);
      if (!shape.rank_known()) return add_ints(base, {-1}, TensorShape{}, dtype);
      return add_ints(base, shape.as_vector(), TensorShape{shape.rank()}, dtype);
    }
  }
  throw Internal("[graph_def] a bad TfInputForm");
}

// Whether a node is written as its decomposition (TfMapping::composite):
// always where TensorFlow lacks the op, and, where its op lacks some of
// ember's attributes (dropped_attrs), when the node's value of one differs
// from what TensorFlow's op means (a gather_nd with batch_dims).
bool as_composite(const Node& n) {
  const TfMapping& tf = n.op->tf;
  if (!tf.composite) return false;
  if (tf.dropped_attrs.empty()) return true;
  for (const auto& [name, meant] : tf.dropped_attrs)
    for (const auto& [key, value] : n.attrs.entries())
      if (key == name && !(value == meant)) return true;
  return false;
}

// A node as TensorFlow's op of the same name, from its OpDef's TfMapping.
void Emitter::emit_op(int index) {
  const Node& n = g_.nodes[static_cast<size_t>(index)];
  const OpDef& op = *n.op;
  const TfMapping& tf = op.tf;
  if (as_composite(n)) return emit_composite(index);
  if (op.name == op_name::Check) return emit_check(index);
  tf::NodeDef def;
  def.set_name(n.name);
  def.set_op(op.name);
  auto& attrs = *def.mutable_attr();

  // The op's own inputs; then a tensor per attribute known only when it runs.
  const size_t own = n.inputs.size() - static_cast<size_t>(unresolved_attrs(op, n.attrs));
  attr_inputs_.clear();
  for (size_t i = own; const AttrDecl& d : op.attr_decls)
    if (d.may_be_input && !n.attrs.has(d.name)) {
      attr_inputs_[d.name] = {ref(n.inputs[i]), g_.spec(n.inputs[i]).dtype};
      ++i;
    }
  // TensorFlow's inputs: the attributes it takes as tensors at their
  // positions, ember's own inputs in the others, in order.
  const size_t total = own + tf.input_attrs.size();
  std::vector<std::string> inputs(total);
  std::vector<bool> taken(total, false);
  for (const TfInputAttr& a : tf.input_attrs) {
    const size_t at = static_cast<size_t>(a.position < 0 ? static_cast<int>(total) + a.position : a.position);
    EMBER_CHECK(at < total && !taken[at], Internal, "[graph_def] op ", op.name, ": input position ", a.position,
                " of '", a.attr, "' is taken or out of range");
    inputs[at] = attr_as_input(n, a);
    taken[at] = true;
  }
  for (size_t i = 0, at = 0; i < own; ++i, ++at) {
    while (taken[at]) ++at;
    const DType dt = g_.spec(n.inputs[i]).dtype;
    inputs[at] = tf.int32_indices && dt == int64 ? add_cast(n.name + "/index_cast", ref(n.inputs[i]), int64, int32)
                                                 : ref(n.inputs[i]);
  }
  for (const std::string& in : inputs) def.add_input(in);
  for (int c : n.control_inputs) def.add_input("^" + g_.nodes[static_cast<size_t>(c)].name);

  // Attributes: ember's own (less those TensorFlow takes as inputs or lacks),
  // then the type attributes, lists, counts and fixed values TensorFlow's has.
  auto is_input = [&](const std::string& name) {
    return std::any_of(tf.input_attrs.begin(), tf.input_attrs.end(), [&](const TfInputAttr& a) { return a.attr == name; });
  };
  auto is_dropped = [&](const std::string& name) {
    return std::any_of(tf.dropped_attrs.begin(), tf.dropped_attrs.end(), [&](const auto& d) { return d.first == name; });
  };
  for (const auto& [name, value] : n.attrs.entries())
    if (!is_input(name) && !is_dropped(name)) attrs[name] = attr_value(value);
  if (own > 0 && tf.t_from_input && !op.passes_resources) attrs["T"] = type_attr(g_.spec(n.inputs[0]).dtype);
  for (const auto& [name, d] : tf.type_attrs) attrs[name] = type_attr(dtype_of(n, d));
  for (const TfListAttr& l : tf.list_attrs) {
    auto* list = attrs[l.name].mutable_list();
    switch (l.of) {
      case TfListOf::InputTypes:
        for (size_t i = static_cast<size_t>(l.from); i < own; ++i) list->add_type(tf_type(g_.spec(n.inputs[i]).dtype));
        break;
      case TfListOf::OutputTypes:
        for (const OutputSpec& o : n.outputs) list->add_type(tf_type(o.dtype));
        break;
      case TfListOf::OutputShapes:
        for (const OutputSpec& o : n.outputs) set_shape(list->add_shape(), o.shape);
        break;
    }
  }
  for (const auto& [name, of] : tf.count_attrs)
    attrs[name].set_i(static_cast<int64_t>(of == TfCountOf::Inputs ? own : n.outputs.size()));
  for (const auto& [name, value] : tf.fixed_attrs) attrs[name] = attr_value(value);
  nodes.push_back(def);

  for (const auto& [name, value] : n.attrs.entries())
    if (const auto* f = std::get_if<FunctionRef>(&value); f && *f) functions.push_back(*f);

  const TensorFlowOutputArgs args = output_args_of(op);
  std::vector<std::string> refs;
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    EMBER_CHECK(args.list || i < args.names.size(), Internal, "[graph_def] op ", op.name, " has more outputs than names");
    const std::string& arg = args.list ? args.names[0] : args.names[i];
    int in_arg = args.list ? static_cast<int>(i) : 0;
    refs.push_back(node_ref(n.name, arg, static_cast<int>(i), in_arg));
  }
  set_refs(index, std::move(refs));
}

// Check(x, condition) as TensorFlow writes a check: an Assert of the
// condition and the message (a string Const), and an Identity of x under the
// node's name that waits for it (so what reads x, and what waits on the
// node, runs after the check). The importer reads the pattern back.
void Emitter::emit_check(int index) {
  const Node& n = g_.nodes[static_cast<size_t>(index)];
  const tf::NodeDef message = tfproto::string_const(unique(n.name + "/message"), {n.attrs.get<std::string>("message")});
  nodes.push_back(message);
  tf::NodeDef check;
  check.set_name(unique(n.name + "/Assert"));
  check.set_op(op_name::Assert);
  check.add_input(ref(n.inputs[1]));
  check.add_input(node_ref(message.name(), "output", 0, 0));
  for (int c : n.control_inputs) check.add_input("^" + g_.nodes[static_cast<size_t>(c)].name);
  (*check.mutable_attr())["T"].mutable_list()->add_type(tf::DT_STRING);
  (*check.mutable_attr())["summarize"].set_i(3);
  nodes.push_back(check);
  tf::NodeDef pass;
  pass.set_name(n.name);
  pass.set_op(op_name::Identity);
  pass.add_input(ref(n.inputs[0]));
  pass.add_input("^" + check.name());
  (*pass.mutable_attr())["T"] = type_attr(g_.spec(n.inputs[0]).dtype);
  nodes.push_back(pass);
  set_refs(index, {node_ref(n.name, "output", 0, 0)});
}

void emit_body(Emitter& e, const Graph& g);

// An op TensorFlow lacks (TfMapping::composite): its decomposition, traced
// with placeholders of the node's inputs and its attributes, emitted in its
// place with every traced node named under the node's name.
void Emitter::emit_composite(int index) {
  const Node& n = g_.nodes[static_cast<size_t>(index)];
  Graph sub;
  std::vector<NodeOutput> outputs;
  {
    TapeIsolation isolation;  // the trace is no user's computation
    Tracer tracer(sub, /*may_create_variables=*/false, /*first_trace_made_none=*/false);
    TraceScope scope(tracer);
    std::vector<Tensor> inputs;
    for (NodeOutput in : n.inputs) {
      const OutputSpec& spec = g_.spec(in);
      Tensor p = tracer.placeholder(spec.dtype, spec.shape, "input");
      // A handle the graph holds (a captured variable): the placeholder
      // points where it does, so the decomposition's ops can infer from it.
      const Node& src = g_.nodes[static_cast<size_t>(in.node)];
      if (spec.dtype == DType::Resource && src.value.defined()) p.impl()->resource = src.value.impl()->resource;
      inputs.push_back(p);
    }
    std::vector<Tensor> outs = n.op->tf.composite(inputs, n.attrs);
    EMBER_CHECK(outs.size() == n.outputs.size(), Internal, "[graph_def] the decomposition of ", n.op->name, " gives ",
                outs.size(), " outputs, the op ", n.outputs.size());
    for (const Tensor& t : outs) outputs.push_back(tracer.output_of(t));
  }
  EMBER_CHECK(sub.captures.empty(), Internal, "[graph_def] the decomposition of ", n.op->name,
              " captures a tensor; it may only make small constants");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OutputSpec& got = sub.spec(outputs[i]);
    EMBER_CHECK(got.dtype == n.outputs[i].dtype, Internal, "[graph_def] the decomposition of ", n.op->name,
                " gives output ", i, " as ", dtype_name(got.dtype), ", the op ", dtype_name(n.outputs[i].dtype));
  }
  for (Node& t : sub.nodes) t.name = unique(n.name + "/" + t.name);
  Emitter inner(sub, function_);
  inner.names_ = names_;
  for (size_t i = 0; i < n.inputs.size(); ++i) inner.set_refs(sub.arguments[i], {ref(n.inputs[i])});
  emit_body(inner, sub);
  // Control edges: the node's own reach every node of its decomposition;
  // where a later node waits on this one, a NoOp under the node's name,
  // after the whole decomposition, stands for it.
  for (tf::NodeDef& d : inner.nodes)
    for (int c : n.control_inputs) d.add_input("^" + g_.nodes[static_cast<size_t>(c)].name);
  const bool awaited = std::any_of(g_.nodes.begin(), g_.nodes.end(), [&](const Node& other) {
    return std::find(other.control_inputs.begin(), other.control_inputs.end(), index) != other.control_inputs.end();
  });
  if (awaited) {
    tf::NodeDef after;
    after.set_name(n.name);
    after.set_op(op_name::NoOp);
    for (const tf::NodeDef& d : inner.nodes) after.add_input("^" + d.name());
    inner.nodes.push_back(after);
  }
  nodes.insert(nodes.end(), inner.nodes.begin(), inner.nodes.end());
  functions.insert(functions.end(), inner.functions.begin(), inner.functions.end());
  names_ = std::move(inner.names_);
  std::vector<std::string> refs;
  for (NodeOutput o : outputs) refs.push_back(inner.ref(o));
  set_refs(index, std::move(refs));
}

// The body of `g`: every node but the arguments and captures, whose
// references `emitter` already knows.
void emit_body(Emitter& e, const Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.kind == Node::Kind::Const) {
      e.reserve(n.name);
      e.nodes.push_back(tfproto::const_node(n.name, n.value));
      e.set_refs(static_cast<int>(i), {e.node_ref(n.name, "output", 0, 0)});
    } else if (n.kind == Node::Kind::Op) {
      e.reserve(n.name);
      e.emit_op(static_cast<int>(i));
    }
  }
}

std::vector<int> inputs_of(const Graph& g) {
  std::vector<int> in = g.arguments;
  in.insert(in.end(), g.captures.begin(), g.captures.end());
  return in;
}

// `g` as FunctionDef `name`. Its input args are the arguments, then the
// captures; `for_saved_model`: a captured tensor that is not a resource
// handle becomes a Const of its value instead, and resource args carry their
// variable's dtype and shape (handle data). `calls` gets the functions its
// control-flow nodes call.
tf::FunctionDef make_function(const Graph& g, const std::string& name, std::vector<FunctionRef>* calls,
                              bool for_saved_model = false) {
  tf::FunctionDef f;
  auto* sig = f.mutable_signature();
  sig->set_name(name);
  Emitter e(g, true);
  for (const Node& n : g.nodes) e.reserve(n.name);
  std::unordered_set<std::string> arg_names;
  for (int id : inputs_of(g)) {
    const Node& n = g.nodes[static_cast<size_t>(id)];
    DType dtype = n.outputs[0].dtype;
    bool capture = std::find(g.captures.begin(), g.captures.end(), id) != g.captures.end();
    if (for_saved_model && capture && dtype != resource) {
      e.nodes.push_back(tfproto::const_node(n.name, n.value));
      e.set_refs(id, {e.node_ref(n.name, "output", 0, 0)});
      continue;
    }
    std::string a = arg_name(n.name);
    for (int k = 1; !arg_names.insert(a).second; ++k) a = arg_name(n.name) + "_" + std::to_string(k);
    int index = sig->input_arg_size();
    auto* arg = sig->add_input_arg();
    arg->set_name(a);
    arg->set_type(tf_type(dtype));
    if (for_saved_model) {
      auto& attrs = *(*f.mutable_arg_attr())[static_cast<uint32_t>(index)].mutable_attr();
      attrs["_user_specified_name"].set_s(capture ? "resource" : n.name);
      if (!capture) set_shape(attrs["_output_shapes"].mutable_list()->add_shape(), n.outputs[0].shape);
      if (capture && n.value.defined() && std::dynamic_pointer_cast<VariableState>(n.value.impl()->resource)) {
        Variable v = Variable::from_handle(n.value);
        auto* hd = arg->add_handle_data();
        hd->set_dtype(tf_type(v.dtype()));
        set_shape(hd->mutable_shape(), v.shape());
      }
    }
    e.set_refs(id, {a});
  }
  emit_body(e, g);
  if (calls) calls->insert(calls->end(), e.functions.begin(), e.functions.end());
  for (auto& node : e.nodes) *f.add_node_def() = std::move(node);
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    std::string out = "output_" + std::to_string(i);
    auto* arg = sig->add_output_arg();
    arg->set_name(out);
    arg->set_type(tf_type(g.spec(g.outputs[i]).dtype));
    (*f.mutable_ret())[out] = e.ref(g.outputs[i]);
  }
  for (const Node& n : g.nodes)
    if (n.is_stateful()) sig->set_is_stateful(true);
  return f;
}

// Adds the functions `fns` name (and every function they call) to `lib`, once each.
void add_library(tf::FunctionDefLibrary* lib, std::unordered_set<std::string>& done, const std::vector<FunctionRef>& fns) {
  for (const FunctionRef& f : fns) {
    if (!done.insert(f->name()).second) continue;
    const auto* body = dynamic_cast<const TracedBody*>(f.get());
    EMBER_CHECK(body != nullptr, Unimplemented, "[graph_def] function ", f->name(), " is not a traced function");
    std::vector<FunctionRef> inner;
    *lib->add_function() = make_function(body->function().graph(), f->name(), &inner);
    add_library(lib, done, inner);
  }
}

void set_versions(tf::GraphDef& def) {
  def.mutable_versions()->set_producer(1286);
  def.mutable_versions()->set_min_consumer(0);
}

tf::NodeDef placeholder(const std::string& name, DType dtype, const TensorShape& shape) {
  tf::NodeDef p;
  p.set_name(name);
  p.set_op(op_name::Placeholder);
  (*p.mutable_attr())["dtype"] = type_attr(dtype);
  set_shape((*p.mutable_attr())["shape"].mutable_shape(), shape);
  return p;
}

tf::NodeDef identity(const std::string& name, const std::string& input, DType dtype) {
  tf::NodeDef n;
  n.set_name(name);
  n.set_op(op_name::Identity);
  n.add_input(input);
  (*n.mutable_attr())["T"] = type_attr(dtype);
  return n;
}

}  // namespace

TensorFlowOutputArgs tensorflow_output_args(const std::string& op) { return output_args_of(op_def(op)); }

std::string graph_def(const Graph& g) {
  tf::GraphDef def;
  set_versions(def);
  Emitter e(g, false);
  for (const Node& n : g.nodes) e.reserve(n.name);
  for (int id : inputs_of(g)) {
    const Node& n = g.nodes[static_cast<size_t>(id)];
    *def.add_node() = placeholder(n.name, n.outputs[0].dtype, n.outputs[0].shape);
    e.set_refs(id, {n.name});
  }
  emit_body(e, g);
  for (auto& node : e.nodes) *def.add_node() = std::move(node);
  for (size_t i = 0; i < g.outputs.size(); ++i)
    *def.add_node() = identity(e.unique("output_" + std::to_string(i)), e.ref(g.outputs[i]), g.spec(g.outputs[i]).dtype);
  std::unordered_set<std::string> done;
  add_library(def.mutable_library(), done, e.functions);
  return def.SerializeAsString();
}

void add_saved_function(tensorflow::FunctionDefLibrary& library, std::unordered_set<std::string>& done,
                        const Graph& g, const std::string& name) {
  if (!done.insert(name).second) return;
  std::vector<FunctionRef> calls;
  *library.add_function() = make_function(g, name, &calls, /*for_saved_model=*/true);
  add_library(&library, done, calls);
}

std::string function_def(const Graph& g, const std::string& name) {
  return make_function(g, name, nullptr).SerializeAsString();
}

std::string graph_def_calling(const Graph& g, const std::string& name) {
  tf::GraphDef def;
  set_versions(def);
  std::vector<FunctionRef> calls;
  *def.mutable_library()->add_function() = make_function(g, name, &calls);
  std::unordered_set<std::string> done{name};
  add_library(def.mutable_library(), done, calls);
  tf::NodeDef call;
  call.set_name("call");
  call.set_op(op_name::StatefulPartitionedCall);
  auto* tin = (*call.mutable_attr())["Tin"].mutable_list();
  auto* tout = (*call.mutable_attr())["Tout"].mutable_list();
  (*call.mutable_attr())["f"].mutable_func()->set_name(name);
  for (int id : inputs_of(g)) {
    const Node& n = g.nodes[static_cast<size_t>(id)];
    *def.add_node() = placeholder(n.name, n.outputs[0].dtype, n.outputs[0].shape);
    call.add_input(n.name);
    tin->add_type(tf_type(n.outputs[0].dtype));
  }
  for (NodeOutput o : g.outputs) tout->add_type(tf_type(g.spec(o).dtype));
  *def.add_node() = call;
  for (size_t i = 0; i < g.outputs.size(); ++i)
    *def.add_node() = identity("output_" + std::to_string(i), i == 0 ? "call" : "call:" + std::to_string(i),
                               g.spec(g.outputs[i]).dtype);
  return def.SerializeAsString();
}

}  // namespace ember
