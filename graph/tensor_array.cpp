#include "graph/tensor_array.h"

#include <climits>

#include "core/context.h"
#include "core/ops.h"
#include "core/tensor_list.h"

namespace ember {

struct TensorArray::State {
  DType dtype;
  TensorShape element_shape;
  TensorArrayOptions options;
  Tensor flow;
  std::optional<int64_t> static_size;  // known while nothing can change it (not dynamic)
  std::set<int64_t> cleared;           // eagerly: read with clear_after_read, not written since
};

namespace {

// "(2, 3)" inside TensorFlow's "value (...)".
std::string paren(const TensorShape& s) {
  std::string out = "(";
  out.append(s.to_string());
  out.push_back(')');
  return out;
}

// Indices and sizes go to the list ops as they are: an int64 one is read
// whole (a cast to int32 would wrap 2^32 + 3 to 3).
Tensor as_index(const Tensor& t, const char* what) {
  EMBER_CHECK(t.defined() && (t.dtype() == int32 || t.dtype() == int64), InvalidArgument, "[TensorArray] ", what,
              " must be int32 or int64, got ", t.defined() ? std::string(dtype_name(t.dtype())) : "an undefined tensor");
  return t;
}

Tensor int32_scalar(int64_t v, const char* what) {
  EMBER_CHECK(v >= INT32_MIN && v <= INT32_MAX, InvalidArgument, "[TensorArray] ", what, " ", v, " does not fit in int32");
  return constant(static_cast<int32_t>(v));
}
Tensor int32_vector(const std::vector<int64_t>& v, const char* what) {
  std::vector<int32_t> out;
  for (int64_t x : v) {
    EMBER_CHECK(x >= INT32_MIN && x <= INT32_MAX, InvalidArgument, "[TensorArray] ", what, " ", x, " does not fit in int32");
    out.push_back(static_cast<int32_t>(x));
  }
  return constant(out, TensorShape{static_cast<int64_t>(out.size())});
}
}  // namespace

TensorArray::TensorArray(DType dtype, int64_t size, TensorArrayOptions options)
    : TensorArray(dtype, int32_scalar(size, "size"), std::move(options)) {}

TensorArray::TensorArray(DType dtype, const Tensor& size, TensorArrayOptions options) {
  EMBER_CHECK(is_computable(dtype), InvalidArgument, "[TensorArray] elements must have a dtype with values, got ",
              dtype_name(dtype));
  EMBER_CHECK(size.defined() && (!size.shape().rank_known() || size.rank() == 0), InvalidArgument,
              "[TensorArray] size must be a scalar");
  Tensor n = as_index(size, "size");
  auto s = std::make_shared<State>();
  s->dtype = dtype;
  s->element_shape = options.element_shape.value_or(TensorShape::unknown_rank());
  s->options = std::move(options);
  if (!n.is_symbolic()) {
    int64_t v = n.index_values()[0];
    EMBER_CHECK(v >= 0, InvalidArgument, "[TensorArray] size must be non-negative, got ", v);
    if (!s->options.dynamic_size) s->static_size = v;
  }
  s->flow = list::reserve(n, dtype, s->element_shape);
  s_ = std::move(s);
}

DType TensorArray::dtype() const { return s_->dtype; }
TensorShape TensorArray::element_shape() const { return s_->element_shape; }
const TensorArrayOptions& TensorArray::options() const { return s_->options; }
const Tensor& TensorArray::flow() const { return s_->flow; }

bool TensorArray::eager() const { return !s_->flow.is_symbolic() && context().tracer == nullptr; }

int64_t TensorArray::eager_size() const {
  return static_cast<int64_t>(list_of(s_->flow, "TensorArray").elements.size());
}

TensorArray TensorArray::with_flow(const Tensor& flow) const {
  EMBER_CHECK(flow.defined() && flow.dtype() == variant, InvalidArgument,
              "[TensorArray] a TensorArray's flow is a variant tensor, got ",
              flow.defined() ? std::string(dtype_name(flow.dtype())) : "an undefined tensor");
  auto s = std::make_shared<State>(*s_);
  s->flow = flow;
  s->cleared.clear();
  if (s->options.dynamic_size)
    s->static_size.reset();
  else if (!flow.is_symbolic())
    s->static_size = static_cast<int64_t>(list_of(flow, "TensorArray").elements.size());
  // (else this array's size, which writes cannot change)
  return TensorArray(std::move(s));
}

TensorArray TensorArray::next(Tensor flow, const TensorShape& shape) const {
  if (eager()) {
    s_->flow = std::move(flow);
    s_->element_shape = shape;
    if (!s_->options.dynamic_size) s_->static_size = eager_size();
    return *this;
  }
  auto s = std::make_shared<State>(*s_);
  s->flow = std::move(flow);
  s->element_shape = shape;
  return TensorArray(std::move(s));
}

// The element shape once `value_element_shape` (a value's element shape) is
// written, checked against what is known.
TensorShape TensorArray::merged_shape(const Tensor& value, const TensorShape& value_element_shape) const {
  EMBER_CHECK(value.defined(), InvalidArgument, "[TensorArray] the value is undefined");
  EMBER_CHECK(value.dtype() == s_->dtype, InvalidArgument, "TensorArray dtype is ", dtype_name(s_->dtype),
              " but Op is trying to write dtype ", dtype_name(value.dtype()));
  std::optional<TensorShape> m = s_->element_shape.merge_with(value_element_shape);
  EMBER_CHECK(m.has_value(), InvalidArgument, "Incompatible shape for value ", paren(value_element_shape),
              ", expected ", paren(s_->element_shape));
  return s_->options.infer_shape ? *m : s_->element_shape;
}

Tensor TensorArray::size() const {
  if (eager()) return constant(static_cast<int32_t>(eager_size()));
  if (s_->static_size) return constant(static_cast<int32_t>(*s_->static_size));
  return list::length(s_->flow);
}

Tensor TensorArray::read(int64_t index) const { return read(int32_scalar(index, "index")); }

Tensor TensorArray::read(const Tensor& index) const {
  Tensor i = as_index(index, "index");
  if (!eager()) return list::get_item(s_->flow, i, s_->dtype, s_->element_shape);
  int64_t k = i.index_values()[0];
  int64_t n = eager_size();
  EMBER_CHECK(k >= 0, OutOfRange, "Reading from negative indices (index ", k, ") is not allowed.");
  EMBER_CHECK(k < n, OutOfRange, "Tried to read from index ", k, " but array size is: ", n);
  EMBER_CHECK(!s_->cleared.count(k), InvalidArgument, "Could not read index ", k,
              " twice because it was cleared after a previous read (perhaps try setting clear_after_read = false?)");
  Tensor value = list::get_item(s_->flow, i, s_->dtype, s_->element_shape);
  if (s_->options.clear_after_read) {
    // TensorFlow drops the element: what reads it later (stack, gather) sees zeros.
    s_->flow = list::set_item(s_->flow, i, zeros_like(value));
    s_->cleared.insert(k);
  }
  return value;
}

TensorArray TensorArray::write(int64_t index, const Tensor& value) const {
  return write(int32_scalar(index, "index"), value);
}

TensorArray TensorArray::write(const Tensor& index, const Tensor& value) const {
  Tensor i = as_index(index, "index");
  TensorShape shape = merged_shape(value, value.defined() ? value.shape() : TensorShape{});
  if (eager()) {
    int64_t k = i.index_values()[0];
    int64_t n = eager_size();
    EMBER_CHECK(k >= 0, OutOfRange, "Writing to negative indices (index ", k, ") is not allowed.");
    EMBER_CHECK(k < n || s_->options.dynamic_size, OutOfRange, "Tried to write to index ", k,
                " but array is not resizeable and size is: ", n);
    s_->cleared.erase(k);
  }
  return next(list::set_item(s_->flow, i, value, s_->options.dynamic_size), shape);
}

Tensor TensorArray::stack() const {
  if (eager() && eager_size() == 0)
    EMBER_CHECK(s_->element_shape.is_fully_defined(), InvalidArgument,
                "Tried to stack elements of an empty list with non-fully-defined element_shape: ",
                s_->element_shape.to_string());
  // A static size gives the result a known first dimension (and is checked when it runs).
  return list::stack(s_->flow, s_->dtype, s_->element_shape, s_->static_size.value_or(-1));
}

TensorArray TensorArray::unstack(const Tensor& value) const {
  EMBER_CHECK(value.defined() && (!value.shape().rank_known() || value.rank() >= 1), InvalidArgument,
              "[TensorArray.unstack] the value must have at least one dimension");
  TensorShape shape = merged_shape(value, element_shape_of(value.shape()));
  if (eager()) {
    int64_t n = value.dim(0);
    EMBER_CHECK(s_->options.dynamic_size || n <= eager_size(), InvalidArgument, "Cannot unstack ", n,
                " tensors into a TensorArray of static size ", eager_size());
    s_->cleared.clear();
  }
  TensorArray r = next(list::from_tensor(value, element_shape_of(value.shape())), shape);
  if (!r.eager()) r.resized(value.shape().rank_known() ? value.dim(0) : TensorShape::kUnknown);
  return r;
}

// Traced: the size a whole new list has (unstack, split), where known.
void TensorArray::resized(int64_t size) const {
  s_->static_size.reset();
  if (!s_->options.dynamic_size && size != TensorShape::kUnknown) s_->static_size = size;
}

Tensor TensorArray::gather(const std::vector<int64_t>& indices) const {
  return gather(int32_vector(indices, "index"));
}

Tensor TensorArray::gather(const Tensor& indices) const {
  Tensor i = as_index(indices, "indices");
  EMBER_CHECK(!i.shape().rank_known() || i.rank() == 1, InvalidArgument, "[TensorArray.gather] indices must be a vector");
  return list::gather(s_->flow, i, s_->dtype, s_->element_shape);
}

TensorArray TensorArray::scatter(const std::vector<int64_t>& indices, const Tensor& value) const {
  return scatter(int32_vector(indices, "index"), value);
}

TensorArray TensorArray::scatter(const Tensor& indices, const Tensor& value) const {
  Tensor i = as_index(indices, "indices");
  EMBER_CHECK(!i.shape().rank_known() || i.rank() == 1, InvalidArgument, "[TensorArray.scatter] indices must be a vector");
  EMBER_CHECK(value.defined() && (!value.shape().rank_known() || value.rank() >= 1), InvalidArgument,
              "[TensorArray.scatter] the value must have at least one dimension");
  TensorShape shape = merged_shape(value, element_shape_of(value.shape()));
  if (eager()) {
    int64_t n = eager_size();
    for (int64_t k : i.index_values()) {
      EMBER_CHECK(k >= 0, OutOfRange, "Writing to negative indices (index ", k, ") is not allowed.");
      EMBER_CHECK(k < n || s_->options.dynamic_size, OutOfRange, "Tried to write to index ", k,
                  " but array is not resizeable and size is: ", n);
      s_->cleared.erase(k);
    }
  }
  return next(list::scatter_into(s_->flow, value, i), shape);
}

TensorArray TensorArray::split(const Tensor& value, const std::vector<int64_t>& lengths) const {
  return split(value, constant(lengths, TensorShape{static_cast<int64_t>(lengths.size())}));
}

TensorArray TensorArray::split(const Tensor& value, const Tensor& lengths) const {
  EMBER_CHECK(lengths.defined() && (lengths.dtype() == int32 || lengths.dtype() == int64), InvalidArgument,
              "[TensorArray.split] lengths must be int32 or int64");
  EMBER_CHECK(!lengths.shape().rank_known() || lengths.rank() == 1, InvalidArgument,
              "Expected lengths to be a vector, received shape: ", lengths.shape().to_string());
  EMBER_CHECK(value.defined() && (!value.shape().rank_known() || value.rank() >= 1), InvalidArgument,
              "Expected value to be at least a vector, but received shape: ",
              value.defined() ? value.shape().to_string() : std::string("undefined"));
  TensorShape piece = value.shape();
  if (piece.rank_known()) piece.set_dim(0, TensorShape::kUnknown);
  TensorShape shape = merged_shape(value, piece);
  Tensor len = lengths.dtype() == int64 ? lengths : cast(lengths, int64);
  if (eager()) {
    int64_t n = lengths.dim(0);
    EMBER_CHECK(s_->options.dynamic_size || n == eager_size(), InvalidArgument,
                "TensorArray's size is not equal to the size of lengths (", eager_size(), " vs. ", n,
                "), and the TensorArray is not marked as dynamically resizeable.");
    s_->cleared.clear();
  }
  TensorArray r = next(list::split(value, len, piece), shape);
  if (!r.eager()) r.resized(lengths.shape().rank_known() ? lengths.dim(0) : TensorShape::kUnknown);
  return r;
}

Tensor TensorArray::concat() const {
  TensorShape each = s_->element_shape;
  if (each.rank_known()) {
    EMBER_CHECK(each.rank() >= 1, InvalidArgument, "[TensorArray.concat] the elements are scalars: nothing to concatenate");
    each.set_dim(0, TensorShape::kUnknown);
  }
  return list::concat(s_->flow, constant(std::vector<int64_t>{}, TensorShape{0}), s_->dtype, each)[0];
}

}  // namespace ember
