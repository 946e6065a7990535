// Control flow (graph/control_flow.h): cond, while_loop and for_range run
// eagerly as C++ and trace into one If/While node calling traced
// functions; FUNCTIONS.md's rules and error texts; gradients through cond
// (only the taken branch), checked against closed forms.
#include <cmath>

#include "graph/control_flow.h"
#include "graph/function.h"
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::If, op_name::StatelessIf, op_name::While, op_name::StatelessWhile};

class ControlFlowTest : public DeviceTest {};

std::vector<float> values(const Tensor& t) { return t.to(Device::cpu()).to_vector<float>(); }

int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.kind == Node::Kind::Op && node.op->name == op;
  return n;
}

TEST_P(ControlFlowTest, EagerControlFlowSimplyRuns) {
  Tensor x = constant({1.f, -2.f});
  EXPECT_EQ(values(cond(greater(reduce_sum(x), constant(0.f)), [&] { return x * 2.f; }, [&] { return -x; })),
            (std::vector<float>{-1.f, 2.f}));
  LoopVars out = while_loop([](const LoopVars& v) { return less(v[0], constant(10.f)); },
                            [](const LoopVars& v) { return LoopVars{v[0] * 2.f, v[1] + 1.f}; },
                            {constant(1.f), constant(0.f)});
  EXPECT_EQ(out[0].item<float>(), 16.f);
  EXPECT_EQ(out[1].item<float>(), 4.f);
  LoopVars sum = for_range(0, 5, 1, [](const Tensor& i, const LoopVars& v) { return LoopVars{v[0] + cast(i, float32)}; },
                           {constant(0.f)});
  EXPECT_EQ(sum[0].item<float>(), 10.f);
  LoopVars bounded = while_loop([](const LoopVars&) { return constant(true); },
                                [](const LoopVars& v) { return LoopVars{v[0] + 1.f}; }, {constant(0.f)},
                                {.maximum_iterations = 7});
  EXPECT_EQ(bounded[0].item<float>(), 7.f);
}

TEST_P(ControlFlowTest, ACondOnATensorTracesBothBranchesIntoOneIf) {
  Tensor scale = constant(3.f);  // an eager tensor the branches capture
  auto f = function([&](Tensor x) {
    Tensor total = reduce_sum(x);
    return cond(greater(total, constant(0.f)), [&] { return x * scale + total; }, [&] { return -x; });
  });
  EXPECT_EQ(values(f(constant({1.f, 2.f}))), (std::vector<float>{6.f, 9.f}));
  EXPECT_EQ(values(f(constant({-1.f, -2.f}))), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(f.tracing_count(), 1);
  const Graph& g = f.list_concrete_functions()[0].graph();
  EXPECT_EQ(count_ops(g, op_name::StatelessIf), 1) << g.to_string();
  EXPECT_FALSE(f.list_concrete_functions()[0].run_stats().cuda_graph_eligible);  // the condition is read on the host
  // The branch that reads `total` (a tensor of the enclosing trace) takes it as an input.
  for (const Node& n : g.nodes)
    if (n.kind == Node::Kind::Op && n.op->name == op_name::StatelessIf) {
      EXPECT_EQ(n.inputs.size(), 3u) << g.to_string();
    }
}

TEST_P(ControlFlowTest, BranchesMustReturnTheSameStructureAndDtypes) {
  auto f = function([](Tensor x) {
    return cond(greater(x, constant(0.f)), [&] { return x; }, [&] { return cast(x, int32); });
  });
  try {
    f(constant(1.f));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("true_fn and false_fn arguments to tf.cond must have the same number, type, and overall "
                     "structure of return values."),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("true_fn output: TensorSpec(shape=(), dtype=tf.float32, name=None)"), std::string::npos) << m;
    EXPECT_NE(m.find("false_fn output: TensorSpec(shape=(), dtype=tf.int32, name=None)"), std::string::npos) << m;
  }
  EXPECT_THROW(cond(constant({true, false}), [] { return constant(1.f); }, [] { return constant(2.f); }),
               InvalidArgument);
  // Shapes may differ: the traced result has the relaxed shape.
  auto g = function([](Tensor x) {
    return cond(greater(reduce_sum(x), constant(0.f)), [&] { return x; }, [&] { return concat({x, x}, 0); });
  });
  ConcreteFunction cf = g.get_concrete_function(TensorSpec({2}));
  EXPECT_EQ(cf.structured_outputs(), "TensorSpec(shape=(None,), dtype=tf.float32, name=None)");
  EXPECT_EQ(values(g(constant({-1.f, -2.f}))).size(), 4u);
}

