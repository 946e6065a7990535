// Traced functions, as tf.function: `function(callable)` wraps a C++
// callable; a call keys a cache on its arguments (a tensor by dtype and
// shape, a variable by dtype, shape and trainability, any other value by the
// value itself), traces a ConcreteFunction on a miss and runs it. The C++
// code of the callable runs only while tracing; what it does with tensors is
// recorded as a graph (graph/graph.h), optimised (graph/passes.h) and run
// from a plan (graph/executor.h). Behaviour and error texts: FUNCTIONS.md.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"
#include "core/variable.h"
#include "graph/executor_stats.h"
#include "graph/graph.h"

namespace ember {

/// The dtype and (possibly partial) shape a traced function accepts for an
/// argument, as tf.TensorSpec. The default shape is of unknown rank.
struct TensorSpec {
  TensorShape shape = TensorShape::unknown_rank();
  DType dtype = float32;
  std::string name;
  TensorSpec() = default;
  TensorSpec(TensorShape s, DType d = float32, std::string n = {})  // NOLINT: implicit, as {2, 3}
      : shape(std::move(s)), dtype(d), name(std::move(n)) {}
  /// Whether a tensor of `dt` and `s` fits (equal dtype; every known dimension equal).
  bool fits(DType dt, const TensorShape& s) const;
  /// "TensorSpec(shape=(2, None), dtype=tf.float32, name='x')".
  std::string to_string() const;
  friend bool operator==(const TensorSpec&, const TensorSpec&) = default;
};

/// A plain C++ argument baked into a trace: bool, integers, floats, strings,
/// vectors and string-keyed maps of them, or a user type with std::hash and
/// operator== (compared by value).
struct BakedValue {
  struct Opaque {
    std::shared_ptr<const void> value;
    std::type_index type = typeid(void);
    size_t hash = 0;
    bool (*equal)(const void*, const void*) = nullptr;
    friend bool operator==(const Opaque& x, const Opaque& y) {
      return x.type == y.type && x.hash == y.hash && x.equal(x.value.get(), y.value.get());
    }
  };
  using List = std::vector<BakedValue>;
  using Map = std::vector<std::pair<std::string, BakedValue>>;  // sorted by key
  std::variant<std::monostate, bool, int64_t, double, std::string, List, Map, Opaque> v;
  friend bool operator==(const BakedValue& a, const BakedValue& b);
  /// As Python prints it: True, 3, 2.5, 'text', [1, 2], {'k': 1}.
  std::string to_string() const;
};

namespace detail {
template <typename T>
struct is_vector : std::false_type {};
template <typename T, typename A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <typename T>
struct is_string_map : std::false_type {};
template <typename T, typename C, typename A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};
template <typename T>
concept Hashable = requires(const T& a, const T& b) {
  { std::hash<T>{}(a) } -> std::convertible_to<size_t>;
  { a == b } -> std::convertible_to<bool>;
};
template <typename T>
inline constexpr bool kBakeable = std::is_arithmetic_v<T> || std::is_convertible_v<T, std::string> ||
                                  is_vector<T>::value || is_string_map<T>::value || Hashable<T>;

template <typename T>
BakedValue bake(const T& x) {
  BakedValue b;
  if constexpr (std::is_same_v<T, bool>) {
    b.v = x;
  } else if constexpr (std::is_integral_v<T>) {
    b.v = static_cast<int64_t>(x);
  } else if constexpr (std::is_floating_point_v<T>) {
    b.v = static_cast<double>(x);
  } else if constexpr (std::is_convertible_v<T, std::string>) {
    b.v = std::string(x);
  } else if constexpr (is_vector<T>::value) {
    BakedValue::List l;
    for (const auto& e : x) l.push_back(bake(e));
    b.v = std::move(l);
  } else if constexpr (is_string_map<T>::value) {
    BakedValue::Map m;
    for (const auto& [k, e] : x) m.emplace_back(k, bake(e));
    b.v = std::move(m);
  } else {
    static_assert(Hashable<T>,
                  "ember::function: an argument of this type cannot be baked into a trace: give it "
                  "std::hash and operator==, or pass a Tensor");
    BakedValue::Opaque o;
    o.value = std::make_shared<const T>(x);
    o.type = typeid(T);
    o.hash = std::hash<T>{}(x);
    o.equal = [](const void* a, const void* c) { return *static_cast<const T*>(a) == *static_cast<const T*>(c); };
    b.v = std::move(o);
  }
  return b;
}

/// One argument of a call, as the cache sees it.
struct CallArg {
  enum class Kind : uint8_t { Tensor, Spec, Variable, Value };
  Kind kind = Kind::Value;
  Tensor tensor;
  TensorSpec spec;
  Variable variable;
  BakedValue value;
  const void* original = nullptr;  // Value: the caller's object, alive during the call
};

template <typename T>
CallArg to_call_arg(const T& x) {
  CallArg a;
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, Tensor>) {
    a.kind = CallArg::Kind::Tensor;
    a.tensor = x;
  } else if constexpr (std::is_same_v<D, TensorSpec>) {
    a.kind = CallArg::Kind::Spec;
    a.spec = x;
  } else if constexpr (std::is_same_v<D, Variable>) {
    a.kind = CallArg::Kind::Variable;
    a.variable = x;
  } else {
    a.value = bake(x);
    a.original = &x;
  }
  return a;
}

