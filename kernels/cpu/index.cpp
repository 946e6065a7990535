// CPU kernels of the index-driven ops: gather, gather_nd, scatter_nd,
// tensor_scatter_add, the unsorted segment reductions, one_hot, range and mirror pad.
// Every index is checked before any data moves; an index out of range is an
// InvalidArgument naming the op, the position and the value.
#include <algorithm>
#include <cstring>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/shape_util.h"
#include "kernels/copy.h"
#include "kernels/cpu/parallel.h"
#include "kernels/functors.h"
#include "kernels/segment.h"

namespace ember::cpu {
namespace {

using Ints = std::vector<int64_t>;

const char* api(const KernelContext& c) { return c.op.api_name.c_str(); }
size_t elem(const Tensor& t) { return dtype_size(t.dtype()); }

// memcpy that accepts empty ranges (whose pointers may be null).
void copy_n(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
Dims strides_of(const Tensor& t) { return contiguous_strides(t.shape()); }

// Mirror padding: each output index maps to an input index per dimension.
void mirror_pad_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor& y = c.outputs[0];
  const Ints& p = c.attrs.get<Ints>("paddings");
  bool reflect = c.attrs.get<std::string>("mode") == "REFLECT";
  int r = x.rank();
  std::vector<Ints> maps(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i) {
    int64_t d = x.dim(i), before = p[2 * static_cast<size_t>(i)];
    for (int64_t o = 0; o < y.dim(i); ++o) {
      int64_t k = o - before;
      if (k < 0) k = reflect ? -k : -k - 1;
      if (k >= d) k = reflect ? 2 * d - 2 - k : 2 * d - 1 - k;
      maps[static_cast<size_t>(i)].push_back(k);
    }
  }
  Dims xs = strides_of(x);
  size_t e = elem(x);
  int64_t n = y.num_elements();
  auto* dst = static_cast<char*>(y.raw_data());
  const auto* src = static_cast<const char*>(x.raw_data());
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (int d = r - 1; d >= 0; --d) {
      int64_t idx = rem % y.dim(d);
      rem /= y.dim(d);
      off += maps[static_cast<size_t>(d)][static_cast<size_t>(idx)] * xs[static_cast<size_t>(d)];
    }
    copy_n(dst + static_cast<size_t>(i) * e, src + static_cast<size_t>(off) * e, e);
  }
}

// ---- gather / scatter ----------------------------------------------------------------

int64_t index_at(const Tensor& idx, int64_t i) {
  return idx.dtype() == int32 ? static_cast<const int32_t*>(idx.raw_data())[i]
                              : static_cast<const int64_t*>(idx.raw_data())[i];
}

[[noreturn]] void bad_index(const KernelContext& c, int64_t pos, int64_t value, int64_t limit) {
  throw InvalidArgument(detail::str_cat("[", api(c), "] indices[", pos, "] = ", value,
                                        " is not in [0, ", limit, ")"));
}

void gather_kernel(KernelContext& c) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  Tensor& y = c.outputs[0];
  int64_t bd = c.attrs.get<int64_t>("batch_dims");
  if (bd < 0) bd += idx.rank();
  int64_t axis = c.attrs.get<int64_t>("axis");
  if (axis < 0) axis += params.rank();
  int64_t batch = 1, outer = 1, inner = 1, n_idx = 1;
  for (int64_t i = 0; i < bd; ++i) batch *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < axis; ++i) outer *= params.dim(static_cast<int>(i));
  for (int64_t i = axis + 1; i < params.rank(); ++i) inner *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < idx.rank(); ++i) n_idx *= idx.dim(static_cast<int>(i));
  int64_t limit = params.dim(static_cast<int>(axis));
  // Check every index before moving any data.
  for (int64_t i = 0; i < idx.num_elements(); ++i) {
    int64_t v = index_at(idx, i);
    if (v < 0 || v >= limit) bad_index(c, i, v, limit);
  }
  size_t e = elem(params), row = static_cast<size_t>(inner) * e;
  const auto* src = static_cast<const char*>(params.raw_data());
  auto* dst = static_cast<char*>(y.raw_data());
  int64_t total = batch * outer * n_idx;
  parallel_for(total, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t end) {
                 for (int64_t t = b; t < end; ++t) {
                   int64_t j = t % n_idx, o = (t / n_idx) % outer, bb = t / (n_idx * outer);
                   int64_t v = index_at(idx, bb * n_idx + j);
                   copy_n(dst + static_cast<size_t>(t) * row,
                          src + static_cast<size_t>(((bb * outer + o) * limit + v) * inner) * e,
                          row);
                 }
               });
}

