// Gradients of the list ops, TensorFlow's pairs: a list's gradient is a list
// of its elements' gradients (unset where none reached one), so reading an
// element and writing one are each other's gradients, as are stacking and
// building from a tensor, gathering and scattering, concatenating and
// splitting, pushing and popping. AddN (which sums gradient lists too) gives
// each input the output's gradient.
#include <map>

#include "autograd/grad_util.h"
#include "core/tensor_list.h"

namespace ember::autograd {
namespace {

// A gradient list for `like`: as many elements, all unset.
Tensor zeros_list(const Tensor& like, DType element_dtype, const TensorShape& element_shape) {
  return list::reserve(list::length(like), element_dtype, element_shape);
}

DType element_dtype(const GradContext& c) { return c.attrs.get<DType>("element_dtype"); }


GRAD(op_name::TensorListReserve, kGradUsesNothing) { return Grads(c.inputs.size()); } END_GRAD;

GRAD(op_name::TensorListFromTensor, kGradUsesInputs) {
  int64_t n = X.shape().rank_known() ? X.dim(0) : -1;
  return {list::stack(G, X.dtype(), element_shape_of(X.shape()), n)};
} END_GRAD;

GRAD(op_name::TensorListStack, kGradUsesNothing) {
  return {list::from_tensor(G, c.attrs.get<TensorShape>("element_shape"))};
} END_GRAD;

GRAD(op_name::TensorListSetItem, kGradUsesInputs) {
  const Tensor& list = c.inputs[0];
  const Tensor& index = c.inputs[1];
  const Tensor& item = c.inputs[2];
  Tensor list_grad = list::set_item(G, index, zeros_like(item));
  if (c.attrs.get<bool>("resize_if_index_out_of_bounds")) list_grad = list::resize(list_grad, list::length(list));
  return {list_grad, kNone, list::get_item(G, index, item.dtype(), item.shape())};
} END_GRAD;

GRAD(op_name::TensorListGetItem, kGradUsesInputs) {
  return {list::set_item(zeros_list(c.inputs[0], element_dtype(c), G.shape()), c.inputs[1], G), kNone};
} END_GRAD;

// Scattering the gradient back would keep one of the gradients of an index
// gathered twice. Where the indices are known (eagerly), repeats are summed
// first and the sums scattered. Traced, the gradients are added into a dense
// tensor of the list's length (zeros stacked from an unset list), which
// sums repeats, and that becomes the gradient list; where the element shape
// is not known that is impossible, and a repeated index gets the gradient
// of one of its reads (as TensorFlow's TensorList gradient does).
GRAD(op_name::TensorListGather, kGradUsesInputs) {
  Tensor g = G, indices = c.inputs[1];
  if (indices.is_symbolic() && element_shape_of(G.shape()).is_fully_defined()) {
    Tensor zero = list::stack(zeros_list(c.inputs[0], element_dtype(c), element_shape_of(G.shape())), G.dtype(), element_shape_of(G.shape()));
    Tensor dense = tensor_scatter_add(zero, expand_dims(indices, 1), G);
    return {list::from_tensor(dense, element_shape_of(G.shape())), kNone};
  }
  if (!indices.is_symbolic()) {
    std::vector<int32_t> host = indices.to(Device::cpu()).to_vector<int32_t>();
    std::map<int32_t, int32_t> position;
    std::vector<int32_t> unique, segment;
    for (int32_t i : host) {
      auto [it, fresh] = position.emplace(i, static_cast<int32_t>(unique.size()));
      if (fresh) unique.push_back(i);
      segment.push_back(it->second);
    }
    if (unique.size() < host.size()) {
      g = unsorted_segment_sum(G, constant(segment, G.device()), static_cast<int64_t>(unique.size()));
      indices = constant(unique, indices.device());
    }
  }
  return {list::scatter_into(zeros_list(c.inputs[0], element_dtype(c), element_shape_of(G.shape())), g, indices), kNone};
} END_GRAD;

GRAD(op_name::TensorListScatterIntoExistingList, kGradUsesInputs) {
  const Tensor& list = c.inputs[0];
  const Tensor& tensor = c.inputs[1];
  const Tensor& indices = c.inputs[2];
  Tensor list_grad = list::resize(list::scatter_into(G, zeros_like(tensor), indices), list::length(list));
  return {list_grad, list::gather(G, indices, tensor.dtype(), element_shape_of(tensor.shape())), kNone};
} END_GRAD;

GRAD(op_name::TensorListSplit, kGradUsesInputs) {
  TensorShape each = X.shape();
  if (each.rank_known()) each.set_dim(0, TensorShape::kUnknown);
  return {list::concat(G, c.inputs[1], X.dtype(), each)[0], kNone};
} END_GRAD;

GRAD(op_name::TensorListConcatV2, kGradUsesOutputs) {
  TensorShape each = Y.shape();
  if (each.rank_known()) each.set_dim(0, TensorShape::kUnknown);
  return {list::split(G, c.outputs[1], each), kNone};
} END_GRAD;

GRAD(op_name::TensorListResize, kGradUsesInputs) {
  return {list::resize(G, list::length(c.inputs[0])), kNone};
} END_GRAD;

GRAD(op_name::TensorListPushBack, kGradUsesInputs) {
  std::vector<Tensor> g = list::pop_back(G, c.inputs[1].dtype(), c.inputs[1].shape());
  return {g[0], g[1]};
} END_GRAD;

GRAD(op_name::TensorListPopBack, kGradUsesOutputs) {
  const Tensor& rest_list = c.outputs[0];
  const Tensor& item = c.outputs[1];
  Tensor list_grad = c.output_grads[0].defined() ? c.output_grads[0] : zeros_list(rest_list, item.dtype(), item.shape());
  Tensor item_grad = c.output_grads[1].defined() ? c.output_grads[1] : zeros_like(item);
  return {list::push_back(list_grad, item_grad)};
} END_GRAD;

GRAD(op_name::AddN, kGradUsesNothing) { return Grads(c.inputs.size(), G); } END_GRAD;

}  // namespace
}  // namespace ember::autograd
