// Cholesky, the solves, the inverse, the determinants, QR, the symmetric
// eigenproblem and the SVD against float64 references written here another
// way (Gauss-Jordan with full pivoting, a row-by-row Cholesky, Laplace
// expansion, products of the results back, the decompositions' defining
// properties in long double, eigenvalues known in closed form),
// TensorFlow 2.21's values and errors on singular and malformed input
// (TensorFlow's values and gradients of the same ops on other matrices:
// tests/saved_model_test.cpp, "linalg"). The gradients are checked against
// central differences by the every-op table.
#include <bit>
#include <cmath>
#include <limits>

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::Cholesky,          op_name::MatrixTriangularSolve, op_name::MatrixSolve,
                         op_name::MatrixInverse,     op_name::MatrixDeterminant,     op_name::LogMatrixDeterminant,
                         op_name::Qr,                op_name::SelfAdjointEigV2,      op_name::Svd};

using Matrix = std::vector<long double>;  // row-major n x n

// A⁻¹ by Gauss-Jordan elimination with full pivoting (nothing if singular).
std::optional<Matrix> gauss_jordan_inverse(Matrix a, int64_t n) {
  Matrix inv(static_cast<size_t>(n * n), 0);
  for (int64_t i = 0; i < n; ++i) inv[static_cast<size_t>(i * n + i)] = 1;
  auto at = [n](Matrix& m, int64_t i, int64_t j) -> long double& { return m[static_cast<size_t>(i * n + j)]; };
  std::vector<int64_t> col_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) col_of[static_cast<size_t>(i)] = i;
  for (int64_t k = 0; k < n; ++k) {
    int64_t pr = k, pc = k;
    for (int64_t i = k; i < n; ++i)
      for (int64_t j = k; j < n; ++j)
        if (std::fabs(at(a, i, j)) > std::fabs(at(a, pr, pc))) pr = i, pc = j;
    if (at(a, pr, pc) == 0) return std::nullopt;
    // Rows swap in both; a column swap of a is undone on the inverse's rows at the end.
    for (int64_t j = 0; j < n; ++j) std::swap(at(a, k, j), at(a, pr, j)), std::swap(at(inv, k, j), at(inv, pr, j));
    for (int64_t i = 0; i < n; ++i) std::swap(at(a, i, k), at(a, i, pc));
    std::swap(col_of[static_cast<size_t>(k)], col_of[static_cast<size_t>(pc)]);
    const long double p = at(a, k, k);
    for (int64_t j = 0; j < n; ++j) at(a, k, j) /= p, at(inv, k, j) /= p;
    for (int64_t i = 0; i < n; ++i) {
      if (i == k) continue;
      const long double f = at(a, i, k);
      for (int64_t j = 0; j < n; ++j) at(a, i, j) -= f * at(a, k, j), at(inv, i, j) -= f * at(inv, k, j);
    }
  }
  // a·Q = I after the column swaps Q, so A⁻¹ = Q·inv: row k of inv is row col_of[k] of A⁻¹.
  Matrix out(static_cast<size_t>(n * n));
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < n; ++j) out[static_cast<size_t>(col_of[static_cast<size_t>(k)] * n + j)] = at(inv, k, j);
  return out;
}

// det(A) by Laplace expansion along the first row.
long double laplace_determinant(const Matrix& a, int64_t n) {
  if (n == 0) return 1;
  long double det = 0;
  for (int64_t j = 0; j < n; ++j) {
    Matrix minor;
    for (int64_t i = 1; i < n; ++i)
      for (int64_t k = 0; k < n; ++k)
        if (k != j) minor.push_back(a[static_cast<size_t>(i * n + k)]);
    det += (j % 2 ? -1 : 1) * a[static_cast<size_t>(j)] * laplace_determinant(minor, n - 1);
  }
  return det;
}

Matrix matrix_of(const std::vector<double>& v, int64_t which, int64_t rows, int64_t cols) {
  return Matrix(v.begin() + which * rows * cols, v.begin() + (which + 1) * rows * cols);
}

std::vector<double> flat(const std::vector<Matrix>& ms) {
  std::vector<double> out;
  for (const Matrix& m : ms)
    for (long double x : m) out.push_back(static_cast<double>(x));
  return out;
}

// Random [batch, n, n] with 2n added on the diagonal (well conditioned), and its values.
Tensor well_conditioned(int64_t batch, int64_t n, DType dt, uint32_t seed, std::vector<double>& v) {
  v = random_values(batch * n * n, -2, 2, float64, seed);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(b * n * n + i * n + i)] += 2.0 * static_cast<double>(n);
  return make(v, TensorShape{batch, n, n}, dt);
}

double tolerance(DType dt) { return dt == float32 ? 2e-5 : 1e-12; }

class LinalgTest : public DeviceTest {};

TEST_P(LinalgTest, InverseMatchesGaussJordan) {
  for (DType dt : {float32, float64})
    for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{40}}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " n=" + std::to_string(n));
      std::vector<double> v;
      const Tensor a = well_conditioned(3, n, dt, 11 + static_cast<uint32_t>(n), v);
      std::vector<double> rounded = values(a);
      std::vector<Matrix> want, want_t;
      for (int64_t b = 0; b < 3; ++b) {
        Matrix inv = *gauss_jordan_inverse(matrix_of(rounded, b, n, n), n), t(inv.size());
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) t[static_cast<size_t>(j * n + i)] = inv[static_cast<size_t>(i * n + j)];
        want.push_back(inv);
        want_t.push_back(t);
      }
      EXPECT_TRUE(all_close(matrix_inverse(a), flat(want), {3, n, n}, tolerance(dt), tolerance(dt)));
      EXPECT_TRUE(all_close(matrix_inverse(a, /*adjoint=*/true), flat(want_t), {3, n, n}, tolerance(dt), tolerance(dt)));
    }
}

