// Traced functions (graph/): the cache, variables, side effects, the
// executor, the passes and gradients through calls, as FUNCTIONS.md says
// tf.function behaves.
#include <atomic>
#include <cmath>
#include <thread>

#include "graph/executor.h"
#include "graph/function.h"
#include "graph/passes.h"
#include "test_util.h"

namespace ember::test {
namespace {

class FunctionTest : public DeviceTest {};

std::vector<float> values(const Tensor& t) { return t.to(Device::cpu()).to_vector<float>(); }

TEST_P(FunctionTest, TracesOncePerSignatureAndBakesPlainValues) {
  int traces = 0;
  auto add = function(
      [&](Tensor x, Tensor y) {
        ++traces;  // C++ side effects happen while tracing only
        return x + y;
      },
      {.name = "add", .arg_names = {"x", "y"}});
  Tensor a = constant({1.f, 2.f, 3.f}), b = constant({10.f, 20.f, 30.f});
  EXPECT_EQ(values(add(a, b)), (std::vector<float>{11, 22, 33}));
  EXPECT_EQ(values(add(b, a)), (std::vector<float>{11, 22, 33}));  // same shapes: replayed
  EXPECT_EQ(traces, 1);
  add(random::normal({2, 6}), random::normal({6}));  // new shapes: a second trace
  EXPECT_EQ(traces, 2);
  EXPECT_EQ(add(3, 5).item<int32_t>(), 8);  // plain values are baked in: one trace per value
  add(6, 9);
  add(3, 5);
  EXPECT_EQ(traces, 4);
  auto all = add.list_concrete_functions();
  ASSERT_EQ(all.size(), 4u);
  // The trace for (3, 5) takes no tensors and returns 8.
  EXPECT_EQ(all[2].call({})[0].item<int32_t>(), 8);
  EXPECT_EQ(all[2].structured_input_signature(), "((3, 5), {})");
  auto cf = add.get_concrete_function(TensorSpec({2, 6}, float32), TensorSpec({6}, float32));
  EXPECT_EQ(traces, 4);  // found, not traced again
  EXPECT_EQ(cf.structured_outputs(), "TensorSpec(shape=(2, 6), dtype=tf.float32, name=None)");
  auto several = function([](Tensor x) { return std::tuple{x, std::vector<Tensor>{x * 2.0f, reduce_sum(x)}}; });
  EXPECT_EQ(several.get_concrete_function(TensorSpec({3}, float64)).structured_outputs(),
            "(TensorSpec(shape=(3,), dtype=tf.float64, name=None), [TensorSpec(shape=(3,), "
            "dtype=tf.float64, name=None), TensorSpec(shape=(), dtype=tf.float64, name=None)])");
  // Results are rebuilt by that structure: a vector before a tensor keeps its count.
  auto mixed = function([](Tensor x) { return std::tuple{std::vector<Tensor>{x, x + 1.0f}, x * 3.0f}; });
  auto [pair, tripled] = mixed(constant(2.f));
  ASSERT_EQ(pair.size(), 2u);
  EXPECT_EQ(pair[1].item<float>(), 3.f);
  EXPECT_EQ(tripled.item<float>(), 6.f);
  // A map of tensors: flattened in key order, printed as Python prints a dict, rebuilt by key.
  auto named = function([](Tensor x) {
    return std::tuple{std::map<std::string, Tensor>{{"sum", reduce_sum(x)}, {"doubled", x * 2.0f}}, x};
  });
  EXPECT_EQ(named.get_concrete_function(TensorSpec({2}, float32)).structured_outputs(),
            "({'doubled': TensorSpec(shape=(2,), dtype=tf.float32, name=None), 'sum': TensorSpec(shape=(), "
            "dtype=tf.float32, name=None)}, TensorSpec(shape=(2,), dtype=tf.float32, name=None))");
  auto [by_name, same] = named(constant({1.f, 4.f}));
  EXPECT_EQ(by_name.at("sum").item<float>(), 5.f);
  EXPECT_EQ(by_name.at("doubled").to_vector<float>(), (std::vector<float>{2.f, 8.f}));
  EXPECT_EQ(same.to_vector<float>(), (std::vector<float>{1.f, 4.f}));
  auto quoted = function([](Tensor x) { return std::map<std::string, Tensor>{{"it's", x}}; });
  EXPECT_THROW(quoted(constant(1.f)), InvalidArgument);
  EXPECT_EQ(cf.structured_input_signature(),
            "((TensorSpec(shape=(2, 6), dtype=tf.float32, name='x'), "
            "TensorSpec(shape=(6,), dtype=tf.float32, name='y')), {})");
  // Calling a concrete function: tensors must fit, baked values must match.
  try {
    cf(zeros({2, 5}), zeros({6}));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "[add] argument 0: a float32 tensor of shape (2, 5) does not fit the traced "
                 "TensorSpec(shape=(2, 6), dtype=tf.float32, name='x')");
  }
  try {
    all[2](3, 6);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[add] argument 1 was traced with the value 5, not 6");
  }
}

TEST_P(FunctionTest, MostSpecificSupertypeInputSignatureAndReduceRetracing) {
  // The C++ code sees the traced shape: the first dimension is baked in,
  // -1 where the trace leaves it unknown, so results show which trace ran.
  int traces = 0;
  auto scaled = function([&](Tensor x) {
    ++traces;
    return x * static_cast<float>(x.shape().dim(0));
  });
  EXPECT_EQ(values(scaled(constant({1.f, 2.f, 3.f}))), (std::vector<float>{3, 6, 9}));
  scaled.get_concrete_function(TensorSpec({-1}, float32));
  EXPECT_EQ(traces, 2);
  // (3,) takes its exact trace, the most specific; (2,) the general (None,) one.
  EXPECT_EQ(values(scaled(constant({1.f, 2.f, 3.f}))), (std::vector<float>{3, 6, 9}));
  EXPECT_EQ(values(scaled(constant({1.f, 2.f}))), (std::vector<float>{-1, -2}));
  EXPECT_EQ(traces, 2);
  // get_concrete_function finds a covering trace too.
  scaled.get_concrete_function(TensorSpec({5}, float32));
  EXPECT_EQ(traces, 2);
  scaled(constant({{1.f}}));
  EXPECT_EQ(traces, 3);  // another rank

  auto sig = function([&](Tensor x) { return reduce_sum(x); },
                      {.name = "total", .input_signature = std::vector<TensorSpec>{TensorSpec({-1, 2}, float32)}});
  EXPECT_EQ(sig(ones({3, 2})).item<float>(), 6);
  EXPECT_EQ(sig(ones({5, 2})).item<float>(), 10);
  EXPECT_EQ(sig.list_concrete_functions().size(), 1u);
  try {
    sig(ones({3, 3}));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "[total] argument 0: a float32 tensor of shape (3, 3) is not compatible with the "
                 "input_signature's TensorSpec(shape=(None, 2), dtype=tf.float32, name=None)");
  }

