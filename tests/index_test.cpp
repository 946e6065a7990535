// The index-driven ops against references written out in the test: gather,
// gather_nd, scatter_nd, tensor_scatter_add, one_hot, range; indices out of
// range are errors naming the op and the first bad position.
#include <cmath>

#include "test_util.h"

namespace ember::test {
namespace {

class IndexTest : public DeviceTest {};

const CoveredOps covered{op_name::GatherV2,  op_name::GatherNd, op_name::ScatterNd,
                         op_name::TensorScatterAdd, op_name::UnsortedSegmentSum,
                         op_name::UnsortedSegmentMax, op_name::UnsortedSegmentMin,
                         op_name::UnsortedSegmentProd, op_name::OneHot,    op_name::Range};

TEST_P(IndexTest, GatherWithAxisAndBatchDims) {
  const TensorShape ps{2, 3, 4};
  for (DType dt : kAll) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> p;
    Tensor params = random_tensor(ps, dt, 1, 100, 5, &p);
    for (DType it : {int32, int64}) {
      // axis 1, indices [2, 0, 2, 1] -> shape (2, 4, 4)
      Tensor idx = make({2, 0, 2, 1}, {4}, it);
      std::vector<double> want;
      for (int64_t a = 0; a < 2; ++a)
        for (int64_t j : {2, 0, 2, 1})
          for (int64_t c = 0; c < 4; ++c)
            want.push_back(p[static_cast<size_t>((a * 3 + j) * 4 + c)]);
      EXPECT_TRUE(all_close(gather(params, idx, 1), want, {2, 4, 4}));
      // batch_dims 1: indices [[0, 2], [1, 1]] along axis 1 -> shape (2, 2, 4)
      Tensor bidx = make({0, 2, 1, 1}, {2, 2}, it);
      std::vector<double> bwant;
      int64_t bi[2][2] = {{0, 2}, {1, 1}};
      for (int64_t a = 0; a < 2; ++a)
        for (int64_t j = 0; j < 2; ++j)
          for (int64_t c = 0; c < 4; ++c)
            bwant.push_back(p[static_cast<size_t>((a * 3 + bi[a][j]) * 4 + c)]);
      EXPECT_TRUE(all_close(gather(params, bidx, 1, 1), bwant, {2, 2, 4}));
    }
  }
  Tensor v = make({10, 20, 30}, {3}, float32);
  EXPECT_TRUE(all_close(gather(v, make({2, 0, 2, 1}, {2, 2}, int32)), {30, 10, 30, 20}, {2, 2}));
}

TEST_P(IndexTest, GatherNdScatterNd) {
  Tensor p = make(iota_values(12, 0), {3, 4}, float32);
  EXPECT_TRUE(all_close(gather_nd(p, make({2, 1, 0, 3}, {2, 2}, int64)), {9, 3}, {2}));
  EXPECT_TRUE(
      all_close(gather_nd(p, make({2, 0}, {2, 1}, int32)), {8, 9, 10, 11, 0, 1, 2, 3}, {2, 4}));
  // batch_dims 1: each batch row of indices addresses its own row of params.
  Tensor bp = make(iota_values(24, 0), {2, 3, 4}, int32);
  EXPECT_TRUE(all_close(gather_nd(bp, make({2, 0, 1, 3}, {2, 1, 2}, int64), 1), {8, 19}, {2, 1}));
  EXPECT_TRUE(all_close(gather_nd(bp, make({1, 0}, {2, 1}, int64), 1), {4, 5, 6, 7, 12, 13, 14, 15},
                        {2, 4}));
  // Duplicate indices are summed, as TensorFlow's scatter_nd does.
  Tensor s =
      scatter_nd(make({4, 3, 1, 7, 4}, {5, 1}, int32), make({9, 10, 11, 12, 1}, {5}, float32), {8});
  EXPECT_TRUE(all_close(s, {0, 11, 0, 10, 10, 0, 0, 12}, {8}));
  Tensor rows = scatter_nd(make({0, 2}, {2, 1}, int64), make({1, 2, 3, 4}, {2, 2}, int32), {3, 2});
  EXPECT_TRUE(all_close(rows, {1, 2, 0, 0, 3, 4}, {3, 2}));
  Tensor t = tensor_scatter_add(make({1, 1, 1, 1}, {4}, int64), make({1, 3, 1}, {3, 1}, int32),
                                make({5, 6, 7}, {3}, int64));
  EXPECT_TRUE(all_close(t, {1, 13, 1, 7}, {4}));
  EXPECT_THROW(scatter_nd(make({0}, {1, 1}, int32), make({1, 2}, {2}, float32), {3}),
               InvalidArgument);
}

TEST_P(IndexTest, IndicesOutOfRangeAreErrorsNeverOutOfBoundsAccesses) {
  Tensor p = make({1, 2, 3}, {3}, float32);
  try {
    gather(p, make({0, 3}, {2}, int32));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[gather] indices[1] = 3 is not in [0, 3)");
  }
  // Several bad indices: every device names the first, as the CPU checks in order.
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { gather(p, make({0, 5, -1, 7}, {4}, int64)); }),
            "[gather] indices[1] = 5 is not in [0, 3)");
  Tensor grid = make({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, float32);
  EXPECT_EQ(message([&] { gather_nd(grid, make({0, 0, 0, 9, 7, 0}, {3, 2}, int32)); }),
            "[gather_nd] indices[3] = 9 is not in [0, 3)");
  EXPECT_EQ(message([&] {
              unsorted_segment_sum(make({1, 2, 3}, {3}, float32), make({0, 4, -1}, {3}, int32), 3);
            }),
            "[unsorted_segment_sum] segment_ids[1] = 4 is not in [0, 3)");
  // Empty outputs still have their indices checked.
  EXPECT_EQ(message([&] { gather(zeros({3, 0}), make({1, 5}, {2}, int32)); }),
            "[gather] indices[1] = 5 is not in [0, 3)");
  EXPECT_EQ(message([&] { unsorted_segment_sum(zeros({2, 0}), make({0, 7}, {2}, int32), 3); }),
            "[unsorted_segment_sum] segment_ids[1] = 7 is not in [0, 3)");
  EXPECT_EQ(message([&] { scatter_nd(make({5}, {1, 1}, int32), zeros({1, 0}), {3, 0}); }),
            "[scatter_nd] indices[0] = 5 is not in [0, 3)");
  EXPECT_THROW(gather(p, make({-1}, {1}, int64)), InvalidArgument);
  EXPECT_THROW(gather_nd(p, make({5}, {1, 1}, int64)), InvalidArgument);
  EXPECT_THROW(scatter_nd(make({8}, {1, 1}, int32), make({1}, {1}, float32), {8}), InvalidArgument);
  EXPECT_THROW(tensor_scatter_add(p, make({-2}, {1, 1}, int32), make({1}, {1}, float32)),
               InvalidArgument);
  EXPECT_THROW(gather(p, make({0}, {1}, float32)), InvalidArgument);
}

