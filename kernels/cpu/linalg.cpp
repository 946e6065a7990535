// Matrix ops on the CPU: each matrix of the batch a task, split
// across threads; per task its own LU copy. Matrices below kBlockedFrom
// run kernels/linalg.h's loops (the CUDA kernels' too); larger ones
// OpenBLAS's LAPACK and CBLAS (blocked, and threaded when one matrix is the
// whole batch). LAPACK is column-major: a row-major buffer is the transposed
// matrix to it, which each call below accounts for. Singular matrices are
// counted while the threads run and reported after.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/parallel.h"
#include "kernels/linalg.h"
#include "kernels/matmul_batch.h"

// OpenBLAS's LAPACK (Fortran calling convention: every argument by address,
// a hidden length after the arguments for each character one).
extern "C" {
void spotrf_(const char* uplo, const blasint* n, float* a, const blasint* lda, blasint* info, size_t);
void dpotrf_(const char* uplo, const blasint* n, double* a, const blasint* lda, blasint* info, size_t);
void sgetrf_(const blasint* m, const blasint* n, float* a, const blasint* lda, blasint* ipiv, blasint* info);
void dgetrf_(const blasint* m, const blasint* n, double* a, const blasint* lda, blasint* ipiv, blasint* info);
void sgetrs_(const char* trans, const blasint* n, const blasint* nrhs, const float* a, const blasint* lda,
             const blasint* ipiv, float* b, const blasint* ldb, blasint* info, size_t);
void dgetrs_(const char* trans, const blasint* n, const blasint* nrhs, const double* a, const blasint* lda,
             const blasint* ipiv, double* b, const blasint* ldb, blasint* info, size_t);
void sgeqrf_(const blasint* m, const blasint* n, float* a, const blasint* lda, float* tau, float* work,
             const blasint* lwork, blasint* info);
void dgeqrf_(const blasint* m, const blasint* n, double* a, const blasint* lda, double* tau, double* work,
             const blasint* lwork, blasint* info);
void sorgqr_(const blasint* m, const blasint* n, const blasint* k, float* a, const blasint* lda, const float* tau,
             float* work, const blasint* lwork, blasint* info);
void dorgqr_(const blasint* m, const blasint* n, const blasint* k, double* a, const blasint* lda,
             const double* tau, double* work, const blasint* lwork, blasint* info);
void ssyev_(const char* jobz, const char* uplo, const blasint* n, float* a, const blasint* lda, float* w, float* work,
            const blasint* lwork, blasint* info, size_t, size_t);
void dsyev_(const char* jobz, const char* uplo, const blasint* n, double* a, const blasint* lda, double* w,
            double* work, const blasint* lwork, blasint* info, size_t, size_t);
void sgesdd_(const char* jobz, const blasint* m, const blasint* n, float* a, const blasint* lda, float* s, float* u,
             const blasint* ldu, float* vt, const blasint* ldvt, float* work, const blasint* lwork, blasint* iwork,
             blasint* info, size_t);
void dgesdd_(const char* jobz, const blasint* m, const blasint* n, double* a, const blasint* lda, double* s,
             double* u, const blasint* ldu, double* vt, const blasint* ldvt, double* work, const blasint* lwork,
             blasint* iwork, blasint* info, size_t);
}

