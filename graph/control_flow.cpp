#include "graph/control_flow.h"

#include <atomic>
#include <unordered_map>

#include "autograd/tape.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/tensor_list.h"
#include "core/variable.h"
#include "graph/executor.h"
#include "graph/function_impl.h"

namespace ember {

// ---- TracedBody --------------------------------------------------------------------------

std::vector<OutputSpec> TracedBody::input_specs() const {
  std::vector<OutputSpec> out;
  const Graph& g = f_.graph();
  for (int a : g.arguments) out.push_back(g.nodes[static_cast<size_t>(a)].outputs[0]);
  return out;
}

std::vector<OutputSpec> TracedBody::output_specs() const {
  std::vector<OutputSpec> out;
  const Graph& g = f_.graph();
  for (NodeOutput o : g.outputs) out.push_back(g.spec(o));
  return out;
}

bool TracedBody::stateful() const {
  for (const Node& n : f_.graph().nodes)
    if (n.is_stateful()) return true;
  return false;
}

namespace {
std::atomic<int> function_counter{0};
std::string fresh_name(const std::string& base) { return base + "_" + std::to_string(function_counter++); }
}  // namespace

std::shared_ptr<const FunctionBody> TracedBody::gradient(std::span<const Tensor> inputs) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (gradient_) return gradient_;
  // (inputs, output gradients) -> input gradients, by running this function
  // under a tape inside the trace (its ops inlined) and taking the tape's
  // gradient.
  auto graph = std::make_shared<Graph>();
  {
    TapeIsolation isolation;
    Tracer tracer(*graph, false, false);
    TraceScope scope(tracer);
    std::vector<OutputSpec> in_specs = input_specs(), out_specs = output_specs();
    std::vector<Tensor> args, output_grads;
    for (size_t i = 0; i < in_specs.size(); ++i) {
      Tensor p = tracer.placeholder(in_specs[i].dtype, in_specs[i].shape, "input");
      if (in_specs[i].dtype == resource) p.impl()->resource = inputs[i].impl()->resource;
      args.push_back(p);
    }
    for (const OutputSpec& s : out_specs) output_grads.push_back(tracer.placeholder(s.dtype, s.shape, "output_grad"));
    GradientTape tape({.persistent = false, .watch_accessed_variables = false});
    std::vector<Source> sources;
    std::vector<int> source_of = watch_differentiable(tape, args, sources);
    std::vector<Tensor> outs = f_.call(args);
    std::vector<Tensor> targets, seeds;
    for (size_t k = 0; k < outs.size(); ++k)
      if (is_differentiable(outs[k].dtype())) {
        targets.push_back(outs[k]);
        seeds.push_back(output_grads[k]);
      }
    std::vector<Tensor> grads = tape.gradient(targets, sources, seeds, UnconnectedGradients::Zero);
    for (size_t i = 0; i < args.size(); ++i) {
      Tensor g = source_of[i] >= 0 ? grads[static_cast<size_t>(source_of[i])] : constant(0.f);
      graph->outputs.push_back(tracer.output_of(g));
    }
  }
  gradient_ = std::make_shared<TracedBody>(ConcreteFunction(detail::make_concrete(f_.name() + "_grad", graph)));
  return gradient_;
}

namespace {

// The graph's captured tensors, as interpret() takes them.
std::vector<Tensor> captures_of(const Graph& g) {
  std::vector<Tensor> out;
  for (int k : g.captures) out.push_back(g.nodes[static_cast<size_t>(k)].value);
  return out;
}

// A condition's value, read on the host.
bool truth(const Tensor& t) { return t.to(Device::cpu()).item<bool>(); }

}  // namespace

