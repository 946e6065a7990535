// matmul against a float64 reference: 2-D with every transpose combination,
// batched with broadcast batch dimensions, and degenerate sizes.
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::MatMul, op_name::BatchMatMulV2};

// C[b] = op(A[b]) · op(B[b]) for the broadcast batch of the two shapes.
std::vector<double> matmul_ref(const std::vector<double>& a, const TensorShape& sa,
                               const std::vector<double>& b, const TensorShape& sb, bool ta,
                               bool tb, TensorShape& so) {
  int ra = sa.rank(), rb = sb.rank();
  int64_t m = sa.dim(ta ? ra - 1 : ra - 2), k = sa.dim(ta ? ra - 2 : ra - 1);
  int64_t n = sb.dim(tb ? rb - 2 : rb - 1);
  TensorShape ba(Dims(sa.dims().begin(), sa.dims().end() - 2)),
      bb(Dims(sb.dims().begin(), sb.dims().end() - 2));
  TensorShape bo = broadcast_shapes(ba, bb);
  Dims od = bo.dims();
  od.push_back(m);
  od.push_back(n);
  so = TensorShape(od);
  std::vector<double> out;
  for (int64_t t = 0; t < std::max<int64_t>(bo.num_elements(), 1); ++t) {
    auto bi = bo.rank() ? unravel(t, bo) : std::vector<int64_t>{};
    auto pick = [&](const TensorShape& s) {
      std::vector<int64_t> j;
      for (int d = 0; d < s.rank(); ++d)
        j.push_back(s.dim(d) == 1 ? 0 : bi[static_cast<size_t>(d + bo.rank() - s.rank())]);
      return s.rank() ? ravel(j, s) : 0;
    };
    int64_t oa = pick(ba) * sa.dim(ra - 2) * sa.dim(ra - 1),
            ob = pick(bb) * sb.dim(rb - 2) * sb.dim(rb - 1);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          double av = a[static_cast<size_t>(oa + (ta ? p * m + i : i * k + p))];
          double bv = b[static_cast<size_t>(ob + (tb ? j * k + p : p * n + j))];
          s += av * bv;
        }
        out.push_back(s);
      }
  }
  return out;
}

class MatmulTest : public DeviceTest {};

TEST_P(MatmulTest, TwoDimensionalWithTransposes) {
  uint32_t seed = 1;
  for (DType dt : {float32, float64}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (auto [m, k, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
                 {3, 4, 5}, {1, 7, 1}, {64, 33, 17}, {130, 70, 90}}) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + (ta ? " ta" : "") + (tb ? " tb" : "") + " " +
                       std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n));
          TensorShape sa = ta ? TensorShape{k, m} : TensorShape{m, k};
          TensorShape sb = tb ? TensorShape{n, k} : TensorShape{k, n};
          std::vector<double> va, vb;
          Tensor a = random_tensor(sa, dt, -1, 1, seed++, &va);
          Tensor b = random_tensor(sb, dt, -1, 1, seed++, &vb);
          TensorShape so;
          auto want = matmul_ref(va, sa, vb, sb, ta, tb, so);
          EXPECT_TRUE(all_close(matmul(a, b, ta, tb), want, so, dt == float32 ? 1e-5 : 1e-12,
                                dt == float32 ? 1e-5 : 1e-12));
        }
      }
    }
  }
}

TEST_P(MatmulTest, BatchedWithBroadcastBatchDimensions) {
  const std::vector<std::pair<TensorShape, TensorShape>> pairs = {{{2, 3, 4}, {2, 4, 5}},
                                                                  {{2, 3, 4}, {4, 5}},
                                                                  {{3, 4}, {6, 4, 2}},
                                                                  {{2, 1, 3, 4}, {5, 4, 2}},
                                                                  {{1, 3, 4}, {3, 4, 1}}};
  uint32_t seed = 50;
  for (DType dt : {float32, float64}) {
    for (const auto& [sa0, sb0] : pairs) {
      for (bool ta : {false, true}) {
        TensorShape sa = sa0;
        if (ta) {
          Dims d = sa0.dims();
          std::swap(d[d.size() - 1], d[d.size() - 2]);
          sa = TensorShape(d);
        }
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + sa.to_string() + " " + sb0.to_string() +
                     (ta ? " ta" : ""));
        std::vector<double> va, vb;
        Tensor a = random_tensor(sa, dt, -1, 1, seed++, &va);
        Tensor b = random_tensor(sb0, dt, -1, 1, seed++, &vb);
        TensorShape so;
        auto want = matmul_ref(va, sa, vb, sb0, ta, false, so);
        EXPECT_TRUE(
            all_close(matmul(a, b, ta, false), want, so, dt == float32 ? 1e-5 : 1e-12, 1e-6));
      }
    }
  }
}

TEST_P(MatmulTest, DegenerateSizes) {
  EXPECT_TRUE(
      all_close(matmul(ones({2, 0}), ones({0, 3})), std::vector<double>(6, 0.0), {2, 3}, 0, 0));
  EXPECT_EQ(matmul(ones({0, 4}), ones({4, 3})).shape(), (TensorShape{0, 3}));
  EXPECT_EQ(matmul(ones({0, 2, 4}), ones({4, 3})).shape(), (TensorShape{0, 2, 3}));
}

TEST_P(MatmulTest, BadInputIsAnError) {
  try {
    matmul(ones({2, 3}), ones({4, 5}));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[matmul] inner dimensions differ: [2,3] vs [4,5]");
  }
  EXPECT_THROW(matmul(ones({2, 3, 4}), ones({3, 5, 2})), InvalidArgument);  // batch 2 vs 3
  EXPECT_THROW(matmul(ones({2, 2}), ones({2, 2}, float64)), InvalidArgument);
  try {
    matmul(ones({2, 2}, int32), ones({2, 2}, int32));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "[matmul] a must be a floating-point type (float16, bfloat16, float32, float64), got int32");
  }
  EXPECT_THROW(matmul(ones({2}), ones({2, 2})), InvalidArgument);
}

EMBER_INSTANTIATE_DEVICE_TESTS(MatmulTest);

}  // namespace
}  // namespace ember::test