namespace ember::cpu {
namespace {

// The order from which a matrix goes to LAPACK: below it a call's own
// overhead (and its column-major copies) outweighs what blocking saves.
constexpr int64_t kBlockedFrom = 32;

namespace lapack {

template <typename T>
blasint potrf(char uplo, blasint n, T* a) {
  blasint info = 0;
  if constexpr (std::is_same_v<T, float>) spotrf_(&uplo, &n, a, &n, &info, 1);
  else dpotrf_(&uplo, &n, a, &n, &info, 1);
  return info;
}

template <typename T>
void getrf(blasint n, T* a, blasint* ipiv) {
  blasint info = 0;  // (> 0: a zero pivot, which the callers read from U's diagonal)
  if constexpr (std::is_same_v<T, float>) sgetrf_(&n, &n, a, &n, ipiv, &info);
  else dgetrf_(&n, &n, a, &n, ipiv, &info);
  EMBER_CHECK(info >= 0, Internal, "[linalg] getrf rejected argument ", -info);
}

template <typename T>
void getrs(char trans, blasint n, blasint nrhs, const T* a, const blasint* ipiv, T* b) {
  blasint info = 0;
  if constexpr (std::is_same_v<T, float>) sgetrs_(&trans, &n, &nrhs, a, &n, ipiv, b, &n, &info, 1);
  else dgetrs_(&trans, &n, &nrhs, a, &n, ipiv, b, &n, &info, 1);
  EMBER_CHECK(info == 0, Internal, "[linalg] getrs rejected argument ", -info);
}

template <typename T>
void trsm(bool lower, bool transposed, blasint n, blasint m, const T* a, T* b) {
  const auto uplo = lower ? CblasLower : CblasUpper;
  const auto trans = transposed ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) cblas_strsm(CblasRowMajor, CblasLeft, uplo, trans, CblasNonUnit, n, m, 1.0f, a, n, b, m);
  else cblas_dtrsm(CblasRowMajor, CblasLeft, uplo, trans, CblasNonUnit, n, m, 1.0, a, n, b, m);
}

// Calls LAPACK's `call(work, lwork, info)` twice: with lwork -1, which asks
// for the workspace's size, then with a workspace of that size.
template <typename T, typename Call>
void with_workspace(const char* routine, Call&& call) {
  blasint info = 0;
  T size = 0;
  call(&size, blasint{-1}, info);
  std::vector<T> work(std::max<size_t>(1, static_cast<size_t>(size)));
  if (info == 0) call(work.data(), static_cast<blasint>(work.size()), info);
  EMBER_CHECK(info == 0, Internal, "[linalg] ", routine, " rejected argument ", -info);
}

// The QR of the column-major m x n `a` in place (geqrf: R on and above the
// diagonal, the reflectors below, their scales in tau).
template <typename T>
void geqrf(blasint m, blasint n, T* a, T* tau) {
  with_workspace<T>("geqrf", [&](T* work, blasint lwork, blasint& info) {
    if constexpr (std::is_same_v<T, float>) sgeqrf_(&m, &n, a, &m, tau, work, &lwork, &info);
    else dgeqrf_(&m, &n, a, &m, tau, work, &lwork, &info);
  });
}

// Q's first n columns (column-major m x n, in place) from the k reflectors geqrf left in a.
template <typename T>
void orgqr(blasint m, blasint n, blasint k, T* a, const T* tau) {
  with_workspace<T>("orgqr", [&](T* work, blasint lwork, blasint& info) {
    if constexpr (std::is_same_v<T, float>) sorgqr_(&m, &n, &k, a, &m, tau, work, &lwork, &info);
    else dorgqr_(&m, &n, &k, a, &m, tau, work, &lwork, &info);
  });
}

// The eigenvalues (ascending, into w) and with `vectors` the eigenvectors
// (a's columns, column-major, in place) of the symmetric n x n `a` whose
// upper triangle (column-major) is read. False where the iteration did not
// converge.
template <typename T>
bool syev(bool vectors, blasint n, T* a, T* w) {
  const char jobz = vectors ? 'V' : 'N', uplo = 'U';
  bool converged = true;
  with_workspace<T>("syev", [&](T* work, blasint lwork, blasint& info) {
    if constexpr (std::is_same_v<T, float>) ssyev_(&jobz, &uplo, &n, a, &n, w, work, &lwork, &info, 1, 1);
    else dsyev_(&jobz, &uplo, &n, a, &n, w, work, &lwork, &info, 1, 1);
    if (info > 0) converged = false, info = 0;
  });
  return converged;
}

// The SVD of the column-major m x n `a` (destroyed): s descending; with
// jobz 'S' or 'A', U (column-major m x ucol) and Vᵀ (column-major vrow x n).
template <typename T>
bool gesdd(char jobz, blasint m, blasint n, T* a, T* s, T* u, T* vt, blasint vrow) {
  std::vector<blasint> iwork(static_cast<size_t>(8 * std::max<blasint>(1, std::min(m, n))));
  const blasint ldu = std::max<blasint>(1, m), ldvt = std::max<blasint>(1, vrow), lda = std::max<blasint>(1, m);
  bool converged = true;
  with_workspace<T>("gesdd", [&](T* work, blasint lwork, blasint& info) {
    if constexpr (std::is_same_v<T, float>)
      sgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork.data(), &info, 1);
    else dgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork.data(), &info, 1);
    if (info > 0) converged = false, info = 0;
  });
  return converged;
}

