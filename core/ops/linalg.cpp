// Matrices [..., m, n], each on its own (float32, float64): TensorFlow's
// Cholesky, MatrixTriangularSolve, MatrixSolve, MatrixInverse,
// MatrixDeterminant, LogMatrixDeterminant and SelfAdjointEigV2 of square
// ones, and Qr and Svd of any, with their gradients (TensorFlow's linalg_grad.py), and the front-ends
// written with them or beside them: band_part, eye, cholesky_solve. The kernels' math, one
// matrix at a time, is kernels/linalg.h.
#include <algorithm>
#include <cstdlib>
#include <utility>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

// TensorFlow's checks (linalg_ops_common.cc and the ops' shape functions),
// in its words: float32 or float64, rank >= 2, square.
void require_matrices(InferContext& c, const Tensor& m, const char* what) {
  if (m.dtype() != float32 && m.dtype() != float64)
    c.fail(what, " must be float32 or float64, got ", dtype_name(m.dtype()));
  if (!m.shape().rank_known()) return;
  if (m.rank() < 2) c.fail(what, " must have rank >= 2, got shape ", m.shape().to_debug_string());
  const int64_t rows = m.shape().dim(-2), cols = m.shape().dim(-1);
  if (rows >= 0 && cols >= 0 && rows != cols)
    c.fail("Input matrix must be square; ", what, " has shape ", m.shape().to_debug_string());
}

Dims batch_dims(const TensorShape& s) { return Dims(s.dims().begin(), s.dims().end() - 2); }

// The matrices' n (the known one of the last two dimensions).
int64_t order(const TensorShape& s) { return s.dim(-1) >= 0 ? s.dim(-1) : s.dim(-2); }

void infer_same_shape(InferContext& c) {
  const Tensor& m = c.inputs[0];
  require_matrices(c, m, "input");
  if (!m.shape().rank_known()) {
    c.outputs.push_back({m.dtype(), TensorShape::unknown_rank()});
    return;
  }
  Dims d = batch_dims(m.shape());
  d.push_back(order(m.shape()));
  d.push_back(order(m.shape()));
  c.outputs.push_back({m.dtype(), TensorShape(std::move(d))});
}

void infer_determinant(InferContext& c) {
  const Tensor& m = c.inputs[0];
  require_matrices(c, m, "input");
  const TensorShape out = m.shape().rank_known() ? TensorShape(batch_dims(m.shape())) : TensorShape::unknown_rank();
  c.outputs.push_back({m.dtype(), out});
  if (c.op.name == op_name::LogMatrixDeterminant) c.outputs.push_back({m.dtype(), out});
}

// matrix [..., n, n] and rhs [..., n, k]: the batch dimensions equal
// (MatrixSolve) or broadcast (MatrixTriangularSolve).
void infer_solve(InferContext& c, bool broadcasts) {
  const Tensor &m = c.inputs[0], &rhs = c.inputs[1];
  require_matrices(c, m, "matrix");
  infer::require_same_dtype(c, m, rhs);
  if (rhs.shape().rank_known() && rhs.rank() < 2)
    c.fail("rhs must have rank >= 2, got shape ", rhs.shape().to_debug_string());
  if (!m.shape().rank_known() || !rhs.shape().rank_known()) {
    c.outputs.push_back({m.dtype(), TensorShape::unknown_rank()});
    return;
  }
  const int64_t n = order(m.shape()), rows = rhs.shape().dim(-2);
  if (n >= 0 && rows >= 0 && n != rows)
    c.fail("Input matrix and rhs are incompatible: ", m.shape().to_debug_string(), " and ",
           rhs.shape().to_debug_string());
  TensorShape batch;
  if (broadcasts) {
    batch = infer::broadcast(c, TensorShape(batch_dims(m.shape())), TensorShape(batch_dims(rhs.shape())));
  } else {
    const TensorShape bm(batch_dims(m.shape())), br(batch_dims(rhs.shape()));
    const std::optional<TensorShape> merged = bm.merge_with(br);
    if (!merged)
      c.fail("All input tensors must have the same outer dimensions: ", m.shape().to_debug_string(), " and ",
             rhs.shape().to_debug_string());
    batch = *merged;
  }
  Dims d = batch.dims();
  d.push_back(n >= 0 ? n : rows);
  d.push_back(rhs.shape().dim(-1));
  c.outputs.push_back({m.dtype(), TensorShape(std::move(d))});
}