/// What the callable receives for a baked argument: the value itself, or a
/// constant tensor of it where the callable takes a Tensor.
template <typename T>
struct Baked {
  const T& value;
  operator const T&() const { return value; }  // NOLINT: implicit
  operator Tensor() const  // NOLINT: implicit
    requires std::is_arithmetic_v<T>
  {
    return constant(value);
  }
};

// Outputs: a Tensor, a Variable (its value), a vector of tensors, a
// std::map from strings to them (flattened in key order, as TensorFlow
// flattens a dict), a tuple or pair of them, or nothing. `structure` gets
// their shape with a '%' per tensor ("(%, [%, %], {'a': %})"), which
// structured_outputs() fills with specs.
void check_output_key(const std::string& key);
template <typename R>
void flatten(const R& r, std::vector<Tensor>& out, std::string& structure) {
  if constexpr (std::is_same_v<R, Tensor>) {
    out.push_back(r);
    structure += '%';
  } else if constexpr (std::is_same_v<R, Variable>) {
    out.push_back(r.read_value());
    structure += '%';
  } else if constexpr (is_vector<R>::value) {
    structure += '[';
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) structure += ", ";
      flatten(r[i], out, structure);
    }
    structure += ']';
  } else if constexpr (is_string_map<R>::value) {
    structure += '{';
    bool first = true;
    for (const auto& [key, value] : r) {
      check_output_key(key);
      structure += first ? "'" : ", '";
      structure += key + "': ";
      first = false;
      flatten(value, out, structure);
    }
    structure += '}';
  } else {
    structure += '(';
    size_t i = 0;
    std::apply([&](const auto&... e) { ((structure += (i++ ? ", " : ""), flatten(e, out, structure)), ...); }, r);
    structure += std::tuple_size_v<R> == 1 ? ",)" : ")";
  }
}
/// The result rebuilt from the flat tensors, following `structure` (so a
/// vector anywhere in a tuple gets its own count back).
template <typename R>
R unflatten(const std::vector<Tensor>& flat, size_t& at, const std::string& structure, size_t& pos) {
  auto separator = [&] {
    if (structure[pos] == ',') pos += structure[pos + 1] == ' ' ? 2 : 1;
  };
  if constexpr (std::is_same_v<R, Tensor> || std::is_same_v<R, Variable>) {
    ++pos;  // '%'
    return flat[at++];
  } else if constexpr (is_vector<R>::value) {
    R r;
    ++pos;  // '['
    while (structure[pos] != ']') {
      r.push_back(unflatten<typename R::value_type>(flat, at, structure, pos));
      separator();
    }
    ++pos;
    return r;
  } else if constexpr (is_string_map<R>::value) {
    R r;
    ++pos;  // '{'
    while (structure[pos] != '}') {
      size_t end = structure.find('\'', pos + 1);  // 'key': value
      std::string key = structure.substr(pos + 1, end - pos - 1);
      pos = end + 3;
      r.emplace(std::move(key), unflatten<typename R::mapped_type>(flat, at, structure, pos));
      separator();
    }
    ++pos;
    return r;
  } else {
    ++pos;  // '('
    R r = std::apply(
        [&](auto... proto) {
          return R{[&] {
            auto e = unflatten<decltype(proto)>(flat, at, structure, pos);
            separator();
            return e;
          }()...};
        },
        R{});
    ++pos;  // ')'
    return r;
  }
}