// dst (cols x rows, row-major) = srcᵀ for src rows x cols, row-major.
template <typename T>
void transpose_into(const T* src, T* dst, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * rows + i] = src[i * cols + j];
}

}  // namespace lapack

const char* api(const KernelContext& c) { return c.op.api_name.c_str(); }

// The matrices' order n and how many there are (the batch dimensions'
// product: a batch of 0 x 0 matrices has its count).
struct Batch {
  int64_t n, count;
};
Batch batch_of(const Tensor& m) {
  int64_t count = 1;
  for (int i = 0; i < m.rank() - 2; ++i) count *= m.dim(i);
  return {m.dim(-1), count};
}

// Each matrix a task: about n³ work, so small ones are grouped.
template <typename F>
void for_each_matrix(int64_t count, int64_t n, F&& f) {
  const int64_t work = std::max<int64_t>(1, n * n * n);
  parallel_for(count, std::max<int64_t>(1, kParallelGrain / work), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) f(i);
  });
}

template <typename T>
void cholesky_typed(KernelContext& c) {
  const auto [n, count] = batch_of(c.inputs[0]);
  const T* a = c.inputs[0].data<const T>();
  T* l = c.outputs[0].data<T>();
  for_each_matrix(count, n, [&](int64_t i) {
    T* li = l + i * n * n;
    bool positive_definite;
    if (n < kBlockedFrom) {
      positive_definite = linalg::cholesky(a + i * n * n, li, n);
    } else {
      // Row-major A's lower triangle is the column-major upper one: potrf's
      // U (column-major), read row-major, is L. The other triangle is zeroed.
      std::copy(a + i * n * n, a + (i + 1) * n * n, li);
      positive_definite = lapack::potrf('U', static_cast<blasint>(n), li) == 0;
      for (int64_t r = 0; r < n; ++r) std::fill(li + r * n + r + 1, li + (r + 1) * n, T(0));
    }
    if (!positive_definite) std::fill(li, li + n * n, std::numeric_limits<T>::quiet_NaN());
  });
}

// One matrix's LU with partial pivoting: linalg::lu's row-major P·A = L·U
// below kBlockedFrom, else LAPACK's getrf of the column-major Aᵀ (Aᵀ =
// P·L·U). Either way U's diagonal is lu's, so invertibility and the
// determinant read it alike.
template <typename T>
struct Factored {
  int64_t n;
  std::vector<T> lu;
  std::vector<int64_t> perm;   // (linalg::lu's)
  std::vector<blasint> ipiv;  // (getrf's: 1-based row exchanges)
  int sign = 1;

  Factored(const T* a, int64_t order) : n(order), lu(a, a + order * order) {
    if (n < kBlockedFrom) {
      perm.resize(static_cast<size_t>(n));
      sign = linalg::lu(lu.data(), perm.data(), n);
      return;
    }
    ipiv.resize(static_cast<size_t>(n));
    lapack::getrf(static_cast<blasint>(n), lu.data(), ipiv.data());
    for (int64_t k = 0; k < n; ++k)
      if (ipiv[static_cast<size_t>(k)] != k + 1) sign = -sign;
  }
  bool invertible() const { return linalg::invertible(lu.data(), n); }
  /// x (n x m) with A·x = b, or Aᵀ·x = b with `adjoint`.
  void solve(const T* b, T* x, int64_t m, bool adjoint) const {
    if (n < kBlockedFrom) {
      linalg::lu_solve(lu.data(), perm.data(), b, x, n, m, adjoint);
      return;
    }
    // getrs solves op(Aᵀ)·X = B for column-major B: A·x = b is Aᵀ transposed ('T').
    std::vector<T> columns(static_cast<size_t>(n * m));
    lapack::transpose_into(b, columns.data(), n, m);
    lapack::getrs(adjoint ? 'N' : 'T', static_cast<blasint>(n), static_cast<blasint>(m), lu.data(), ipiv.data(),
                  columns.data());
    lapack::transpose_into(columns.data(), x, m, n);
  }
};

