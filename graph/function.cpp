#include "graph/function.h"

#include <sstream>

#include "autograd/tape.h"
#include "core/logging.h"
#include "graph/executor.h"
#include "graph/function_impl.h"
#include "graph/passes.h"

namespace ember {

// ---- specs and baked values -------------------------------------------------------

bool TensorSpec::fits(DType dt, const TensorShape& s) const {
  if (dt != dtype) return false;
  if (!shape.rank_known()) return true;
  if (!s.rank_known() || s.rank() != shape.rank()) return false;
  for (int i = 0; i < shape.rank(); ++i)
    if (shape.dim(i) != TensorShape::kUnknown && shape.dim(i) != s.dim(i)) return false;
  return true;
}

namespace detail {
void check_output_key(const std::string& key) {
  EMBER_CHECK(key.find_first_of("'%\\") == std::string::npos, InvalidArgument, "[function] output key '", key,
              "': a traced function's result keys may not hold ', % or \\");
}
}  // namespace detail

std::string TensorSpec::to_string() const {
  std::string out = "TensorSpec(shape=" + shape.to_string() + ", dtype=tf." + std::string(dtype_name(dtype)) + ", name=";
  return out + (name.empty() ? "None" : "'" + name + "'") + ")";
}

bool operator==(const BakedValue& a, const BakedValue& b) {
  return a.v == b.v;  // by value: lists and maps elementwise, user types by their operator==
}

std::string BakedValue::to_string() const {
  std::ostringstream os;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          os << "None";
        } else if constexpr (std::is_same_v<T, bool>) {
          os << (x ? "True" : "False");
        } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
          os << x;
        } else if constexpr (std::is_same_v<T, std::string>) {
          os << "'" << x << "'";
        } else if constexpr (std::is_same_v<T, List>) {
          os << "[";
          for (size_t i = 0; i < x.size(); ++i) os << (i ? ", " : "") << x[i].to_string();
          os << "]";
        } else if constexpr (std::is_same_v<T, Map>) {
          os << "{";
          for (size_t i = 0; i < x.size(); ++i) os << (i ? ", " : "") << "'" << x[i].first << "': " << x[i].second.to_string();
          os << "}";
        } else {
          os << "<" << x.type.name() << " object>";
        }
      },
      v);
  return os.str();
}

