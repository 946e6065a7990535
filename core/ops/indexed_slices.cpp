// IndexedSlices (core/indexed_slices.h): making the rows tensor, its dense
// value, and the sum of two gradients.
#include "core/indexed_slices.h"

#include "core/context.h"
#include "core/ops.h"

namespace ember {
namespace {

// The dense value of `parts`: the rows summed into zeros by
// UnsortedSegmentSum (which checks the indices), reshaped when a row is not
// a vector. Runs in the caller's context: a tape records it, a trace holds it.
Tensor densify(const IndexedSlices& parts) {
  const TensorShape& shape = parts.dense_shape;
  const int64_t rows = shape.dim(0);
  Tensor v = parts.values;
  if (shape.rank() != 2) {
    int64_t width = 1;
    for (int i = 1; i < shape.rank(); ++i) width *= shape.dim(i);
    v = reshape(v, {-1, width});
  }
  Tensor dense = unsorted_segment_sum(v, parts.indices, rows);
  return shape.rank() == 2 ? dense : reshape(dense, shape);
}

bool symbolic(const IndexedSlices& p) { return p.values.is_symbolic() || p.indices.is_symbolic(); }

// The dense value of a concrete rows tensor: made once when no tape records
// (a record is the recording tapes', so under a tape each use makes its
// own, as the op that reads it is recorded with it), and always concrete (a
// trace that reads it captures the value, as any concrete tensor).
Tensor dense_of(IndexedSlicesForm& form) {
  std::lock_guard<std::mutex> lock(form.mu);
  if (form.dense.defined()) return form.dense;
  InitScope eager;
  Tensor dense = densify(form.parts);
  if (!context().tapes) form.dense = dense;
  return dense;
}

}  // namespace

Tensor indexed_slices(const Tensor& values, const Tensor& indices, const TensorShape& dense_shape) {
  EMBER_CHECK(dense_shape.is_fully_defined() && dense_shape.rank() >= 1, InvalidArgument,
              "[indexed_slices] the dense shape must be fully known with at least one dimension, got ",
              dense_shape.to_debug_string());
  EMBER_CHECK(indices.dtype() == int32 || indices.dtype() == int64, InvalidArgument,
              "[indexed_slices] indices must be int32 or int64, got ", dtype_name(indices.dtype()));
  const TensorShape& vs = values.shape();
  const TensorShape& is = indices.shape();
  bool fits = is.rank_known() ? is.rank() == 1 : true;
  if (vs.rank_known()) {
    fits = fits && vs.rank() == dense_shape.rank();
    for (int i = 1; fits && i < vs.rank(); ++i)
      fits = vs.dim(i) < 0 || vs.dim(i) == dense_shape.dim(i);
    if (fits && is.rank_known() && vs.dim(0) >= 0 && is.dim(0) >= 0) fits = vs.dim(0) == is.dim(0);
  }
  EMBER_CHECK(fits, InvalidArgument, "[indexed_slices] values of shape ", vs.to_debug_string(),
              " and indices of shape ", is.to_debug_string(), " are not the rows of a tensor of shape ",
              dense_shape.to_debug_string(), ": values must be [n, ",
              "dense_shape[1:]...] and indices [n]");
  auto form = std::make_shared<IndexedSlicesForm>();
  form->parts = {values, indices, dense_shape};
  if (symbolic(form->parts)) {
    // In a trace: the dense node now, unread (and so removed) unless used;
    // the rows ride on its output, a tensor no one else has seen yet.
    Tensor dense = densify(form->parts);
    dense.impl()->slices = std::move(form);
    return dense;
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = values.dtype();
  impl->shape = dense_shape;
  impl->device = values.device();
  impl->slices = std::move(form);
  return Tensor(std::move(impl));
}

const IndexedSlices* as_indexed_slices(const Tensor& t) {
  return t.defined() && t.impl()->slices ? &t.impl()->slices->parts : nullptr;
}

Tensor dense_value(const Tensor& t) {
  if (!detail::is_unmade_rows(t)) return t;
  return dense_of(*t.impl()->slices);
}

Tensor add_gradients(const Tensor& a, const Tensor& b) {
  const IndexedSlices* sa = as_indexed_slices(a);
  const IndexedSlices* sb = as_indexed_slices(b);
  if (sa && sb && sa->dense_shape == sb->dense_shape && a.dtype() == b.dtype()) {
    const DType wide = sa->indices.dtype() == int64 || sb->indices.dtype() == int64 ? int64 : int32;
    auto as = [&](const Tensor& i) { return i.dtype() == wide ? i : cast(i, wide); };
    return indexed_slices(concat({sa->values, sb->values}, 0), concat({as(sa->indices), as(sb->indices)}, 0),
                          sa->dense_shape);
  }
  if (sa && !sb) return add_gradients(b, a);
  if (sb && !sa && !a.is_symbolic()) {
    // The rows added into the dense gradient: no second dense tensor.
    Tensor rows = sb->values;
    if (sb->dense_shape.rank() != 2) rows = reshape(rows, {-1, a.num_elements() / std::max<int64_t>(a.dim(0), 1)});
    Tensor flat = sb->dense_shape.rank() == 2 ? a : reshape(a, {a.dim(0), -1});
    Tensor sum = tensor_scatter_add(flat, expand_dims(sb->indices, 1), rows);
    return sb->dense_shape.rank() == 2 ? sum : reshape(sum, a.shape());
  }
  return add(a, b);
}

// Tensor::raw_data of a tensor without a buffer: the dense value of rows,
// kept by the form (the pointer must outlive this call, tape or no tape).
void* Tensor::dense_form_data() const {
  const TensorImpl& i = *impl_;
  if (!i.slices || i.symbolic) throw_no_buffer();
  Tensor dense = dense_of(*i.slices);
  std::lock_guard<std::mutex> lock(i.slices->mu);
  if (!i.slices->dense.defined()) i.slices->dense = std::move(dense);
  return i.slices->dense.raw_data();
}

}  // namespace ember
