// The list ops: TensorFlow's TensorList* raw ops on variant tensors holding a
// TensorList (core/tensor_list.h), and AddN, which also sums gradient lists.
// ember keeps the element shape and the element dtype as attributes where
// TensorFlow takes the shape as an input (serialization/graph_def.cpp turns
// them back). Their kernels move element handles, not elements, and read
// indices on the host (kernels/any_device/list.cpp), so their outputs' shapes are known
// only when they run.
#include <map>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/infer_util.h"
#include "core/tensor_list.h"
#include "core/ops/grad_util.h"

namespace ember {

Tensor make_list_tensor(std::shared_ptr<const TensorList> list, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = variant;
  impl->shape = TensorShape{};
  impl->device = device;
  impl->resource = std::const_pointer_cast<TensorList>(std::move(list));
  return Tensor(std::move(impl));
}

TensorShape element_shape_of(const TensorShape& s) {
  if (!s.rank_known() || s.rank() == 0) return TensorShape::unknown_rank();
  return TensorShape(std::vector<int64_t>(s.dims().begin() + 1, s.dims().end()));
}

TensorShape stacked_shape(int64_t n, const TensorShape& element) {
  if (!element.rank_known()) return TensorShape::unknown_rank();
  std::vector<int64_t> d{n};
  d.insert(d.end(), element.dims().begin(), element.dims().end());
  return TensorShape(d);
}

const TensorList& list_of(const Tensor& t, const char* api) {
  const auto* l = t.defined() && t.dtype() == variant ? dynamic_cast<const TensorList*>(t.impl()->resource.get())
                                                       : nullptr;
  EMBER_CHECK(l, InvalidArgument, "[", api, "] expected a tensor list (a variant tensor), got ",
              t.defined() ? std::string(dtype_name(t.dtype())) : std::string("an undefined tensor"));
  return *l;
}

namespace {

void require_list(const InferContext& c, size_t i) {
  if (c.inputs[i].dtype() != variant) c.fail("input ", i, " must be a tensor list (variant), got ", dtype_name(c.inputs[i].dtype()));
  if (c.inputs[i].shape().rank_known() && c.inputs[i].rank() != 0) c.fail("a tensor list handle must be a scalar");
}
void require_index(const InferContext& c, size_t i, int rank, const char* what) {
  const Tensor& t = c.inputs[i];
  // TensorFlow's list ops take int32; ember takes int64 too (a for_range
  // counter), exactly: a value past int32 is out of range, never truncated.
  if (t.dtype() != int32 && t.dtype() != int64) c.fail(what, " must be int32 or int64, got ", dtype_name(t.dtype()));
  if (t.shape().rank_known() && t.rank() != rank) c.fail(what, " must have rank ", rank, ", got shape ", t.shape().to_string());
}
// An element: a tensor with elements, or a list (a loop gradient keeps lists of lists).
void require_element(const InferContext& c, const Tensor& t, const char* what) {
  if (!is_computable(t.dtype()) && t.dtype() != variant) c.fail(what, " must have elements or be a list, got ", dtype_name(t.dtype()));
}
const TensorShape& element_shape(const InferContext& c) { return c.attrs.get<TensorShape>("element_shape"); }
DType element_dtype(const InferContext& c) { return c.attrs.get<DType>("element_dtype"); }


void infer_list_out(InferContext& c) { c.outputs.push_back({variant, TensorShape{}}); }

void require_element_dtype(const InferContext& c, DType t) {
  if (!is_computable(t) && t != variant) c.fail("a tensor list's elements must have elements or be lists, got ", dtype_name(t));
}

void infer_reserve(InferContext& c) {
  require_index(c, 0, 0, "num_elements");
  require_element_dtype(c, element_dtype(c));
  infer_list_out(c);
}

void infer_from_tensor(InferContext& c) {
  const Tensor& t = c.inputs[0];
  require_element(c, t, "tensor");
  if (t.shape().rank_known() && t.rank() == 0) c.fail("the tensor must have at least one dimension");
  if (!element_shape_of(t.shape()).is_compatible_with(element_shape(c)) && element_shape(c).rank_known())
    c.fail("the tensor's elements have shape ", element_shape_of(t.shape()).to_string(), ", the element shape is ",
           element_shape(c).to_string());
  infer_list_out(c);
}

void infer_set_item(InferContext& c) {
  require_list(c, 0);
  require_index(c, 1, 0, "index");
  require_element(c, c.inputs[2], "item");
  infer_list_out(c);
}

void infer_get_item(InferContext& c) {
  require_list(c, 0);
  require_index(c, 1, 0, "index");
  require_element_dtype(c, element_dtype(c));
  c.outputs.push_back({element_dtype(c), element_shape(c)});
}

void infer_stack(InferContext& c) {
  require_list(c, 0);
  require_element_dtype(c, element_dtype(c));
  int64_t n = c.attrs.get<int64_t>("num_elements");
  if (n < -1) c.fail("num_elements must be -1 or non-negative, got ", n);
  c.outputs.push_back({element_dtype(c), stacked_shape(n, element_shape(c))});
}

void infer_gather(InferContext& c) {
  require_list(c, 0);
  require_index(c, 1, 1, "indices");
  require_element_dtype(c, element_dtype(c));
  int64_t n = c.inputs[1].shape().rank_known() ? c.inputs[1].dim(0) : TensorShape::kUnknown;
  c.outputs.push_back({element_dtype(c), stacked_shape(n, element_shape(c))});
}

void infer_scatter(InferContext& c) {
  require_list(c, 0);
  require_element(c, c.inputs[1], "tensor");
  require_index(c, 2, 1, "indices");
  infer_list_out(c);
}

void infer_split(InferContext& c) {
  require_element(c, c.inputs[0], "tensor");
  if (c.inputs[0].shape().rank_known() && c.inputs[0].rank() == 0) c.fail("the tensor must have at least one dimension");
  if (c.inputs[1].dtype() != int64) c.fail("lengths must be int64, got ", dtype_name(c.inputs[1].dtype()));
  if (c.inputs[1].shape().rank_known() && c.inputs[1].rank() != 1) c.fail("lengths must be a vector");
  infer_list_out(c);
}

void infer_concat(InferContext& c) {
  require_list(c, 0);
  if (c.inputs[1].dtype() != int64) c.fail("leading_dims must be int64, got ", dtype_name(c.inputs[1].dtype()));
  require_element_dtype(c, element_dtype(c));
  const TensorShape& e = element_shape(c);
  TensorShape out = TensorShape::unknown_rank();
  if (e.rank_known()) {
    if (e.rank() == 0) c.fail("concatenating needs elements of at least one dimension");
    out = e;
    out.set_dim(0, TensorShape::kUnknown);
  }
  c.outputs.push_back({element_dtype(c), out});
  c.outputs.push_back({int64, TensorShape{TensorShape::kUnknown}});
}

void infer_length(InferContext& c) {
  require_list(c, 0);
  c.outputs.push_back({int32, TensorShape{}});
}

void infer_element_shape(InferContext& c) {
  require_list(c, 0);
  const DType t = c.attrs.get<DType>("shape_type");
  if (t != int32 && t != int64) c.fail("shape_type must be int32 or int64, got ", dtype_name(t));
  c.outputs.push_back({t, TensorShape::unknown_rank()});  // (a vector, or -1 for an unknown rank)
}

void infer_resize(InferContext& c) {
  require_list(c, 0);
  require_index(c, 1, 0, "size");
  infer_list_out(c);
}

void infer_push_back(InferContext& c) {
  require_list(c, 0);
  require_element(c, c.inputs[1], "tensor");
  infer_list_out(c);
}

void infer_pop_back(InferContext& c) {
  require_list(c, 0);
  require_element_dtype(c, element_dtype(c));
  infer_list_out(c);
  c.outputs.push_back({element_dtype(c), element_shape(c)});
}

void infer_add_n(InferContext& c) {
  const Tensor& a = c.inputs[0];
  if (a.dtype() != variant) infer::require_numeric(c, a, "inputs");
  TensorShape shape = a.shape();
  for (size_t i = 1; i < c.inputs.size(); ++i) {
    const Tensor& b = c.inputs[i];
    if (b.dtype() != a.dtype()) c.fail("input ", i, " is ", dtype_name(b.dtype()), ", input 0 is ", dtype_name(a.dtype()));
    if (!b.shape().is_compatible_with(shape))
      c.fail("input ", i, " has shape ", b.shape().to_string(), ", input 0 has shape ", shape.to_string());
    if (!shape.is_fully_defined() && b.shape().rank_known()) shape = b.shape();
  }
  c.outputs.push_back({a.dtype(), shape});
}

// TensorFlow's list ops: element dtypes as attributes, element shapes as
// int32 inputs (TfInputForm::ElementShape), indices and sizes int32.
OpDef& list_op(const char* name, const char* api, InferFn infer) {
  return define_op(name).api(api).set_infer(infer).set_allocates_outputs().set_data_dependent_shapes().tf_no_t();
}

[[maybe_unused]] const bool defined = [] {
  const TfInputForm shape_form = TfInputForm::ElementShape;
  list_op(op_name::TensorListReserve, "list::reserve", infer_reserve).inputs(1)
      .attr("element_dtype", AttrKind::Type).attr("element_shape", AttrKind::Shape)
      .tf_outputs({"handle"}).tf_input("element_shape", 0, shape_form).tf_type("shape_type", dtype_fixed(int32))
      .tf_int32_indices();
  list_op(op_name::TensorListFromTensor, "list::from_tensor", infer_from_tensor).inputs(1)
      .attr("element_shape", AttrKind::Shape)
      .tf_outputs({"output_handle"}).tf_input("element_shape", 1, shape_form)
      .tf_type("element_dtype", dtype_of_input(0)).tf_type("shape_type", dtype_fixed(int32));
  list_op(op_name::TensorListSetItem, "list::set_item", infer_set_item).inputs(3)
      .attr("resize_if_index_out_of_bounds", AttrKind::Bool)
      .tf_outputs({"output_handle"}).tf_type("element_dtype", dtype_of_input(2)).tf_int32_indices();
  list_op(op_name::TensorListGetItem, "list::get_item", infer_get_item).inputs(2)
      .attr("element_dtype", AttrKind::Type).attr("element_shape", AttrKind::Shape)
      .tf_outputs({"item"}).tf_input("element_shape", -1, shape_form).tf_int32_indices();
  list_op(op_name::TensorListStack, "list::stack", infer_stack).inputs(1)
      .attr("element_dtype", AttrKind::Type).attr("element_shape", AttrKind::Shape).attr("num_elements", AttrKind::Int)
      .tf_outputs({"tensor"}).tf_input("element_shape", -1, shape_form);
  list_op(op_name::TensorListGather, "list::gather", infer_gather).inputs(2)
      .attr("element_dtype", AttrKind::Type).attr("element_shape", AttrKind::Shape)
      .tf_outputs({"values"}).tf_input("element_shape", -1, shape_form).tf_int32_indices();
  list_op(op_name::TensorListScatterIntoExistingList, "list::scatter_into", infer_scatter).inputs(3)
      .tf_outputs({"output_handle"}).tf_type("element_dtype", dtype_of_input(1)).tf_int32_indices();
  list_op(op_name::TensorListSplit, "list::split", infer_split).inputs(2).attr("element_shape", AttrKind::Shape)
      .tf_outputs({"output_handle"}).tf_input("element_shape", 1, shape_form)
      .tf_type("element_dtype", dtype_of_input(0)).tf_type("shape_type", dtype_fixed(int32));
  list_op(op_name::TensorListConcatV2, "list::concat", infer_concat).inputs(2)
      .attr("element_dtype", AttrKind::Type).attr("element_shape", AttrKind::Shape)
      .tf_outputs({"tensor", "lengths"}).tf_input("element_shape", 1, shape_form)
      .tf_type("shape_type", dtype_fixed(int32));
  list_op(op_name::TensorListLength, "list::length", infer_length).inputs(1).not_differentiable()
      .tf_outputs({"length"});
  list_op(op_name::TensorListElementShape, "list::element_shape", infer_element_shape).inputs(1)
      .attr("shape_type", AttrKind::Type).not_differentiable().tf_outputs({"element_shape"});
  list_op(op_name::TensorListResize, "list::resize", infer_resize).inputs(2)
      .tf_outputs({"output_handle"}).tf_int32_indices();
  list_op(op_name::TensorListPushBack, "list::push_back", infer_push_back).inputs(2)
      .tf_outputs({"output_handle"}).tf_type("element_dtype", dtype_of_input(1));
  list_op(op_name::TensorListPopBack, "list::pop_back", infer_pop_back).inputs(1)
      .attr("element_dtype", AttrKind::Type).attr("element_shape", AttrKind::Shape)
      .tf_outputs({"output_handle", "tensor"}).tf_input("element_shape", -1, shape_form);
  define_op(op_name::AddN).api("add_n").variadic_inputs(1).set_infer(infer_add_n).set_allocates_outputs()
      .tf_outputs({"sum"}).tf_count("N", TfCountOf::Inputs);
  return true;
}();

const OpDef& op(const char* name) { return op_def(name); }

}  // namespace

namespace list {

Tensor reserve(const Tensor& size, DType element_dtype, const TensorShape& element_shape) {
  return execute1(op(op_name::TensorListReserve), {size},
                  {{"element_dtype", element_dtype}, {"element_shape", element_shape}});
}
Tensor from_tensor(const Tensor& tensor, const TensorShape& element_shape) {
  return execute1(op(op_name::TensorListFromTensor), {tensor}, {{"element_shape", element_shape}});
}
Tensor set_item(const Tensor& list, const Tensor& index, const Tensor& item, bool resize) {
  return execute1(op(op_name::TensorListSetItem), {list, index, item}, {{"resize_if_index_out_of_bounds", resize}});
}
Tensor get_item(const Tensor& list, const Tensor& index, DType element_dtype, const TensorShape& element_shape) {
  return execute1(op(op_name::TensorListGetItem), {list, index},
                  {{"element_dtype", element_dtype}, {"element_shape", element_shape}});
}
Tensor stack(const Tensor& list, DType element_dtype, const TensorShape& element_shape, int64_t num_elements) {
  return execute1(op(op_name::TensorListStack), {list},
                  {{"element_dtype", element_dtype}, {"element_shape", element_shape}, {"num_elements", num_elements}});
}
Tensor gather(const Tensor& list, const Tensor& indices, DType element_dtype, const TensorShape& element_shape) {
  return execute1(op(op_name::TensorListGather), {list, indices},
                  {{"element_dtype", element_dtype}, {"element_shape", element_shape}});
}
Tensor scatter_into(const Tensor& list, const Tensor& tensor, const Tensor& indices) {
  return execute1(op(op_name::TensorListScatterIntoExistingList), {list, tensor, indices});
}
Tensor split(const Tensor& tensor, const Tensor& lengths, const TensorShape& element_shape) {
  return execute1(op(op_name::TensorListSplit), {tensor, lengths}, {{"element_shape", element_shape}});
}
std::vector<Tensor> concat(const Tensor& list, const Tensor& leading_dims, DType element_dtype,
                           const TensorShape& element_shape) {
  return execute(op(op_name::TensorListConcatV2), {list, leading_dims},
                 {{"element_dtype", element_dtype}, {"element_shape", element_shape}});
}
Tensor length(const Tensor& list) { return execute1(op(op_name::TensorListLength), {list}); }
Tensor element_shape(const Tensor& list, DType shape_type) {
  return execute1(op(op_name::TensorListElementShape), {list}, {{"shape_type", shape_type}});
}
Tensor resize(const Tensor& list, const Tensor& size) { return execute1(op(op_name::TensorListResize), {list, size}); }
Tensor push_back(const Tensor& list, const Tensor& tensor) {
  return execute1(op(op_name::TensorListPushBack), {list, tensor});
}
std::vector<Tensor> pop_back(const Tensor& list, DType element_dtype, const TensorShape& element_shape) {
  return execute(op(op_name::TensorListPopBack), {list},
                 {{"element_dtype", element_dtype}, {"element_shape", element_shape}});
}

}  // namespace list

Tensor add_n(const std::vector<Tensor>& values) {
  EMBER_CHECK(!values.empty(), InvalidArgument, "[add_n] needs at least one tensor");
  return execute1(op(op_name::AddN), values);
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the list ops, TensorFlow's pairs: a list's gradient is a list
// of its elements' gradients (unset where none reached one), so reading an
// element and writing one are each other's gradients, as are stacking and
// building from a tensor, gathering and scattering, concatenating and
// splitting, pushing and popping. AddN (which sums gradient lists too) gives
// each input the output's gradient.
namespace ember::autograd {
namespace {

// A gradient list for `like`: as many elements, all unset.
Tensor zeros_list(const Tensor& like, DType element_dtype, const TensorShape& element_shape) {
  return list::reserve(list::length(like), element_dtype, element_shape);
}

DType element_dtype(const GradContext& c) { return c.attrs.get<DType>("element_dtype"); }


GRAD(op_name::TensorListReserve, kGradUsesNothing) { return Grads(c.inputs.size()); } END_GRAD;

GRAD(op_name::TensorListFromTensor, kGradUsesInputs) {
  int64_t n = c.x().shape().rank_known() ? c.x().dim(0) : -1;
  return {list::stack(c.grad(), c.x().dtype(), element_shape_of(c.x().shape()), n)};
} END_GRAD;

GRAD(op_name::TensorListStack, kGradUsesNothing) {
  return {list::from_tensor(c.grad(), c.attrs.get<TensorShape>("element_shape"))};
} END_GRAD;

GRAD(op_name::TensorListSetItem, kGradUsesInputs) {
  const Tensor& list = c.inputs[0];
  const Tensor& index = c.inputs[1];
  const Tensor& item = c.inputs[2];
  Tensor list_grad = list::set_item(c.grad(), index, zeros_like(item));
  if (c.attrs.get<bool>("resize_if_index_out_of_bounds")) list_grad = list::resize(list_grad, list::length(list));
  return {list_grad, kNone, list::get_item(c.grad(), index, item.dtype(), item.shape())};
} END_GRAD;

GRAD(op_name::TensorListGetItem, kGradUsesInputs) {
  return {list::set_item(zeros_list(c.inputs[0], element_dtype(c), c.grad().shape()), c.inputs[1], c.grad()), kNone};
} END_GRAD;

// Scattering the gradient back would keep one of the gradients of an index
// gathered twice. Where the indices are known (eagerly), repeats are summed
// first and the sums scattered. Traced, the gradients are added into a dense
// tensor of the list's length (zeros stacked from an unset list), which
// sums repeats, and that becomes the gradient list; where the element shape
// is not known that is impossible, and a repeated index gets the gradient
// of one of its reads (as TensorFlow's TensorList gradient does).
GRAD(op_name::TensorListGather, kGradUsesInputs) {
  Tensor g = c.grad(), indices = c.inputs[1];
  if (indices.is_symbolic() && element_shape_of(c.grad().shape()).is_fully_defined()) {
    Tensor zero = list::stack(zeros_list(c.inputs[0], element_dtype(c), element_shape_of(c.grad().shape())), c.grad().dtype(), element_shape_of(c.grad().shape()));
    Tensor dense = tensor_scatter_add(zero, expand_dims(indices, 1), c.grad());
    return {list::from_tensor(dense, element_shape_of(c.grad().shape())), kNone};
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
      g = unsorted_segment_sum(c.grad(), constant(segment, c.grad().device()), static_cast<int64_t>(unique.size()));
      indices = constant(unique, indices.device());
    }
  }
  return {list::scatter_into(zeros_list(c.inputs[0], element_dtype(c), element_shape_of(c.grad().shape())), g, indices), kNone};
} END_GRAD;

GRAD(op_name::TensorListScatterIntoExistingList, kGradUsesInputs) {
  const Tensor& list = c.inputs[0];
  const Tensor& tensor = c.inputs[1];
  const Tensor& indices = c.inputs[2];
  Tensor list_grad = list::resize(list::scatter_into(c.grad(), zeros_like(tensor), indices), list::length(list));
  return {list_grad, list::gather(c.grad(), indices, tensor.dtype(), element_shape_of(tensor.shape())), kNone};
} END_GRAD;

GRAD(op_name::TensorListSplit, kGradUsesInputs) {
  TensorShape each = c.x().shape();
  if (each.rank_known()) each.set_dim(0, TensorShape::kUnknown);
  return {list::concat(c.grad(), c.inputs[1], c.x().dtype(), each)[0], kNone};
} END_GRAD;

GRAD(op_name::TensorListConcatV2, kGradUsesOutputs) {
  TensorShape each = c.y().shape();
  if (each.rank_known()) each.set_dim(0, TensorShape::kUnknown);
  return {list::split(c.grad(), c.outputs[1], each), kNone};
} END_GRAD;

GRAD(op_name::TensorListResize, kGradUsesInputs) {
  return {list::resize(c.grad(), list::length(c.inputs[0])), kNone};
} END_GRAD;

GRAD(op_name::TensorListPushBack, kGradUsesInputs) {
  std::vector<Tensor> g = list::pop_back(c.grad(), c.inputs[1].dtype(), c.inputs[1].shape());
  return {g[0], g[1]};
} END_GRAD;

GRAD(op_name::TensorListPopBack, kGradUsesOutputs) {
  const Tensor& rest_list = c.outputs[0];
  const Tensor& item = c.outputs[1];
  Tensor list_grad = c.output_grads[0].defined() ? c.output_grads[0] : zeros_list(rest_list, item.dtype(), item.shape());
  Tensor item_grad = c.output_grads[1].defined() ? c.output_grads[1] : zeros_like(item);
  return {list::push_back(list_grad, item_grad)};
} END_GRAD;

GRAD(op_name::AddN, kGradUsesNothing) { return Grads(c.inputs.size(), c.grad()); } END_GRAD;

}  // namespace
}  // namespace ember::autograd
