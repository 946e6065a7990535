// The op-keyed case table: for every registered op, at least one case that
// makes inputs and calls the op, as ggml's test-backend-ops describes each
// op once and one loop checks them all (tests/every_op_test.cpp):
//   - values in each dtype against the same case run in float64 on the CPU
//     (integers against int64, booleans against themselves);
//   - every other device against the CPU on the same inputs (the check a
//     GPU run needs: `ember-tests --gtest_filter='EveryOp.*'`);
//   - for a differentiable op, the gradient of Σ w·outputs in float64
//     against central differences (tape vs numbers, not vs ember);
//   - the case traced, exported as a TensorFlow FunctionDef that must hold
//     the op, imported back and run: the same values;
//   - for a differentiable op, the gradient taken inside that trace (which
//     by default knows no dimension): the eager gradient.
// The registry check (registry_test.cpp) fails for an op without a case,
// and for a differentiable op without a case whose gradient is checked.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "test_util.h"

namespace ember::test {

/// One input of a case.
struct OpInput {
  TensorShape shape;
  // Random values drawn in [lo, hi] and never 0, then rounded to the dtype
  // (an integer may round to 0); a boolean case's are random 0s and 1s.
  double lo = -2, hi = 2;
  /// The input's dtype whatever the case's dtype (none: the case's).
  std::optional<DType> fixed = std::nullopt;
  /// Handed to the body as a variable's handle (the runner makes the
  /// variable on the device, sets it before every run, and differentiates
  /// with respect to the variable).
  bool variable = false;
  /// A gradient source (a floating input the op is smooth in).
  bool differentiable = true;
};

/// Calls the op. `x`: the inputs, on the device under test (variables as
/// handles); `t`: the case's dtype. Returns what to compare: tensors, not
/// lists or handles.
using OpBody = std::function<std::vector<Tensor>(const std::vector<Tensor>& x, DType t)>;

struct OpCase {
  std::string op;       // TensorFlow's op name (op_name::)
  std::string variant;  // what this case of the op does differently
  std::vector<OpInput> inputs;
  OpBody body;
  /// The dtypes the case runs in (for its inputs without a fixed dtype).
  std::vector<DType> dtypes = {float32, float64, float16, bfloat16};
  /// Tolerance, in multiples of the dtype's rounding (rtol_for): for the
  /// values against float64 and between devices.
  double tol = 4;
  /// The gradient is checked (for a differentiable op); grad_eps and
  /// grad_tol are the central differences' step and relative tolerance.
  bool grad = true;
  double grad_eps = 1e-6, grad_tol = 1e-6;
  /// The tape refuses the gradient with an error holding this text: a known
  /// limit (docs/ARCHITECTURE.md, "Gradients"), checked as such.
  std::string grad_refused = {};
  /// The gradient taken in the case's trace (OpCase::traced) is refused with
  /// an error holding this text: a known limit of shapes known only when
  /// the function runs.
  std::string traced_grad_refused = {};
  /// Where central differences cannot check the gradient (a gamma draw's
  /// gradient in alpha is the implicit reparameterization one, not the
  /// derivative of its samples along their own path): the test that checks
  /// it against outside references instead, as `Suite.Test` (a device test
  /// without its instance prefix and parameter). The registry's test
  /// requires that it exists.
  std::string grad_checked_by = {};
  /// The op TensorFlow's form of the case holds (empty: `op`): Gelu, which
  /// TensorFlow lacks, is exported as tf.nn.gelu's ops.
  std::string exported_as = {};
  /// What the round trip's trace knows of the inputs' shapes: by default no
  /// dimension (so the shape ops stay ops, and kernels meet shapes that
  /// inference could not fix).
  enum class Traced : uint8_t { UnknownDims, UnknownRank, KnownShapes };
  Traced traced = Traced::UnknownDims;
  /// Values are statistics of random draws: compared within `tol`
  /// absolutely (so is the round trip's: TensorFlow's form of a stateful
  /// random op has no stream offset, so an import draws afresh).
  bool statistical = false;

  std::string name() const { return variant.empty() ? op : op + "/" + variant; }
};

/// Every case, grouped by op.
const std::vector<OpCase>& op_cases();

/// The case's gradient sources: its inputs of the case's (floating) dtype
/// that the op is smooth in.
std::vector<size_t> gradient_sources(const OpCase& c);
/// Whether the loop checks the case's gradient: a differentiable op, a
/// case that allows it, runs in float64 and has a source.
bool checks_gradient(const OpCase& c);

}  // namespace ember::test