TEST_P(IndexTest, OneHotAndRange) {
  Tensor idx = make({0, 2, -1, 5}, {4}, int32);  // out-of-range indices give all-off rows
  EXPECT_TRUE(all_close(one_hot(idx, 3), {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, {4, 3}));
  EXPECT_TRUE(
      all_close(one_hot(make({1, 0}, {2}, int64), 2, 5, -1, 0, int32), {-1, 5, 5, -1}, {2, 2}));
  EXPECT_EQ(one_hot(idx, 3, 1, 0, 0).shape(), (TensorShape{3, 4}));
  EXPECT_TRUE(all_close(range(5), {0, 1, 2, 3, 4}, {5}));
  EXPECT_TRUE(all_close(range(10, 1, -3, int32), {10, 7, 4}, {3}));
  EXPECT_TRUE(all_close(range(0, 1, 0.25, float32), {0, 0.25, 0.5, 0.75}, {4}));
  EXPECT_EQ(range(3, 3, 1).shape(), (TensorShape{0}));
  EXPECT_THROW(range(0, 5, 0), InvalidArgument);
  EXPECT_THROW(range(5, 0, 1), InvalidArgument);
}

// The segment front-ends' bad input, each refused naming the call: ids
// unsorted, negative, not a vector or not integers; a num_segments that is
// negative or not an integer tensor. (Their values: TensorFlow's, in
// SavedModelInterop.EmberLoadsTensorFlowsSpecialFunctionsAndSegmentsAndItsOwnOpsAgree.)
TEST_P(IndexTest, SegmentReductionsRefuseBadInputNamingTheCall) {
  const Tensor data = constant({1.f, 2.f, 3.f});
  auto error = [](const std::function<void()>& f) { return error_of<InvalidArgument>(f); };
  EXPECT_NE(error([&] { segment_sum(data, constant(std::vector<int32_t>{0, 2, 1})); })
                .find("[segment_sum] segment ids are not increasing"),
            std::string::npos);
  EXPECT_NE(error([&] { segment_mean(data, constant(std::vector<int32_t>{-1, 0, 0})); })
                .find("[segment_mean] segment ids must be >= 0"),
            std::string::npos);
  EXPECT_NE(error([&] { segment_max(ones({2, 2}), constant(std::vector<int32_t>{0, 0, 1, 1}, {2, 2})); })
                .find("[segment_max] segment_ids should be a vector"),
            std::string::npos);
  EXPECT_NE(error([&] { segment_prod(data, constant({0.f, 1.f, 1.f})); }).find("[segment_prod] segment_ids must be int32 or int64"),
            std::string::npos);
  const Tensor ids = constant(std::vector<int32_t>{0, 1, 1});
  EXPECT_NE(error([&] { unsorted_segment_sum(data, ids, constant(2.f)); })
                .find("[unsorted_segment_sum] num_segments must be int32 or int64, got float32"),
            std::string::npos);
  EXPECT_NE(error([&] { unsorted_segment_max(data, ids, constant(int64_t{-3})); })
                .find("[unsorted_segment_max] num_segments must be non-negative"),
            std::string::npos);
  EXPECT_NE(error([&] { unsorted_segment_sum(data, ids, constant(int64_t{-3})); })
                .find("[unsorted_segment_sum] num_segments must be non-negative"),
            std::string::npos);
  // Empty data and ids: no segments.
  EXPECT_EQ(segment_sum(zeros({0, 2}), constant(std::vector<int32_t>{})).shape(), TensorShape({0, 2}));
}

// TensorFlow 2.21's values (tf.math.unsorted_segment_sum, _max, _min,
// _prod): a negative id drops its row, an empty segment holds the
// reduction's identity (the lowest or largest finite value, 1), an id at or
// past num_segments is refused; a max or min keeps NaN as TensorFlow's CPU
// kernel does, the rows in order ([1, NaN] gives NaN, [NaN, 1] gives 1).
TEST_P(IndexTest, UnsortedSegmentReductionsAsTensorFlow) {
  const Tensor d = constant({1.f, 2.f, 3.f, 4.f});
  const Tensor ids = constant(std::vector<int32_t>{0, -1, 1, 1}), three = constant(int32_t{3});
  constexpr double kMax = 3.4028234663852886e38;
  EXPECT_TRUE(all_close(unsorted_segment_sum(d, ids, 3), {1, 7, 0}, {3}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_max(d, ids, three), {1, 4, -kMax}, {3}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_min(d, ids, three), {1, 3, kMax}, {3}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_prod(d, ids, three), {1, 12, 1}, {3}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_max(cast(d, float64), ids, three), {1, 4, -1.7976931348623157e308}, {3}, 0, 0));
  const Tensor m = make({1, 5, 7, 2}, {2, 2}, int32), both = constant(std::vector<int32_t>{1, 1});
  const Tensor two = constant(int32_t{2});
  EXPECT_TRUE(all_close(unsorted_segment_max(m, both, two), {-2147483648.0, -2147483648.0, 7, 5}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_min(m, both, two), {2147483647, 2147483647, 1, 2}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_prod(m, both, two), {1, 1, 7, 10}, {2, 2}, 0, 0));
  EXPECT_NE(error_of<InvalidArgument>([&] { unsorted_segment_max(d, constant(std::vector<int32_t>{0, 3, 1, 1}), three); })
                .find("[unsorted_segment_max] segment_ids[1] = 3 is not in [0, 3)"),
            std::string::npos);
  if (device().is_cpu()) {  // (on CUDA the threads' order decides, as in TensorFlow's GPU kernel)
    const Tensor with_nan = constant({1.f, NAN, 3.f}), order = constant(std::vector<int32_t>{0, 0, 1});
    const std::vector<float> max = unsorted_segment_max(with_nan, order, two).to_vector<float>();
    const std::vector<float> min = unsorted_segment_min(with_nan, order, two).to_vector<float>();
    EXPECT_TRUE(std::isnan(max[0]) && max[1] == 3) << max[0];
    EXPECT_TRUE(std::isnan(min[0]) && min[1] == 3) << min[0];
    const std::vector<float> later = unsorted_segment_max(constant({NAN, 1.f}), constant(std::vector<int32_t>{0, 0}), two).to_vector<float>();
    EXPECT_EQ(later[0], 1.f);
    EXPECT_EQ(later[1], static_cast<float>(-kMax));
  }
}

// Many segments and rows (the reductions are a fold per row, with no
// [rows, segments] scratch): each segment against a loop over the rows.
TEST_P(IndexTest, UnsortedSegmentReductionsOfManySegments) {
  constexpr int64_t kRows = 200000, kSegments = 300000;
  const std::vector<double> v = random_values(kRows, -100, 100, float64, 7), raw_ids = random_values(kRows, -1, kSegments, float64, 8);
  std::vector<int64_t> id(kRows);
  for (int64_t i = 0; i < kRows; ++i) id[static_cast<size_t>(i)] = static_cast<int64_t>(std::floor(raw_ids[static_cast<size_t>(i)]));
  std::vector<double> want_max(kSegments, -1.7976931348623157e308), want_min(kSegments, 1.7976931348623157e308),
      want_sum(kSegments, 0);
  for (int64_t i = 0; i < kRows; ++i) {
    const int64_t s = id[static_cast<size_t>(i)];
    if (s < 0) continue;
    want_max[static_cast<size_t>(s)] = std::max(want_max[static_cast<size_t>(s)], v[static_cast<size_t>(i)]);
    want_min[static_cast<size_t>(s)] = std::min(want_min[static_cast<size_t>(s)], v[static_cast<size_t>(i)]);
    want_sum[static_cast<size_t>(s)] += v[static_cast<size_t>(i)];
  }
  const Tensor data = make(v, {kRows}, float64), ids = constant(id, TensorShape{kRows});
  const Tensor n = constant(kSegments);
  EXPECT_TRUE(all_close(unsorted_segment_max(data, ids, n), want_max, {kSegments}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_min(data, ids, n), want_min, {kSegments}, 0, 0));
  EXPECT_TRUE(all_close(unsorted_segment_sum(data, ids, n), want_sum, {kSegments}, 1e-12, 1e-12));
}

EMBER_INSTANTIATE_DEVICE_TESTS(IndexTest);

}  // namespace
}  // namespace ember::test