bool TracedBody::run_while(const FunctionBody& cond_body, std::vector<Tensor>& vars) const {
  const auto* cond = dynamic_cast<const TracedBody*>(&cond_body);
  if (!cond || stateful() || cond->stateful()) return false;  // (a random op's stream lives in its executor)
  std::shared_ptr<detail::ConcreteFunctionImpl> fused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fused_cond_ != cond) {
      // vars -> (body(vars)..., cond(body(vars))): the two graphs inlined into one.
      auto graph = std::make_shared<Graph>();
      {
        TapeIsolation isolation;
        Tracer tracer(*graph, false, false);
        TraceScope scope(tracer);
        const Graph& bg = f_.graph();
        std::vector<Tensor> args;
        for (size_t i = 0; i < bg.arguments.size(); ++i) {
          const OutputSpec& s = bg.nodes[static_cast<size_t>(bg.arguments[i])].outputs[0];
          args.push_back(tracer.placeholder(s.dtype, s.shape, "loop_var"));
          if (s.dtype == resource) args.back().impl()->resource = vars[i].impl()->resource;
        }
        std::vector<std::vector<Tensor>> bv = interpret(bg, args, captures_of(bg));
        std::vector<Tensor> next;
        for (NodeOutput o : bg.outputs) next.push_back(bv[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)]);
        const Graph& cg = cond->function().graph();
        std::vector<std::vector<Tensor>> cv = interpret(cg, next, captures_of(cg));
        NodeOutput k = cg.outputs[0];
        for (const Tensor& t : next) graph->outputs.push_back(tracer.output_of(t));
        graph->outputs.push_back(tracer.output_of(cv[static_cast<size_t>(k.node)][static_cast<size_t>(k.index)]));
      }
      fused_ = detail::make_concrete(f_.name() + "_fused", graph);
      // Its own executor: the condition stays in the arena (run_loop reads it there).
      fused_->executor = std::make_unique<Executor>(*fused_->graph, nullptr, /*cuda_graphs=*/false, /*loop_step=*/true);
      fused_cond_ = cond;
    }
    fused = fused_;
  }
  if (!truth(cond->call(vars)[0])) return true;
  Executor& step = *fused->executor;
  if (step.run_loop(vars)) return true;
  for (;;) {
    std::vector<Tensor> out = step.run(vars);
    bool keep_going = truth(out.back());
    out.pop_back();
    vars = std::move(out);
    if (!keep_going) return true;
  }
}

