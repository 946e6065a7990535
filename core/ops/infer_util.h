// Helpers shared by the ops' inference functions.
#pragma once

#include <string>
#include <vector>

#include "core/op_registry.h"

namespace ember::infer {

/// Wraps a possibly negative axis into [0, rank); fails naming the op otherwise.
int64_t normalize_axis(const InferContext& c, int64_t axis, int64_t rank);
/// Fails unless `t` is one of the dtype class's members.
void require_float(const InferContext& c, const Tensor& t, const char* what = "x");
void require_numeric(const InferContext& c, const Tensor& t, const char* what = "x");
void require_bool(const InferContext& c, const Tensor& t, const char* what = "x");
/// Fails unless `t` has elements ember computes on (not a resource handle).
void require_computable(const InferContext& c, const Tensor& t);
/// The list-of-ints attribute `name`.
inline const std::vector<int64_t>& ints(const InferContext& c, const char* name) {
  return c.attrs.get<std::vector<int64_t>>(name);
}
void require_integer_index(const InferContext& c, const Tensor& t, const char* what = "indices");
void require_same_dtype(const InferContext& c, const Tensor& a, const Tensor& b);
/// a + b and a * b of dimension sizes, failing naming the op on overflow:
/// unknown where a term is unknown (a product with a 0 is 0).
int64_t add_dims(const InferContext& c, int64_t a, int64_t b);
int64_t mul_dims(const InferContext& c, int64_t a, int64_t b);
/// Fails unless every dimension of `shape` is >= 0 or -1 (unknown); `what`
/// names the argument.
void require_valid_dims(const InferContext& c, const std::vector<int64_t>& shape, const char* what);
/// Whether any of `shapes` has an unknown rank (a trace of unknown shapes,
/// where most ops infer an output of unknown rank and check when they run).
inline bool rank_unknown(std::initializer_list<const TensorShape*> shapes) {
  for (const TensorShape* s : shapes)
    if (!s->rank_known()) return true;
  return false;
}
/// `s` as an input that must have rank `rank` (TensorFlow's WithRank): one
/// of unknown rank becomes `rank` unknown dimensions; another rank fails,
/// naming `what`.
/// The length of a vector's shape; kUnknown where that is not known (or it
/// is not a vector): how long a shape or axes tensor is, before its value is.
inline int64_t vector_length(const TensorShape& s) {
  return s.rank_known() && s.rank() == 1 ? s.dim(0) : TensorShape::kUnknown;
}

TensorShape with_rank(const InferContext& c, const TensorShape& s, int rank, const char* what);
/// NumPy broadcasting of two (possibly partial) shapes.
TensorShape broadcast(const InferContext& c, const TensorShape& a, const TensorShape& b);

}  // namespace ember::infer