TEST_P(LinalgTest, InversePivotsWhereTheLeadingEntryIsZero) {
  // Row exchanges are needed at once: [[0, 1, 0], [0, 0, 1], [1, 0, 0]]·[..] and a zero corner.
  const Tensor p = make({0, 2, 0, 0, 0, 3, 4, 0, 0}, {3, 3}, float64);
  EXPECT_TRUE(all_close(matrix_inverse(p), {0, 0, 0.25, 0.5, 0, 0, 0, 1.0 / 3, 0}, {3, 3}, 0, 0));
  const Tensor q = make({0, 1, 1, 1}, {2, 2}, float32);  // det -1
  EXPECT_TRUE(all_close(matrix_inverse(q), {-1, 1, 1, 0}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(matrix_determinant(q), {-1}, {}, 0, 0));
}

TEST_P(LinalgTest, SolveMatchesTheInverseTimesTheRightHandSide) {
  for (DType dt : {float32, float64})
    for (bool adjoint : {false, true})
      for (int64_t n : {int64_t{6}, int64_t{50}}) {  // (50: LAPACK's getrf and getrs)
      SCOPED_TRACE(std::string(dtype_name(dt)) + (adjoint ? " adjoint" : "") + " n=" + std::to_string(n));
      const int64_t k = 3;
      std::vector<double> av, bv;
      const Tensor a = well_conditioned(2, n, dt, 5, av);
      const Tensor b = random_tensor({2, n, k}, dt, -2, 2, 6, &bv);
      const std::vector<double> ar = values(a);
      std::vector<Matrix> want;
      for (int64_t m = 0; m < 2; ++m) {
        const Matrix inv = *gauss_jordan_inverse(matrix_of(ar, m, n, n), n);
        Matrix x(static_cast<size_t>(n * k), 0);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < k; ++j)
            for (int64_t l = 0; l < n; ++l)
              x[static_cast<size_t>(i * k + j)] += (adjoint ? inv[static_cast<size_t>(l * n + i)] : inv[static_cast<size_t>(i * n + l)]) *
                                                   bv[static_cast<size_t>(m * n * k + l * k + j)];
        want.push_back(x);
      }
      EXPECT_TRUE(all_close(matrix_solve(a, b, adjoint), flat(want), {2, n, k}, tolerance(dt), tolerance(dt)));
      }
}

TEST_P(LinalgTest, TriangularSolveReadsOneTriangleAndBroadcasts) {
  for (DType dt : {float32, float64})
    for (bool lower : {true, false})
      for (bool adjoint : {false, true})
        for (int64_t n : {int64_t{5}, int64_t{40}}) {  // (40: CBLAS's trsm)
        SCOPED_TRACE(std::string(dtype_name(dt)) + (lower ? " lower" : " upper") + (adjoint ? " adjoint" : "") +
                     " n=" + std::to_string(n));
        const int64_t k = 2;
        std::vector<double> av, bv;
        const Tensor a = well_conditioned(3, n, dt, 8, av);  // both triangles full: one is ignored
        const Tensor b = random_tensor({1, n, k}, dt, -2, 2, 9, &bv);  // broadcast over a's batch
        const Tensor x = triangular_solve(a, b, lower, adjoint);
        ASSERT_EQ(x.shape(), TensorShape({3, n, k}));
        // op(T)·x = b, with T the triangle read, computed back in long double.
        const std::vector<double> ar = values(a), xr = values(x);
        std::vector<double> back;
        for (int64_t m = 0; m < 3; ++m)
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < k; ++j) {
              long double s = 0;
              for (int64_t l = 0; l < n; ++l) {
                const int64_t r = adjoint ? l : i, c = adjoint ? i : l;  // op(T)[i][l] = T[r][c]
                if (lower ? c > r : c < r) continue;
                s += static_cast<long double>(ar[static_cast<size_t>(m * n * n + r * n + c)]) *
                     xr[static_cast<size_t>(m * n * k + l * k + j)];
              }
              back.push_back(static_cast<double>(s));
            }
        std::vector<double> want;
        for (int64_t m = 0; m < 3; ++m) want.insert(want.end(), bv.begin(), bv.end());
        EXPECT_TRUE(all_close(make(back, {3, n, k}, float64), want, {3, n, k}, tolerance(dt), tolerance(dt)));
        }
}

