// Matrix ops on CUDA: a thread per matrix with the CPU's math
// (kernels/linalg.h), its LU and permutation (or the Jacobi methods'
// doubles) in scratch tensors. Exact and
// simple, suited to batches of small matrices; one large matrix runs on one
// thread and wants cuSOLVER's blocked factorizations instead. A singular
// matrix sets a device flag that the launcher reads after the kernel
// (MatrixInverse and MatrixSolve raise TensorFlow's error).
#include <algorithm>
#include <limits>
#include <vector>

#include "core/op_names.h"
#include "kernels/cuda/common.cuh"
#include "kernels/linalg.h"
#include "kernels/matmul_batch.h"

namespace ember::cuda {
namespace {

#define EMBER_FOR_EACH_MATRIX(i, count)                                                      \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (count); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

template <typename T>
__global__ void cholesky_matrices(const T* a, T* l, int64_t n, int64_t count) {
  EMBER_FOR_EACH_MATRIX(i, count) {
    T* li = l + i * n * n;
    if (!linalg::cholesky(a + i * n * n, li, n))
      for (int64_t k = 0; k < n * n; ++k) li[k] = static_cast<T>(NAN);
  }
}

// LU of matrix i of a into its place in lu and perm; returns P's sign.
template <typename T>
__device__ int factor(const T* a, T* lu, int64_t* perm, int64_t n, int64_t i) {
  for (int64_t k = 0; k < n * n; ++k) lu[i * n * n + k] = a[i * n * n + k];
  return linalg::lu(lu + i * n * n, perm + i * n, n);
}

// Matrix i's right-hand side is b + i·b_stride (0: one shared by all).
template <typename T>
__global__ void solve_matrices(const T* a, const T* b, int64_t b_stride, T* x, T* lu, int64_t* perm,
                               int32_t* singular, int64_t n, int64_t m, bool adjoint, int64_t count) {
  EMBER_FOR_EACH_MATRIX(i, count) {
    factor(a, lu, perm, n, i);
    if (!linalg::invertible(lu + i * n * n, n)) {
      *singular = 1;
      continue;
    }
    linalg::lu_solve(lu + i * n * n, perm + i * n, b + i * b_stride, x + i * n * m, n, m, adjoint);
  }
}

template <typename T>
__global__ void identity(T* e, int64_t n) {
  EMBER_FOR_EACH_MATRIX(k, n * n) { e[k] = k / n == k % n ? T(1) : T(0); }
}

template <typename T>
__global__ void triangular_solve_matrices(const T* a, const T* b, T* x, const int64_t* operands, int64_t n,
                                          int64_t m, bool lower, bool adjoint, int64_t count) {
  EMBER_FOR_EACH_MATRIX(t, count) {
    linalg::triangular_solve(a + operands[2 * t] * n * n, b + operands[2 * t + 1] * n * m, x + t * n * m, n, m,
                             lower, adjoint);
  }
}

template <typename T>
__global__ void determinant_matrices(const T* a, T* lu, int64_t* perm, T* det, T* log_abs, int64_t n,
                                     int64_t count) {
  EMBER_FOR_EACH_MATRIX(i, count) {
    const int sign = factor(a, lu, perm, n, i);
    if (log_abs == nullptr) {
      det[i] = static_cast<T>(linalg::determinant(lu + i * n * n, sign, n));
    } else {
      double s = 0, l = 0;
      linalg::sign_and_log_determinant(lu + i * n * n, sign, n, &s, &l);
      det[i] = static_cast<T>(s);
      log_abs[i] = static_cast<T>(l);
    }
  }
}

// Qr: the reflectors in a copy of each matrix (work), tau and a row of
// scratch per matrix.
template <typename T>
__global__ void qr_matrices(const T* a, T* work, double* tau, double* w, T* q, T* r, int64_t m, int64_t n,
                            int64_t cols, int64_t rows, double tiny, int64_t count) {
  const int64_t p = m < n ? m : n, width = n > cols ? n : cols;
  EMBER_FOR_EACH_MATRIX(i, count) {
    T* wi = work + i * m * n;
    for (int64_t k = 0; k < m * n; ++k) wi[k] = a[i * m * n + k];
    linalg::householder_qr(wi, tau + i * p, w + i * width, m, n, tiny);
    linalg::householder_q(wi, tau + i * p, q + i * m * cols, w + i * width, m, n, cols);
    linalg::householder_r(wi, r + i * rows * n, m, n, rows);
  }
}

// SelfAdjointEigV2 and Svd: kernels/linalg.h's Jacobi rotations, their
// double scratch per matrix (w, z; b, z, r) in tensors.
template <typename T>
__global__ void eigh_matrices(const T* a, T* e, T* v, double* w, double* z, int32_t* failed, int64_t n,
                              int64_t count) {
  EMBER_FOR_EACH_MATRIX(i, count) {
    if (!linalg::symmetric_eigen(a + i * n * n, e + i * n, v ? v + i * n * n : nullptr, w + i * n * n,
                                 z + i * n * n, n))
      *failed = 1;
  }
}

template <typename T>
__global__ void svd_matrices(const T* a, T* s, T* x, T* y, double* b, double* z, double* r, int64_t m, int64_t n,
                             int64_t x_cols, int64_t count) {
  const int64_t rows = m > n ? m : n, cols = m < n ? m : n;
  EMBER_FOR_EACH_MATRIX(i, count) {
    linalg::jacobi_svd(a + i * m * n, m, n, s + i * cols, x ? x + i * rows * x_cols : nullptr, x_cols,
                       y ? y + i * cols * cols : nullptr, b + i * rows * cols, z + i * cols * cols, r + i * rows);
  }
}

int64_t matrices(const Tensor& m) {
  int64_t count = 1;
  for (int i = 0; i < m.rank() - 2; ++i) count *= m.dim(i);
  return count;
}

// A device int that kernels set (to 1) for a matrix they cannot take: zeroed
// when made, read after them.
struct DeviceFlag {
  Tensor flag;
  DeviceFlag(const KernelContext& c, cudaStream_t s) : flag(Tensor::empty({1}, int32, c.device)) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(flag.raw_data(), 0, sizeof(int), s));
  }
  int32_t* data() { return flag.data<int32_t>(); }
  // Waits for the kernels and raises `message` if the flag was set.
  void raise_if_set(const KernelContext& c, cudaStream_t s, const char* message) const {
    int set = 0;
    EMBER_CUDA_CHECK(cudaMemcpyAsync(&set, flag.raw_data(), sizeof set, cudaMemcpyDeviceToHost, s));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
    EMBER_CHECK(set == 0, InvalidArgument, "[", c.op.api_name, "] ", message);
  }
};

