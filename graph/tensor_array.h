// TensorArray, as tf.TensorArray: a list of tensors of one dtype, written and
// read by index, that flows through loops. Its state is one variant tensor
// (`flow()`), a TensorList the list ops (core/tensor_list.h) transform, so
// the same calls run eagerly and trace into TensorList* nodes; every
// mutating call returns the array to use from then on. Eagerly, as in
// TensorFlow, the returned array shares its state with this one (a read
// with clear_after_read clears the element); traced, each call returns a
// new array and this one keeps its old state. Behaviour and error texts:
// FUNCTIONS.md, "TensorArray".
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "core/tensor.h"

namespace ember {

struct TensorArrayOptions {
  /// Writes past the end grow the array (else they are an error).
  bool dynamic_size = false;
  /// Each write narrows the element shape to the values written, and a
  /// value of another shape is an error.
  bool infer_shape = true;
  /// Eagerly, a read clears the element: reading it again is an error.
  bool clear_after_read = true;
  /// The shape every element has (may be partly unknown).
  std::optional<TensorShape> element_shape = std::nullopt;
};

class TensorArray {
 public:
  /// An array of `size` unset elements (zeros of the element shape when read).
  TensorArray(DType dtype, int64_t size, TensorArrayOptions options = {});
  /// `size` an int32 or int64 scalar tensor (a traced loop's length).
  TensorArray(DType dtype, const Tensor& size, TensorArrayOptions options = {});

  DType dtype() const;
  /// What is known of every element's shape (unknown rank when nothing is).
  TensorShape element_shape() const;
  const TensorArrayOptions& options() const;
  /// The number of elements, an int32 scalar.
  Tensor size() const;

  /// Element `index` (an int32 or int64 scalar).
  Tensor read(const Tensor& index) const;
  Tensor read(int64_t index) const;
  TensorArray write(const Tensor& index, const Tensor& value) const;
  TensorArray write(int64_t index, const Tensor& value) const;
  /// The elements stacked along a new first dimension.
  Tensor stack() const;
  /// An array of `value`'s slices along its first dimension.
  TensorArray unstack(const Tensor& value) const;
  /// Elements `indices` stacked.
  Tensor gather(const Tensor& indices) const;
  Tensor gather(const std::vector<int64_t>& indices) const;
  /// Element indices[k] set to value[k].
  TensorArray scatter(const Tensor& indices, const Tensor& value) const;
  TensorArray scatter(const std::vector<int64_t>& indices, const Tensor& value) const;
  /// An array of `value`'s pieces of `lengths` rows.
  TensorArray split(const Tensor& value, const Tensor& lengths) const;
  TensorArray split(const Tensor& value, const std::vector<int64_t>& lengths) const;
  /// The elements concatenated along their first dimension.
  Tensor concat() const;

  /// The variant tensor that is the array's state (what loops carry).
  const Tensor& flow() const;
  /// This array's dtype and options with the state `flow` (a loop's result).
  TensorArray with_flow(const Tensor& flow) const;

 private:
  struct State;
  explicit TensorArray(std::shared_ptr<State> s) : s_(std::move(s)) {}
  // The array after a call that produced `flow` and learnt `shape` of the
  // elements: this one, updated, eagerly; a new one traced.
  TensorArray next(Tensor flow, const TensorShape& shape) const;
  bool eager() const;
  void resized(int64_t size) const;
  int64_t eager_size() const;
  TensorShape merged_shape(const Tensor& value, const TensorShape& value_element_shape) const;
  std::shared_ptr<State> s_;
};

}  // namespace ember