namespace {

Tracer* current_tracer() { return dynamic_cast<Tracer*>(context().tracer); }

// A function traced inside the enclosing trace `parent`.
struct Nested {
  std::shared_ptr<Graph> graph;
  size_t explicit_args = 0;
  std::vector<Tensor> lifted;  // the enclosing tensors behind the rest of its arguments
  std::string structure;
};

using NestedBody = std::function<std::vector<Tensor>(const std::vector<Tensor>& args, std::string& structure)>;

// `handles`: per argument, the resource a resource argument stands for (a
// variable passed as a loop variable), else null; empty for none.
Nested trace_nested(Tracer* parent, const std::vector<OutputSpec>& specs, const std::vector<std::string>& names,
                    const NestedBody& fn, const std::vector<std::shared_ptr<ResourceBase>>& handles = {}) {
  Nested r;
  r.graph = std::make_shared<Graph>();
  TapeIsolation isolation;  // a tape around the loop records the op, not the body's ops
  Tracer tracer(*r.graph, parent);
  TraceScope scope(tracer);
  std::vector<Tensor> args;
  for (size_t i = 0; i < specs.size(); ++i) {
    args.push_back(tracer.placeholder(specs[i].dtype, specs[i].shape, names[i]));
    if (i < handles.size() && handles[i]) args.back().impl()->resource = handles[i];
  }
  std::vector<Tensor> out = fn(args, r.structure);
  for (const Tensor& t : out) r.graph->outputs.push_back(tracer.output_of(t));
  r.explicit_args = specs.size();
  r.lifted = tracer.lifted_inputs();
  return r;
}

// One input per variable, and per tensor of an enclosing trace.
int64_t key_of(const Tensor& outer) {
  if (outer.dtype() == resource) return static_cast<int64_t>(reinterpret_cast<intptr_t>(outer.impl()->resource.get()));
  return static_cast<int64_t>(outer.id());
}

// The enclosing tensors that any of `fs` lifted, each once, in first-seen order.
std::vector<Tensor> union_of(std::initializer_list<const Nested*> fs) {
  std::vector<Tensor> out;
  std::unordered_map<int64_t, bool> seen;
  for (const Nested* f : fs)
    for (const Tensor& t : f->lifted)
      if (seen.emplace(key_of(t), true).second) out.push_back(t);
  return out;
}

// Makes `f`'s arguments its explicit ones, then one per `inputs` (adding a
// placeholder it does not read where it lifted no such tensor). Returns the
// placeholders standing for `inputs`.
std::vector<int> align(Nested& f, const std::vector<Tensor>& inputs) {
  Graph& g = *f.graph;
  std::unordered_map<int64_t, int> placeholder_of;
  for (size_t i = 0; i < f.lifted.size(); ++i)
    placeholder_of[key_of(f.lifted[i])] = g.arguments[f.explicit_args + i];
  std::vector<int> args(g.arguments.begin(), g.arguments.begin() + static_cast<std::ptrdiff_t>(f.explicit_args));
  std::vector<int> placed;
  for (const Tensor& t : inputs) {
    auto it = placeholder_of.find(key_of(t));
    int id;
    if (it != placeholder_of.end()) {
      id = it->second;
    } else {
      Node n;
      n.kind = Node::Kind::Placeholder;
      n.name = g.unique_name("unused_input");
      n.outputs = {{t.dtype(), t.shape()}};
      g.nodes.push_back(std::move(n));
      id = static_cast<int>(g.nodes.size()) - 1;
    }
    args.push_back(id);
    placed.push_back(id);
  }
  g.arguments = std::move(args);
  return placed;
}

FunctionRef make_body(const std::string& base, std::shared_ptr<Graph> graph) {
  return std::make_shared<TracedBody>(ConcreteFunction(detail::make_concrete(fresh_name(base), std::move(graph))));
}

// "(TensorSpec(...), ...)": a traced result as TensorFlow prints structured outputs.
std::string describe_outputs(const Nested& f) {
  std::string out;
  size_t next = 0;
  for (char ch : f.structure) {
    if (ch != '%') {
      out += ch;
      continue;
    }
    const OutputSpec& s = f.graph->spec(f.graph->outputs[next++]);
    out += TensorSpec(s.shape, s.dtype).to_string();
  }
  return out;
}

void check_scalar_bool(const Tensor& t, const char* what) {
  EMBER_CHECK(t.dtype() == bool_ && (!t.shape().rank_known() || t.rank() == 0), InvalidArgument, "[", what,
              "] the condition must be a scalar bool tensor, got ", dtype_name(t.dtype()), " ",
              t.shape().to_string());
}

// TensorFlow's name of a loop variable's initial value: "node:index".
std::string tensor_name(Tracer* parent, const Tensor& t, size_t i) {
  if (!t.is_symbolic()) return "loop_vars[" + std::to_string(i) + "]";
  NodeOutput o = t.impl()->symbolic->output;
  return parent->graph().nodes[static_cast<size_t>(o.node)].name + ":" + std::to_string(o.index);
}

// _ShapeLessThanOrEqual: `s` at least as specific as `invariant`.
bool within(const TensorShape& s, const TensorShape& invariant) {
  if (!invariant.rank_known()) return true;
  if (!s.rank_known() || s.rank() != invariant.rank()) return false;
  for (int d = 0; d < s.rank(); ++d)
    if (invariant.dim(d) != TensorShape::kUnknown && s.dim(d) != invariant.dim(d)) return false;
  return true;
}

}  // namespace

// ---- calls -------------------------------------------------------------------------------------