TEST_P(ControlFlowTest, ATracedLoopIsOneWhileNodeWhateverItsLength) {
  Variable step(constant(0.5f));
  auto f = function([&](Tensor n, Tensor x) {
    return for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                     [&](const Tensor& i, const LoopVars& v) {
                       return LoopVars{v[0] + x * cast(i, float32) * step.read_value()};
                     },
                     {zeros_like(x)})[0];
  });
  Tensor x = constant({1.f, 2.f});
  EXPECT_EQ(values(f(constant(int64_t{4}), x)), (std::vector<float>{3.f, 6.f}));     // 0.5·(0+1+2+3)·x
  EXPECT_EQ(values(f(constant(int64_t{10}), x)), (std::vector<float>{22.5f, 45.f}));  // one trace for both
  EXPECT_EQ(f.tracing_count(), 1);
  const Graph& g = f.list_concrete_functions()[0].graph();
  EXPECT_EQ(count_ops(g, op_name::StatelessWhile), 1) << g.to_string();
  step.assign(constant(1.f));  // the body reads the variable at every call
  EXPECT_EQ(values(f(constant(int64_t{4}), x)), (std::vector<float>{6.f, 12.f}));
  // A loop inside a loop, and a cond inside a loop: tensors two traces out reach the inner body.
  auto nested = function([](Tensor y) {
    return for_range(0, 3, 1,
                     [&](const Tensor& i, const LoopVars& v) {
                       Tensor inner = for_range(0, 2, 1, [&](const Tensor&, const LoopVars& w) { return LoopVars{w[0] + y}; },
                                                {zeros_like(y)})[0];
                       Tensor odd = equal(floormod(i, constant(int64_t{2})), constant(int64_t{1}));
                       return LoopVars{v[0] + cond(odd, [&] { return inner * 10.f; }, [&] { return inner; })};
                     },
                     {zeros_like(y)})[0];
  });
  EXPECT_EQ(values(nested(constant({1.f}))), (std::vector<float>{24.f}));  // 2 + 20 + 2
}

TEST_P(ControlFlowTest, LoopVariablesKeepDtypeAndShapeUnlessInvariantsRelaxThem) {
  auto grow = [](bool relaxed) {
    return function([relaxed](Tensor x) {
      WhileOptions o;
      if (relaxed) o.shape_invariants = {TensorShape{}, TensorShape{TensorShape::kUnknown}};
      return while_loop([](const LoopVars& v) { return less(v[0], constant(3.f)); },
                        [](const LoopVars& v) { return LoopVars{v[0] + 1.f, concat({v[1], v[1]}, 0)}; },
                        {constant(0.f), x}, o)[1];
    });
  };
  auto strict = grow(false);
  try {
    strict(constant({1.f, 2.f, 3.f}));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("enters the loop with shape (3,), but has shape (6,) after one iteration. To "
                                         "allow the shape to vary across iterations, use the `shape_invariants` "
                                         "argument of tf.while_loop to specify a less-specific shape."),
              std::string::npos)
        << e.what();
  }
  auto relaxed = grow(true);
  EXPECT_EQ(values(relaxed(constant({1.f, 2.f, 3.f}))).size(), 24u);
  EXPECT_EQ(relaxed.list_concrete_functions()[0].structured_outputs(),
            "TensorSpec(shape=(None,), dtype=tf.float32, name=None)");
  auto retype = function([](Tensor x) {
    return while_loop([](const LoopVars& v) { return less(v[0], constant(int64_t{3})); },
                      [](const LoopVars& v) { return LoopVars{cast(v[0], float32)}; }, {x})[0];
  });
  try {
    retype(constant(int64_t{0}));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("enters the loop with type int64 but has type float32 after 1 iteration."),
              std::string::npos)
        << e.what();
  }
  auto bounded = function([](Tensor x) {
    return while_loop([](const LoopVars&) { return constant(true); }, [](const LoopVars& v) { return LoopVars{v[0] * 2.f}; },
                      {x}, {.maximum_iterations = 5})[0];
  });
  EXPECT_EQ(values(bounded(constant({1.f}))), (std::vector<float>{32.f}));
}

