// Control flow, as tf.cond / tf.while_loop / `for i in tf.range(...)`:
// eagerly they simply run (the condition is read, the branch or the body
// runs as C++); while tracing, each branch and the loop's condition and body
// are traced into functions of their own (`TracedBody`), and the graph gets
// one If/StatelessIf or While/StatelessWhile node calling them, however
// many iterations it will run. Tensors of the enclosing trace and the
// variables a function uses become its inputs. Behaviour and error texts:
// FUNCTIONS.md, "Control flow in traced code".
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/op_registry.h"
#include "core/ops.h"
#include "graph/function.h"
#include "graph/tensor_array.h"

namespace ember {

/// A traced ConcreteFunction as the FunctionBody a control-flow op calls.
class TracedBody final : public FunctionBody {
 public:
  explicit TracedBody(ConcreteFunction f) : f_(std::move(f)) {}
  const std::string& name() const override { return f_.name(); }
  std::vector<Tensor> call(std::span<const Tensor> inputs) const override { return f_.call(inputs); }
  std::vector<OutputSpec> input_specs() const override;
  std::vector<OutputSpec> output_specs() const override;
  bool stateful() const override;
  std::shared_ptr<const FunctionBody> gradient(std::span<const Tensor> inputs) const override;
  /// As a loop's body with a traced `cond`, neither running a stateful op:
  /// one plan computing the body and then the condition on its results,
  /// built on first use, runs each iteration.
  bool run_while(const FunctionBody& cond, std::vector<Tensor>& vars) const override;
  const ConcreteFunction& function() const { return f_; }

