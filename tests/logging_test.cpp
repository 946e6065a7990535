// The logging ops: print, eagerly and in traced functions.
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::Print};

class LoggingTest : public DeviceTest {};

std::string printed(const std::function<void()>& f) {
  ::testing::internal::CaptureStderr();
  f();
  return ::testing::internal::GetCapturedStderr();
}

TEST_P(LoggingTest, PrintWritesNumPyFormattedValues) {
  Tensor a = constant({1.5f, -2.f}), b = constant({{1, 2}, {3, 4}});
  EXPECT_EQ(printed([&] { print({a, b}, "values:"); }), "values: [ 1.5 -2. ] [[1 2]\n [3 4]]\n");
  EXPECT_EQ(printed([&] { print({}, "just a message"); }), "just a message\n");
  EXPECT_EQ(printed([&] { print({constant(3.0, float64)}); }), "3.0\n");
}

TEST_P(LoggingTest, TracedPrintRunsAtEveryCallAndCppPrintingOnlyWhileTracing) {
  int cpp_prints = 0;
  Variable v(constant(0.f));
  auto f = function([&](Tensor x) {
    ++cpp_prints;
    v.assign_add(x);
    print({v.read_value()}, "v =");  // after the assignment, in program order
    return x;
  });
  EXPECT_EQ(printed([&] { f(constant(1.f)); }), "v = 1.0\n");
  EXPECT_EQ(printed([&] { f(constant(2.f)); }), "v = 3.0\n");
  EXPECT_EQ(cpp_prints, 1);
  // The passes keep it though nothing uses its output.
  EXPECT_NE(f.list_concrete_functions()[0].graph().to_string().find("= Print("), std::string::npos);
}

TEST(LoggingOps, UnsupportedFirstNIsAnError) {
  try {
    execute(op_def(op_name::Print), {constant(1.f)}, {{"message", std::string("m")}, {"first_n", int64_t{2}}, {"summarize", int64_t{-1}}});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[print] first_n other than -1 is not supported");
  }
}

EMBER_INSTANTIATE_DEVICE_TESTS(LoggingTest);

}  // namespace
}  // namespace ember::test