  auto relaxed = function([](Tensor x) { return x + 1; }, {.reduce_retracing = true});
  relaxed(zeros({0}));
  relaxed(zeros({1}));
  relaxed(zeros({2}));
  auto traced = relaxed.list_concrete_functions();
  ASSERT_EQ(traced.size(), 2u);
  EXPECT_EQ(traced[0].input_specs()[0].shape, TensorShape({0}));
  EXPECT_EQ(traced[1].input_specs()[0].shape, TensorShape({-1}));
}

TEST_P(FunctionTest, FrequentRetracingWarnsTwiceAtMost) {
  auto f = function([](Tensor x, int n) { return x * static_cast<float>(n); }, {.name = "scale"});
  ::testing::internal::CaptureStderr();
  for (int n = 0; n < 4; ++n) f(constant(1.f), n);
  std::string after_four = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(after_four, "");
  ::testing::internal::CaptureStderr();
  for (int n = 4; n < 20; ++n) f(constant(1.f), n);  // every call traces
  std::string log = ::testing::internal::GetCapturedStderr();
  // TensorFlow 2.21 for the same calls: "5 out of the last 5", "6 out of the last 6", then no more.
  size_t first = log.find("5 out of the last 5 calls to scale triggered tf.function retracing.");
  ASSERT_NE(first, std::string::npos) << log;
  size_t second = log.find("6 out of the last 6 calls to scale triggered tf.function retracing.", first + 1);
  EXPECT_NE(second, std::string::npos) << log;
  size_t warnings = 0;
  for (size_t at = log.find("triggered tf.function retracing"); at != std::string::npos;
       at = log.find("triggered tf.function retracing", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 2u) << log;  // not a third time
  // A call that found its trace is counted too (TensorFlow: "5 out of the last 6").
  auto mixed = function([](Tensor x, int n) { return x * static_cast<float>(n); }, {.name = "mixed"});
  ::testing::internal::CaptureStderr();
  for (int n : {0, 1, 1, 2, 3, 4, 5, 6, 7}) mixed(constant(1.f), n);
  std::string mixed_log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(mixed_log.find("5 out of the last 6 calls to mixed"), std::string::npos) << mixed_log;
  EXPECT_NE(mixed_log.find("6 out of the last 7 calls to mixed"), std::string::npos) << mixed_log;
  // get_concrete_function does not count.
  auto g = function([](Tensor x, int n) { return x * static_cast<float>(n); }, {.name = "quiet"});
  ::testing::internal::CaptureStderr();
  for (int n = 0; n < 8; ++n) g.get_concrete_function(TensorSpec({}, float32), n);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// tf.Variable(x) from the function's argument on the first call: TensorFlow
// cannot lift the initializer and initialises the variable inside that call.
// TensorFlow 2.21 gives [3, 6], then [4, 7], with two traces; a TensorSpec
// trace (get_concrete_function) is its UnliftableError.
TEST_P(FunctionTest, AVariableMadeFromTheArgumentOnTheFirstCall) {
  Variable v;
  auto f = function([&](Tensor x) {
    if (!v.defined()) v = Variable(x * 2.0f);
    v.assign_add(x);
    return v.read_value();
  });
  EXPECT_EQ(values(f(constant({1.f, 2.f}))), (std::vector<float>{3, 6}));
  EXPECT_EQ(values(f(constant({1.f, 1.f}))), (std::vector<float>{4, 7}));
  EXPECT_EQ(f.tracing_count(), 2);
  EXPECT_EQ(values(v.read_value()), (std::vector<float>{4, 7}));
  auto g = function([](Tensor x) { return Variable(x).read_value(); });
  std::string why = error_of<FailedPrecondition>([&] { g.get_concrete_function(TensorSpec({2}, float32)); });
  EXPECT_NE(why.find("Unable to lift tensor because it depends transitively on placeholder 'args_0'"),
            std::string::npos)
      << why;
}

TEST_P(FunctionTest, VariablesAreCreatedOnTheFirstTraceOnly) {
  Variable v;
  auto build_once = function([&](Tensor x) {
    if (!v.defined()) v = Variable(random::normal({3}) * 0.0f + 2.0f, {.name = "w"});
    return x * v;
  });
  EXPECT_EQ(values(build_once(constant({1.f, 2.f, 3.f}))), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ(build_once.tracing_count(), 2);  // traced again without creating
  EXPECT_TRUE(v.defined());
  EXPECT_EQ(values(v.read_value()), (std::vector<float>{2, 2, 2}));
  v.assign(constant({1.f, 1.f, 1.f}));  // read at every call
  EXPECT_EQ(values(build_once(constant({1.f, 2.f, 3.f}))), (std::vector<float>{1, 2, 3}));
  auto vars = build_once.list_concrete_functions()[0].variables();
  ASSERT_EQ(vars.size(), 1u);
  EXPECT_EQ(vars[0], v);

  auto every_time = function([](Tensor x) {
    Variable w(constant(1.f));
    return x + w;
  });
  try {
    every_time(constant(1.f));
    FAIL();
  } catch (const FailedPrecondition& e) {
    EXPECT_STREQ(e.what(),
                 "tf.function only supports singleton tf.Variables created on the first call. Make "
                 "sure the tf.Variable is only created once or created outside tf.function.");
  }
  // A later trace (another shape) that creates one.
  auto later = function([](Tensor x) {
    if (x.rank() == 2) Variable w(constant(1.f));
    return x;
  });
  later(constant(1.f));
  try {
    later(ones({2, 2}));
    FAIL();
  } catch (const FailedPrecondition& e) {
    EXPECT_STREQ(e.what(), "Creating variables on a non-first call to a function decorated with tf.function.");
  }
  // A variable made at every trace, from an argument or not, is refused by the
  // second trace (TensorFlow's ValueError of the same text).
  auto from_argument = function([](Tensor x) {
    Variable w(x * 2.0f);
    return x;
  });
  EXPECT_THROW(from_argument(constant(1.f)), FailedPrecondition);
}

TEST_P(FunctionTest, VariableArgumentsKeyOnKindAndAliasing) {
  int traces = 0;
  auto f = function([&](Variable a, Variable b) {
    ++traces;
    a.assign_add(constant({1.f, 1.f}));
    return a.read_value() + b.read_value();
  });
  Variable v1(constant({1.f, 2.f})), v2(constant({10.f, 20.f})), v3(constant({100.f, 200.f}));
  EXPECT_EQ(values(f(v1, v2)), (std::vector<float>{12, 23}));
  EXPECT_EQ(values(f(v3, v2)), (std::vector<float>{111, 221}));  // another variable, same kind: reused
  EXPECT_EQ(traces, 1);
  EXPECT_EQ(values(v3.read_value()), (std::vector<float>{101, 201}));  // the argument's variable was assigned
  EXPECT_EQ(values(f(v1, v1)), (std::vector<float>{6, 8}));  // aliased: its own trace, reads after the add
  EXPECT_EQ(traces, 2);
  Variable other_shape(constant({1.f, 2.f, 3.f}));
  EXPECT_THROW(f(other_shape, other_shape), InvalidArgument);  // the add's shape no longer fits
}

// Calls from several threads share the cache and each run is independent.
TEST_P(FunctionTest, ConcurrentCallsShareOneTrace) {
  auto f = function([](Tensor x) { return tanh(x * 2.0f) + x; });
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      DeviceScope scope(GetParam());
      for (int i = 0; i < 50; ++i) {
        float v = static_cast<float>(t * 100 + i) / 1000;
        float got = f(constant(v)).item<float>();
        if (std::abs(got - (std::tanh(v * 2) + v)) > 1e-6f) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(f.list_concrete_functions().size(), 1u);
}

TEST_P(FunctionTest, AssignmentsRunInOrderAtEveryCallEvenWhenUnused) {
  Variable counter(constant(0.f));
  auto step = function([&](Tensor x) {
    counter.assign_add(x);       // result unused: runs anyway
    counter.assign(counter * 2.0f);  // after the add, in program order
    return constant(0.f);
  });
  step(constant(1.f));
  EXPECT_EQ(counter.read_value().item<float>(), 2.f);
  // Two reads with an assignment between them are two values.
  auto read_twice = function([&] {
    Tensor before = counter.read_value();
    counter.assign_add(constant(10.f));
    Tensor after = counter.read_value();
    return std::vector<Tensor>{before, after};
  });
  auto seen = read_twice();
  EXPECT_EQ(seen[1].item<float>() - seen[0].item<float>(), 10.f);
  counter.assign(constant(2.f));
  step(constant(1.f));
  EXPECT_EQ(counter.read_value().item<float>(), 6.f);
  // The stateful nodes are chained by control edges.
  const Graph& g = step.list_concrete_functions()[0].graph();
  std::string text = g.to_string();
  EXPECT_NE(text.find("AssignVariableOp = AssignVariableOp(capture, Mul, ^AssignAddVariableOp)"), std::string::npos)
      << text;
}

TEST_P(FunctionTest, RandomOpsDrawFreshNumbersAtEveryCall) {
  random::set_seed(7);
  auto draw = function([] { return random::uniform({4}); });
  Tensor a = draw(), b = draw();
  EXPECT_NE(values(a), values(b));
  // The same seed gives the same sequence of calls again.
  random::set_seed(7);
  auto again = function([] { return random::uniform({4}); });
  EXPECT_EQ(values(again()), values(a));
  EXPECT_EQ(values(again()), values(b));
}

TEST_P(FunctionTest, SmallConstantsByValueLargeTensorsAndVariablesByReference) {
  Tensor small = constant({1.f, 2.f});
  Tensor large = ones({1000});
  Variable v(constant(3.f));
  auto f = function([&](Tensor x) { return reduce_sum(x * small) + reduce_sum(large) + v; });
  EXPECT_EQ(f(constant({1.f, 1.f})).item<float>(), 1006.f);
  auto cf = f.list_concrete_functions()[0];
  auto captured = cf.captured_inputs();
  ASSERT_EQ(captured.size(), 2u);  // the large tensor and the variable's handle, not the small constant
  EXPECT_EQ(captured[0].num_elements() + captured[1].num_elements(), 1001);
  EXPECT_EQ(cf.variables().size(), 1u);
}

TEST_P(FunctionTest, ErrorsNameTheNodeAndTheCacheStaysClean) {
  auto mm = function([](Tensor x, Tensor w) { return matmul(x, w); }, {.name = "mm"});
  auto cf = mm.get_concrete_function(TensorSpec({-1, -1}, float32), TensorSpec({3, 4}, float32));
  try {
    cf(ones({2, 5}), ones({3, 4}));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("[function] node 'MatMul' (MatMul): [matmul]"), std::string::npos)
        << e.what();
  }
  int calls = 0;
  auto flaky = function([&](Tensor x) {
    if (++calls == 1) throw InvalidArgument("first trace fails");
    return x;
  });
  EXPECT_THROW(flaky(constant(1.f)), InvalidArgument);
  EXPECT_EQ(flaky.list_concrete_functions().size(), 0u);
  EXPECT_EQ(flaky(constant(1.f)).item<float>(), 1.f);  // traced again
  // A symbolic tensor that escapes its trace cannot run.
  Tensor escaped;
  auto leak = function([&](Tensor x) {
    escaped = x * 2.0f;
    return x;
  });
  leak(constant(1.f));
  EXPECT_THROW(escaped + 1.0f, InvalidArgument);
}

// After the first call the intermediates live in reused arena buffers: the
// results must still equal the eager ones, call after call, and a returned
// tensor must not change when the function runs again.
TEST_P(FunctionTest, ArenaRunsMatchEagerAndResultsStayPut) {
  auto body = [](Tensor x, Tensor w) {
    Tensor h = relu(matmul(x, w) + 0.5f);
    Tensor g = tanh(h) * h - exp(-h);
    Tensor r = reshape(g, {-1});  // a view of an intermediate
    return std::vector<Tensor>{reduce_sum(g, {1}), r * 2.0f, softmax(g)};
  };
  auto f = function(body);
  Tensor w = random::normal({3, 4});
  std::vector<std::vector<Tensor>> kept;
  for (int call = 0; call < 4; ++call) {
    Tensor x = random::normal({5, 3});
    std::vector<Tensor> traced = f(x, w), eager = body(x, w);
    ASSERT_EQ(traced.size(), eager.size());
    for (size_t i = 0; i < traced.size(); ++i) {
      auto a = values(traced[i]), b = values(eager[i]);
      ASSERT_EQ(a.size(), b.size());
      for (size_t j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], b[j], 1e-6) << call << " " << i << " " << j;
    }
    kept.push_back({traced[0].clone(), traced[0]});
  }
  for (const auto& k : kept) EXPECT_EQ(values(k[0]), values(k[1]));
  EXPECT_EQ(f.list_concrete_functions().size(), 1u);
}

TEST_P(FunctionTest, GradientsThroughCallsAndNestedFunctions) {
  auto cube = function([](Tensor x) { return x * x * x; });
  auto outer = function([&](Tensor x) { return cube(x) + x; });  // a function calling a function
  Tensor x = constant({1.0, 2.0, -3.0}, float64);
  GradientTape outer_tape;
  outer_tape.watch(x);
  Tensor dy;
  {
    GradientTape tape;
    tape.watch(x);
    Tensor y = reduce_sum(outer(x));
    dy = tape.gradient(y, x);
  }
  Tensor d2y = outer_tape.gradient(reduce_sum(dy), x);
  std::vector<double> xs{1, 2, -3};
  auto g1 = dy.to(Device::cpu()).to_vector<double>(), g2 = d2y.to(Device::cpu()).to_vector<double>();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(g1[i], 3 * xs[i] * xs[i] + 1);  // d/dx (x^3 + x)
    EXPECT_DOUBLE_EQ(g2[i], 6 * xs[i]);
  }
}

std::vector<double> doubles(const Tensor& t) { return t.to(Device::cpu()).to_vector<double>(); }

// loss = Σ (tanh(x w) · Σx + v)², x [2, 3], w [3, 2], v [2], in plain float64 C++.
double dense_loss(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& v) {
  double sum_x = 0, loss = 0;
  for (double e : x) sum_x += e;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      double xw = 0;
      for (int k = 0; k < 3; ++k) xw += x[i * 3 + k] * w[k * 2 + j];
      double y = std::tanh(xw) * sum_x + v[j];
      loss += y * y;
    }
  return loss;
}