TEST_P(ControlFlowTest, GradientsThroughCondRunOnlyTheTakenBranch) {
  Variable w(constant(2.0, float64));
  auto f = function([&](Tensor x) {
    return cond(greater(x, constant(0.0, float64)), [&] { return x * x * w.read_value(); }, [&] { return x * x * x; });
  });
  for (double x0 : {3.0, -2.0}) {
    Tensor x = constant(x0, float64);
    GradientTape tape;
    tape.watch(x);
    Tensor y = f(x);
    auto g = tape.gradient(y, std::vector<Source>{x, w});
    if (x0 > 0) {
      EXPECT_DOUBLE_EQ(g[0].item<double>(), 2 * x0 * 2.0);  // d(w x^2)/dx
      EXPECT_DOUBLE_EQ(g[1].item<double>(), x0 * x0);        // d(w x^2)/dw
    } else {
      EXPECT_DOUBLE_EQ(g[0].item<double>(), 3 * x0 * x0);
      ASSERT_TRUE(g[1].defined());
      EXPECT_DOUBLE_EQ(g[1].item<double>(), 0.0);  // the branch taken does not read w
    }
  }
  // A tape inside the traced function: the gradient is traced too.
  auto step = function([&](Tensor x) {
    GradientTape tape;
    tape.watch(x);
    Tensor y = cond(less(x, constant(1.0, float64)), [&] { return sin(x); }, [&] { return x * x; });
    return tape.gradient(y, x);
  });
  EXPECT_NEAR(step(constant(0.5, float64)).item<double>(), std::cos(0.5), 1e-15);
  EXPECT_DOUBLE_EQ(step(constant(4.0, float64)).item<double>(), 8.0);
}

TEST_P(ControlFlowTest, GradientsThroughLoopsEagerAndTraced) {
  Tensor x = constant(1.5, float64);
  GradientTape tape;
  tape.watch(x);
  LoopVars out = for_range(0, 3, 1, [](const Tensor&, const LoopVars& v) { return LoopVars{v[0] * v[1], v[1]}; },
                           {constant(1.0, float64), x});
  EXPECT_DOUBLE_EQ(tape.gradient(out[0], x).item<double>(), 3 * 1.5 * 1.5);  // d(x^3)/dx
  // A traced loop under an eager tape: the call is one recorded op whose traced backward holds the loop's gradient.
  Variable w(constant(0.5, float64));
  auto power = function([&](Tensor y, Tensor n) {
    return for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                     [&](const Tensor&, const LoopVars& v) { return LoopVars{v[0] * y * w.read_value()}; },
                     {constant(1.0, float64)})[0];
  });
  for (int64_t n : {1, 3, 4}) {
    GradientTape traced;
    traced.watch(x);
    Tensor y = power(x, constant(n));
    EXPECT_DOUBLE_EQ(y.item<double>(), std::pow(0.75, n));
    auto g = traced.gradient(y, std::vector<Source>{x, w});
    EXPECT_NEAR(g[0].item<double>(), n * std::pow(0.75, n) / 1.5, 1e-14) << n;  // d((w x)^n)/dx
    EXPECT_NEAR(g[1].item<double>(), n * std::pow(0.75, n) / 0.5, 1e-14) << n;  // d((w x)^n)/dw
  }
  // Inside a traced function: the gradient is a loop of its own, traced too
  // (the forward run again keeping each iteration's inputs, then the body's
  // gradient in reverse), for any number of iterations of one trace.
  auto inside = function([&](Tensor y, Tensor n) {
    GradientTape t;
    t.watch(y);
    Tensor z = for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                         [&](const Tensor&, const LoopVars& v) { return LoopVars{v[0] * y * w.read_value()}; },
                         {constant(1.0, float64)})[0];
    std::vector<Tensor> g = t.gradient(z, std::vector<Source>{y, w});
    return std::make_tuple(z, g[0], g[1]);
  });
  for (int64_t n : {0, 1, 3, 6}) {
    auto [z, gy, gw] = inside(x, constant(n));
    EXPECT_NEAR(z.item<double>(), std::pow(0.75, n), 1e-15) << n;
    EXPECT_NEAR(gy.item<double>(), n * std::pow(0.75, n) / 1.5, 1e-14) << n;
    EXPECT_NEAR(gw.item<double>(), n * std::pow(0.75, n) / 0.5, 1e-14) << n;
  }
  EXPECT_EQ(inside.tracing_count(), 1);
  int whiles = 0;
  for (const Node& node : inside.list_concrete_functions()[0].graph().nodes)
    whiles += node.kind == Node::Kind::Op && (node.op->name == op_name::While || node.op->name == op_name::StatelessWhile);
  EXPECT_EQ(whiles, 3);  // the loop, the loop again keeping its inputs, the gradient loop
}

