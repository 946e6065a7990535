// Kernels of the list ops (core/ops/list.cpp), one implementation for every
// device: a list holds element tensors on the kernel's device, the kernels
// move handles and read indices and lengths on the host (waiting for a GPU
// tensor's stream), and the element work (stacking, concatenating, zeros for
// unset elements) is ember's own ops, which run on that device. Error texts
// are TensorFlow's, as a TensorArray user meets them (FUNCTIONS.md).
#include <unistd.h>

#include <numeric>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/tensor_list.h"

namespace ember::kernels {
namespace {

using List = std::shared_ptr<TensorList>;

const TensorList& input_list(const KernelContext& c, size_t i) { return list_of(c.inputs[i], c.op.api_name.c_str()); }

// A new list holding what `from` holds.
List copy_of(const TensorList& from) { return std::make_shared<TensorList>(from); }

void set_list(KernelContext& c, size_t i, List l) { c.outputs[i] = make_list_tensor(std::move(l), c.device); }

int64_t host_int(const Tensor& t) { return t.index_values().at(0); }

// Grows or shrinks a list to `n` elements. A list keeps a handle per element
// (set or not), so a length whose handles alone would take half the
// machine's memory is refused before anything is allocated.
void resize_elements(const KernelContext& c, TensorList& l, uint64_t n) {
  static const uint64_t limit = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 2
                                 : uint64_t{1} << 40;
  }();
  if (n > limit / sizeof(Tensor)) [[unlikely]]
    throw ResourceExhausted(detail::str_cat("[", c.op.api_name, "] a tensor list of ", n, " elements needs ",
                                            n * sizeof(Tensor),
                                            " bytes for its element handles alone, more than half this machine's memory"));
  l.elements.resize(static_cast<size_t>(n));
}

// "[6, 2]", as Python prints a shape's list.
std::string python_list(const TensorShape& s) {
  std::string out = "[";
  for (int i = 0; i < s.rank(); ++i) out += (i ? ", " : "") + std::to_string(s.dim(i));
  return out + "]";
}

// The most specific shape both `a` and `b` allow (InvalidArgument when they conflict).
TensorShape merge(const TensorShape& a, const TensorShape& b, const KernelContext& c) {
  std::optional<TensorShape> m = a.merge_with(b);
  EMBER_CHECK(m.has_value(), InvalidArgument, "[", c.op.api_name, "] Incompatible shapes: ", a.to_string(), " and ",
              b.to_string());
  return *m;
}

// The shape every element has: the attribute's, the list's, and the first
// set element's; fully known or InvalidArgument (unset elements need it).
TensorShape element_shape(const KernelContext& c, const TensorList& l) {
  TensorShape s = merge(c.attrs.get_or<TensorShape>("element_shape", TensorShape::unknown_rank()), l.element_shape, c);
  for (const Tensor& e : l.elements)
    if (e.defined()) return merge(s, e.shape(), c);
  EMBER_CHECK(s.is_fully_defined(), InvalidArgument, "[", c.op.api_name,
              "] Trying to read an uninitialized tensor but element_shape is not fully defined: ", s.to_string(),
              " and no list element is set.");
  return s;
}

// An element as an op's output: a new tensor viewing its buffer (a tape
// keys tensors by identity, and the value read is not the value written).
Tensor fresh(const Tensor& e) { return Tensor(TensorImpl::view_of(*e.impl())); }

bool any_set(const TensorList& l) {
  for (const Tensor& e : l.elements)
    if (e.defined()) return true;
  return false;
}

// The dtype the op reads elements as (a gradient list made without knowing
// it has unset elements of any dtype).
DType read_dtype(const KernelContext& c) { return c.attrs.get<DType>("element_dtype"); }

Tensor element(const KernelContext& c, const TensorList& l, size_t i, const TensorShape& shape) {
  const Tensor& e = l.elements[i];
  return e.defined() ? e : zeros(shape, read_dtype(c), c.device);
}



// Checks `item` fits `l`; a list with no element set yet takes any dtype
// (a gradient list made without knowing it), and `out` (the new list) takes `item`'s.
void check_item(const KernelContext& c, const TensorList& l, const Tensor& item, TensorList& out) {
  if (!any_set(l)) out.element_dtype = item.dtype();
  EMBER_CHECK(item.dtype() == out.element_dtype, InvalidArgument, "[", c.op.api_name, "] TensorArray dtype is ",
              dtype_name(l.element_dtype), " but Op is trying to write dtype ", dtype_name(item.dtype()));
  EMBER_CHECK(!l.element_shape.rank_known() || item.shape().is_compatible_with(l.element_shape), InvalidArgument,
              "[", c.op.api_name, "] Incompatible shape for value ", item.shape().to_string(), ", expected ",
              l.element_shape.to_string());
}

void check_read_index(const KernelContext& c, int64_t i, size_t n) {
  EMBER_CHECK(i >= 0 && static_cast<size_t>(i) < n, OutOfRange, "[", c.op.api_name, "] Tried to read from index ", i,
              " but array size is: ", n);
}

void reserve_kernel(KernelContext& c) {
  int64_t n = host_int(c.inputs[0]);
  EMBER_CHECK(n >= 0, InvalidArgument, "[", c.op.api_name, "] num_elements must be non-negative, got ", n);
  auto l = std::make_shared<TensorList>();
  l->element_dtype = c.attrs.get<DType>("element_dtype");
  l->element_shape = c.attrs.get<TensorShape>("element_shape");
  resize_elements(c, *l, static_cast<uint64_t>(n));
  set_list(c, 0, std::move(l));
}

void from_tensor_kernel(KernelContext& c) {
  const Tensor& t = c.inputs[0];
  auto l = std::make_shared<TensorList>();
  l->element_dtype = t.dtype();
  l->element_shape = merge(c.attrs.get<TensorShape>("element_shape"), element_shape_of(t.shape()), c);
  if (t.dim(0) > 0) l->elements = unstack(t, 0);
  set_list(c, 0, std::move(l));
}

void set_item_kernel(KernelContext& c) {
  const TensorList& in = input_list(c, 0);
  const Tensor& item = c.inputs[2];
  int64_t i = host_int(c.inputs[1]);
  const size_t n = in.elements.size();
  EMBER_CHECK(i >= 0, InvalidArgument, "[", c.op.api_name, "] Tried to write to index ", i, " but it is negative");
  if (static_cast<size_t>(i) >= n)
    EMBER_CHECK(c.attrs.get<bool>("resize_if_index_out_of_bounds"), OutOfRange, "[", c.op.api_name,
                "] Tried to write to index ", i, " but array is not resizeable and size is: ", n);
  List l = copy_of(in);
  check_item(c, in, item, *l);
  if (static_cast<size_t>(i) >= n) resize_elements(c, *l, static_cast<uint64_t>(i) + 1);
  l->elements[static_cast<size_t>(i)] = item;
  set_list(c, 0, std::move(l));
}

void get_item_kernel(KernelContext& c) {
  const TensorList& l = input_list(c, 0);
  int64_t i = host_int(c.inputs[1]);
  check_read_index(c, i, l.elements.size());
  const Tensor& e = l.elements[static_cast<size_t>(i)];
  c.outputs[0] = e.defined() ? fresh(e) : zeros(element_shape(c, l), read_dtype(c), c.device);
}

void stack_kernel(KernelContext& c) {
  const TensorList& l = input_list(c, 0);
  int64_t want = c.attrs.get<int64_t>("num_elements");
  const size_t n = l.elements.size();
  EMBER_CHECK(want < 0 || static_cast<size_t>(want) == n, InvalidArgument, "[", c.op.api_name,
              "] Operation expected a list with ", want, " elements but got a list with ", n, " elements.");
  if (n == 0) {
    TensorShape s = merge(c.attrs.get<TensorShape>("element_shape"), l.element_shape, c);
    EMBER_CHECK(s.is_fully_defined(), InvalidArgument, "[", c.op.api_name,
                "] Tried to stack elements of an empty list with non-fully-defined element_shape: ", s.to_string());
    c.outputs[0] = zeros(stacked_shape(0, s), read_dtype(c), c.device);
    return;
  }
  bool all_set = true;
  for (const Tensor& e : l.elements) all_set = all_set && e.defined();
  TensorShape s = all_set ? TensorShape::unknown_rank() : element_shape(c, l);
  std::vector<Tensor> parts;
  parts.reserve(n);
  for (size_t i = 0; i < n; ++i) parts.push_back(element(c, l, i, s));
  c.outputs[0] = stack(parts, 0);
}

void gather_kernel(KernelContext& c) {
  const TensorList& l = input_list(c, 0);
  std::vector<int64_t> idx = c.inputs[1].index_values();
  for (int64_t i : idx) check_read_index(c, i, l.elements.size());
  bool all_set = true;
  for (int64_t i : idx) all_set = all_set && l.elements[static_cast<size_t>(i)].defined();
  TensorShape s = all_set && !idx.empty() ? TensorShape::unknown_rank() : element_shape(c, l);
  if (idx.empty()) {
    c.outputs[0] = zeros(stacked_shape(0, s), read_dtype(c), c.device);
    return;
  }
  std::vector<Tensor> parts;
  for (int64_t i : idx) parts.push_back(element(c, l, static_cast<size_t>(i), s));
  c.outputs[0] = stack(parts, 0);
}

void scatter_kernel(KernelContext& c) {
  const TensorList& in = input_list(c, 0);
  const Tensor& t = c.inputs[1];
  std::vector<int64_t> idx = c.inputs[2].index_values();
  EMBER_CHECK(t.rank() >= 1 && t.dim(0) == static_cast<int64_t>(idx.size()), InvalidArgument, "[", c.op.api_name,
              "] Expected len(indices) == tensor.shape[0], but saw: ", idx.size(), " vs. ",
              t.rank() >= 1 ? t.dim(0) : 0);
  List l = copy_of(in);
  std::vector<Tensor> rows = idx.empty() ? std::vector<Tensor>{} : unstack(t, 0);
  for (size_t k = 0; k < idx.size(); ++k) {
    check_item(c, in, rows[k], *l);
    EMBER_CHECK(idx[k] >= 0, InvalidArgument, "[", c.op.api_name, "] Tried to write to index ", idx[k],
                " but it is negative");
    if (static_cast<size_t>(idx[k]) >= l->elements.size()) resize_elements(c, *l, static_cast<uint64_t>(idx[k]) + 1);
    l->elements[static_cast<size_t>(idx[k])] = rows[k];
  }
  set_list(c, 0, std::move(l));
}

void split_kernel(KernelContext& c) {
  const Tensor& t = c.inputs[0];
  std::vector<int64_t> lengths = c.inputs[1].index_values();
  int64_t total = 0;
  for (int64_t x : lengths) {
    EMBER_CHECK(x >= 0, InvalidArgument, "[", c.op.api_name, "] lengths must be non-negative, got ", x);
    total += x;
  }
  EMBER_CHECK(total == t.dim(0), InvalidArgument, "[", c.op.api_name,
              "] Expected sum of lengths to be equal to values.shape[0], but sum of lengths is ", total,
              " and value's shape is: ", python_list(t.shape()));
  auto l = std::make_shared<TensorList>();
  l->element_dtype = t.dtype();
  TensorShape each = t.shape();
  each.set_dim(0, TensorShape::kUnknown);
  l->element_shape = merge(c.attrs.get<TensorShape>("element_shape"), each, c);
  if (!lengths.empty()) l->elements = split(t, lengths, 0);
  set_list(c, 0, std::move(l));
}

void concat_kernel(KernelContext& c) {
  const TensorList& l = input_list(c, 0);
  std::vector<int64_t> leading = c.inputs[1].index_values();
  const size_t n = l.elements.size();
  TensorShape attr = merge(c.attrs.get<TensorShape>("element_shape"), l.element_shape, c);
  // Every element's shape but its first dimension.
  TensorShape inner = attr;
  for (const Tensor& e : l.elements)
    if (e.defined()) {
      EMBER_CHECK(e.rank() >= 1, InvalidArgument, "[", c.op.api_name,
                  "] Concat requires elements to be at least vectors, found scalars instead.");
      TensorShape s = e.shape();
      s.set_dim(0, TensorShape::kUnknown);
      if (inner.rank_known()) inner.set_dim(0, TensorShape::kUnknown);
      inner = merge(inner, s, c);
    }
  std::vector<Tensor> parts;
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& e = l.elements[i];
    if (e.defined()) {
      parts.push_back(e);
      lengths.push_back(e.dim(0));
      continue;
    }
    EMBER_CHECK(i < leading.size(), InvalidArgument, "[", c.op.api_name, "] element ", i,
                " is unset and no leading dimension is given for it");
    TensorShape s = inner;
    EMBER_CHECK(s.rank_known() && s.rank() >= 1, InvalidArgument, "[", c.op.api_name,
                "] Trying to concat list with only uninitialized tensors but element_shape_except_first_dim is not "
                "fully defined: ", s.to_string());
    s.set_dim(0, leading[i]);
    EMBER_CHECK(s.is_fully_defined(), InvalidArgument, "[", c.op.api_name,
                "] Trying to concat list with uninitialized tensors but element_shape_except_first_dim is not fully "
                "defined: ", s.to_string());
    parts.push_back(zeros(s, read_dtype(c), c.device));
    lengths.push_back(leading[i]);
  }
  if (parts.empty()) {
    TensorShape s = inner;
    EMBER_CHECK(s.rank_known() && s.rank() >= 1, InvalidArgument, "[", c.op.api_name,
                "] Concat of an empty list needs a known element shape, got ", s.to_string());
    s.set_dim(0, 0);
    EMBER_CHECK(s.is_fully_defined(), InvalidArgument, "[", c.op.api_name,
                "] Concat of an empty list needs a known element shape, got ", s.to_string());
    c.outputs[0] = zeros(s, read_dtype(c), c.device);
  } else {
    c.outputs[0] = parts.size() == 1 ? identity(parts[0]) : concat(parts, 0);
  }
  c.outputs[1] = constant(lengths, c.device);
}