TEST_P(LinalgTest, CholeskyIsTheLowerFactorOfThePositiveDefiniteMatrix) {
  for (DType dt : {float32, float64})
    for (int64_t n : {int64_t{1}, int64_t{4}, int64_t{9}, int64_t{33}}) {  // (33: LAPACK's potrf)
      SCOPED_TRACE(std::string(dtype_name(dt)) + " n=" + std::to_string(n));
      // A = M·Mᵀ + I in long double, then a row-by-row (Cholesky-Banachiewicz) factor of it.
      const std::vector<double> mv = random_values(2 * n * n, -1, 1, float64, 21);
      std::vector<double> av;
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) {
            long double s = i == j ? 1 : 0;
            for (int64_t l = 0; l < n; ++l)
              s += static_cast<long double>(mv[static_cast<size_t>(b * n * n + i * n + l)]) *
                   mv[static_cast<size_t>(b * n * n + j * n + l)];
            av.push_back(static_cast<double>(s));
          }
      const Tensor a = make(av, {2, n, n}, dt);
      const std::vector<double> ar = values(a);
      std::vector<Matrix> want;
      for (int64_t b = 0; b < 2; ++b) {
        Matrix l(static_cast<size_t>(n * n), 0);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j <= i; ++j) {
            long double s = ar[static_cast<size_t>(b * n * n + i * n + j)];
            for (int64_t q = 0; q < j; ++q) s -= l[static_cast<size_t>(i * n + q)] * l[static_cast<size_t>(j * n + q)];
            l[static_cast<size_t>(i * n + j)] = i == j ? std::sqrt(s) : s / l[static_cast<size_t>(j * n + j)];
          }
        want.push_back(l);
      }
      EXPECT_TRUE(all_close(cholesky(a), flat(want), {2, n, n}, tolerance(dt), tolerance(dt)));
      // Only the lower triangle is read (TensorFlow's [[4, 100], [2, 5]] gives [[2, 0], [1, 2]]).
      EXPECT_TRUE(all_close(cholesky(make({4, 100, 2, 5}, {2, 2}, dt)), {2, 0, 1, 2}, {2, 2}, 0, 0));
    }
}

TEST_P(LinalgTest, CholeskyOfAMatrixNotPositiveDefiniteIsNaNAsTensorFlows) {
  // TensorFlow 2.21's kernel gives NaN (no error); ember fills that matrix's factor, and only its.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor a = make({4, 0, 0, 9, /**/ 1, 2, 2, 1, /**/ nan, 0, 0, 1}, {3, 2, 2}, float32);
  EXPECT_TRUE(all_close(cholesky(a), {2, 0, 0, 3, nan, nan, nan, nan, nan, nan, nan, nan}, {3, 2, 2}, 0, 0));
}

TEST_P(LinalgTest, DeterminantsMatchLaplaceExpansion) {
  for (DType dt : {float32, float64})
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{5}}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " n=" + std::to_string(n));
      std::vector<double> v;
      const Tensor a = random_tensor({4, n, n}, dt, -2, 2, 31 + static_cast<uint32_t>(n), &v);
      std::vector<double> det, sign, log_abs;
      for (int64_t b = 0; b < 4; ++b) {
        const long double d = laplace_determinant(matrix_of(v, b, n, n), n);
        det.push_back(static_cast<double>(d));
        sign.push_back(d > 0 ? 1 : d < 0 ? -1 : 0);
        log_abs.push_back(static_cast<double>(std::log(std::fabs(d))));
      }
      EXPECT_TRUE(all_close(matrix_determinant(a), det, {4}, 20 * tolerance(dt), 20 * tolerance(dt)));
      const SignAndLogDeterminant s = log_matrix_determinant(a);
      EXPECT_TRUE(all_close(s.sign, sign, {4}, 0, 0));
      EXPECT_TRUE(all_close(s.log_abs_determinant, log_abs, {4}, 20 * tolerance(dt), 20 * tolerance(dt)));
    }
}

TEST_P(LinalgTest, DeterminantsOfLargeMatricesAreTheirFactorsProducts) {
  // A = L·U·(a row rotation) in long double, L unit lower and U upper with a
  // known diagonal: det = ±Π u_ii (the rotation of 64 rows is odd: -1).
  const int64_t n = 64;
  const std::vector<double> r = random_values(2 * n * n, -0.5, 0.5, float64, 51);
  std::vector<double> av(static_cast<size_t>(n * n));
  long double det = -1;
  for (int64_t i = 0; i < n; ++i) det *= 1 + 0.02L * static_cast<long double>(i % 7);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      long double s = 0;
      for (int64_t k = 0; k <= std::min(i, j); ++k) {
        const long double l = k == i ? 1 : r[static_cast<size_t>(i * n + k)] / 4;
        const long double u = k == j ? 1 + 0.02L * static_cast<long double>(k % 7) : r[static_cast<size_t>(n * n + k * n + j)] / 4;
        s += l * u;
      }
      av[static_cast<size_t>(((i + 1) % n) * n + j)] = static_cast<double>(s);  // row i moved to i + 1
    }
  for (DType dt : {float32, float64}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor a = make(av, {n, n}, dt);
    const double tol = dt == float32 ? 1e-4 : 1e-11;
    EXPECT_TRUE(all_close(matrix_determinant(a), {static_cast<double>(det)}, {}, tol, 0));
    const SignAndLogDeterminant s = log_matrix_determinant(a);
    EXPECT_TRUE(all_close(s.sign, {-1}, {}, 0, 0));
    EXPECT_TRUE(all_close(s.log_abs_determinant, {static_cast<double>(std::log(-det))}, {}, tol, tol));
  }
}