TEST_P(ControlFlowTest, SecondDerivativesAndNestedLoops) {
  // d2/dx2 of x^n through a loop: eagerly under nested tapes around a traced
  // loop, and with both tapes inside the traced function.
  auto power = [](const Tensor& y, const Tensor& n) {
    return for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                     [&](const Tensor&, const LoopVars& v) { return LoopVars{v[0] * y}; }, {constant(1.0, float64)})[0];
  };
  auto traced_power = function([&](Tensor y, Tensor n) { return power(y, n); });
  Tensor x = constant(1.3, float64);
  for (int64_t n : {1, 2, 4}) {
    GradientTape outer;
    outer.watch(x);
    GradientTape inner;
    inner.watch(x);
    Tensor y = traced_power(x, constant(n));
    Tensor dy = inner.gradient(y, x);
    Tensor d2y = outer.gradient(dy, x);
    EXPECT_NEAR(dy.item<double>(), n * std::pow(1.3, n - 1), 1e-12) << n;
    EXPECT_NEAR(d2y.item<double>(), n * (n - 1) * std::pow(1.3, n - 2), 1e-12) << n;
  }
  auto second = function([&](Tensor y, Tensor n) {
    GradientTape outer;
    outer.watch(y);
    GradientTape inner;
    inner.watch(y);
    Tensor z = power(y, n);
    Tensor dz = inner.gradient(z, y);
    return outer.gradient(dz, y);
  });
  EXPECT_NEAR(second(x, constant(int64_t{5})).item<double>(), 20 * std::pow(1.3, 3), 1e-11);
  EXPECT_NEAR(second(x, constant(int64_t{2})).item<double>(), 2.0, 1e-12);
  // A loop that runs no iteration returns its inputs: as new tensors, so a
  // tape does not count the output's gradient twice (it did).
  auto squared_then_loop = function([](Tensor y, Tensor n) {
    return for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                     [&](const Tensor&, const LoopVars& v) { return LoopVars{v[0] * 3.0}; }, {y * y})[0];
  });
  for (int64_t n : {0, 2}) {
    GradientTape tape;
    tape.watch(x);
    Tensor y = squared_then_loop(x, constant(n));
    EXPECT_NEAR(tape.gradient(y, x).item<double>(), 2 * 1.3 * std::pow(3.0, n), 1e-12) << n;
  }
  // A loop inside a loop: sum over i < 3, j < i + 1 of x^2 = 6 x^2; derivative 12 x.
  auto nested = function([](Tensor y) {
    GradientTape t;
    t.watch(y);
    Tensor total = for_range(0, 3, 1,
                             [&](const Tensor& i, const LoopVars& v) {
                               Tensor inner = for_range(constant(int64_t{0}), i + constant(int64_t{1}), constant(int64_t{1}),
                                                        [&](const Tensor&, const LoopVars& w) { return LoopVars{w[0] + y * y}; },
                                                        {zeros_like(y)})[0];
                               return LoopVars{v[0] + inner};
                             },
                             {zeros_like(y)})[0];
    return std::make_tuple(total, t.gradient(total, y));
  });
  auto [total, grad] = nested(x);
  EXPECT_NEAR(total.item<double>(), 6 * 1.3 * 1.3, 1e-12);
  EXPECT_NEAR(grad.item<double>(), 12 * 1.3, 1e-12);
}

