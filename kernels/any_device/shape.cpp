// Kernels of the shape ops that only move data, written once over the
// strided-copy and fill primitives of kernels/copy.h and registered for every
// device kind. Views (reshape, expand_dims, squeeze, identity) share the
// input's buffer.
#include <algorithm>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/shape_util.h"
#include "core/tensor_list.h"
#include "kernels/copy.h"

namespace ember::kernels {
namespace {

using Ints = std::vector<int64_t>;

size_t elem(const Tensor& t) { return dtype_size(t.dtype()); }
Dims strides_of(const Tensor& t) { return contiguous_strides(t.shape()); }

void view_kernel(KernelContext& c) {
  auto impl = TensorImpl::view_of(*c.inputs[0].impl());
  impl->shape = c.specs[0].shape;
  c.outputs[0] = Tensor(std::move(impl));
}

// Identity and StopGradient alias their input's buffer, as in TensorFlow,
// but are new tensors (tapes tell tensors apart by id).
void alias_kernel(KernelContext& c) {
  c.outputs[0] = Tensor(TensorImpl::view_of(*c.inputs[0].impl()));
}

// EnsureShape: the input (a new tensor on its buffer) once its shape is
// checked against the one the trace was promised.
void ensure_shape_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  const TensorShape& want = c.attrs.get<TensorShape>("shape");
  EMBER_CHECK(!want.rank_known() || x.shape().is_compatible_with(want), InvalidArgument, "[ensure_shape] Shape of tensor ",
              x.shape().to_debug_string(), " is not compatible with expected shape ", want.to_debug_string(), ".");
  c.outputs[0] = Tensor(TensorImpl::view_of(*x.impl()));
}

// Snapshot: a copy into the output's own buffer.
void snapshot_kernel(KernelContext& c) {
  copy_bytes(c.outputs[0].raw_data(), c.device, c.inputs[0].raw_data(), c.device,
             c.inputs[0].nbytes());
}

void fill_kernel(KernelContext& c) { fill(c.outputs[0], c.attrs.get<double>("value")); }

// Shape, Rank, Size: the input's shape, known now, written into the output
// (on the kernel's device) in the output's integer type.
void write_ints(KernelContext& c, size_t output, const std::vector<int64_t>& v) {
  Tensor& y = c.outputs[output];
  if (y.dtype() == int64) {
    copy_bytes(y.raw_data(), c.device, v.data(), Device::cpu(), v.size() * sizeof(int64_t));
    return;
  }
  std::vector<int32_t> narrow;
  for (int64_t x : v) {
    EMBER_CHECK(x <= INT32_MAX, InvalidArgument, "[", c.op.api_name, "] ", x, " does not fit out_type int32");
    narrow.push_back(static_cast<int32_t>(x));
  }
  copy_bytes(y.raw_data(), c.device, narrow.data(), Device::cpu(), narrow.size() * sizeof(int32_t));
}
void write_ints(KernelContext& c, const std::vector<int64_t>& v) { write_ints(c, 0, v); }
void shape_kernel(KernelContext& c) { write_ints(c, c.inputs[0].shape().as_vector()); }
void rank_kernel(KernelContext& c) { write_ints(c, {c.inputs[0].rank()}); }
void size_kernel(KernelContext& c) { write_ints(c, {c.inputs[0].shape().num_elements()}); }

// An int32 or int64 vector's values, read to the host.
std::vector<int64_t> host_ints(const KernelContext& c, const Tensor& t) {
  const auto n = static_cast<size_t>(t.num_elements());
  std::vector<int64_t> v(n);
  if (t.dtype() == int64) {
    copy_bytes(v.data(), Device::cpu(), t.raw_data(), c.device, n * sizeof(int64_t));
  } else {
    std::vector<int32_t> narrow(n);
    copy_bytes(narrow.data(), Device::cpu(), t.raw_data(), c.device, n * sizeof(int32_t));
    std::copy(narrow.begin(), narrow.end(), v.begin());
  }
  return v;
}

// BroadcastGradientArgs: the axes of the two shapes' broadcast that each
// one's gradient is summed over (shapes a trace did not know).
void broadcast_gradient_args_kernel(KernelContext& c) {
  auto [r0, r1] = broadcast_gradient_axes(host_ints(c, c.inputs[0]), host_ints(c, c.inputs[1]));
  const std::vector<int64_t>* axes[] = {&r0, &r1};
  for (size_t i = 0; i < 2; ++i) {
    c.outputs[i] = Tensor::empty(TensorShape{static_cast<int64_t>(axes[i]->size())}, c.inputs[0].dtype(), c.device);
    write_ints(c, i, *axes[i]);
  }
}

// Where: the input read to the host, the coordinates of its non-zero
// elements written back (their count known only now).
template <typename T>
int64_t true_coordinates(const KernelContext& c, std::vector<int64_t>& out) {
  using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
  const Tensor& x = c.inputs[0];
  const auto n = static_cast<size_t>(x.num_elements());
  std::vector<Stored> v(n);
  if (n) copy_bytes(v.data(), Device::cpu(), x.raw_data(), c.device, n * sizeof(Stored));
  const int rank = x.rank();
  std::vector<int64_t> at(static_cast<size_t>(rank), 0);
  int64_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    bool nonzero;  // (NaN is true, -0 false)
    if constexpr (std::is_arithmetic_v<Stored>) nonzero = v[i] != Stored(0);
    else nonzero = static_cast<float>(v[i]) != 0.0f;  // (the 16-bit floats)
    if (nonzero) {
      out.insert(out.end(), at.begin(), at.end());
      ++count;
    }
    for (int d = rank - 1; d >= 0; --d) {  // the next coordinate
      if (++at[static_cast<size_t>(d)] < x.dim(d)) break;
      at[static_cast<size_t>(d)] = 0;
    }
  }
  return count;
}
void where_kernel(KernelContext& c) {
  std::vector<int64_t> coords;
  int64_t count = 0;
  EMBER_SWITCH_ALL(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                   count = true_coordinates<scalar_t>(c, coords));
  c.outputs[0] = Tensor::empty(TensorShape{count, c.inputs[0].rank()}, int64, c.device);
  if (!coords.empty()) write_ints(c, coords);
}