TEST_P(LinalgTest, SingularAndLargeDeterminantsAsTensorFlowGivesThem) {
  // Singular: det 0, slogdet (0, -inf), as TensorFlow 2.21 gives them (its sign is -0.0 there).
  const Tensor s = make({1, 2, 2, 4}, {2, 2}, float32);
  EXPECT_TRUE(all_close(matrix_determinant(s), {0}, {}, 0, 0));
  const SignAndLogDeterminant ls = log_matrix_determinant(s);
  EXPECT_TRUE(all_close(ls.sign, {0}, {}, 0, 0));
  EXPECT_TRUE(all_close(ls.log_abs_determinant, {-INFINITY}, {}, 0, 0));
  // TensorFlow: slogdet([[1, 2], [3, 4]]) = (-1, log 2).
  const SignAndLogDeterminant neg = log_matrix_determinant(make({1, 2, 3, 4}, {2, 2}, float32));
  EXPECT_TRUE(all_close(neg.sign, {-1}, {}, 0, 0));
  EXPECT_TRUE(all_close(neg.log_abs_determinant, {std::log(2.0)}, {}, 1e-6, 0));
  // 60 x 60 of 10 on the diagonal: det 1e60 overflows float32; its log does not.
  const Tensor big = scalar_like(eye(60, float32), 10) * eye(60, float32);
  EXPECT_TRUE(all_close(matrix_determinant(big), {INFINITY}, {}, 0, 0));
  EXPECT_TRUE(all_close(log_matrix_determinant(big).log_abs_determinant, {60 * std::log(10.0)}, {}, 1e-6, 0));
  // A batch of 0 x 0 matrices: determinant 1 each, (1, 0) for slogdet.
  EXPECT_TRUE(all_close(matrix_determinant(zeros({2, 0, 0})), {1, 1}, {2}, 0, 0));
  EXPECT_TRUE(all_close(log_matrix_determinant(zeros({2, 0, 0})).log_abs_determinant, {0, 0}, {2}, 0, 0));
  EXPECT_EQ(matrix_inverse(zeros({0, 0})).shape(), TensorShape({0, 0}));
}

TEST_P(LinalgTest, SingularMatricesAreRefusedInTensorFlowsWords) {
  const Tensor s = make({1, 2, 2, 4, /**/ 1, 0, 0, 1}, {2, 2, 2}, float64);
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_inverse(s); }).find("[matrix_inverse] Input is not invertible."),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_solve(s, ones({2, 2, 1}, float64)); })
                .find("[matrix_solve] Input matrix is not invertible."),
            std::string::npos);
  const double nan = std::numeric_limits<double>::quiet_NaN();  // TensorFlow: NaN is not invertible either
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_inverse(make({nan, 0, 0, 1}, {2, 2}, float32)); })
                .find("Input is not invertible."),
            std::string::npos);
  // A triangular solve divides: a zero on the diagonal gives inf, as TensorFlow's.
  const Tensor x = triangular_solve(make({0, 0, 1, 1}, {2, 2}, float32), ones({2, 1}));
  EXPECT_TRUE(all_close(x, {INFINITY, -INFINITY}, {2, 1}, 0, 0));
}

TEST_P(LinalgTest, MalformedInputIsRefusedNamingTheOp) {
  const Tensor m = ones({2, 3});
  EXPECT_NE(error_of<InvalidArgument>([&] { cholesky(m); }).find("[cholesky] Input matrix must be square"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_inverse(ones({3})); }).find("[matrix_inverse] input must have rank >= 2"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_determinant(ones({2, 2}, int32)); })
                .find("[matrix_determinant] input must be float32 or float64, got int32"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_inverse(ones({2, 2}, float16)); }).find("got float16"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_solve(eye(2), ones({3, 1})); })
                .find("[matrix_solve] Input matrix and rhs are incompatible"),
            std::string::npos);
  // MatrixSolve's batch dimensions must be equal (TensorFlow's do not broadcast); a triangular solve's broadcast.
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_solve(ones({1, 2, 2}), ones({3, 2, 1})); })
                .find("[matrix_solve] All input tensors must have the same outer dimensions"),
            std::string::npos);
  EXPECT_EQ(triangular_solve(reshape(eye(2), {1, 2, 2}), ones({3, 2, 1})).shape(), TensorShape({3, 2, 1}));
  EXPECT_NE(error_of<InvalidArgument>([&] { triangular_solve(ones({2, 2, 2}), ones({3, 2, 1})); })
                .find("[triangular_solve]"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { matrix_solve(eye(2), ones({2, 1}, float64)); }).find("[matrix_solve]"),
            std::string::npos);
}

TEST_P(LinalgTest, BandPartEyeAndShapeAt) {
  const Tensor x = make(iota_values(12), {3, 4}, float32);
  EXPECT_TRUE(all_close(band_part(x, 1, 0), {1, 0, 0, 0, 5, 6, 0, 0, 0, 10, 11, 0}, {3, 4}, 0, 0));
  EXPECT_TRUE(all_close(band_part(x, 0, -1), {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12}, {3, 4}, 0, 0));
  EXPECT_TRUE(all_close(band_part(x, -1, 1), {1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12}, {3, 4}, 0, 0));
  EXPECT_TRUE(all_close(eye(3, float64), {1, 0, 0, 0, 1, 0, 0, 0, 1}, {3, 3}, 0, 0));
  EXPECT_EQ(eye(0).shape(), TensorShape({0, 0}));
  EXPECT_NE(error_of<InvalidArgument>([] { eye(-1); }).find("[eye] n must be non-negative"), std::string::npos);
  EXPECT_TRUE(all_close(shape_at(x, -1), {4}, {}, 0, 0));
  EXPECT_TRUE(all_close(shape_at(x, 0, int32), {3}, {}, 0, 0));
  EXPECT_NE(error_of<InvalidArgument>([&] { shape_at(x, 2); }).find("[shape_at] axis 2 is out of range for rank 2"),
            std::string::npos);
  // Traced with nothing known of x: read when it runs, from the end too.
  auto f = function([](const Tensor& t) { return std::vector<Tensor>{shape_at(t, -2), shape_at(t, 1)}; });
  auto cf = f.get_concrete_function(TensorSpec(TensorShape::unknown_rank(), float32));
  const std::vector<Tensor> got = cf.call(std::vector<Tensor>{zeros({5, 7, 2})});
  EXPECT_TRUE(all_close(got[0], {7}, {}, 0, 0));
  EXPECT_TRUE(all_close(got[1], {7}, {}, 0, 0));
}