// Offsets (in elements of the sliced-off tail) of each index row of a
// gather_nd/scatter_nd, checked against `shape`.
std::vector<int64_t> nd_offsets(const KernelContext& c, const Tensor& idx, const TensorShape& shape,
                                int64_t batch_dims, int64_t& batch, int64_t& inner) {
  int64_t depth = idx.dim(idx.rank() - 1);
  int64_t rows = 1;
  for (int i = 0; i + 1 < idx.rank(); ++i) rows *= idx.dim(i);
  batch = 1;
  for (int64_t i = 0; i < batch_dims; ++i) batch *= shape.dim(static_cast<int>(i));
  inner = 1;
  for (int64_t i = batch_dims + depth; i < shape.rank(); ++i)
    inner *= shape.dim(static_cast<int>(i));
  int64_t rows_per_batch = batch ? rows / batch : 0;
  int64_t block = 1;  // elements per batch entry of `shape`
  for (int64_t i = batch_dims; i < shape.rank(); ++i) block *= shape.dim(static_cast<int>(i));
  std::vector<int64_t> offs(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off = 0;
    for (int64_t d = 0; d < depth; ++d) {
      int64_t lim = shape.dim(static_cast<int>(batch_dims + d));
      int64_t v = index_at(idx, r * depth + d);
      if (v < 0 || v >= lim) bad_index(c, r * depth + d, v, lim);
      off = off * lim + v;
    }
    int64_t b = rows_per_batch ? r / rows_per_batch : 0;
    offs[static_cast<size_t>(r)] = b * block + off * inner;
  }
  return offs;
}

void gather_nd_kernel(KernelContext& c) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  Tensor& y = c.outputs[0];
  int64_t batch, inner;
  auto offs = nd_offsets(c, idx, params.shape(), c.attrs.get<int64_t>("batch_dims"), batch, inner);
  size_t e = elem(params), row = static_cast<size_t>(inner) * e;
  const auto* src = static_cast<const char*>(params.raw_data());
  auto* dst = static_cast<char*>(y.raw_data());
  for (size_t r = 0; r < offs.size(); ++r)
    copy_n(dst + r * row, src + static_cast<size_t>(offs[r]) * e, row);
}

template <typename T>
void scatter_add_rows(T* out, const T* upd, const std::vector<int64_t>& offs, int64_t inner) {
  for (size_t r = 0; r < offs.size(); ++r)
    for (int64_t k = 0; k < inner; ++k)
      out[offs[r] + k] = fn::wrap_add(out[offs[r] + k], upd[static_cast<int64_t>(r) * inner + k]);
}

void scatter_nd_kernel(KernelContext& c) {
  const Tensor &idx = c.inputs[0], &upd = c.inputs[1];
  Tensor& y = c.outputs[0];
  int64_t batch, inner;
  auto offs = nd_offsets(c, idx, y.shape(), 0, batch, inner);
  kernels::fill(y, 0);
  EMBER_SWITCH_ARITH(y.dtype(), unsupported_dtype(c, y.dtype()),
                     scatter_add_rows(static_cast<scalar_t*>(y.raw_data()),
                                      static_cast<const scalar_t*>(upd.raw_data()), offs, inner));
}

void tensor_scatter_add_kernel(KernelContext& c) {
  const Tensor &t = c.inputs[0], &idx = c.inputs[1], &upd = c.inputs[2];
  Tensor& y = c.outputs[0];
  int64_t batch, inner;
  auto offs = nd_offsets(c, idx, y.shape(), 0, batch, inner);
  copy_n(y.raw_data(), t.raw_data(), t.nbytes());
  EMBER_SWITCH_ARITH(y.dtype(), unsupported_dtype(c, y.dtype()),
                     scatter_add_rows(static_cast<scalar_t*>(y.raw_data()),
                                      static_cast<const scalar_t*>(upd.raw_data()), offs, inner));
}

template <typename T>
void one_hot_typed(KernelContext& c) {
  const Tensor& idx = c.inputs[0];
  Tensor& y = c.outputs[0];
  int64_t depth = c.attrs.get<int64_t>("depth"), axis = c.attrs.get<int64_t>("axis");
  if (axis == -1) axis = idx.rank();
  T on = static_cast<T>(c.attrs.get<double>("on_value")),
    off = static_cast<T>(c.attrs.get<double>("off_value"));
  // An empty output ends here: with no index (inner 0) the loops below would
  // still count through outer x depth, which a hostile depth makes endless
  // where the compiler keeps empty loops (the fuzz test, under ASan at -O1).
  if (y.num_elements() == 0) return;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= idx.dim(i);
  for (int i = static_cast<int>(axis); i < idx.rank(); ++i) inner *= idx.dim(i);
  T* p = static_cast<T*>(y.raw_data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < depth; ++d)
      for (int64_t k = 0; k < inner; ++k)
        p[(o * depth + d) * inner + k] = index_at(idx, o * inner + k) == d ? on : off;
}
void one_hot_kernel(KernelContext& c) {
  EMBER_SWITCH_ALL(c.outputs[0].dtype(), unsupported_dtype(c, c.outputs[0].dtype()),
                   one_hot_typed<scalar_t>(c));
}