TEST_P(FunctionTest, ACallUnderATapeIsOneOpWithATracedBackward) {
  // tanh(x w) · Σx + v: an argument, variables captured by reference, and a
  // nonlinearity whose gradient reads a forward value (kept as an extra
  // output of the recorded call).
  std::vector<double> x0{0.3, -0.6, 0.9, 1.2, 0.4, -0.8}, w0{0.5, -1.0, 2.0, 0.25, -0.75, 1.5}, v0{0.1, -0.2};
  Variable w(constant(w0, {3, 2}), {.name = "w"});
  Variable v(constant(v0), {.name = "v"});
  auto f = function([&](Tensor x) { return tanh(matmul(x, w.read_value())) * reduce_sum(x) + v.read_value(); });
  Tensor x = constant(x0, {2, 3});
  GradientTape tape;
  tape.watch(x);
  Tensor y = f(x);
  EXPECT_EQ(tape.num_recorded(), 1u);  // the call, not its ops
  auto grads = tape.gradient(reduce_sum(y * y), std::vector<Source>{x, w, v});
  // Against central differences of the same loss in plain C++.
  std::vector<std::vector<double>*> params{&x0, &w0, &v0};
  for (size_t p = 0; p < 3; ++p) {
    ASSERT_TRUE(grads[p].defined()) << p;
    auto got = doubles(grads[p]);
    ASSERT_EQ(got.size(), params[p]->size());
    for (size_t k = 0; k < got.size(); ++k) {
      const double h = 1e-6, keep = (*params[p])[k];
      (*params[p])[k] = keep + h;
      double up = dense_loss(x0, w0, v0);
      (*params[p])[k] = keep - h;
      double down = dense_loss(x0, w0, v0);
      (*params[p])[k] = keep;
      EXPECT_NEAR(got[k], (up - down) / (2 * h), 1e-7) << p << "," << k;
    }
  }
  // A tape that watches nothing the function reads records nothing.
  Variable frozen(constant(1.0, float64), {.trainable = false});
  auto g = function([&](Tensor z) { return z * frozen.read_value(); });
  GradientTape idle;
  g(constant(2.0, float64));
  EXPECT_EQ(idle.num_recorded(), 0u);
}

