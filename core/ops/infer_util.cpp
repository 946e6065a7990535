#include "core/ops/infer_util.h"

namespace ember::infer {

int64_t normalize_axis(const InferContext& c, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    c.fail("axis ", axis, " is out of range for a tensor of rank ", rank, " (expected [", -rank,
           ", ", rank, "))");
  return axis < 0 ? axis + rank : axis;
}

TensorShape with_rank(const InferContext& c, const TensorShape& s, int rank, const char* what) {
  if (!s.rank_known()) return TensorShape::unknown_dims(rank);
  if (s.rank() != rank) c.fail(what, " must have rank ", rank, ", got shape ", s.to_debug_string());
  return s;
}

int64_t add_dims(const InferContext& c, int64_t a, int64_t b) {
  if (a == TensorShape::kUnknown || b == TensorShape::kUnknown) return TensorShape::kUnknown;
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) c.fail("a dimension overflows: ", a, " + ", b);
  return r;
}

int64_t mul_dims(const InferContext& c, int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a == TensorShape::kUnknown || b == TensorShape::kUnknown) return TensorShape::kUnknown;
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) c.fail("a dimension overflows: ", a, " * ", b);
  return r;
}

void require_valid_dims(const InferContext& c, const std::vector<int64_t>& shape, const char* what) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < -1)
      c.fail(what, " ", TensorShape(shape).to_debug_string(), " has a negative dimension ", i, " (",
             shape[i], ")");
}

void require_float(const InferContext& c, const Tensor& t, const char* what) {
  if (!is_floating(t.dtype()))
    c.fail(what, " must be a floating-point type (float16, bfloat16, float32, float64), got ",
           dtype_name(t.dtype()));
}

void require_numeric(const InferContext& c, const Tensor& t, const char* what) {
  if (t.dtype() == bool_ || !is_computable(t.dtype()))
    c.fail(what,
           " must be a numeric type (float16, bfloat16, float32, float64, int32, int64, uint8), "
           "got ",
           dtype_name(t.dtype()));
}

void require_bool(const InferContext& c, const Tensor& t, const char* what) {
  if (t.dtype() != bool_) c.fail(what, " must be bool, got ", dtype_name(t.dtype()));
}

void require_computable(const InferContext& c, const Tensor& t) {
  if (!is_computable(t.dtype())) c.fail("unsupported dtype ", dtype_name(t.dtype()));
}

void require_integer_index(const InferContext& c, const Tensor& t, const char* what) {
  if (t.dtype() != int32 && t.dtype() != int64)
    c.fail(what, " must be int32 or int64, got ", dtype_name(t.dtype()));
}

void require_same_dtype(const InferContext& c, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    c.fail("dtypes differ: ", dtype_name(a.dtype()), " vs ", dtype_name(b.dtype()));
}

TensorShape broadcast(const InferContext& c, const TensorShape& a, const TensorShape& b) {
  if (!a.rank_known() || !b.rank_known()) return TensorShape::unknown_rank();
  if (a == b) return a;
  int rank = std::max(a.rank(), b.rank());
  Dims out(static_cast<size_t>(rank), 1);
  for (int i = 0; i < rank; ++i) {
    int ia = i - (rank - a.rank()), ib = i - (rank - b.rank());
    int64_t da = ia >= 0 ? a.dim(ia) : 1, db = ib >= 0 ? b.dim(ib) : 1;
    int64_t d;
    if (da == 1)
      d = db;
    else if (db == 1)
      d = da;
    else if (da < 0)
      d = db;
    else if (db < 0)
      d = da;
    else if (da == db)
      d = da;
    else
      c.fail("incompatible shapes for broadcasting: ", a.to_debug_string(), " vs ",
             b.to_debug_string());
    out[static_cast<size_t>(i)] = d;
  }
  return TensorShape(std::move(out));
}

}  // namespace ember::infer