TEST_P(LinalgTest, CholeskySolveSolvesTheFactoredSystem) {
  std::vector<double> av;
  const Tensor a = well_conditioned(1, 4, float64, 41, av);
  const Tensor spd = matmul(a, a, false, true);
  const Tensor b = random_tensor({1, 4, 2}, float64, -1, 1, 42);
  const Tensor x = cholesky_solve(cholesky(spd), b);
  EXPECT_TRUE(all_close(matmul(spd, x), values(b), {1, 4, 2}, 1e-10, 1e-10));
}

// Q·R = A, QᵀQ = I and R upper triangular, in long double, for tall, wide
// and square matrices in batches, reduced and full; Q [m, k] and R [k, n].
TEST_P(LinalgTest, QrFactorsTallWideAndSquareMatrices) {
  for (DType dt : {float32, float64})
    for (auto [m, n] : {std::pair<int64_t, int64_t>{5, 3}, {3, 5}, {4, 4}, {1, 4}, {4, 1}, {70, 45}})
      for (bool full : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(m) + "x" + std::to_string(n) +
                     (full ? " full" : ""));
        const int64_t batch = 2, k = full ? m : std::min(m, n);
        const Tensor a = make(random_values(batch * m * n, -2, 2, float64, 61), {batch, m, n}, dt);
        const QrResult f = qr(a, full);
        ASSERT_EQ(f.q.shape(), TensorShape({batch, m, k}));
        ASSERT_EQ(f.r.shape(), TensorShape({batch, k, n}));
        const std::vector<double> av = values(a), qv = values(f.q), rv = values(f.r);
        const long double tol = dt == float32 ? 2e-5L * static_cast<long double>(std::max(m, n)) : 1e-13L * static_cast<long double>(std::max(m, n));
        long double worst_product = 0, worst_orthonormal = 0;
        for (int64_t b = 0; b < batch; ++b) {
          auto Q = [&](int64_t i, int64_t j) { return static_cast<long double>(qv[static_cast<size_t>((b * m + i) * k + j)]); };
          auto R = [&](int64_t i, int64_t j) { return static_cast<long double>(rv[static_cast<size_t>((b * k + i) * n + j)]); };
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < std::min(i, n); ++j) ASSERT_EQ(R(i, j), 0) << "R(" << i << ", " << j << ")";
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              long double s = 0;
              for (int64_t l = 0; l < k; ++l) s += Q(i, l) * R(l, j);
              worst_product = std::max(worst_product, std::fabs(s - static_cast<long double>(av[static_cast<size_t>((b * m + i) * n + j)])));
            }
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              long double s = 0;
              for (int64_t l = 0; l < m; ++l) s += Q(l, i) * Q(l, j);
              worst_orthonormal = std::max(worst_orthonormal, std::fabs(s - (i == j ? 1 : 0)));
            }
        }
        EXPECT_LT(worst_product, tol * 4);
        EXPECT_LT(worst_orthonormal, tol);
      }
}

