#include "graph/function.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/tape.h"
#include "core/indexed_slices.h"
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

namespace {
// Floats as Python's trace types compare them, except that a NaN equals a
// NaN (else a function traced with nan could never be called again).
bool same_double(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }
}  // namespace

bool operator==(const BakedValue& a, const BakedValue& b) {
  // By value: lists and maps elementwise, user types by their operator==.
  if (a.v.index() != b.v.index()) return false;
  if (const auto* x = std::get_if<double>(&a.v)) return same_double(*x, std::get<double>(b.v));
  if (const auto* x = std::get_if<BakedValue::List>(&a.v)) return *x == std::get<BakedValue::List>(b.v);
  if (const auto* x = std::get_if<BakedValue::Map>(&a.v)) return *x == std::get<BakedValue::Map>(b.v);
  return a.v == b.v;
}

namespace {
void hash_combine(size_t& h, size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }

size_t baked_hash(const BakedValue& b) {
  size_t h = b.v.index();
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
        } else if constexpr (std::is_same_v<T, double>) {
          // Equal values hash equal: every NaN alike, -0.0 as 0.0.
          hash_combine(h, std::isnan(x) ? 1 : std::hash<double>{}(x == 0 ? 0.0 : x));
        } else if constexpr (std::is_same_v<T, BakedValue::List>) {
          for (const BakedValue& e : x) hash_combine(h, baked_hash(e));
        } else if constexpr (std::is_same_v<T, BakedValue::Map>) {
          for (const auto& [k, e] : x) hash_combine(h, std::hash<std::string>{}(k)), hash_combine(h, baked_hash(e));
        } else if constexpr (std::is_same_v<T, BakedValue::Opaque>) {
          hash_combine(h, x.hash);
        } else {
          hash_combine(h, std::hash<T>{}(x));
        }
      },
      b.v);
  return h;
}
}  // namespace

std::string BakedValue::to_string() const {
  std::ostringstream os;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          os << "None";
        } else if constexpr (std::is_same_v<T, bool>) {
          os << (x ? "True" : "False");
        } else if constexpr (std::is_same_v<T, int64_t>) {
          os << x;
        } else if constexpr (std::is_same_v<T, double>) {
          os << float_repr(x);
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
      traced[i].tensor = tracer.placeholder(sig[i].spec.dtype, sig[i].spec.shape, name,
                                            call[i].kind == Kind::Tensor ? call[i].tensor : Tensor());
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

namespace {

// The call's signature: tensors become specs (the input signature's, when given).
std::vector<CallArg> signature_of(const FunctionOptions& options, const std::vector<CallArg>& args) {
  const std::string where = "[" + options.name + "] ";
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
  return sig;
}

// Whether trace signature `t` admits a call of signature `sig` (equal, or more general).
bool covers(const std::vector<CallArg>& t, const std::vector<CallArg>& sig) {
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
}

// Whether a signature has an unknown dimension (so it may cover other signatures).
bool is_general(const std::vector<CallArg>& sig) { return generality(sig) > 0; }

// reduce_retracing: `sig` generalised against a trace of the same structure
// (differing dimensions unknown), or as it is.
std::vector<CallArg> generalized(const std::vector<std::pair<std::vector<CallArg>, ConcreteFunction>>& traces,
                                 const std::vector<CallArg>& sig) {
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
    if (same) return general;
  }
  return sig;
}

// The traces in progress on this thread (a traced callable may call its own
// function again): a call with a signature still being traced recurses
// without end.
struct InProgress {
  const FunctionState* state;
  const std::vector<CallArg>* sig;
};
thread_local std::vector<InProgress> tracing_now;
constexpr size_t kMaxTraceDepth = 64;

struct TraceGuard {
  TraceGuard(const FunctionState* state, const std::vector<CallArg>& sig, const std::string& name) {
    size_t depth = 0;
    for (const InProgress& p : tracing_now) {
      if (p.state != state) continue;
      ++depth;
      EMBER_CHECK(!(covers(*p.sig, sig) && covers(sig, *p.sig)), InvalidArgument, "[", name,
                  "] the function calls itself with the arguments it is being traced for, so its "
                  "recursion never ends; a recursive call must change a plain (baked) argument that ends it");
    }
    EMBER_CHECK(depth < kMaxTraceDepth, InvalidArgument, "[", name, "] the function calls itself ", depth,
                " traces deep; recursion deeper than ", kMaxTraceDepth, " is not traced");
    tracing_now.push_back({state, &sig});
  }
  ~TraceGuard() { tracing_now.pop_back(); }
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;
};

}  // namespace