struct ConcreteFunctionImpl;
struct FunctionState;
}  // namespace detail

/// One trace of a function: a graph for one input signature.
class ConcreteFunction {
 public:
  ConcreteFunction() = default;
  explicit ConcreteFunction(std::shared_ptr<detail::ConcreteFunctionImpl> impl) : impl_(std::move(impl)) {}

  /// Calls with the tensors of the traced signature, in order (baked values
  /// are not passed). Each must fit its spec: InvalidArgument naming both.
  std::vector<Tensor> call(std::span<const Tensor> tensors) const;
  std::vector<Tensor> call(std::initializer_list<Tensor> tensors) const {
    return call(std::span<const Tensor>(tensors.begin(), tensors.size()));
  }
  /// Calls with the arguments the function was traced for: tensors (and
  /// variables) that fit the specs, and values equal to the baked ones,
  /// which may be left off at the end.
  template <typename... A>
  std::vector<Tensor> operator()(const A&... args) const {
    return call_args({detail::to_call_arg(args)...});
  }
  std::vector<Tensor> call_args(const std::vector<detail::CallArg>& args) const;

  /// "((TensorSpec(shape=(2, 6), dtype=tf.float32, name='x'), 3), {})".
  std::string structured_input_signature() const;
  /// The specs of the tensor arguments, in order.
  std::vector<TensorSpec> input_specs() const;
  /// How many tensors a call returns.
  size_t num_outputs() const;
  /// The callable's result with a spec per tensor, as TensorFlow prints it:
  /// "(TensorSpec(shape=(2,), dtype=tf.float32, name=None), [...])".
  std::string structured_outputs() const;
  /// The result's structure with a '%' per tensor (what structured_outputs fills).
  const std::string& output_structure() const;
  /// Tensors the graph reads by reference (variables' handles, large eager tensors).
  std::vector<Tensor> captured_inputs() const;
  /// The traced signature, argument by argument: a Spec per tensor, the
  /// value of each baked argument, a Variable's dtype and shape.
  const std::vector<detail::CallArg>& arguments() const;
  /// The variables the graph reads or assigns.
  std::vector<Variable> variables() const;
  const Graph& graph() const;
  const std::string& name() const;
  /// How its calls have run so far: node by node, in the arena, as a CUDA graph.
  ExecutorStats run_stats() const;
  bool defined() const { return impl_ != nullptr; }

 private:
  friend struct detail::FunctionState;
  std::shared_ptr<detail::ConcreteFunctionImpl> impl_;
};

struct FunctionOptions {
  std::string name = "function";
  /// One spec per tensor argument: one trace, used for every call.
  std::optional<std::vector<TensorSpec>> input_signature = std::nullopt;
  /// On a miss, trace for the most general shapes seen (differing dimensions unknown).
  bool reduce_retracing = false;
  /// Names of the arguments' placeholders (C++ keeps no parameter names):
  /// default "args_0", "args_1", ... A spec's own name wins.
  std::vector<std::string> arg_names = {};
  /// Run the graph passes (graph/passes.h) before planning.
  bool optimize = true;
  /// On a GPU, replay calls as a captured CUDA graph where the graph
  /// qualifies (graph/executor.h says which do).
  bool cuda_graphs = true;
};

