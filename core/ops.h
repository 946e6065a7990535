// The ops a user calls, as free functions with TensorFlow's names. Each one
// validates its arguments (through its OpDef's inference) and goes through
// the one dispatch point. Composite ops (reduce_logsumexp, reduce_std, ...)
// are plain functions over other ops and need no gradient of their own.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ember {

// ---- elementwise, unary ------------------------------------------------------
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
/// The rest of tf.math's trigonometric and hyperbolic functions, with
/// TensorFlow's values outside their domains (NaN; ±inf for atanh(±1)).
Tensor tan(const Tensor& x);
Tensor asin(const Tensor& x);
Tensor acos(const Tensor& x);
Tensor atan(const Tensor& x);
Tensor sinh(const Tensor& x);
Tensor cosh(const Tensor& x);
Tensor asinh(const Tensor& x);
Tensor acosh(const Tensor& x);
Tensor atanh(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
/// gelu(x) = x·Φ(x); with `approximate`, the tanh form.
Tensor gelu(const Tensor& x, bool approximate = false);
/// tf.nn.bias_add: `bias` (a vector) added along the channel axis, the last
/// for "NHWC" (any rank >= 2), axis 1 for "NCHW".
Tensor bias_add(const Tensor& value, const Tensor& bias, const std::string& data_format = "NHWC");
/// A convolution's window arguments, as tf.nn.conv2d takes them: strides and
/// dilations as one value, {h, w} or TensorFlow's four; padding "VALID",
/// "SAME" or "EXPLICIT" (with explicit_paddings, TensorFlow's eight values).
struct ConvOptions {
  std::vector<int64_t> strides = {1};
  std::string padding = "VALID";
  std::vector<int64_t> dilations = {1};
  std::vector<int64_t> explicit_paddings = {};
};
/// tf.nn.conv2d: input NHWC, filters [kh, kw, in, out].
Tensor conv2d(const Tensor& input, const Tensor& filters, const ConvOptions& options = {});
/// tf.nn.depthwise_conv2d: filter [kh, kw, in, multiplier], output channels in·multiplier.
Tensor depthwise_conv2d(const Tensor& input, const Tensor& filter, const ConvOptions& options = {});
/// strides/ksize/dilations of 1, 2 or 4 elements as TensorFlow's four.
std::vector<int64_t> window_quad(const std::vector<int64_t>& v, const char* what);
/// tf.nn.max_pool2d and tf.nn.avg_pool2d (NHWC; padding "VALID" or "SAME";
/// the average counts only elements inside the input, as TensorFlow).
Tensor max_pool2d(const Tensor& input, const std::vector<int64_t>& ksize,
                  const std::vector<int64_t>& strides, const std::string& padding = "VALID");
Tensor avg_pool2d(const Tensor& input, const std::vector<int64_t>& ksize,
                  const std::vector<int64_t>& strides, const std::string& padding = "VALID");
/// tf.math.top_k: the k largest entries of each row (the last axis), largest
/// first (ties: the lower index first; NaN counts as the largest), and
/// their indices (int32).
struct TopK {
  Tensor values, indices;
};
TopK top_k(const Tensor& input, int64_t k = 1, bool sorted = true);
/// With k an int32 or int64 scalar tensor, read when the op runs (a traced
/// top_k of k = the row's length, as tf.sort writes it).
TopK top_k(const Tensor& input, const Tensor& k, bool sorted = true);
/// tf.sort and tf.argsort: `x` sorted along `axis`, ascending (or
/// descending), and the int32 positions that sort it. Ties keep their order
/// (the lower index first). NaN comes first either way: top_k counts it the
/// largest, and ascending sorts -x, where it is NaN still. (TensorFlow's CPU
/// top_k places NaN by no rule, so its sort may put it elsewhere.)
Tensor sort(const Tensor& x, int64_t axis = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t axis = -1, bool descending = false);
/// tf.math.in_top_k: whether each row's target class is among its k largest
/// predictions (classes tied with the k-th all count; a non-finite
/// prediction or an out-of-range target never does).
Tensor in_top_k(const Tensor& targets, const Tensor& predictions, int64_t k);

/// What tf.compat.v1.nn.fused_batch_norm returns.
struct FusedBatchNormResult {
  Tensor y, batch_mean, batch_variance;
};
/// TensorFlow's FusedBatchNormV3 over the channels (last axis) of an NHWC
/// batch: in training, normalises by the batch's statistics and returns
/// them (the variance with Bessel's correction, and both blended into
/// `mean`/`variance` by exponential_avg_factor when it is not 1); otherwise
/// normalises by `mean` and `variance`.
FusedBatchNormResult fused_batch_norm(const Tensor& x, const Tensor& scale, const Tensor& offset,
                                      const Tensor& mean, const Tensor& variance,
                                      double epsilon = 0.001, bool is_training = true,
                                      double exponential_avg_factor = 1.0);
/// x for x > 0, alpha·x below (tf.nn.leaky_relu).
Tensor leaky_relu(const Tensor& x, double alpha = 0.2);
/// x for x > 0, exp(x) - 1 below (tf.nn.elu).
Tensor elu(const Tensor& x);
/// scale·elu with alpha, Klambauer et al.'s self-normalising constants (tf.nn.selu).
Tensor selu(const Tensor& x);
Tensor softplus(const Tensor& x);
/// The error function.
Tensor erf(const Tensor& x);
/// The complementary error function, 1 - erf(x), without its cancellation for large x.
Tensor erfc(const Tensor& x);
/// x / (1 + |x|) (tf.nn.softsign).
Tensor softsign(const Tensor& x);
/// Special functions (tf.math's), computed in double: log|Γ(x)| (+inf at 0
/// and the negative integers), ψ(x) = Γ'(x)/Γ(x) (NaN there, as
/// TensorFlow's), and erf⁻¹(x) (±inf at ±1, NaN beyond).
Tensor lgamma(const Tensor& x);
Tensor digamma(const Tensor& x);
Tensor erfinv(const Tensor& x);
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
/// Rounds half to even, as tf.math.round.
Tensor round(const Tensor& x);
Tensor logical_not(const Tensor& x);
/// Where x is NaN (tf.math.is_nan), ±inf (is_inf), or neither (is_finite):
/// bool, for a floating-point x.
Tensor is_nan(const Tensor& x);
Tensor is_inf(const Tensor& x);
Tensor is_finite(const Tensor& x);
/// Converts to `dtype` (floats to integers truncate toward zero; to bool: x != 0).
Tensor cast(const Tensor& x, DType dtype);
/// Passes the value through and blocks gradients (tf.stop_gradient).
Tensor stop_gradient(const Tensor& x);
Tensor identity(const Tensor& x);
/// tf.debugging.check_numerics: `x`, once checked (when it runs) to hold no
/// NaN or infinity; otherwise InvalidArgument "message : Tensor had NaN
/// values" (or Inf, or Inf and NaN), as TensorFlow says it. Its gradient is
/// checked the same way.
Tensor check_numerics(const Tensor& x, const std::string& message);
/// `x`, once `condition` (a bool scalar, read when it runs) holds; otherwise
/// InvalidArgument `message` (an empty one: "[check] the condition does not hold"). A traced function's run-time check (a
/// serving function's bound on its input's length). TensorFlow's form is its
/// Assert of the condition and the message, and an Identity of x that waits
/// for it; TensorFlow says "assertion failed: [message]".
Tensor check(const Tensor& x, const Tensor& condition, const std::string& message);
/// A copy of `x` in a new buffer on its device (TensorFlow's Snapshot).
Tensor snapshot(const Tensor& x);
/// tf.ensure_shape: `x`, checked (when it runs) to have a shape compatible
/// with `shape`, and known to have it from then on (a traced tensor's unknown
/// dimensions pinned).
Tensor ensure_shape(const Tensor& x, const TensorShape& shape);

// ---- elementwise, binary (NumPy broadcasting) --------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
/// Floats: true division. Integers: division truncating toward zero (x / 0 = 0).
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// floor(a / b); for integers x // 0 = 0.
Tensor floordiv(const Tensor& a, const Tensor& b);
/// a - floordiv(a, b) * b: the sign follows b, as Python's %.
Tensor floormod(const Tensor& a, const Tensor& b);
/// a / b rounded toward zero (tf.truncatediv; for integers, C's / and x / 0 = 0),
/// and its remainder a - truncatediv(a, b) * b, whose sign follows a (C's %, fmod).
Tensor truncatediv(const Tensor& a, const Tensor& b);
Tensor truncatemod(const Tensor& a, const Tensor& b);
/// The angle of the point (x, y) in (-π, π] (tf.math.atan2; note the order: y first).
Tensor atan2(const Tensor& y, const Tensor& x);
/// a / b, but 0 where b is 0 (tf.math.divide_no_nan); x / y, x·log(y) and
/// x·log1p(y), but 0 where x is 0 (tf.math.xdivy, xlogy, xlog1py), even
/// where the other operand is NaN or infinite. Floating-point operands.
Tensor div_no_nan(const Tensor& a, const Tensor& b);
Tensor xdivy(const Tensor& x, const Tensor& y);
Tensor xlogy(const Tensor& x, const Tensor& y);
Tensor xlog1py(const Tensor& x, const Tensor& y);
/// ψ⁽ᵃ⁾(x), the a-th derivative of digamma (NaN unless a is a non-negative
/// integer), and Hurwitz's ζ(x, q) = Σₖ (q + k)⁻ˣ (tf.math.polygamma, zeta);
/// differentiable in x and q respectively, as TensorFlow's.
Tensor polygamma(const Tensor& a, const Tensor& x);
Tensor zeta(const Tensor& x, const Tensor& q);
Tensor equal(const Tensor& a, const Tensor& b);
Tensor not_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
/// tf.bitwise on int32, int64 and uint8 (broadcasting; not differentiable).
Tensor bitwise_and(const Tensor& a, const Tensor& b);
Tensor bitwise_or(const Tensor& a, const Tensor& b);
Tensor bitwise_xor(const Tensor& a, const Tensor& b);
/// a << b and a >> b (arithmetic for signed a), b clamped to [0, bits - 1]
/// as TensorFlow clamps it; bits shifted out of a left shift are lost.
Tensor left_shift(const Tensor& a, const Tensor& b);
Tensor right_shift(const Tensor& a, const Tensor& b);
/// ~x.
Tensor invert(const Tensor& x);
/// The number of set bits of each element, as uint8 (TensorFlow's PopulationCount).
Tensor population_count(const Tensor& x);
/// Elements of `a` where `cond` is true, else of `b`; all three broadcast.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// The coordinates of the true (non-zero; NaN counts) elements of
/// `condition`, in row-major order: int64 [count, rank] (tf.where(cond)).
Tensor where(const Tensor& condition);
/// The elements (or slices) of x where `mask`, over x's leading dimensions,
/// is true, in row-major order (tf.boolean_mask).
Tensor boolean_mask(const Tensor& x, const Tensor& mask);

/// A 0-d tensor of `value` in `like`'s dtype, on its device.
Tensor scalar_like(const Tensor& like, double value);
/// scalar_like for a number mixed with a tensor by `op` (an operator):
/// InvalidArgument when `like`'s dtype cannot hold `value` exactly.
Tensor scalar_operand(const Tensor& like, double value, const char* op);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
// A plain number on either side takes the tensor's dtype, as in TensorFlow;
// one the dtype cannot hold exactly (1.5 for an int32 tensor, 300 for uint8,
// 2 for bool) is an InvalidArgument naming both, as TensorFlow refuses it.
#define EMBER_SCALAR_OPERATOR(OP)                                             \
  template <typename S, typename = std::enable_if_t<std::is_arithmetic_v<S>>> \
  Tensor operator OP(const Tensor& a, S s) {                                  \
    return a OP scalar_operand(a, static_cast<double>(s), "operator" #OP);    \
  }                                                                           \
  template <typename S, typename = std::enable_if_t<std::is_arithmetic_v<S>>> \
  Tensor operator OP(S s, const Tensor& b) {                                  \
    return scalar_operand(b, static_cast<double>(s), "operator" #OP) OP b;    \
  }
EMBER_SCALAR_OPERATOR(+)
EMBER_SCALAR_OPERATOR(-)
EMBER_SCALAR_OPERATOR(*)
EMBER_SCALAR_OPERATOR(/)
EMBER_SCALAR_OPERATOR(<)
EMBER_SCALAR_OPERATOR(<=)
EMBER_SCALAR_OPERATOR(>)
EMBER_SCALAR_OPERATOR(>=)
#undef EMBER_SCALAR_OPERATOR

// ---- reductions ---------------------------------------------------------------
// `axes` as in TensorFlow: std::nullopt reduces every axis; an empty list
// reduces none; negative axes count from the end.
// An axis or a list of axes, as TensorFlow's `axis`: reduce_sum(x) (all),
// reduce_sum(x, 0), reduce_sum(x, -1), reduce_sum(x, {0, 2}), or a
// std::vector<int64_t> (an empty vector reduces none; `{}` means all).
class Axes {
 public:
  Axes() = default;                          // every axis
  Axes(std::nullopt_t) {}                    // NOLINT: implicit, every axis
  Axes(int axis) : axes_(std::vector<int64_t>{axis}) {}      // NOLINT: implicit
  Axes(int64_t axis) : axes_(std::vector<int64_t>{axis}) {}  // NOLINT: implicit
  Axes(std::initializer_list<int64_t> axes) : axes_(std::vector<int64_t>(axes)) {}  // NOLINT
  Axes(std::vector<int64_t> axes) : axes_(std::move(axes)) {}  // NOLINT: implicit
  /// False when every axis is meant.
  explicit operator bool() const { return axes_.has_value(); }
  const std::vector<int64_t>& operator*() const { return *axes_; }

 private:
  std::optional<std::vector<int64_t>> axes_;
};
inline Axes all_axes() { return {}; }

Tensor reduce_sum(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
Tensor reduce_mean(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
Tensor reduce_max(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
Tensor reduce_min(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
Tensor reduce_prod(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
Tensor reduce_all(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
Tensor reduce_any(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
/// log(sum(exp(x))), computed stably (the maximum is taken out first).
Tensor reduce_logsumexp(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
/// Population variance (divides by N), as tf.math.reduce_variance.
Tensor reduce_variance(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
Tensor reduce_std(const Tensor& x, Axes axes = std::nullopt, bool keepdims = false);
/// Index of the largest value along `axis` (int64, or int32 as asked); the
/// first one on ties.
Tensor argmax(const Tensor& x, int64_t axis = 0, DType output_type = int64);
Tensor argmin(const Tensor& x, int64_t axis = 0, DType output_type = int64);
/// Running sums along `axis` (tf.math.cumsum): y[i] = x[0] + ... + x[i];
/// `exclusive` leaves x[i] out, `reverse` sums from the end.
Tensor cumsum(const Tensor& x, int64_t axis = 0, bool exclusive = false, bool reverse = false);
/// Running products along `axis` (tf.math.cumprod), with cumsum's `exclusive` and `reverse`.
Tensor cumprod(const Tensor& x, int64_t axis = 0, bool exclusive = false, bool reverse = false);
/// log Σ eˣ running along `axis` (tf.math.cumulative_logsumexp), with
/// cumsum's `exclusive` (-inf first) and `reverse`, without overflow: each
/// step a logaddexp in double. Floating-point x.
Tensor cumulative_logsumexp(const Tensor& x, int64_t axis = 0, bool exclusive = false, bool reverse = false);

// ---- linear algebra -------------------------------------------------------------
/// Matrix product of the last two dimensions; leading (batch) dimensions broadcast.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// tf.einsum of one or two operands ("bqhd,bkhd->bhqk"; without "->", the
/// labels used once, in order): transposes, reshapes and one matrix product.
/// "..." broadcasts as NumPy's; a label repeated in an operand takes its diagonal.
Tensor einsum(const std::string& equation, const std::vector<Tensor>& inputs);
/// tf.linalg.band_part: x[..., i, j] where (lower < 0 or i - j <= lower) and
/// (upper < 0 or j - i <= upper), zero elsewhere (-1: the whole triangle).
Tensor band_part(const Tensor& x, int64_t lower, int64_t upper);
/// With the bounds as int32/int64 scalars read when it runs (TensorFlow's MatrixBandPart).
Tensor band_part(const Tensor& x, const Tensor& lower, const Tensor& upper);
/// tf.eye: the n x n identity.
Tensor eye(int64_t n, DType dtype = float32);
/// With n an int32/int64 scalar read when it runs.
Tensor eye(const Tensor& n, DType dtype = float32);

// Decompositions and solves of square matrices [..., n, n] (float32,
// float64), each matrix on its own; TensorFlow's ops and gradients.
/// tf.linalg.cholesky: L, lower triangular with a positive diagonal, such
/// that L·Lᵀ is the matrix; only its lower triangle is read. A matrix that
/// is not positive definite gives NaN in every element of its L, as
/// TensorFlow's kernel gives NaN (no error: check with is_finite).
Tensor cholesky(const Tensor& matrix);
/// tf.linalg.triangular_solve: X with A·X = rhs (Aᵀ·X with `adjoint`),
/// reading only A's lower (or upper) triangle; the batch dimensions of A
/// and rhs [..., n, k] broadcast. A zero on the diagonal gives inf or NaN.
Tensor triangular_solve(const Tensor& matrix, const Tensor& rhs, bool lower = true, bool adjoint = false);
/// tf.linalg.solve: X with A·X = rhs (Aᵀ·X with `adjoint`), by LU with
/// partial pivoting; A and rhs [..., n, k] have the same batch dimensions.
/// InvalidArgument ("Input matrix is not invertible.") for a singular A.
Tensor matrix_solve(const Tensor& matrix, const Tensor& rhs, bool adjoint = false);
/// tf.linalg.inv (of Aᵀ with `adjoint`); InvalidArgument ("Input is not
/// invertible.") for a singular matrix.
Tensor matrix_inverse(const Tensor& matrix, bool adjoint = false);
/// tf.linalg.det: [...] (1 for a 0 x 0 matrix; 0 for a singular one).
Tensor matrix_determinant(const Tensor& matrix);
/// tf.linalg.slogdet: the determinant's sign and the log of its absolute
/// value (0 and -inf for a singular matrix), without over- or underflow.
struct SignAndLogDeterminant {
  Tensor sign, log_abs_determinant;
};
SignAndLogDeterminant log_matrix_determinant(const Tensor& matrix);
/// tf.linalg.qr of matrices [..., m, n] (not only square ones): Q with
/// orthonormal columns and R upper triangular, Q·R the matrix. Reduced
/// (Q [..., m, k], R [..., k, n], k = min(m, n)) or, with `full_matrices`,
/// Q [..., m, m] and R [..., m, n]. By Householder reflections as LAPACK's
/// geqrf and TensorFlow's kernels: R's diagonal may be negative (its signs
/// are TensorFlow's). The gradient is TensorFlow's: refused where m > n with
/// `full_matrices`, as TensorFlow refuses it.
struct QrResult {
  Tensor q, r;
};
QrResult qr(const Tensor& matrix, bool full_matrices = false);
/// tf.linalg.eigh: the eigenvalues of symmetric matrices [..., n, n]
/// (float32, float64; only the lower triangle is read), ascending, and the
/// eigenvectors as the columns of [..., n, n], orthonormal; each vector's
/// sign is arbitrary, as TensorFlow's. A matrix with a NaN is refused, as
/// TensorFlow refuses it. The gradient is TensorFlow's (the lower triangle's).
struct EighResult {
  Tensor eigenvalues, eigenvectors;
};
EighResult eigh(const Tensor& matrix);
/// tf.linalg.eigvalsh: the eigenvalues alone.
Tensor eigvalsh(const Tensor& matrix);
/// tf.linalg.svd of matrices [..., m, n] (float32, float64): matrix =
/// u·diag(s)·vᵀ with s [..., k] descending (k = min(m, n)), u [..., m, k]
/// and v [..., n, k] orthonormal columns, [..., m, m] and [..., n, n] with
/// `full_matrices`; without `compute_uv`, s alone (u and v empty, as
/// TensorFlow's). A pair of singular vectors' sign is arbitrary, as
/// TensorFlow's; a matrix with a NaN gives NaN. The gradient is TensorFlow's:
/// it needs the matrices' dimensions, and is refused for the full form
/// where m and n differ by more than 1.
struct SvdResult {
  Tensor s, u, v;
};
SvdResult svd(const Tensor& matrix, bool full_matrices = false, bool compute_uv = true);
/// tf.linalg.cholesky_solve: X with (L·Lᵀ)·X = rhs, given L = cholesky(A):
/// two triangular solves.
Tensor cholesky_solve(const Tensor& chol, const Tensor& rhs);

// ---- shapes -------------------------------------------------------------------
Tensor reshape(const Tensor& x, const TensorShape& shape);
/// tf.reshape to a shape held in an int32/int64 vector (one entry may be -1),
/// read when the op runs: a trace can reshape to shapes it does not know.
Tensor reshape(const Tensor& x, const Tensor& shape);
/// Permutes the dimensions; an empty `perm` reverses them.
Tensor transpose(const Tensor& x, std::vector<int64_t> perm = {});
/// `size[i] == -1` takes everything from begin[i] on.
Tensor slice(const Tensor& x, std::vector<int64_t> begin, std::vector<int64_t> size);
struct StridedSliceOptions {
  int64_t begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_axis_mask = 0;
};
/// Python-style x[b0:e0:s0, ...], with TensorFlow's masks.
Tensor strided_slice(const Tensor& x, std::vector<int64_t> begin, std::vector<int64_t> end,
                     std::vector<int64_t> strides, StridedSliceOptions options = {});
/// The same with the bounds as int32/int64 vectors known when it runs
/// (x[:i] with a loop's i), as TensorFlow's StridedSlice takes them.
Tensor strided_slice(const Tensor& x, const Tensor& begin, const Tensor& end, const Tensor& strides,
                     StridedSliceOptions options = {});
Tensor concat(const std::vector<Tensor>& values, int64_t axis);
Tensor stack(const std::vector<Tensor>& values, int64_t axis = 0);
std::vector<Tensor> unstack(const Tensor& x, int64_t axis = 0);
/// x with the order along each of `axes` reversed (tf.reverse), as the
/// strided slice x[..., ::-1, ...]; negative axes count from the end.
Tensor reverse(const Tensor& x, std::vector<int64_t> axes);
/// tf.roll: elements moved `shift[i]` places along `axis[i]` (toward higher
/// indices when positive), wrapping around; shifts of one axis add up.
Tensor roll(const Tensor& x, const std::vector<int64_t>& shift, const std::vector<int64_t>& axis);
/// Splits into pieces of the given sizes (one may be -1: the rest).
std::vector<Tensor> split(const Tensor& x, std::vector<int64_t> sizes, int64_t axis = 0);
/// Splits into `num` equal pieces.
std::vector<Tensor> split(const Tensor& x, int64_t num, int64_t axis = 0);
Tensor tile(const Tensor& x, std::vector<int64_t> multiples);
enum class PadMode { Constant, Reflect, Symmetric };
/// paddings: (before, after) per dimension.
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings,
           PadMode mode = PadMode::Constant, double constant_value = 0);
Tensor expand_dims(const Tensor& x, int64_t axis);
/// Removes the given size-1 dimensions (all of them when `axes` is empty).
Tensor squeeze(const Tensor& x, std::vector<int64_t> axes = {});
Tensor broadcast_to(const Tensor& x, const TensorShape& shape);
/// The NumPy broadcast of two shapes (InvalidArgument when incompatible).
TensorShape broadcast_shapes(const TensorShape& a, const TensorShape& b);
/// TensorFlow's raw BroadcastGradientArgs: for int32 or int64 shapes s0 and
/// s1, the axes of their broadcast that each one's gradient is summed over
/// (the gradients of broadcasting ops use it where a trace does not know
/// the shapes).
std::pair<Tensor, Tensor> broadcast_gradient_args(const Tensor& s0, const Tensor& s1);
Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis = 0,
              int64_t batch_dims = 0);
Tensor gather_nd(const Tensor& params, const Tensor& indices, int64_t batch_dims = 0);
Tensor scatter_nd(const Tensor& indices, const Tensor& updates, const TensorShape& shape);
Tensor tensor_scatter_add(const Tensor& tensor, const Tensor& indices, const Tensor& updates);
/// out[segment_ids[i], ...] = Σ data[i, ...]: sums the rows of `data` into
/// `num_segments` rows; as TensorFlow's, a negative id drops its row, and
/// an id at or past num_segments is an error.
Tensor unsorted_segment_sum(const Tensor& data, const Tensor& segment_ids, int64_t num_segments);
/// With num_segments an int32/int64 scalar read when it runs.
Tensor unsorted_segment_sum(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments);
/// tf.math.unsorted_segment_max, _min and _prod, as unsorted_segment_sum:
/// an empty segment holds the dtype's lowest finite value, its largest, or
/// 1, as TensorFlow's. A max or min keeps a NaN as TensorFlow's CPU kernel
/// (the rows in order, std::max(value, running)).
Tensor unsorted_segment_max(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments);
Tensor unsorted_segment_min(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments);
Tensor unsorted_segment_prod(const Tensor& data, const Tensor& segment_ids, const Tensor& num_segments);
/// tf.math.segment_sum, _mean, _max, _min and _prod: segment_ids a vector,
/// sorted (checked when it runs: "segment ids are not increasing"), the
/// last id + 1 segments; an empty segment gives 0 (1 for the product), as
/// TensorFlow's.
Tensor segment_sum(const Tensor& data, const Tensor& segment_ids);
Tensor segment_mean(const Tensor& data, const Tensor& segment_ids);
Tensor segment_max(const Tensor& data, const Tensor& segment_ids);
Tensor segment_min(const Tensor& data, const Tensor& segment_ids);
Tensor segment_prod(const Tensor& data, const Tensor& segment_ids);
Tensor one_hot(const Tensor& indices, int64_t depth, double on_value = 1, double off_value = 0,
               int64_t axis = -1, DType dtype = float32);
/// [start, start+delta, ...) up to `limit`, as tf.range.
Tensor range(double start, double limit, double delta = 1, DType dtype = int64);
inline Tensor range(int64_t limit) { return range(0, static_cast<double>(limit), 1, int64); }
/// tf.range over scalar tensors (a traced loop's bound): values known when it runs.
Tensor range(const Tensor& start, const Tensor& limit, const Tensor& delta);
/// tf.shape: x's dimensions as a vector (int32 or int64), known when it runs.
Tensor shape(const Tensor& x, DType out_type = int32);
/// tf.shape(x)[axis] (negative: from the end): x's dimension as a scalar,
/// a constant where the trace knows it, else read when the op runs.
Tensor shape_at(const Tensor& x, int64_t axis, DType out_type = int64);
/// tf.unique of a vector: its distinct values in order of first appearance
/// and each element's index among them (int32 or int64). As TensorFlow's,
/// -0 and 0 are one value and every NaN is its own.
struct UniqueValues {
  Tensor y, idx;
};
UniqueValues unique(const Tensor& x, DType out_idx = int32);
/// tf.rank: the number of x's dimensions, as an int32 scalar.
Tensor rank(const Tensor& x);
/// tf.size: the number of x's elements (int32 or int64).
Tensor size(const Tensor& x, DType out_type = int32);

// ---- neural-network math --------------------------------------------------------
/// exp(x) / sum(exp(x)) along `axis`, in one stable pass per row.
Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);
/// tf.nn.softmax_cross_entropy_with_logits: -Σ labels·log_softmax(logits)
/// along `axis`, one loss per row; labels are a distribution per row (the
/// logits' shape and dtype). Gradients flow to both.
Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits,
                                         int64_t axis = -1);
/// tf.nn.sparse_softmax_cross_entropy_with_logits: -log_softmax(logits)[label]
/// per row; `labels` (int32 or int64) have the logits' shape without the
/// last axis. A label outside [0, classes) is InvalidArgument on the CPU and
/// gives a NaN loss on a GPU, as in TensorFlow.
Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
/// tf.nn.l2_loss: sum(x²) / 2 over every element, a scalar of x's floating
/// dtype (what TensorFlow's L2Loss op imports as; its gradient is x·dy).
Tensor l2_loss(const Tensor& x);

// ---- images (core/ops/image.cpp) -----------------------------------------------------------
/// tf.image.non_max_suppression: the indices (int32) of at most
/// `max_output_size` of the boxes [n, 4] (rows y1, x1, y2, x2: any two
/// opposite corners), TensorFlow's greedy selection: in descending score
/// order (ties to the lower index), each box whose score is above
/// `score_threshold` and whose intersection over union with every box
/// already selected is at most `iou_threshold`. Boxes float32 or float16
/// (float64 and bfloat16 too, beyond TensorFlow), scores [n] of their
/// dtype; the overlaps computed in float32, as TensorFlow's kernel.
Tensor non_max_suppression(const Tensor& boxes, const Tensor& scores, int64_t max_output_size,
                           double iou_threshold = 0.5, double score_threshold = -INFINITY);
struct NonMaxSuppressionResult {
  Tensor selected_indices;  // int32 [selected]
  Tensor selected_scores;   // the scores' dtype [selected]
};
/// tf.image.non_max_suppression_with_scores: with `soft_nms_sigma` > 0,
/// soft suppression (Bodla et al.): an overlapping box is not dropped, its
/// score is multiplied by exp(-iou²/(2·sigma)) for each box selected before
/// it, and it is selected in the order of the decayed scores while above
/// `score_threshold`; the scores returned are the decayed ones.
NonMaxSuppressionResult non_max_suppression_with_scores(const Tensor& boxes, const Tensor& scores,
                                                        int64_t max_output_size, double iou_threshold = 0.5,
                                                        double score_threshold = -INFINITY,
                                                        double soft_nms_sigma = 0);

/// tf.image.rgb_to_hsv: images [..., 3] of a floating dtype (RGB in [0, 1])
/// to hue, saturation and value in [0, 1], TensorFlow's arithmetic (a gray
/// pixel has hue 0). Differentiable where the channels are distinct.
Tensor rgb_to_hsv(const Tensor& images);
/// tf.image.hsv_to_rgb: the inverse, hue taken modulo 1.
Tensor hsv_to_rgb(const Tensor& images);
struct ProjectiveTransformOptions {
  /// The output's [height, width]; none: the images'.
  std::optional<std::array<int64_t, 2>> output_shape = std::nullopt;
  std::string interpolation = "BILINEAR";  // or "NEAREST"
  std::string fill_mode = "CONSTANT";      // "REFLECT", "WRAP", "CONSTANT" or "NEAREST"
  double fill_value = 0;                   // what CONSTANT reads outside the image
};
/// TensorFlow's ImageProjectiveTransformV3 (what Keras's RandomRotation,
/// RandomZoom, RandomTranslation and keras.ops.image.affine_transform run):
/// images [batch, height, width, channels] of any numeric dtype, each
/// output pixel (x, y) sampled at ((a0 x + a1 y + a2) / k, (b0 x + b1 y +
/// b2) / k), k = c0 x + c1 y + 1, for transforms [batch or 1, 8] (float32)
/// rows a0 a1 a2 b0 b1 b2 c0 c1; beyond the image as fill_mode says; in
/// float32, TensorFlow's pixels. Its gradient with respect to the images is
/// the exact adjoint of the sampling (TensorFlow's is an approximation: the
/// transform by the inverse matrix); the transforms get none, as in
/// TensorFlow.
Tensor image_projective_transform(const Tensor& images, const Tensor& transforms,
                                  const ProjectiveTransformOptions& options = {});

// ---- attention and layer normalisation (core/ops/attention.cpp) ----------------------------

/// How scaled_dot_product_attention masks, scales and drops.
struct AttentionOptions {
  /// Query i attends to keys 0..i only: the lower triangle of the
  /// [seq_q, seq_k] scores, aligned top-left (torch's is_causal, Keras's
  /// use_causal_mask).
  bool causal = false;
  /// Boolean, broadcasting to [batch, heads, seq_q, seq_k]: true where a
  /// query attends to a key (Keras's attention_mask, torch's boolean
  /// attn_mask). A query that attends to no key gets zeros.
  Tensor mask = {};
  /// Multiplies q·k; unset: 1/√head_dim (traced with head_dim unknown, q
  /// is multiplied by it, from q's run-time shape, before the op).
  std::optional<double> scale = std::nullopt;
  /// Drops attention probabilities at this rate (scaling the rest by
  /// 1/(1 - rate)) where the stateless uniform float32 draw of
  /// `dropout_seed` (int64 [2]) over [batch, heads, seq_q, seq_k] is below
  /// it; the kernels draw each element as they need it (nothing of seq_q ×
  /// seq_k is stored), and the backward pass draws the same again.
  double dropout_rate = 0;
  Tensor dropout_seed = {};
};
/// softmax(scale·q·kᵀ masked)·v over q [batch, heads, seq_q, head_dim],
/// k [batch, heads, seq_k, head_dim], v [batch, heads, seq_k, value_dim]:
/// one fused op (the ScaledDotProductAttention OpDef) that never holds the
/// seq_q × seq_k matrix, with an online softmax in float32 (float64 for
/// float64 inputs) and a backward pass that recomputes it block by block.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});
/// The weights scaled_dot_product_attention gives the values, [batch, heads,
/// seq_q, seq_k] (Keras's return_attention_scores): the softmax of scale·q·kᵀ
/// over the keys each query attends to, before dropout (options.dropout_rate
/// is not applied), in float32 for 16-bit q and k, given in q's dtype; 0
/// where the mask or the causal triangle forbids, so a query that attends
/// to no key has a row of zeros. Composite ops: differentiable, traceable.
Tensor attention_weights(const Tensor& q, const Tensor& k, const AttentionOptions& options = {});
/// tf.nn.experimental.stateless_dropout: x·1/(1 - rate) where the stateless
/// uniform draw of `seed` (int32 or int64 [2]) over x's shape is at least
/// `rate`, else 0, in one op (StatelessDropout, which a TensorFlow graph
/// receives as StatelessRandomUniform, GreaterEqual, Mul and SelectV2). The
/// draw is float64's for float64 x and float32's for every other dtype
/// (TensorFlow draws in x's dtype: the same numbers for float32 and float64,
/// while ember's 16-bit floats drop what float32 drops). A rate of 0
/// returns x; rate must lie in [0, 1).
Tensor stateless_dropout(const Tensor& x, double rate, const Tensor& seed);
/// (x - mean)/√(variance + epsilon)·gamma + beta over the last axis of x,
/// gamma and beta of x's last dimension: one op (LayerNorm), its statistics
/// in float32 for 16-bit x.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon = 1e-3);

// ---- print (core/ops/print.cpp) ------------------------------------------------------

/// Prints `message`, then each tensor as NumPy formats it, separated by
/// spaces, as one line on stderr (tf.print). An op (TensorFlow's `Print`),
/// so a traced function prints at every call, in program order with its
/// other stateful ops; plain C++ printing in a traced callable runs only
/// while it is traced.
/// Values are written as tf.print writes them, `summarize` elements at each
/// end of every dimension (-1: all).
void print(const std::vector<Tensor>& tensors, const std::string& message = "", int64_t summarize = 3);

}  // namespace ember