template <typename T>
void range_typed(KernelContext& c) {
  double start = c.attrs.get<double>("start"), delta = c.attrs.get<double>("delta");
  T* p = static_cast<T*>(c.outputs[0].raw_data());
  for (int64_t i = 0; i < c.outputs[0].num_elements(); ++i)
    p[i] = fn::range_element<T>(start, delta, i);
}
void range_kernel(KernelContext& c) {
  EMBER_SWITCH_ARITH(c.outputs[0].dtype(), unsupported_dtype(c, c.outputs[0].dtype()),
                     range_typed<scalar_t>(c));
}

// The adjoint of mirror_pad: every output gradient is added to the input
// position it was copied from.
template <typename T>
void mirror_pad_grad_typed(KernelContext& c) {
  const Tensor& dy = c.inputs[0];
  Tensor& dx = c.outputs[0];
  kernels::fill(dx, 0);
  const Ints& p = c.attrs.get<Ints>("paddings");
  bool reflect = c.attrs.get<std::string>("mode") == "REFLECT";
  int r = dy.rank();
  Dims xs = strides_of(dx);
  const T* g = static_cast<const T*>(dy.raw_data());
  T* out = static_cast<T*>(dx.raw_data());
  for (int64_t i = 0; i < dy.num_elements(); ++i) {
    int64_t rem = i, off = 0;
    for (int d = r - 1; d >= 0; --d) {
      int64_t o = rem % dy.dim(d);
      rem /= dy.dim(d);
      int64_t n = dx.dim(d), k = o - p[2 * static_cast<size_t>(d)];
      if (k < 0) k = reflect ? -k : -k - 1;
      if (k >= n) k = reflect ? 2 * n - 2 - k : 2 * n - 1 - k;
      off += k * xs[static_cast<size_t>(d)];
    }
    out[off] = fn::wrap_add(out[off], g[i]);
  }
}
void mirror_pad_grad_kernel(KernelContext& c) {
  EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                     mirror_pad_grad_typed<scalar_t>(c));
}

// UnsortedSegmentSum, Max, Min and Prod: each row of data folded into its
// segment's row of y, in row order (TensorFlow's CPU kernels' order, which
// decides which NaN a max or min keeps). A negative id drops its row, as
// TensorFlow's; one at or past num_segments is an error.
template <typename T, typename F>
void segment_fold_typed(KernelContext& c) {
  const Tensor &data = c.inputs[0], &ids = c.inputs[1];
  Tensor& y = c.outputs[0];
  const int64_t n = c.attrs.get<int64_t>("num_segments");
  const int64_t rows = ids.num_elements();
  const int64_t inner = rows ? data.num_elements() / rows : 0;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t s = index_at(ids, i);
    if (s >= n)
      throw InvalidArgument(detail::str_cat("[", api(c), "] segment_ids[", i, "] = ", s, " is not in [0, ", n, ")"));
  }
  T* out = static_cast<T*>(y.raw_data());
  std::fill(out, out + y.num_elements(), segment::identity<T, F>(data.dtype()));
  const T* d = static_cast<const T*>(data.raw_data());
  const auto fold = fn::computed_as<T>(F{});
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t s = index_at(ids, i);
    if (s < 0) continue;
    T* row = out + s * inner;
    for (int64_t k = 0; k < inner; ++k) row[k] = fold(row[k], d[i * inner + k]);
  }
}
template <typename F>
void segment_fold(KernelContext& c) {
  EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                     (segment_fold_typed<scalar_t, F>(c)));
}

// clang-format off
EMBER_REGISTER_KERNEL(op_name::MirrorPadGrad, CPU, mirror_pad_grad_kernel);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentSum, CPU, segment_fold<segment::Sum>);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentMax, CPU, segment_fold<segment::Max>);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentMin, CPU, segment_fold<segment::Min>);
EMBER_REGISTER_KERNEL(op_name::UnsortedSegmentProd, CPU, segment_fold<segment::Prod>);
EMBER_REGISTER_KERNEL(op_name::MirrorPad, CPU, mirror_pad_kernel);
EMBER_REGISTER_KERNEL(op_name::GatherV2, CPU, gather_kernel);
EMBER_REGISTER_KERNEL(op_name::GatherNd, CPU, gather_nd_kernel);
EMBER_REGISTER_KERNEL(op_name::ScatterNd, CPU, scatter_nd_kernel);
EMBER_REGISTER_KERNEL(op_name::TensorScatterAdd, CPU, tensor_scatter_add_kernel);
EMBER_REGISTER_KERNEL(op_name::OneHot, CPU, one_hot_kernel);
EMBER_REGISTER_KERNEL(op_name::Range, CPU, range_kernel);
// clang-format on

}  // namespace
}  // namespace ember::cpu