// MatrixSolve, and MatrixInverse as the solve of the identity (one, read by every matrix).
template <typename T>
void solve_typed(KernelContext& c, bool inverse) {
  const auto [n, count] = batch_of(c.inputs[0]);
  const int64_t m = inverse ? n : c.inputs[1].dim(-1);
  const bool adjoint = c.attrs.get<bool>("adjoint");
  std::vector<T> identity;
  if (inverse) {
    identity.assign(static_cast<size_t>(n * n), T(0));
    for (int64_t k = 0; k < n; ++k) identity[static_cast<size_t>(k * n + k)] = T(1);
  }
  const T *a = c.inputs[0].data<const T>(), *b = inverse ? identity.data() : c.inputs[1].data<const T>();
  const int64_t b_stride = inverse ? 0 : n * m;
  T* x = c.outputs[0].data<T>();
  std::atomic<bool> singular{false};
  for_each_matrix(count, n, [&](int64_t i) {
    const Factored<T> f(a + i * n * n, n);
    if (!f.invertible()) {
      singular = true;
      return;
    }
    f.solve(b + i * b_stride, x + i * n * m, m, adjoint);
  });
  EMBER_CHECK(!singular, InvalidArgument, "[", api(c), "] ",
              inverse ? "Input is not invertible." : "Input matrix is not invertible.");
}

template <typename T>
void triangular_solve_typed(KernelContext& c) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  Tensor& out = c.outputs[0];
  const int64_t n = a.dim(-1), m = b.dim(-1);
  const int64_t count = n * m == 0 ? 0 : out.num_elements() / (n * m);
  const bool lower = c.attrs.get<bool>("lower"), adjoint = c.attrs.get<bool>("adjoint");
  const T *pa = a.data<const T>(), *pb = b.data<const T>();
  T* px = out.data<T>();
  for_each_matrix(count, n, [&](int64_t t) {
    const auto [ia, ib] = kernels::batch_operands(out, a, b, t);
    if (n < kBlockedFrom) {
      linalg::triangular_solve(pa + ia * n * n, pb + ib * n * m, px + t * n * m, n, m, lower, adjoint);
    } else {
      std::copy(pb + ib * n * m, pb + (ib + 1) * n * m, px + t * n * m);
      lapack::trsm(lower, adjoint, static_cast<blasint>(n), static_cast<blasint>(m), pa + ia * n * n, px + t * n * m);
    }
  });
}

template <typename T>
void determinant_typed(KernelContext& c, bool log) {
  const auto [n, count] = batch_of(c.inputs[0]);
  const T* a = c.inputs[0].data<const T>();
  for_each_matrix(count, n, [&](int64_t i) {
    const Factored<T> f(a + i * n * n, n);
    if (!log) {
      c.outputs[0].data<T>()[i] = static_cast<T>(linalg::determinant(f.lu.data(), f.sign, n));
      return;
    }
    double s = 0, l = 0;
    linalg::sign_and_log_determinant(f.lu.data(), f.sign, n, &s, &l);
    c.outputs[0].data<T>()[i] = static_cast<T>(s);
    c.outputs[1].data<T>()[i] = static_cast<T>(l);
  });
}

// One matrix's QR from LAPACK (geqrf, orgqr) on its column-major copy: the
// same reflectors as kernels/linalg.h's (LAPACK's larfg is Eigen's
// makeHouseholder), blocked. Q (m x cols) and R (rows x n) row-major.
template <typename T>
void qr_lapack(const T* a, T* q, T* r, int64_t m, int64_t n, int64_t cols, int64_t rows) {
  const int64_t k = std::min(m, n);
  std::vector<T> f(static_cast<size_t>(m * std::max(n, cols))), tau(static_cast<size_t>(k));
  lapack::transpose_into(a, f.data(), m, n);
  lapack::geqrf(static_cast<blasint>(m), static_cast<blasint>(n), f.data(), tau.data());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) r[i * n + j] = i <= j && i < k ? f[static_cast<size_t>(j * m + i)] : T(0);
  // Q's columns past n (the full Q of a tall matrix) start as anything: orgqr sets them from the identity.
  lapack::orgqr(static_cast<blasint>(m), static_cast<blasint>(cols), static_cast<blasint>(k), f.data(), tau.data());
  lapack::transpose_into(f.data(), q, cols, m);
}