// Qr: q [..., m, k] and r [..., k, n], k = min(m, n); q [..., m, m] and
// r [..., m, n] with full_matrices.
void infer_qr(InferContext& c) {
  const Tensor& a = c.inputs[0];
  if (a.dtype() != float32 && a.dtype() != float64)
    c.fail("input must be float32 or float64, got ", dtype_name(a.dtype()));
  if (!a.shape().rank_known()) {
    c.outputs.push_back({a.dtype(), TensorShape::unknown_rank()});
    c.outputs.push_back({a.dtype(), TensorShape::unknown_rank()});
    return;
  }
  if (a.rank() < 2) c.fail("input must have rank >= 2, got shape ", a.shape().to_debug_string());
  const int64_t m = a.shape().dim(-2), n = a.shape().dim(-1);
  const int64_t k = c.attrs.get<bool>("full_matrices") ? m : (m < 0 || n < 0 ? -1 : std::min(m, n));
  Dims q = batch_dims(a.shape()), r = q;
  q.push_back(m);
  q.push_back(k);
  r.push_back(k);
  r.push_back(n);
  c.outputs.push_back({a.dtype(), TensorShape(std::move(q))});
  c.outputs.push_back({a.dtype(), TensorShape(std::move(r))});
}

// SelfAdjointEigV2: e [..., n] and v [..., n, n] (the empty [0] without compute_v).
void infer_eigh(InferContext& c) {
  const Tensor& m = c.inputs[0];
  require_matrices(c, m, "input");
  const bool vectors = c.attrs.get<bool>("compute_v");
  if (!m.shape().rank_known()) {
    c.outputs.push_back({m.dtype(), TensorShape::unknown_rank()});
    c.outputs.push_back({m.dtype(), vectors ? TensorShape::unknown_rank() : TensorShape({0})});
    return;
  }
  Dims e = batch_dims(m.shape());
  e.push_back(order(m.shape()));
  Dims v = e;
  v.push_back(order(m.shape()));
  c.outputs.push_back({m.dtype(), TensorShape(std::move(e))});
  c.outputs.push_back({m.dtype(), vectors ? TensorShape(std::move(v)) : TensorShape({0})});
}

// Svd: s [..., k], u [..., m, k] and v [..., n, k], k = min(m, n); u
// [..., m, m] and v [..., n, n] with full_matrices; u and v the empty [0]
// without compute_uv.
void infer_svd(InferContext& c) {
  const Tensor& a = c.inputs[0];
  if (a.dtype() != float32 && a.dtype() != float64)
    c.fail("input must be float32 or float64, got ", dtype_name(a.dtype()));
  const bool vectors = c.attrs.get<bool>("compute_uv"), full = c.attrs.get<bool>("full_matrices");
  if (!a.shape().rank_known()) {
    c.outputs.push_back({a.dtype(), TensorShape::unknown_rank()});
    for (int i = 0; i < 2; ++i)
      c.outputs.push_back({a.dtype(), vectors ? TensorShape::unknown_rank() : TensorShape({0})});
    return;
  }
  if (a.rank() < 2) c.fail("input must have rank >= 2, got shape ", a.shape().to_debug_string());
  const int64_t m = a.shape().dim(-2), n = a.shape().dim(-1), k = m < 0 || n < 0 ? -1 : std::min(m, n);
  Dims s = batch_dims(a.shape()), u = s, v = s;
  s.push_back(k);
  u.push_back(m);
  u.push_back(full ? m : k);
  v.push_back(n);
  v.push_back(full ? n : k);
  c.outputs.push_back({a.dtype(), TensorShape(std::move(s))});
  c.outputs.push_back({a.dtype(), vectors ? TensorShape(std::move(u)) : TensorShape({0})});
  c.outputs.push_back({a.dtype(), vectors ? TensorShape(std::move(v)) : TensorShape({0})});
}

