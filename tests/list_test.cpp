// The list ops (core/tensor_list.h) and TensorArray (graph/tensor_array.h),
// eager and traced: values against slices of the source tensors, TensorFlow's
// error texts (FUNCTIONS.md), and gradients through every pair of list ops
// against central differences in float64.
#include <cmath>
#include <functional>

#include "core/tensor_list.h"
#include "graph/control_flow.h"
#include "graph/function.h"
#include "graph/tensor_array.h"
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::TensorListReserve, op_name::TensorListFromTensor, op_name::TensorListSetItem,
                         op_name::TensorListGetItem, op_name::TensorListStack, op_name::TensorListGather,
                         op_name::TensorListScatterIntoExistingList, op_name::TensorListSplit,
                         op_name::TensorListConcatV2, op_name::TensorListLength, op_name::TensorListElementShape,
                         op_name::TensorListResize,
                         op_name::TensorListPushBack, op_name::TensorListPopBack, op_name::AddN};

class ListTest : public DeviceTest {};

std::vector<double> vals(const Tensor& t) { return values(t.to(Device::cpu())); }

Tensor row(const Tensor& x, int64_t i) { return gather(x, constant(i), 0); }

int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.kind == Node::Kind::Op && node.op->name == op;
  return n;
}


// d(f)/d(x) by central differences, x float64.
std::vector<double> central_differences(const std::function<double(const Tensor&)>& f, const Tensor& x) {
  std::vector<double> base = vals(x), out;
  const double eps = 1e-6;
  for (size_t k = 0; k < base.size(); ++k) {
    auto at = [&](double d) {
      std::vector<double> v = base;
      v[k] += d;
      return f(constant(v, x.shape()).to(x.device()));
    };
    out.push_back((at(eps) - at(-eps)) / (2 * eps));
  }
  return out;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i]))) << what << " [" << i << "]";
}

TEST_P(ListTest, TensorArrayMethodsEagerly) {
  Tensor x = random_tensor({3, 2, 2}, float32, -1, 1, 7);
  TensorArray ta(float32, 3, {.infer_shape = false, .clear_after_read = false});
  ta = ta.unstack(x);
  EXPECT_EQ(ta.read(0).shape(), (TensorShape{2, 2}));
  EXPECT_EQ(vals(ta.read(2)), vals(row(x, 2)));
  EXPECT_EQ(ta.stack().shape(), (TensorShape{3, 2, 2}));
  EXPECT_EQ(vals(ta.stack()), vals(x));
  Tensor g = ta.gather({1, 2});
  EXPECT_EQ(g.shape(), (TensorShape{2, 2, 2}));
  EXPECT_EQ(vals(g), vals(slice(x, {1, 0, 0}, {2, 2, 2})));
  ta = ta.scatter({2, 1, 0}, x);  // reversed
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(vals(ta.read(i)), vals(row(x, 2 - i)));
  EXPECT_EQ(ta.size().item<int32_t>(), 3);
  Tensor y = random_tensor({5, 6}, float32, -1, 1, 8);
  ta = ta.split(y, {1, 2, 2});  // elements of 1, 2 and 2 rows
  EXPECT_EQ(ta.read(0).shape(), (TensorShape{1, 6}));
  EXPECT_EQ(ta.read(1).shape(), (TensorShape{2, 6}));
  EXPECT_EQ(vals(ta.read(2)), vals(slice(y, {3, 0}, {2, 6})));
  EXPECT_EQ(vals(ta.concat()), vals(y));
  // Unwritten elements read as zeros of the element shape.
  TensorArray z(float64, 2, {.element_shape = TensorShape{3}});
  z = z.write(1, constant({1.0, 2.0, 3.0}, float64));
  EXPECT_EQ(vals(z.stack()), (std::vector<double>{0, 0, 0, 1, 2, 3}));
  EXPECT_EQ(vals(z.read(0)), (std::vector<double>{0, 0, 0}));
  // A dynamic array grows on writes past its end.
  TensorArray d(int32, 0, {.dynamic_size = true});
  for (int32_t i = 0; i < 4; ++i) d = d.write(i, constant(i * i));
  EXPECT_EQ(vals(d.stack()), (std::vector<double>{0, 1, 4, 9}));
  EXPECT_EQ(d.size().item<int32_t>(), 4);
  EXPECT_EQ(d.element_shape(), TensorShape{});  // inferred from the writes
}

