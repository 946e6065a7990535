// matmul against a float64 reference: 2-D with every transpose combination,
// batched with broadcast batch dimensions, and degenerate sizes.
#include <map>
#include <string>

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

// einsum against a float64 sum over every assignment of the labels, for the
// equations Keras's MultiHeadAttention and EinsumDense write and the edge
// cases (no contraction, everything summed, implicit output, "...",
// diagonals), eagerly and traced with no dimension known; and its refusals.
std::vector<double> einsum_ref(const std::string& in_a, const std::string& in_b, const std::string& out,
                               const std::vector<std::vector<double>>& v, const std::vector<TensorShape>& s,
                               std::map<char, int64_t>& size) {
  const std::vector<std::string> subs = in_b.empty() ? std::vector<std::string>{in_a} : std::vector<std::string>{in_a, in_b};
  for (size_t k = 0; k < subs.size(); ++k)
    for (size_t i = 0; i < subs[k].size(); ++i) size[subs[k][i]] = s[k].dim(static_cast<int>(i));
  std::vector<char> labels;
  for (const auto& [ch, n] : size) labels.push_back(ch);
  int64_t total = 1, out_n = 1;
  for (char ch : labels) total *= size[ch];
  for (char ch : out) out_n *= size[ch];
  std::vector<double> y(static_cast<size_t>(out_n), 0.0);
  for (int64_t t = 0; t < total; ++t) {
    std::map<char, int64_t> at;
    int64_t r = t;
    for (auto it = labels.rbegin(); it != labels.rend(); ++it) at[*it] = r % size[*it], r /= size[*it];
    auto flat = [&](const std::string& sub) {
      int64_t f = 0;
      for (char ch : sub) f = f * size[ch] + at[ch];
      return static_cast<size_t>(f);
    };
    double p = 1;
    for (size_t k = 0; k < subs.size(); ++k) p *= v[k][flat(subs[k])];
    y[flat(out)] += p;
  }
  return y;
}