namespace detail {
/// The part of a Function that is not a template.
struct FunctionState {
  explicit FunctionState(FunctionOptions o) : options(std::move(o)) {}
  /// Runs the callable on the traced arguments: its outputs, flattened, and their structure.
  using TraceBody = std::function<std::vector<Tensor>(const std::vector<CallArg>& traced, std::string& structure)>;
  /// The concrete function for `args` (tracing it on a miss). `counts`:
  /// whether the call counts toward the retracing warning.
  ConcreteFunction concrete_for(const std::vector<CallArg>& args, const TraceBody& body, bool counts);
  /// The traces made so far, in order.
  std::vector<ConcreteFunction> list() const;

  // concrete_for's parts, each called with `mu` held.
  /// The trace for `sig`: the exact one, else the most specific one that covers it.
  std::optional<ConcreteFunction> lookup(const std::vector<CallArg>& sig) const;
  /// Traces the callable for `sig` (twice where the first trace creates
  /// variables) and plans it; `sig` takes the placeholders' names.
  ConcreteFunction trace_new(std::vector<CallArg>& sig, const std::vector<CallArg>& args, const TraceBody& body);
  /// Counts a call toward TensorFlow's frequent-tracing warning.
  void note_call(bool traced);
  /// Marks `cf` the most recently used warm trace; the least recent beyond
  /// kMaxWarmTraces lets its buffers go.
  void touch(const ConcreteFunction& cf);

  FunctionOptions options;
  // Calls from several threads: one looks up or traces at a time (a trace
  // installs its tracer on the calling thread only); the runs themselves
  // proceed in parallel. Recursive: the traced callable may call this
  // function again (recursion, or list_concrete_functions()) on its thread.
  mutable std::recursive_mutex mu;
  std::vector<std::pair<std::vector<CallArg>, ConcreteFunction>> traces;  // signature, trace
  // Exact signatures, by hash: a call finds its trace without a scan
  // (the scan is for calls that only a more general trace covers).
  std::unordered_multimap<size_t, size_t> exact;
  size_t general_traces = 0;  // traces with an unknown dimension, which may cover other signatures
  bool traced_once = false;
  bool first_trace_created_variables = false;
  std::atomic<int> traces_total{0};
  // TensorFlow's frequent-tracing detector: per trace among the recent
  // calls, how many calls it covers (itself and the untraced calls after it).
  std::vector<int> calls_per_tracing;
  int call_count = 0;
  int warnings = 0;
  // The traces whose executors hold buffers (arenas), most recently used
  // last: beyond kMaxWarmTraces, the least recent one lets its go.
  std::vector<ConcreteFunction> warm;
  static constexpr size_t kMaxWarmTraces = 32;
};
/// The signature's hash: equal signatures (as the cache compares them) hash equal.
size_t signature_hash(const std::vector<CallArg>& sig);
}  // namespace detail

template <typename F>
class Function {
 public:
  Function(F f, FunctionOptions options)
      : f_(std::make_shared<F>(std::move(f))),
        state_(std::make_shared<detail::FunctionState>(std::move(options))) {}