// TensorFlow 2.21's values (tf.linalg.qr in float64): R's diagonal is
// -sign(a_kk)·norm where a reflection is made, and a column already zero
// below the diagonal is left as it is (Eigen's and LAPACK's Householder).
TEST_P(LinalgTest, QrSignsAreTensorFlows) {
  const Tensor a = make({1, 2, 3, 4, 5, 6}, {3, 2}, float64);
  QrResult f = qr(a);
  EXPECT_TRUE(all_close(f.q, {-0.16903085094570325, 0.89708522714506, -0.5070925528371099, 0.27602622373694297,
                              -0.8451542547285166, -0.34503277967117774}, {3, 2}, 1e-14, 1e-14));
  EXPECT_TRUE(all_close(f.r, {-5.916079783099616, -7.437357441610944, 0, 0.8280786712108239}, {2, 2}, 1e-14, 1e-14));
  f = qr(a, /*full_matrices=*/true);
  EXPECT_TRUE(all_close(f.q, {-0.16903085094570325, 0.89708522714506, 0.408248290463863, -0.5070925528371099,
                              0.27602622373694297, -0.816496580927726, -0.8451542547285166, -0.34503277967117774,
                              0.408248290463863}, {3, 3}, 1e-14, 1e-14));
  EXPECT_TRUE(all_close(f.r, {-5.916079783099616, -7.437357441610944, 0, 0.8280786712108239, 0, 0}, {3, 2}, 1e-14, 1e-14));
  f = qr(transpose(a, {1, 0}));
  EXPECT_TRUE(all_close(f.q, {-0.44721359549995787, -0.8944271909999157, -0.8944271909999157, 0.4472135954999581},
                        {2, 2}, 1e-14, 1e-14));
  EXPECT_TRUE(all_close(f.r, {-2.23606797749979, -4.919349550499537, -7.602631123499284, 0, -0.8944271909999157,
                              -1.7888543819998306}, {2, 3}, 1e-14, 1e-14));
  // Already triangular (no reflection, negative diagonal kept) and a zero column.
  f = qr(make({-1, 2, 0, -4}, {2, 2}, float64));
  EXPECT_TRUE(all_close(f.q, {1, 0, 0, 1}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(f.r, {-1, 2, 0, -4}, {2, 2}, 0, 0));
  f = qr(make({0, 2, 0, 4}, {2, 2}, float32));
  EXPECT_TRUE(all_close(f.q, {1, 0, 0, 1}, {2, 2}, 0, 0));
  EXPECT_TRUE(all_close(f.r, {0, 2, 0, 4}, {2, 2}, 0, 0));
  f = qr(zeros({3, 2}, float64));
  EXPECT_TRUE(all_close(f.q, {1, 0, 0, 1, 0, 0}, {3, 2}, 0, 0));
  EXPECT_TRUE(all_close(f.r, {0, 0, 0, 0}, {2, 2}, 0, 0));
  // Empty matrices: TensorFlow's shapes, and the full Q of no columns the identity.
  f = qr(zeros({0, 2}, float64));
  EXPECT_EQ(f.q.shape(), TensorShape({0, 0}));
  EXPECT_EQ(f.r.shape(), TensorShape({0, 2}));
  f = qr(zeros({2, 0}, float64), true);
  EXPECT_TRUE(all_close(f.q, {1, 0, 0, 1}, {2, 2}, 0, 0));
  EXPECT_EQ(f.r.shape(), TensorShape({2, 0}));
  EXPECT_NE(error_of<InvalidArgument>([] { qr(ones({2})); }).find("[qr] input must have rank >= 2"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { qr(ones({2, 2}, int32)); }).find("[qr] input must be float32 or float64, got int32"),
            std::string::npos);
}

// How far the columns of the row-major [batch, rows, cols] values are from
// orthonormal: max |XᵀX - I|, in long double.
long double orthonormality_error(const std::vector<double>& x, int64_t batch, int64_t rows, int64_t cols) {
  long double worst = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        long double s = 0;
        for (int64_t l = 0; l < rows; ++l)
          s += static_cast<long double>(x[static_cast<size_t>((b * rows + l) * cols + i)]) *
               static_cast<long double>(x[static_cast<size_t>((b * rows + l) * cols + j)]);
        worst = std::max(worst, std::fabs(s - (i == j ? 1 : 0)));
      }
  return worst;
}

// The symmetric matrix of the lower triangle the op reads, S·V = V·diag(e),
// VᵀV = I and e ascending; below order 32 Jacobi's rotations, from 40
// LAPACK's syev (on the CPU). The upper triangle is not read.
TEST_P(LinalgTest, EighDiagonalizesTheSymmetricMatrixOfTheLowerTriangle) {
  for (DType dt : {float32, float64})
    for (int64_t n : {1, 2, 5, 12, 40}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " n = " + std::to_string(n));
      const int64_t batch = 2;
      const std::vector<double> av = random_values(batch * n * n, -2, 2, float64, 71);
      const Tensor a = make(av, {batch, n, n}, dt);
      const EighResult f = eigh(a);
      ASSERT_EQ(f.eigenvalues.shape(), TensorShape({batch, n}));
      ASSERT_EQ(f.eigenvectors.shape(), TensorShape({batch, n, n}));
      const std::vector<double> e = values(f.eigenvalues), v = values(f.eigenvectors);
      const long double tol = (dt == float32 ? 3e-6L : 1e-14L) * static_cast<long double>(n);
      long double worst_residual = 0;
      for (int64_t b = 0; b < batch; ++b) {
        auto S = [&](int64_t i, int64_t j) {  // (the lower triangle's element, rounded to dt as the op read it)
          return static_cast<long double>(values(a)[static_cast<size_t>((b * n + std::max(i, j)) * n + std::min(i, j))]);
        };
        auto V = [&](int64_t i, int64_t j) { return static_cast<long double>(v[static_cast<size_t>((b * n + i) * n + j)]); };
        for (int64_t j = 0; j + 1 < n; ++j)
          EXPECT_LE(e[static_cast<size_t>(b * n + j)], e[static_cast<size_t>(b * n + j + 1)]);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) {
            long double sv = 0;
            for (int64_t l = 0; l < n; ++l) sv += S(i, l) * V(l, j);
            worst_residual = std::max(worst_residual, std::fabs(sv - V(i, j) * static_cast<long double>(e[static_cast<size_t>(b * n + j)])));
          }
      }
      EXPECT_LT(worst_residual, tol * 8);
      EXPECT_LT(orthonormality_error(v, batch, n, n), tol);
      // The upper triangle is not read; eigvalsh gives the same values (to
      // rounding: LAPACK's iteration for values alone is another).
      const Tensor upper_changed = a + (band_part(ones_like(a), 0, -1) - band_part(ones_like(a), 0, 0));
      EXPECT_TRUE(all_close(eigh(upper_changed).eigenvalues, e, {batch, n}, 0, 0));
      EXPECT_TRUE(all_close(eigvalsh(a), e, {batch, n}, static_cast<double>(tol), static_cast<double>(tol)));
    }
}