TEST_P(FunctionTest, SecondDerivativesAndJacobiansThroughARecordedCall) {
  // sin(x) * x^2: the backward reads cos(x) and x^2 from the forward; a
  // gradient of the gradient reaches those saved values.
  auto f = function([](Tensor x) { return sin(x) * x * x; });
  std::vector<double> xs{0.5, -1.25, 2.0};
  Tensor x = constant(xs);
  GradientTape outer({.persistent = true});
  outer.watch(x);
  Tensor dy;
  {
    GradientTape inner;
    inner.watch(x);
    dy = inner.gradient(reduce_sum(f(x)), x);
  }
  Tensor d2y = outer.gradient(reduce_sum(dy), x);
  Tensor jac = outer.jacobian(dy, x);
  auto g1 = doubles(dy), g2 = doubles(d2y), j = doubles(jac);
  for (size_t i = 0; i < 3; ++i) {
    double s = std::sin(xs[i]), c = std::cos(xs[i]), t = xs[i];
    EXPECT_NEAR(g1[i], c * t * t + 2 * t * s, 1e-12);
    EXPECT_NEAR(g2[i], -s * t * t + 4 * t * c + 2 * s, 1e-12);
    for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(j[i * 3 + k], i == k ? g2[i] : 0.0, 1e-12);
  }
}