namespace detail {

using Kind = CallArg::Kind;

// ---- the concrete function ----------------------------------------------------------

namespace {

std::string describe(DType dt, const TensorShape& s) {
  return "a " + std::string(dtype_name(dt)) + " tensor of shape " + s.to_string();
}

// Whether spec `general` admits everything spec `specific` does.
bool spec_covers(const TensorSpec& general, const TensorSpec& specific) {
  if (general.dtype != specific.dtype) return false;
  if (!general.shape.rank_known()) return true;
  if (!specific.shape.rank_known() || specific.shape.rank() != general.shape.rank()) return false;
  for (int i = 0; i < general.shape.rank(); ++i)
    if (general.shape.dim(i) != TensorShape::kUnknown && general.shape.dim(i) != specific.shape.dim(i)) return false;
  return true;
}

// How general a signature is: unknown dimensions (an unknown rank counts most).
int generality(const std::vector<CallArg>& sig) {
  int g = 0;
  for (const CallArg& a : sig) {
    if (a.kind != Kind::Spec) continue;
    if (!a.spec.shape.rank_known()) {
      g += 1000;
      continue;
    }
    for (int64_t d : a.spec.shape.dims()) g += d == TensorShape::kUnknown;
  }
  return g;
}

// Index of the first argument that is the same variable as argument i (or i).
size_t alias_of(const std::vector<CallArg>& args, size_t i) {
  for (size_t j = 0; j < i; ++j)
    if (args[j].kind == Kind::Variable && args[j].variable == args[i].variable) return j;
  return i;
}

}  // namespace

// ---- tracing ------------------------------------------------------------------------

namespace {

struct Traced {
  std::shared_ptr<Graph> graph;
  int variables_created;
  std::string structure;
};

Traced trace_once(const FunctionOptions& options, const std::vector<CallArg>& sig,
                  const std::vector<CallArg>& call, const FunctionState::TraceBody& body,
                  bool may_create, bool first_made_none) {
  auto graph = std::make_shared<Graph>();
  TapeIsolation isolation;  // the caller's tapes see the call, never the trace
  Tracer tracer(*graph, may_create, first_made_none);
  std::vector<CallArg> traced = call;
  for (size_t i = 0; i < sig.size(); ++i) {
    std::string name = i < options.arg_names.size() ? options.arg_names[i] : "args_" + std::to_string(i);
    if (sig[i].kind == Kind::Spec) {
      if (!sig[i].spec.name.empty()) name = sig[i].spec.name;
      traced[i].kind = Kind::Tensor;
      traced[i].tensor = tracer.placeholder(sig[i].spec.dtype, sig[i].spec.shape, name);
    } else if (sig[i].kind == Kind::Variable) {
      size_t a = alias_of(call, i);
      if (a != i) {
        traced[i].variable = traced[a].variable;
        continue;
      }
      // The handle is an argument, so another variable of the same kind
      // reuses the trace; it still points at this variable's state, which
      // the Variable API reads for dtype and shape.
      Tensor handle = tracer.placeholder(resource, TensorShape{}, name);
      handle.impl()->resource = call[i].variable.state_ptr();
      traced[i].variable = Variable::from_handle(handle);
    }
  }
  std::vector<Tensor> flat;
  std::string structure;
  {
    TraceScope scope(tracer);
    flat = body(traced, structure);
    for (const Tensor& t : flat) graph->outputs.push_back(tracer.output_of(t));
  }
  return {graph, tracer.variables_created(), std::move(structure)};
}

}  // namespace

ConcreteFunction FunctionState::concrete_for(const std::vector<CallArg>& args, const TraceBody& body,
                                             bool counts) {
  std::lock_guard<std::mutex> lock(mu);
  const std::string where = "[" + options.name + "] ";
  // The call's signature: tensors become specs (the input signature's, when given).
  std::vector<CallArg> sig = args;
  size_t tensor_index = 0;
  for (size_t i = 0; i < sig.size(); ++i) {
    CallArg& a = sig[i];
    a.original = nullptr;
    if (a.kind == Kind::Tensor || a.kind == Kind::Spec) {
      DType dt = a.kind == Kind::Tensor ? a.tensor.dtype() : a.spec.dtype;
      TensorShape shape = a.kind == Kind::Tensor ? a.tensor.shape() : a.spec.shape;
      EMBER_CHECK(a.kind == Kind::Spec || a.tensor.defined(), InvalidArgument, where, "argument ", i,
                  " is an undefined tensor");
      if (options.input_signature) {
        const auto& specs = *options.input_signature;
        EMBER_CHECK(tensor_index < specs.size(), InvalidArgument, where, "called with more tensor arguments than its input_signature's ",
                    specs.size());
        const TensorSpec& want = specs[tensor_index];
        bool fits = a.kind == Kind::Tensor ? want.fits(dt, shape) : spec_covers(want, a.spec);
        EMBER_CHECK(fits, InvalidArgument, where, "argument ", i, ": ", describe(dt, shape),
                    " is not compatible with the input_signature's ", want.to_string());
        a.spec = want;
      } else {
        a.spec = TensorSpec(shape, dt, a.kind == Kind::Spec ? a.spec.name : std::string());
      }
      a.kind = Kind::Spec;
      a.tensor = Tensor();
      ++tensor_index;
    } else if (a.kind == Kind::Variable) {
      EMBER_CHECK(a.variable.defined(), InvalidArgument, where, "argument ", i, " is an undefined variable");
    }
  }
  if (options.input_signature)
    EMBER_CHECK(tensor_index == options.input_signature->size(), InvalidArgument, where, "called with ",
                tensor_index, " tensor arguments; its input_signature has ", options.input_signature->size());

  // Lookup: an exact match, else the most specific trace that covers the call.
  auto covers = [&](const std::vector<CallArg>& t) {
    if (t.size() != sig.size()) return false;
    for (size_t i = 0; i < sig.size(); ++i) {
      if (t[i].kind != sig[i].kind) return false;
      switch (t[i].kind) {
        case Kind::Spec:
          if (!spec_covers(t[i].spec, sig[i].spec)) return false;
          break;
        case Kind::Variable: {
          const Variable &x = t[i].variable, &y = sig[i].variable;
          if (x.dtype() != y.dtype() || !(x.shape() == y.shape()) || x.trainable() != y.trainable() ||
              alias_of(t, i) != alias_of(sig, i))
            return false;
          break;
        }
        default:
          if (!(t[i].value == sig[i].value)) return false;
      }
    }
    return true;
  };
  const ConcreteFunction* best = nullptr;
  int best_generality = 0;
  for (const auto& [t, cf] : traces) {
    if (!covers(t)) continue;
    int g = generality(t);
    if (!best || g < best_generality) best = &cf, best_generality = g;
  }
  auto note_call = [&](bool traced) {
    if (!counts) return;
    recent.push_back(traced);
    if (recent.size() > 5) recent.erase(recent.begin());
    if (recent.size() == 5 && std::count(recent.begin(), recent.end(), true) == 5 && warnings < 2) {
      ++warnings;
      EMBER_LOG_WARN(
          "5 out of the last 5 calls to {} triggered tf.function retracing. Tracing is expensive "
          "and the excessive number of tracings could be due to (1) creating a function "
          "repeatedly in a loop, (2) passing tensors with different shapes, (3) passing plain C++ "
          "values instead of tensors. For (1), make the function once; for (2), give an "
          "input_signature or reduce_retracing; for (3), pass tensors.",
          options.name);
    }
  };
  if (best) {
    note_call(false);
    return *best;
  }
  if (options.reduce_retracing) {
    // Generalise against a trace of the same structure: differing dimensions become unknown.
    for (const auto& [t, cf] : traces) {
      if (t.size() != sig.size()) continue;
      std::vector<CallArg> general = sig;
      bool same = true;
      for (size_t i = 0; i < sig.size() && same; ++i) {
        if (t[i].kind != sig[i].kind) {
          same = false;
        } else if (t[i].kind == Kind::Spec) {
          const TensorShape &a = t[i].spec.shape, &b = sig[i].spec.shape;
          if (t[i].spec.dtype != sig[i].spec.dtype) {
            same = false;
          } else if (!a.rank_known() || !b.rank_known() || a.rank() != b.rank()) {
            general[i].spec.shape = TensorShape::unknown_rank();
          } else {
            TensorShape g = b;
            for (int d = 0; d < a.rank(); ++d)
              if (a.dim(d) != b.dim(d)) g.set_dim(d, TensorShape::kUnknown);
            general[i].spec.shape = g;
          }
        } else if (t[i].kind == Kind::Value) {
          same = t[i].value == sig[i].value;
        }
      }
      if (same) {
        sig = std::move(general);
        break;
      }
    }
  }

  // Trace. The first trace may create variables; it is then traced again
  // without creating them, and that second graph is the function.
  bool first = !traced_once;
  Traced t = trace_once(options, sig, args, body, first, traced_once && !first_trace_created_variables);
  ++traces_total;
  if (first && t.variables_created > 0) {
    first_trace_created_variables = true;
    traced_once = true;
    t = trace_once(options, sig, args, body, false, false);
    ++traces_total;
  }
  traced_once = true;
  // The signature keeps the placeholders' names (errors and signatures show them).
  for (size_t i = 0, arg = 0; i < sig.size(); ++i) {
    if (sig[i].kind == Kind::Spec) sig[i].spec.name = t.graph->nodes[static_cast<size_t>(t.graph->arguments[arg])].name;
    if (sig[i].kind == Kind::Spec || (sig[i].kind == Kind::Variable && alias_of(sig, i) == i)) ++arg;
  }
  if (options.optimize) passes::optimize(*t.graph);
  auto impl = std::make_shared<ConcreteFunctionImpl>();
  impl->name = options.name;
  impl->signature = sig;
  impl->graph = t.graph;
  impl->output_structure = std::move(t.structure);
  impl->executor = std::make_unique<Executor>(*impl->graph, nullptr, options.cuda_graphs);
  init_call_op(*impl);
  ConcreteFunction cf(impl);
  traces.emplace_back(std::move(sig), cf);
  note_call(true);
  return cf;
}

}  // namespace detail

