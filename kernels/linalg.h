// Dense linear algebra of one row-major matrix at a time, shared by the CPU
// kernels (a task per matrix) and the CUDA kernels (a thread per matrix):
// Cholesky, LU with partial pivoting and its solves, triangular solves (of
// n x n matrices), Householder QR (of m x n ones), the symmetric eigenproblem
// and the SVD by Jacobi rotations. Unblocked, with products summed in double: exact enough for
// float32 and float64, and fast for the batches of small matrices models
// use; large single matrices want LAPACK or cuSOLVER's blocked forms.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace ember::linalg {

/// L with L·Lᵀ = A, from A's lower triangle; zero above the diagonal.
/// False (L left partly written) where A is not positive definite: a pivot
/// not above zero, or NaN.
template <typename T>
EMBER_HOST_DEVICE bool cholesky(const T* a, T* l, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = static_cast<double>(a[j * n + j]);
    for (int64_t k = 0; k < j; ++k) d -= static_cast<double>(l[j * n + k]) * static_cast<double>(l[j * n + k]);
    if (!(d > 0)) return false;
    const double root = std::sqrt(d);
    l[j * n + j] = static_cast<T>(root);
    for (int64_t i = 0; i < j; ++i) l[i * n + j] = T(0);
    for (int64_t i = j + 1; i < n; ++i) {
      double s = static_cast<double>(a[i * n + j]);
      for (int64_t k = 0; k < j; ++k) s -= static_cast<double>(l[i * n + k]) * static_cast<double>(l[j * n + k]);
      l[i * n + j] = static_cast<T>(s / root);
    }
  }
  return true;
}

/// P·A = L·U in place (L unit lower below the diagonal, U on and above it);
/// perm[i] is the row of A that row i of P·A holds. Returns the sign of P.
/// A column with no nonzero pivot is left as it is (U's diagonal holds the
/// zero), as LAPACK's getrf does: the determinant is then 0.
template <typename T>
EMBER_HOST_DEVICE int lu(T* a, int64_t* perm, int64_t n) {
  int sign = 1;
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;
    double best = std::fabs(static_cast<double>(a[k * n + k]));
    for (int64_t i = k + 1; i < n; ++i) {
      const double v = std::fabs(static_cast<double>(a[i * n + k]));
      if (v > best) best = v, p = i;
    }
    if (p != k) {
      for (int64_t j = 0; j < n; ++j) {
        const T t = a[k * n + j];
        a[k * n + j] = a[p * n + j];
        a[p * n + j] = t;
      }
      const int64_t t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
      sign = -sign;
    }
    const double pivot = static_cast<double>(a[k * n + k]);
    if (pivot == 0) continue;
    for (int64_t i = k + 1; i < n; ++i) {
      const double f = static_cast<double>(a[i * n + k]) / pivot;
      a[i * n + k] = static_cast<T>(f);
      for (int64_t j = k + 1; j < n; ++j)
        a[i * n + j] = static_cast<T>(static_cast<double>(a[i * n + j]) - f * static_cast<double>(a[k * n + j]));
    }
  }
  return sign;
}

/// Whether every pivot of an LU is nonzero (and not NaN): TensorFlow's
/// test of invertibility.
template <typename T>
EMBER_HOST_DEVICE bool invertible(const T* lu_a, int64_t n) {
  for (int64_t k = 0; k < n; ++k)
    if (!(std::fabs(static_cast<double>(lu_a[k * n + k])) > 0)) return false;
  return true;
}