TEST_P(FunctionTest, RecordedCallsReturnDistinctTensors) {
  // Returning an argument, and one tensor twice: each output is its own
  // tensor, so their gradients add up instead of colliding.
  auto f = function([](Tensor x) {
    Tensor y = x * 2.0;
    return std::make_tuple(x, y, y, cast(x, int32));
  });
  Tensor x = constant({1.0, 2.0}, float64);
  GradientTape tape;
  tape.watch(x);
  auto [a, b, c, n] = f(x);
  EXPECT_NE(a.id(), x.id());
  EXPECT_NE(b.id(), c.id());
  Tensor g = tape.gradient(reduce_sum(a) + reduce_sum(b) + reduce_sum(c) * 3.0, x);
  EXPECT_EQ(doubles(g), (std::vector<double>{9.0, 9.0}));  // 1 + 2 + 3 * 2
  EXPECT_EQ(n.dtype(), int32);
}

TEST_P(FunctionTest, RecordedAndPlainCallsShareRandomStreams) {
  // A call under a tape runs another plan (with saved values), which must
  // continue the same random streams: calls alternate and never repeat.
  Tensor x = constant({1.f, 1.f, 1.f});
  random::set_seed(11);
  auto f = function([](Tensor z) { return z * random::uniform({3}); });
  std::vector<std::vector<float>> mixed;
  mixed.push_back(values(f(x)));
  {
    GradientTape tape;
    tape.watch(x);
    Tensor y = f(x);
    EXPECT_EQ(tape.num_recorded(), 1u);
    mixed.push_back(values(y));
    EXPECT_EQ(values(tape.gradient(reduce_sum(y), x)), mixed.back());  // d(x r)/dx = r, the same draw
  }
  mixed.push_back(values(f(x)));
  random::set_seed(11);
  auto again = function([](Tensor z) { return z * random::uniform({3}); });
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(values(again(x)), mixed[i]) << i;
  // A second derivative would run the random op again: refused, clearly.
  GradientTape outer;
  outer.watch(x);
  Tensor dy;
  {
    GradientTape inner;
    inner.watch(x);
    Tensor y = f(x * x);
    dy = inner.gradient(reduce_sum(y), x);
  }
  try {
    outer.gradient(reduce_sum(dy), x);
    // The first-order backward of x*r reads r (a saved value): reaching it needs the second.
    ADD_FAILURE() << "expected Unimplemented";
  } catch (const Unimplemented& e) {
    EXPECT_NE(std::string(e.what()).find("RandomUniform"), std::string::npos) << e.what();
  }
}

TEST_P(FunctionTest, CallsReplayAsACudaGraphOnAGpu) {
  random::set_seed(5);
  Variable w(random::normal({8, 8}));
  auto f = function([&](Tensor x) { return relu(matmul(x, w.read_value())) + 1.f; });
  for (int i = 0; i < 6; ++i) {
    Tensor x = random::normal({4, 8});
    auto got = values(f(x)), want = values(relu(matmul(x, w.read_value())) + 1.f);
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-5) << i;
  }
  ExecutorStats stats = f.list_concrete_functions()[0].run_stats();
  EXPECT_TRUE(stats.cuda_graph_eligible);
  EXPECT_EQ(stats.plain, 1);  // the first call; then the arena is built
  if (device().is_cpu()) {
    EXPECT_EQ(stats.arena, 5);
    EXPECT_EQ(stats.captures + stats.replays, 0);
  } else {
    EXPECT_EQ(stats.captures, 1);  // the second call
    EXPECT_EQ(stats.replays, 4);
  }
}