// ---- calling a concrete function --------------------------------------------------------

namespace {
using detail::CallArg;
using Kind = CallArg::Kind;
}  // namespace

std::vector<Tensor> ConcreteFunction::call_args(const std::vector<CallArg>& args) const {
  EMBER_CHECK(impl_, FailedPrecondition, "[ConcreteFunction] calling an empty concrete function");
  const auto& sig = impl_->signature;
  const std::string where = "[" + impl_->name + "] ";
  EMBER_CHECK(args.size() <= sig.size(), InvalidArgument, where, "called with ", args.size(),
              " arguments; it was traced for ", sig.size(), ": ", structured_input_signature());
  std::vector<Tensor> tensors;
  tensors.reserve(sig.size());
  for (size_t i = 0; i < sig.size(); ++i) {
    const CallArg& want = sig[i];
    if (i >= args.size()) {
      EMBER_CHECK(want.kind == Kind::Value, InvalidArgument, where, "argument ", i,
                  " is missing: it was traced as ", want.spec.to_string());
      continue;  // a baked value left off: the traced one
    }
    const CallArg& got = args[i];
    switch (want.kind) {
      case Kind::Spec: {
        EMBER_CHECK(got.kind == Kind::Tensor && got.tensor.defined(), InvalidArgument, where, "argument ", i,
                    " must be a tensor fitting ", want.spec.to_string());
        EMBER_CHECK(want.spec.fits(got.tensor.dtype(), got.tensor.shape()), InvalidArgument, where,
                    "argument ", i, ": ", detail::describe(got.tensor.dtype(), got.tensor.shape()),
                    " does not fit the traced ", want.spec.to_string());
        tensors.push_back(got.tensor);
        break;
      }
      case Kind::Variable: {
        EMBER_CHECK(got.kind == Kind::Variable && got.variable.defined(), InvalidArgument, where,
                    "argument ", i, " must be a variable");
        const Variable& v = want.variable;
        EMBER_CHECK(got.variable.dtype() == v.dtype() && got.variable.shape() == v.shape(), InvalidArgument,
                    where, "argument ", i, ": a ", dtype_name(got.variable.dtype()), " variable of shape ",
                    got.variable.shape().to_string(), " where the trace took ", dtype_name(v.dtype()), " ",
                    v.shape().to_string());
        if (detail::alias_of(sig, i) == i) tensors.push_back(got.variable.handle());
        break;
      }
      default:
        EMBER_CHECK(got.kind == Kind::Value && got.value == want.value, InvalidArgument, where, "argument ",
                    i, " was traced with the value ", want.value.to_string(), ", not ",
                    got.kind == Kind::Value ? got.value.to_string() : std::string("a tensor"));
    }
  }
  return call(std::move(tensors));
}

