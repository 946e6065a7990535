// Dense linear algebra of one row-major matrix at a time, shared by the CPU
// kernels (a task per matrix) and the CUDA kernels (a thread per matrix):
// Cholesky, LU with partial pivoting and its solves, triangular solves (of
// n x n matrices), Householder QR (of m x n ones). Unblocked, with products summed in double: exact enough for
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

}  // namespace ember::linalg