// Unique: the vector read to the host, each value looked up among those
// seen (floats as double keys with -0 as 0, as TensorFlow's hash equality;
// a NaN never matches, so each is its own), y and idx written back.
template <typename T>
void unique_typed(KernelContext& c) {
  using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
  const Tensor& x = c.inputs[0];
  const auto n = static_cast<size_t>(x.num_elements());
  std::vector<Stored> v(n);
  if (n) copy_bytes(v.data(), Device::cpu(), x.raw_data(), c.device, n * sizeof(Stored));
  using Key = std::conditional_t<std::is_integral_v<Stored>, int64_t, double>;
  std::unordered_map<Key, int64_t> seen;
  std::vector<Stored> y;
  std::vector<int64_t> idx(n);
  for (size_t i = 0; i < n; ++i) {
    Key key;
    if constexpr (std::is_integral_v<Stored>) {
      key = static_cast<Key>(v[i]);
    } else {
      if constexpr (std::is_same_v<Stored, double>) key = v[i];
      else key = static_cast<double>(static_cast<float>(v[i]));  // (the 16-bit floats through float32, exactly)
      if (key != key) {  // NaN: a value of its own
        idx[i] = static_cast<int64_t>(y.size());
        y.push_back(v[i]);
        continue;
      }
      if (key == 0) key = 0;  // (-0 is 0)
    }
    auto [at, fresh] = seen.emplace(key, static_cast<int64_t>(y.size()));
    if (fresh) y.push_back(v[i]);
    idx[i] = at->second;
  }
  c.outputs[0] = Tensor::empty(TensorShape{static_cast<int64_t>(y.size())}, x.dtype(), c.device);
  if (!y.empty()) copy_bytes(c.outputs[0].raw_data(), c.device, y.data(), Device::cpu(), y.size() * sizeof(Stored));
  c.outputs[1] = Tensor::empty(TensorShape{static_cast<int64_t>(n)}, c.attrs.get<DType>("out_idx"), c.device);
  if (n) write_ints(c, 1, idx);
}
void unique_kernel(KernelContext& c) {
  EMBER_SWITCH_ALL(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), unique_typed<scalar_t>(c));
}