std::vector<Tensor> ConcreteFunction::call(std::span<const Tensor> tensors) const {
  EMBER_CHECK(impl_, FailedPrecondition, "[ConcreteFunction] calling an empty concrete function");
  const Graph& g = *impl_->graph;
  EMBER_CHECK(tensors.size() == g.arguments.size(), InvalidArgument, "[", impl_->name, "] called with ",
              tensors.size(), " tensors; it takes ", g.arguments.size(), ": ", structured_input_signature());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Node& arg = g.nodes[static_cast<size_t>(g.arguments[i])];
    const OutputSpec& s = arg.outputs[0];
    const Tensor& t = tensors[i];
    bool fits = t.defined() && t.dtype() == s.dtype;
    if (fits && s.shape.rank_known()) {  // every known dimension equal (TensorSpec::fits, without building one)
      const TensorShape& have = t.shape();
      fits = have.rank_known() && have.rank() == s.shape.rank();
      for (int d = 0; fits && d < have.rank(); ++d)
        fits = s.shape.dim(d) == TensorShape::kUnknown || s.shape.dim(d) == have.dim(d);
    }
    if (!fits) [[unlikely]]
      throw InvalidArgument(detail::str_cat("[", impl_->name, "] tensor ", i, ": ",
                                            t.defined() ? detail::describe(t.dtype(), t.shape()) : "undefined",
                                            " does not fit ", TensorSpec(s.shape, s.dtype, arg.name).to_string()));
  }
  Context& ctx = context();
  if (ctx.tapes && !ctx.tracer) {
    // Under a tape: recorded as one op (when a tape would record it), else
    // run as if no tape were there.
    std::vector<Tensor> flat(tensors.begin(), tensors.end());
    for (int c : g.captures) flat.push_back(g.nodes[static_cast<size_t>(c)].value);
    std::vector<Tensor> op_inputs;
    op_inputs.reserve(flat.size());
    for (int k : impl_->op_order) op_inputs.push_back(flat[static_cast<size_t>(k)]);
    if (ctx.tapes->would_record(impl_->call_op, op_inputs))
      return detail::call_recorded(impl_, std::move(flat), std::move(op_inputs));
    detail::PauseTapes pause;
    return impl_->executor->run(tensors);
  }
  return impl_->executor->run(tensors);
}