// clang-format off
[[maybe_unused]] const bool linalg_ops_defined = [] {
  define_op(op_name::Cholesky).inputs(1).api("cholesky").set_infer(infer_same_shape);
  define_op(op_name::MatrixTriangularSolve).inputs(2).attr("lower", AttrKind::Bool).attr("adjoint", AttrKind::Bool)
      .api("triangular_solve").set_infer([](InferContext& c) { infer_solve(c, true); });
  define_op(op_name::MatrixSolve).inputs(2).attr("adjoint", AttrKind::Bool).api("matrix_solve")
      .set_infer([](InferContext& c) { infer_solve(c, false); });
  define_op(op_name::MatrixInverse).inputs(1).attr("adjoint", AttrKind::Bool).api("matrix_inverse")
      .set_infer(infer_same_shape);
  define_op(op_name::MatrixDeterminant).inputs(1).api("matrix_determinant").set_infer(infer_determinant);
  define_op(op_name::LogMatrixDeterminant).inputs(1).api("log_matrix_determinant").set_infer(infer_determinant)
      .tf_outputs({"sign", "log_abs_determinant"});
  define_op(op_name::Qr).inputs(1).attr("full_matrices", AttrKind::Bool).api("qr").set_infer(infer_qr)
      .tf_outputs({"q", "r"});
  define_op(op_name::SelfAdjointEigV2).inputs(1).attr("compute_v", AttrKind::Bool).api("eigh").set_infer(infer_eigh)
      .tf_outputs({"e", "v"});
  define_op(op_name::Svd).inputs(1).attr("compute_uv", AttrKind::Bool).attr("full_matrices", AttrKind::Bool)
      .api("svd").set_infer(infer_svd).tf_outputs({"s", "u", "v"});
  return true;
}();
// clang-format on

}  // namespace

Tensor band_part(const Tensor& x, const Tensor& lower, const Tensor& upper) {
  ApiScope api("band_part");
  EMBER_CHECK(x.shape().rank_known(), Unimplemented, "[band_part] needs the rank of x, which this trace does not know");
  EMBER_CHECK(x.rank() >= 2, InvalidArgument, "[band_part] x must have rank >= 2, got shape ",
              x.shape().to_debug_string());
  const Tensor zero = constant(int64_t{0}), one = constant(int64_t{1});
  const Tensor rows = reshape(range(zero, shape_at(x, -2), one), {-1, 1});
  const Tensor cols = reshape(range(zero, shape_at(x, -1), one), {1, -1});
  const Tensor lo = cast(lower, int64), up = cast(upper, int64);
  const Tensor keep = logical_and(logical_or(less(lo, zero), less_equal(rows - cols, lo)),
                                  logical_or(less(up, zero), less_equal(cols - rows, up)));
  return where(keep, x, zeros_like(x));
}

Tensor band_part(const Tensor& x, int64_t lower, int64_t upper) {
  return band_part(x, constant(lower), constant(upper));
}

Tensor eye(const Tensor& n, DType dtype) {
  ApiScope api("eye");
  const Tensor zero = constant(int64_t{0}), one = constant(int64_t{1});
  const Tensor i = range(zero, cast(n, int64), one);
  return cast(equal(reshape(i, {-1, 1}), reshape(i, {1, -1})), dtype);
}

Tensor eye(int64_t n, DType dtype) {
  EMBER_CHECK(n >= 0, InvalidArgument, "[eye] n must be non-negative, got ", n);
  return eye(constant(n), dtype);
}

Tensor cholesky(const Tensor& matrix) { return execute1(EMBER_OP(op_name::Cholesky), {matrix}); }

Tensor triangular_solve(const Tensor& matrix, const Tensor& rhs, bool lower, bool adjoint) {
  return execute1(EMBER_OP(op_name::MatrixTriangularSolve), {matrix, rhs}, {{"lower", lower}, {"adjoint", adjoint}});
}

Tensor matrix_solve(const Tensor& matrix, const Tensor& rhs, bool adjoint) {
  return execute1(EMBER_OP(op_name::MatrixSolve), {matrix, rhs}, {{"adjoint", adjoint}});
}

Tensor matrix_inverse(const Tensor& matrix, bool adjoint) {
  return execute1(EMBER_OP(op_name::MatrixInverse), {matrix}, {{"adjoint", adjoint}});
}

Tensor matrix_determinant(const Tensor& matrix) { return execute1(EMBER_OP(op_name::MatrixDeterminant), {matrix}); }

SignAndLogDeterminant log_matrix_determinant(const Tensor& matrix) {
  std::vector<Tensor> out = execute(EMBER_OP(op_name::LogMatrixDeterminant), {matrix}, {});
  return {out[0], out[1]};
}

QrResult qr(const Tensor& matrix, bool full_matrices) {
  std::vector<Tensor> out = execute(EMBER_OP(op_name::Qr), {matrix}, {{"full_matrices", full_matrices}});
  return {out[0], out[1]};
}

EighResult eigh(const Tensor& matrix) {
  std::vector<Tensor> out = execute(EMBER_OP(op_name::SelfAdjointEigV2), {matrix}, {{"compute_v", true}});
  return {out[0], out[1]};
}