TEST_P(ListTest, TensorArrayErrorsEagerly) {
  TensorArray ta(float32, 2);
  ta = ta.write(0, constant({1.f, 2.f}));
  EXPECT_EQ(error_of<OutOfRange>([&] { ta.read(2); }), "Tried to read from index 2 but array size is: 2");
  EXPECT_EQ(error_of<OutOfRange>([&] { ta.write(5, constant({1.f, 2.f})); }),
            "Tried to write to index 5 but array is not resizeable and size is: 2");
  EXPECT_EQ(error_of<InvalidArgument>([&] { ta.write(1, constant({1, 2})); }),
            "TensorArray dtype is float32 but Op is trying to write dtype int32");
  EXPECT_EQ(error_of<InvalidArgument>([&] { ta.write(1, constant({1.f, 2.f, 3.f})); }),
            "Incompatible shape for value ((3,)), expected ((2,))");
  EXPECT_EQ(vals(ta.read(0)), (std::vector<double>{1, 2}));
  EXPECT_EQ(error_of<InvalidArgument>([&] { ta.read(0); }),
            "Could not read index 0 twice because it was cleared after a previous read (perhaps try setting "
            "clear_after_read = false?)");
  ta = ta.write(0, constant({3.f, 4.f}));  // written again: readable again
  EXPECT_EQ(vals(ta.read(0)), (std::vector<double>{3, 4}));
  EXPECT_EQ(vals(ta.stack()), (std::vector<double>{0, 0, 0, 0}));  // both cleared or never written: zeros
  EXPECT_EQ(error_of<InvalidArgument>([&] { ta.unstack(zeros({3, 2}, float32)); }),
            "Cannot unstack 3 tensors into a TensorArray of static size 2");
  EXPECT_NE(error_of<InvalidArgument>([&] { TensorArray(float32, 2).split(zeros({6, 2}, float32), {2, 3}); })
                .find("Expected sum of lengths to be equal to values.shape[0], but sum of lengths is 5 and value's "
                      "shape is: [6, 2]"),
            std::string::npos);
  EXPECT_EQ(error_of<InvalidArgument>([&] { TensorArray(float32, 0).stack(); }),
            "Tried to stack elements of an empty list with non-fully-defined element_shape: <unknown>");
}

TEST_P(ListTest, ATracedLoopWritesATensorArrayAndStacksIt) {
  // The seed's example: for i in range(n), ta = ta.write(i, total); stack.
  auto cumulative = function([](Tensor x, Tensor n) {
    TensorArray ta(float32, cast(n, int32));
    auto out = for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                         [&](const Tensor& i, const std::pair<Tensor, TensorArray>& s) {
                           Tensor total = s.first + gather(x, i, 0);
                           return std::pair<Tensor, TensorArray>{total, s.second.write(i, total)};
                         },
                         std::pair<Tensor, TensorArray>{constant(0.f), ta});
    return out.second.stack();
  });
  Tensor x = constant({1.f, 2.f, 3.f, 4.f});
  EXPECT_EQ(vals(cumulative(x, constant(int64_t{4}))), (std::vector<double>{1, 3, 6, 10}));
  EXPECT_EQ(vals(cumulative(x, constant(int64_t{2}))), (std::vector<double>{1, 3}));
  EXPECT_EQ(cumulative.tracing_count(), 1);
  const Graph& g = cumulative.list_concrete_functions()[0].graph();
  EXPECT_EQ(count_ops(g, op_name::StatelessWhile), 1) << g.to_string();
  EXPECT_EQ(count_ops(g, op_name::TensorListReserve), 1) << g.to_string();
  EXPECT_EQ(count_ops(g, op_name::TensorListStack), 1) << g.to_string();

  // A dynamic-size array grown in a while_loop.
  auto grow = function([](Tensor v) {
    auto out = while_loop([](const Tensor& i, const TensorArray&) { return less(i, constant(int32_t{5})); },
                          [&](const Tensor& i, const TensorArray& ta) {
                            return std::tuple<Tensor, TensorArray>{i + constant(int32_t{1}),
                                                                   ta.write(i, v * cast(i, float32))};
                          },
                          std::tuple<Tensor, TensorArray>{constant(int32_t{0}), TensorArray(float32, 0, {.dynamic_size = true})});
    const TensorArray& ta = std::get<1>(out);
    return std::vector<Tensor>{ta.stack(), ta.size()};
  });
  std::vector<Tensor> r = grow(constant({1.f, -1.f}));
  EXPECT_EQ(vals(r[0]), (std::vector<double>{0, 0, 1, -1, 2, -2, 3, -3, 4, -4}));
  EXPECT_EQ(r[1].item<int32_t>(), 5);
  // The body's writes taught the array its element shape.
  EXPECT_EQ(grow.list_concrete_functions()[0].structured_outputs(),
            "[TensorSpec(shape=(None, 2), dtype=tf.float32, name=None), TensorSpec(shape=(), dtype=tf.int32, name=None)]");
}

