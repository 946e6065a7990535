// The registry checks itself, as ggml's test-backend-ops loops over every op:
// no orphan slots; every op has inference, a CPU kernel, a CUDA kernel in CUDA
// builds, a gradient or a declared "not differentiable", and appears in some
// test file's CoveredOps list (checked there against a reference).
#include "core/op_registry.h"
#include "op_cases.h"
#include "test_util.h"

namespace ember::test {
namespace {

TEST(Registry, EverySlotIsADefinedOp) {
  for (const OpDef* slot : registry_slots())
    EXPECT_NE(slot->infer, nullptr) << "orphan registry slot '" << slot->name
                                    << "': a kernel or gradient names an op nobody defines";
}

TEST(Registry, EveryOpIsComplete) {
  const auto ops = registered_ops();
  ASSERT_GE(ops.size(), 89u);
  for (const OpDef* op : ops) {
    if (op->name.rfind("EmberTest", 0) == 0) continue;  // defined by tests
    SCOPED_TRACE(op->name);
    EXPECT_FALSE(op->api_name.empty()) << "no front-end name";
    EXPECT_TRUE(op->has_kernel(DeviceKind::CPU)) << "no CPU kernel";
#ifdef EMBER_WITH_CUDA
    EXPECT_TRUE(op->has_kernel(DeviceKind::CUDA)) << "no CUDA kernel";
#endif
    EXPECT_NE(op->differentiability, Differentiability::Unknown)
        << "neither a gradient nor declared not differentiable";
    if (op->differentiability == Differentiability::Differentiable) {
      EXPECT_TRUE(static_cast<bool>(op->grad)) << "differentiable without a gradient";
    }
    EXPECT_TRUE(covered_ops().count(op->name)) << "no test file lists it in CoveredOps";
  }
  EXPECT_EQ(op_def(op_name::AddV2).api_name, "add");
  EXPECT_EQ(op_def(op_name::BatchMatMulV2).api_name, "matmul");
  EXPECT_THROW(op_def("NoSuchOp"), NotFound);
  for (const std::string& name : covered_ops())
    EXPECT_NO_THROW(op_def(name)) << "CoveredOps names an op that does not exist: " << name;
}

// Whether the test binary has a test `Suite.Test`, plain or one device
// instance of it (Devices/Suite.Test/cpu).
bool test_exists(const std::string& name) {
  const auto dot = name.find('.');
  const std::string suite = name.substr(0, dot), test = name.substr(dot + 1);
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& s = *unit.GetTestSuite(i);
    if (s.name() != suite && s.name() != "Devices/" + suite) continue;
    for (int j = 0; j < s.total_test_count(); ++j) {
      const std::string n = s.GetTestInfo(j)->name();
      if (n == test || n.rfind(test + "/", 0) == 0) return true;
    }
  }
  return false;
}

// The every-op loop (every_op_test.cpp) reaches every op: each has a case,
// each differentiable op a case whose gradient it checks (or, where central
// differences cannot, names an existing test that checks it against outside
// references), and every case names an op that exists.
TEST(Registry, EveryOpHasACaseInTheEveryOpTable) {
  std::set<std::string> with_case, with_gradient;
  for (const OpCase& c : op_cases()) {
    EXPECT_NO_THROW(op_def(c.op)) << "a case names an op that does not exist: " << c.name();
    with_case.insert(c.op);
    if (checks_gradient(c)) with_gradient.insert(c.op);
    if (!c.grad_checked_by.empty()) {
      EXPECT_TRUE(test_exists(c.grad_checked_by)) << c.name() << ": no test " << c.grad_checked_by;
      if (test_exists(c.grad_checked_by)) with_gradient.insert(c.op);
    }
    EXPECT_FALSE(c.dtypes.empty()) << c.name() << " runs in no dtype";
  }
  for (const OpDef* op : registered_ops()) {
    if (op->name.rfind("EmberTest", 0) == 0) continue;
    EXPECT_TRUE(with_case.count(op->name)) << op->name << " has no case in tests/op_cases.cpp";
    if (op->differentiability == Differentiability::Differentiable) {
      EXPECT_TRUE(with_gradient.count(op->name)) << op->name << " is differentiable, but no case checks its gradient";
    }
  }
}

// A gradient reading a forward value its GRAD declaration does not keep gets
// an Internal error naming the op, never a read of a missing buffer.
Tensor undeclared_square(const Tensor& x) {
  static const bool defined = [] {
    define_op("EmberTestUndeclaredSquare")
        .api("undeclared_square")
        .inputs(1)
        .set_infer([](InferContext& c) { c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()}); });
    register_kernel("EmberTestUndeclaredSquare", DeviceKind::CPU, [](KernelContext& c) {
      const float* in = c.inputs[0].data<float>();
      float* out = c.outputs[0].data<float>();
      for (int64_t i = 0; i < c.inputs[0].num_elements(); ++i) out[i] = in[i] * in[i];
    });
    register_gradient_uses("EmberTestUndeclaredSquare", kGradUsesNothing);  // but reads x:
    register_gradient("EmberTestUndeclaredSquare", [](const GradContext& c) -> std::vector<Tensor> {
      return {c.output_grads[0] * 2.0 * c.inputs[0]};
    });
    return true;
  }();
  (void)defined;
  return execute1(op_def("EmberTestUndeclaredSquare"), {x});
}

TEST(Registry, AnUndeclaredForwardReadIsAnInternalErrorNamingTheOp) {
  DeviceScope cpu(Device::cpu());
  Tensor x = constant({1.f, 2.f});
  GradientTape tape;
  tape.watch(x);
  Tensor y = undeclared_square(x);
  try {
    tape.gradient(y, x);
    ADD_FAILURE() << "no error";
  } catch (const Internal& e) {
    EXPECT_NE(std::string(e.what()).find("[gradient of EmberTestUndeclaredSquare]"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ember::test
