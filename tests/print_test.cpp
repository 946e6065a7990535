// The print op: print, eagerly and in traced functions.
#include <fstream>
#include <sstream>

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

// Every case of tests/data/tf_print.txt (tests/tf/make_tf_print_fixtures.py):
// what tf.print wrote for the tensor, printed by ember on this device.
TEST_P(LoggingTest, PrintWritesWhatTfPrintWrites) {
  std::ifstream in(data_dir() + "/tf_print.txt");
  ASSERT_TRUE(in) << "tests/data/tf_print.txt";
  std::string header, head, values, summarize, want;
  std::getline(in, header);
  int cases = 0;
  while (std::getline(in, head) && std::getline(in, values) && std::getline(in, summarize) && std::getline(in, want)) {
    SCOPED_TRACE(detail::str_cat(head, " / ", values));
    std::istringstream h(head);
    std::string dtype_text, dims_text;
    h >> dtype_text >> dims_text;
    Dims dims;
    for (std::istringstream d(dims_text); std::getline(d, dims_text, ',');) dims.push_back(std::stoll(dims_text));
    std::vector<double> v;
    for (std::istringstream vs(values); vs >> dims_text;) v.push_back(std::strtod(dims_text.c_str(), nullptr));
    DType dt = dtype_text == "float32" ? float32 : dtype_text == "float64" ? float64 : dtype_text == "int32" ? int32
             : dtype_text == "int64" ? int64 : dtype_text == "uint8" ? uint8 : dtype_text == "bool" ? bool_
             : dtype_text == "bfloat16" ? bfloat16 : float16;
    Tensor t = make(v, TensorShape(dims), dt);
    std::string text;  // the fixture's line, its \n escapes undone
    for (size_t i = 0; i < want.size(); ++i) {
      bool escape = want[i] == '\\' && i + 1 < want.size() && want[i + 1] == 'n';
      text.push_back(escape ? '\n' : want[i]);
      i += escape;
    }
    text.push_back('\n');
    EXPECT_EQ(printed([&] { print({t}, "", std::stoll(summarize)); }), text);
    ++cases;
  }
  EXPECT_GE(cases, 30);
  // A message first, then the tensors, separated by spaces (tf.print("msg", t, u)).
  EXPECT_EQ(printed([&] { print({constant({1, 2}), constant(3)}, "msg"); }), "msg [1 2] 3\n");
  EXPECT_EQ(printed([&] { print({}, "just a message"); }), "just a message\n");
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
  EXPECT_EQ(printed([&] { f(constant(1.f)); }), "v = 1\n");
  EXPECT_EQ(printed([&] { f(constant(2.f)); }), "v = 3\n");
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