 private:
  ConcreteFunction f_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const FunctionBody> gradient_;
  mutable const FunctionBody* fused_cond_ = nullptr;
  mutable std::shared_ptr<detail::ConcreteFunctionImpl> fused_;
};

namespace detail {
/// A function traced once on inputs like `inputs` (their dtypes, shapes and,
/// for a resource, the variable it is), to be called as one op: `name`'s
/// body, and the tensors of the enclosing trace it reads (extra inputs).
/// Only while tracing.
struct CallBody {
  FunctionRef body;
  std::vector<Tensor> lifted;
};
CallBody trace_call(const std::string& name, std::span<const Tensor> inputs,
                    const std::function<std::vector<Tensor>(const std::vector<Tensor>& args)>& fn);
/// The call of `call.body` on `inputs` (then its lifted tensors): one
/// PartitionedCall node (StatefulPartitionedCall where it runs a stateful op).
std::vector<Tensor> call_op(const CallBody& call, std::span<const Tensor> inputs);

/// Runs `pred`-selected branch eagerly, or traces both into an If node.
std::vector<Tensor> cond_flat(const Tensor& pred, const std::function<std::vector<Tensor>(std::string&)>& true_fn,
                              const std::function<std::vector<Tensor>(std::string&)>& false_fn,
                              std::string& structure);
}  // namespace detail

/// tf.cond: `true_fn()` where `pred` (a scalar bool tensor) holds, else
/// `false_fn()`. Both return the same structure (a tensor, a vector or a
/// tuple of them) with the same dtypes; where their shapes differ, the
/// traced result has the relaxed shape.
template <typename T, typename F>
auto cond(const Tensor& pred, T true_fn, F false_fn) {
  using R = std::invoke_result_t<T&>;
  static_assert(std::is_same_v<R, std::invoke_result_t<F&>>, "cond: both branches must return the same type");
  auto wrap = [](auto& fn) {
    return [&fn](std::string& structure) {
      std::vector<Tensor> flat;
      detail::flatten(fn(), flat, structure);
      return flat;
    };
  };
  std::string structure;
  std::vector<Tensor> flat = detail::cond_flat(pred, wrap(true_fn), wrap(false_fn), structure);
  size_t at = 0, pos = 0;
  return detail::unflatten<R>(flat, at, structure, pos);
}

struct WhileOptions {
  /// Per loop variable, the shape it may take (less specific than on entry:
  /// unknown dimensions); empty: each keeps its entry shape.
  std::vector<TensorShape> shape_invariants = {};
  /// Stops after this many iterations whatever the condition says.
  std::optional<int64_t> maximum_iterations = std::nullopt;
};

using LoopVars = std::vector<Tensor>;

namespace detail {
/// Whether ops are being traced on this thread.
bool tracing();
/// Reads a loop condition eagerly (checking it is a scalar bool tensor).
bool loop_condition(const Tensor& c, const char* api);
LoopVars while_flat(const std::function<Tensor(const LoopVars&)>& cond,
                    const std::function<LoopVars(const LoopVars&)>& body, LoopVars loop_vars,
                    const WhileOptions& options);
void check_options(const WhileOptions& options);
void check_range(const Tensor& start, const Tensor& limit, const Tensor& delta);
int64_t range_value(const Tensor& t);  // a concrete bound, read on the host
Tensor range_zero(DType dtype);        // 0 of a loop counter's dtype
[[noreturn]] void structure_changed(const char* api, size_t before, size_t after);

// A loop's variables: a Tensor, a TensorArray (its flow), a vector, a tuple
// or a pair of them, nested.
template <typename V>
void flatten_loop(const V& v, std::vector<Tensor>& out) {
  if constexpr (std::is_same_v<V, Tensor>) {
    out.push_back(v);
  } else if constexpr (std::is_same_v<V, TensorArray>) {
    out.push_back(v.flow());
  } else if constexpr (is_vector<V>::value) {
    for (const auto& e : v) flatten_loop(e, out);
  } else {
    std::apply([&](const auto&... e) { (flatten_loop(e, out), ...); }, v);
  }
}
/// `proto`'s structure (its vectors' lengths, its arrays' dtypes and
/// options) around the flat tensors from `at` on.
template <typename V>
V pack_like(const V& proto, const std::vector<Tensor>& flat, size_t& at) {
  if constexpr (std::is_same_v<V, Tensor>) {
    return flat[at++];
  } else if constexpr (std::is_same_v<V, TensorArray>) {
    return proto.with_flow(flat[at++]);
  } else if constexpr (is_vector<V>::value) {
    V r;
    r.reserve(proto.size());
    for (const auto& e : proto) r.push_back(pack_like(e, flat, at));
    return r;
  } else {
    return std::apply([&](const auto&... e) { return V{pack_like(e, flat, at)...}; }, proto);
  }
}
template <typename V>
size_t flat_size(const V& v) {
  std::vector<Tensor> flat;
  flatten_loop(v, flat);
  return flat.size();
}
/// f(v), or f(v's elements...) for a tuple the callable takes unpacked.
template <typename F, typename V>
decltype(auto) call_with(F& f, const V& v) {
  if constexpr (std::is_invocable_v<F&, const V&>) {
    return f(v);
  } else {
    return std::apply(f, v);
  }
}
template <typename F, typename V>
decltype(auto) call_with(F& f, const Tensor& i, const V& v) {
  if constexpr (std::is_invocable_v<F&, const Tensor&, const V&>) {
    return f(i, v);
  } else {
    return std::apply([&](const auto&... e) { return f(i, e...); }, v);
  }
}
}  // namespace detail

/// tf.while_loop: while `cond(vars)` (a scalar bool tensor), vars = body(vars).
/// Each variable keeps its dtype, and its shape stays within its invariant.
LoopVars while_loop(const std::function<Tensor(const LoopVars&)>& cond,
                    const std::function<LoopVars(const LoopVars&)>& body, LoopVars loop_vars,
                    const WhileOptions& options = {});

/// The same over any structure of loop variables: tensors, TensorArrays,
/// and vectors, tuples and pairs of them (`cond` and `body` take the
/// structure, or a tuple's elements one by one; `body` returns it).
/// shape_invariants are per tensor of the structure, flattened in order (a
/// TensorArray counts as one, its flow: a scalar).
template <typename V, typename C, typename B>
V while_loop(C cond, B body, V loop_vars, const WhileOptions& options = {}) {
  if (!detail::tracing()) {
    detail::check_options(options);
    const size_t n = detail::flat_size(loop_vars);
    for (int64_t it = 0; !options.maximum_iterations || it < *options.maximum_iterations; ++it) {
      if (!detail::loop_condition(detail::call_with(cond, loop_vars), "while_loop")) break;
      V next = detail::call_with(body, loop_vars);
      if (detail::flat_size(next) != n) detail::structure_changed("while_loop", n, detail::flat_size(next));
      loop_vars = std::move(next);
    }
    return loop_vars;
  }
  std::vector<Tensor> flat;
  detail::flatten_loop(loop_vars, flat);
  auto unpack = [](const std::vector<Tensor>& f, const V& proto) {
    size_t at = 0;
    return detail::pack_like(proto, f, at);
  };
  std::optional<V> after;  // the traced body's result: its arrays know their element shapes
  LoopVars out = detail::while_flat(
      [&](const LoopVars& f) { return Tensor(detail::call_with(cond, unpack(f, loop_vars))); },
      [&](const LoopVars& f) {
        V next = detail::call_with(body, unpack(f, loop_vars));
        std::vector<Tensor> r;
        detail::flatten_loop(next, r);
        if (r.size() == f.size()) after = std::move(next);
        return r;
      },
      std::move(flat), options);
  return unpack(out, after ? *after : loop_vars);
}

/// `for i in tf.range(start, limit, delta)`: vars = body(i, vars) for each i
/// (a scalar of the bounds' dtype: int64 from integers, int32 or int64 from
/// tensors).
LoopVars for_range(int64_t start, int64_t limit, int64_t delta,
                   const std::function<LoopVars(const Tensor&, const LoopVars&)>& body, LoopVars loop_vars,
                   const WhileOptions& options = {});
LoopVars for_range(const Tensor& start, const Tensor& limit, const Tensor& delta,
                   const std::function<LoopVars(const Tensor&, const LoopVars&)>& body, LoopVars loop_vars,
                   const WhileOptions& options = {});

/// The same over any structure of loop variables (as while_loop's).
template <typename V, typename B>
V for_range(const Tensor& start, const Tensor& limit, const Tensor& delta, B body, V loop_vars,
            const WhileOptions& options = {}) {
  using State = std::pair<Tensor, V>;
  WhileOptions o = options;
  if (!o.shape_invariants.empty()) o.shape_invariants.insert(o.shape_invariants.begin(), TensorShape{});
  detail::check_range(start, limit, delta);
  State out = while_loop(
      [&](const State& s) {
        Tensor zero = detail::range_zero(start.dtype());
        return logical_or(logical_and(greater(delta, zero), less(s.first, limit)),
                          logical_and(less(delta, zero), greater(s.first, limit)));
      },
      [&](const State& s) { return State{s.first + delta, detail::call_with(body, s.first, s.second)}; },
      State{start, std::move(loop_vars)}, o);
  return std::move(out.second);
}
template <typename V, typename B>
V for_range(int64_t start, int64_t limit, int64_t delta, B body, V loop_vars, const WhileOptions& options = {}) {
  EMBER_CHECK(delta != 0, InvalidArgument, "[for_range] delta must not be zero");
  return for_range(constant(start), constant(limit), constant(delta), std::move(body), std::move(loop_vars), options);
}

/// A loop over a tensor's first dimension: vars = body(x[i], vars).
LoopVars for_each(const Tensor& x, const std::function<LoopVars(const Tensor&, const LoopVars&)>& body,
                  LoopVars loop_vars);

}  // namespace ember