TEST_P(FunctionTest, ACudaGraphIsCapturedAgainWhenAVariableMoves) {
  Variable v(constant({1.f, 2.f, 3.f}));
  auto step = function([&](Tensor x) {
    v.assign_add(x);
    return v.read_value() * 2.f;
  });
  Tensor one = ones({3});
  auto expect_step = [&](float first) {
    EXPECT_EQ(values(step(one)), (std::vector<float>{2 * first, 2 * (first + 1), 2 * (first + 2)}));
  };
  expect_step(2);  // plain, then the arena is built
  expect_step(3);  // captured (on a GPU)
  expect_step(4);  // replayed
  Tensor held = v.read_value();  // holds the buffer: the next write copies it
  expect_step(5);
  EXPECT_EQ(values(held), (std::vector<float>{4, 5, 6}));  // a value read earlier never changes
  held = Tensor();
  expect_step(6);  // the variable moved: the graph is dropped
  expect_step(7);  // captured again
  expect_step(8);  // replayed
  ExecutorStats stats = step.list_concrete_functions()[0].run_stats();
  EXPECT_TRUE(stats.cuda_graph_eligible);
  if (device().is_cuda()) {
    EXPECT_EQ(stats.captures, 2);
    EXPECT_EQ(stats.replays, 2);
  }
}

TEST_P(FunctionTest, WhichGraphsQualifyForCudaGraphReplay) {
  Variable v(constant({1.f, 2.f}));
  auto eligible = [](auto& f) { return f.get_concrete_function(TensorSpec({2})).run_stats().cuda_graph_eligible; };
  auto read_then_write = function([&](Tensor x) {
    Tensor y = v.read_value() * 2.f;  // the read is dead before the write: in place
    v.assign(x);
    return y;
  });
  auto read_alive_at_write = function([&](Tensor x) {
    Tensor r = v.read_value();  // returned: alive when the variable is written
    v.assign(x);
    return r;
  });
  auto draws = function([](Tensor x) { return x + random::uniform({2}); });
  auto prints = function([](Tensor x) {
    print({x});
    return x;
  });
  auto no_graphs = function([](Tensor x) { return x * 2.f; }, {.cuda_graphs = false});
  EXPECT_TRUE(eligible(read_then_write));
  EXPECT_FALSE(eligible(read_alive_at_write));
  EXPECT_FALSE(eligible(draws));
  EXPECT_FALSE(eligible(prints));
  EXPECT_FALSE(eligible(no_graphs));
  // Both still compute what they should.
  EXPECT_EQ(values(read_alive_at_write(constant({5.f, 6.f}))), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(values(read_then_write(constant({7.f, 8.f}))), (std::vector<float>{10.f, 12.f}));
}

TEST_P(FunctionTest, AWholeTrainingStepTracesIntoOneFunction) {
  // The same model trained eagerly and traced gives the same variables.
  auto run = [](bool traced) {
    random::set_seed(3);
    auto model = std::make_shared<layers::Dense>(4, layers::DenseOptions{.activation = "relu"});
    auto head = std::make_shared<layers::Dense>(2);
    auto opt = std::make_shared<optimizers::Adam>(0.01);
    losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
    auto step = [&](Tensor x, Tensor y) {
      GradientTape tape;
      Tensor loss = loss_fn(y, (*head)((*model)(x)));
      std::vector<Variable> vars = model->trainable_variables();
      for (const Variable& v : head->trainable_variables()) vars.push_back(v);
      opt->apply(tape.gradient(loss, vars), vars);
      return loss;
    };
    auto traced_step = function(step);
    Tensor x = random::normal({8, 3}), y = constant({0, 1, 1, 0, 1, 0, 0, 1});
    std::vector<float> losses;
    for (int i = 0; i < 5; ++i) losses.push_back((traced ? traced_step(x, y) : step(x, y)).item<float>());
    if (traced) {
      EXPECT_EQ(traced_step.list_concrete_functions().size(), 1u);
    }
    losses.push_back(values(model->kernel.read_value())[0]);
    return losses;
  };
  std::vector<float> eager = run(false), traced = run(true);
  ASSERT_EQ(eager.size(), traced.size());
  for (size_t i = 0; i < eager.size(); ++i) EXPECT_NEAR(eager[i], traced[i], 1e-5) << i;
  EXPECT_LT(eager[4], eager[0]);  // it learns
}

TEST_P(FunctionTest, ACallOfShapesTheTraceLeftUnknownIsCheckedAsItRuns) {
  // A trace for (None,) inferred these ops' outputs from what it knew; a
  // [2] input must be refused as eagerly, never sliced past its end, added
  // to a [3] or reshaped out of bounds.
  auto sig = FunctionOptions{.input_signature = std::vector<TensorSpec>{TensorSpec({-1})}};
  Tensor x = constant({1.f, 2.f});
  auto sliced = function([](Tensor t) { return slice(t, {0}, {4}); }, sig);
  auto added = function([](Tensor t) { return t + constant({10.f, 20.f, 30.f}); }, sig);
  auto reshaped = function([](Tensor t) { return reshape(t, {1000, 1000}); }, sig);
  EXPECT_NE(error_of<InvalidArgument>([&] { sliced(x); }).find("[slice] slice [0, 4) of dimension 0 is out of range [0, 2]"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { added(x); }).find("[add] incompatible shapes for broadcasting: [2] vs [3]"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { reshaped(x); }).find("cannot reshape a tensor of 2 elements"),
            std::string::npos);
  // Inputs of the traced length still run, again and again (the arena's way too).
  for (int i = 0; i < 3; ++i) EXPECT_EQ(values(added(constant({1.f, 2.f, 3.f}))), (std::vector<float>{11, 22, 33}));
}

TEST_P(FunctionTest, TracesOfUnknownRankResolveAxesWhenTheyRun) {
  // TensorSpec() (unknown rank), or reduce_retracing across ranks: "all
  // axes", "reverse the axes" and negative axes are the actual rank's, as
  // TensorFlow computes them then (range(rank(x))). Each against eager ember.
  const TensorShape shapes[] = {{2, 3}, {2, 2, 2}, {5}};
  auto check = [&](const char* what, auto fn) {
    SCOPED_TRACE(what);
    auto traced = function(fn, {.input_signature = std::vector<TensorSpec>{TensorSpec()}});
    for (const TensorShape& s : shapes) {
      Tensor x = make(iota_values(s.num_elements(), -2.5), s, float32);
      Tensor want = fn(x), got = traced(x);
      EXPECT_EQ(got.shape(), want.shape()) << s.to_string();
      EXPECT_EQ(got.dtype(), want.dtype());
      if (got.shape() == want.shape() && got.dtype() == float32) {
        EXPECT_EQ(values(got), values(want)) << s.to_string();
      }
      if (got.shape() == want.shape() && got.dtype() == int64) {
        EXPECT_EQ(got.to(Device::cpu()).to_vector<int64_t>(), want.to(Device::cpu()).to_vector<int64_t>());
      }
    }
    EXPECT_EQ(traced.list_concrete_functions().size(), 1u);
  };
  check("reduce_sum", [](Tensor x) { return reduce_sum(x); });
  check("reduce_sum keepdims", [](Tensor x) { return reduce_sum(x, std::nullopt, true); });
  check("reduce_mean", [](Tensor x) { return reduce_mean(x); });
  check("reduce_max", [](Tensor x) { return reduce_max(x); });
  check("reduce_min keepdims", [](Tensor x) { return reduce_min(x, std::nullopt, true); });
  check("reduce_prod", [](Tensor x) { return reduce_prod(x * 0.5f); });
  check("reduce_all", [](Tensor x) { return cast(reduce_all(greater(x, constant(-3.f))), float32); });
  check("reduce_logsumexp", [](Tensor x) { return reduce_logsumexp(x); });
  check("reduce_logsumexp keepdims", [](Tensor x) { return reduce_logsumexp(x, std::nullopt, true); });
  check("transpose", [](Tensor x) { return transpose(x); });
  check("expand_dims", [](Tensor x) { return expand_dims(x, -1); });
  check("stack", [](Tensor x) { return stack({x, x}, 0); });
  check("softmax", [](Tensor x) { return softmax(x); });
  check("argmax", [](Tensor x) { return argmax(x, -1); });
  check("concat", [](Tensor x) { return concat({x, x}, -1); });
  // matmul needs rank >= 2: both ranks of matrices and batches of them.
  auto mm = function([](Tensor x) { return matmul(x, x, false, true); },
                     {.input_signature = std::vector<TensorSpec>{TensorSpec()}});
  for (const TensorShape& s : {TensorShape{2, 3}, TensorShape{2, 2, 2}}) {
    Tensor x = make(iota_values(s.num_elements()), s, float32);
    EXPECT_EQ(values(mm(x)), values(matmul(x, x, false, true)));
  }
  EXPECT_THROW(mm(constant({1.f, 2.f})), InvalidArgument);
  // reduce_retracing over calls of rank 1, 1, 2: the general trace is of unknown rank.
  auto total = function([](Tensor x) { return reduce_sum(x); }, {.reduce_retracing = true});
  EXPECT_EQ(total(constant({1.f})).item<float>(), 1.f);
  EXPECT_EQ(total(constant({1.f, 2.f})).item<float>(), 3.f);
  Tensor four = total(ones({2, 2}));
  EXPECT_EQ(four.shape(), TensorShape{});
  EXPECT_EQ(four.to(Device::cpu()).item<float>(), 4.f);
}

TEST_P(FunctionTest, RecursionTracesWhenItEndsAndIsRefusedWhenItDoesNot) {
  // A baked counter that ends the recursion: each level is a trace of its own,
  // inlined into the one above (TensorFlow traces the finite case).
  std::function<Tensor(Tensor, int)> body;
  auto power = function([&](Tensor x, int n) { return body(x, n); }, {.name = "power"});
  body = [&](Tensor x, int n) { return n == 0 ? ones_like(x) : x * power(x, n - 1); };
  EXPECT_EQ(values(power(constant({2.f, 3.f}), 4)), (std::vector<float>{16, 81}));
  EXPECT_EQ(power.list_concrete_functions().size(), 5u);
  // The same arguments again, directly or through another function: no end.
  std::function<Tensor(Tensor)> again;
  auto forever = function([&](Tensor x) { return again(x); }, {.name = "forever"});
  auto via = function([&](Tensor x) { return forever(x) + 1.f; }, {.name = "via"});
  again = [&](Tensor x) { return via(x * 2.f); };
  EXPECT_NE(error_of<InvalidArgument>([&] { forever(constant(1.f)); })
                .find("the function calls itself with the arguments it is being traced for"),
            std::string::npos);
  EXPECT_TRUE(forever.list_concrete_functions().empty());  // nothing half-made is kept
  // A counter that never ends it: refused at a depth, not a crash.
  std::function<Tensor(Tensor, int)> up;
  auto climb = function([&](Tensor x, int n) { return up(x, n); }, {.name = "climb"});
  up = [&](Tensor x, int n) { return climb(x, n + 1); };
  EXPECT_NE(error_of<InvalidArgument>([&] { climb(constant(1.f), 0); }).find("traces deep"), std::string::npos);
  // Asking a function about itself from its own trace does not deadlock.
  size_t seen = 99;
  std::function<void()> ask;
  auto curious = function([&](Tensor x) {
    ask();
    return x;
  });
  ask = [&] { seen = curious.list_concrete_functions().size(); };
  curious(constant(1.f));
  EXPECT_EQ(seen, 0u);
  EXPECT_EQ(curious.tracing_count(), 1);
}

TEST_P(FunctionTest, ANanBakedArgumentMatchesItsTrace) {
  auto scale = function([](Tensor x, double s) { return x * static_cast<float>(s); });
  Tensor once = scale(constant(1.f), std::nan(""));
  Tensor twice = scale(constant(2.f), std::nan(""));
  EXPECT_TRUE(std::isnan(once.to(Device::cpu()).item<float>()));
  EXPECT_TRUE(std::isnan(twice.to(Device::cpu()).item<float>()));
  EXPECT_EQ(scale.list_concrete_functions().size(), 1u);
  scale(constant(1.f), 0.0);
  scale(constant(1.f), -0.0);  // equal to 0.0, as in Python
  EXPECT_EQ(scale.list_concrete_functions().size(), 2u);
}

TEST_P(FunctionTest, ManyTracesKeepLookupFastAndFewBuffers) {
  // Each baked value is a trace; a call finds its own by hash, whatever
  // the count, and only the most recently used traces keep their buffers.
  auto f = function([](Tensor x, int k) { return x * static_cast<float>(k) + 1.f; });
  Tensor x = ones({64});
  for (int k = 0; k < 2000; ++k) f(x, k);
  EXPECT_EQ(f.list_concrete_functions().size(), 2000u);
  for (int k = 1990; k < 2000; ++k) EXPECT_EQ(values(f(x, k))[0], static_cast<float>(k) + 1.f);
  EXPECT_EQ(values(f(x, 3))[0], 4.f);  // a cold trace runs again (and builds its buffers again)
  EXPECT_EQ(values(f(x, 3))[0], 4.f);
  auto all = f.list_concrete_functions();
  EXPECT_GT(all[3].run_stats().arena, 0);
}

EMBER_INSTANTIATE_DEVICE_TESTS(FunctionTest);

// ---- the passes, each shown on a graph before and after ------------------------------------

Graph trace_graph(const std::function<Tensor(Tensor)>& body) {
  auto f = function([&](Tensor x) { return body(x); }, {.arg_names = {"x"}, .optimize = false});
  return f.get_concrete_function(TensorSpec({2}, float32)).graph();
}

TEST(GraphPasses, RemoveIdentities) {
  Graph g = trace_graph([](Tensor x) { return identity(identity(x)) + 1.0f; });
  EXPECT_EQ(g.to_string(),
            "x = Placeholder -> float32 (2,)\n"
            "Identity = Identity(x) -> float32 (2,)\n"
            "Identity_1 = Identity(Identity) -> float32 (2,)\n"
            "Const = Const 1.0 -> float32 ()\n"
            "AddV2 = AddV2(Identity_1, Const) -> float32 (2,)\n"
            "return AddV2\n");
  passes::remove_identities(g);
  EXPECT_EQ(g.to_string(),
            "x = Placeholder -> float32 (2,)\n"
            "Const = Const 1.0 -> float32 ()\n"
            "AddV2 = AddV2(x, Const) -> float32 (2,)\n"
            "return AddV2\n");
}

TEST(GraphPasses, FoldConstants) {
  Graph g = trace_graph([](Tensor x) { return x * (constant(2.f) + constant(3.f)); });
  passes::fold_constants(g);
  passes::remove_dead_nodes(g);
  EXPECT_EQ(g.to_string(),
            "x = Placeholder -> float32 (2,)\n"
            "AddV2 = Const 5.0 -> float32 ()\n"
            "Mul = Mul(x, AddV2) -> float32 (2,)\n"
            "return Mul\n");
}

TEST(GraphPasses, EliminateCommonSubexpressions) {
  Graph g = trace_graph([](Tensor x) {
    Tensor a = exp(x), b = exp(x);
    return a + b;
  });
  EXPECT_EQ(g.to_string(),
            "x = Placeholder -> float32 (2,)\n"
            "Exp = Exp(x) -> float32 (2,)\n"
            "Exp_1 = Exp(x) -> float32 (2,)\n"
            "AddV2 = AddV2(Exp, Exp_1) -> float32 (2,)\n"
            "return AddV2\n");
  passes::eliminate_common_subexpressions(g);
  EXPECT_EQ(g.to_string(),
            "x = Placeholder -> float32 (2,)\n"
            "Exp = Exp(x) -> float32 (2,)\n"
            "AddV2 = AddV2(Exp, Exp) -> float32 (2,)\n"
            "return AddV2\n");
}

TEST(GraphPasses, CommonSubexpressionsKeyAttributesBitExactly) {
  // Two alphas equal to six digits are still two ops (printed, they were
  // one key and the difference came out 0).
  // 0.1015625: float32 arithmetic (NumPy: float32(-1e6)*float32(a) for each
  // alpha, subtracted), and TensorFlow's value.
  auto body = [](Tensor x) { return leaky_relu(x, 0.1000001) - leaky_relu(x, 0.1000002); };
  Tensor x = constant({-1.0e6f});
  EXPECT_EQ(body(x).item<float>(), 0.1015625f);
  auto f = function(body);
  EXPECT_EQ(f(x).item<float>(), 0.1015625f);
}

TEST(GraphPasses, AFoldThatFailsLeavesTheNodeToFailWhenItRuns) {
  // The untaken branch gathers out of range from constants: folding it at
  // trace time must not fail the trace (TensorFlow runs the function).
  auto f = function([](Tensor pred, Tensor x) {
    return cond(
        pred, [] { return gather(constant({1.f, 2.f}), constant(std::vector<int32_t>{5})); }, [&] { return x; });
  });
  EXPECT_EQ(f(constant(false), constant({7.f})).to_vector<float>(), std::vector<float>{7.f});
  EXPECT_THROW(f(constant(true), constant({7.f})), InvalidArgument);
}

TEST(GraphPasses, RemoveDeadNodesKeepsStatefulOnes) {
  Variable v(constant(0.f));
  Graph g = trace_graph([&](Tensor x) {
    Tensor unused = exp(x);
    v.assign_add(constant(1.f));
    return x * 2.0f;
  });
  passes::remove_dead_nodes(g);
  EXPECT_EQ(g.to_string().find("Exp"), std::string::npos) << g.to_string();
  EXPECT_NE(g.to_string().find("AssignAddVariableOp"), std::string::npos) << g.to_string();
  // And running it still assigns.
  Executor(g).run(std::vector<Tensor>{constant({1.f, 2.f})});
  EXPECT_EQ(v.read_value().item<float>(), 1.f);
}

}  // namespace
}  // namespace ember::test