void length_kernel(KernelContext& c) {
  c.outputs[0] = constant(static_cast<int32_t>(input_list(c, 0).elements.size()), c.device);
}

void element_shape_kernel(KernelContext& c) {
  const TensorShape& s = input_list(c, 0).element_shape;
  const DType t = c.attrs.get<DType>("shape_type");
  if (!s.rank_known()) {
    c.outputs[0] = cast(constant(int64_t{-1}, c.device), t);
    return;
  }
  std::vector<int64_t> dims;
  for (int i = 0; i < s.rank(); ++i) dims.push_back(s.dim(i) < 0 ? -1 : s.dim(i));
  c.outputs[0] = cast(constant(dims, TensorShape{s.rank()}, c.device), t);
}

void resize_kernel(KernelContext& c) {
  int64_t n = host_int(c.inputs[1]);
  EMBER_CHECK(n >= 0, InvalidArgument, "[", c.op.api_name, "] size must be non-negative, got ", n);
  List l = copy_of(input_list(c, 0));
  resize_elements(c, *l, static_cast<uint64_t>(n));
  set_list(c, 0, std::move(l));
}

void push_back_kernel(KernelContext& c) {
  const TensorList& in = input_list(c, 0);
  List l = copy_of(in);
  check_item(c, in, c.inputs[1], *l);
  l->elements.push_back(c.inputs[1]);
  set_list(c, 0, std::move(l));
}