// The programs of tests/tf/make_control_flow_fixtures.py, traced with the
// tape inside the function as there, against the values TensorFlow computed.
TEST_P(ControlFlowTest, ValuesAndGradientsMatchTensorFlow) {
  const std::string file = "tf_control_flow.txt";
  const double ulps = 64;
  Tensor X = constant(std::vector<double>{0.5, -1.25, 2.0});
  Tensor W = constant(0.75, float64);
  Tensor M = constant(std::vector<double>{0.5, -1.0, 1.5, 2.0, 0.25, -0.5, 1.0, 1.0, -2.0, 0.75, -0.25, 0.5}, TensorShape{4, 3});
  auto cond_grads = function([](Tensor x, Tensor w) {
    GradientTape t;
    t.watch(x);
    t.watch(w);
    Tensor y = cond(greater(reduce_sum(x), constant(0.0, float64)), [&] { return reduce_sum(x * x * w); },
                    [&] { return reduce_sum(x * x * x); });
    std::vector<Tensor> g = t.gradient(y, std::vector<Source>{x, w});
    return std::make_tuple(y, g[0], g[1]);
  });
  for (auto [name, x] : {std::pair<std::string, Tensor>{"pos", X}, {"neg", -X}}) {
    auto [y, gx, gw] = cond_grads(x, W);
    expect_tf_values(file, "cond/" + name + "/y", y, ulps);
    expect_tf_values(file, "cond/" + name + "/gx", gx, ulps);
    expect_tf_values(file, "cond/" + name + "/gw", gw, ulps);
  }
  auto power_grads = function([](Tensor x, Tensor w, Tensor n) {
    GradientTape t;
    t.watch(x);
    t.watch(w);
    auto [i, v] = while_loop([&](const Tensor& k, const Tensor&) { return less(k, n); },
                             [&](const Tensor& k, const Tensor& v0) {
                               return std::make_tuple(k + constant(int64_t{1}), v0 * x * w);
                             },
                             std::make_tuple(constant(int64_t{0}), ones_like(x)));
    Tensor y = reduce_sum(v);
    std::vector<Tensor> g = t.gradient(y, std::vector<Source>{x, w});
    return std::make_tuple(v, g[0], g[1]);
  });
  for (int64_t n : {0, 1, 4}) {
    auto [v, gx, gw] = power_grads(X, W, constant(n));
    std::string p = "power/" + std::to_string(n) + "/";
    expect_tf_values(file, p + "v", v, ulps);
    expect_tf_values(file, p + "gx", gx, ulps);
    expect_tf_values(file, p + "gw", gw, ulps);
  }
  auto sine_second = function([](Tensor x, Tensor n) {
    GradientTape outer;
    outer.watch(x);
    GradientTape inner;
    inner.watch(x);
    Tensor v = for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                         [&](const Tensor&, const LoopVars& s) { return LoopVars{sin(s[0]) * x}; }, {x})[0];
    Tensor g = inner.gradient(reduce_sum(v), x);
    Tensor g2 = outer.gradient(reduce_sum(g), x);
    return std::make_tuple(v, g, g2);
  });
  {
    auto [v, g, g2] = sine_second(X, constant(int64_t{3}));
    expect_tf_values(file, "sine/v", v, ulps);
    expect_tf_values(file, "sine/g", g, ulps);
    expect_tf_values(file, "sine/g2", g2, ulps);
  }
  auto cumprod = function([](Tensor m, Tensor w) {
    GradientTape t;
    t.watch(m);
    t.watch(w);
    auto [y, ta] = for_range(
        constant(int64_t{0}), constant(m.dim(0)), constant(int64_t{1}),
        [&](const Tensor& i, const std::pair<Tensor, TensorArray>& s) {
          Tensor next = s.first * gather(m, i, 0) + w;
          return std::pair<Tensor, TensorArray>{next, s.second.write(cast(i, int32), next)};
        },
        std::pair<Tensor, TensorArray>{ones({3}, float64), TensorArray(float64, m.dim(0))});
    Tensor st = ta.stack();
    Tensor loss = reduce_sum(st * st);
    std::vector<Tensor> g = t.gradient(loss, std::vector<Source>{m, w});
    return std::make_tuple(st, g[0], g[1]);
  });
  {
    auto [st, gm, gw] = cumprod(M, W);
    expect_tf_values(file, "cumprod/stack", st, ulps);
    expect_tf_values(file, "cumprod/gm", gm, ulps);
    expect_tf_values(file, "cumprod/gw", gw, ulps);
  }
  auto array_ops = function([](Tensor m) {
    GradientTape t;
    t.watch(m);
    TensorArray ta = TensorArray(float64, 4).unstack(m * m);
    Tensor a = ta.read(1) * ta.read(2) + reduce_sum(ta.gather({0, 3}), 0);
    TensorArray pieces = TensorArray(float64, 2).split(sin(m), {3, 1});
    TensorArray back = TensorArray(float64, 4).scatter({3, 2, 1, 0}, m);
    Tensor loss = reduce_sum(reshape(pieces.concat(), {4, 3}) * back.stack()) + reduce_sum(a * a);
    return std::make_tuple(loss, t.gradient(loss, m));
  });
  {
    auto [loss, gm] = array_ops(M);
    expect_tf_values(file, "array_ops/loss", loss, ulps);
    expect_tf_values(file, "array_ops/gm", gm, ulps);
  }
  auto nested = function([](Tensor x) {
    GradientTape t;
    t.watch(x);
    Tensor total = for_range(constant(int64_t{0}), constant(int64_t{3}), constant(int64_t{1}),
                             [&](const Tensor& i, const LoopVars& v) {
                               Tensor inner = for_range(constant(int64_t{0}), i + constant(int64_t{1}), constant(int64_t{1}),
                                                        [&](const Tensor&, const LoopVars& w) { return LoopVars{w[0] + cos(x) * x}; },
                                                        {zeros_like(x)})[0];
                               return LoopVars{v[0] + inner * cast(i + constant(int64_t{1}), float64)};
                             },
                             {zeros_like(x)})[0];
    return std::make_tuple(total, t.gradient(reduce_sum(total), x));
  });
  {
    auto [total, g] = nested(X);
    expect_tf_values(file, "nested/total", total, ulps);
    expect_tf_values(file, "nested/g", g, ulps);
  }
  auto grow = function([](Tensor x) {
    auto [i, ta] = while_loop([](const Tensor& k, const TensorArray&) { return less(k, constant(int32_t{5})); },
                              [&](const Tensor& k, const TensorArray& a) {
                                return std::make_tuple(k + constant(int32_t{1}), a.write(k, x * cast(k, float64)));
                              },
                              std::make_tuple(constant(int32_t{0}), TensorArray(float64, 0, {.dynamic_size = true})));
    return ta.stack();
  });
  expect_tf_values(file, "grow/stack", grow(X), ulps);
}