namespace detail {

CallBody trace_call(const std::string& name, std::span<const Tensor> inputs,
                    const std::function<std::vector<Tensor>(const std::vector<Tensor>& args)>& fn) {
  Tracer* parent = current_tracer();
  EMBER_CHECK(parent != nullptr, Internal, "[function call] ", name, " is traced as a call only inside a trace");
  std::vector<OutputSpec> specs;
  std::vector<std::string> names;
  std::vector<std::shared_ptr<ResourceBase>> handles;
  for (size_t i = 0; i < inputs.size(); ++i) {
    specs.push_back({inputs[i].dtype(), inputs[i].shape()});
    names.push_back(ember::detail::str_cat("args_", i));
    handles.push_back(inputs[i].dtype() == resource ? inputs[i].impl()->resource : nullptr);
  }
  Nested n = trace_nested(parent, specs, names, [&](const std::vector<Tensor>& args, std::string&) { return fn(args); },
                          handles);
  std::vector<Tensor> lifted = n.lifted;
  align(n, lifted);
  return {make_body(name, n.graph), std::move(lifted)};
}

std::vector<Tensor> call_op(const CallBody& call, std::span<const Tensor> inputs) {
  std::vector<Tensor> in(inputs.begin(), inputs.end());
  in.insert(in.end(), call.lifted.begin(), call.lifted.end());
  return execute(op_def(call.body->stateful() ? op_name::StatefulPartitionedCall : op_name::PartitionedCall), in,
                 {{"f", call.body}});
}

}  // namespace detail

// ---- cond -------------------------------------------------------------------------------------

namespace detail {

std::vector<Tensor> cond_flat(const Tensor& pred, const std::function<std::vector<Tensor>(std::string&)>& true_fn,
                              const std::function<std::vector<Tensor>(std::string&)>& false_fn,
                              std::string& structure) {
  EMBER_CHECK(pred.defined(), InvalidArgument, "[cond] the condition is undefined");
  check_scalar_bool(pred, "cond");
  Tracer* parent = current_tracer();
  if (!parent) return truth(pred) ? true_fn(structure) : false_fn(structure);

  Nested t = trace_nested(parent, {}, {}, [&](const std::vector<Tensor>&, std::string& s) { return true_fn(s); });
  Nested f = trace_nested(parent, {}, {}, [&](const std::vector<Tensor>&, std::string& s) { return false_fn(s); });
  std::string detail;
  if (t.structure != f.structure) {
    detail = "The two structures don't have the same nested structure.";
  } else {
    for (size_t i = 0; i < t.graph->outputs.size() && detail.empty(); ++i) {
      DType a = t.graph->spec(t.graph->outputs[i]).dtype, b = f.graph->spec(f.graph->outputs[i]).dtype;
      if (a != b)
        detail = ember::detail::str_cat("true_fn and false_fn return different dtypes at output ", i, ": ",
                                        dtype_name(a), " and ", dtype_name(b));
    }
  }
  if (!detail.empty())
    throw InvalidArgument(
        "true_fn and false_fn arguments to tf.cond must have the same number, type, and overall structure of "
        "return values.\n\ntrue_fn output: " +
        describe_outputs(t) + "\nfalse_fn output: " + describe_outputs(f) + "\n\nError details:\n" + detail);
  std::vector<Tensor> inputs = union_of({&t, &f});
  align(t, inputs);
  align(f, inputs);
  FunctionRef then_f = make_body("cond_true", t.graph), else_f = make_body("cond_false", f.graph);
  bool stateful = then_f->stateful() || else_f->stateful();
  std::vector<Tensor> in{pred};
  in.insert(in.end(), inputs.begin(), inputs.end());
  structure = t.structure;
  return execute(op_def(stateful ? op_name::If : op_name::StatelessIf), in,
                 {{"then_branch", then_f}, {"else_branch", else_f}});
}

}  // namespace detail

// ---- loops ----------------------------------------------------------------------------------------

