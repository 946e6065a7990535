// Shape ops against references: index arithmetic written out in the test
// (transpose, slice, tile, pad, ...) or NumPy's documented results.
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/function.h"
#include "test_util.h"

namespace ember::test {
namespace {

class ShapeOpsTest : public DeviceTest {};

const CoveredOps covered{op_name::Reshape,  op_name::Transpose,  op_name::Slice,
                         op_name::StridedSlice, op_name::ConcatV2, op_name::Pack,
                         op_name::Unpack,   op_name::SplitV,     op_name::Tile,
                         op_name::PadV2,    op_name::MirrorPad,  op_name::BroadcastTo,
                         op_name::ExpandDims, op_name::Squeeze, op_name::Snapshot,
                         op_name::EnsureShape, op_name::ZerosLike, op_name::OnesLike,
                         op_name::Shape,    op_name::Rank,       op_name::Size,
                         op_name::BroadcastGradientArgs, op_name::Where, op_name::Unique};

TEST_P(ShapeOpsTest, ReshapeSharesTheBufferAndInfersMinusOne) {
  Tensor x = make(iota_values(12), {3, 4}, float32);
  Tensor y = reshape(x, {2, -1});
  EXPECT_EQ(y.shape(), (TensorShape{2, 6}));
  EXPECT_EQ(y.raw_data(), x.raw_data());
  EXPECT_EQ(values(y), iota_values(12));
  EXPECT_EQ(reshape(x, {12}).shape(), (TensorShape{12}));
  EXPECT_EQ(reshape(zeros({0, 3}), {-1, 3, 0}).shape(), (TensorShape{0, 3, 0}));
  try {
    reshape(x, {5, 2});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(
        e.what(),
        "[reshape] cannot reshape a tensor of 12 elements [3,4] into shape [5,2] (10 elements)");
  }
  EXPECT_THROW(reshape(x, {-1, -1}), InvalidArgument);
  EXPECT_THROW(reshape(x, {5, -1}), InvalidArgument);
}

TEST_P(ShapeOpsTest, TransposeEveryPermutation) {
  const TensorShape s{2, 3, 4};
  for (DType dt : kAll) {
    std::vector<double> in;
    Tensor x = random_tensor(s, dt, 1, 100, 3, &in);
    std::vector<int64_t> perm = {0, 1, 2};
    do {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " perm " + TensorShape(perm).to_debug_string());
      TensorShape os{s.dim(static_cast<int>(perm[0])), s.dim(static_cast<int>(perm[1])),
                     s.dim(static_cast<int>(perm[2]))};
      std::vector<double> want;
      for (int64_t i = 0; i < os.num_elements(); ++i) {
        auto oi = unravel(i, os);
        std::vector<int64_t> ii(3);
        for (int d = 0; d < 3; ++d)
          ii[static_cast<size_t>(perm[static_cast<size_t>(d)])] = oi[static_cast<size_t>(d)];
        want.push_back(in[static_cast<size_t>(ravel(ii, s))]);
      }
      EXPECT_TRUE(all_close(transpose(x, perm), want, os));
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
  EXPECT_EQ(transpose(ones({2, 5})).shape(), (TensorShape{5, 2}));
  EXPECT_EQ(transpose(constant(1.f)).shape(), TensorShape{});
  EXPECT_THROW(transpose(ones({2, 3}), {0, 0}), InvalidArgument);
  // A large transpose goes through the threaded path.
  std::vector<double> big;
  Tensor b = random_tensor({300, 200}, float32, -1, 1, 4, &big);
  auto t = values(transpose(b));
  EXPECT_EQ(t[static_cast<size_t>(7 * 300 + 11)], big[static_cast<size_t>(11 * 200 + 7)]);
}

TEST_P(ShapeOpsTest, Slice) {
  Tensor x = make(iota_values(24, 0), {2, 3, 4}, int32);
  EXPECT_TRUE(all_close(slice(x, {1, 1, 1}, {1, 2, -1}), {17, 18, 19, 21, 22, 23}, {1, 2, 3}));
  EXPECT_EQ(slice(x, {0, 0, 4}, {-1, -1, -1}).shape(), (TensorShape{2, 3, 0}));
  try {
    slice(x, {0, 2, 0}, {1, 2, 1});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[slice] slice [2, 4) of dimension 1 is out of range [0, 3]");
  }
}

TEST_P(ShapeOpsTest, StridedSliceFollowsPythonSemantics) {
  Tensor x = make(iota_values(10, 0), {10}, int64);
  auto ss = [&](int64_t b, int64_t e, int64_t s, StridedSliceOptions o = {}) {
    return values(strided_slice(x, {b}, {e}, {s}, o));
  };
  EXPECT_EQ(ss(1, 8, 2), (std::vector<double>{1, 3, 5, 7}));  // x[1:8:2]
  EXPECT_EQ(ss(0, 0, -1, {.begin_mask = 1, .end_mask = 1}),
            (std::vector<double>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));            // x[::-1]
  EXPECT_EQ(ss(-3, 0, 1, {.end_mask = 1}), (std::vector<double>{7, 8, 9}));  // x[-3:]
  EXPECT_EQ(ss(8, 1, -3), (std::vector<double>{8, 5, 2}));                   // x[8:1:-3]
  EXPECT_EQ(ss(5, 2, 1), (std::vector<double>{}));                           // x[5:2]
  EXPECT_EQ(ss(-100, 100, 1), iota_values(10, 0));                           // clamped
  EXPECT_EQ(strided_slice(x, {4}, {5}, {1}, {.shrink_axis_mask = 1}).shape(),
            TensorShape{});                                                                 // x[4]
  EXPECT_EQ(strided_slice(x, {-1}, {0}, {1}, {.shrink_axis_mask = 1}).item<int64_t>(), 9);  // x[-1]

  Tensor m = make(iota_values(24, 0), {2, 3, 4}, float32);
  // m[1, :, 2] -> [14, 18, 22]
  Tensor r = strided_slice(m, {1, 0, 2}, {2, 0, 3}, {1, 1, 1},
                           {.begin_mask = 2, .end_mask = 2, .shrink_axis_mask = 5});
  EXPECT_TRUE(all_close(r, {14, 18, 22}, {3}));
  // m[..., 1] -> shape (2, 3)
  Tensor e = strided_slice(m, {0, 1}, {0, 2}, {1, 1}, {.ellipsis_mask = 1, .shrink_axis_mask = 2});
  EXPECT_TRUE(all_close(e, {1, 5, 9, 13, 17, 21}, {2, 3}));
  // m[:, None, ::2, -1] -> shape (2, 1, 2)
  Tensor n =
      strided_slice(m, {0, 0, 0, -1}, {0, 0, 0, 0}, {1, 1, 2, 1},
                    {.begin_mask = 5, .end_mask = 5, .new_axis_mask = 2, .shrink_axis_mask = 8});
  EXPECT_TRUE(all_close(n, {3, 11, 15, 23}, {2, 1, 2}));
  EXPECT_THROW(strided_slice(x, {0}, {1}, {0}), InvalidArgument);
  EXPECT_THROW(strided_slice(x, {10}, {11}, {1}, {.shrink_axis_mask = 1}), InvalidArgument);
  // Any non-zero stride is a stride, INT64_MIN too (the fuzz test's): over
  // at most one element it never steps (its product with the dimension's
  // stride once overflowed, which UBSan caught).
  const int64_t most_negative = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(ss(7, 0, most_negative), (std::vector<double>{7}));  // x[7:0:-2**63]
  EXPECT_EQ(ss(0, 5, most_negative), (std::vector<double>{}));   // x[0:5:-2**63]
  EXPECT_TRUE(all_close(strided_slice(m, {1, 2}, {0, 0}, {most_negative, 1}, {.end_mask = 2}), {20, 21, 22, 23},
                        {1, 1, 4}));  // m[1:0:-2**63, 2:]
}

TEST_P(ShapeOpsTest, ConcatStackUnstackSplit) {
  for (DType dt : kAll) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> va, vb;
    Tensor a = random_tensor({2, 3}, dt, 1, 50, 1, &va);
    Tensor b = random_tensor({2, 2}, dt, 1, 50, 2, &vb);
    std::vector<double> want = {va[0], va[1], va[2], vb[0], vb[1],
                                va[3], va[4], va[5], vb[2], vb[3]};
    EXPECT_TRUE(all_close(concat({a, b}, 1), want, {2, 5}));
    EXPECT_TRUE(all_close(
        concat({a, a}, 0),
        {va[0], va[1], va[2], va[3], va[4], va[5], va[0], va[1], va[2], va[3], va[4], va[5]},
        {4, 3}));
    Tensor s = stack({a, a}, 1);
    EXPECT_TRUE(all_close(
        s, {va[0], va[1], va[2], va[0], va[1], va[2], va[3], va[4], va[5], va[3], va[4], va[5]},
        {2, 2, 3}));
    auto parts = unstack(a, 1);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(all_close(parts[1], {va[1], va[4]}, {2}));
    auto sp = split(a, std::vector<int64_t>{1, -1}, 1);
    ASSERT_EQ(sp.size(), 2u);
    EXPECT_TRUE(all_close(sp[0], {va[0], va[3]}, {2, 1}));
    EXPECT_TRUE(all_close(sp[1], {va[1], va[2], va[4], va[5]}, {2, 2}));
  }
  auto eq = split(make(iota_values(6), {6}, float32), int64_t{3});
  ASSERT_EQ(eq.size(), 3u);
  EXPECT_TRUE(all_close(eq[2], {5, 6}, {2}));
  EXPECT_THROW(split(ones({5}), int64_t{2}), InvalidArgument);
  EXPECT_THROW(split(ones({5}), std::vector<int64_t>{2, 2}), InvalidArgument);
  try {
    concat({ones({2, 3}), ones({3, 3})}, 1);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[concat] shapes differ outside axis 1: [2,3] vs [3,3] (tensor 1)");
  }
  EXPECT_THROW(concat({ones({2}), ones({2}, int32)}, 0), InvalidArgument);
  EXPECT_THROW(stack({ones({2}), ones({3})}), InvalidArgument);
  EXPECT_EQ(concat({zeros({0, 2}), ones({1, 2})}, 0).shape(), (TensorShape{1, 2}));
}

TEST_P(ShapeOpsTest, TileBroadcastExpandSqueeze) {
  Tensor x = make({1, 2, 3, 4}, {2, 2}, int32);
  EXPECT_TRUE(all_close(tile(x, {2, 3}),
                        {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4},
                        {4, 6}));
  EXPECT_EQ(tile(x, {0, 1}).shape(), (TensorShape{0, 2}));
  Tensor r = make({1, 2, 3}, {3}, float32);
  EXPECT_TRUE(all_close(broadcast_to(r, {2, 3}), {1, 2, 3, 1, 2, 3}, {2, 3}));
  EXPECT_TRUE(all_close(broadcast_to(reshape(r, {3, 1}), {3, 2}), {1, 1, 2, 2, 3, 3}, {3, 2}));
  EXPECT_THROW(broadcast_to(r, {2, 4}), InvalidArgument);
  EXPECT_EQ(expand_dims(x, 0).shape(), (TensorShape{1, 2, 2}));
  EXPECT_EQ(expand_dims(x, -1).shape(), (TensorShape{2, 2, 1}));
  EXPECT_EQ(expand_dims(x, 1).raw_data(), x.raw_data());
  EXPECT_THROW(expand_dims(x, 4), InvalidArgument);
  EXPECT_EQ(squeeze(ones({1, 3, 1})).shape(), (TensorShape{3}));
  EXPECT_EQ(squeeze(ones({1, 3, 1}), {-1}).shape(), (TensorShape{1, 3}));
  try {
    squeeze(ones({1, 3}), {1});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[squeeze] cannot squeeze dimension 1 of size 3 in [1,3]");
  }
}

TEST_P(ShapeOpsTest, PadModesMatchNumpy) {
  Tensor x = make({1, 2, 3}, {3}, float32);
  // np.pad([1,2,3], (2,2)), mode constant(9), reflect, symmetric
  EXPECT_TRUE(all_close(pad(x, {{2, 2}}, PadMode::Constant, 9), {9, 9, 1, 2, 3, 9, 9}, {7}));
  EXPECT_TRUE(all_close(pad(x, {{2, 2}}, PadMode::Reflect), {3, 2, 1, 2, 3, 2, 1}, {7}));
  EXPECT_TRUE(all_close(pad(x, {{2, 2}}, PadMode::Symmetric), {2, 1, 1, 2, 3, 3, 2}, {7}));
  Tensor m = make({1, 2, 3, 4}, {2, 2}, int64);
  EXPECT_TRUE(all_close(pad(m, {{1, 0}, {0, 1}}), {0, 0, 0, 1, 2, 0, 3, 4, 0}, {3, 3}));
  EXPECT_THROW(pad(x, {{3, 0}}, PadMode::Reflect), InvalidArgument);
  EXPECT_THROW(pad(x, {{-1, 0}}), InvalidArgument);
  EXPECT_THROW(pad(x, {{1, 0}, {1, 0}}), InvalidArgument);
}

// clone() and to() go through the dispatch point: tapes see them.
TEST_P(ShapeOpsTest, CloneAndToAreOpsTapesRecord) {
  Tensor x = make({1, 2, 3}, {3}, float32, Device::cpu());
  Tensor c = x.clone();
  EXPECT_NE(c.raw_data(), x.raw_data());
  EXPECT_TRUE(all_close(c, {1, 2, 3}, {3}));
  GradientTape tape({.persistent = true});
  tape.watch(x);
  Tensor y = x.clone() * 3.0;
  EXPECT_TRUE(all_close(tape.gradient(y, x), {3, 3, 3}, {3}));
  Tensor z = x.to(device()) * 2.0;  // a copy to this test's device, when it is another
  Tensor dz = tape.gradient(z, x);
  ASSERT_TRUE(dz.defined());
  EXPECT_EQ(dz.device(), Device::cpu());
  EXPECT_TRUE(all_close(dz, {2, 2, 2}, {3}));
}

TEST_P(ShapeOpsTest, EnsureShapeChecksAndSetShapePins) {
  Tensor x = constant({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, TensorShape{2, 3});
  Tensor y = ensure_shape(x, TensorShape{2, TensorShape::kUnknown});
  EXPECT_EQ(y.shape(), (TensorShape{2, 3}));
  EXPECT_EQ(values(y.to(Device::cpu())), values(x.to(Device::cpu())));
  EXPECT_NE(y.id(), x.id());  // a new tensor on the same buffer
  try {
    ensure_shape(x, TensorShape{3, 2});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    // TensorFlow's eager text: "Shape of tensor input [2,3] is not compatible with expected shape [3,2]."
    EXPECT_NE(std::string(e.what()).find("Shape of tensor [2,3] is not compatible with expected shape [3,2]."),
              std::string::npos)
        << e.what();
  }
  x.set_shape(TensorShape{TensorShape::kUnknown, 3});  // a concrete tensor: only checked
  EXPECT_EQ(x.shape(), (TensorShape{2, 3}));
  try {
    x.set_shape(TensorShape{4});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Tensor's shape (2, 3) is not compatible with supplied shape (4,)."),
              std::string::npos)
        << e.what();
  }
  // Its gradient is the identity.
  Tensor v = constant({1.0, 2.0}, float64);
  GradientTape tape;
  tape.watch(v);
  Tensor s = reduce_sum(ensure_shape(v * v, TensorShape{2}));
  EXPECT_EQ(values(tape.gradient(s, v).to(Device::cpu())), (std::vector<double>{2, 4}));
}

TEST_P(ShapeOpsTest, ZerosAndOnesLikeATracedTensorOfUnknownShape) {
  // A known shape gives a constant (Fill); an unknown one TensorFlow's
  // ZerosLike/OnesLike, shaped when the function runs.
  auto f = function([](Tensor x) {
    Tensor grown = concat({x, x}, 0);
    grown.set_shape(TensorShape::unknown_rank());
    Tensor t = ensure_shape(x, TensorShape{TensorShape::kUnknown});
    return std::make_tuple(zeros_like(t), ones_like(t) * 2.0, zeros_like(x));
  });
  Tensor x = constant({1.0, 2.0, 3.0}, float64);
  ConcreteFunction cf = f.get_concrete_function(TensorSpec({TensorShape::kUnknown}, float64));
  auto out = cf.call(std::vector<Tensor>{x});
  EXPECT_EQ(values(out[0].to(Device::cpu())), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(values(out[1].to(Device::cpu())), (std::vector<double>{2, 2, 2}));
  EXPECT_EQ(values(out[2].to(Device::cpu())), (std::vector<double>{0, 0, 0}));
  int like = 0;
  for (const Node& n : cf.graph().nodes)
    like += n.kind == Node::Kind::Op && (n.op->name == op_name::ZerosLike || n.op->name == op_name::OnesLike);
  EXPECT_EQ(like, 3) << cf.graph().to_string();
}

// TensorFlow's axes (tf.raw_ops.BroadcastGradientArgs, TensorFlow 2.21):
// none for equal shapes, else each shape's missing axes and those where it
// has 1, even where the other has 1 too; int32 and int64; TensorFlow's error.
TEST_P(ShapeOpsTest, BroadcastGradientArgsGivesTensorFlowsAxes) {
  struct Case {
    std::vector<int64_t> s0, s1, r0, r1;
  };
  const Case cases[] = {{{2, 1, 3}, {4, 1}, {1}, {0, 2}}, {{1}, {1}, {}, {}},         {{}, {2, 3}, {0, 1}, {}},
                        {{2, 3}, {2, 3}, {}, {}},        {{1, 1}, {3, 1}, {0, 1}, {1}}, {{5, 1, 1}, {1}, {1, 2}, {0, 1, 2}},
                        {{0, 3}, {1, 3}, {}, {0}},       {{2, 1}, {1, 0}, {1}, {0}}};
  const Device on = device();
  auto vec = [on](const std::vector<int64_t>& v, DType t) {
    return cast(constant(v, TensorShape{static_cast<int64_t>(v.size())}), t).to(on);
  };
  for (DType t : {int32, int64})
    for (const Case& c : cases) {
      SCOPED_TRACE(detail::str_cat(TensorShape(c.s0).to_debug_string(), " ", TensorShape(c.s1).to_debug_string(), " ",
                                   dtype_name(t)));
      auto [r0, r1] = broadcast_gradient_args(vec(c.s0, t), vec(c.s1, t));
      EXPECT_EQ(r0.dtype(), t);
      EXPECT_EQ(cast(r0, int64).to(Device::cpu()).to_vector<int64_t>(), c.r0);
      EXPECT_EQ(cast(r1, int64).to(Device::cpu()).to_vector<int64_t>(), c.r1);
    }
  EXPECT_NE(error_of<InvalidArgument>([&] { broadcast_gradient_args(vec({2, 3}, int32), vec({4, 3}, int32)); })
                .find("Incompatible shapes: [2,3] vs. [4,3]"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { broadcast_gradient_args(vec({-5, 3}, int32), vec({2, 3}, int32)); })
                .find("shapes must be non-negative, got [-5,3] and [2,3]"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { broadcast_gradient_args(vec({2}, int32), vec({2}, int64)); })
                .find("s0 and s1 must be int32 or int64 shapes of one dtype"),
            std::string::npos);
}

TEST_P(ShapeOpsTest, ShapeRankAndSizeAreKnownWhenTheFunctionRuns) {
  // Eagerly (and in a trace of known shapes) they are constants; of unknown
  // shapes, ops that read the shape as the function runs.
  Tensor x = make(iota_values(24), {2, 3, 4}, float32);
  EXPECT_EQ(shape(x).dtype(), int32);
  EXPECT_EQ(shape(x).to_vector<int32_t>(), (std::vector<int32_t>{2, 3, 4}));
  EXPECT_EQ(shape(x, int64).to_vector<int64_t>(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(rank(x).item<int32_t>(), 3);
  EXPECT_EQ(size(x).item<int32_t>(), 24);
  EXPECT_EQ(shape(constant(1.f)).shape(), (TensorShape{0}));
  EXPECT_THROW(shape(x, float32), InvalidArgument);
  auto f = function([](Tensor t) { return std::make_tuple(shape(t), rank(t), size(t, int64)); },
                    {.input_signature = std::vector<TensorSpec>{TensorSpec()}});
  for (const Tensor& in : {x, make({1.5}, {1}, float32), constant(2.f)}) {
    auto [s, r, n] = f(in);
    std::vector<int32_t> want(in.shape().dims().begin(), in.shape().dims().end());
    EXPECT_EQ(s.to(Device::cpu()).to_vector<int32_t>(), want);
    EXPECT_EQ(r.to(Device::cpu()).item<int32_t>(), in.rank());
    EXPECT_EQ(n.to(Device::cpu()).item<int64_t>(), in.shape().num_elements());
  }
  const Graph& g = f.list_concrete_functions()[0].graph();
  EXPECT_EQ(g.spec(g.outputs[0]).shape, (TensorShape{TensorShape::kUnknown})) << g.to_string();
}

TEST_P(ShapeOpsTest, AttributesTensorFlowTakesAsTensorsMayBeTensors) {
  // A reshape to a computed shape, a range to a computed limit, a transpose
  // by a computed permutation: the values are read when the op runs.
  Tensor x = make(iota_values(12), {3, 4}, float32);
  EXPECT_EQ(reshape(x, constant(std::vector<int32_t>{2, -1})).shape(), (TensorShape{2, 6}));
  EXPECT_EQ(values(range(constant(int64_t{1}), constant(int64_t{7}), constant(int64_t{2}))),
            (std::vector<double>{1, 3, 5}));
  auto f = function([](Tensor t, Tensor n) {
    Tensor flat = reshape(t, concat({strided_slice(shape(t), {0}, {1}, {1}), constant(std::vector<int32_t>{-1})}, 0));
    return std::make_tuple(flat, range(constant(int32_t{0}), n, constant(int32_t{1})));
  }, {.input_signature = std::vector<TensorSpec>{TensorSpec({-1, -1, -1}), TensorSpec({}, int32)}});
  auto [flat, r] = f(make(iota_values(24), {2, 3, 4}, float32), constant(int32_t{5}));
  EXPECT_EQ(flat.shape(), (TensorShape{2, 12}));
  EXPECT_EQ(values(flat), iota_values(24));
  EXPECT_EQ(r.to(Device::cpu()).to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 2, 3, 4}));
  // A value of the wrong kind is refused when it is read, naming the op.
  EXPECT_EQ(error_of<InvalidArgument>([&] { reshape(x, constant(std::vector<float>{2, 6})); }),
            "[reshape] shape must be a vector of int32 or int64, got a float32 tensor of shape [2]");
  // An op called without the attribute and without a tensor for it says which it needs.
  EXPECT_EQ(error_of<InvalidArgument>([&] { execute(op_def(op_name::Sum), {x}, {{"keep_dims", false}}); }),
            "[reduce_sum] op Sum needs attribute 'axis' (list(int)), or a tensor holding it after its 1 input; got 1 input");
}

// reverse (tf.reverse) against mirrored indices in float64: every axis set
// of a rank-3 tensor, eagerly, traced with no dimension known and with no
// rank known (negative axes then count from the back); its gradient is the
// reversed upstream gradient; and its errors.
TEST_P(ShapeOpsTest, ReverseMirrorsTheGivenAxes) {
  const TensorShape shape{2, 3, 4};
  std::vector<double> in;
  const Tensor x = random_tensor(shape, float64, -1, 1, 7, &in);
  auto mirrored = [&](const std::vector<int64_t>& axes, const std::vector<double>& v) {
    std::vector<double> out(v.size());
    for (int64_t i = 0; i < shape.num_elements(); ++i) {
      std::vector<int64_t> idx = unravel(i, shape);
      for (int64_t a : axes) {
        const auto k = static_cast<size_t>(a < 0 ? a + 3 : a);
        idx[k] = shape.dim(static_cast<int>(k)) - 1 - idx[k];
      }
      out[static_cast<size_t>(i)] = v[static_cast<size_t>(ravel(idx, shape))];
    }
    return out;
  };
  const std::vector<std::vector<int64_t>> sets = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {-3, 1}, {0, 1, 2}, {2, -2}};
  for (const auto& axes : sets) {
    std::string name;
    for (int64_t a : axes) name += std::to_string(a) + " ";
    SCOPED_TRACE("axes " + name);
    const std::vector<double> want = mirrored(axes, in);
    EXPECT_TRUE(all_close(reverse(x, axes), want, shape, 0, 0));
    const bool mixed = std::any_of(axes.begin(), axes.end(), [](int64_t a) { return a < 0; }) &&
                       std::any_of(axes.begin(), axes.end(), [](int64_t a) { return a >= 0; });
    for (const TensorShape& spec : {TensorShape({-1, -1, -1}), TensorShape::unknown_rank()}) {
      auto f = function([axes](Tensor t) { return reverse(t, axes); });
      if (mixed && !spec.rank_known()) {
        EXPECT_NE(error_of<Unimplemented>([&] { f.get_concrete_function(TensorSpec(spec, float64)); })
                      .find("axes counted from both ends of a tensor of unknown rank"),
                  std::string::npos);
        continue;
      }
      ConcreteFunction cf = f.get_concrete_function(TensorSpec(spec, float64));
      EXPECT_TRUE(all_close(cf.call(std::vector<Tensor>{x}).at(0), want, shape, 0, 0)) << spec.to_string();
    }
    std::vector<double> wv;
    const Tensor w = random_tensor(shape, float64, -1, 1, 8, &wv);
    GradientTape tape;
    tape.watch(x);
    const Tensor loss = reduce_sum(reverse(x, axes) * w);
    EXPECT_TRUE(all_close(tape.gradient(loss, x), mirrored(axes, wv), shape, 1e-15, 0));
  }
  EXPECT_EQ(reverse(constant({1, 2, 3}), {0}).to_vector<int32_t>(), (std::vector<int32_t>{3, 2, 1}));
  EXPECT_EQ(error_of<InvalidArgument>([&] { reverse(x, {3}); }),
            "[reverse] axis 3 is out of range for a tensor of rank 3 (expected [-3, 3))");
  EXPECT_EQ(error_of<InvalidArgument>([&] { reverse(x, {1, -2}); }), "[reverse] axis 1 is given more than once");
}

// where(condition) gives the true elements' coordinates in row-major order
// (NaN counts, -0 does not, as TensorFlow's Where); boolean_mask gathers
// the elements or slices there; both also traced with no dimension known.
// tf.unique against a reference (a linear search of the values seen, in
// order) on random integers in every integer dtype, and TensorFlow 2.21's
// values where floats are particular: each NaN its own value, -0 and 0 one
// (the first kept); booleans; the empty vector; a matrix refused.
TEST_P(ShapeOpsTest, UniqueKeepsFirstAppearancesAsTensorFlow) {
  for (DType dt : {int32, int64, uint8}) {
    std::vector<double> v;
    const Tensor x = random_tensor({40}, dt, 0, 9, 3, &v);
    std::vector<double> want_y, want_idx;
    for (double e : v) {
      auto at = std::find(want_y.begin(), want_y.end(), e);
      want_idx.push_back(static_cast<double>(at - want_y.begin()));
      if (at == want_y.end()) want_y.push_back(e);
    }
    const UniqueValues u = unique(x, int64);
    EXPECT_EQ(u.y.dtype(), dt);
    EXPECT_EQ(u.idx.dtype(), int64);
    EXPECT_TRUE(all_close(u.y, want_y, {static_cast<int64_t>(want_y.size())}, 0, 0));
    EXPECT_TRUE(all_close(u.idx, want_idx, {40}, 0, 0));
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dt : {float32, float64, bfloat16}) {
    const UniqueValues u = unique(cast(constant({nan, nan, 1.0, -0.0, 0.0, 1.0}, float64), dt));
    EXPECT_TRUE(all_close(u.y, {nan, nan, 1, -0.0}, {4}, 0, 0));
    EXPECT_TRUE(std::signbit(values(u.y)[3]));
    EXPECT_EQ(u.idx.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 2, 3, 3, 2}));
  }
  const UniqueValues b = unique(constant(std::vector<bool>{true, false, true}));
  EXPECT_TRUE(all_close(b.y, {1, 0}, {2}, 0, 0));
  EXPECT_EQ(b.idx.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(unique(zeros({0}, int32)).y.shape(), TensorShape({0}));
  EXPECT_NE(error_of<InvalidArgument>([] { unique(ones({1, 2})); }).find("[unique] unique expects a 1D vector"),
            std::string::npos);
  // Traced with nothing known: the count comes when it runs.
  auto f = function([](const Tensor& t) {
    const UniqueValues u = unique(t);
    return std::vector<Tensor>{u.y, u.idx};
  });
  const std::vector<Tensor> got = f.get_concrete_function(TensorSpec({-1}, int32)).call(std::vector<Tensor>{
      constant(std::vector<int32_t>{5, 5, 7})});
  EXPECT_EQ(got[0].to_vector<int32_t>(), (std::vector<int32_t>{5, 7}));
  EXPECT_EQ(got[1].to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1}));
}

