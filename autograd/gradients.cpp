// The gradient of every differentiable op, one entry each, written with
// ordinary ops so that it runs on any device, inside a traced function, and
// under an outer tape (which is how higher-order gradients work). Each entry
// receives the forward op's inputs x, outputs y, attributes and the incoming
// gradient g of each output, and returns one gradient per input (undefined
// for none). Broadcast inputs get their gradient summed back to their shape.
#include <cmath>
#include <numeric>

#include "core/op.h"
#include "core/ops.h"

namespace ember {
namespace {

using Grads = std::vector<Tensor>;
using Ints = std::vector<int64_t>;
const Tensor kNone;

/// Sums a broadcast gradient back to `shape`.
Tensor unbroadcast(const Tensor& g, const TensorShape& shape) {
  if (g.shape() == shape) return g;
  int gr = g.rank(), r = shape.rank();
  Ints axes;
  for (int i = 0; i < gr; ++i) {
    int j = i - (gr - r);
    if (j < 0 || (shape.dim(j) == 1 && g.dim(i) != 1)) axes.push_back(i);
  }
  return reshape(reduce_sum(g, axes), shape);
}

#define GRAD(NAME) [[maybe_unused]] static const bool EMBER_CONCAT(grad_reg_, __COUNTER__) = \
    (register_gradient(NAME, [](const GradContext& c) -> Grads
#define END_GRAD ), true)

// Unary: x = c.inputs[0], y = c.outputs[0], g = c.output_grads[0].
#define X c.inputs[0]
#define Y c.outputs[0]
#define G c.output_grads[0]

// clang-format off
GRAD("Neg") { return {-G}; } END_GRAD;
GRAD("Abs") { return {G * sign(X)}; } END_GRAD;
GRAD("Sign") { return {zeros_like(X)}; } END_GRAD;                  // piecewise constant
GRAD("Exp") { return {G * Y}; } END_GRAD;                            // d exp(x) = exp(x) = y
GRAD("Log") { return {G / X}; } END_GRAD;
GRAD("Log1p") { return {G / (X + 1)}; } END_GRAD;
GRAD("Expm1") { return {G * (Y + 1)}; } END_GRAD;                    // d(e^x - 1) = e^x = y + 1
GRAD("Sqrt") { return {G * 0.5 / Y}; } END_GRAD;                     // 1 / (2 sqrt x)
GRAD("Rsqrt") { return {G * -0.5 * Y * Y * Y}; } END_GRAD;           // -x^(-3/2) / 2 = -y^3 / 2
GRAD("Square") { return {G * 2 * X}; } END_GRAD;
GRAD("Reciprocal") { return {-G * Y * Y}; } END_GRAD;                // -1/x^2 = -y^2
GRAD("Sin") { return {G * cos(X)}; } END_GRAD;
GRAD("Cos") { return {-G * sin(X)}; } END_GRAD;
GRAD("Tanh") { return {G * (1 - Y * Y)}; } END_GRAD;                 // 1 - tanh^2
GRAD("Sigmoid") { return {G * Y * (1 - Y)}; } END_GRAD;
GRAD("Relu") { return {where(X > 0, G, zeros_like(G))}; } END_GRAD;
GRAD("Softplus") { return {G * sigmoid(X)}; } END_GRAD;              // d log(1 + e^x) = sigmoid(x)
GRAD("Erf") { return {G * (2 / std::sqrt(M_PI)) * exp(-square(X))}; } END_GRAD;
GRAD("Gelu") {
  const Tensor& x = X;
  if (c.attrs.get<bool>("approximate")) {
    // y = x/2 (1 + tanh(u)), u = k (x + a x^3): dy = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3 a x^2)
    const double k = std::sqrt(2 / M_PI), a = 0.044715;
    Tensor t = tanh(k * (x + a * x * x * x));
    return {G * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * a * x * x))};
  }
  // y = x Φ(x): dy = Φ(x) + x φ(x)
  Tensor cdf = 0.5 * (1 + erf(x * (1 / std::sqrt(2.0))));
  Tensor pdf = exp(-0.5 * x * x) * (1 / std::sqrt(2 * M_PI));
  return {G * (cdf + x * pdf)};
} END_GRAD;
GRAD("Identity") { return {G}; } END_GRAD;
GRAD("ReadVariableOp") { return {G}; } END_GRAD;                     // flows to the variable's handle
GRAD("Cast") {
  if (!is_floating(X.dtype())) return {kNone};
  return {cast(G, X.dtype())};
} END_GRAD;

// Binary: a = c.inputs[0], b = c.inputs[1].
#define A c.inputs[0]
#define B c.inputs[1]
GRAD("AddV2") { return {unbroadcast(G, A.shape()), unbroadcast(G, B.shape())}; } END_GRAD;
GRAD("Sub") { return {unbroadcast(G, A.shape()), unbroadcast(-G, B.shape())}; } END_GRAD;
GRAD("Mul") { return {unbroadcast(G * B, A.shape()), unbroadcast(G * A, B.shape())}; } END_GRAD;
GRAD("RealDiv") {                                                     // d(a/b) = da/b - a db/b^2
  return {unbroadcast(G / B, A.shape()), unbroadcast(-G * A / (B * B), B.shape())};
} END_GRAD;
GRAD("Pow") {                                                         // d a^b = b a^(b-1) da + a^b log(a) db
  Tensor ga = G * B * pow(A, B - 1);
  Tensor positive = A > 0;
  Tensor safe_a = where(positive, A, ones_like(A));                   // log only where defined
  Tensor gb = G * Y * where(positive, log(safe_a), zeros_like(A));
  return {unbroadcast(ga, A.shape()), unbroadcast(gb, B.shape())};
} END_GRAD;
GRAD("Maximum") {                                                     // ties go to a, as TensorFlow
  Tensor pick_a = A >= B, zero = zeros_like(G);
  return {unbroadcast(where(pick_a, G, zero), A.shape()), unbroadcast(where(pick_a, zero, G), B.shape())};
} END_GRAD;
GRAD("Minimum") {
  Tensor pick_a = A <= B, zero = zeros_like(G);
  return {unbroadcast(where(pick_a, G, zero), A.shape()), unbroadcast(where(pick_a, zero, G), B.shape())};
} END_GRAD;
GRAD("FloorMod") {                                                    // a - floor(a/b) b
  return {unbroadcast(G, A.shape()), unbroadcast(-G * floordiv(A, B), B.shape())};
} END_GRAD;
GRAD("SelectV2") {
  const Tensor& cond = c.inputs[0];
  Tensor zero = zeros_like(G);
  return {kNone, unbroadcast(where(cond, G, zero), c.inputs[1].shape()),
          unbroadcast(where(cond, zero, G), c.inputs[2].shape())};
} END_GRAD;
// clang-format on

// ---- reductions -------------------------------------------------------------------

struct Reduced {
  Ints axes;
  TensorShape keep_shape;  // x's shape with the reduced axes set to 1
  int64_t count = 1;       // elements reduced into each output
};
Reduced reduced(const GradContext& c) {
  Reduced r;
  const TensorShape& s = c.inputs[0].shape();
  Dims keep = s.dims();
  for (int64_t a : c.attrs.get<Ints>("axis")) {
    int64_t n = a < 0 ? a + s.rank() : a;
    r.axes.push_back(n);
    r.count *= s.dim(static_cast<int>(n));
    keep[static_cast<size_t>(n)] = 1;
  }
  r.keep_shape = TensorShape(keep);
  return r;
}
// g reshaped to keep dims and broadcast back over x.
Tensor spread(const GradContext& c, const Tensor& t, const Reduced& r) {
  return broadcast_to(reshape(t, r.keep_shape), c.inputs[0].shape());
}

// clang-format off
GRAD("Sum") { return {spread(c, G, reduced(c))}; } END_GRAD;
GRAD("Mean") {
  Reduced r = reduced(c);
  return {spread(c, G, r) * (1.0 / static_cast<double>(std::max<int64_t>(r.count, 1)))};
} END_GRAD;
// The gradient of a maximum (or minimum) is shared equally among the elements that attain it.
Grads extremum_grad(const GradContext& c) {
  Reduced r = reduced(c);
  Tensor mask = cast(equal(X, spread(c, Y, r)), X.dtype());
  Tensor ties = reduce_sum(mask, r.axes, /*keepdims=*/true);
  return {spread(c, G, r) * mask / ties};
}
GRAD("Max") { return extremum_grad(c); } END_GRAD;
GRAD("Min") { return extremum_grad(c); } END_GRAD;
// d prod / d x_i = the product of the others. Without dividing by x_i (which
// fails at zeros): with no zero in the group it is prod / x_i; with one zero
// it is the product of the non-zeros at that zero and 0 elsewhere; with two
// or more, 0 everywhere.
GRAD("Prod") {
  Reduced r = reduced(c);
  Tensor zero = equal(X, zeros_like(X)), one = ones_like(X), nothing = zeros_like(X);
  Tensor safe = where(zero, one, X);
  Tensor zeros_in_group = spread(c, reduce_sum(cast(zero, X.dtype()), r.axes, true), r);
  Tensor nonzero_prod = spread(c, reduce_prod(safe, r.axes, true), r);
  Tensor none_zero = equal(zeros_in_group, nothing), one_zero = equal(zeros_in_group, one);
  Tensor others = where(none_zero, nonzero_prod / safe, where(logical_and(one_zero, zero), nonzero_prod, nothing));
  return {spread(c, G, r) * others};
} END_GRAD;

// ---- matmul ---------------------------------------------------------------------------
// For C = op(A) op(B): dA and dB, by which operands were transposed.
Grads matmul_grads(const Tensor& a, const Tensor& b, const Tensor& g, bool ta, bool tb) {
  Tensor ga, gb;
  if (!ta && !tb) { ga = matmul(g, b, false, true); gb = matmul(a, g, true, false); }
  else if (!ta && tb) { ga = matmul(g, b); gb = matmul(g, a, true, false); }
  else if (ta && !tb) { ga = matmul(b, g, false, true); gb = matmul(a, g); }
  else { ga = matmul(b, g, true, true); gb = matmul(g, a, true, true); }
  return {unbroadcast(ga, a.shape()), unbroadcast(gb, b.shape())};
}
GRAD("MatMul") { return matmul_grads(A, B, G, c.attrs.get<bool>("transpose_a"), c.attrs.get<bool>("transpose_b")); } END_GRAD;
GRAD("BatchMatMulV2") { return matmul_grads(A, B, G, c.attrs.get<bool>("adj_x"), c.attrs.get<bool>("adj_y")); } END_GRAD;

// ---- softmax ----------------------------------------------------------------------------
GRAD("Softmax") {                                                     // (g - Σ g y) y
  return {(G - reduce_sum(G * Y, Ints{-1}, true)) * Y};
} END_GRAD;
GRAD("LogSoftmax") {                                                  // g - Σ g · softmax
  return {G - reduce_sum(G, Ints{-1}, true) * exp(Y)};
} END_GRAD;

// ---- shapes -------------------------------------------------------------------------------
GRAD("Reshape") { return {reshape(G, X.shape())}; } END_GRAD;
GRAD("ExpandDims") { return {reshape(G, X.shape())}; } END_GRAD;
GRAD("Squeeze") { return {reshape(G, X.shape())}; } END_GRAD;
GRAD("BroadcastTo") { return {unbroadcast(G, X.shape())}; } END_GRAD;
GRAD("Transpose") {
  const Ints& perm = c.attrs.get<Ints>("perm");
  Ints inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return {transpose(G, inverse)};
} END_GRAD;
GRAD("Slice") {                                                       // pad back to x's shape
  const Ints& begin = c.attrs.get<Ints>("begin");
  std::vector<std::pair<int64_t, int64_t>> p;
  for (int i = 0; i < X.rank(); ++i)
    p.emplace_back(begin[static_cast<size_t>(i)], X.dim(i) - begin[static_cast<size_t>(i)] - G.dim(i));
  return {pad(G, p)};
} END_GRAD;
GRAD("StridedSlice") {
  Attrs attrs = c.attrs;
  attrs.set("shape", X.shape().as_vector());
  return {execute1(EMBER_OP("StridedSliceGrad"), {G}, attrs)};
} END_GRAD;
GRAD("StridedSliceGrad") {                                            // linear: slice the gradient again
  Attrs attrs = c.attrs;
  attrs.erase("shape");
  return {execute1(EMBER_OP("StridedSlice"), {G}, attrs)};
} END_GRAD;
GRAD("ConcatV2") {
  int64_t axis = c.attrs.get<int64_t>("axis");
  if (axis < 0) axis += Y.rank();
  Ints sizes;
  for (const Tensor& t : c.inputs) sizes.push_back(t.dim(static_cast<int>(axis)));
  return split(G, sizes, axis);
} END_GRAD;
GRAD("Pack") { return unstack(G, c.attrs.get<int64_t>("axis")); } END_GRAD;
GRAD("Unpack") { return {stack({c.output_grads.begin(), c.output_grads.end()}, c.attrs.get<int64_t>("axis"))}; } END_GRAD;
GRAD("SplitV") { return {concat({c.output_grads.begin(), c.output_grads.end()}, c.attrs.get<int64_t>("axis"))}; } END_GRAD;
GRAD("Tile") {                                                        // sum the copies
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
GRAD("PadV2") {
  const Ints& p = c.attrs.get<Ints>("paddings");
  Ints begin, size;
  for (int i = 0; i < X.rank(); ++i) {
    begin.push_back(p[2 * static_cast<size_t>(i)]);
    size.push_back(X.dim(i));
  }
  return {slice(G, begin, size)};
} END_GRAD;
GRAD("MirrorPad") { return {execute1(EMBER_OP("MirrorPadGrad"), {G}, c.attrs)}; } END_GRAD;
GRAD("MirrorPadGrad") { return {execute1(EMBER_OP("MirrorPad"), {G}, c.attrs)}; } END_GRAD;

// ---- gather / scatter -----------------------------------------------------------------------
// gather's adjoint sums each gradient row into the params row it came from.
GRAD("GatherV2") {
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
GRAD("GatherNd") {
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
GRAD("ScatterNd") { return {kNone, gather_nd(G, c.inputs[0])}; } END_GRAD;
GRAD("TensorScatterAdd") { return {G, kNone, gather_nd(G, c.inputs[1])}; } END_GRAD;
GRAD("UnsortedSegmentSum") { return {gather(G, c.inputs[1]), kNone}; } END_GRAD;
// clang-format on

// What each gradient reads of the forward op: tapes keep only that alive
// (shapes and dtypes are always kept). Unlisted ops keep inputs and outputs.
[[maybe_unused]] const bool uses = [] {
  for (const char* op : {"Neg",
                         "Identity",
                         "ReadVariableOp",
                         "Cast",
                         "AddV2",
                         "Sub",
                         "Sum",
                         "Mean",
                         "Reshape",
                         "ExpandDims",
                         "Squeeze",
                         "BroadcastTo",
                         "Transpose",
                         "Slice",
                         "StridedSlice",
                         "StridedSliceGrad",
                         "ConcatV2",
                         "Pack",
                         "Unpack",
                         "SplitV",
                         "Tile",
                         "PadV2",
                         "MirrorPad",
                         "MirrorPadGrad"})
    register_gradient_uses(op, kGradUsesNothing);
  for (const char* op :
       {"Exp", "Expm1", "Sqrt", "Rsqrt", "Reciprocal", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"})
    register_gradient_uses(op, kGradUsesOutputs);
  for (const char* op : {"Abs",
                         "Sign",
                         "Log",
                         "Log1p",
                         "Square",
                         "Sin",
                         "Cos",
                         "Relu",
                         "Softplus",
                         "Erf",
                         "Gelu",
                         "Mul",
                         "RealDiv",
                         "Maximum",
                         "Minimum",
                         "FloorMod",
                         "SelectV2",
                         "MatMul",
                         "BatchMatMulV2",
                         "GatherV2",
                         "GatherNd",
                         "ScatterNd",
                         "TensorScatterAdd",
                         "UnsortedSegmentSum"})
    register_gradient_uses(op, kGradUsesInputs);
  return true;
}();

// Piecewise-constant ops and integer division: no gradient (TensorFlow's
// NotDifferentiable), rather than an error when a tape reaches them.
[[maybe_unused]] const bool not_differentiable = [] {
  for (const char* op : {"Floor", "Ceil", "Round", "FloorDiv", "Div"})
    register_not_differentiable(op);
  return true;
}();

}  // namespace
}  // namespace ember