void pop_back_kernel(KernelContext& c) {
  const TensorList& in = input_list(c, 0);
  EMBER_CHECK(!in.elements.empty(), InvalidArgument, "[", c.op.api_name, "] Trying to pop from an empty list.");
  c.outputs[1] = fresh(element(c, in, in.elements.size() - 1,
                               in.elements.back().defined() ? in.elements.back().shape() : element_shape(c, in)));
  List l = copy_of(in);
  l->elements.pop_back();
  set_list(c, 0, std::move(l));
}

void add_n_kernel(KernelContext& c) {
  if (c.inputs[0].dtype() != variant) {
    Tensor sum = c.inputs[0];
    for (size_t i = 1; i < c.inputs.size(); ++i) sum = add(sum, c.inputs[i]);
    c.outputs[0] = c.inputs.size() == 1 ? identity(sum) : sum;
    return;
  }
  List out = copy_of(input_list(c, 0));
  for (size_t i = 1; i < c.inputs.size(); ++i) {
    const TensorList& b = input_list(c, i);
    EMBER_CHECK(b.elements.size() == out->elements.size(), InvalidArgument, "[", c.op.api_name,
                "] Trying to add two lists of tensors with different lengths. One is ", out->elements.size(),
                " and the other is ", b.elements.size());
    if (!any_set(b)) continue;
    if (!any_set(*out)) out->element_dtype = b.element_dtype;
    EMBER_CHECK(b.element_dtype == out->element_dtype, InvalidArgument, "[", c.op.api_name,
                "] Trying to add two lists of tensors of different dtypes. One is ", dtype_name(out->element_dtype),
                " and the other is ", dtype_name(b.element_dtype));
    out->element_shape = merge(out->element_shape, b.element_shape, c);
    for (size_t k = 0; k < b.elements.size(); ++k) {
      Tensor& e = out->elements[k];
      const Tensor& f = b.elements[k];
      if (!f.defined()) continue;
      e = e.defined() ? add(e, f) : f;
    }
  }
  set_list(c, 0, std::move(out));
}

EMBER_REGISTER_EVERYWHERE(op_name::TensorListReserve, reserve_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListFromTensor, from_tensor_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListSetItem, set_item_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListGetItem, get_item_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListStack, stack_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListGather, gather_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListScatterIntoExistingList, scatter_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListSplit, split_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListConcatV2, concat_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListLength, length_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListElementShape, element_shape_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListResize, resize_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListPushBack, push_back_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::TensorListPopBack, pop_back_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::AddN, add_n_kernel);

}  // namespace
}  // namespace ember::kernels