// ZerosLike of a TensorList (TensorFlow's TensorListZerosLike, which its
// loop gradients make accumulators with): the list with each set element
// zeros of its shape, the unset ones left unset.
void zeros_like_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  if (x.dtype() != variant) {
    c.outputs[0] = zeros(x.shape(), x.dtype(), c.device);
    return;
  }
  auto zeroed = std::make_shared<TensorList>(list_of(x, c.op.api_name.c_str()));
  for (Tensor& e : zeroed->elements)
    if (e.defined()) e = zeros(e.shape(), e.dtype(), e.device());
  c.outputs[0] = make_list_tensor(std::move(zeroed), c.device);
}
void ones_like_kernel(KernelContext& c) { fill(c.outputs[0], 1); }

void transpose_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  Dims xs = strides_of(x), src;
  for (int64_t p : c.attrs.get<Ints>("perm")) src.push_back(xs[static_cast<size_t>(p)]);
  strided_copy(c.device, y.raw_data(), {0, strides_of(y)}, x.raw_data(), {0, src}, y.shape().dims(),
               elem(x));
}

void slice_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  const Ints& begin = c.attrs.get<Ints>("begin");
  Dims xs = strides_of(x);
  int64_t off = 0;
  for (size_t i = 0; i < begin.size(); ++i) off += begin[i] * xs[i];
  strided_copy(c.device, y.raw_data(), {0, strides_of(y)}, x.raw_data(), {off, xs},
               y.shape().dims(), elem(x));
}

// The region a strided slice selects, as a strided view into a dense buffer
// of shape `full` (the input of StridedSlice, the output of its gradient).
StridedView strided_slice_view(const KernelContext& c, const TensorShape& full, Dims& dims) {
  std::vector<OutputSpec> unused;
  InferContext ic{c.op, c.inputs, c.attrs, unused};
  StridedSliceSpec spec = canonical_strided_slice(ic, full);
  Dims fs = contiguous_strides(full);
  StridedView view;
  dims.assign(spec.extent.begin(), spec.extent.end());
  for (size_t i = 0; i < spec.begin.size(); ++i) {
    view.offset += spec.begin[i] * fs[i];
    // A dimension of at most one element never steps: its stride may be any
    // non-zero number (INT64_MIN from the fuzz test), whose product with the
    // dimension's own stride would overflow. A longer one steps within the
    // dimension, so |stride| < its size and the product fits.
    view.strides.push_back(spec.extent[i] <= 1 ? 0 : spec.stride[i] * fs[i]);
  }
  return view;
}

void strided_slice_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  Dims dims;
  StridedView src = strided_slice_view(c, x.shape(), dims);
  strided_copy(c.device, y.raw_data(), {0, contiguous_strides(TensorShape(dims))}, x.raw_data(),
               src, dims, elem(x));
}

void strided_slice_grad_kernel(KernelContext& c) {
  const Tensor& dy = c.inputs[0];
  Tensor& dx = c.outputs[0];
  fill(dx, 0);
  Dims dims;
  StridedView dst = strided_slice_view(c, dx.shape(), dims);
  copy_into(c.device, dx.raw_data(), dst, dy.raw_data(), dims, elem(dy));
}

// Concat, Pack, Unpack and SplitV move [outer, row] blocks, where `outer` is
// the product of the dimensions before the axis: each piece is a strided
// copy of its rows into (or out of) a column range of the whole.
int64_t outer_size(const TensorShape& s, int64_t axis) {
  int64_t o = 1;
  for (int i = 0; i < axis; ++i) o *= s.dim(i);
  return o;
}