/// X (n x m) with A·X = B, or Aᵀ·X = B with `adjoint`, from A's LU and
/// perm; B and X are distinct buffers.
template <typename T>
EMBER_HOST_DEVICE void lu_solve(const T* lu_a, const int64_t* perm, const T* b, T* x, int64_t n, int64_t m,
                                bool adjoint) {
  for (int64_t c = 0; c < m; ++c) {
    if (!adjoint) {
      // L·y = P·b (unit diagonal), then U·x = y.
      for (int64_t i = 0; i < n; ++i) {
        double s = static_cast<double>(b[perm[i] * m + c]);
        for (int64_t j = 0; j < i; ++j) s -= static_cast<double>(lu_a[i * n + j]) * static_cast<double>(x[j * m + c]);
        x[i * m + c] = static_cast<T>(s);
      }
      for (int64_t i = n - 1; i >= 0; --i) {
        double s = static_cast<double>(x[i * m + c]);
        for (int64_t j = i + 1; j < n; ++j)
          s -= static_cast<double>(lu_a[i * n + j]) * static_cast<double>(x[j * m + c]);
        x[i * m + c] = static_cast<T>(s / static_cast<double>(lu_a[i * n + i]));
      }
    } else {
      // Aᵀ = Uᵀ·Lᵀ·P: Uᵀ·z = b, Lᵀ·w = z, x = Pᵀ·w (x[perm[i]] = w[i]).
      // z and w are kept in x's rows in P's order, then put in place.
      for (int64_t i = 0; i < n; ++i) {
        double s = static_cast<double>(b[i * m + c]);
        for (int64_t j = 0; j < i; ++j) s -= static_cast<double>(lu_a[j * n + i]) * static_cast<double>(x[j * m + c]);
        x[i * m + c] = static_cast<T>(s / static_cast<double>(lu_a[i * n + i]));
      }
      for (int64_t i = n - 1; i >= 0; --i) {
        double s = static_cast<double>(x[i * m + c]);
        for (int64_t j = i + 1; j < n; ++j)
          s -= static_cast<double>(lu_a[j * n + i]) * static_cast<double>(x[j * m + c]);
        x[i * m + c] = static_cast<T>(s);
      }
      // x = Pᵀ·w: follow each cycle of perm, moving w[i] to row perm[i].
      for (int64_t start = 0; start < n; ++start) {
        // Rows are visited once per cycle, from its smallest index.
        int64_t i = perm[start];
        bool smallest = true;
        while (i != start) {
          if (i < start) smallest = false;
          i = perm[i];
        }
        if (!smallest) continue;
        T carried = x[start * m + c];
        i = start;
        do {
          const int64_t to = perm[i];
          const T next = x[to * m + c];
          x[to * m + c] = carried;
          carried = next;
          i = to;
        } while (i != start);
      }
    }
  }
}

/// X (n x m) with A·X = B (Aᵀ·X = B with `adjoint`) for A triangular,
/// reading only its lower (or upper) triangle; X may be B.
template <typename T>
EMBER_HOST_DEVICE void triangular_solve(const T* a, const T* b, T* x, int64_t n, int64_t m, bool lower,
                                        bool adjoint) {
  // op(A)'s element (i, j), and whether op(A) is lower triangular.
  auto at = [&](int64_t i, int64_t j) { return static_cast<double>(adjoint ? a[j * n + i] : a[i * n + j]); };
  const bool forward = lower != adjoint;
  for (int64_t c = 0; c < m; ++c) {
    // Row i of op(A)·x = b, with x's entries [from, to) known: x[i].
    auto solve_row = [&](int64_t i, int64_t from, int64_t to) {
      double s = static_cast<double>(b[i * m + c]);
      for (int64_t j = from; j < to; ++j) s -= at(i, j) * static_cast<double>(x[j * m + c]);
      x[i * m + c] = static_cast<T>(s / at(i, i));
    };
    if (forward) {
      for (int64_t i = 0; i < n; ++i) solve_row(i, 0, i);
    } else {
      for (int64_t i = n - 1; i >= 0; --i) solve_row(i, i + 1, n);
    }
  }
}

/// The determinant's sign and log|det| from an LU and the sign of its P
/// (0 and -inf for a zero pivot; NaN propagates).
template <typename T>
EMBER_HOST_DEVICE void sign_and_log_determinant(const T* lu_a, int sign, int64_t n, double* sign_out,
                                                double* log_out) {
  double s = sign, log_abs = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double u = static_cast<double>(lu_a[k * n + k]);
    if (u == 0) {
      *sign_out = 0;
      *log_out = -INFINITY;
      return;
    }
    if (u < 0) s = -s;
    log_abs += std::log(std::fabs(u));
  }
  *sign_out = log_abs != log_abs ? log_abs : s;
  *log_out = log_abs;
}