// The second-difference matrix (2 on the diagonal, -1 beside it) of order n
// has eigenvalues 2 - 2·cos(kπ/(n + 1)) and eigenvectors sin(jkπ/(n + 1));
// the identity's are all 1 (any orthonormal basis), the zero matrix's 0.
TEST_P(LinalgTest, EighGivesTheKnownSpectra) {
  for (int64_t n : {7, 40}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const long double pi = 3.141592653589793238462643383279503L;
    const Tensor d = eye(n, float64) * 3.0 - band_part(ones({n, n}, float64), 1, 1);
    std::vector<double> want, want_vector;
    for (int64_t k = 1; k <= n; ++k) want.push_back(static_cast<double>(2 - 2 * std::cos(k * pi / (n + 1))));
    const EighResult f = eigh(d);
    EXPECT_TRUE(all_close(f.eigenvalues, want, {n}, 1e-13, 1e-13));
    // The first eigenvector, up to its sign: sin(jπ/(n + 1)), normalized.
    long double norm = 0;
    for (int64_t j = 1; j <= n; ++j) norm += std::sin(j * pi / (n + 1)) * std::sin(j * pi / (n + 1));
    const std::vector<double> v = values(f.eigenvectors);
    const double sign = v[0] > 0 ? 1 : -1;
    for (int64_t j = 1; j <= n; ++j)
      EXPECT_NEAR(sign * v[static_cast<size_t>((j - 1) * n)], static_cast<double>(std::sin(j * pi / (n + 1)) / std::sqrt(norm)),
                  1e-12);
  }
  const EighResult identity = eigh(eye(4, float32));
  EXPECT_TRUE(all_close(identity.eigenvalues, {1, 1, 1, 1}, {4}, 0, 0));
  EXPECT_LT(orthonormality_error(values(identity.eigenvectors), 1, 4, 4), 1e-7L);
  EXPECT_TRUE(all_close(eigh(zeros({3, 3}, float64)).eigenvalues, {0, 0, 0}, {3}, 0, 0));
  // Empty: TensorFlow's shapes.
  const EighResult empty = eigh(zeros({2, 0, 0}, float64));
  EXPECT_EQ(empty.eigenvalues.shape(), TensorShape({2, 0}));
  EXPECT_EQ(empty.eigenvectors.shape(), TensorShape({2, 0, 0}));
  EXPECT_EQ(execute(EMBER_OP(op_name::SelfAdjointEigV2), {eye(3, float64)}, {{"compute_v", false}})[1].shape(),
            TensorShape({0}));
}

// TensorFlow 2.21 refuses a matrix with a NaN in the triangle it reads
// (Eigen's solver does not converge), in these words, and reads past one
// in the other triangle; malformed input is refused naming the op.
TEST_P(LinalgTest, EighRefusesNaNAndMalformedInputAsTensorFlow) {
  for (int64_t n : {2, 40}) {
    std::vector<double> v = values(eye(n, float64));
    v[static_cast<size_t>(n)] = NAN;  // (row 1, column 0: below the diagonal)
    EXPECT_NE(error_of<InvalidArgument>([&] { eigh(make(v, {n, n}, float64)); })
                  .find("[eigh] Self-adjoint eigen decomposition was not successful. The input might not be valid."),
              std::string::npos);
    v[static_cast<size_t>(n)] = 0;
    v[1] = NAN;  // (row 0, column 1: above it, not read)
    EXPECT_TRUE(all_close(eigvalsh(make(v, {n, n}, float64)), std::vector<double>(static_cast<size_t>(n), 1.0), {n}, 0, 0));
  }
  EXPECT_NE(error_of<InvalidArgument>([] { eigh(ones({2, 3})); }).find("[eigh] Input matrix must be square"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { eigh(ones({2, 2}, int32)); }).find("[eigh] input must be float32 or float64, got int32"),
            std::string::npos);
}

// A = U·diag(s)·Vᵀ, UᵀU = VᵀV = I, s descending and non-negative; tall,
// wide and square, reduced and full, with Jacobi's rotations below 32 in
// the smaller dimension and LAPACK's gesdd from 45 (on the CPU);
// compute_uv = false gives the same s.
TEST_P(LinalgTest, SvdFactorsTallWideAndSquareMatrices) {
  for (DType dt : {float32, float64})
    for (auto [m, n] : {std::pair<int64_t, int64_t>{5, 3}, {3, 5}, {4, 4}, {1, 4}, {4, 1}, {70, 45}, {45, 70}})
      for (bool full : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(m) + "x" + std::to_string(n) + (full ? " full" : ""));
        const int64_t batch = 2, k = std::min(m, n), uc = full ? m : k, vc = full ? n : k;
        const Tensor a = make(random_values(batch * m * n, -2, 2, float64, 83), {batch, m, n}, dt);
        const SvdResult f = svd(a, full);
        ASSERT_EQ(f.s.shape(), TensorShape({batch, k}));
        ASSERT_EQ(f.u.shape(), TensorShape({batch, m, uc}));
        ASSERT_EQ(f.v.shape(), TensorShape({batch, n, vc}));
        const std::vector<double> av = values(a), s = values(f.s), u = values(f.u), v = values(f.v);
        const long double tol = (dt == float32 ? 3e-6L : 1e-14L) * static_cast<long double>(std::max(m, n));
        long double worst_product = 0;
        for (int64_t b = 0; b < batch; ++b) {
          for (int64_t j = 0; j < k; ++j) {
            EXPECT_GE(s[static_cast<size_t>(b * k + j)], 0);
            if (j + 1 < k) {
              EXPECT_GE(s[static_cast<size_t>(b * k + j)], s[static_cast<size_t>(b * k + j + 1)]);
            }
          }
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              long double x = 0;
              for (int64_t l = 0; l < k; ++l)
                x += static_cast<long double>(u[static_cast<size_t>((b * m + i) * uc + l)]) * s[static_cast<size_t>(b * k + l)] *
                     static_cast<long double>(v[static_cast<size_t>((b * n + j) * vc + l)]);
              worst_product = std::max(worst_product, std::fabs(x - static_cast<long double>(av[static_cast<size_t>((b * m + i) * n + j)])));
            }
        }
        EXPECT_LT(worst_product, tol * 8);
        EXPECT_LT(orthonormality_error(u, batch, m, uc), tol);
        EXPECT_LT(orthonormality_error(v, batch, n, vc), tol);
        const SvdResult values_only = svd(a, full, /*compute_uv=*/false);
        EXPECT_TRUE(all_close(values_only.s, s, {batch, k}, dt == float32 ? 1e-5 : 1e-12, dt == float32 ? 1e-5 : 1e-12));
        EXPECT_EQ(values_only.u.shape(), TensorShape({0}));
        EXPECT_EQ(values_only.v.shape(), TensorShape({0}));
      }
}

