// Gradients of the shape ops (core/ops/shape.cpp): each moves the gradient
// back where the data came from.
#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
GRAD(op_name::Reshape, kGradUsesNothing) { return {reshape(G, X.shape())}; } END_GRAD;
GRAD(op_name::ExpandDims, kGradUsesNothing) { return {reshape(G, X.shape())}; } END_GRAD;
GRAD(op_name::Squeeze, kGradUsesNothing) { return {reshape(G, X.shape())}; } END_GRAD;
GRAD(op_name::BroadcastTo, kGradUsesNothing) { return {unbroadcast(G, X.shape())}; } END_GRAD;
GRAD(op_name::Transpose, kGradUsesNothing) {
  const Ints& perm = c.attrs.get<Ints>("perm");
  Ints inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return {transpose(G, inverse)};
} END_GRAD;
GRAD(op_name::Slice, kGradUsesNothing) {                                                       // pad back to x's shape
  const Ints& begin = c.attrs.get<Ints>("begin");
  std::vector<std::pair<int64_t, int64_t>> p;
  for (int i = 0; i < X.rank(); ++i)
    p.emplace_back(begin[static_cast<size_t>(i)], X.dim(i) - begin[static_cast<size_t>(i)] - G.dim(i));
  return {pad(G, p)};
} END_GRAD;
// Bounds known only when the slice runs (tensors after x: x[:i] in a loop)
// go on to the adjoint as tensors too, and x's shape with them where the
// trace does not know it.
GRAD(op_name::StridedSlice, kGradUsesNothing) {
  Attrs attrs = c.attrs;
  std::vector<Tensor> in{G};
  in.insert(in.end(), c.inputs.begin() + 1, c.inputs.end());
  if (X.shape().is_fully_defined())
    attrs.set("shape", X.shape().as_vector());
  else
    in.push_back(shape(X, int64));
  Grads out(c.inputs.size(), kNone);
  out[0] = execute1(EMBER_OP(op_name::StridedSliceGrad), in, attrs);
  return out;
} END_GRAD;
GRAD(op_name::StridedSliceGrad, kGradUsesNothing) {                                            // linear: slice the gradient again
  Attrs attrs = c.attrs;
  attrs.erase("shape");
  std::vector<Tensor> in{G};
  const size_t bounds_end = c.attrs.has("shape") ? c.inputs.size() : c.inputs.size() - 1;  // (shape last)
  in.insert(in.end(), c.inputs.begin() + 1, c.inputs.begin() + static_cast<std::ptrdiff_t>(bounds_end));
  Grads out(c.inputs.size(), kNone);
  out[0] = execute1(EMBER_OP(op_name::StridedSlice), in, attrs);
  return out;
} END_GRAD;
GRAD(op_name::ConcatV2, kGradUsesNothing) {
  int64_t axis = c.attrs.get<int64_t>("axis");
  if (axis < 0) axis += Y.rank();
  Ints sizes;
  for (const Tensor& t : c.inputs) sizes.push_back(t.dim(static_cast<int>(axis)));
  return split(G, sizes, axis);
} END_GRAD;
GRAD(op_name::Pack, kGradUsesNothing) { return unstack(G, c.attrs.get<int64_t>("axis")); } END_GRAD;
GRAD(op_name::Unpack, kGradUsesNothing) { return {stack({c.output_grads.begin(), c.output_grads.end()}, c.attrs.get<int64_t>("axis"))}; } END_GRAD;
GRAD(op_name::SplitV, kGradUsesNothing) { return {concat({c.output_grads.begin(), c.output_grads.end()}, c.attrs.get<int64_t>("axis"))}; } END_GRAD;
GRAD(op_name::Tile, kGradUsesNothing) {                                                        // sum the copies
  const Ints& m = c.attrs.get<Ints>("multiples");
  Dims split_shape;
  Ints axes;
  for (int i = 0; i < X.rank(); ++i) {
    axes.push_back(2 * i);
    split_shape.push_back(m[static_cast<size_t>(i)]);
    split_shape.push_back(X.dim(i));
  }
  return {reshape(reduce_sum(reshape(G, TensorShape(split_shape)), axes), X.shape())};
} END_GRAD;
GRAD(op_name::PadV2, kGradUsesNothing) {
  const Ints& p = c.attrs.get<Ints>("paddings");
  Ints begin, size;
  for (int i = 0; i < X.rank(); ++i) {
    begin.push_back(p[2 * static_cast<size_t>(i)]);
    size.push_back(X.dim(i));
  }
  return {slice(G, begin, size)};
} END_GRAD;
GRAD(op_name::Snapshot, kGradUsesNothing) { return {G}; } END_GRAD;  // a copy
GRAD(op_name::EnsureShape, kGradUsesNothing) { return {G}; } END_GRAD;  // the input, checked
// clang-format on

}  // namespace
}  // namespace ember::autograd