TEST_P(ShapeOpsTest, WhereAndBooleanMask) {
  const Tensor m = cast(constant({{1, 0, 1}, {0, 0, 1}}), bool_);
  EXPECT_EQ(where(m).shape(), TensorShape({3, 2}));
  EXPECT_EQ(where(m).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 2, 1, 2}));
  EXPECT_EQ(where(constant({0.f, -0.f, NAN, 2.f})).to_vector<int64_t>(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(where(cast(constant({0, 0}), bool_)).shape(), TensorShape({0, 1}));
  EXPECT_EQ(where(constant(3.f)).shape(), TensorShape({1, 0}));
  EXPECT_EQ(where(constant(0)).shape(), TensorShape({0, 0}));
  const Tensor x = constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  EXPECT_EQ(boolean_mask(x, m).to_vector<float>(), (std::vector<float>{1, 3, 6}));
  EXPECT_EQ(boolean_mask(x, cast(constant({0, 1}), bool_)).to_vector<float>(), (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(boolean_mask(x, cast(constant({0, 1}), bool_)).shape(), TensorShape({1, 3}));
  ConcreteFunction cf = function([](Tensor t, Tensor mask) { return boolean_mask(t, mask); })
                            .get_concrete_function(TensorSpec({-1, -1}, float32), TensorSpec({-1, -1}, bool_));
  EXPECT_EQ(cf.call(std::vector<Tensor>{x, m}).at(0).to_vector<float>(), (std::vector<float>{1, 3, 6}));
  EXPECT_EQ(error_of<InvalidArgument>([&] { boolean_mask(x, cast(constant({1, 0, 1}), bool_)); }),
            "[boolean_mask] mask of shape (3,) does not match the leading dimensions of x, (2, 3)");
}

// roll against index arithmetic: shifts past the size, negative ones, two
// shifts of one axis adding up; traced with no dimension known.
TEST_P(ShapeOpsTest, RollWrapsAround) {
  const TensorShape shape{3, 4};
  std::vector<double> in;
  const Tensor x = random_tensor(shape, float64, -1, 1, 9, &in);
  auto rolled = [&](int64_t s0, int64_t s1) {
    std::vector<double> out(in.size());
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        out[static_cast<size_t>(((i + s0) % 3 + 3) % 3 * 4 + ((j + s1) % 4 + 4) % 4)] = in[static_cast<size_t>(i * 4 + j)];
    return out;
  };
  EXPECT_TRUE(all_close(roll(x, {1}, {1}), rolled(0, 1), shape, 0, 0));
  EXPECT_TRUE(all_close(roll(x, {-7, 5}, {0, -1}), rolled(-7, 5), shape, 0, 0));
  EXPECT_TRUE(all_close(roll(x, {2, 3, -1}, {1, 1, 0}), rolled(-1, 5), shape, 0, 0));
  ConcreteFunction cf = function([](Tensor t) { return roll(t, {1, -2}, {0, 1}); })
                            .get_concrete_function(TensorSpec({-1, -1}, float64));
  EXPECT_TRUE(all_close(cf.call(std::vector<Tensor>{x}).at(0), rolled(1, -2), shape, 0, 0));
  EXPECT_EQ(error_of<InvalidArgument>([&] { roll(x, {1}, {2}); }),
            "[roll] axis 2 is out of range for a tensor of rank 2 (expected [-2, 2))");
  EXPECT_EQ(error_of<InvalidArgument>([&] { roll(x, {1, 2}, {0}); }),
            "[roll] shift and axis must have the same length, got 2 and 1");
}

EMBER_INSTANTIATE_DEVICE_TESTS(ShapeOpsTest);

}  // namespace
}  // namespace ember::test