  /// Calls the function: traces on a new signature, then runs the trace.
  /// Returns what the callable returns (tensors rebuilt from the graph's outputs).
  template <typename... A>
  auto operator()(const A&... args) {
    using R = std::invoke_result_t<F&, traced_t<A>...>;
    std::vector<detail::CallArg> call{detail::to_call_arg(args)...};
    ConcreteFunction cf = state_->concrete_for(call, body<R, A...>(), true);
    std::vector<Tensor> flat = cf.call_args(call);
    if constexpr (!std::is_void_v<R>) {
      size_t at = 0, pos = 0;
      return detail::unflatten<R>(flat, at, cf.output_structure(), pos);
    }
  }
  /// Traces (or finds) the concrete function for these arguments (TensorSpecs,
  /// tensors or values) without running it.
  /// Without arguments, a function with an input signature traces that.
  template <typename... A>
  ConcreteFunction get_concrete_function(const A&... args) {
    if constexpr (sizeof...(A) == 0 && !std::is_invocable_v<F&>) {
      EMBER_CHECK(state_->options.input_signature.has_value(), InvalidArgument, "[", state_->options.name,
                  "] get_concrete_function() without arguments needs an input_signature");
      return trace_input_signature(std::make_index_sequence<kMaxSignatureArity + 1>{});
    } else {
      using R = std::invoke_result_t<F&, traced_t<A>...>;
      return state_->concrete_for({detail::to_call_arg(args)...}, body<R, A...>(), false);
    }
  }
  std::vector<ConcreteFunction> list_concrete_functions() const { return state_->list(); }
  const FunctionOptions& options() const { return state_->options; }
  /// What a SavedModel saves of this function: the trace of its input
  /// signature (made now if it has none yet), or every trace made so far.
  std::vector<ConcreteFunction> concrete_functions_for_saving() {
    if (state_->options.input_signature) return {trace_input_signature(std::make_index_sequence<kMaxSignatureArity + 1>{})};
    return list_concrete_functions();
  }
  /// How many times the callable has been traced (a first trace that
  /// created variables counts twice: it is traced again without creating them).
  int tracing_count() const { return state_->traces_total; }

 private:
  // What the callable receives for an argument of type A.
  template <typename A>
  using traced_t = std::conditional_t<
      std::is_same_v<A, Tensor> || std::is_same_v<A, TensorSpec>, Tensor,
      std::conditional_t<std::is_same_v<A, Variable>, Variable, detail::Baked<A>>>;

  template <typename R, typename... A>
  detail::FunctionState::TraceBody body() {
    std::shared_ptr<F> f = f_;
    return [f](const std::vector<detail::CallArg>& traced, std::string& structure) {
      return invoke<R, A...>(*f, traced, structure, std::index_sequence_for<A...>{});
    };
  }
  template <typename R, typename... A, size_t... I>
  static std::vector<Tensor> invoke(F& f, const std::vector<detail::CallArg>& t, std::string& structure,
                                    std::index_sequence<I...>) {
    std::vector<Tensor> flat;
    if constexpr (std::is_void_v<R>) {
      f(pass<A>(t[I])...);
      structure = "None";
    } else {
      detail::flatten(f(pass<A>(t[I])...), flat, structure);
    }
    return flat;
  }
  template <typename A>
  static traced_t<A> pass(const detail::CallArg& a) {
    if constexpr (std::is_same_v<A, Tensor> || std::is_same_v<A, TensorSpec>) {
      return a.tensor;
    } else if constexpr (std::is_same_v<A, Variable>) {
      return a.variable;
    } else {
      return detail::Baked<A>{*static_cast<const A*>(a.original)};
    }
  }

  // The trace of the input signature: the callable called with as many
  // tensors as it has specs (it must take that many).
  static constexpr size_t kMaxSignatureArity = 8;
  template <size_t... N>
  ConcreteFunction trace_input_signature(std::index_sequence<N...>) {
    const std::vector<TensorSpec>& specs = *state_->options.input_signature;
    ConcreteFunction out;
    bool traced = ((specs.size() == N && trace_specs(specs, std::make_index_sequence<N>{}, out)) || ...);
    EMBER_CHECK(traced, InvalidArgument, "[", state_->options.name, "] its input_signature has ", specs.size(),
                " specs, but the callable does not take that many tensors (at most ", kMaxSignatureArity,
                " are supported)");
    return out;
  }
  template <size_t... I>
  bool trace_specs(const std::vector<TensorSpec>& specs, std::index_sequence<I...>, ConcreteFunction& out) {
    if constexpr (std::is_invocable_v<F&, decltype((void)I, Tensor())...>) {
      out = get_concrete_function(specs[I]...);
      return true;
    } else {
      return false;
    }
  }

  std::shared_ptr<F> f_;
  std::shared_ptr<detail::FunctionState> state_;
};

/// Wraps `f` as a traced function (tf.function).
template <typename F>
Function<F> function(F f, FunctionOptions options = {}) {
  return Function<F>(std::move(f), std::move(options));
}

}  // namespace ember