/// The determinant: the product of U's diagonal with P's sign.
template <typename T>
EMBER_HOST_DEVICE double determinant(const T* lu_a, int sign, int64_t n) {
  double d = sign;
  for (int64_t k = 0; k < n; ++k) d *= static_cast<double>(lu_a[k * n + k]);
  return d;
}

/// Householder QR of the row-major m x n `a`, in place, as LAPACK's geqrf
/// and Eigen's HouseholderQR (TensorFlow's CPU kernel) make it: R on and
/// above the diagonal, and below it in column k the tail of reflector k's
/// vector v_k (v_k[k] = 1), H_k = I - tau[k]·v_k·v_kᵀ, k < min(m, n).
/// R's diagonal is -sign(a_kk)·‖column‖ (negative where a_kk is 0), except
/// that a column already zero below the diagonal (its squared norm at most
/// `tiny`, the dtype's smallest normal number) is left as it is, tau 0.
/// `w`: scratch of n doubles (a row of vᵀ·A, so that every pass reads rows).
template <typename T>
EMBER_HOST_DEVICE void householder_qr(T* a, double* tau, double* w, int64_t m, int64_t n, double tiny) {
  const int64_t p = m < n ? m : n;
  for (int64_t k = 0; k < p; ++k) {
    double tail = 0;
    for (int64_t i = k + 1; i < m; ++i) tail += static_cast<double>(a[i * n + k]) * static_cast<double>(a[i * n + k]);
    const double c0 = static_cast<double>(a[k * n + k]);
    if (tail <= tiny) {
      tau[k] = 0;
      continue;
    }
    const double norm = std::sqrt(c0 * c0 + tail);
    const double beta = c0 >= 0 ? -norm : norm;
    const double scale = 1 / (c0 - beta);
    for (int64_t i = k + 1; i < m; ++i) a[i * n + k] = static_cast<T>(static_cast<double>(a[i * n + k]) * scale);
    const double t = (beta - c0) / beta;
    tau[k] = t;
    a[k * n + k] = static_cast<T>(beta);
    // The columns right of k: A -= tau·v·(vᵀ·A), vᵀ·A summed row by row into w.
    for (int64_t j = k + 1; j < n; ++j) w[j] = static_cast<double>(a[k * n + j]);
    for (int64_t i = k + 1; i < m; ++i) {
      const double v = static_cast<double>(a[i * n + k]);
      for (int64_t j = k + 1; j < n; ++j) w[j] += v * static_cast<double>(a[i * n + j]);
    }
    for (int64_t j = k + 1; j < n; ++j) a[k * n + j] = static_cast<T>(static_cast<double>(a[k * n + j]) - t * w[j]);
    for (int64_t i = k + 1; i < m; ++i) {
      const double tv = t * static_cast<double>(a[i * n + k]);
      for (int64_t j = k + 1; j < n; ++j) a[i * n + j] = static_cast<T>(static_cast<double>(a[i * n + j]) - tv * w[j]);
    }
  }
}

/// The first `cols` columns of Q = H_0·H_1·…·H_(p-1) (row-major m x cols,
/// min(m, n) <= cols <= m) from householder_qr's `a` (m x n) and `tau`,
/// the reflectors applied to the identity's columns last one first (as
/// LAPACK's orgqr: H_k leaves the rows and columns before k alone).
/// `w`: scratch of `cols` doubles.
template <typename T>
EMBER_HOST_DEVICE void householder_q(const T* a, const double* tau, T* q, double* w, int64_t m, int64_t n,
                                     int64_t cols) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < cols; ++j) q[i * cols + j] = i == j ? T(1) : T(0);
  const int64_t p = m < n ? m : n;
  for (int64_t k = p - 1; k >= 0; --k) {
    const double t = tau[k];
    if (t == 0) continue;
    for (int64_t j = k; j < cols; ++j) w[j] = static_cast<double>(q[k * cols + j]);
    for (int64_t i = k + 1; i < m; ++i) {
      const double v = static_cast<double>(a[i * n + k]);
      for (int64_t j = k; j < cols; ++j) w[j] += v * static_cast<double>(q[i * cols + j]);
    }
    for (int64_t j = k; j < cols; ++j) q[k * cols + j] = static_cast<T>(static_cast<double>(q[k * cols + j]) - t * w[j]);
    for (int64_t i = k + 1; i < m; ++i) {
      const double tv = t * static_cast<double>(a[i * n + k]);
      for (int64_t j = k; j < cols; ++j) q[i * cols + j] = static_cast<T>(static_cast<double>(q[i * cols + j]) - tv * w[j]);
    }
  }
}