namespace detail {

bool tracing() { return current_tracer() != nullptr; }

bool loop_condition(const Tensor& c, const char* api) {
  EMBER_CHECK(c.defined(), InvalidArgument, "[", api, "] the condition is undefined");
  check_scalar_bool(c, api);
  return truth(c);
}

void check_options(const WhileOptions& options) {
  EMBER_CHECK(!options.maximum_iterations || *options.maximum_iterations >= 0, InvalidArgument,
              "[while_loop] maximum_iterations must be non-negative, got ", *options.maximum_iterations);
}

void structure_changed(const char* api, size_t before, size_t after) {
  throw InvalidArgument(ember::detail::str_cat("[", api, "] the body returned ", after, " loop variables; the loop has ",
                                               before, " (The two structures don't have the same number of elements.)"));
}

void check_range(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  for (const Tensor* t : {&start, &limit, &delta})
    EMBER_CHECK(t->defined() && (t->dtype() == int64 || t->dtype() == int32) && t->dtype() == start.dtype() &&
                    (!t->shape().rank_known() || t->rank() == 0),
                InvalidArgument, "[for_range] start, limit and delta must be scalars of one integer dtype (int32 or int64)");
  if (!delta.is_symbolic())
    EMBER_CHECK(range_value(delta) != 0, InvalidArgument, "[for_range] delta must not be zero");
}

int64_t range_value(const Tensor& t) {
  Tensor host = t.to(Device::cpu());  // (a copy, never an op: this may run inside a trace)
  return t.dtype() == int32 ? host.item<int32_t>() : host.item<int64_t>();
}

Tensor range_zero(DType dtype) { return dtype == int32 ? constant(int32_t{0}) : constant(int64_t{0}); }

LoopVars while_flat(const std::function<Tensor(const LoopVars&)>& cond,
                    const std::function<LoopVars(const LoopVars&)>& body, LoopVars loop_vars,
                    const WhileOptions& options) {
  const size_t n = loop_vars.size();
  for (size_t i = 0; i < n; ++i)
    EMBER_CHECK(loop_vars[i].defined(), InvalidArgument, "[while_loop] loop variable ", i, " is undefined");
  EMBER_CHECK(options.shape_invariants.empty() || options.shape_invariants.size() == n, InvalidArgument,
              "[while_loop] ", options.shape_invariants.size(), " shape invariants for ", n, " loop variables");
  check_options(options);
  auto check_count = [&](const LoopVars& next) {
    if (next.size() != n) structure_changed("while_loop", n, next.size());
  };
  Tracer* parent = current_tracer();
  if (!parent) {
    for (int64_t it = 0; !options.maximum_iterations || it < *options.maximum_iterations; ++it) {
      Tensor c = cond(loop_vars);
      check_scalar_bool(c, "while_loop");
      if (!truth(c)) break;
      LoopVars next = body(loop_vars);
      check_count(next);
      loop_vars = std::move(next);
    }
    return loop_vars;
  }

  // Traced: the loop variables (and an iteration counter when bounded).
  const bool counted = options.maximum_iterations.has_value();
  std::vector<OutputSpec> specs;
  std::vector<std::string> names;
  if (counted) {
    specs.push_back({int64, TensorShape{}});
    names.push_back("iteration");
  }
  for (size_t i = 0; i < n; ++i) {
    TensorShape shape = loop_vars[i].shape();
    if (!options.shape_invariants.empty()) {
      const TensorShape& inv = options.shape_invariants[i];
      // (A value of less specific shape may enter: a loaded model's Max of unknown rank with the invariant ().)
      EMBER_CHECK(within(shape, inv) || inv.is_compatible_with(shape), InvalidArgument, "The shape invariant specified for ",
                  tensor_name(parent, loop_vars[i], i),
                  " is not compatible with the initial shape of the loop variable. It enters the loop with shape ",
                  shape.to_string(), ", but the specified shape invariant is ", inv.to_string(), ".");
      shape = inv;
    }
    specs.push_back({loop_vars[i].dtype(), shape});
    names.push_back("loop_var");
  }
  const size_t skip = counted ? 1 : 0;
  std::vector<std::shared_ptr<ResourceBase>> handles(skip);
  for (const Tensor& v : loop_vars) handles.push_back(v.dtype() == resource ? v.impl()->resource : nullptr);
  auto user_vars = [&](const std::vector<Tensor>& args) { return LoopVars(args.begin() + static_cast<std::ptrdiff_t>(skip), args.end()); };
  Nested c = trace_nested(parent, specs, names, [&](const std::vector<Tensor>& args, std::string&) {
    Tensor keep_going = cond(user_vars(args));
    check_scalar_bool(keep_going, "while_loop");
    if (counted) keep_going = logical_and(less(args[0], constant(*options.maximum_iterations)), keep_going);
    return std::vector<Tensor>{keep_going};
  }, handles);
  Nested b = trace_nested(parent, specs, names, [&](const std::vector<Tensor>& args, std::string&) {
    LoopVars next = body(user_vars(args));
    check_count(next);
    std::vector<Tensor> out;
    if (counted) out.push_back(args[0] + constant(int64_t{1}));
    out.insert(out.end(), next.begin(), next.end());
    return out;
  }, handles);
  for (size_t i = 0; i < n; ++i) {
    const OutputSpec& after = b.graph->spec(b.graph->outputs[skip + i]);
    const OutputSpec& before = specs[skip + i];
    std::string name = tensor_name(parent, loop_vars[i], i);
    if (after.dtype != before.dtype)
      throw InvalidArgument(ember::detail::str_cat("Loop var ", name, " enters the loop with type ",
                                                   dtype_name(before.dtype), " but has type ", dtype_name(after.dtype),
                                                   " after 1 iteration. ", name, " type should remain constant."));
    if (!within(after.shape, before.shape))
      throw InvalidArgument("Input tensor `" + name + "` enters the loop with shape " + before.shape.to_string() +
                            ", but has shape " + after.shape.to_string() +
                            " after one iteration. To allow the shape to vary across iterations, use the "
                            "`shape_invariants` argument of tf.while_loop to specify a less-specific shape.");
  }
  // The enclosing tensors either function reads are loop variables too,
  // passed through by the body.
  std::vector<Tensor> invariant = union_of({&c, &b});
  align(c, invariant);
  std::vector<int> passed = align(b, invariant);
  for (int p : passed) b.graph->outputs.push_back({p, 0});
  FunctionRef cond_f = make_body("while_cond", c.graph), body_f = make_body("while_body", b.graph);
  bool stateful = cond_f->stateful() || body_f->stateful();
  std::vector<Tensor> in;
  if (counted) in.push_back(constant(int64_t{0}));
  in.insert(in.end(), loop_vars.begin(), loop_vars.end());
  in.insert(in.end(), invariant.begin(), invariant.end());
  std::vector<Tensor> out =
      execute(op_def(stateful ? op_name::While : op_name::StatelessWhile), in, {{"cond", cond_f}, {"body", body_f}});
  return LoopVars(out.begin() + static_cast<std::ptrdiff_t>(skip), out.begin() + static_cast<std::ptrdiff_t>(skip + n));
}

}  // namespace detail