// Scratch for `count` LUs of order n.
struct Scratch {
  Tensor lu, perm;
  DeviceFlag singular;
  Scratch(const KernelContext& c, DType dtype, int64_t n, int64_t count, cudaStream_t s)
      : lu(Tensor::empty({std::max<int64_t>(count * n * n, 1)}, dtype, c.device)),
        perm(Tensor::empty({std::max<int64_t>(count * n, 1)}, int64, c.device)),
        singular(c, s) {}
};

template <typename T>
void cholesky_typed(KernelContext& c) {
  const int64_t n = c.inputs[0].dim(-1), count = matrices(c.inputs[0]);
  if (n == 0 || count == 0) return;
  cholesky_matrices<T><<<blocks_for(count), kThreads, 0, prepare(c)>>>(c.inputs[0].data<const T>(),
                                                                      c.outputs[0].data<T>(), n, count);
  EMBER_CUDA_LAUNCHED();
}

// MatrixSolve, and MatrixInverse as the solve of the identity.
template <typename T>
void solve_typed(KernelContext& c, bool inverse) {
  const int64_t n = c.inputs[0].dim(-1), count = matrices(c.inputs[0]);
  const int64_t m = inverse ? n : c.inputs[1].dim(-1);
  if (n == 0 || count == 0 || m == 0) return;
  cudaStream_t s = prepare(c);
  Scratch scratch(c, c.inputs[0].dtype(), n, count, s);
  Tensor rhs = inverse ? Tensor::empty({n * n}, c.inputs[0].dtype(), c.device) : c.inputs[1];
  if (inverse) {
    identity<T><<<blocks_for(n * n), kThreads, 0, s>>>(rhs.data<T>(), n);
    EMBER_CUDA_LAUNCHED();
  }
  // (The inverse's right-hand side is one identity, read by every matrix: stride 0.)
  solve_matrices<T><<<blocks_for(count), kThreads, 0, s>>>(
      c.inputs[0].data<const T>(), rhs.data<const T>(), inverse ? 0 : n * m, c.outputs[0].data<T>(),
      scratch.lu.data<T>(), scratch.perm.data<int64_t>(), scratch.singular.data(), n, m,
      c.attrs.get<bool>("adjoint"), count);
  EMBER_CUDA_LAUNCHED();
  scratch.singular.raise_if_set(c, s, inverse ? "Input is not invertible." : "Input matrix is not invertible.");
}