void join(const KernelContext& c, std::span<const Tensor> pieces, Tensor& whole, int64_t outer) {
  if (whole.num_elements() == 0) return;
  int64_t whole_row = whole.num_elements() / outer, col = 0;
  for (const Tensor& t : pieces) {
    int64_t row = t.num_elements() / outer;
    copy_into(c.device, whole.raw_data(), {col, {whole_row, 1}}, t.raw_data(), {outer, row},
              elem(whole));
    col += row;
  }
}

void divide(const KernelContext& c, const Tensor& whole, std::span<Tensor> pieces, int64_t outer) {
  if (whole.num_elements() == 0) return;
  int64_t whole_row = whole.num_elements() / outer, col = 0;
  for (Tensor& t : pieces) {
    int64_t row = t.num_elements() / outer;
    strided_copy(c.device, t.raw_data(), {0, {row, 1}}, whole.raw_data(), {col, {whole_row, 1}},
                 {outer, row}, elem(whole));
    col += row;
  }
}

int64_t attr_axis(const KernelContext& c, int64_t rank) {
  int64_t a = c.attrs.get<int64_t>("axis");
  return a < 0 ? a + rank : a;
}

void join_kernel(KernelContext& c) {  // ConcatV2, Pack
  Tensor& y = c.outputs[0];
  join(c, c.inputs, y, outer_size(y.shape(), attr_axis(c, y.rank())));
}
void divide_kernel(KernelContext& c) {  // Unpack, SplitV
  const Tensor& x = c.inputs[0];
  divide(c, x, c.outputs, outer_size(x.shape(), attr_axis(c, x.rank())));
}

void tile_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  const Ints& m = c.attrs.get<Ints>("multiples");
  // y viewed as [m0, d0, m1, d1, ...], read from x with stride 0 along each m.
  Dims dims, src, xs = strides_of(x);
  for (int i = 0; i < x.rank(); ++i) {
    dims.push_back(m[static_cast<size_t>(i)]);
    src.push_back(0);
    dims.push_back(x.dim(i));
    src.push_back(xs[static_cast<size_t>(i)]);
  }
  strided_copy(c.device, y.raw_data(), {0, contiguous_strides(TensorShape(dims))}, x.raw_data(),
               {0, src}, dims, elem(x));
}

void pad_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  fill(y, c.attrs.get<double>("constant_values"));
  const Ints& p = c.attrs.get<Ints>("paddings");
  Dims ys = strides_of(y);
  int64_t off = 0;
  for (int i = 0; i < x.rank(); ++i)
    off += p[2 * static_cast<size_t>(i)] * ys[static_cast<size_t>(i)];
  copy_into(c.device, y.raw_data(), {off, ys}, x.raw_data(), x.shape().dims(), elem(x));
}

void broadcast_to_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  Dims xs = strides_of(x), src(static_cast<size_t>(y.rank()), 0);
  for (int i = 0; i < x.rank(); ++i)
    src[static_cast<size_t>(i + y.rank() - x.rank())] =
        x.dim(i) == 1 ? 0 : xs[static_cast<size_t>(i)];
  strided_copy(c.device, y.raw_data(), {0, strides_of(y)}, x.raw_data(), {0, src}, y.shape().dims(),
               elem(x));
}

EMBER_REGISTER_EVERYWHERE(op_name::Reshape, view_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::ExpandDims, view_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Squeeze, view_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Identity, alias_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StopGradient, alias_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Fill, fill_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Shape, shape_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Rank, rank_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::BroadcastGradientArgs, broadcast_gradient_args_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Where, where_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Unique, unique_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Size, size_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::ZerosLike, zeros_like_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::OnesLike, ones_like_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Snapshot, snapshot_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::EnsureShape, ensure_shape_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Transpose, transpose_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Slice, slice_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StridedSlice, strided_slice_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::StridedSliceGrad, strided_slice_grad_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::ConcatV2, join_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Pack, join_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Unpack, divide_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::SplitV, divide_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::Tile, tile_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::PadV2, pad_kernel);
EMBER_REGISTER_EVERYWHERE(op_name::BroadcastTo, broadcast_to_kernel);

}  // namespace
}  // namespace ember::kernels