TEST_P(MatmulTest, EinsumMatchesTheSumOverItsLabels) {
  struct Case {
    std::string equation, a, b, out;
    TensorShape sa, sb;
  };
  const std::vector<Case> cases = {
      {"bthd,bshd->bhts", "bthd", "bshd", "bhts", {2, 3, 2, 4}, {2, 5, 2, 4}},
      {"bhts,bshd->bthd", "bhts", "bshd", "bthd", {2, 2, 3, 5}, {2, 5, 2, 4}},
      {"abc,cde->abde", "abc", "cde", "abde", {2, 3, 4}, {4, 2, 5}},
      {"ij,jk->ik", "ij", "jk", "ik", {3, 4}, {4, 2}},
      {"ij,kl->ijkl", "ij", "kl", "ijkl", {2, 3}, {1, 2}},
      {"ab,ab->a", "ab", "ab", "a", {3, 4}, {3, 4}},
      {"ijk,k->ij", "ijk", "k", "ij", {2, 3, 4}, {4}},
      {"ij,jk", "ij", "jk", "ik", {3, 4}, {4, 2}},
      {"xyz,y->", "xyz", "y", "", {2, 3, 2}, {3}},
      {"ij->ji", "ij", "", "ji", {3, 4}, {}},
      {"ijk->k", "ijk", "", "k", {2, 3, 4}, {}},
      // "..." (the reference's labels x, y stand for its dimensions): EinsumDense's
      // "...b,bc->...c", batched products, summed away, implicit, in the middle.
      {"...j,jk->...k", "xyj", "jk", "xyk", {2, 3, 4}, {4, 5}},
      {"...ij,...jk->...ik", "xij", "xjk", "xik", {2, 3, 4}, {2, 4, 5}},
      {"i...->...", "ixy", "", "xy", {2, 3, 4}, {}},
      {"...j,j", "xyj", "j", "xy", {2, 3, 4}, {4}},
      {"ab...,b->a...", "abx", "b", "ax", {2, 3, 4}, {3}},
      // A label repeated in an operand: its diagonal (the reference's sum takes it too).
      {"ii->i", "ii", "", "i", {3, 3}, {}},
      {"ii", "ii", "", "", {4, 4}, {}},
      {"bii->bi", "bii", "", "bi", {2, 3, 3}, {}},
      {"iji->j", "iji", "", "j", {3, 2, 3}, {}},
      {"ij,jj->i", "ij", "jj", "i", {2, 3}, {3, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.equation);
    std::vector<std::vector<double>> v(2);
    std::vector<Tensor> in{random_tensor(c.sa, float64, -1, 1, 3, &v[0])};
    if (!c.b.empty()) in.push_back(random_tensor(c.sb, float64, -1, 1, 4, &v[1]));
    std::map<char, int64_t> size;
    const std::vector<double> want = einsum_ref(c.a, c.b, c.out, v, {c.sa, c.sb}, size);
    Dims od;
    for (char ch : c.out) od.push_back(size[ch]);
    EXPECT_TRUE(all_close(einsum(c.equation, in), want, TensorShape(od), 1e-12, 1e-12));
    // Traced with no dimension known: the merged sizes come from the run-time shapes.
    auto unknown = [](const Tensor& t) { return TensorSpec(TensorShape(Dims(static_cast<size_t>(t.rank()), -1)), float64); };
    ConcreteFunction cf =
        in.size() == 2
            ? function([&](Tensor a, Tensor b) { return einsum(c.equation, {a, b}); })
                  .get_concrete_function(unknown(in[0]), unknown(in[1]))
            : function([&](Tensor a) { return einsum(c.equation, {a}); }).get_concrete_function(unknown(in[0]));
    EXPECT_TRUE(all_close(cf.call(in).at(0), want, TensorShape(od), 1e-12, 1e-12));
  }
  const Tensor m = ones({2, 2});
  EXPECT_EQ(error_of<InvalidArgument>([&] { einsum("ii->i", {ones({2, 3})}); }),
            "[einsum] \"ii->i\": label 'i' of operand 0 stands for dimensions of 2 and 3");
  EXPECT_EQ(error_of<InvalidArgument>([&] { einsum("ij->ii", {m}); }),
            "[einsum] \"ij->ii\": label 'i' repeats in the output");
  EXPECT_EQ(error_of<InvalidArgument>([&] { einsum("...ijk", {m}); }),
            "[einsum] \"...ijk\": operand 0 has shape (2, 2), fewer dimensions than its labels");
  EXPECT_EQ(error_of<InvalidArgument>([&] { einsum("ijk,jk->i", {m, m}); }),
            "[einsum] \"ijk,jk->i\": operand 0 has shape (2, 2), not 3 dimensions");
  EXPECT_EQ(error_of<InvalidArgument>([&] { einsum("ij,jk->iz", {m, m}); }),
            "[einsum] \"ij,jk->iz\": output label 'z' names no input dimension");
}

// "..." broadcasts as NumPy does: right-aligned, a dimension of 1 against
// any. a [2, 1, 3, 4] and b [3, 4, 2] ("...ij,...jk->...ik"): a float64 loop
// over the broadcast batch [2, 3].
TEST_P(MatmulTest, EinsumEllipsisBroadcastsAsNumPy) {
  std::vector<double> va, vb;
  const Tensor a = random_tensor({2, 1, 3, 4}, float64, -1, 1, 5, &va);
  const Tensor b = random_tensor({3, 4, 2}, float64, -1, 1, 6, &vb);
  std::vector<double> want(2 * 3 * 3 * 2, 0.0);
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 3; ++q)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t k = 0; k < 2; ++k)
          for (int64_t j = 0; j < 4; ++j)
            want[static_cast<size_t>(((p * 3 + q) * 3 + i) * 2 + k)] +=
                va[static_cast<size_t>((p * 3 + i) * 4 + j)] * vb[static_cast<size_t>((q * 4 + j) * 2 + k)];
  EXPECT_TRUE(all_close(einsum("...ij,...jk->...ik", {a, b}), want, {2, 3, 3, 2}, 1e-12, 1e-12));
}

EMBER_INSTANTIATE_DEVICE_TESTS(MatmulTest);

}  // namespace
}  // namespace ember::test
