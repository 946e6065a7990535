// TensorList: the value a variant tensor holds, TensorFlow's list of tensors
// (TensorArray's state, a loop's accumulator). A list is immutable once a
// tensor holds it: each list op makes a new one (sharing the element
// tensors, which are immutable too). An element may be unset (an undefined
// Tensor): it reads as zeros of the element shape, and a gradient list
// leaves unset what no gradient reached.
#pragma once

#include <memory>
#include <vector>

#include "core/tensor.h"

namespace ember {

struct TensorList final : ResourceBase {
  DType element_dtype = DType::Float32;
  /// What every element's shape is compatible with; possibly partly unknown.
  TensorShape element_shape = TensorShape::unknown_rank();
  std::vector<Tensor> elements;
};

/// The shape of a row of a tensor of shape `s` (a list element made from
/// it): `s` without its first dimension; unknown rank where `s` has none.
TensorShape element_shape_of(const TensorShape& s);
/// The shape of `n` elements of shape `element` stacked: [n] + element.
TensorShape stacked_shape(int64_t n, const TensorShape& element);

/// A variant tensor (a scalar) holding `list`, on `device`.
Tensor make_list_tensor(std::shared_ptr<const TensorList> list, Device device);

/// The list a concrete variant tensor holds (InvalidArgument naming `api`
/// for any other tensor).
const TensorList& list_of(const Tensor& t, const char* api);

/// The list ops (TensorFlow's TensorList* raw ops, one family: core/ops/list.cpp,
/// kernels/any_device/list.cpp, core/ops/list.cpp, tests/list_test.cpp). Indices
/// are int32 tensors; `element_shape` may be partly unknown. graph/'s
/// TensorArray is written with them, as are the accumulators of a loop's
/// gradient.
namespace list {
/// A list of `size` (int32 scalar) unset elements.
Tensor reserve(const Tensor& size, DType element_dtype, const TensorShape& element_shape);
/// The list of `tensor`'s slices along its first dimension.
Tensor from_tensor(const Tensor& tensor, const TensorShape& element_shape);
/// A new list with element `index` set to `item`; `resize` lets `index` lie
/// past the end (the list grows, with unset elements between).
Tensor set_item(const Tensor& list, const Tensor& index, const Tensor& item, bool resize = false);
/// Element `index` (zeros of `element_shape` where unset).
Tensor get_item(const Tensor& list, const Tensor& index, DType element_dtype, const TensorShape& element_shape);
/// The elements stacked along a new first dimension (`num_elements` -1:
/// whatever the list holds).
Tensor stack(const Tensor& list, DType element_dtype, const TensorShape& element_shape, int64_t num_elements = -1);
Tensor gather(const Tensor& list, const Tensor& indices, DType element_dtype, const TensorShape& element_shape);
/// A new list with element indices[k] set to tensor[k].
Tensor scatter_into(const Tensor& list, const Tensor& tensor, const Tensor& indices);
/// The list of `tensor`'s pieces of `lengths` (int64) rows.
Tensor split(const Tensor& tensor, const Tensor& lengths, const TensorShape& element_shape);
/// The elements concatenated along their first dimension, and each one's
/// length; an unset element has `leading_dims[i]` rows (int64, may be empty
/// when every element is set).
std::vector<Tensor> concat(const Tensor& list, const Tensor& leading_dims, DType element_dtype,
                           const TensorShape& element_shape);
/// The number of elements (an int32 scalar).
Tensor length(const Tensor& list);
/// The list's element_shape as TensorFlow's TensorListElementShape gives it:
/// a vector of its dimensions, -1 for an unknown one, or the scalar -1 for
/// an unknown rank (int32 or int64).
Tensor element_shape(const Tensor& list, DType shape_type = int32);
/// A new list of `size` elements: truncated, or grown with unset ones.
Tensor resize(const Tensor& list, const Tensor& size);
Tensor push_back(const Tensor& list, const Tensor& tensor);
/// {the list without its last element, that element}.
std::vector<Tensor> pop_back(const Tensor& list, DType element_dtype, const TensorShape& element_shape);
}  // namespace list

/// TensorFlow's AddN: the elementwise sum of tensors of one dtype and shape;
/// for variant tensors (gradient lists), the lists' elementwise sum, an
/// unset element adding nothing.
Tensor add_n(const std::vector<Tensor>& values);

}  // namespace ember
