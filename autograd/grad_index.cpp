// Gradients of the index-driven ops (core/ops/index.cpp): gathers and scatters
// are each other's adjoints.
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::MirrorPad, kGradUsesNothing) { return {execute1(EMBER_OP(op_name::MirrorPadGrad), {G}, c.attrs)}; } END_GRAD;
GRAD(op_name::MirrorPadGrad, kGradUsesNothing) { return {execute1(EMBER_OP(op_name::MirrorPad), {G}, c.attrs)}; } END_GRAD;

// gather's adjoint sums each gradient row into the params row it came from.
GRAD(op_name::GatherV2, kGradUsesInputs) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  int64_t axis = c.attrs.get<int64_t>("axis"), bd = c.attrs.get<int64_t>("batch_dims");
  if (axis < 0) axis += params.rank();
  if (bd < 0) bd += idx.rank();
  int64_t batch = 1, outer = 1, inner = 1, n_idx = 1, limit = params.dim(static_cast<int>(axis));
  for (int64_t i = 0; i < bd; ++i) batch *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < axis; ++i) outer *= params.dim(static_cast<int>(i));
  for (int64_t i = axis + 1; i < params.rank(); ++i) inner *= params.dim(static_cast<int>(i));
  for (int64_t i = bd; i < idx.rank(); ++i) n_idx *= idx.dim(static_cast<int>(i));
  // g: [batch, outer, n, inner] -> [batch, n, outer, inner] -> rows of [outer, inner]
  Tensor rows = reshape(transpose(reshape(G, {batch, outer, n_idx, inner}), {0, 2, 1, 3}), {batch * n_idx, outer, inner});
  Tensor ids = cast(reshape(idx, {batch, n_idx}), int64);
  if (batch > 1) ids = ids + reshape(range(0, static_cast<double>(batch * limit), static_cast<double>(limit)), {batch, 1});
  Tensor summed = unsorted_segment_sum(rows, reshape(ids, {-1}), batch * limit);
  Tensor back = transpose(reshape(summed, {batch, limit, outer, inner}), {0, 2, 1, 3});
  return {reshape(back, params.shape()), kNone};
} END_GRAD;
GRAD(op_name::GatherNd, kGradUsesInputs) {
  const Tensor &params = c.inputs[0], &idx = c.inputs[1];
  int64_t bd = c.attrs.get<int64_t>("batch_dims");
  if (bd == 0) return {scatter_nd(idx, G, params.shape()), kNone};
  // Batched: prepend each row's batch coordinate to its index, then scatter
  // into the params flattened to one batch dimension.
  int64_t batch = 1;
  for (int64_t i = 0; i < bd; ++i) batch *= params.dim(static_cast<int>(i));
  Dims idx_shape{batch}, ones_shape{batch};
  for (int i = static_cast<int>(bd); i < idx.rank(); ++i) idx_shape.push_back(idx.dim(i));
  for (int i = static_cast<int>(bd); i + 1 < idx.rank(); ++i) ones_shape.push_back(1);
  ones_shape.push_back(1);
  Tensor flat_idx = reshape(idx, TensorShape(idx_shape));
  Dims bshape = idx_shape;
  bshape.back() = 1;
  Tensor bcoord = broadcast_to(cast(reshape(range(batch), TensorShape(ones_shape)), idx.dtype()), TensorShape(bshape));
  Tensor full = concat({bcoord, flat_idx}, -1);
  Dims pshape{batch};
  for (int i = static_cast<int>(bd); i < params.rank(); ++i) pshape.push_back(params.dim(i));
  Dims gshape{batch};
  for (int i = static_cast<int>(bd); i < G.rank(); ++i) gshape.push_back(G.dim(i));
  Tensor s = scatter_nd(full, reshape(G, TensorShape(gshape)), TensorShape(pshape));
  return {reshape(s, params.shape()), kNone};
} END_GRAD;
GRAD(op_name::ScatterNd, kGradUsesInputs) { return {kNone, gather_nd(G, c.inputs[0])}; } END_GRAD;
GRAD(op_name::TensorScatterAdd, kGradUsesInputs) { return {G, kNone, gather_nd(G, c.inputs[1])}; } END_GRAD;
GRAD(op_name::UnsortedSegmentSum, kGradUsesInputs) { return {gather(G, c.inputs[1]), kNone}; } END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd
