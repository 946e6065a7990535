// GradientTape and Variable behaviour, as tf.GradientTape and tf.Variable.
#include "core/allocator.h"
#include "test_util.h"

namespace ember::test {
namespace {

// The variable ops, checked against the values assigned.
const CoveredOps covered{op_name::ReadVariableOp, op_name::AssignVariableOp, op_name::AssignAddVariableOp, op_name::AssignSubVariableOp};

class VariableTest : public DeviceTest {};
class GradientTapeTest : public DeviceTest {};

TEST_P(VariableTest, NamesScopesAndValues) {
  Variable v(constant({1.f, 2.f, 3.f}));
  EXPECT_EQ(v.name(), "Variable:0");
  {
    NameScope scope("test");
    Variable w(constant(1.0, float64));
    EXPECT_EQ(w.name(), "test/Variable:0");
    Variable named(constant(1.0, float64), {.name = "w"});
    EXPECT_EQ(named.name(), "test/w:0");
  }
  EXPECT_TRUE(v.trainable());
  EXPECT_EQ(v.dtype(), float32);
  EXPECT_EQ(v.shape(), (TensorShape{3}));
  Tensor before = v;  // usable wherever a tensor is: reads the value
  v.assign_add(constant({1.f, 1.f, 1.f}));
  EXPECT_EQ(v.read_value().to_vector<float>(), (std::vector<float>{2, 3, 4}));
  EXPECT_EQ(before.to_vector<float>(),
            (std::vector<float>{1, 2, 3}));  // a value read earlier never changes
  v.assign_sub(constant({2.f, 2.f, 2.f}));
  EXPECT_EQ(v.read_value().to_vector<float>(), (std::vector<float>{0, 1, 2}));
  v.assign(constant({7.f, 8.f, 9.f}));
  EXPECT_EQ((v * 2).to_vector<float>(), (std::vector<float>{14, 16, 18}));
  EXPECT_EQ(Variable(3).dtype(), int32);
  Variable copy = v;  // a handle: the same variable
  copy.assign(zeros({3}));
  EXPECT_EQ(v.read_value().to_vector<float>(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(Variable(constant(1.5f), {.name = "x"}).to_string(),
            "<ember.Variable 'x:0' shape=() dtype=float32, numpy=1.5>");
}

TEST_P(VariableTest, AssignmentsWriteInPlaceUnlessAReadHoldsTheBuffer) {
  Variable v(constant({1.f, 2.f, 3.f}));
  auto address = [&] {
    Tensor r = v.read_value();
    return r.raw_data();  // the read ends here: the buffer is the variable's alone again
  };
  const void* home = address();
  v.assign(constant({4.f, 5.f, 6.f}));
  v.assign_add(constant({1.f, 1.f, 1.f}));
  v.assign_sub(constant({0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(address(), home);  // every assignment wrote into the variable's buffer
  EXPECT_EQ(v.read_value().to(Device::cpu()).to_vector<float>(), (std::vector<float>{4.5f, 5.5f, 6.5f}));
  // A value read earlier never changes: each assignment then installs a new buffer.
  Tensor before = v.read_value();
  v.assign(constant({7.f, 8.f, 9.f}));
  EXPECT_EQ(before.to(Device::cpu()).to_vector<float>(), (std::vector<float>{4.5f, 5.5f, 6.5f}));
  Tensor second = v.read_value();
  v.assign_add(constant({1.f, 1.f, 1.f}));
  v.assign_sub(constant({2.f, 2.f, 2.f}));
  EXPECT_EQ(before.to(Device::cpu()).to_vector<float>(), (std::vector<float>{4.5f, 5.5f, 6.5f}));
  EXPECT_EQ(second.to(Device::cpu()).to_vector<float>(), (std::vector<float>{7.f, 8.f, 9.f}));
  EXPECT_EQ(v.read_value().to(Device::cpu()).to_vector<float>(), (std::vector<float>{6.f, 7.f, 8.f}));
  // Assigning a tensor the caller keeps leaves that tensor alone.
  Tensor kept = constant({1.f, 1.f, 1.f});
  v.assign(kept);
  v.assign_add(constant({1.f, 2.f, 3.f}));
  EXPECT_EQ(kept.to(Device::cpu()).to_vector<float>(), (std::vector<float>{1.f, 1.f, 1.f}));
  EXPECT_EQ(v.read_value().to(Device::cpu()).to_vector<float>(), (std::vector<float>{2.f, 3.f, 4.f}));
}

TEST_P(VariableTest, BadAssignmentsAreErrors) {
  Variable v(constant({1.f, 2.f}), {.name = "v"});
  try {
    v.assign(constant({1.0, 2.0}, float64));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[Variable::assign] variable 'v:0' is float32, the value is float64");
  }
  EXPECT_THROW(v.assign(constant({1.f, 2.f, 3.f})), InvalidArgument);
  EXPECT_THROW(v.assign_add(constant({1, 2})), InvalidArgument);
  Variable undefined;
  EXPECT_THROW(undefined.read_value(), FailedPrecondition);
}

// A gradient function computes only the input gradients some source needs
// (TensorFlow's skip_input_indices): a first layer's matmul makes the
// weights' gradient, not the data's; a product with a constant makes none
// for the constant. Counted in a trace kept unoptimised
// (the dead-node pass would otherwise hide a wasted product).
TEST_P(GradientTapeTest, GradientsNobodyAsksForAreNotComputed) {
  Variable w(random_tensor({6, 4}, float32, -1, 1, 1));
  auto count = [](const Graph& g, const std::string& op) {
    int n = 0;
    for (const Node& node : g.nodes) n += node.kind == Node::Kind::Op && node.op->name == op;
    return n;
  };
  auto weights_only = function(
      [&](Tensor x) {
        GradientTape tape;
        return tape.gradient(reduce_sum(matmul(x, w) * 2.0f), w);
      },
      {.name = "weights_only", .optimize = false});
  auto both = function(
      [&](Tensor x) {
        GradientTape tape;
        tape.watch(x);
        Tensor loss = reduce_sum(matmul(x, w) * 2.0f);
        return tape.gradient(loss, std::vector<Source>{x, w});
      },
      {.name = "both", .optimize = false});
  Tensor x = random_tensor({3, 6}, float32, -1, 1, 2);
  Tensor gw = weights_only(x);
  std::vector<Tensor> g2 = both(x);
  EXPECT_EQ(count(weights_only.list_concrete_functions()[0].graph(), op_name::MatMul), 2);  // forward, dW
  EXPECT_EQ(count(both.list_concrete_functions()[0].graph(), op_name::MatMul), 3);          // forward, dx, dW
  // The constant factor's gradient (the product summed away) is never made:
  // one Mul forward, one back (the incoming gradient times 2).
  EXPECT_EQ(count(weights_only.list_concrete_functions()[0].graph(), op_name::Mul), 2);
  EXPECT_EQ(count(both.list_concrete_functions()[0].graph(), op_name::Mul), 2);
  // dW = xᵀ·2 either way; dx = 2·wᵀ.
  std::vector<double> xv = values(x), wv = values(w.read_value()), want_w(24), want_x(18);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j)
      want_w[static_cast<size_t>(i * 4 + j)] = 2 * (xv[static_cast<size_t>(i)] + xv[static_cast<size_t>(6 + i)] + xv[static_cast<size_t>(12 + i)]);
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 6; ++i)
      want_x[static_cast<size_t>(r * 6 + i)] =
          2 * (wv[static_cast<size_t>(i * 4)] + wv[static_cast<size_t>(i * 4 + 1)] + wv[static_cast<size_t>(i * 4 + 2)] + wv[static_cast<size_t>(i * 4 + 3)]);
  EXPECT_TRUE(all_close(gw, want_w, {6, 4}, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(g2[1], want_w, {6, 4}, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(g2[0], want_x, {3, 6}, 1e-6, 1e-6));
}

TEST_P(GradientTapeTest, PersistentTapeGivesSeveralGradients) {
  auto x = constant(3.0f);
  GradientTape t({.persistent = true});
  t.watch(x);
  auto y = x * x;
  auto z = y * y;
  EXPECT_FLOAT_EQ(t.gradient(z, x).item<float>(), 108.0f);  // 4·x³
  EXPECT_FLOAT_EQ(t.gradient(y, x).item<float>(), 6.0f);
}

TEST_P(GradientTapeTest, NestedTapesGiveSecondDerivatives) {
  Variable v(1.0f);
  GradientTape outer;
  Tensor dy;
  {
    GradientTape inner;
    auto y = v * v * v;
    dy = inner.gradient(y, v);  // 3·v² = 3, recorded by outer
  }
  EXPECT_FLOAT_EQ(dy.item<float>(), 3.0f);
  EXPECT_FLOAT_EQ(outer.gradient(dy, v).item<float>(), 6.0f);  // 6·v
}

TEST_P(GradientTapeTest, PersistentTapeRecordsItsOwnGradients) {
  auto x = constant(2.0, float64);
  GradientTape t({.persistent = true});
  t.watch(x);
  auto y = x * x * x;
  auto dy = t.gradient(y, x);    // 3x² = 12, recorded on t itself
  auto d2y = t.gradient(dy, x);  // 6x = 12
  EXPECT_DOUBLE_EQ(dy.item<double>(), 12.0);
  EXPECT_DOUBLE_EQ(d2y.item<double>(), 12.0);
}

TEST_P(GradientTapeTest, NonPersistentTapeIsUsedOnce) {
  auto x = constant(3.0f);
  GradientTape t;
  t.watch(x);
  auto y = x * x;
  t.gradient(y, x);
  EXPECT_EQ(t.num_recorded(), 0u);  // the record is released
  try {
    t.gradient(y, x);
    FAIL();
  } catch (const FailedPrecondition& e) {
    EXPECT_STREQ(e.what(),
                 "A non-persistent GradientTape can only be used to compute one set of gradients "
                 "(or jacobians)");
  }
}

TEST_P(GradientTapeTest, WatchedVariablesAndAccessRules) {
  Variable a(1.0f), b(2.0f), frozen(3.0f, {.trainable = false});
  {
    GradientTape t;
    Tensor rb = b, ra = a, rf = frozen;  // read in this order (C++ leaves operand order open)
    auto y = rb * ra * rf;
    auto vars = t.watched_variables();
    ASSERT_EQ(vars.size(), 2u);
    EXPECT_EQ(vars[0], b);  // order of first access
    EXPECT_EQ(vars[1], a);
    auto g = t.gradient(y, {a, b, frozen});
    EXPECT_FLOAT_EQ(g[0].item<float>(), 6.0f);
    EXPECT_FLOAT_EQ(g[1].item<float>(), 3.0f);
    EXPECT_FALSE(g[2].defined());
  }
  {
    GradientTape t({.watch_accessed_variables = false});
    t.watch(a);
    auto y = a * b;
    EXPECT_EQ(t.watched_variables().size(), 1u);
    auto g = t.gradient(y, {a, b}, UnconnectedGradients::Zero);
    EXPECT_FLOAT_EQ(g[0].item<float>(), 2.0f);
    EXPECT_FLOAT_EQ(g[1].item<float>(), 0.0f);
  }
}

TEST_P(GradientTapeTest, TargetsSourcesAndOutputGradients) {
  auto x = constant({1.0, 2.0, 3.0}, float64);
  auto w = constant(2.0, float64);
  GradientTape t({.persistent = true});
  t.watch(x);
  t.watch(w);
  auto y = x * w;  // non-scalar target: the gradient of its sum
  EXPECT_EQ(t.gradient(y, x).to_vector<double>(), (std::vector<double>{2, 2, 2}));
  auto g = t.gradient({y, reduce_sum(x * x)}, {x, w}, {});  // several targets: summed
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{4, 6, 8}));
  EXPECT_DOUBLE_EQ(g[1].item<double>(), 6.0);
  auto og = t.gradient({y}, {x}, {constant({1.0, 0.0, -1.0}, float64)});
  EXPECT_EQ(og[0].to_vector<double>(), (std::vector<double>{2, 0, -2}));
  auto unrelated = constant(5.0, float64);
  EXPECT_FALSE(t.gradient(y, unrelated).defined());
  EXPECT_DOUBLE_EQ(t.gradient(y, unrelated, UnconnectedGradients::Zero).item<double>(), 0.0);
  EXPECT_EQ(t.gradient(x, x).to_vector<double>(), (std::vector<double>{1, 1, 1}));
  EXPECT_THROW(t.gradient({y}, {x}, {constant({1.0}, float64)}), InvalidArgument);
}

TEST_P(GradientTapeTest, VariableGradientMatchesCentralDifferences) {
  Variable v(constant({0.5, -1.0, 2.0}, float64));
  Tensor w = constant({1.0, 2.0, 3.0}, float64);
  auto loss = [&] { return reduce_sum(square(Tensor(v)) * w + sin(v)); };
  GradientTape t;
  Tensor g = t.gradient(loss(), v);
  auto got = g.to_vector<double>();
  std::vector<double> base = Tensor(v).to_vector<double>();
  for (size_t k = 0; k < base.size(); ++k) {
    auto at = [&](double d) {
      std::vector<double> p = base;
      p[k] += d;
      v.assign(constant(p));
      return loss().item<double>();
    };
    double numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
    EXPECT_NEAR(got[k], numeric, 1e-6);
  }
}

TEST_P(GradientTapeTest, CastBetweenFloatsPassesTheGradient) {
  auto x = constant({1.5f, 2.5f});
  GradientTape t;
  t.watch(x);
  Tensor g = t.gradient(cast(x, float64) * 3.0, x);
  EXPECT_EQ(g.dtype(), float32);
  EXPECT_EQ(g.to_vector<float>(), (std::vector<float>{3, 3}));
}

TEST_P(GradientTapeTest, IntegersGetNoGradient) {
  auto i = constant({1, 2});
  GradientTape t({.persistent = true});
  t.watch(i);  // warns and ignores
  auto y = i * i;
  EXPECT_FALSE(t.gradient(y, i).defined());
  auto x = constant(2.0, float64);
  t.watch(x);
  auto n = cast(x, int32);
  EXPECT_FALSE(t.gradient(cast(n, float64), x).defined());
}

TEST_P(GradientTapeTest, StopRecordingAndReset) {
  auto x = constant(2.0, float64);
  GradientTape t({.persistent = true});
  t.watch(x);
  auto y = x * x;
  Tensor z;
  {
    auto pause = t.stop_recording();
    z = y * x;  // not recorded
    EXPECT_FALSE(t.recording());
    try {
      auto again = t.stop_recording();
      FAIL();
    } catch (const FailedPrecondition& e) {
      EXPECT_STREQ(e.what(), "Trying to stop recording a tape which is not recording.");
    }
  }
  EXPECT_TRUE(t.recording());
  EXPECT_FALSE(t.gradient(z, x).defined());
  EXPECT_DOUBLE_EQ(t.gradient(y, x).item<double>(), 4.0);
  t.reset();
  EXPECT_EQ(t.num_recorded(), 0u);
  EXPECT_FALSE(t.gradient(y, x).defined());  // x is no longer watched
  t.watch(x);
  EXPECT_DOUBLE_EQ(t.gradient(x * x * x, x).item<double>(), 12.0);
}

TEST_P(GradientTapeTest, JacobianAndBatchJacobian) {
  auto x = constant({1.0, 2.0, 3.0}, float64);
  {
    GradientTape t;
    t.watch(x);
    auto y = x * x;
    Tensor j = t.jacobian(y, x);  // diag(2x)
    EXPECT_EQ(j.shape(), (TensorShape{3, 3}));
    EXPECT_EQ(j.to_vector<double>(), (std::vector<double>{2, 0, 0, 0, 4, 0, 0, 0, 6}));
  }
  {
    auto w = cast(constant({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}), float64);
    auto xb = cast(constant({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}), float64);
    GradientTape t;
    t.watch(xb);
    auto y = matmul(xb, w);  // [2, 2]; dy[b, j]/dx[b, i] = w[i, j]
    Tensor bj = t.batch_jacobian(y, xb);
    EXPECT_EQ(bj.shape(), (TensorShape{2, 2, 3}));
    EXPECT_EQ(bj.to_vector<double>(), (std::vector<double>{1, 3, 5, 2, 4, 6, 1, 3, 5, 2, 4, 6}));
  }
  {
    GradientTape t;
    EXPECT_THROW(t.batch_jacobian(x, x), InvalidArgument);
  }
}

TEST_P(GradientTapeTest, MemoryStaysFlatOverManySteps) {
  Allocator* cpu = allocator_for(device());
  Variable w(random::normal({64, 32}, 0, 1, float32, 1));
  Tensor x = random::normal({16, 64}, 0, 1, float32, 2);
  size_t first = 0, last = 0;
  for (int step = 0; step < 10000; ++step) {
    GradientTape tape;
    Tensor loss = reduce_mean(square(relu(matmul(x, w))));
    Tensor g = tape.gradient(loss, w);
    w.assign_sub(g * 0.001f);
    (step == 0 ? first : last) = cpu->bytes_in_use();
  }
  EXPECT_EQ(last, first);
}

EMBER_INSTANTIATE_DEVICE_TESTS(VariableTest);
EMBER_INSTANTIATE_DEVICE_TESTS(GradientTapeTest);

}  // namespace
}  // namespace ember::test