// Qr: a task per matrix; below kBlockedFrom (in its smaller dimension)
// kernels/linalg.h's Householder loops (row by row, sums in double) on a
// copy of the matrix, else LAPACK's.
template <typename T>
void qr_typed(KernelContext& c) {
  const Tensor& a = c.inputs[0];
  const int64_t m = a.dim(-2), n = a.dim(-1), cols = c.outputs[0].dim(-1), rows = c.outputs[1].dim(-2);
  int64_t count = 1;
  for (int i = 0; i < a.rank() - 2; ++i) count *= a.dim(i);
  const T* pa = a.data<const T>();
  T *q = c.outputs[0].data<T>(), *r = c.outputs[1].data<T>();
  for_each_matrix(count, std::max(m, n), [&](int64_t i) {
    if (std::min(m, n) >= kBlockedFrom) {
      qr_lapack(pa + i * m * n, q + i * m * cols, r + i * rows * n, m, n, cols, rows);
      return;
    }
    std::vector<T> work(pa + i * m * n, pa + (i + 1) * m * n);
    std::vector<double> tau(static_cast<size_t>(std::min(m, n))), w(static_cast<size_t>(std::max(n, cols)));
    linalg::householder_qr(work.data(), tau.data(), w.data(), m, n, std::numeric_limits<T>::min());
    linalg::householder_q(work.data(), tau.data(), q + i * m * cols, w.data(), m, n, cols);
    linalg::householder_r(work.data(), r + i * rows * n, m, n, rows);
  });
}

// SelfAdjointEigV2: a task per matrix; below kBlockedFrom kernels/linalg.h's
// Jacobi rotations, else LAPACK's syev (Householder tridiagonalization and
// QR iterations). Row-major A's lower triangle is the column-major upper
// one, which syev reads; its eigenvectors come back as column-major
// columns. A matrix with a NaN is refused in TensorFlow's words.
template <typename T>
void eigh_typed(KernelContext& c) {
  const auto [n, count] = batch_of(c.inputs[0]);
  const bool vectors = c.attrs.get<bool>("compute_v");
  const T* a = c.inputs[0].data<const T>();
  T *e = c.outputs[0].data<T>(), *v = vectors ? c.outputs[1].data<T>() : nullptr;
  std::atomic<bool> failed{false};
  for_each_matrix(count, n, [&](int64_t i) {
    const T* ai = a + i * n * n;
    T *ei = e + i * n, *vi = vectors ? v + i * n * n : nullptr;
    if (n < kBlockedFrom) {
      std::vector<double> w(static_cast<size_t>(n * n)), z(static_cast<size_t>(n * n));
      if (!linalg::symmetric_eigen(ai, ei, vi, w.data(), z.data(), n)) failed = true;
      return;
    }
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k = 0; k <= r; ++k)
        if (std::isnan(static_cast<double>(ai[r * n + k]))) {
          failed = true;
          return;
        }
    std::vector<T> f(ai, ai + n * n);
    if (!lapack::syev(vectors, static_cast<blasint>(n), f.data(), ei)) failed = true;
    else if (vectors) lapack::transpose_into(f.data(), vi, n, n);
  });
  EMBER_CHECK(!failed, InvalidArgument, "[", api(c),
              "] Self-adjoint eigen decomposition was not successful. The input might not be valid.");
}