// The full U of a matrix whose left singular vectors are Hadamard columns
// (±1/√n in every row): each row lies (n - 1)/n in their span, so the
// completing column keeps only 1/n of any standard basis vector it starts
// from, and must still be made (orthonormal).
TEST_P(LinalgTest, SvdCompletesTheBasisWhereEveryRowIsMostlyInTheSpan) {
  for (int64_t n : {4, 16}) {
    SCOPED_TRACE(n);
    std::vector<double> h(static_cast<size_t>(n * (n - 1)));  // Sylvester's Hadamard columns 1 .. n - 1, scaled by n - j
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 1; j < n; ++j)
        h[static_cast<size_t>(i * (n - 1) + j - 1)] =
            (std::popcount(static_cast<uint64_t>(i & j)) % 2 ? -1.0 : 1.0) / std::sqrt(static_cast<double>(n)) * static_cast<double>(n - j);
    const SvdResult f = svd(make(h, {n, n - 1}, float64), /*full_matrices=*/true);
    ASSERT_EQ(f.u.shape(), TensorShape({n, n}));
    EXPECT_LT(orthonormality_error(values(f.u), 1, n, n), 1e-13L);
    std::vector<double> want_s;
    for (int64_t j = 1; j < n; ++j) want_s.push_back(static_cast<double>(n - j));
    EXPECT_TRUE(all_close(f.s, want_s, {n - 1}, 1e-13, 1e-13));
  }
}

// Rank-deficient matrices: the singular vectors of the zero singular values
// complete an orthonormal basis; TensorFlow 2.21's s of ones(3, 2) in
// float32 ([2.4494896, 5.96e-8]: the rounding of 0); an outer product's one
// singular value is the product of the norms. NaN gives NaN everywhere and
// empty matrices TensorFlow's shapes (the full U of no columns the identity).
TEST_P(LinalgTest, SvdOfRankDeficientNaNAndEmptyMatricesAsTensorFlow) {
  for (int64_t rows : {5, 50}) {
    SCOPED_TRACE(rows);
    const Tensor x = cast(range(rows), float64) + 1.0, y = make({1, -2, 2}, {3}, float64);
    const Tensor outer = matmul(reshape(x, {rows, 1}), reshape(y, {1, 3}));  // rank 1, ‖x‖·3
    const SvdResult f = svd(outer, /*full_matrices=*/true);
    const std::vector<double> s = values(f.s);
    EXPECT_NEAR(s[0], std::sqrt(static_cast<double>(rows * (rows + 1) * (2 * rows + 1) / 6)) * 3, 1e-12 * s[0]);
    EXPECT_LT(s[1], 1e-13 * s[0]);
    EXPECT_LT(orthonormality_error(values(f.u), 1, rows, rows), 1e-13L);
    EXPECT_LT(orthonormality_error(values(f.v), 1, 3, 3), 1e-13L);
  }
  const Tensor s = svd(ones({3, 2}), false, /*compute_uv=*/false).s;
  EXPECT_NEAR(values(s)[0], 2.4494896, 1e-6);
  EXPECT_LT(values(s)[1], 1e-6);
  std::vector<double> nan_in = {1, 2, NAN, 3};
  for (const Tensor& out : {svd(make(nan_in, {2, 2}, float64)).s, svd(make(nan_in, {2, 2}, float64)).u})
    for (double x : values(out)) EXPECT_TRUE(std::isnan(x));
  SvdResult empty = svd(zeros({0, 3}));
  EXPECT_EQ(empty.s.shape(), TensorShape({0}));
  EXPECT_EQ(empty.u.shape(), TensorShape({0, 0}));
  EXPECT_EQ(empty.v.shape(), TensorShape({3, 0}));
  empty = svd(zeros({2, 0}), /*full_matrices=*/true);
  EXPECT_TRUE(all_close(empty.u, {1, 0, 0, 1}, {2, 2}, 0, 0));
  EXPECT_EQ(empty.v.shape(), TensorShape({0, 0}));
  EXPECT_NE(error_of<InvalidArgument>([] { svd(ones({2})); }).find("[svd] input must have rank >= 2"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { svd(ones({2, 2}, int64)); }).find("[svd] input must be float32 or float64, got int64"),
            std::string::npos);
}

EMBER_INSTANTIATE_DEVICE_TESTS(LinalgTest);

}  // namespace
}  // namespace ember::test