template <typename T>
void triangular_solve_typed(KernelContext& c) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  Tensor& out = c.outputs[0];
  const int64_t n = a.dim(-1), m = b.dim(-1);
  const int64_t count = n * m == 0 ? 0 : out.num_elements() / (n * m);
  if (count == 0) return;
  std::vector<int64_t> pairs(static_cast<size_t>(2 * count));
  for (int64_t t = 0; t < count; ++t) {
    const auto [ia, ib] = kernels::batch_operands(out, a, b, t);
    pairs[static_cast<size_t>(2 * t)] = ia;
    pairs[static_cast<size_t>(2 * t + 1)] = ib;
  }
  const Tensor operands = constant(pairs, TensorShape{2 * count}, c.device);
  triangular_solve_matrices<T><<<blocks_for(count), kThreads, 0, prepare(c)>>>(
      a.data<const T>(), b.data<const T>(), out.data<T>(), operands.data<const int64_t>(), n, m,
      c.attrs.get<bool>("lower"), c.attrs.get<bool>("adjoint"), count);
  EMBER_CUDA_LAUNCHED();
}

template <typename T>
void determinant_typed(KernelContext& c, bool log) {
  const int64_t n = c.inputs[0].dim(-1), count = matrices(c.inputs[0]);
  if (count == 0) return;
  cudaStream_t s = prepare(c);
  Scratch scratch(c, c.inputs[0].dtype(), n, count, s);
  determinant_matrices<T><<<blocks_for(count), kThreads, 0, s>>>(
      c.inputs[0].data<const T>(), scratch.lu.data<T>(), scratch.perm.data<int64_t>(), c.outputs[0].data<T>(),
      log ? c.outputs[1].data<T>() : nullptr, n, count);
  EMBER_CUDA_LAUNCHED();
}

template <typename T>
void qr_typed(KernelContext& c) {
  const Tensor& a = c.inputs[0];
  const int64_t m = a.dim(-2), n = a.dim(-1), cols = c.outputs[0].dim(-1), rows = c.outputs[1].dim(-2);
  const int64_t count = matrices(a);
  if (count == 0 || m == 0) return;
  Tensor work = Tensor::empty({std::max<int64_t>(count * m * n, 1)}, a.dtype(), c.device);
  Tensor tau = Tensor::empty({std::max<int64_t>(count * std::min(m, n), 1)}, float64, c.device);
  Tensor w = Tensor::empty({std::max<int64_t>(count * std::max(n, cols), 1)}, float64, c.device);
  qr_matrices<T><<<blocks_for(count), kThreads, 0, prepare(c)>>>(
      a.data<const T>(), work.data<T>(), tau.data<double>(), w.data<double>(), c.outputs[0].data<T>(),
      c.outputs[1].data<T>(), m, n, cols, rows, std::numeric_limits<T>::min(), count);
  EMBER_CUDA_LAUNCHED();
}

