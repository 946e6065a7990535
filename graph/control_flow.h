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

#include "core/op.h"
#include "graph/function.h"

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
  const ConcreteFunction& function() const { return f_; }

 private:
  ConcreteFunction f_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const FunctionBody> gradient_;
};

namespace detail {
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

/// tf.while_loop: while `cond(vars)` (a scalar bool tensor), vars = body(vars).
/// Each variable keeps its dtype, and its shape stays within its invariant.
LoopVars while_loop(const std::function<Tensor(const LoopVars&)>& cond,
                    const std::function<LoopVars(const LoopVars&)>& body, LoopVars loop_vars,
                    const WhileOptions& options = {});

/// `for i in tf.range(start, limit, delta)`: vars = body(i, vars) for each i
/// (an int64 scalar tensor).
LoopVars for_range(int64_t start, int64_t limit, int64_t delta,
                   const std::function<LoopVars(const Tensor&, const LoopVars&)>& body, LoopVars loop_vars,
                   const WhileOptions& options = {});
LoopVars for_range(const Tensor& start, const Tensor& limit, const Tensor& delta,
                   const std::function<LoopVars(const Tensor&, const LoopVars&)>& body, LoopVars loop_vars,
                   const WhileOptions& options = {});

/// A loop over a tensor's first dimension: vars = body(x[i], vars).
LoopVars for_each(const Tensor& x, const std::function<LoopVars(const Tensor&, const LoopVars&)>& body,
                  LoopVars loop_vars);

}  // namespace ember