Tensor eigvalsh(const Tensor& matrix) {
  return execute(EMBER_OP(op_name::SelfAdjointEigV2), {matrix}, {{"compute_v", false}})[0];
}

SvdResult svd(const Tensor& matrix, bool full_matrices, bool compute_uv) {
  std::vector<Tensor> out = execute(EMBER_OP(op_name::Svd), {matrix},
                                    {{"compute_uv", compute_uv}, {"full_matrices", full_matrices}});
  return {out[0], out[1], out[2]};
}

Tensor cholesky_solve(const Tensor& chol, const Tensor& rhs) {
  ApiScope api("cholesky_solve");
  return triangular_solve(chol, triangular_solve(chol, rhs, /*lower=*/true), /*lower=*/true, /*adjoint=*/true);
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// TensorFlow's (linalg_grad.py), for real matrices.
namespace ember::autograd {
namespace {

// x with the scalar per matrix s [...] as [..., 1, 1], to scale matrices.
Tensor per_matrix(const Tensor& s) { return expand_dims(expand_dims(s, -1), -1); }

// The matrices of x transposed.
Tensor transposed(const Tensor& x) {
  EMBER_CHECK(x.shape().rank_known(), Unimplemented,
              "[linalg] the gradient of matrices whose rank this trace does not know is not supported");
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < x.rank(); ++i) perm.push_back(i);
  std::swap(perm[perm.size() - 2], perm.back());
  return transpose(x, perm);
}

// Cholesky: with L the output and Ḡ its gradient, Φ(Lᵀ·Ḡ) the lower
// triangle with half the diagonal, A's gradient is the symmetric part of
// L⁻ᵀ·Φ·L⁻¹ (Murray, "Differentiation of the Cholesky decomposition", 2016).
GRAD(op_name::Cholesky, kGradUsesOutputs) {
  const Tensor& l = c.y();
  const Tensor l_inverse = triangular_solve(l, eye(shape_at(l, -1), l.dtype()));
  const Tensor middle = matmul(l, c.grad(), /*transpose_a=*/true);
  const Tensor halved = band_part(middle, -1, 0) - scalar_like(middle, 0.5) * band_part(middle, 0, 0);
  const Tensor g = matmul(matmul(l_inverse, halved, /*transpose_a=*/true), l_inverse);
  return {scalar_like(g, 0.5) * (g + transposed(g))};
} END_GRAD;

// X = A⁻¹: dA = -Xᵀ·Ḡ·Xᵀ; X = A⁻ᵀ (adjoint): dA = -X·Ḡᵀ·X.
GRAD(op_name::MatrixInverse, kGradUsesOutputs) {
  const bool adjoint = c.attrs.get<bool>("adjoint");
  const Tensor& inv = c.y();
  return {-matmul(inv, matmul(c.grad(), inv, adjoint, !adjoint), !adjoint)};
} END_GRAD;

// d det(A) = det(A)·A⁻ᵀ.
GRAD(op_name::MatrixDeterminant, kGradUsesAll) {
  return {per_matrix(c.grad() * c.y()) * matrix_inverse(c.x(), /*adjoint=*/true)};
} END_GRAD;

// d log|det(A)| = A⁻ᵀ; the sign has no gradient.
GRAD(op_name::LogMatrixDeterminant, kGradUsesInputs) {
  return {per_matrix(c.output_grads[1]) * matrix_inverse(c.x(), /*adjoint=*/true)};
} END_GRAD;

// C = op(A)⁻¹·B: dB = op(A)⁻ᵀ·Ḡ, dA = -dB·Cᵀ (-C·dBᵀ for adjoint); a
// triangular solve's dA keeps the triangle it read, and broadcast batch
// dimensions are summed back.
Grads solve_grads(const GradContext& c, bool triangular) {
  const bool adjoint = c.attrs.get<bool>("adjoint");
  const Tensor &a = c.in(0), &b = c.in(1), &x = c.y();
  const bool lower = triangular && c.attrs.get<bool>("lower");
  const Tensor gb = triangular ? triangular_solve(a, c.grad(), lower, !adjoint) : matrix_solve(a, c.grad(), !adjoint);
  Tensor ga;
  if (c.needs_grad(0)) {
    ga = adjoint ? -matmul(x, gb, false, true) : -matmul(gb, x, false, true);
    if (triangular) ga = unbroadcast(lower ? band_part(ga, -1, 0) : band_part(ga, 0, -1), a);
  }
  return {ga, triangular ? unbroadcast(gb, b) : gb};
}
// Qr (TensorFlow's _QrGrad, after Roberts and Roberts, arXiv:2009.10071).
// m >= n, reduced: with M = Qᵀ·dQ and N = R·dRᵀ, T = tril((M - Mᵀ) + (N - Nᵀ)),
// dA = Q·(dR + T·R⁻ᵀ) + (dQ - Q·M)·R⁻ᵀ.
Tensor qr_grad_deep(const Tensor& q, const Tensor& r, const Tensor& dq, const Tensor& dr) {
  // x·R⁻ᵀ, by a triangular solve with R.
  auto times_r_inverse_transposed = [&](const Tensor& x) {
    return transposed(triangular_solve(r, transposed(x), /*lower=*/false));
  };
  const Tensor qdq = matmul(q, dq, /*transpose_a=*/true);
  const Tensor rdr = matmul(r, dr, false, /*transpose_b=*/true);
  const Tensor tril = band_part((qdq - transposed(qdq)) + (rdr - transposed(rdr)), -1, 0);
  return matmul(q, dr + times_r_inverse_transposed(tril)) + times_r_inverse_transposed(dq - matmul(q, qdq));
}

// The last axis of x from `begin`, `size` long (-1: to the end).
Tensor columns(const Tensor& x, int64_t begin, int64_t size) {
  std::vector<int64_t> b(static_cast<size_t>(x.rank()), 0), s(static_cast<size_t>(x.rank()), -1);
  b.back() = begin;
  s.back() = size;
  return slice(x, b, s);
}

GRAD(op_name::Qr, kGradUsesAll) {
  const Tensor &q = c.outputs[0], &r = c.outputs[1];
  EMBER_CHECK(r.shape().rank_known(), Unimplemented,
              "[qr] the gradient of matrices whose rank this trace does not know is not supported");
  EMBER_CHECK(r.shape().dim(-2) >= 0 && r.shape().dim(-1) >= 0 && q.shape().dim(-2) >= 0, Unimplemented,
              "[qr] the gradient needs the matrices' dimensions, which this trace does not know (TensorFlow's "
              "QrGrad needs them too), got r of shape ", r.shape().to_debug_string());
  const int64_t m = q.shape().dim(-2), n = r.shape().dim(-1);
  EMBER_CHECK(!(r.shape().dim(-2) > n && q.shape().dim(-1) == m), Unimplemented,
              "[qr] the gradient is not implemented when nrows > ncols and full_matrices is true (as "
              "TensorFlow's QrGrad), got r of shape ", r.shape().to_debug_string());
  const Tensor dq = c.output_grads[0].defined() ? c.output_grads[0] : zeros_like(q);
  const Tensor dr = c.output_grads[1].defined() ? c.output_grads[1] : zeros_like(r);
  if (m >= n) return {qr_grad_deep(q, r, dq, dr)};
  // Wide: A = [X, Y] and R = [U, V] with X and U m x m reduce to the square case.
  const Tensor y = columns(c.x(), m, -1), dv = columns(dr, m, -1);
  const Tensor dx = qr_grad_deep(q, columns(r, 0, m), dq + matmul(y, dv, false, /*transpose_b=*/true), columns(dr, 0, m));
  return {concat({dx, matmul(q, dv)}, -1)};
} END_GRAD;

// The matrices [..., n, n] with d [..., n] on their diagonals.
Tensor diagonal_matrix(const Tensor& d) { return expand_dims(d, -1) * eye(shape_at(d, -1), d.dtype()); }

// The square matrices of x with their diagonals zeroed.
Tensor off_diagonal(const Tensor& x) { return x * (1 - eye(shape_at(x, -1), x.dtype())); }

// 1/x away from 0, 0 at 0 (TensorFlow's _SafeReciprocal: x / (x² + 1e-20)),
// for the differences of repeated eigenvalues or singular values.
Tensor safe_reciprocal(const Tensor& x) { return x / (square(x) + scalar_like(x, 1e-20)); }

Tensor output_grad_or_zeros(const GradContext& c, size_t i) {
  return c.output_grads[i].defined() ? c.output_grads[i] : zeros_like(c.outputs[i]);
}

// SelfAdjointEigV2 (TensorFlow's _SelfAdjointEigV2Grad): with
// F_ij = 1 / (e_j - e_i) off the diagonal, dA = V·(diag(dE) + F ∘ Vᵀ·dV)·Vᵀ,
// then symmetrized onto the lower triangle that the op reads (the diagonal
// once).
GRAD(op_name::SelfAdjointEigV2, kGradUsesAll) {
  const Tensor& e = c.outputs[0];
  const Tensor de = output_grad_or_zeros(c, 0);
  Tensor g;
  if (c.attrs.get<bool>("compute_v")) {
    const Tensor& v = c.outputs[1];
    Tensor middle = diagonal_matrix(de);
    if (c.output_grads[1].defined()) {
      const Tensor f = off_diagonal(safe_reciprocal(expand_dims(e, -2) - expand_dims(e, -1)));
      middle = middle + f * matmul(v, c.output_grads[1], /*transpose_a=*/true);
    }
    g = matmul(v, matmul(middle, v, false, /*transpose_b=*/true));
  } else {
    const Tensor v = eigh(c.x()).eigenvectors;  // (as TensorFlow's: the vectors computed again)
    g = matmul(v * expand_dims(de, -2), v, false, /*transpose_b=*/true);
  }
  g = band_part(g + transposed(g), -1, 0);
  return {g - scalar_like(g, 0.5) * band_part(g, 0, 0)};
} END_GRAD;

// Svd (TensorFlow's _SvdGrad, for real matrices; after Townsend, "Differentiating
// the singular value decomposition", 2016), worked on the wide form: a tall
// matrix's gradient is that of its transpose (U and V exchanged), transposed.
GRAD(op_name::Svd, kGradUsesAll) {
  const Tensor& a = c.x();
  const Tensor ds = output_grad_or_zeros(c, 0);
  if (!c.attrs.get<bool>("compute_uv")) {  // dA = U·diag(dS)·Vᵀ, the vectors computed again
    const SvdResult f = svd(a);
    return {matmul(f.u * expand_dims(ds, -2), f.v, false, /*transpose_b=*/true)};
  }
  EMBER_CHECK(a.shape().rank_known(), Unimplemented,
              "[svd] the gradient of matrices whose rank this trace does not know is not supported");
  int64_t m = a.shape().dim(-2), n = a.shape().dim(-1);
  EMBER_CHECK(m >= 0 && n >= 0, Unimplemented,
              "[svd] SVD gradient has not been implemented for input with unknown inner matrix shape (as "
              "TensorFlow's), got ", a.shape().to_debug_string());
  const bool full = c.attrs.get<bool>("full_matrices");
  EMBER_CHECK(!(full && std::abs(m - n) > 1), Unimplemented,
              "[svd] svd gradient is not implemented for abs(m - n) > 1 when full_matrices is True (as "
              "TensorFlow's), got ", a.shape().to_debug_string());
  const Tensor& s = c.outputs[0];
  Tensor u = c.outputs[1], v = c.outputs[2], du = output_grad_or_zeros(c, 1), dv = output_grad_or_zeros(c, 2);
  const bool tall = m > n;
  if (tall) {
    std::swap(m, n);
    std::swap(u, v);
    std::swap(du, dv);
  }
  const Tensor s_matrix = diagonal_matrix(s);
  const Tensor f = off_diagonal(safe_reciprocal(square(expand_dims(s, -2)) - square(expand_dims(s, -1))));
  const Tensor v1 = columns(v, 0, m), dv1 = columns(dv, 0, m);
  const Tensor fu = f * matmul(u, du, /*transpose_a=*/true), fv = f * matmul(v1, dv1, /*transpose_a=*/true);
  const Tensor middle = diagonal_matrix(ds) + matmul(fu + transposed(fu), s_matrix) + matmul(s_matrix, fv + transposed(fv));
  Tensor g = matmul(u, matmul(middle, v1, false, /*transpose_b=*/true));
  if (m != n) {
    const Tensor dv1t = transposed(dv1);
    Tensor rest = dv1t - matmul(matmul(dv1t, v1), v1, false, /*transpose_b=*/true);
    if (full) {
      const Tensor v2 = columns(v, m, n - m), dv2 = columns(dv, m, n - m);
      rest = rest - matmul(matmul(v1, dv2, /*transpose_a=*/true), v2, false, /*transpose_b=*/true);
    }
    g = g + matmul(matmul(u, diagonal_matrix(safe_reciprocal(s))), rest);
  }
  return {tall ? transposed(g) : g};
} END_GRAD;

GRAD(op_name::MatrixSolve, kGradUsesAll) { return solve_grads(c, false); } END_GRAD;
GRAD(op_name::MatrixTriangularSolve, kGradUsesAll) { return solve_grads(c, true); } END_GRAD;

}  // namespace
}  // namespace ember::autograd