TEST_P(ControlFlowTest, SetShapePinsWhatALoopLeftUnknown) {
  // After concat in a for_range loop the first dimension is None; set_shape
  // pins it again, checked when the function runs.
  auto f = function([](Tensor x) {
    Tensor grown = for_range(0, 2, 1, [&](const Tensor&, const LoopVars& v) { return LoopVars{concat({v[0], x}, 0)}; },
                             {x}, {.shape_invariants = {TensorShape{TensorShape::kUnknown}}})[0];
    EXPECT_EQ(grown.shape(), TensorShape{TensorShape::kUnknown});
    grown.set_shape(TensorShape{6});
    EXPECT_EQ(grown.shape(), TensorShape{6});
    return grown;
  });
  EXPECT_EQ(values(f(constant({1.f, 2.f}))), (std::vector<float>{1, 2, 1, 2, 1, 2}));
  EXPECT_EQ(f.list_concrete_functions()[0].structured_outputs(), "TensorSpec(shape=(6,), dtype=tf.float32, name=None)");
  try {
    f(constant({1.f, 2.f, 3.f}));  // a new trace: 9 elements, not 6
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Shape of tensor [9] is not compatible with expected shape [6]."),
              std::string::npos)
        << e.what();
  }
  // Inside a loop's body set_shape only tightens: the variable keeps its invariant.
  auto g = function([](Tensor x) {
    return while_loop([](const LoopVars& v) { return less(reduce_sum(v[0]), constant(100.f)); },
                      [](const LoopVars& v) {
                        Tensor next = v[0] * 2.f;
                        next.set_shape(TensorShape{2});
                        return LoopVars{next};
                      },
                      {x})[0];
  });
  EXPECT_EQ(values(g(constant({1.f, 2.f}))), (std::vector<float>{64, 128}));
}

