// The bad calls an outside review found crashing or silently wrong, each now
// a clear ember error naming the function the user called. (The op fuzz test
// walks the whole registry; these pin the exact cases and their messages.)
#include <cmath>
#include <limits>

#include "core/op_registry.h"
#include "test_util.h"

namespace ember {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Runs `f`, expects error type E whose message contains every one of `parts`.
template <typename E, typename F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  ASSERT_GT(parts.size(), 0u);
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << *parts.begin() << "'";
  } catch (const E& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

class BadInput : public ::testing::Test {
 protected:
  DeviceScope cpu_{Device::cpu()};
};

TEST_F(BadInput, RangeWithAFractionalStepForIntegersIsRefused) {
  expect_error<InvalidArgument>([] { range(0, 10, 0.5, int64); }, {"[range]", "integers"});
  expect_error<InvalidArgument>([] { range(0, 10, 0.5, int32); }, {"[range]", "integers"});
  expect_error<InvalidArgument>([] { range(0, std::nan(""), 1, float32); }, {"[range]", "finite"});
  expect_error<InvalidArgument>([] { range(0, INFINITY, 1, float32); }, {"[range]", "finite"});
  expect_error<InvalidArgument>([] { range(0, 1e300, 1e-300, float64); },
                                {"[range]", "too many elements"});
  // Integer ranges spanning all of int64 count exactly.
  expect_error<InvalidArgument>([] { range(-9.2e18, 9.2e18, 1, int64); }, {"[range]"});
  EXPECT_EQ(range(-9.2e18, 9.2e18, 4.6e18, int64).to_vector<int64_t>(),
            (std::vector<int64_t>{-9200000000000000000, -4600000000000000000, 0,
                                  4600000000000000000}));
  EXPECT_EQ(range(5, 0, -2, int32).to_vector<int32_t>(), (std::vector<int32_t>{5, 3, 1}));
}

TEST_F(BadInput, ImpossibleSizesAreErrorsNotCrashes) {
  expect_error<InvalidArgument>([] { zeros({int64_t{1} << 62}); }, {"[fill]", "overflows"});
  expect_error<ResourceExhausted>([] { zeros({int64_t{1} << 62}, uint8); },
                                  {"[fill]", "cannot allocate"});
  expect_error<InvalidArgument>([] { ones({int64_t{1} << 32, int64_t{1} << 32}); },
                                {"[fill]", "too large"});
  expect_error<InvalidArgument>([] { ones({3037000500, 3037000500}); }, {"[fill]"});
  expect_error<InvalidArgument>(
      [] { reshape(zeros({0}), {int64_t{1} << 32, int64_t{1} << 32}); }, {"[reshape]"});
  Tensor x = zeros({6, 7});
  expect_error<InvalidArgument>([&] { reshape(x, {6, 7, 7905747460161236407}); },
                                {"[reshape]", "overflows"});
  expect_error<InvalidArgument>([&] { slice(x, {1, 0}, {kMax, 3}); }, {"[slice]"});
  expect_error<InvalidArgument>([&] { split(x, {kMax, kMax, 5}, 1); }, {"[split]", "overflows"});
  expect_error<InvalidArgument>([&] { tile(x, {int64_t{1} << 62, 4}); }, {"[tile]"});
  expect_error<InvalidArgument>([&] { pad(x, {{0, kMax}, {0, 0}}); }, {"[pad]"});
  expect_error<InvalidArgument>([&] { broadcast_to(x, {-5, 7}); }, {"[broadcast_to]"});
  expect_error<InvalidArgument>(
      [] { scatter_nd(constant({int64_t{0}}, {1, 1}), constant({1.f}), {-3}); },
      {"[scatter_nd]"});
  expect_error<InvalidArgument>([&] { split(zeros({0}), int64_t{1} << 40); }, {"[split]"});
  expect_error<InvalidArgument>([] { random::normal({int64_t{1} << 40, int64_t{1} << 40}); },
                                {"[random::normal]"});
  expect_error<InvalidArgument>([] { random::uniform({-5}); }, {"[random::uniform]"});
  // Still fine: zero elements whatever the other dimensions (as TensorFlow).
  EXPECT_EQ(zeros({0, int64_t{1} << 40}).num_elements(), 0);
}

TEST_F(BadInput, ShapesCountSafely) {
  EXPECT_FALSE(TensorShape({int64_t{1} << 32, int64_t{1} << 32}).checked_num_elements());
  EXPECT_EQ(*TensorShape({0, kMax, kMax}).checked_num_elements(), 0);
  EXPECT_THROW(TensorShape({kMax, 2}).num_elements(), InvalidArgument);
  EXPECT_FALSE(byte_size({int64_t{1} << 62}, float32));
  EXPECT_EQ(*byte_size({2, 3}, float64), 48u);
}

TEST_F(BadInput, NegativeDimensionIndicesCountFromTheEnd) {
  TensorShape s{2, 3, 5};
  EXPECT_EQ(s.dim(-1), 5);
  EXPECT_EQ(s[-3], 2);
  EXPECT_EQ(zeros({4, 6}).dim(-1), 6);
  expect_error<OutOfRange>([&] { s.dim(3); }, {"dimension 3", "[-3, 3)"});
  expect_error<OutOfRange>([&] { s.dim(-4); }, {"dimension -4"});
  expect_error<OutOfRange>([] { zeros({4}).dim(1); }, {"out of range"});
}

TEST_F(BadInput, EmptyHandlesNameTheOp) {
  Tensor none, x = ones({2, 2});
  expect_error<InvalidArgument>([&] { add(none, x); },
                                {"[add] input 0 is an empty Tensor handle"});
  expect_error<InvalidArgument>([&] { add(x, none); }, {"[add] input 1"});
  expect_error<InvalidArgument>([&] { exp(none); }, {"[exp]"});
  expect_error<InvalidArgument>([&] { matmul(none, x); }, {"[matmul]"});
  expect_error<InvalidArgument>([&] { reduce_sum(none); }, {"[reduce_sum]"});
  expect_error<InvalidArgument>([&] { reduce_sum(none, std::vector<int64_t>{0}); },
                                {"[reduce_sum]"});
  expect_error<InvalidArgument>([&] { reshape(none, {4}); }, {"[reshape]"});
  expect_error<InvalidArgument>([&] { concat({x, none}, 0); }, {"[concat]"});
  expect_error<InvalidArgument>([&] { concat({none}, 0); }, {"[concat]"});
  expect_error<InvalidArgument>([&] { transpose(none); }, {"[transpose]"});
  expect_error<InvalidArgument>([&] { cast(none, float64); }, {"[cast]"});
  expect_error<InvalidArgument>([&] { softmax(none); }, {"[softmax]"});
  expect_error<InvalidArgument>([&] { zeros_like(none); }, {"[zeros_like]"});
  expect_error<InvalidArgument>([&] { x / none; }, {"[div]"});
}

TEST_F(BadInput, SilentWrongResultsAreRefused) {
  Tensor b = constant(std::vector<bool>{true, false});
  expect_error<InvalidArgument>([&] { pad(b, {{1, 1}}, PadMode::Constant, 0.5); },
                                {"[pad]", "bool"});
  EXPECT_EQ(test::values(pad(b, {{1, 0}}, PadMode::Constant, 1)), (std::vector<double>{1, 1, 0}));
  Tensor x = ones({2, 3});
  expect_error<InvalidArgument>([&] { concat({x}, 5); }, {"[concat]", "axis 5"});
  EXPECT_EQ(concat({x}, -1).shape(), x.shape());
  expect_error<InvalidArgument>([&] { pad(x, {{2, 0}, {0, 0}}, PadMode::Reflect); },
                                {"[pad]", "too large"});
}

TEST_F(BadInput, CompositesNameThemselves) {
  Tensor i = constant({1, 2, 3});
  expect_error<InvalidArgument>([&] { reduce_logsumexp(i); }, {"[reduce_logsumexp]"});
  expect_error<InvalidArgument>([&] { reduce_variance(i); }, {"[reduce_variance]"});
  expect_error<InvalidArgument>([&] { reduce_std(i); }, {"[reduce_std]"});
  Tensor f = ones({2, 3});
  expect_error<InvalidArgument>([&] { reduce_logsumexp(f, std::vector<int64_t>{4}); },
                                {"[reduce_logsumexp]", "axis 4"});
  expect_error<InvalidArgument>([&] { reduce_std(f, std::vector<int64_t>{-3}); },
                                {"[reduce_std]", "axis -3"});
  expect_error<InvalidArgument>([] { broadcast_shapes({2, 3}, {4}); },
                                {"[broadcast_shapes]", "incompatible"});
  // ...and the scope ends with the call.
  expect_error<InvalidArgument>([&] { add(f, ones({4})); }, {"[add]"});
}

TEST_F(BadInput, NumbersTheTensorsDtypeCannotHoldAreRefused) {
  Tensor i = constant({1, 2, 3});
  expect_error<InvalidArgument>([&] { i * 1.5; }, {"[operator*]", "1.5", "int32"});
  expect_error<InvalidArgument>([&] { 0.5 + i; }, {"[operator+]", "int32"});
  expect_error<InvalidArgument>([&] { constant(std::vector<uint8_t>{1}) * 300; }, {"uint8"});
  expect_error<InvalidArgument>([&] { constant(std::vector<bool>{true}) * 2; }, {"bool"});
  EXPECT_EQ((i * 2.0).to_vector<int32_t>(), (std::vector<int32_t>{2, 4, 6}));
  EXPECT_EQ((constant({1.f, 2.f}) * 1.5).to_vector<float>(), (std::vector<float>{1.5f, 3.f}));
}

TEST_F(BadInput, ModuleNamesFollowTensorFlowsRule) {
  for (const char* bad : {"my-module", "1abc", "a.b", "a/b", ""})
    expect_error<InvalidArgument>([&] { Module m(bad); },
                                  {"is not a valid module name. Module names must be valid Python 3 "
                                   "identifiers."});
  EXPECT_EQ(Module("_dense_1").name(), "_dense_1");
}

TEST_F(BadInput, SignatureChecksNameTheOp) {
  const OpDef& add_op = op_def("AddV2");
  Tensor x = ones({2});
  expect_error<InvalidArgument>([&] { execute(add_op, {x}); }, {"[add]", "takes 2 inputs"});
  expect_error<InvalidArgument>([&] { execute(add_op, {x, x}, {{"axis", int64_t{0}}}); },
                                {"[add]", "no attribute 'axis'"});
  const OpDef& sum_op = op_def("Sum");
  expect_error<InvalidArgument>([&] { execute(sum_op, {x}, {{"keep_dims", false}}); },
                                {"[reduce_sum]", "needs attribute 'axis'"});
  expect_error<InvalidArgument>(
      [&] { execute(sum_op, {x}, {{"axis", int64_t{0}}, {"keep_dims", false}}); },
      {"[reduce_sum]", "must be list(int), got int"});
  Variable v(ones({2}));
  expect_error<InvalidArgument>([&] { add(v.handle(), x); }, {"[add]", "resource handle"});
}

}  // namespace
}  // namespace ember