/// The first `rows` rows of R (rows x n) from householder_qr's `a`: its
/// upper triangle, zero below (and in rows at or past min(m, n)).
template <typename T>
EMBER_HOST_DEVICE void householder_r(const T* a, T* r, int64_t m, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) r[i * n + j] = i < m && i <= j ? a[i * n + j] : T(0);
}

/// The rotation (c, s) that Jacobi's methods apply to the pair (p, q) with
/// t = tan θ the smaller root of t² + 2ζt - 1 = 0 (the angle below π/4:
/// Rutishauser's choice, which converges), ζ = (a_qq - a_pp) / (2 a_pq) for
/// a symmetric matrix, or (‖b_q‖² - ‖b_p‖²) / (2 b_p·b_q) for two columns.
struct Rotation {
  double c, s;
};
EMBER_HOST_DEVICE inline Rotation jacobi_rotation(double zeta) {
  // (t = 1 / (2ζ) to first order where ζ² would overflow)
  const double t = std::fabs(zeta) > 1e100 ? 0.5 / zeta
                                           : (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
  const double c = 1 / std::sqrt(1 + t * t);
  return {c, c * t};
}

/// Columns p and q of the row-major `rows` x `cols` x rotated:
/// x_p ← c·x_p - s·x_q, x_q ← s·x_p + c·x_q.
EMBER_HOST_DEVICE inline void rotate_columns(double* x, int64_t rows, int64_t cols, int64_t p, int64_t q,
                                             Rotation r) {
  for (int64_t i = 0; i < rows; ++i) {
    const double xp = x[i * cols + p], xq = x[i * cols + q];
    x[i * cols + p] = r.c * xp - r.s * xq;
    x[i * cols + q] = r.s * xp + r.c * xq;
  }
}

/// Columns j and k of the row-major `rows` x `cols` x exchanged.
template <typename T>
EMBER_HOST_DEVICE void swap_columns(T* x, int64_t rows, int64_t cols, int64_t j, int64_t k) {
  for (int64_t i = 0; i < rows; ++i) {
    const T t = x[i * cols + j];
    x[i * cols + j] = x[i * cols + k];
    x[i * cols + k] = t;
  }
}

// The most sweeps of Jacobi's methods: they converge quadratically, in 6 to
// 10 sweeps for the matrices seen in practice; the bound ends a NaN's.
constexpr int kJacobiSweeps = 60;

/// The eigenvalues of the symmetric n x n matrix whose lower triangle is
/// `a`'s (row-major; the upper triangle is not read), ascending, into `e`,
/// and with `v` (not null) the eigenvectors as v's columns (row-major,
/// orthonormal): cyclic Jacobi rotations in double until each off-diagonal
/// element is below the rounding of its two diagonal ones. `w` and `z`:
/// scratch of n·n doubles each. False where `a` holds a NaN (the outputs
/// are then not written; TensorFlow refuses such a matrix).
template <typename T>
EMBER_HOST_DEVICE bool symmetric_eigen(const T* a, T* e, T* v, double* w, double* z, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      const double x = static_cast<double>(a[i * n + j]);
      if (x != x) return false;
      w[i * n + j] = w[j * n + i] = x;
    }
  for (int64_t i = 0; i < n * n; ++i) z[i] = i / n == i % n ? 1.0 : 0.0;
  for (int sweep = 0; sweep < kJacobiSweeps; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = w[p * n + q];
        if (apq == 0) continue;
        if (std::fabs(apq) <= 1e-18 * (std::fabs(w[p * n + p]) + std::fabs(w[q * n + q]))) {
          w[p * n + q] = w[q * n + p] = 0;  // (below the diagonal's rounding: moves no eigenvalue)
          continue;
        }
        rotated = true;
        const Rotation r = jacobi_rotation((w[q * n + q] - w[p * n + p]) / (2 * apq));
        // W ← Jᵀ·W·J: its columns p and q, then its rows (the transpose's columns).
        rotate_columns(w, n, n, p, q, r);
        for (int64_t k = 0; k < n; ++k) {
          const double wp = w[p * n + k], wq = w[q * n + k];
          w[p * n + k] = r.c * wp - r.s * wq;
          w[q * n + k] = r.s * wp + r.c * wq;
        }
        w[p * n + q] = w[q * n + p] = 0;
        rotate_columns(z, n, n, p, q, r);
      }
    if (!rotated) break;
  }
  // Ascending, by selection (n exchanges at most).
  for (int64_t j = 0; j < n; ++j) {
    int64_t smallest = j;
    for (int64_t k = j + 1; k < n; ++k)
      if (w[k * n + k] < w[smallest * n + smallest]) smallest = k;
    if (smallest != j) {
      const double t = w[j * n + j];
      w[j * n + j] = w[smallest * n + smallest];
      w[smallest * n + smallest] = t;
      swap_columns(z, n, n, j, smallest);
    }
    e[j] = static_cast<T>(w[j * n + j]);
  }
  if (v)
    for (int64_t i = 0; i < n * n; ++i) v[i] = static_cast<T>(z[i]);
  return true;
}