size_t signature_hash(const std::vector<CallArg>& sig) {
  size_t h = sig.size();
  for (size_t i = 0; i < sig.size(); ++i) {
    const CallArg& a = sig[i];
    hash_combine(h, static_cast<size_t>(a.kind));
    switch (a.kind) {
      case Kind::Spec:
        hash_combine(h, static_cast<size_t>(a.spec.dtype));
        hash_combine(h, a.spec.shape.rank_known() ? a.spec.shape.dims().size() : 1000);
        for (int64_t d : a.spec.shape.dims()) hash_combine(h, static_cast<size_t>(d));
        break;
      case Kind::Variable:
        hash_combine(h, static_cast<size_t>(a.variable.dtype()));
        for (int64_t d : a.variable.shape().dims()) hash_combine(h, static_cast<size_t>(d));
        hash_combine(h, a.variable.trainable());
        hash_combine(h, alias_of(sig, i));
        break;
      default:
        hash_combine(h, baked_hash(a.value));
    }
  }
  return h;
}

std::vector<ConcreteFunction> FunctionState::list() const {
  std::lock_guard<std::recursive_mutex> lock(mu);
  std::vector<ConcreteFunction> out;
  for (const auto& t : traces) out.push_back(t.second);
  return out;
}

ConcreteFunction FunctionState::concrete_for(const std::vector<CallArg>& args, const TraceBody& body,
                                             bool counts) {
  std::lock_guard<std::recursive_mutex> lock(mu);
  std::vector<CallArg> sig = signature_of(options, args);
  std::optional<ConcreteFunction> found = lookup(sig);
  const bool traced = !found;
  if (traced) {
    if (options.reduce_retracing) sig = generalized(traces, sig);
    found = trace_new(sig, args, body);
  }
  if (counts) note_call(traced);
  touch(*found);
  return *found;
}

std::optional<ConcreteFunction> FunctionState::lookup(const std::vector<CallArg>& sig) const {
  auto [lo, hi] = exact.equal_range(signature_hash(sig));
  for (auto it = lo; it != hi; ++it) {
    const auto& [t, cf] = traces[it->second];
    if (covers(t, sig) && covers(sig, t)) return cf;
  }
  if (general_traces == 0) return std::nullopt;
  const ConcreteFunction* best = nullptr;
  int best_generality = 0;
  for (const auto& [t, cf] : traces) {
    if (!covers(t, sig)) continue;
    int g = generality(t);
    if (!best || g < best_generality) best = &cf, best_generality = g;
  }
  if (!best) return std::nullopt;
  return *best;
}

ConcreteFunction FunctionState::trace_new(std::vector<CallArg>& sig, const std::vector<CallArg>& args,
                                          const TraceBody& body) {
  // The first trace may create variables; it is then traced again without
  // creating them, and that second graph is the function.
  TraceGuard guard(this, sig, options.name);
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
  exact.emplace(signature_hash(sig), traces.size());
  general_traces += is_general(sig);
  traces.emplace_back(sig, cf);
  return cf;
}

// TensorFlow's _FrequentTracingDetector: a warning (twice at most) when 5
// of the traces among the last 10 calls or so were made by calls.
void FunctionState::note_call(bool traced) {
  ++call_count;
  if (!traced) {
    if (calls_per_tracing.empty()) calls_per_tracing.push_back(0);
    ++calls_per_tracing.back();
    return;
  }
  calls_per_tracing.push_back(1);
  while (!calls_per_tracing.empty() && call_count - calls_per_tracing.front() > 10) {
    call_count -= calls_per_tracing.front();
    calls_per_tracing.erase(calls_per_tracing.begin());
  }
  if (calls_per_tracing.size() >= 5 && warnings < 2) {
    ++warnings;
    EMBER_LOG_WARN(
        "{} out of the last {} calls to {} triggered tf.function retracing. Tracing is expensive "
        "and the excessive number of tracings could be due to (1) creating a function "
        "repeatedly in a loop, (2) passing tensors with different shapes, (3) passing plain C++ "
        "values instead of tensors. For (1), make the function once; for (2), give an "
        "input_signature or reduce_retracing; for (3), pass tensors.",
        calls_per_tracing.size(), call_count, options.name);
  }
}

void FunctionState::touch(const ConcreteFunction& cf) {
  if (!warm.empty() && warm.back().impl_ == cf.impl_) return;
  auto it = std::find_if(warm.begin(), warm.end(), [&](const ConcreteFunction& w) { return w.impl_ == cf.impl_; });
  if (it != warm.end()) warm.erase(it);
  warm.push_back(cf);
  if (warm.size() > kMaxWarmTraces) {
    warm.front().impl_->executor->release_buffers();
    warm.erase(warm.begin());
  }
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
  for (const Tensor& t : tensors)
    if (detail::is_unmade_rows(t)) [[unlikely]] {  // a gradient held as rows: its dense value
      std::vector<Tensor> dense(tensors.begin(), tensors.end());
      for (Tensor& d : dense) d = dense_value(d);
      return call(std::span<const Tensor>(dense));
    }
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