TEST_P(ListTest, TracedArraysGatherScatterSplitAndConcat) {
  auto f = function([](Tensor x) {
    TensorArray ta(float32, 4);
    ta = ta.unstack(x);
    Tensor picked = ta.gather({3, 0});
    TensorArray back = TensorArray(float32, 4).scatter({3, 2, 1, 0}, x);
    TensorArray pieces = TensorArray(float32, 2).split(x, {1, 3});
    return std::vector<Tensor>{picked, back.stack(), pieces.read(1), pieces.concat(), ta.size(), ta.read(2)};
  });
  Tensor x = random_tensor({4, 3}, float32, -1, 1, 11);
  std::vector<Tensor> r = f(x);
  std::vector<double> want_picked = vals(row(x, 3)), r0 = vals(row(x, 0));
  want_picked.insert(want_picked.end(), r0.begin(), r0.end());
  EXPECT_EQ(vals(r[0]), want_picked);
  EXPECT_EQ(vals(r[1]), vals(gather(x, constant({3, 2, 1, 0}), 0)));
  EXPECT_EQ(vals(r[2]), vals(slice(x, {1, 0}, {3, 3})));
  EXPECT_EQ(vals(r[3]), vals(x));
  EXPECT_EQ(r[4].item<int32_t>(), 4);
  EXPECT_EQ(vals(r[5]), vals(row(x, 2)));
  // Traced, unstacking replaces the list whatever the array's size was.
  auto resized = function([](Tensor v) { return TensorArray(float32, 2).unstack(v).stack(); });
  EXPECT_EQ(vals(resized(x)), vals(x));
  EXPECT_EQ(resized.list_concrete_functions()[0].structured_outputs(),
            "TensorSpec(shape=(4, 3), dtype=tf.float32, name=None)");
  // Traced reads do not clear: reading twice is fine.
  auto twice = function([](Tensor v) {
    TensorArray ta = TensorArray(float32, 2).unstack(v);
    return ta.read(1) + ta.read(1);
  });
  EXPECT_EQ(vals(twice(constant({1.f, 2.f}))), (std::vector<double>{4}));
}