/// Column j of the row-major `rows` x `cols` x, from `r` (`rows` doubles,
/// overwritten): r made orthogonal to x's columns before j (Gram-Schmidt,
/// twice, which leaves it orthogonal to the double's rounding) and
/// normalized. False, with nothing written, where no more than the
/// fraction `keep` of r's squared length is left (r nearly in their span).
template <typename T>
EMBER_HOST_DEVICE bool orthonormal_column(T* x, int64_t rows, int64_t cols, int64_t j, double* r, double keep) {
  double before = 0;
  for (int64_t i = 0; i < rows; ++i) before += r[i] * r[i];
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t k = 0; k < j; ++k) {
      double d = 0;
      for (int64_t i = 0; i < rows; ++i) d += static_cast<double>(x[i * cols + k]) * r[i];
      for (int64_t i = 0; i < rows; ++i) r[i] -= d * static_cast<double>(x[i * cols + k]);
    }
  double after = 0;
  for (int64_t i = 0; i < rows; ++i) after += r[i] * r[i];
  if (!(after > keep * before) || !(after > 0)) return false;
  const double scale = 1 / std::sqrt(after);
  for (int64_t i = 0; i < rows; ++i) x[i * cols + j] = static_cast<T>(r[i] * scale);
  return true;
}

/// Column j of x from the standard basis vector least in the span of the
/// orthonormal columns before it: the row i with the least Σ_k x_ik², at
/// most j / rows (the squares sum to j), so at least 1 / rows of its
/// squared length is left, well above rounding.
template <typename T>
EMBER_HOST_DEVICE void complete_column(T* x, int64_t rows, int64_t cols, int64_t j, double* r) {
  int64_t best = 0;
  double least = INFINITY;
  for (int64_t i = 0; i < rows; ++i) {
    double in_span = 0;
    for (int64_t k = 0; k < j; ++k) in_span += static_cast<double>(x[i * cols + k]) * static_cast<double>(x[i * cols + k]);
    if (in_span < least) least = in_span, best = i;
  }
  for (int64_t i = 0; i < rows; ++i) r[i] = i == best ? 1.0 : 0.0;
  orthonormal_column(x, rows, cols, j, r, 0.5 / static_cast<double>(rows));
}