std::string ConcreteFunction::structured_input_signature() const {
  std::string out = "((";
  const auto& sig = impl_->signature;
  const Graph& g = *impl_->graph;
  size_t arg = 0;
  for (size_t i = 0; i < sig.size(); ++i) {
    if (i) out += ", ";
    if (sig[i].kind == Kind::Value) {
      out += sig[i].value.to_string();
      continue;
    }
    if (sig[i].kind == Kind::Variable && detail::alias_of(sig, i) != i) {
      out += "<the same variable as argument " + std::to_string(detail::alias_of(sig, i)) + ">";
      continue;
    }
    const Node& n = g.nodes[static_cast<size_t>(g.arguments[arg++])];
    out += TensorSpec(n.outputs[0].shape, n.outputs[0].dtype, n.name).to_string();
  }
  return out + (sig.size() == 1 ? ",), {})" : "), {})");
}

std::vector<TensorSpec> ConcreteFunction::input_specs() const {
  std::vector<TensorSpec> out;
  const Graph& g = *impl_->graph;
  for (int a : g.arguments) {
    const Node& n = g.nodes[static_cast<size_t>(a)];
    out.emplace_back(n.outputs[0].shape, n.outputs[0].dtype, n.name);
  }
  return out;
}

size_t ConcreteFunction::num_outputs() const { return impl_->graph->outputs.size(); }

const std::string& ConcreteFunction::output_structure() const { return impl_->output_structure; }

std::string ConcreteFunction::structured_outputs() const {
  std::string out;
  const Graph& g = *impl_->graph;
  size_t next = 0;
  for (char ch : impl_->output_structure) {
    if (ch != '%') {
      out += ch;
      continue;
    }
    const OutputSpec& s = g.spec(g.outputs[next++]);
    out += TensorSpec(s.shape, s.dtype).to_string();
  }
  return out;
}

std::vector<Tensor> ConcreteFunction::captured_inputs() const {
  std::vector<Tensor> out;
  for (int c : impl_->graph->captures) out.push_back(impl_->graph->nodes[static_cast<size_t>(c)].value);
  return out;
}

std::vector<Variable> ConcreteFunction::variables() const {
  std::vector<Variable> out;
  for (const Tensor& t : captured_inputs())
    if (t.dtype() == resource && std::dynamic_pointer_cast<VariableState>(t.impl()->resource))
      out.push_back(Variable::from_handle(t));
  return out;
}

const std::vector<detail::CallArg>& ConcreteFunction::arguments() const { return impl_->signature; }
const Graph& ConcreteFunction::graph() const { return *impl_->graph; }
const std::string& ConcreteFunction::name() const { return impl_->name; }
ExecutorStats ConcreteFunction::run_stats() const { return impl_->executor->stats(); }

}  // namespace ember