LoopVars while_loop(const std::function<Tensor(const LoopVars&)>& cond,
                    const std::function<LoopVars(const LoopVars&)>& body, LoopVars loop_vars,
                    const WhileOptions& options) {
  return detail::while_flat(cond, body, std::move(loop_vars), options);
}

LoopVars for_range(const Tensor& start, const Tensor& limit, const Tensor& delta,
                   const std::function<LoopVars(const Tensor&, const LoopVars&)>& body, LoopVars loop_vars,
                   const WhileOptions& options) {
  detail::check_range(start, limit, delta);
  if (!current_tracer()) {
    int64_t s = detail::range_value(start), l = detail::range_value(limit), d = detail::range_value(delta);
    EMBER_CHECK(d != 0, InvalidArgument, "[for_range] delta must not be zero");
    int64_t count = 0;
    for (int64_t i = s; d > 0 ? i < l : i > l; i += d) {
      if (options.maximum_iterations && count++ >= *options.maximum_iterations) break;
      LoopVars next = body(start.dtype() == int32 ? constant(static_cast<int32_t>(i)) : constant(i), loop_vars);
      EMBER_CHECK(next.size() == loop_vars.size(), InvalidArgument, "[for_range] the body returned ", next.size(),
                  " loop variables; the loop has ", loop_vars.size());
      loop_vars = std::move(next);
    }
    return loop_vars;
  }
  LoopVars vars{start};
  vars.insert(vars.end(), loop_vars.begin(), loop_vars.end());
  WhileOptions o = options;
  if (!o.shape_invariants.empty()) o.shape_invariants.insert(o.shape_invariants.begin(), TensorShape{});
  LoopVars out = detail::while_flat(
      [&](const LoopVars& v) {
        Tensor zero = detail::range_zero(start.dtype());
        return logical_or(logical_and(greater(delta, zero), less(v[0], limit)),
                          logical_and(less(delta, zero), greater(v[0], limit)));
      },
      [&](const LoopVars& v) {
        LoopVars next = body(v[0], LoopVars(v.begin() + 1, v.end()));
        LoopVars r{v[0] + delta};
        r.insert(r.end(), next.begin(), next.end());
        return r;
      },
      vars, o);
  return LoopVars(out.begin() + 1, out.end());
}