TEST_P(ControlFlowTest, StatefulBranchesRunOnlyWhenTaken) {
  Variable counter(constant(0.f));
  auto f = function([&](Tensor x) {
    return cond(greater(x, constant(0.f)),
                [&] {
                  counter.assign_add(constant(1.f));
                  return x;
                },
                [&] { return -x; });
  });
  f(constant(1.f));
  f(constant(-1.f));
  f(constant(2.f));
  EXPECT_EQ(counter.read_value().item<float>(), 2.f);
  EXPECT_EQ(count_ops(f.list_concrete_functions()[0].graph(), op_name::If), 1);
}

// x[:i] with a loop's i (TensorFlow's StridedSlice takes its bounds as
// tensors): sum of x[:i] over i, traced, and its gradient (d/dx_j = the
// number of prefixes holding x_j: n - j).
TEST_P(ControlFlowTest, SlicingWithBoundsKnownWhenTheLoopRuns) {
  auto prefix_sums = function([](Tensor x) {
    Tensor n = cast(shape(x, int64), int64);
    LoopVars out = for_range(constant(int64_t{1}), reshape(n, TensorShape{}), constant(int64_t{1}),
                             [&](const Tensor& i, const LoopVars& v) {
                               Tensor end = reshape(i, TensorShape{1});
                               Tensor head = strided_slice(x, constant(std::vector<int64_t>{0}), end,
                                                           constant(std::vector<int64_t>{1}));
                               return LoopVars{v[0] + reduce_sum(head)};
                             },
                             LoopVars{constant(0.0, float64)});
    return out[0];
  });
  Tensor x = constant(std::vector<double>{1, 2, 3, 4});  // prefixes of length 1..3: 1 + 3 + 6
  EXPECT_EQ(prefix_sums(x).item<double>(), 10.0);
  EXPECT_EQ(prefix_sums(constant(std::vector<double>{5, 6})).item<double>(), 5.0);  // the same trace: another length
  EXPECT_EQ(prefix_sums.list_concrete_functions().size(), 2u);  // (one per input shape)
  GradientTape tape;
  tape.watch(x);
  Tensor y = prefix_sums(x);
  EXPECT_EQ(tape.gradient(y, x).to(Device::cpu()).to_vector<double>(), (std::vector<double>{3, 2, 1, 0}));
}