// Scratch of `size` doubles (at least one).
Tensor doubles(const KernelContext& c, int64_t size) {
  return Tensor::empty({std::max<int64_t>(size, 1)}, float64, c.device);
}

template <typename T>
void eigh_typed(KernelContext& c) {
  const int64_t n = c.inputs[0].dim(-1), count = matrices(c.inputs[0]);
  if (n == 0 || count == 0) return;
  const bool vectors = c.attrs.get<bool>("compute_v");
  cudaStream_t s = prepare(c);
  DeviceFlag failed(c, s);
  Tensor w = doubles(c, count * n * n), z = doubles(c, count * n * n);
  eigh_matrices<T><<<blocks_for(count), kThreads, 0, s>>>(
      c.inputs[0].data<const T>(), c.outputs[0].data<T>(), vectors ? c.outputs[1].data<T>() : nullptr,
      w.data<double>(), z.data<double>(), failed.data(), n, count);
  EMBER_CUDA_LAUNCHED();
  failed.raise_if_set(c, s, "Self-adjoint eigen decomposition was not successful. The input might not be valid.");
}

// X and Y of linalg::jacobi_svd are U and V for a tall matrix, V and U for a wide one.
template <typename T>
void svd_typed(KernelContext& c) {
  const Tensor& a = c.inputs[0];
  const int64_t m = a.dim(-2), n = a.dim(-1), count = matrices(a);
  const int64_t rows = std::max(m, n), cols = std::min(m, n);
  const bool vectors = c.attrs.get<bool>("compute_uv"), full = c.attrs.get<bool>("full_matrices");
  if (count == 0 || rows == 0) return;
  T* u = vectors ? c.outputs[1].data<T>() : nullptr;
  T* v = vectors ? c.outputs[2].data<T>() : nullptr;
  Tensor b = doubles(c, count * rows * cols), z = doubles(c, count * cols * cols), r = doubles(c, count * rows);
  svd_matrices<T><<<blocks_for(count), kThreads, 0, prepare(c)>>>(
      a.data<const T>(), c.outputs[0].data<T>(), m >= n ? u : v, m >= n ? v : u, b.data<double>(), z.data<double>(),
      r.data<double>(), m, n, full ? rows : cols, count);
  EMBER_CUDA_LAUNCHED();
}

// clang-format off
void eigh(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), eigh_typed<scalar_t>(c)); }
void svd(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), svd_typed<scalar_t>(c)); }
void qr(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), qr_typed<scalar_t>(c)); }
void cholesky(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), cholesky_typed<scalar_t>(c)); }
void inverse(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), solve_typed<scalar_t>(c, true)); }
void solve(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), solve_typed<scalar_t>(c, false)); }
void triangular_solve(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), triangular_solve_typed<scalar_t>(c)); }
void determinant(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), determinant_typed<scalar_t>(c, false)); }
void log_determinant(KernelContext& c) { EMBER_SWITCH_FLOAT(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), determinant_typed<scalar_t>(c, true)); }
// clang-format on

EMBER_REGISTER_KERNEL(op_name::Cholesky, CUDA, cholesky);
EMBER_REGISTER_KERNEL(op_name::MatrixInverse, CUDA, inverse);
EMBER_REGISTER_KERNEL(op_name::MatrixSolve, CUDA, solve);
EMBER_REGISTER_KERNEL(op_name::MatrixTriangularSolve, CUDA, triangular_solve);
EMBER_REGISTER_KERNEL(op_name::MatrixDeterminant, CUDA, determinant);
EMBER_REGISTER_KERNEL(op_name::LogMatrixDeterminant, CUDA, log_determinant);
EMBER_REGISTER_KERNEL(op_name::Qr, CUDA, qr);
EMBER_REGISTER_KERNEL(op_name::SelfAdjointEigV2, CUDA, eigh);
EMBER_REGISTER_KERNEL(op_name::Svd, CUDA, svd);

}  // namespace
}  // namespace ember::cuda