LoopVars for_range(int64_t start, int64_t limit, int64_t delta,
                   const std::function<LoopVars(const Tensor&, const LoopVars&)>& body, LoopVars loop_vars,
                   const WhileOptions& options) {
  EMBER_CHECK(delta != 0, InvalidArgument, "[for_range] delta must not be zero");
  return for_range(constant(start), constant(limit), constant(delta), body, std::move(loop_vars), options);
}

LoopVars for_each(const Tensor& x, const std::function<LoopVars(const Tensor&, const LoopVars&)>& body,
                  LoopVars loop_vars) {
  EMBER_CHECK(x.defined() && x.shape().rank_known() && x.rank() >= 1 && x.dim(0) != TensorShape::kUnknown,
              InvalidArgument, "[for_each] iterating needs a tensor of known first dimension, got ",
              x.defined() ? x.shape().to_string() : std::string("an undefined tensor"));
  return for_range(
      0, x.dim(0), 1, [&](const Tensor& i, const LoopVars& v) { return body(gather(x, i, 0), v); },
      std::move(loop_vars));
}

// ---- a loop's gradient as ops ---------------------------------------------------------

namespace {

Tensor int32_scalar(int32_t v) { return constant(v); }

// TensorFlow's accumulator scheme, with the body's inputs as what is kept:
// the forward loop runs again, pushing each iteration's inputs onto one list
// per loop variable that changes (the loop's invariants, which the body
// passes through, are read from the op's inputs); the gradient loop runs as
// many iterations, popping them in reverse, and calls the body's gradient
// function (which recomputes that iteration's body under a tape) on them.
// The loops are traced into While nodes inside a trace, and run as ops
// eagerly (under a tape that records the gradient: a second derivative).
std::vector<Tensor> loop_gradient_ops(const GradContext& c) {
  const FunctionRef& cond = c.attrs.get<FunctionRef>("cond");
  const FunctionRef& body = c.attrs.get<FunctionRef>("body");
  auto traced = std::dynamic_pointer_cast<const TracedBody>(body);
  EMBER_CHECK(traced != nullptr, Internal, "[while_loop] the body ", body->name(), " is not a traced function");
  for (const FunctionRef& f : {cond, body})
    EMBER_CHECK(!f->stateful(), Unimplemented, "[while_loop] the gradient of a loop that runs a stateful op (in ",
                f->name(), ") would run it again: not supported");
  const size_t n = c.inputs.size();
  const Graph& bg = traced->function().graph();
  const std::vector<OutputSpec> specs = body->input_specs();
  std::vector<bool> passed(n);
  std::vector<size_t> kept;  // the variables whose per-iteration values are kept
  for (size_t i = 0; i < n; ++i) {
    passed[i] = bg.outputs[i].node == bg.arguments[i] && bg.outputs[i].index == 0;
    if (!passed[i]) kept.push_back(i);
  }
  auto slice = [](const LoopVars& v, size_t from, size_t count) {
    return std::vector<Tensor>(v.begin() + static_cast<std::ptrdiff_t>(from),
                               v.begin() + static_cast<std::ptrdiff_t>(from + count));
  };

  // 1. The forward loop again: [iterations, vars..., one list per kept var].
  LoopVars fwd{int32_scalar(0)};
  fwd.insert(fwd.end(), c.inputs.begin(), c.inputs.end());
  WhileOptions fo;
  fo.shape_invariants.push_back(TensorShape{});
  for (const OutputSpec& s : specs) fo.shape_invariants.push_back(s.shape);
  for (size_t i : kept) {
    fwd.push_back(list::reserve(int32_scalar(0), specs[i].dtype, specs[i].shape));
    fo.shape_invariants.push_back(TensorShape{});
  }
  LoopVars forward = detail::while_flat(
      [&](const LoopVars& v) { return cond->call(slice(v, 1, n))[0]; },
      [&](const LoopVars& v) {
        std::vector<Tensor> in = slice(v, 1, n);
        std::vector<Tensor> out = body->call(in);
        LoopVars r{v[0] + int32_scalar(1)};
        r.insert(r.end(), out.begin(), out.end());
        for (size_t k = 0; k < kept.size(); ++k) r.push_back(list::push_back(v[1 + n + k], in[kept[k]]));
        return r;
      },
      fwd, fo);

  // 2. The gradient loop: [step, iterations, gradients..., variables' sums..., lists...].
  std::vector<size_t> variables;  // resource inputs: their gradients are summed over the iterations
  for (size_t i = 0; i < n; ++i)
    if (c.inputs[i].dtype() == resource) variables.push_back(i);
  FunctionRef grad_fn = body->gradient(c.inputs);
  LoopVars bwd{int32_scalar(0), forward[0]};
  WhileOptions bo;
  bo.shape_invariants = {TensorShape{}, TensorShape{}};
  for (size_t i = 0; i < n; ++i) {
    const Tensor& out = c.outputs[i];
    Tensor g;
    if (c.inputs[i].dtype() == resource) {
      g = c.inputs[i];  // the body's gradient function takes the handle where an output gradient would be
    } else if (is_differentiable(out.dtype()) && i < c.output_grads.size() && c.output_grads[i].defined()) {
      g = c.output_grads[i];
    } else {
      g = zeros_gradient(out);
    }
    bwd.push_back(g);
    bo.shape_invariants.push_back(specs[i].shape);
  }
  for (size_t i : variables) {
    Variable v = Variable::from_handle(c.inputs[i]);
    bwd.push_back(zeros(v.shape(), v.dtype(), v.device()));
    bo.shape_invariants.push_back(v.shape());
  }
  for (size_t k = 0; k < kept.size(); ++k) {
    bwd.push_back(forward[1 + n + k]);
    bo.shape_invariants.push_back(TensorShape{});
  }
  const size_t sums_at = 2 + n, lists_at = sums_at + variables.size();
  LoopVars backward = detail::while_flat(
      [](const LoopVars& v) { return less(v[0], v[1]); },
      [&](const LoopVars& v) {
        std::vector<Tensor> in(c.inputs.begin(), c.inputs.end());
        LoopVars r{v[0] + int32_scalar(1), v[1]};
        std::vector<Tensor> lists;
        for (size_t k = 0; k < kept.size(); ++k) {
          size_t i = kept[k];
          std::vector<Tensor> popped = list::pop_back(v[lists_at + k], specs[i].dtype, specs[i].shape);
          lists.push_back(popped[0]);
          in[i] = popped[1];
        }
        std::vector<Tensor> args = in;
        for (size_t i = 0; i < n; ++i) args.push_back(v[2 + i]);
        std::vector<Tensor> g = grad_fn->call(args);
        for (size_t i = 0; i < n; ++i) {
          bool flows = c.inputs[i].dtype() != resource && is_differentiable(c.inputs[i].dtype());
          r.push_back(flows ? g[i] : v[2 + i]);
        }
        for (size_t k = 0; k < variables.size(); ++k) r.push_back(v[sums_at + k] + g[variables[k]]);
        r.insert(r.end(), lists.begin(), lists.end());
        return r;
      },
      bwd, bo);

  std::vector<Tensor> grads(n);
  for (size_t i = 0; i < n; ++i)
    if (c.inputs[i].dtype() != resource && is_differentiable(c.inputs[i].dtype())) grads[i] = backward[2 + i];
  for (size_t k = 0; k < variables.size(); ++k) grads[variables[k]] = backward[sums_at + k];
  return grads;
}

[[maybe_unused]] const bool loop_gradient_installed = (set_loop_gradient(&loop_gradient_ops), true);

}  // namespace

}  // namespace ember