// TensorFlow's guide (tf.function, "Loops"): concat_with_padding keeps x at
// (5, 10) through a loop whose concat has a first dimension known only when
// it runs, pinned again by set_shape. TensorFlow 2.21 returns ones((5, 10)).
TEST_P(ControlFlowTest, ConcatWithPaddingAsTheGuideWritesIt) {
  auto concat_with_padding = function([] {
    LoopVars out = for_range(constant(0), constant(5), constant(1),
                             [](const Tensor& i, const LoopVars& v) {
                               Tensor head = strided_slice(v[0], reshape(constant(0), TensorShape{1}),
                                                           reshape(i, TensorShape{1}), constant(std::vector<int>{1}));
                               Tensor padding = zeros(stack({constant(4) - i, constant(10)}));
                               Tensor x = concat({head, ones({1, 10}), padding}, 0);
                               EXPECT_EQ(x.shape().to_string(), "(None, 10)");
                               x.set_shape({5, 10});
                               return LoopVars{x};
                             },
                             LoopVars{zeros({5, 10})});
    return out[0];
  });
  Tensor x = concat_with_padding();
  EXPECT_EQ(x.shape(), TensorShape({5, 10}));
  EXPECT_EQ(values(x), std::vector<float>(50, 1.f));
  // Eagerly the same program runs as plain C++.
  Tensor eager = zeros({5, 10});
  for (int i = 0; i < 5; ++i)
    eager = concat({strided_slice(eager, {0}, {i}, {1}), ones({1, 10}), zeros(stack({constant(4 - i), constant(10)}))}, 0);
  EXPECT_EQ(values(eager), std::vector<float>(50, 1.f));
  // A shape pinned wrongly is an error when the loop runs (ember checks
  // what TensorFlow takes on trust).
  auto wrong = function([] {
    LoopVars out = for_range(constant(0), constant(2), constant(1),
                             [](const Tensor&, const LoopVars& v) {
                               Tensor grown = concat({v[0], ones({1, 10})}, 0);
                               grown.set_shape({5, 10});
                               return LoopVars{grown};
                             },
                             LoopVars{zeros({5, 10})}, {.shape_invariants = {TensorShape({-1, 10})}});
    return out[0];
  });
  EXPECT_THROW(wrong(), InvalidArgument);
}

// A While op a tape recorded eagerly (as a loaded model's loop runs) whose
// body assigns: its gradient would run the loop, and the assignments, again.
// Refused, as for cond and traced loops.
TEST_P(ControlFlowTest, TheGradientOfAnEagerStatefulWhileIsRefused) {
  Variable count(constant(0.f));
  auto f = function([&](Tensor x) {
    return while_loop([](const LoopVars& v) { return less(v[0], constant(3.f)); },
                      [&](const LoopVars& v) {
                        count.assign_add(constant(1.f));
                        return LoopVars{v[0] + 1.f, v[1] * 2.f};
                      },
                      {constant(0.f), x})[1];
  });
  Graph g = f.get_concrete_function(TensorSpec({}, float32)).graph();
  const Node* loop = nullptr;
  for (const Node& n : g.nodes)
    if (n.kind == Node::Kind::Op && n.op->name == op_name::While) loop = &n;
  ASSERT_NE(loop, nullptr) << g.to_string();
  ASSERT_EQ(loop->inputs.size(), 3u) << g.to_string();  // the counter, x, the variable's handle
  Tensor x = constant(1.f);
  GradientTape tape;
  tape.watch(x);
  std::vector<Tensor> out = execute(*loop->op, {constant(0.f), x, count.handle()}, loop->attrs);
  EXPECT_EQ(out[1].to(Device::cpu()).item<float>(), 8.f);
  EXPECT_EQ(count.read_value().to(Device::cpu()).item<float>(), 3.f);
  EXPECT_NE(error_of<Unimplemented>([&] { tape.gradient(out[1], x); }).find("stateful"), std::string::npos);
  EXPECT_EQ(count.read_value().to(Device::cpu()).item<float>(), 3.f);  // not run again
}

EMBER_INSTANTIATE_DEVICE_TESTS(ControlFlowTest);

}  // namespace
}  // namespace ember::test