TEST_P(ListTest, ListOpsDirectly) {
  Tensor l = list::reserve(constant(int32_t{1}), float32, TensorShape{2});
  l = list::push_back(l, constant({1.f, 2.f}));
  l = list::push_back(l, constant({3.f, 4.f}));
  EXPECT_EQ(list::length(l).item<int32_t>(), 3);
  std::vector<Tensor> popped = list::pop_back(l, float32, TensorShape{2});
  EXPECT_EQ(vals(popped[1]), (std::vector<double>{3, 4}));
  EXPECT_EQ(list::length(popped[0]).item<int32_t>(), 2);
  Tensor grown = list::resize(popped[0], constant(int32_t{4}));
  EXPECT_EQ(vals(list::stack(grown, float32, TensorShape{2})), (std::vector<double>{0, 0, 1, 2, 0, 0, 0, 0}));
  EXPECT_EQ(list::length(list::resize(grown, constant(int32_t{1}))).item<int32_t>(), 1);
  // AddN: tensors elementwise; lists element by element, an unset element adding nothing.
  EXPECT_EQ(vals(add_n({constant({1.0, 2.0}, float64), constant({10.0, 20.0}, float64), constant({100.0, 200.0}, float64)})),
            (std::vector<double>{111, 222}));
  Tensor a = list::set_item(list::reserve(constant(int32_t{2}), float64, TensorShape{}), constant(int32_t{0}),
                            constant(1.0, float64));
  Tensor b = list::set_item(list::reserve(constant(int32_t{2}), float64, TensorShape{}), constant(int32_t{0}),
                            constant(2.0, float64));
  b = list::set_item(b, constant(int32_t{1}), constant(5.0, float64));
  EXPECT_EQ(vals(list::stack(add_n({a, b}), float64, TensorShape{})), (std::vector<double>{3, 5}));
  EXPECT_NE(error_of<InvalidArgument>([&] { add_n({a, list::push_back(b, constant(1.0, float64))}); })
                .find("Trying to add two lists of tensors with different lengths. One is 2 and the other is 3"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { list::pop_back(list::reserve(constant(int32_t{0}), float32, TensorShape{}), float32, TensorShape{}); })
                .find("Trying to pop from an empty list."),
            std::string::npos);
  std::vector<Tensor> cat = list::concat(list::split(constant({1.0, 2.0, 3.0}, float64), constant(std::vector<int64_t>{2, 0, 1}), TensorShape{-1}),
                                         constant(std::vector<int64_t>{}, TensorShape{0}), float64, TensorShape{-1});
  EXPECT_EQ(vals(cat[0]), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(vals(cat[1]), (std::vector<double>{2, 0, 1}));
}

// loss(x) = sum(w * program(x)) for a fixed random w, and its gradient: the
// tape's (eager, and inside a traced function) against central differences.
void check_gradient(const std::function<Tensor(const Tensor&)>& program, const Tensor& x, const std::string& what) {
  Tensor probe = program(x);
  Tensor w = random_tensor(probe.shape(), float64, -1, 1, 5);
  auto loss = [&](const Tensor& v) { return reduce_sum(w * program(v)); };
  std::vector<double> want = central_differences([&](const Tensor& v) { return loss(v).item<double>(); }, x);
  GradientTape tape;
  tape.watch(x);
  Tensor l = loss(x);
  expect_near(vals(tape.gradient(l, x)), want, 1e-6, what + " (eager)");
  auto traced = function([&](Tensor v) {
    GradientTape t;
    t.watch(v);
    Tensor lv = loss(v);
    return t.gradient(lv, v);
  });
  expect_near(vals(traced(x)), want, 1e-6, what + " (traced)");
}

TEST_P(ListTest, GradientsThroughEveryPairOfListOps) {
  Tensor x = random_tensor({4, 3}, float64, -1, 1, 3);
  check_gradient([](const Tensor& v) {  // read <-> write, and a read of an unwritten element
    TensorArray ta(float64, 5, {.element_shape = TensorShape{3}});
    for (int64_t i = 0; i < 4; ++i) ta = ta.write(i, row(v, i) * row(v, 3 - i));
    return ta.read(1) * ta.read(2) + ta.read(4);
  }, x, "read/write");
  check_gradient([](const Tensor& v) {  // unstack <-> stack
    TensorArray ta = TensorArray(float64, 4).unstack(sin(v));
    return ta.stack() * ta.stack();
  }, x, "stack/unstack");
  check_gradient([](const Tensor& v) {  // scatter <-> gather
    TensorArray ta = TensorArray(float64, 6, {.clear_after_read = false}).scatter({5, 0, 2, 3}, exp(v));
    return ta.gather({0, 3, 1});
  }, x, "gather/scatter");
  check_gradient([](const Tensor& v) {  // an index gathered twice: both reads' gradients reach it
    return TensorArray(float64, 4).unstack(v * v).gather({3, 1, 3});
  }, x, "gather of a repeated index");
  check_gradient([](const Tensor& v) {  // split <-> concat
    // (Eager reads clear: without clear_after_read = false the result would
    // depend on whether concat or read runs first.)
    TensorArray ta = TensorArray(float64, 3, {.clear_after_read = false}).split(v * v, {2, 0, 2});
    Tensor all = reshape(ta.concat(), {4, 3});
    return all * reduce_sum(reshape(ta.read(2), {2, 3}));
  }, x, "split/concat");
  check_gradient([](const Tensor& v) {  // push/pop and a resized list
    Tensor l = list::push_back(list::from_tensor(v, TensorShape{3}), row(v, 0) * 2.0);
    std::vector<Tensor> p = list::pop_back(l, float64, TensorShape{3});
    Tensor r = list::resize(p[0], constant(int32_t{6}));
    return list::stack(r, float64, TensorShape{3}) + reduce_sum(p[1]);
  }, x, "push/pop/resize");
}

TEST_P(ListTest, GradientsThroughATensorArrayInALoop) {
  // y_i = x_i * y_{i-1} accumulated into an array inside a loop; the loss
  // reads the stacked array: eager loop, and traced loop under a tape.
  auto program = [](const Tensor& v) {
    auto out = for_range(int64_t{0}, v.dim(0), int64_t{1},
                         [&](const Tensor& i, const std::pair<Tensor, TensorArray>& s) {
                           Tensor y = s.first * gather(v, i, 0);
                           return std::pair<Tensor, TensorArray>{y, s.second.write(cast(i, int32), y)};
                         },
                         std::pair<Tensor, TensorArray>{constant(1.0, float64), TensorArray(float64, v.dim(0))});
    return out.second.stack();
  };
  Tensor x = random_tensor({5}, float64, 0.5, 1.5, 9);
  Tensor w = random_tensor({5}, float64, -1, 1, 6);
  auto loss = [&](const Tensor& v) { return reduce_sum(w * program(v)); };
  std::vector<double> want = central_differences([&](const Tensor& v) { return loss(v).item<double>(); }, x);
  GradientTape tape;
  tape.watch(x);
  Tensor l = loss(x);
  expect_near(vals(tape.gradient(l, x)), want, 1e-6, "eager loop");
  auto traced = function([&](Tensor v) { return loss(v); });
  GradientTape outer;
  outer.watch(x);
  Tensor lt = traced(x);
  expect_near(vals(outer.gradient(lt, x)), want, 1e-6, "traced loop under an eager tape");
  auto inside = function([&](Tensor v) {  // the tape inside the function: the array flows through the gradient loop
    GradientTape t;
    t.watch(v);
    Tensor lv = loss(v);
    return t.gradient(lv, v);
  });
  expect_near(vals(inside(x)), want, 1e-6, "traced loop, tape inside");
}

TEST_P(ListTest, GradientsThroughADynamicArraysStackOfUnknownLength) {
  // A dynamic array grown in a traced while_loop stacks to a tensor of
  // unknown first dimension; its mean's gradient is shaped when it runs.
  auto f = function([](Tensor x, Tensor n) {
    GradientTape t;
    t.watch(x);
    auto [i, ta] = while_loop([&](const Tensor& k, const TensorArray&) { return less(k, n); },
                              [&](const Tensor& k, const TensorArray& a) {
                                return std::make_tuple(k + constant(int32_t{1}),
                                                       a.write(k, sin(x * cast(k + constant(int32_t{1}), float64))));
                              },
                              std::make_tuple(constant(int32_t{0}), TensorArray(float64, 0, {.dynamic_size = true})));
    Tensor s = ta.stack();
    EXPECT_FALSE(s.shape().is_fully_defined());
    Tensor loss = reduce_mean(s * s) + reduce_sum(s);
    return std::make_tuple(loss, t.gradient(loss, x));
  });
  Tensor x = random_tensor({3}, float64, -1, 1, 12);
  for (int32_t n : {1, 4}) {
    auto loss_of = [&](const Tensor& v) {
      double total = 0, sum = 0;
      std::vector<double> xv = vals(v);
      for (int32_t k = 1; k <= n; ++k)
        for (double e : xv) {
          double s = std::sin(e * k);
          total += s * s;
          sum += s;
        }
      return total / (n * 3.0) + sum;
    };
    auto [loss, g] = f(x, constant(n));
    EXPECT_NEAR(loss.item<double>(), loss_of(x), 1e-12) << n;
    expect_near(vals(g), central_differences(loss_of, x), 1e-6, "n = " + std::to_string(n));
  }
}

TEST_P(ListTest, Int64SizesAndIndicesAreReadWholeAndHugeListsAreRefused) {
  // An int64 size or index past 2^32 is never wrapped to 32 bits (2^32 + 3
  // was 3; index 2^32 wrote element 0): it is the value it holds.
  constexpr int64_t k32 = int64_t{1} << 32;
  TensorArray small(float32, constant(int64_t{3}));
  EXPECT_EQ(error_of<OutOfRange>([&] { small.write(constant(k32), constant(1.f)); }),
            "Tried to write to index 4294967296 but array is not resizeable and size is: 3");
  EXPECT_EQ(error_of<OutOfRange>([&] { small.write(0, constant(1.f)).read(constant(k32 + 1)); }),
            "Tried to read from index 4294967297 but array size is: 3");
  EXPECT_NE(error_of<ResourceExhausted>([&] { TensorArray(float32, constant(k32 + 3)); }).find("4294967299 elements"),
            std::string::npos);
  // A list too large for the machine is ResourceExhausted naming the op, never std::bad_alloc.
  EXPECT_NE(error_of<ResourceExhausted>([&] { TensorArray(float32, constant(int32_t{2147483647})); })
                .find("[list::reserve] a tensor list of 2147483647 elements"),
            std::string::npos);
  TensorArray dynamic(float32, 0, {.dynamic_size = true});
  EXPECT_THROW(dynamic.write(2147483646, constant(1.f)), ResourceExhausted);
  // Traced, an int64 index reaches the list ops whole too.
  auto f = function([](Tensor i) { return TensorArray(float32, 3).write(i, constant(1.f)).stack(); });
  EXPECT_EQ(values(f(constant(int64_t{2}))), (std::vector<double>{0, 0, 1}));
  EXPECT_NE(error_of<OutOfRange>([&] { f(constant(k32 + 1)); }).find("index 4294967297"), std::string::npos);
}

// TensorListElementShape as TensorFlow's (its gradient graphs read a list's
// shape with it): the dimensions, -1 for an unknown one, -1 alone for an
// unknown rank; int32 or int64.
TEST_P(ListTest, ElementShapeAsTensorFlowGivesIt) {
  const Tensor n = constant(int32_t{2});
  EXPECT_TRUE(all_close(list::element_shape(list::reserve(n, float32, TensorShape{-1, 3})), {-1, 3}, {2}, 0, 0));
  const Tensor known = list::element_shape(list::from_tensor(zeros({4, 2, 5}), TensorShape{2, 5}), int64);
  EXPECT_EQ(known.dtype(), int64);
  EXPECT_TRUE(all_close(known, {2, 5}, {2}, 0, 0));
  EXPECT_TRUE(all_close(list::element_shape(list::reserve(n, float32, TensorShape::unknown_rank())), {-1}, {}, 0, 0));
  EXPECT_TRUE(all_close(list::element_shape(list::reserve(n, float32, TensorShape{})), {}, {0}, 0, 0));
  EXPECT_NE(error_of<InvalidArgument>([&] {
              execute(op_def(op_name::TensorListElementShape), {list::reserve(n, float32, TensorShape{})},
                      {{"shape_type", float32}});
            }).find("shape_type must be int32 or int64"),
            std::string::npos);
}

// zeros_like of a list (TensorFlow's loop gradients make their accumulators
// so): each set element zeros, the unset ones still unset (read as zeros of
// the element shape), the list itself unchanged.
TEST_P(ListTest, ZerosLikeOfAListZerosItsSetElements) {
  const Tensor l = list::set_item(list::reserve(constant(int32_t{3}), float32, TensorShape{2}), constant(int32_t{0}),
                                  constant({1.f, 2.f}));
  const Tensor z = zeros_like(l);
  EXPECT_EQ(z.dtype(), variant);
  EXPECT_TRUE(all_close(list::length(z), {3}, {}, 0, 0));
  EXPECT_TRUE(all_close(list::stack(z, float32, TensorShape{2}), {0, 0, 0, 0, 0, 0}, {3, 2}, 0, 0));
  EXPECT_TRUE(all_close(list::get_item(l, constant(int32_t{0}), float32, TensorShape{2}), {1, 2}, {2}, 0, 0));
  const Tensor full = zeros_like(list::from_tensor(ones({2, 3}), TensorShape{3}));
  EXPECT_TRUE(all_close(list::stack(full, float32, TensorShape{3}), {0, 0, 0, 0, 0, 0}, {2, 3}, 0, 0));
}

EMBER_INSTANTIATE_DEVICE_TESTS(ListTest);

}  // namespace
}  // namespace ember::test
