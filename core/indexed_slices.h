// IndexedSlices: a gradient held as the rows it touches (tf.IndexedSlices).
//
// The gradient of gather(params, ids) along axis 0 (an Embedding's lookup)
// is params-shaped but zero outside the rows `ids` names. The tape returns
// it as a tensor of the dense shape and dtype that holds only those rows
// (`values`, [n, params.shape[1:]...]) and their row numbers (`indices`,
// [n]; a row named twice is the sum of its two rows). It is the dense
// gradient wherever it is used as a tensor: an op that takes it (the
// dispatch point), or a read of its buffer, gets the dense value, made on
// first need. What can use the rows does: the optimizers update from them
// without a dense gradient (nn/optimizers.h), clipping scales them, and the
// tape concatenates two such gradients of one variable.
//
// In a trace the tensor is the dense value's node, the rows beside it: a
// consumer of the rows leaves the dense node unread, and the dead-node pass
// (graph/passes.h) removes it from the function.
#pragma once

#include <mutex>

#include "core/tensor.h"

namespace ember {

/// tf.IndexedSlices: the tensor of `dense_shape` that is zero except for
/// row indices[k], to which values[k] is added (k = 0, 1, ...).
struct IndexedSlices {
  Tensor values;   // [n, dense_shape[1:]...]
  Tensor indices;  // [n], int32 or int64, each in [0, dense_shape[0])
  TensorShape dense_shape;
};

/// TensorImpl::slices: the rows, and (concrete tensors) the dense value
/// once something read it.
struct IndexedSlicesForm {
  IndexedSlices parts;
  std::mutex mu;
  Tensor dense;
};

/// The tensor that `values` and `indices` stand for (see IndexedSlices).
/// InvalidArgument when the shapes disagree or the indices are not integers.
Tensor indexed_slices(const Tensor& values, const Tensor& indices, const TensorShape& dense_shape);

/// The rows of `t`, or nullptr for a tensor held densely.
const IndexedSlices* as_indexed_slices(const Tensor& t);

/// `t` held densely (tf.convert_to_tensor): `t` itself unless it is rows.
Tensor dense_value(const Tensor& t);

/// Two gradients of one tensor summed: rows and rows concatenate (no dense
/// value made), rows and a dense gradient add the rows into it.
Tensor add_gradients(const Tensor& a, const Tensor& b);

/// `f(t)` for an elementwise `f` that maps zero to zero (a scale, a cast, a
/// clip): applied to the rows when `t` is rows, so the result is rows too.
template <typename F>
Tensor map_rows(const Tensor& t, F&& f) {
  const IndexedSlices* s = as_indexed_slices(t);
  if (!s) return f(t);
  return indexed_slices(f(s->values), s->indices, s->dense_shape);
}

namespace detail {
/// Whether `t` is rows with no dense value yet (a concrete tensor without
/// a buffer): what the dispatch point replaces by its dense value.
inline bool is_unmade_rows(const Tensor& t) {
  const TensorImpl* i = t.impl();
  return i && i->slices && !i->storage && !i->symbolic;
}
}  // namespace detail

}  // namespace ember
