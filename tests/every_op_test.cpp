// The one loop over every op (tests/op_cases.h): op x dtype x check. Each
// check reports the case and dtype it fails for; a GPU run checks every op
// on CUDA with `ember-tests --gtest_filter='EveryOp.*'`.
#include <cmath>
#include <sstream>
#include <unordered_set>

#include "graph.pb.h"
#include "graph/function.h"
#include "op_cases.h"
#include "serialization/graph_def.h"
#include "serialization/graph_import.h"

namespace ember::test {
namespace {

/// The case's input values, drawn once (each dtype rounds them): booleans
/// as random 0s and 1s, everything else uniform in the input's range.
std::vector<std::vector<double>> draw(const OpCase& c, uint32_t seed) {
  const DType free = c.dtypes.front() == bool_ ? bool_ : float64;
  std::vector<std::vector<double>> vals;
  for (const OpInput& in : c.inputs)
    vals.push_back(random_values(in.shape.num_elements(), in.lo, in.hi, in.fixed.value_or(free), seed++));
  return vals;
}

DType input_dtype(const OpInput& in, DType t) { return in.fixed.value_or(t); }

/// The dtype a run in `t` is compared against.
DType reference_dtype(DType t) {
  if (is_floating(t)) return float64;
  if (is_integer(t)) return int64;
  return t;
}

/// A case's inputs on one device: tensors, and variables (passed to the
/// body as their handles, set to their values before every run).
struct Inputs {
  std::vector<Tensor> x;
  std::vector<std::pair<Variable, Tensor>> vars;  // the variable, its value
  void reset() {
    for (auto& [v, value] : vars) v.assign(value);
  }
};

Inputs make_inputs(const OpCase& c, const std::vector<std::vector<double>>& vals, DType t,
                   DType rounding, Device device) {
  Inputs out;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const OpInput& in = c.inputs[i];
    std::vector<double> v = vals[i];
    for (double& e : v) e = round_to(e, input_dtype(in, rounding));
    Tensor value = make(v, in.shape, input_dtype(in, t), device);
    if (in.variable) {
      Variable var(value);
      out.x.push_back(var.handle());
      out.vars.emplace_back(var, value);
    } else {
      out.x.push_back(value);
    }
  }
  return out;
}

/// Runs the case on `device` in dtype `t`, on input values rounded to
/// `rounding`: its outputs, on the host.
std::vector<Tensor> run_case(const OpCase& c, const std::vector<std::vector<double>>& vals, DType t,
                             DType rounding, Device device) {
  DeviceScope scope(device);
  Inputs in = make_inputs(c, vals, t, rounding, device);
  in.reset();
  std::vector<Tensor> out = c.body(in.x, t);
  for (Tensor& o : out) o = o.to(Device::cpu());
  return out;
}

/// Every element of `got` within the case's tolerance of `want` (same shapes).
::testing::AssertionResult close(const OpCase& c, const std::vector<Tensor>& got,
                                 const std::vector<Tensor>& want, DType t) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << got.size() << " outputs, the reference has " << want.size();
  for (size_t k = 0; k < got.size(); ++k) {
    if (!(got[k].shape() == want[k].shape()))
      return ::testing::AssertionFailure() << "output " << k << " has shape " << got[k].shape()
                                           << ", the reference " << want[k].shape();
    const bool floating = is_floating(got[k].dtype());
    if (floating != is_floating(want[k].dtype()))
      return ::testing::AssertionFailure() << "output " << k << " is " << dtype_name(got[k].dtype())
                                           << ", the reference's " << dtype_name(want[k].dtype());
    const double r = std::max(rtol_for(t), rtol_for(got[k].dtype()));
    std::vector<double> g = values(got[k]), w = values(want[k]);
    for (size_t i = 0; i < g.size(); ++i) {
      if (std::isnan(g[i]) && std::isnan(w[i])) continue;
      if (std::isinf(w[i]) && g[i] == w[i]) continue;  // (an exclusive scan's -inf: the same infinity)
      const double err = std::abs(g[i] - w[i]);
      const double bound = c.statistical ? c.tol : floating ? c.tol * r * (1 + std::abs(w[i])) : 0;
      if (!(err <= bound))
        return ::testing::AssertionFailure()
               << "output " << k << "[" << i << "]: " << g[i] << ", the reference " << w[i]
               << " (allowed difference " << bound << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

std::string describe(const OpCase& c, DType t) {
  return c.name() + " in " + std::string(dtype_name(t));
}

uint32_t seed_of(const OpCase& c) {
  return static_cast<uint32_t>(std::hash<std::string>{}(c.name()) % 100000) + 1;
}

TEST(EveryOp, ValuesMatchTheCaseRunInFloat64) {
  for (const OpCase& c : op_cases()) {
    const auto vals = draw(c, seed_of(c));
    for (DType t : c.dtypes) {
      SCOPED_TRACE(describe(c, t));
      try {
        auto got = run_case(c, vals, t, t, Device::cpu());
        auto want = run_case(c, vals, reference_dtype(t), t, Device::cpu());
        EXPECT_TRUE(close(c, got, want, t));
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
  }
}

TEST(EveryOp, EveryDeviceMatchesTheCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no GPU: only the CPU to compare";
  for (int d = 0; d < cuda_device_count(); ++d) {
    const Device device = Device::cuda(d);
    for (const OpCase& c : op_cases()) {
      const auto vals = draw(c, seed_of(c));
      for (DType t : c.dtypes) {
        SCOPED_TRACE(describe(c, t) + " on " + device.to_string());
        try {
          EXPECT_TRUE(
              close(c, run_case(c, vals, t, t, device), run_case(c, vals, t, t, Device::cpu()), t));
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    }
  }
}

/// Fails unless `expr` throws an ember::Error whose message holds `text`.
#define EXPECT_THAT_ERROR_HOLDS(expr, text)                                     \
  try {                                                                         \
    (void)(expr);                                                               \
    ADD_FAILURE() << "no error; expected one saying: " << (text);               \
  } catch (const Error& e) {                                                    \
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what(); \
  }

/// Σ_k Σ w_k · output_k over the floating outputs.
Tensor weighted_sum(const std::vector<Tensor>& out, const std::vector<Tensor>& w) {
  Tensor total = constant(0.0, float64);
  for (size_t k = 0; k < out.size(); ++k)
    if (is_floating(out[k].dtype()))
      total = total + cast(reduce_sum(out[k] * cast(w[k], out[k].dtype())), float64);
  return total;
}

/// The analytic gradients of Σ w·outputs on `device` (float64), one per source.
std::vector<Tensor> tape_gradients(const OpCase& c, const std::vector<std::vector<double>>& vals,
                                   const std::vector<Tensor>& w, Device device) {
  DeviceScope scope(device);
  Inputs in = make_inputs(c, vals, float64, float64, device);
  in.reset();
  std::vector<Tensor> wd;
  for (const Tensor& t : w) wd.push_back(t.to(device));
  GradientTape tape;
  std::vector<Source> sources;
  size_t var = 0;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const bool source = !c.inputs[i].fixed && c.inputs[i].differentiable;
    if (c.inputs[i].variable) {
      const Variable& v = in.vars[var++].first;
      if (source) {
        tape.watch(v);
        sources.emplace_back(v);
      }
    } else if (source) {
      tape.watch(in.x[i]);
      sources.emplace_back(in.x[i]);
    }
  }
  Tensor loss = weighted_sum(c.body(in.x, float64), wd);
  std::vector<Tensor> g = tape.gradient(loss, sources, UnconnectedGradients::Zero);
  for (Tensor& t : g) t = t.to(Device::cpu());
  return g;
}

TEST(EveryOp, GradientsMatchCentralDifferences) {
  for (const OpCase& c : op_cases()) {
    if (!checks_gradient(c)) continue;
    SCOPED_TRACE(c.name());
    try {
      const auto vals = draw(c, seed_of(c));
      if (!c.grad_refused.empty()) {
        std::vector<Tensor> w;
        for (const Tensor& y : run_case(c, vals, float64, float64, Device::cpu()))
          w.push_back(ones_like(y).to(Device::cpu()));
        EXPECT_THAT_ERROR_HOLDS(tape_gradients(c, vals, w, Device::cpu()), c.grad_refused);
        continue;
      }
      const std::vector<Tensor> y0 = run_case(c, vals, float64, float64, Device::cpu());
      std::vector<Tensor> w;
      for (size_t k = 0; k < y0.size(); ++k)
        w.push_back(random_tensor(y0[k].shape(), float64, 0.5, 1.5,
                                  seed_of(c) + 100 + static_cast<uint32_t>(k), nullptr,
                                  Device::cpu()));
      const std::vector<Tensor> analytic = tape_gradients(c, vals, w, Device::cpu());
      const std::vector<size_t> sources = gradient_sources(c);
      ASSERT_EQ(analytic.size(), sources.size());
      auto loss_at = [&](const std::vector<std::vector<double>>& v) {
        return weighted_sum(run_case(c, v, float64, float64, Device::cpu()), w).item<double>();
      };
      for (size_t s = 0; s < sources.size(); ++s) {
        const size_t i = sources[s];
        ASSERT_EQ(analytic[s].shape(), c.inputs[i].shape) << "gradient of input " << i;
        const std::vector<double> got = values(analytic[s]);
        for (size_t e = 0; e < vals[i].size(); ++e) {
          auto perturbed = [&](double delta) {
            auto v = vals;
            v[i][e] += delta;
            return loss_at(v);
          };
          const double numeric =
              (perturbed(c.grad_eps) - perturbed(-c.grad_eps)) / (2 * c.grad_eps);
          EXPECT_LE(std::abs(got[e] - numeric), c.grad_tol * (1 + std::abs(numeric)))
              << "d/d input " << i << "[" << e << "]: tape " << got[e] << ", central differences "
              << numeric;
        }
      }
      // And every device's gradient against the CPU's.
      for (int d = 0; d < cuda_device_count(); ++d) {
        SCOPED_TRACE("gradient on cuda:" + std::to_string(d));
        const std::vector<Tensor> there = tape_gradients(c, vals, w, Device::cuda(d));
        EXPECT_TRUE(close(c, there, analytic, float32));
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

/// The shape a case's trace gives input `x` (OpCase::traced).
TensorShape traced_shape(const OpCase& c, const Tensor& x) {
  return c.traced == OpCase::Traced::UnknownDims   ? TensorShape::unknown_dims(x.rank())
         : c.traced == OpCase::Traced::UnknownRank ? TensorShape::unknown_rank()
                                                   : x.shape();
}

// The gradients taken inside a trace that knows the inputs' shapes only as
// the round trip's does (by default no dimension), again with the graph
// passes a ConcreteFunction runs (constant folding, common subexpressions),
// then inside one that knows not even their ranks: the eager gradients, in
// float64, and so must the graphs without the passes once exported as a
// FunctionDef and imported back. Shape handling that guesses (a broadcast whose direction the
// trace cannot see) shows here as a wrong shape or value. In the first two
// traces a refusal must be the case's declared one (traced_grad_refused);
// of unknown rank, an op may refuse (so), or with InvalidArgument or
// Unimplemented naming the rank, but never answer wrongly or fail
// otherwise.
TEST(EveryOp, GradientsTracedWithUnknownShapesMatchTheEagerOnes) {
  for (const OpCase& c : op_cases()) {
    if (!checks_gradient(c) || !c.grad_refused.empty()) continue;
    // The case's own trace, then the same with the graph passes on, then unknown ranks.
    for (const auto& [unknown_rank, optimize] : {std::pair{false, false}, std::pair{false, true}, std::pair{true, false}}) {
      const OpCase::Traced traced = unknown_rank ? OpCase::Traced::UnknownRank : c.traced;
      SCOPED_TRACE(c.name() + " traced as " +
                   (traced == OpCase::Traced::UnknownDims   ? "unknown dimensions"
                    : traced == OpCase::Traced::UnknownRank ? "unknown rank"
                                                            : "known shapes") +
                   (optimize ? ", optimized" : ""));
      try {
        DeviceScope scope(Device::cpu());
        const auto vals = draw(c, seed_of(c));
        const std::vector<Tensor> y0 = run_case(c, vals, float64, float64, Device::cpu());
        std::vector<Tensor> w;
        for (size_t k = 0; k < y0.size(); ++k)
          w.push_back(random_tensor(y0[k].shape(), float64, 0.5, 1.5, seed_of(c) + 100 + static_cast<uint32_t>(k),
                                    nullptr, Device::cpu()));
        const std::vector<Tensor> eager = tape_gradients(c, vals, w, Device::cpu());
        Inputs in = make_inputs(c, vals, float64, float64, Device::cpu());
        std::vector<detail::CallArg> args;
        std::vector<Tensor> tensors;
        for (size_t i = 0; i < c.inputs.size(); ++i) {
          if (c.inputs[i].variable) continue;
          const TensorShape shape = unknown_rank ? TensorShape::unknown_rank() : traced_shape(c, in.x[i]);
          args.push_back(detail::to_call_arg(TensorSpec(shape, in.x[i].dtype())));
          tensors.push_back(in.x[i]);
        }
        detail::FunctionState state({.name = "every_op_gradient", .optimize = optimize, .cuda_graphs = false});
        ConcreteFunction fn = state.concrete_for(
            args,
            [&](const std::vector<detail::CallArg>& traced_args, std::string& structure) {
              GradientTape tape;
              std::vector<Tensor> x;
              std::vector<Source> sources;
              size_t a = 0, var = 0;
              for (size_t i = 0; i < c.inputs.size(); ++i) {
                const bool source = !c.inputs[i].fixed && c.inputs[i].differentiable;
                if (c.inputs[i].variable) {
                  x.push_back(in.x[i]);
                  const Variable& v = in.vars[var++].first;
                  if (source) {
                    tape.watch(v);
                    sources.emplace_back(v);
                  }
                } else {
                  x.push_back(traced_args[a++].tensor);
                  if (source) {
                    tape.watch(x.back());
                    sources.emplace_back(x.back());
                  }
                }
              }
              std::vector<Tensor> g =
                  tape.gradient(weighted_sum(c.body(x, float64), w), sources, UnconnectedGradients::Zero);
              std::vector<Tensor> flat;
              detail::flatten(g, flat, structure);
              return flat;
            },
            false);
        if (!unknown_rank && !c.traced_grad_refused.empty()) {
          ADD_FAILURE() << "traced without the refusal it declares: " << c.traced_grad_refused;
          continue;
        }
        in.reset();
        std::vector<Tensor> got = fn.call(tensors);
        if (got.size() != eager.size()) {  // (no ASSERT: it would end the loop over the cases)
          ADD_FAILURE() << got.size() << " gradients, eagerly " << eager.size();
          continue;
        }
        for (size_t s = 0; s < got.size(); ++s)
          EXPECT_TRUE(all_close(got[s], values(eager[s]), eager[s].shape(), 1e-9, 1e-9)) << "gradient " << s;
        // And the gradient's graph through TensorFlow's FunctionDef and back.
        if (!optimize) {
          tensorflow::FunctionDefLibrary library;
          std::unordered_set<std::string> done;
          add_saved_function(library, done, fn.graph(), "every_op_gradient_case");
          std::vector<Tensor> resources;
          for (const Tensor& captured : fn.captured_inputs())
            if (captured.dtype() == DType::Resource) resources.push_back(captured);
          FunctionImporter importer(library, "the gradient round trip of " + c.name());
          ConcreteFunction back = importer.import("every_op_gradient_case", fn.input_specs(), resources, "");
          in.reset();
          std::vector<Tensor> imported = back.call(tensors);
          EXPECT_EQ(imported.size(), eager.size());
          for (size_t s = 0; s < imported.size() && s < eager.size(); ++s)
            EXPECT_TRUE(all_close(imported[s], values(eager[s]), eager[s].shape(), 1e-9, 1e-9)) << "imported gradient " << s;
        }
      } catch (const std::exception& e) {
        const std::string what = e.what();
        const bool refused_rank = unknown_rank && what.find("rank") != std::string::npos &&
                                  (dynamic_cast<const InvalidArgument*>(&e) || dynamic_cast<const Unimplemented*>(&e));
        const bool declared = !c.traced_grad_refused.empty() && what.find(c.traced_grad_refused) != std::string::npos;
        if (!refused_rank && !declared) ADD_FAILURE() << what;
      }
    }
  }
}

/// Whether some function of `library` has a node of op `op`.
bool library_has_op(const tensorflow::FunctionDefLibrary& library, const std::string& op) {
  for (const auto& f : library.function())
    for (const auto& n : f.node_def())
      if (n.op() == op) return true;
  return false;
}

TEST(EveryOp, SurvivesFunctionDefExportAndImport) {
  for (const OpCase& c : op_cases()) {
    const DType t = c.dtypes.front();
    SCOPED_TRACE(describe(c, t));
    try {
      DeviceScope scope(Device::cpu());
      const auto vals = draw(c, seed_of(c));
      Inputs in = make_inputs(c, vals, t, t, Device::cpu());
      // The trace: tensors are arguments, variables captured.
      std::vector<detail::CallArg> args;
      for (size_t i = 0; i < c.inputs.size(); ++i) {
        if (c.inputs[i].variable) continue;
        const Tensor& x = in.x[i];
        args.push_back(detail::to_call_arg(TensorSpec(traced_shape(c, x), x.dtype())));
      }
      detail::FunctionState state({.name = "every_op", .optimize = false, .cuda_graphs = false});
      ConcreteFunction traced = state.concrete_for(
          args,
          [&](const std::vector<detail::CallArg>& traced_args, std::string& structure) {
            std::vector<Tensor> x;
            size_t a = 0;
            for (size_t i = 0; i < c.inputs.size(); ++i)
              x.push_back(c.inputs[i].variable ? in.x[i] : traced_args[a++].tensor);
            std::vector<Tensor> flat;
            detail::flatten(c.body(x, t), flat, structure);
            return flat;
          },
          false);
      tensorflow::FunctionDefLibrary library;
      std::unordered_set<std::string> done;
      add_saved_function(library, done, traced.graph(), "every_op_case");
      const std::string exported = c.exported_as.empty() ? c.op : c.exported_as;
      EXPECT_TRUE(library_has_op(library, exported))
          << "the exported functions have no " << exported << " node";
      if (!c.exported_as.empty()) {  // TensorFlow lacks the op: only its decomposition is written
        EXPECT_FALSE(library_has_op(library, c.op)) << "the exported functions hold " << c.op << " itself";
      }

      std::vector<Tensor> tensors, resources;
      for (size_t i = 0; i < c.inputs.size(); ++i)
        if (!c.inputs[i].variable) tensors.push_back(in.x[i]);
      for (const Tensor& captured : traced.captured_inputs())
        if (captured.dtype() == DType::Resource) resources.push_back(captured);
      FunctionImporter importer(library, "the round trip of " + c.name());
      ConcreteFunction back = importer.import("every_op_case", traced.input_specs(), resources, "");

      in.reset();
      std::vector<Tensor> eager = c.body(in.x, t);
      in.reset();
      std::vector<Tensor> from_trace = traced.call(tensors);
      in.reset();
      std::vector<Tensor> imported = back.call(tensors);
      EXPECT_TRUE(close(c, from_trace, eager, t)) << "the trace against the eager run";
      EXPECT_TRUE(close(c, imported, eager, t)) << "the imported function against the eager run";
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

}  // namespace
}  // namespace ember::test