/// The SVD of the row-major m x n `a` = U·diag(s)·Vᵀ by one-sided Jacobi
/// rotations (Hestenes) in double on the columns of B, the matrix or its
/// transpose, whichever is tall (R x C, R ≥ C = min(m, n)): rotated until
/// every pair of columns is orthogonal to the double's rounding, B·Y = X·Σ.
/// Writes s (C values, descending) and, where `x` is not null, X (R x
/// x_cols, x_cols = C, or R for the full form: the columns past C, and any
/// of a zero singular value, completed to an orthonormal basis) and Y
/// (C x C). X is U and Y is V for a tall matrix, the reverse for a wide one.
/// `b`: scratch of R·C doubles, `z`: C·C, `r`: R. A NaN in `a` gives NaN in
/// every output, as TensorFlow's.
template <typename T>
EMBER_HOST_DEVICE void jacobi_svd(const T* a, int64_t m, int64_t n, T* s, T* x, int64_t x_cols, T* y, double* b,
                                  double* z, double* r) {
  const bool tall = m >= n;
  const int64_t rows = tall ? m : n, cols = tall ? n : m;
  bool nan = false;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double v = static_cast<double>(tall ? a[i * n + j] : a[j * n + i]);
      nan = nan || v != v;
      b[i * cols + j] = v;
    }
  if (nan) {
    for (int64_t j = 0; j < cols; ++j) s[j] = static_cast<T>(NAN);
    if (x) {
      for (int64_t i = 0; i < rows * x_cols; ++i) x[i] = static_cast<T>(NAN);
      for (int64_t i = 0; i < cols * cols; ++i) y[i] = static_cast<T>(NAN);
    }
    return;
  }
  for (int64_t i = 0; i < cols * cols; ++i) z[i] = i / cols == i % cols ? 1.0 : 0.0;
  for (int sweep = 0; sweep < kJacobiSweeps; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < cols; ++p)
      for (int64_t q = p + 1; q < cols; ++q) {
        double alpha = 0, beta = 0, gamma = 0;
        for (int64_t i = 0; i < rows; ++i) {
          const double bp = b[i * cols + p], bq = b[i * cols + q];
          alpha += bp * bp;
          beta += bq * bq;
          gamma += bp * bq;
        }
        if (!(std::fabs(gamma) > 1e-15 * std::sqrt(alpha * beta))) continue;  // (orthogonal enough)
        const Rotation rot = jacobi_rotation((beta - alpha) / (2 * gamma));
        rotate_columns(b, rows, cols, p, q, rot);
        rotate_columns(z, cols, cols, p, q, rot);
        rotated = true;
      }
    if (!rotated) break;
  }
  // The columns' lengths are the singular values: descending, by selection.
  for (int64_t j = 0; j < cols; ++j) {
    double length = 0;
    for (int64_t i = 0; i < rows; ++i) length += b[i * cols + j] * b[i * cols + j];
    r[j] = std::sqrt(length);  // (r as scratch: C ≤ R)
  }
  for (int64_t j = 0; j < cols; ++j) {
    int64_t largest = j;
    for (int64_t k = j + 1; k < cols; ++k)
      if (r[k] > r[largest]) largest = k;
    if (largest != j) {
      const double t = r[j];
      r[j] = r[largest];
      r[largest] = t;
      swap_columns(b, rows, cols, j, largest);
      swap_columns(z, cols, cols, j, largest);
    }
  }
  for (int64_t j = 0; j < cols; ++j) s[j] = static_cast<T>(r[j]);
  if (!x) return;
  for (int64_t i = 0; i < cols * cols; ++i) y[i] = static_cast<T>(z[i]);
  // X's columns: B's normalized (made orthogonal to the ones before, which
  // matters for those of tiny singular values), or completed.
  for (int64_t j = 0; j < x_cols; ++j) {
    bool done = false;
    if (j < cols && static_cast<double>(s[j]) > 0) {
      for (int64_t i = 0; i < rows; ++i) r[i] = b[i * cols + j];
      done = orthonormal_column(x, rows, x_cols, j, r, 0.25);  // (less left: a tiny singular value's rounding)
    }
    if (!done) complete_column(x, rows, x_cols, j, r);
  }
}

}  // namespace ember::linalg