// Svd: a task per matrix; below kBlockedFrom (in its smaller dimension)
// kernels/linalg.h's one-sided Jacobi, else LAPACK's gesdd (divide and
// conquer) of the column-major copy. gesdd's Vᵀ, column-major, is V
// row-major; its U comes back transposed.
template <typename T>
void svd_typed(KernelContext& c) {
  const Tensor& a = c.inputs[0];
  const int64_t m = a.dim(-2), n = a.dim(-1), k = std::min(m, n);
  const bool vectors = c.attrs.get<bool>("compute_uv"), full = c.attrs.get<bool>("full_matrices");
  const int64_t ucols = full ? m : k, vcols = full ? n : k;
  int64_t count = 1;
  for (int i = 0; i < a.rank() - 2; ++i) count *= a.dim(i);
  const T* pa = a.data<const T>();
  T* s = c.outputs[0].data<T>();
  T *u = vectors ? c.outputs[1].data<T>() : nullptr, *v = vectors ? c.outputs[2].data<T>() : nullptr;
  std::atomic<bool> failed{false};
  for_each_matrix(count, std::max(m, n), [&](int64_t i) {
    const T* ai = pa + i * m * n;
    T *si = s + i * k, *ui = vectors ? u + i * m * ucols : nullptr, *vi = vectors ? v + i * n * vcols : nullptr;
    if (k < kBlockedFrom) {
      // X and Y: U and V for a tall matrix, V and U for a wide one.
      const int64_t rows = std::max(m, n);
      std::vector<double> b(static_cast<size_t>(rows * k)), z(static_cast<size_t>(k * k)), r(static_cast<size_t>(rows));
      T* x = m >= n ? ui : vi;
      T* y = m >= n ? vi : ui;
      linalg::jacobi_svd(ai, m, n, si, x, m >= n ? ucols : vcols, y, b.data(), z.data(), r.data());
      return;
    }
    if (std::any_of(ai, ai + m * n, [](T x) { return std::isnan(x); })) {  // NaN everywhere, as TensorFlow's
      std::fill(si, si + k, std::numeric_limits<T>::quiet_NaN());
      if (vectors) {
        std::fill(ui, ui + m * ucols, std::numeric_limits<T>::quiet_NaN());
        std::fill(vi, vi + n * vcols, std::numeric_limits<T>::quiet_NaN());
      }
      return;
    }
    std::vector<T> f(static_cast<size_t>(m * n)), cu(static_cast<size_t>(vectors ? m * ucols : 1));
    lapack::transpose_into(ai, f.data(), m, n);
    const char jobz = !vectors ? 'N' : full ? 'A' : 'S';
    std::vector<T> scratch_v(vectors ? 0 : 1);
    if (!lapack::gesdd(jobz, static_cast<blasint>(m), static_cast<blasint>(n), f.data(), si, cu.data(),
                       vectors ? vi : scratch_v.data(), static_cast<blasint>(vcols))) {
      failed = true;
      return;
    }
    if (vectors) lapack::transpose_into(cu.data(), ui, ucols, m);
  });
  EMBER_CHECK(!failed, InvalidArgument, "[", api(c), "] the SVD did not converge (LAPACK's gesdd)");
}

// clang-format off
void qr(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), qr_typed<scalar_t>(c)); }
void cholesky(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), cholesky_typed<scalar_t>(c)); }
void inverse(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), solve_typed<scalar_t>(c, true)); }
void solve(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), solve_typed<scalar_t>(c, false)); }
void triangular_solve(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), triangular_solve_typed<scalar_t>(c)); }
void determinant(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), determinant_typed<scalar_t>(c, false)); }
void log_determinant(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), determinant_typed<scalar_t>(c, true)); }
void eigh(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), eigh_typed<scalar_t>(c)); }
void svd(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), svd_typed<scalar_t>(c)); }
// clang-format on

EMBER_REGISTER_KERNEL(op_name::SelfAdjointEigV2, CPU, eigh);
EMBER_REGISTER_KERNEL(op_name::Svd, CPU, svd);
EMBER_REGISTER_KERNEL(op_name::Cholesky, CPU, cholesky);
EMBER_REGISTER_KERNEL(op_name::MatrixInverse, CPU, inverse);
EMBER_REGISTER_KERNEL(op_name::MatrixSolve, CPU, solve);
EMBER_REGISTER_KERNEL(op_name::MatrixTriangularSolve, CPU, triangular_solve);
EMBER_REGISTER_KERNEL(op_name::MatrixDeterminant, CPU, determinant);
EMBER_REGISTER_KERNEL(op_name::LogMatrixDeterminant, CPU, log_determinant);
EMBER_REGISTER_KERNEL(op_name::Qr, CPU, qr);

}  // namespace
}  // namespace ember::cpu
