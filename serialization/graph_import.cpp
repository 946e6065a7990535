#include "serialization/graph_import.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "autograd/tape.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/tensor_list.h"
#include "core/variable.h"
#include "graph/control_flow.h"
#include "graph.pb.h"
#include "serialization/bundle.h"
#include "serialization/graph_def.h"
#include "serialization/tf_proto.h"

namespace ember {
namespace {

namespace tf = tensorflow;

// A TensorFlow DataType number in the generated defaults table.
struct TfType {
  int code;
};
using DefaultValue = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>, TfType>;
struct AttrDefault {
  const char* op;
  const char* attr;
  DefaultValue value;
};
const AttrDefault kAttrDefaults[] = {
#include "serialization/tf_attr_defaults.inc"
};

// Ops the importer runs itself rather than through the registry.
const std::unordered_set<std::string>& structural_ops() {
  namespace op = op_name;
  static const std::unordered_set<std::string> s{
      op::Const,   op::Identity,        op::IdentityN, op::NoOp,  op::PartitionedCall, op::StatefulPartitionedCall,
      op::If,      op::StatelessIf,     op::While,     op::StatelessWhile, op::Case, op::StatelessCase,
      op::Assert};
  return s;
}

// TensorFlow ops ember runs as other ops (graph_import's `composite`).
const std::unordered_set<std::string>& composite_ops() {
  namespace op = op_name;
  static const std::unordered_set<std::string> s{op::Pad,   op::Select, op::Split, op::SquaredDifference,
                                                 op::Relu6, op::Shape,  op::Size,  op::Rank, op::Einsum, op::MatrixBandPart, op::ReverseV2,
                                                 op::ResizeBilinear, op::Roll, op::IsNan, op::IsInf, op::IsFinite,
                                                 op::BroadcastArgs, op::DenseBincount, op::MatrixDiagV3, op::MatrixDiagPartV3,
                                                 op::MatrixSetDiagV3, op::ResizeNearestNeighbor, op::SpaceToDepth,
                                                 op::DepthToSpace, op::Rint, op::PreventGradient, op::Bucketize,
                                                 op::TensorScatterUpdate, op::ReverseSequence, op::LowerBound,
                                                 op::UpperBound, op::Conv3D, op::MaxPool3D, op::AvgPool3D,
                                                 op::SegmentSum, op::SegmentMean, op::SegmentMax, op::SegmentMin,
                                                 op::SegmentProd, op::Cross, op::LRN, op::HistogramFixedWidth,
                                                 op::ResizeBicubic, op::ExtractImagePatches, op::CropAndResize, op::ConcatOffset,
                                                 op::SigmoidGrad, op::TanhGrad, op::RsqrtGrad, op::SqrtGrad,
                                                 op::ReciprocalGrad, op::EluGrad, op::SeluGrad, op::LeakyReluGrad,
                                                 op::Relu6Grad, op::SoftplusGrad, op::SoftsignGrad, op::ShapeN,
                                                 op::VariableShape, op::DynamicStitch, op::ParallelDynamicStitch,
                                                 op::InvertPermutation, op::EmptyTensorList,
                                                 op::StatelessRandomGetKeyCounter, op::StatelessRandomUniformV2,
                                                 op::StatelessRandomNormalV2, op::StatelessTruncatedNormalV2,
                                                 op::StatelessRandomUniformIntV2, op::StatelessRandomGammaV3,
                                                 op::StatelessRandomUniformFullIntV2, op::L2Loss,
                                                 op::NonMaxSuppression,
                                                 op::NonMaxSuppressionV2, op::NonMaxSuppressionV3, op::NonMaxSuppressionV4,
                                                 op::ImageProjectiveTransformV2, op::ResizeBilinearGrad,
                                                 op::ResizeNearestNeighborGrad, op::ResizeBicubicGrad,
                                                 op::Conv3DBackpropInputV2, op::Conv3DBackpropFilterV2, op::MaxPool3DGrad,
                                                 op::AvgPool3DGrad, op::RGBToHSV, op::HSVToRGB,
                                                 op::RngReadAndSkip, op::Bitcast};
  return s;
}

const std::unordered_set<std::string>& ember_ops() {
  static const std::unordered_set<std::string> s = [] {
    std::unordered_set<std::string> names;
    for (const OpDef* op : registered_ops()) names.insert(op->name);
    return names;
  }();
  return s;
}

DType ember_dtype(int code, const std::string& what) {
  DType d;
  if (!bundle::from_tf_dtype(code, d))
    throw Unimplemented(what + ": dtype " + bundle::tf_dtype_name(code) + " is not one ember has");
  return d;
}

using tfproto::shape_of;

// A Const node's value, on the host.
Tensor tensor_of(const tf::TensorProto& p, const std::string& what) {
  DType dtype = ember_dtype(p.dtype(), what);
  TensorShape shape = shape_of(p.tensor_shape());
  EMBER_CHECK(shape.is_fully_defined(), InvalidArgument, what, ": a constant of unknown shape");
  // A constant of typed values repeats its last one: a small file may ask
  // for a huge tensor. At most 2^31 elements.
  int64_t n = 1;
  for (int64_t d : shape.dims()) {
    EMBER_CHECK(d >= 0 && d <= (int64_t{1} << 31), InvalidArgument, what, ": bad dimension ", d);
    n *= d;
    EMBER_CHECK(n <= (int64_t{1} << 31), InvalidArgument, what, ": a constant of shape ", shape.to_string(),
                " (more than 2^31 elements)");
  }
  Tensor t = Tensor::empty(shape, dtype, Device::cpu());
  const size_t bytes = static_cast<size_t>(n) * dtype_size(dtype);
  if (!p.tensor_content().empty()) {
    EMBER_CHECK(p.tensor_content().size() == bytes, InvalidArgument, what, ": tensor_content holds ",
                p.tensor_content().size(), " bytes; ", shape.to_debug_string(), " ", dtype_name(dtype), " needs ", bytes);
    if (bytes) std::memcpy(t.raw_data(), p.tensor_content().data(), bytes);
    return t;
  }
  // Typed values: as many as the elements, or fewer, the last repeated (none: zeros).
  auto fill = [&](auto* out, const auto& values) {
    using T = std::remove_pointer_t<decltype(out)>;
    for (int64_t i = 0; i < n; ++i) {
      if (values.empty()) {
        out[i] = T{};
      } else {
        auto v = values[static_cast<int>(std::min<int64_t>(i, values.size() - 1))];
        out[i] = static_cast<T>(v);
      }
    }
  };
  switch (dtype) {
    case float32: fill(t.data<float>(), p.float_val()); break;
    case float64: fill(t.data<double>(), p.double_val()); break;
    case int32: fill(t.data<int32_t>(), p.int_val()); break;
    case uint8: fill(t.data<uint8_t>(), p.int_val()); break;
    case int64: fill(t.data<int64_t>(), p.int64_val()); break;
    case bool_: fill(static_cast<uint8_t*>(t.raw_data()), p.bool_val()); break;
    case float16:
    case bfloat16: {
      auto* out = static_cast<uint16_t*>(t.raw_data());
      for (int64_t i = 0; i < n; ++i)
        out[i] = p.half_val().empty() ? 0 : static_cast<uint16_t>(p.half_val(static_cast<int>(std::min<int64_t>(i, p.half_val_size() - 1))));
      break;
    }
    default: throw Unimplemented(what + ": a constant of dtype " + std::string(dtype_name(dtype)));
  }
  return t;
}

// A concrete tensor's values as doubles (no op runs: safe while tracing).
std::vector<double> host_values(const Tensor& t) {
  std::vector<double> out;
  switch (t.dtype()) {
    case float32: for (float v : t.to_vector<float>()) out.push_back(v); break;
    case float64: out = t.to_vector<double>(); break;
    case int32:
    case int64: for (int64_t v : t.index_values()) out.push_back(static_cast<double>(v)); break;
    case uint8: for (uint8_t v : t.to_vector<uint8_t>()) out.push_back(v); break;
    case bool_: {
      const auto* p = static_cast<const uint8_t*>(t.raw_data());
      for (int64_t i = 0; i < t.num_elements(); ++i) out.push_back(p[i] ? 1 : 0);
      break;
    }
    default: throw InvalidArgument("a constant input of dtype " + std::string(dtype_name(t.dtype())) + " where a number is expected");
  }
  return out;
}

AttrValue attr_from(const tf::AttrValue& v, AttrKind kind, const std::string& what) {
  auto need = [&](bool ok) {
    EMBER_CHECK(ok, InvalidArgument, what, " is not a ", attr_kind_name(kind));
  };
  switch (kind) {
    case AttrKind::Bool: need(v.value_case() == tf::AttrValue::kB); return v.b();
    case AttrKind::Int: need(v.value_case() == tf::AttrValue::kI); return static_cast<int64_t>(v.i());
    case AttrKind::Float: need(v.value_case() == tf::AttrValue::kF); return static_cast<double>(v.f());
    case AttrKind::Type: need(v.value_case() == tf::AttrValue::kType); return ember_dtype(v.type(), what);
    case AttrKind::String: need(v.value_case() == tf::AttrValue::kS); return v.s();
    case AttrKind::Ints: {
      need(v.value_case() == tf::AttrValue::kList);
      return std::vector<int64_t>(v.list().i().begin(), v.list().i().end());
    }
    case AttrKind::Shape: need(v.value_case() == tf::AttrValue::kShape); return shape_of(v.shape());
    case AttrKind::Func: break;
  }
  throw Unimplemented(what + ": a function attribute");
}

std::optional<AttrValue> default_of(const std::string& op, const std::string& attr, AttrKind kind) {
  for (const AttrDefault& d : kAttrDefaults) {
    if (op != d.op || attr != d.attr) continue;
    return std::visit(
        [&](const auto& x) -> std::optional<AttrValue> {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, TfType>) {
            DType t;
            if (kind != AttrKind::Type || !bundle::from_tf_dtype(x.code, t)) return std::nullopt;
            return AttrValue(t);
          } else {
            return AttrValue(x);
          }
        },
        d.value);
  }
  return std::nullopt;
}

// Node n's attribute `name` as ember reads it, or TensorFlow's default where
// the node lacks it (SavedModels strip defaults); none where it has neither.
std::optional<AttrValue> attr_or_default(const tf::NodeDef& n, const std::string& name, AttrKind kind,
                                         const std::string& what) {
  auto it = n.attr().find(name);
  if (it != n.attr().end()) return attr_from(it->second, kind, what + " attribute '" + name + "'");
  return default_of(n.op(), name, kind);
}

// Splits a FunctionDef input reference: "x" (an argument), "node:arg:index"; "^node": control.
struct Ref {
  std::string node, arg;
  int index = 0;
  bool control = false;
};
Ref parse_ref(const std::string& s, const std::string& what) {
  Ref r;
  std::string body = s;
  if (!body.empty() && body[0] == '^') {
    r.control = true;
    body = body.substr(1);
  }
  size_t a = body.find(':');
  r.node = body.substr(0, a);
  if (a == std::string::npos) return r;
  size_t b = body.find(':', a + 1);
  EMBER_CHECK(b != std::string::npos, InvalidArgument, what, ": input '", s, "' is not node:output:index");
  r.arg = body.substr(a + 1, b - a - 1);
  try {
    size_t used = 0;
    r.index = std::stoi(body.substr(b + 1), &used);
    EMBER_CHECK(used == body.size() - b - 1 && r.index >= 0, InvalidArgument, "");
  } catch (const std::exception&) {
    throw InvalidArgument(what + ": input '" + s + "' has a bad output index");
  }
  return r;
}

// The position among a node's outputs of output `index` of output arg `arg`
// (the ops ember runs as others have one output arg, or one list, but for
// those named here, whose output args are one tensor each).
int output_position(const std::string& op, const std::string& arg, int index) {
  static const std::map<std::string, std::vector<std::string>> composite_output_args{
      {op_name::NonMaxSuppressionV4, {"selected_indices", "valid_outputs"}}};
  if (auto it = composite_output_args.find(op); it != composite_output_args.end()) {
    const auto at = std::find(it->second.begin(), it->second.end(), arg);
    return at == it->second.end() ? index : static_cast<int>(at - it->second.begin());
  }
  if (structural_ops().count(op) || !ember_ops().count(op)) return index;
  TensorFlowOutputArgs args = tensorflow_output_args(op);
  if (args.list) return index;
  for (size_t i = 0; i < args.names.size(); ++i)
    if (args.names[i] == arg) return static_cast<int>(i) + index;
  return index;
}

std::vector<std::string> called_functions(const tf::NodeDef& n) {
  std::vector<std::string> out;
  for (const char* key : {"f", "then_branch", "else_branch", "cond", "body"}) {
    auto it = n.attr().find(key);
    if (it != n.attr().end() && it->second.value_case() == tf::AttrValue::kFunc) out.push_back(it->second.func().name());
  }
  return out;
}

// What TensorFlow's resize ops (ResizeBilinear, ResizeNearestNeighbor)
// share: images [batch, height, width, channels] (a height and width known
// when it runs), a constant size, align_corners and half_pixel_centers;
// per axis k (1: height, 2: width), the output positions and TensorFlow's
// source coordinates in float32 (CalculateResizeScale and its scalers), as
// its kernels compute them.
struct Resize {
  std::vector<int64_t> size;
  bool align = false, half = false;
  Tensor from(int k, const Tensor& images) const {  // the input's size along axis k + 1
    return cast(shape_at(images, k + 1), float32);
  }
  Tensor scale(int k, const Tensor& images) const {
    const int64_t to = size[static_cast<size_t>(k)];
    const Tensor f = from(k, images);
    return align && to > 1 ? (f - 1.0f) / static_cast<float>(to - 1) : f / static_cast<float>(to);
  }
  Tensor positions(int k) const { return cast(range(size[static_cast<size_t>(k)]), float32); }
  // Shaped to broadcast along axis k + 1 of the images.
  Tensor along(int k, const Tensor& v) const {
    Dims d{1, 1, 1, 1};
    d[static_cast<size_t>(k + 1)] = size[static_cast<size_t>(k)];
    return reshape(v, TensorShape(d));
  }
};
Resize resize_of(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  const std::string& op = n.op();
  EMBER_CHECK(in.size() == 2, InvalidArgument, what, ": op ", op, " takes 2 inputs, got ", in.size());
  EMBER_CHECK(!in[1].is_symbolic() && in[1].num_elements() == 2, Unimplemented, what, ": ", op,
              "'s size must be a constant of two values");
  EMBER_CHECK(in[0].shape().rank_known() && in[0].rank() == 4, InvalidArgument, what, ": ", op,
              " takes images [batch, height, width, channels], got ", in[0].shape().to_string());
  auto flag = [&](const char* key) {
    auto it = n.attr().find(key);
    return it != n.attr().end() && it->second.b();
  };
  Resize r{in[1].index_values(), flag("align_corners"), flag("half_pixel_centers")};
  for (int64_t to : r.size) EMBER_CHECK(to > 0, InvalidArgument, what, ": ", op, " to a size of ", to);
  return r;
}

// ResizeBilinear (Resize's images and size): TensorFlow's interpolation
// (its source coordinates, lower and upper neighbours clamped, the
// fraction from the floor), then gathers of the neighbours and its two lerps.
Tensor resize_bilinear(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  const Resize r = resize_of(in, n, what);
  const Tensor& images = in[0];
  std::vector<Tensor> lower, upper, lerp;
  for (int k = 0; k < 2; ++k) {
    const Tensor i = r.positions(k), scale = r.scale(k, images);
    const Tensor src = r.half ? (i + 0.5f) * scale - 0.5f : i * scale;
    const Tensor f = floor(src);
    lower.push_back(cast(maximum(f, zeros_like(f)), int64));
    upper.push_back(cast(minimum(ceil(src), r.from(k, images) - 1.0f), int64));
    lerp.push_back(r.along(k, src - f));
  }
  const Tensor x = images.dtype() == float32 ? images : cast(images, float32);
  const Tensor top_rows = gather(x, lower[0], 1), bottom_rows = gather(x, upper[0], 1);
  const Tensor tl = gather(top_rows, lower[1], 2), tr = gather(top_rows, upper[1], 2);
  const Tensor bl = gather(bottom_rows, lower[1], 2), br = gather(bottom_rows, upper[1], 2);
  const Tensor top = tl + (tr - tl) * lerp[1], bottom = bl + (br - bl) * lerp[1];
  return top + (bottom - top) * lerp[0];
}

// ResizeNearestNeighbor (Resize's images and size): TensorFlow's source
// index per output row and column (resize_nearest_neighbor_op.cc: floor of
// i·scale, or of (i + 0.5)·scale with half-pixel centers, or roundf of
// i·scale, half away from zero, with aligned corners; then clamped), two
// gathers.
Tensor resize_nearest(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  const Resize r = resize_of(in, n, what);
  const Tensor& images = in[0];
  Tensor out = images;
  for (int k = 0; k < 2; ++k) {
    const Tensor i = r.positions(k), scale = r.scale(k, images);
    const Tensor at = r.half ? (i + 0.5f) * scale : i * scale;
    Tensor j = floor(at);
    if (r.align) j = j + cast(greater_equal(at - j, scalar_like(at, 0.5)), float32);
    j = minimum(maximum(j, zeros_like(j)), r.from(k, images) - 1.0f);
    out = gather(out, cast(j, int64), k + 1);
  }
  return out;
}

// The gradient of sum(forward(x)·dy) with respect to x, taken by a tape:
// the adjoint of a forward op ember imports (at x; where forward is linear
// in x, x's values do not matter), in x's dtype. How TensorFlow's gradient
// ops of the ops ember imports as others import.
Tensor adjoint(const std::function<Tensor(const Tensor&)>& forward, const Tensor& x, const Tensor& dy) {
  GradientTape tape;
  tape.watch(x);
  const Tensor y = forward(x);
  const Tensor dx = tape.gradient(reduce_sum(y * (dy.dtype() == y.dtype() ? dy : cast(dy, y.dtype()))), x);
  return dx.dtype() == x.dtype() ? dx : cast(dx, x.dtype());
}

// ResizeBilinearGrad(grads, original_image), ResizeBicubicGrad(grads,
// original_image) and ResizeNearestNeighborGrad(grads, size): the adjoint
// of the imported resize (linear in the images) from the images' size to
// the gradients', taken by a tape: the gradient of sum(resize(x)·grads)
// with respect to x, of the original's dtype (the gradients' for the
// nearest's, whose second input is only the original's size).
// Like the resizes, they need that output size, the gradients' height and
// width, known when the function is imported.
Tensor resize_bicubic(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what);
Tensor resize_gradient(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  const std::string& op = n.op();
  EMBER_CHECK(in.size() == 2, InvalidArgument, what, ": op ", op, " takes 2 inputs, got ", in.size());
  const Tensor& grads = in[0];
  const TensorShape& g = grads.shape();
  EMBER_CHECK(g.rank_known() && g.rank() == 4 && g.dim(1) >= 0 && g.dim(2) >= 0, Unimplemented, what, ": ", op,
              " of gradients whose height and width this function does not know, ", g.to_string());
  Tensor x;
  if (op == op_name::ResizeNearestNeighborGrad) {  // (the size of the images, a constant)
    EMBER_CHECK(!in[1].is_symbolic() && in[1].num_elements() == 2, Unimplemented, what, ": ", op,
                "'s size must be a constant of two values");
    const std::vector<int64_t> size = in[1].index_values();
    x = zeros_like(slice(grads, {0, 0, 0, 0}, {-1, 1, 1, -1}));
    x = tile(x, {1, size[0], size[1], 1});  // (zeros: the resize is linear, only the shape matters)
  } else {
    x = zeros_like(in[1]);
  }
  tf::NodeDef forward = n;
  forward.set_op(op == op_name::ResizeBilinearGrad    ? op_name::ResizeBilinear
                 : op == op_name::ResizeBicubicGrad ? op_name::ResizeBicubic
                                                    : op_name::ResizeNearestNeighbor);
  const Tensor size = constant(std::vector<int32_t>{static_cast<int32_t>(g.dim(1)), static_cast<int32_t>(g.dim(2))});
  return adjoint(
      [&](const Tensor& images) {
        return op == op_name::ResizeBilinearGrad  ? resize_bilinear({images, size}, forward, what)
               : op == op_name::ResizeBicubicGrad ? resize_bicubic({images, size}, forward, what)
                                                  : resize_nearest({images, size}, forward, what);
      },
      x, grads);
}

// One dimension of a sliding window, TensorFlow's rule: `size` inputs, a
// window spanning `span` (dilated), `stride`; VALID or SAME (the padding
// split with the odd one after).
struct Extent {
  int64_t out, before, after;
};
Extent window_extent(int64_t size, int64_t span, int64_t stride, const std::string& padding) {
  const int64_t out = padding == "SAME" ? (size + stride - 1) / stride : (size - span + stride) / stride;
  const int64_t total = padding == "SAME" ? std::max<int64_t>((out - 1) * stride + span - size, 0) : 0;
  return {out, total / 2, total - total / 2};
}

// ResizeBicubic (Resize's images and size), as TensorFlow's kernel computes
// it (resize_bicubic_op.cc): per output row and column the source
// coordinate (half-pixel or legacy), its floor and the fraction rounded to
// 1/1024 (lrintf) to index the cubic's coefficient table (Keys's a = -0.5
// with half-pixel centers, else -0.75; the table's values computed as its
// are); the four taps' indices clamped to the image, and with half-pixel
// centers the taps outside given weight 0 and the weights renormalized.
// The image is interpolated down the rows first, then along the columns,
// each a sum of four products in float32, in TensorFlow's order.
Tensor resize_bicubic(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  const Resize r = resize_of(in, n, what);
  const Tensor& images = in[0];
  constexpr int64_t kTable = 1024;
  const double a = r.half ? -0.5 : -0.75;
  std::vector<float> near(kTable + 1), far(kTable + 1);  // the weights at distance x and 1 + x
  for (int64_t i = 0; i <= kTable; ++i) {
    float x = static_cast<float>(static_cast<double>(i) / kTable);
    near[static_cast<size_t>(i)] = static_cast<float>(((a + 2) * x - (a + 3)) * x * x + 1);
    x += 1.0f;
    far[static_cast<size_t>(i)] = static_cast<float>(((a * x - 5 * a) * x + 8 * a) * x - 4 * a);
  }
  const Tensor near_t = constant(near, TensorShape{kTable + 1}), far_t = constant(far, TensorShape{kTable + 1});
  struct Taps {
    std::vector<Tensor> index, weight;  // four each, [out] int64 and float32
  };
  auto taps = [&](int k) {
    const Tensor i = r.positions(k), scale = r.scale(k, images);
    const Tensor at = r.half ? (i + 0.5f) * scale - 0.5f : i * scale;
    const Tensor whole = floor(at);
    const Tensor offset = cast(round((at - whole) * static_cast<float>(kTable)), int64);  // (half to even, as lrintf)
    const Tensor back = constant(kTable) - offset;
    const Tensor base = cast(whole, int64), last = cast(r.from(k, images), int64) - constant(int64_t{1});
    Taps t;
    const Tensor table_weights[4] = {gather(far_t, offset), gather(near_t, offset), gather(near_t, back),
                                     gather(far_t, back)};
    for (int64_t j = 0; j < 4; ++j) {
      const Tensor wanted = base + constant(j - 1);
      const Tensor bounded = minimum(maximum(wanted, zeros_like(wanted)), last);
      t.index.push_back(bounded);
      t.weight.push_back(r.half ? where(equal(bounded, wanted), table_weights[j], zeros_like(table_weights[j]))
                                : table_weights[j]);
    }
    if (r.half) {
      const Tensor sum = ((t.weight[0] + t.weight[1]) + t.weight[2]) + t.weight[3];
      const Tensor usable = greater_equal(abs(sum), scalar_like(sum, 1000.0 * std::numeric_limits<float>::min()));
      const Tensor one_over = where(usable, 1.0f / sum, ones_like(sum));
      for (Tensor& w : t.weight) w = w * one_over;
    }
    for (Tensor& w : t.weight) w = r.along(k, w);
    return t;
  };
  const Taps rows = taps(0), cols = taps(1);
  const Tensor x = images.dtype() == float32 ? images : cast(images, float32);
  std::vector<Tensor> picked_rows;  // [batch, out_h, w, c] per row tap
  for (const Tensor& index : rows.index) picked_rows.push_back(gather(x, index, 1));
  Tensor result;
  for (int64_t j = 0; j < 4; ++j) {
    Tensor column;  // the rows' interpolation at column tap j
    for (int64_t i = 0; i < 4; ++i) {
      const Tensor term = gather(picked_rows[static_cast<size_t>(i)], cols.index[static_cast<size_t>(j)], 2) *
                          rows.weight[static_cast<size_t>(i)];
      column = column.defined() ? column + term : term;
    }
    const Tensor term = column * cols.weight[static_cast<size_t>(j)];
    result = result.defined() ? result + term : term;
  }
  return result;
}

// CropAndResize (tf.image.crop_and_resize): per box [y1, x1, y2, x2]
// (normalized) a crop of its image (box_ind) resized to crop_size, as
// TensorFlow's kernel computes it (crop_and_resize_op.cc, in float32): the
// source coordinate of output row y is y1·(h - 1) + y·(y2 - y1)·(h - 1)/(ch - 1)
// ((y1 + y2)/2·(h - 1) for one row), a coordinate outside [0, h - 1] gives
// extrapolation_value; bilinear (floor and ceil, TensorFlow's lerps in its
// order) or nearest (roundf: half away from zero). Gathers by box.
Tensor crop_and_resize(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  EMBER_CHECK(in.size() == 4, InvalidArgument, what, ": op CropAndResize takes 4 inputs, got ", in.size());
  const Tensor &image = in[0], &boxes = in[1], &box_ind = in[2];
  EMBER_CHECK(image.shape().rank_known() && image.rank() == 4, InvalidArgument, what,
              ": CropAndResize takes images [batch, height, width, channels], got ", image.shape().to_string());
  EMBER_CHECK(!in[3].is_symbolic() && in[3].num_elements() == 2, Unimplemented, what,
              ": CropAndResize's crop_size must be a constant of two values");
  const std::vector<int64_t> crop = in[3].index_values();
  for (int64_t c : crop) EMBER_CHECK(c > 0, InvalidArgument, what, ": CropAndResize's crop_size must be positive, got ", c);
  std::string method = "bilinear";
  float extrapolation = 0;
  if (auto it = n.attr().find("method"); it != n.attr().end()) method = it->second.s();
  if (auto it = n.attr().find("extrapolation_value"); it != n.attr().end()) extrapolation = it->second.f();
  EMBER_CHECK(method == "bilinear" || method == "nearest", InvalidArgument, what,
              ": CropAndResize's method must be bilinear or nearest, got ", method);
  const Tensor b = boxes.dtype() == float32 ? boxes : cast(boxes, float32);
  // Per axis k (0: rows, 1: columns): the source coordinates [boxes, crop[k]], whether each is inside the image,
  // and the neighbours' indices and the fraction (bilinear) or the nearest index.
  struct Axis {
    Tensor inside, low, high, fraction;
  };
  auto axis = [&](int k) {
    const Tensor last = cast(shape_at(image, k + 1), float32) - 1.0f;  // (h - 1)
    const Tensor from = slice(b, {0, k}, {-1, 1}), to = slice(b, {0, k + 2}, {-1, 1});
    const int64_t size = crop[static_cast<size_t>(k)];
    const Tensor at = size > 1 ? from * last + cast(reshape(range(size), {1, -1}), float32) *
                                                   ((to - from) * last / static_cast<float>(size - 1))
                               : (from + to) * 0.5f * last;
    const Tensor zero = zeros_like(at);
    Axis a{logical_and(greater_equal(at, zero), less_equal(at, last)), {}, {}, {}};
    auto bounded = [&](const Tensor& v) { return cast(minimum(maximum(v, zero), last), int64); };
    if (method == "nearest") {
      a.low = bounded(floor(at + 0.5f));  // (inside the image at >= 0: roundf's half away from zero)
    } else {
      a.low = bounded(floor(at));
      a.high = bounded(ceil(at));
      a.fraction = at - floor(at);
    }
    return a;
  };
  const Axis rows = axis(0), cols = axis(1);
  // [boxes, ch, 1, 1] and [boxes, 1, cw, 1] to broadcast over the crops.
  auto down = [](const Tensor& v) { return expand_dims(expand_dims(v, -1), -1); };
  auto across = [](const Tensor& v) { return expand_dims(expand_dims(v, 1), -1); };
  const Tensor x = gather(image.dtype() == float32 ? image : cast(image, float32), box_ind, 0);  // [boxes, h, w, c]
  Tensor value;
  if (method == "nearest") {
    value = gather(gather(x, rows.low, 1, 1), cols.low, 2, 1);
  } else {
    const Tensor top_rows = gather(x, rows.low, 1, 1), bottom_rows = gather(x, rows.high, 1, 1);
    const Tensor tl = gather(top_rows, cols.low, 2, 1), tr = gather(top_rows, cols.high, 2, 1);
    const Tensor bl = gather(bottom_rows, cols.low, 2, 1), br = gather(bottom_rows, cols.high, 2, 1);
    const Tensor fx = across(cols.fraction);
    const Tensor top = tl + (tr - tl) * fx, bottom = bl + (br - bl) * fx;
    value = top + (bottom - top) * down(rows.fraction);
  }
  const Tensor inside = logical_and(down(rows.inside), across(cols.inside));
  return where(inside, value, scalar_like(value, extrapolation));
}

// ExtractImagePatches (tf.image.extract_patches; NHWC images whose height and
// width are known when loading): each output pixel the sizes[1] x sizes[2]
// window (taps `rates` apart, `strides` between windows; VALID, or SAME's
// zero padding) flattened in row, column, channel order: one strided slice
// of the padded image per tap, concatenated along the channels.
Tensor extract_patches(const Tensor& images, const tf::NodeDef& n, const std::string& what) {
  auto ints = [&](const char* key) {
    auto it = n.attr().find(key);
    EMBER_CHECK(it != n.attr().end() && it->second.list().i_size() == 4, InvalidArgument, what,
                ": ExtractImagePatches needs four ", key);
    return std::vector<int64_t>(it->second.list().i().begin(), it->second.list().i().end());
  };
  const std::vector<int64_t> sizes = ints("ksizes"), strides = ints("strides"), rates = ints("rates");
  auto pad_attr = n.attr().find("padding");
  const std::string padding = pad_attr == n.attr().end() ? "" : pad_attr->second.s();
  EMBER_CHECK(padding == "VALID" || padding == "SAME", InvalidArgument, what,
              ": ExtractImagePatches's padding must be VALID or SAME");
  EMBER_CHECK(images.shape().rank_known() && images.rank() == 4 && images.dim(1) >= 0 && images.dim(2) >= 0,
              Unimplemented, what, ": ExtractImagePatches of images whose height and width are unknown when loading (",
              images.shape().to_string(), ")");
  for (int k = 1; k <= 2; ++k)
    EMBER_CHECK(sizes[static_cast<size_t>(k)] > 0 && strides[static_cast<size_t>(k)] > 0 && rates[static_cast<size_t>(k)] > 0,
                InvalidArgument, what, ": ExtractImagePatches's sizes, strides and rates must be positive");
  Extent e[2];
  for (int k = 0; k < 2; ++k) {
    const auto u = static_cast<size_t>(k + 1);
    e[k] = window_extent(images.dim(k + 1), (sizes[u] - 1) * rates[u] + 1, strides[u], padding);
    EMBER_CHECK(e[k].out > 0, InvalidArgument, what, ": ExtractImagePatches's window is larger than the image ",
                images.shape().to_string());
  }
  const Tensor padded = pad(images, {{0, 0}, {e[0].before, e[0].after}, {e[1].before, e[1].after}, {0, 0}});
  std::vector<Tensor> taps;
  for (int64_t i = 0; i < sizes[1]; ++i)
    for (int64_t j = 0; j < sizes[2]; ++j) {
      const int64_t top = i * rates[1], left = j * rates[2];
      taps.push_back(strided_slice(padded, {0, top, left, 0},
                                   {0, top + (e[0].out - 1) * strides[1] + 1, left + (e[1].out - 1) * strides[2] + 1, 0},
                                   {1, strides[1], strides[2], 1}, {.begin_mask = 9, .end_mask = 9}));
    }
  return taps.size() == 1 ? taps[0] : concat(taps, 3);
}

// SpaceToDepth and DepthToSpace of NHWC images whose height, width and
// channels are known when loading: TensorFlow's block order, as a reshape
// to [batch, h, b, w, b, c] (or [batch, h, w, b, b, c]), a transpose
// swapping the middle two, and a reshape.
Tensor space_depth(const std::string& op, const Tensor& x, const tf::NodeDef& n, const std::string& what) {
  auto format = n.attr().find("data_format");
  EMBER_CHECK(format == n.attr().end() || format->second.s() == "NHWC", Unimplemented, what, ": ", op,
              " of data format ", format->second.s(), " (ember imports NHWC)");
  auto bs = n.attr().find("block_size");
  EMBER_CHECK(bs != n.attr().end() && bs->second.i() >= 2, InvalidArgument, what, ": ", op,
              " needs a block_size of at least 2");
  const int64_t b = bs->second.i();
  EMBER_CHECK(x.shape().rank_known() && x.rank() == 4 && x.dim(1) >= 0 && x.dim(2) >= 0 && x.dim(3) >= 0,
              Unimplemented, what, ": ", op, " of a tensor whose height, width and channels are unknown when loading (",
              x.shape().to_string(), ")");
  const int64_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
  if (op == op_name::SpaceToDepth) {
    EMBER_CHECK(h % b == 0 && w % b == 0, InvalidArgument, what, ": SpaceToDepth of height ", h, " and width ", w,
                " by blocks of ", b);
    const Tensor t = transpose(reshape(x, {-1, h / b, b, w / b, b, c}), {0, 1, 3, 2, 4, 5});
    return reshape(t, {-1, h / b, w / b, b * b * c});
  }
  EMBER_CHECK(c % (b * b) == 0, InvalidArgument, what, ": DepthToSpace of ", c, " channels by blocks of ", b);
  const Tensor t = transpose(reshape(x, {-1, h, w, b, b, c / (b * b)}), {0, 1, 3, 2, 4, 5});
  return reshape(t, {-1, h * b, w * b, c / (b * b)});
}

// The single diagonal k of MatrixDiagV3, MatrixDiagPartV3 and
// MatrixSetDiagV3 (a band of several is Unimplemented): over a [rows, cols]
// grid, where column - row is k, and each element's position along it (its
// row for k >= 0, else its column).
struct Diagonal {
  int64_t k = 0;
  Tensor rows, cols;  // [R, 1] and [1, C], int64
  Tensor on() const { return equal(cols - rows, constant(k)); }
  Tensor along() const { return k >= 0 ? rows + zeros_like(cols) : cols + zeros_like(rows); }
};
int64_t one_diagonal(const Tensor& k, const std::string& op, const std::string& what) {
  EMBER_CHECK(!k.is_symbolic(), Unimplemented, what, ": ", op, "'s k must be a constant");
  const std::vector<int64_t> ks = k.index_values();
  EMBER_CHECK(ks.size() == 1 || (ks.size() == 2 && ks[0] == ks[1]), Unimplemented, what, ": ", op,
              " of a band of several diagonals (k = [", ks.empty() ? 0 : ks.front(), ", ",
              ks.empty() ? 0 : ks.back(), "])");
  return ks[0];
}
Diagonal diagonal_grid(int64_t k, const Tensor& num_rows, const Tensor& num_cols) {
  const Tensor zero = constant(int64_t{0}), one = constant(int64_t{1});
  return {k, reshape(range(zero, num_rows, one), {-1, 1}), reshape(range(zero, num_cols, one), {1, -1})};
}
// Values of `diag` [..., L] spread over the grid [..., R, C] by position along
// the diagonal (clamped into [0, L), the elements off it are masked away).
Tensor spread(const Tensor& diag, const Diagonal& d) {
  const Tensor last = shape_at(diag, -1) - constant(int64_t{1});
  const Tensor at = maximum(minimum(d.along(), last), constant(int64_t{0}));
  return gather(diag, at, diag.rank() - 1);
}

// ReverseSequence: along seq_dim, each batch_dim row's first seq_lengths
// elements reversed, the rest kept: a gather (batch_dims 1) of the indices
// len - 1 - i below len, i after, with the batch axis first and the
// sequence axis second.
Tensor reverse_sequence(const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  const Tensor& x = in[0];
  EMBER_CHECK(x.shape().rank_known() && x.rank() >= 2, Unimplemented, what,
              ": ReverseSequence of a tensor of unknown rank or rank below 2");
  auto int_attr = [&](const char* key, int64_t fallback) {
    auto it = n.attr().find(key);
    return it == n.attr().end() ? fallback : it->second.i();
  };
  const int64_t r = x.rank();
  int64_t seq = int_attr("seq_dim", -1), batch = int_attr("batch_dim", 0);
  seq = seq < 0 ? seq + r : seq, batch = batch < 0 ? batch + r : batch;
  EMBER_CHECK(seq >= 0 && seq < r && batch >= 0 && batch < r && seq != batch, InvalidArgument, what,
              ": ReverseSequence's seq_dim and batch_dim must be two axes of rank ", r);
  std::vector<int64_t> perm{batch, seq};
  for (int64_t i = 0; i < r; ++i)
    if (i != batch && i != seq) perm.push_back(i);
  std::vector<int64_t> back(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) back[static_cast<size_t>(perm[static_cast<size_t>(i)])] = i;
  const Tensor moved = transpose(x, perm);
  const Tensor length = reshape(cast(in[1], int64), {-1, 1});                          // [B, 1]
  const Tensor steps = shape_at(moved, 1);
  const Tensor i = reshape(range(constant(int64_t{0}), steps, constant(int64_t{1})), {1, -1});  // [1, T]
  const Tensor from = where(less(i, length), length - constant(int64_t{1}) - i, i + zeros_like(length));
  return transpose(gather(moved, from, 1, 1), back);
}

// Conv3D, MaxPool3D and AvgPool3D (NDHWC, a depth known when loading): the
// depth window is unrolled. For each tap t of it, the input's depths
// o·stride + t·dilation (of the input padded along depth by TensorFlow's
// SAME rule), for every output depth o, go through the 2-D op (Conv2D with
// the filter's tap t, MaxPool, AvgPool: TensorFlow's own per-dimension
// rules for height and width) as a batch of [batch·out_depth] images, and
// the taps are summed (Conv3D), maxed (MaxPool3D, the padding the lowest
// value) or summed and divided by the taps inside the input (AvgPool3D,
// which as TensorFlow counts only those).
Tensor window3d(const std::string& op, const std::vector<Tensor>& in, const tf::NodeDef& n, const std::string& what) {
  const Tensor& x = in[0];
  auto ints = [&](const char* key, std::vector<int64_t> fallback) {
    auto it = n.attr().find(key);
    if (it == n.attr().end()) return fallback;
    return std::vector<int64_t>(it->second.list().i().begin(), it->second.list().i().end());
  };
  auto format = n.attr().find("data_format");
  EMBER_CHECK(format == n.attr().end() || format->second.s() == "NDHWC", Unimplemented, what, ": ", op,
              " of data format ", format->second.s(), " (ember imports NDHWC)");
  auto pad_attr = n.attr().find("padding");
  const std::string padding = pad_attr == n.attr().end() ? "" : pad_attr->second.s();
  EMBER_CHECK(padding == "VALID" || padding == "SAME", InvalidArgument, what, ": ", op, "'s padding must be VALID or SAME");
  const bool conv = op == op_name::Conv3D;
  const std::vector<int64_t> strides = ints("strides", {}), dilations = ints("dilations", {1, 1, 1, 1, 1});
  const std::vector<int64_t> ksize = conv ? std::vector<int64_t>{} : ints("ksize", {});
  EMBER_CHECK(strides.size() == 5 && dilations.size() == 5 && (conv || ksize.size() == 5), InvalidArgument, what, ": ",
              op, " needs five strides", conv ? " and dilations" : " and ksize");
  EMBER_CHECK(x.shape().rank_known() && x.rank() == 5 && x.dim(1) >= 0, Unimplemented, what, ": ", op,
              " of a tensor whose depth is unknown when loading (", x.shape().to_string(), ")");
  const Tensor& filter = conv ? in[1] : x;
  if (conv)
    EMBER_CHECK(filter.shape().rank_known() && filter.rank() == 5 && filter.dim(0) > 0, Unimplemented, what,
                ": Conv3D of a filter whose depth is unknown when loading (", filter.shape().to_string(), ")");
  const int64_t depth = x.dim(1), taps = conv ? filter.dim(0) : ksize[1], stride = strides[1],
                step = conv ? dilations[1] : 1;
  EMBER_CHECK(taps > 0 && stride > 0 && step > 0, InvalidArgument, what, ": ", op, "'s window, stride and dilation must be positive");
  const int64_t span = (taps - 1) * step + 1;
  const auto [out, before, after] = window_extent(depth, span, stride, padding);
  EMBER_CHECK(out > 0, InvalidArgument, what, ": ", op, " of depth ", depth, " is smaller than its window of ", span);
  const DType t = x.dtype();
  const Tensor padded = before + after == 0 ? x
                        : pad(x, {{0, 0}, {before, after}, {0, 0}, {0, 0}, {0, 0}}, PadMode::Constant,
                              op == op_name::MaxPool3D ? -largest_finite(t) : 0.0);
  const Tensor dims = shape(x, int64);
  // A reshape to [-1, rest...]: static where rest is known when loading (so
  // what follows knows the shape), else to the run-time sizes.
  auto reshape_to = [&](const Tensor& v, std::vector<int64_t> lead, const Tensor& lead_run, const Tensor& rest_of, int64_t from) {
    Dims d(lead.begin(), lead.end());
    bool known = true;
    for (int64_t i = from; i < rest_of.rank(); ++i) {
      d.push_back(rest_of.dim(static_cast<int>(i)));
      known = known && rest_of.dim(static_cast<int>(i)) >= 0;
    }
    if (known) return reshape(v, TensorShape(d));
    return reshape(v, concat({lead_run, slice(shape(rest_of, int64), {from}, {rest_of.rank() - from})}, 0));
  };
  Tensor result;
  for (int64_t tap = 0; tap < taps; ++tap) {
    std::vector<int64_t> at(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) at[static_cast<size_t>(o)] = o * stride + tap * step;
    const Tensor slices = reshape_to(gather(padded, constant(at), 1), {-1}, constant(std::vector<int64_t>{-1}), x, 2);
    Tensor y;
    if (conv)
      y = conv2d(slices, gather(filter, constant(tap), 0),
                 {.strides = {1, strides[2], strides[3], 1}, .padding = padding, .dilations = {1, dilations[2], dilations[3], 1}});
    else if (op == op_name::MaxPool3D)
      y = max_pool2d(slices, {1, ksize[2], ksize[3], 1}, {1, strides[2], strides[3], 1}, padding);
    else
      y = avg_pool2d(slices, {1, ksize[2], ksize[3], 1}, {1, strides[2], strides[3], 1}, padding);
    y = reshape_to(y, {-1, out}, concat({constant(std::vector<int64_t>{-1}), constant(std::vector<int64_t>{out})}, 0), y, 1);
    result = !result.defined() ? y : op == op_name::MaxPool3D ? maximum(result, y) : result + y;
  }
  if (op == op_name::AvgPool3D) {  // divided by the taps inside the input, per output depth
    std::vector<double> inside(static_cast<size_t>(out), 0.0);
    for (int64_t o = 0; o < out; ++o)
      for (int64_t tap = 0; tap < taps; ++tap) {
        const int64_t d = o * stride + tap - before;
        if (d >= 0 && d < depth) inside[static_cast<size_t>(o)] += 1;
      }
    result = result / cast(constant(inside, TensorShape{1, out, 1, 1, 1}), t);
  }
  return result;
}

// The 3-D windows' gradient ops in TensorFlow's gradient graphs (and
// Conv3DBackpropInputV2, Keras's Conv3DTranspose): the adjoints of the
// imported Conv3D, MaxPool3D and AvgPool3D. Conv3DBackpropInputV2
// (input_sizes, filter, out_backprop) and AvgPool3DGrad(orig_input_shape,
// grad) with respect to zeros of the given size (linear in them: a
// constant size, known when loading), Conv3DBackpropFilterV2(input,
// filter_sizes, out_backprop) with respect to zeros of the filter's size,
// MaxPool3DGrad(orig_input, orig_output, grad) at the original input.
std::vector<Tensor> window3d_gradient(const std::string& op, const std::vector<Tensor>& in, const tf::NodeDef& n,
                                      const std::string& what) {
  const size_t inputs = op == op_name::AvgPool3DGrad ? 2 : 3;
  EMBER_CHECK(in.size() == inputs, InvalidArgument, what, ": op ", op, " takes ", inputs, " inputs, got ", in.size());
  auto zeros_of = [&](const Tensor& sizes, DType t) {
    EMBER_CHECK(!sizes.is_symbolic() && sizes.num_elements() == 5, Unimplemented, what, ": ", op,
                "'s sizes must be a constant of five values");
    return zeros(TensorShape(sizes.index_values()), t);
  };
  tf::NodeDef forward = n;
  const std::string forward_op = op == op_name::MaxPool3DGrad   ? op_name::MaxPool3D
                                 : op == op_name::AvgPool3DGrad ? op_name::AvgPool3D
                                                                : op_name::Conv3D;
  forward.set_op(forward_op);
  auto window = [&](std::vector<Tensor> args) { return window3d(forward_op, args, forward, what); };
  if (op == op_name::Conv3DBackpropInputV2)
    return {adjoint([&](const Tensor& x) { return window({x, in[1]}); }, zeros_of(in[0], in[1].dtype()), in[2])};
  if (op == op_name::Conv3DBackpropFilterV2)
    return {adjoint([&](const Tensor& w) { return window({in[0], w}); }, zeros_of(in[1], in[0].dtype()), in[2])};
  if (op == op_name::AvgPool3DGrad)
    return {adjoint([&](const Tensor& x) { return window({x}); }, zeros_of(in[0], in[1].dtype()), in[1])};
  const Tensor dx = adjoint([&](const Tensor& x) { return window({x}); }, in[0], in[2]);  // MaxPool3DGrad
  return {dx.dtype() == in[2].dtype() ? dx : cast(dx, in[2].dtype())};
}

// A TensorList's element_shape input (TensorFlow's form: -1 for an unknown
// rank, -1 for each unknown dimension), a constant.
TensorShape element_shape_of(const Tensor& t, const std::string& what) {
  EMBER_CHECK(!t.is_symbolic() && (t.dtype() == int32 || t.dtype() == int64), Unimplemented, what,
              ": a list's element_shape must be a constant of int32 or int64");
  std::vector<int64_t> ints = t.index_values();
  if (t.shape().rank() == 0) return ints.at(0) == -1 ? TensorShape::unknown_rank() : TensorShape{};
  for (int64_t& d : ints) d = d < 0 ? TensorShape::kUnknown : d;
  return TensorShape(ints);
}

// TensorFlow's gradient ops of the activations (their gradient functions'
// kernels, cwise_ops_gradients.h and relu_op_functor.h), as ember's ops, so
// that their own gradients follow: (y, dy) for SigmoidGrad, TanhGrad,
// RsqrtGrad, SqrtGrad and ReciprocalGrad, of the op's output y;
// (gradients, features or outputs) for the others. None: not one of them.
std::optional<Tensor> activation_gradient(const std::string& op, const std::vector<Tensor>& in, const tf::NodeDef& n,
                                          const std::string& what) {
  static const std::unordered_set<std::string> ops{op_name::SigmoidGrad,   op_name::TanhGrad,      op_name::RsqrtGrad,
                                                   op_name::SqrtGrad,      op_name::ReciprocalGrad, op_name::EluGrad,
                                                   op_name::SeluGrad,      op_name::LeakyReluGrad, op_name::Relu6Grad,
                                                   op_name::SoftplusGrad,  op_name::SoftsignGrad};
  if (!ops.count(op)) return std::nullopt;
  EMBER_CHECK(in.size() == 2, InvalidArgument, what, ": op ", op, " takes 2 inputs, got ", in.size());
  const Tensor &a = in[0], &b = in[1];
  auto k = [&](double v) { return scalar_like(a, v); };
  const Tensor zero = zeros_like(b);
  if (op == op_name::SigmoidGrad) return b * a * (k(1) - a);       // dy·y·(1 - y)
  if (op == op_name::TanhGrad) return b * (k(1) - a * a);          // dy·(1 - y²)
  if (op == op_name::RsqrtGrad) return b * (a * a * a) * k(-0.5);  // dy·y³·(-1/2)
  if (op == op_name::SqrtGrad) return b * k(0.5) / a;              // dy·(1/2)/y
  if (op == op_name::ReciprocalGrad) return -(b * a * a);          // -dy·y²
  if (op == op_name::EluGrad) return where(less(b, zero), a * (b + k(1)), a);  // of elu's outputs
  if (op == op_name::SeluGrad) {  // of selu's outputs: outputs + scale·alpha below 0, else scale (at 0 too)
    constexpr double kScale = 1.0507009873554804934193349852946, kAlpha = 1.6732632423543772848170429916717;
    return where(less(b, zero), a * (b + k(kScale * kAlpha)), a * k(kScale));
  }
  if (op == op_name::LeakyReluGrad) {
    const double alpha = std::get<double>(attr_or_default(n, "alpha", AttrKind::Float, what).value());  // (default 0.2)
    return where(greater(b, zero), a, a * k(alpha));
  }
  if (op == op_name::Relu6Grad) return where(logical_and(greater(b, zero), less(b, k(6))), a, zeros_like(a));
  if (op == op_name::SoftplusGrad) return a * sigmoid(b);
  const Tensor d = k(1) + abs(b);  // SoftsignGrad: dy / (1 + |x|)²
  return a / (d * d);
}

// DynamicStitch (indices_0..n-1, data_0..n-1): merged[indices_m[...]] =
// data_m[...], a later one winning where an index repeats (TensorFlow's
// rule): for each output row, the last position of the flattened indices
// that names it (an unsorted segment max of the positions), gathered from
// the flattened data. (The reductions' gradients stitch their shapes.)
Tensor dynamic_stitch(const std::vector<Tensor>& in, const std::string& what) {
  EMBER_CHECK(!in.empty() && in.size() % 2 == 0, InvalidArgument, what,
              ": DynamicStitch takes as many data tensors as indices, got ", in.size(), " inputs");
  const size_t count = in.size() / 2;
  std::vector<Tensor> indices, rows;
  for (size_t m = 0; m < count; ++m) {
    const Tensor &idx = in[m], &data = in[count + m];
    EMBER_CHECK(idx.shape().rank_known() && data.shape().rank_known(), Unimplemented, what,
                ": DynamicStitch of tensors of unknown rank");
    indices.push_back(reshape(cast(idx, int64), {-1}));
    // data_m is [indices_m's shape..., row...]: flattened to [count_m, row...].
    Dims row{-1};
    for (int64_t i = idx.rank(); i < data.rank(); ++i) row.push_back(data.dim(i));
    EMBER_CHECK(std::count(row.begin(), row.end(), TensorShape::kUnknown) == 1, Unimplemented, what,
                ": DynamicStitch of rows whose shape is not known when loading");
    rows.push_back(reshape(data, TensorShape(row)));
  }
  const Tensor all = concat(indices, 0), values = concat(rows, 0);
  const Tensor one = constant(int64_t{1}), size = reduce_max(all) + one;  // (the lowest int64 for none)
  const Tensor outputs = maximum(size, zeros_like(size));
  const Tensor positions = range(zeros_like(one), shape_at(all, 0), one);
  const Tensor last = unsorted_segment_max(positions, all, outputs);  // (each output index is named: ids 0..max)
  return gather(values, maximum(last, zeros_like(last)));
}

// A TensorFlow op ember has no op of its own for, as the ops that compute
// it. `need_inputs` checks the input count, `constant_ints` reads a constant
// input's values, `out_type` the node's out_type attribute.
// TensorFlow's NonMaxSuppression to V4 as V5 without soft suppression:
// V1 (its IOU threshold an attribute) and V2 with no score threshold (the
// dtype's lowest value, as their kernels), V3 and V4 with their thresholds
// converted to the boxes' dtype (their T_threshold may differ); V4's
// padding attribute passed on, its outputs the indices and the count.
std::vector<Tensor> non_max_suppression_v5(const std::string& op, const std::vector<Tensor>& in, const tf::NodeDef& n,
                                           const std::string& what) {
  const size_t inputs = op == op_name::NonMaxSuppression ? 3 : op == op_name::NonMaxSuppressionV2 ? 4 : 5;
  EMBER_CHECK(in.size() == inputs, InvalidArgument, what, ": op ", op, " takes ", inputs, " inputs, got ", in.size());
  const Tensor& boxes = in[0];
  auto in_boxes_dtype = [&](const Tensor& t) { return t.dtype() == boxes.dtype() ? t : cast(t, boxes.dtype()); };
  Tensor iou = in.size() > 3 ? in_boxes_dtype(in[3])
                             : scalar_like(boxes, std::get<double>(attr_or_default(n, "iou_threshold", AttrKind::Float, what).value()));
  const double lowest = boxes.dtype() == float16    ? -65504.0
                        : boxes.dtype() == bfloat16 ? -3.3895313892515355e38
                        : boxes.dtype() == float64  ? -std::numeric_limits<double>::max()
                                                    : -static_cast<double>(std::numeric_limits<float>::max());
  Tensor score = in.size() > 4 ? in_boxes_dtype(in[4]) : scalar_like(boxes, lowest);
  bool pad = false;
  if (op == op_name::NonMaxSuppressionV4) pad = std::get<bool>(attr_or_default(n, "pad_to_max_output_size", AttrKind::Bool, what).value());
  std::vector<Tensor> out = execute(op_def(op_name::NonMaxSuppressionV5),
                                    {boxes, in[1], in[2], iou, score, scalar_like(boxes, 0)}, {{"pad_to_max_output_size", pad}});
  if (op == op_name::NonMaxSuppressionV4) return {out[0], out[2]};
  return {out[0]};
}

std::vector<Tensor> composite(const std::string& op, const std::vector<Tensor>& in, const tf::NodeDef& n,
                              const std::string& what) {
  auto need_inputs = [&](size_t k) {
    EMBER_CHECK(in.size() == k, InvalidArgument, what, ": op ", op, " takes ", k, " inputs, got ", in.size());
  };
  auto constant_ints = [&](size_t i) {
    EMBER_CHECK(!in[i].is_symbolic(), Unimplemented, what, ": input ", i, " of op ", op, " must be a constant");
    EMBER_CHECK(in[i].dtype() == int32 || in[i].dtype() == int64, InvalidArgument, what, ": input ", i, " of op ", op,
                " must be int32 or int64, got ", dtype_name(in[i].dtype()));
    return in[i].index_values();
  };
  auto out_type = [&]() {
    auto it = n.attr().find("out_type");
    return it == n.attr().end() ? int32 : ember_dtype(it->second.type(), what);
  };
  if (op == op_name::Pad) {  // PadV2 with zeros
    need_inputs(2);
    return execute(op_def(op_name::PadV2), {in[0]}, Attrs{{"paddings", constant_ints(1)}, {"constant_values", 0.0}});
  }
  if (op == op_name::Select) {  // TensorFlow 1's select: condition of the same shape (or a vector of rows)
    need_inputs(3);
    EMBER_CHECK(in[0].shape().rank_known() && in[1].shape().rank_known() && in[0].shape().rank() == in[1].shape().rank(),
                Unimplemented, what, ": Select with a condition of another rank than its values");
    return {where(in[0], in[1], in[2])};
  }
  if (op == op_name::Split) {  // Split(axis, value) into num_split equal parts
    need_inputs(2);
    std::vector<int64_t> axis = constant_ints(0);
    EMBER_CHECK(axis.size() == 1, InvalidArgument, what, ": Split's axis must be one value");
    auto it = n.attr().find("num_split");
    EMBER_CHECK(it != n.attr().end() && it->second.i() > 0, InvalidArgument, what, ": Split lacks num_split");
    const TensorShape& shape = in[1].shape();
    EMBER_CHECK(shape.rank_known(), Unimplemented, what, ": Split of a tensor of unknown rank");
    int64_t a = axis[0] < 0 ? axis[0] + shape.rank() : axis[0];
    EMBER_CHECK(a >= 0 && a < shape.rank() && shape.dim(static_cast<int>(a)) != TensorShape::kUnknown, Unimplemented,
                what, ": Split along an axis whose size is unknown");
    int64_t parts = it->second.i(), size = shape.dim(static_cast<int>(a));
    EMBER_CHECK(size % parts == 0, InvalidArgument, what, ": Split of ", size, " into ", parts, " equal parts");
    return split(in[1], parts, a);
  }
  if (op == op_name::L2Loss) {
    need_inputs(1);
    return {l2_loss(in[0])};
  }
  if (op == op_name::RGBToHSV || op == op_name::HSVToRGB) {
    need_inputs(1);
    return {op == op_name::RGBToHSV ? rgb_to_hsv(in[0]) : hsv_to_rgb(in[0])};
  }
  if (op == op_name::ImageProjectiveTransformV2) {  // V3 with a fill value of 0
    need_inputs(3);
    Attrs attrs;
    for (const char* a : {"interpolation", "fill_mode"})
      attrs.set(a, std::get<std::string>(attr_or_default(n, a, AttrKind::String, what).value()));
    return execute(op_def(op_name::ImageProjectiveTransformV3), {in[0], in[1], constant(0.f), in[2]}, attrs);
  }
  if (op == op_name::NonMaxSuppression || op == op_name::NonMaxSuppressionV2 || op == op_name::NonMaxSuppressionV3 ||
      op == op_name::NonMaxSuppressionV4)
    return non_max_suppression_v5(op, in, n, what);
  if (op == op_name::SquaredDifference) {
    need_inputs(2);
    return {square(sub(in[0], in[1]))};
  }
  if (op == op_name::Einsum) {
    auto it = n.attr().find("equation");
    EMBER_CHECK(it != n.attr().end(), InvalidArgument, what, ": Einsum lacks its equation");
    return {einsum(it->second.s(), in)};
  }
  if (op == op_name::MatrixBandPart) {
    need_inputs(3);
    EMBER_CHECK(in[0].shape().rank_known() && in[0].rank() >= 2, Unimplemented, what,
                ": MatrixBandPart of a tensor of unknown rank or rank below 2");
    return {band_part(in[0], in[1], in[2])};
  }
  if (op == op_name::ReverseV2) {
    need_inputs(2);
    return {reverse(in[0], constant_ints(1))};
  }
  if (op == op_name::ResizeBilinear) return {resize_bilinear(in, n, what)};
  if (op == op_name::MatrixDiagV3) {  // a [..., L] diagonal into [..., R, C] matrices of padding_value elsewhere
    need_inputs(5);
    const Tensor& diag = in[0];
    EMBER_CHECK(diag.shape().rank_known() && diag.rank() >= 1, Unimplemented, what,
                ": MatrixDiagV3 of a diagonal of unknown rank or a scalar");
    const int64_t k = one_diagonal(in[1], op, what);
    const std::vector<int64_t> given_rows = constant_ints(2), given_cols = constant_ints(3);
    EMBER_CHECK(given_rows.size() == 1 && given_cols.size() == 1, InvalidArgument, what,
                ": MatrixDiagV3's num_rows and num_cols must be scalars");
    // TensorFlow's sizes: the least that hold the diagonal, square when neither is given.
    const Tensor len = shape_at(diag, -1);
    const Tensor least_rows = len + constant(std::max<int64_t>(-k, 0)), least_cols = len + constant(std::max<int64_t>(k, 0));
    Tensor rows = given_rows[0] >= 0 ? constant(given_rows[0]) : least_rows;
    Tensor cols = given_cols[0] >= 0 ? constant(given_cols[0]) : least_cols;
    if (given_rows[0] < 0 && given_cols[0] < 0) rows = cols = maximum(least_rows, least_cols);
    const Diagonal d = diagonal_grid(k, rows, cols);
    return {where(d.on(), spread(diag, d), cast(in[4], diag.dtype()))};
  }
  if (op == op_name::MatrixDiagPartV3) {  // x[..., i, i + k] (or [i - k, i]) for each i along diagonal k
    need_inputs(3);
    const Tensor& x = in[0];
    EMBER_CHECK(x.shape().rank_known() && x.rank() >= 2, Unimplemented, what,
                ": MatrixDiagPartV3 of a tensor of unknown rank or rank below 2");
    const int64_t k = one_diagonal(in[1], op, what);
    const Tensor rows = shape_at(x, -2), cols = shape_at(x, -1);
    const Tensor zero = constant(int64_t{0}), one = constant(int64_t{1});
    const Tensor first_row = constant(std::max<int64_t>(-k, 0)), first_col = constant(std::max<int64_t>(k, 0));
    const Tensor len = maximum(minimum(rows - first_row, cols - first_col), zero);
    const Tensor i = range(zero, len, one);
    // Each element's flat position in the last two dimensions, gathered from x with those merged.
    const Tensor leading = slice(shape(x, int64), {0}, {x.rank() - 2});
    const Tensor flat = reshape(x, concat({leading, reshape(rows * cols, TensorShape{1})}, 0));
    return {gather(flat, (i + first_row) * cols + i + first_col, x.rank() - 2)};
  }
  if (op == op_name::MatrixSetDiagV3) {  // x with diagonal k replaced by the [..., L] values
    need_inputs(3);
    const Tensor& x = in[0];
    EMBER_CHECK(x.shape().rank_known() && x.rank() >= 2 && in[1].shape().rank_known(), Unimplemented, what,
                ": MatrixSetDiagV3 of a tensor of unknown rank or rank below 2");
    const int64_t k = one_diagonal(in[2], op, what);
    const Diagonal d = diagonal_grid(k, shape_at(x, -2), shape_at(x, -1));
    return {where(d.on(), spread(in[1], d), x)};
  }
  if (op == op_name::ResizeNearestNeighbor) return {resize_nearest(in, n, what)};
  if (op == op_name::ResizeBicubic) return {resize_bicubic(in, n, what)};
  if (op == op_name::ResizeBilinearGrad || op == op_name::ResizeNearestNeighborGrad || op == op_name::ResizeBicubicGrad)
    return {resize_gradient(in, n, what)};
  if (op == op_name::CropAndResize) return {crop_and_resize(in, n, what)};
  if (op == op_name::ConcatOffset) {  // (concat_dim, shape_0, ...): each shape's offset in ConcatV2's output
    EMBER_CHECK(in.size() >= 2, InvalidArgument, what, ": ConcatOffset takes concat_dim and at least one shape");
    const Tensor& first = in[1];
    const DType t = first.dtype();
    const Tensor rank = shape_at(first, 0, t);
    const Tensor axis = floormod(cast(in[0], t), rank);  // (a negative concat_dim counts from the end)
    const Tensor at_axis = equal(range(zeros_like(rank), rank, ones_like(rank)), axis);
    // Offset i: zero but along the axis, where it is the sum of the shapes before it.
    Tensor before = zeros_like(first);
    std::vector<Tensor> offsets;
    for (size_t i = 1; i < in.size(); ++i) {
      offsets.push_back(where(at_axis, before, zeros_like(first)));
      before = before + in[i];
    }
    return offsets;
  }
  if (op == op_name::ExtractImagePatches) {
    need_inputs(1);
    return {extract_patches(in[0], n, what)};
  }
  if (op == op_name::SpaceToDepth || op == op_name::DepthToSpace) {
    need_inputs(1);
    return {space_depth(op, in[0], n, what)};
  }
  if (op == op_name::Conv3D) {
    need_inputs(2);
    return {window3d(op, in, n, what)};
  }
  if (op == op_name::MaxPool3D || op == op_name::AvgPool3D) {
    need_inputs(1);
    return {window3d(op, in, n, what)};
  }
  if (op == op_name::Conv3DBackpropInputV2 || op == op_name::Conv3DBackpropFilterV2 || op == op_name::MaxPool3DGrad ||
      op == op_name::AvgPool3DGrad)
    return window3d_gradient(op, in, n, what);
  if (op == op_name::TensorScatterUpdate) {  // each indexed element (or slice) replaced by its update
    need_inputs(3);
    const Tensor &t = in[0], &indices = in[1], &updates = in[2];
    // How often each element is written: TensorFlow leaves the order of duplicates undefined,
    // a sum of scatters would add them, so duplicates are refused when it runs.
    const Tensor writes = tensor_scatter_add(zeros_like(t), indices, ones_like(updates));
    const Tensor zero = zeros_like(writes);
    const Tensor once = ember::check(writes, less_equal(reduce_max(writes), ones_like(reduce_max(writes))),
                                     what + ": TensorScatterUpdate with duplicate indices (ember writes each element once)");
    return {tensor_scatter_add(where(greater(once, zero), zeros_like(t), t), indices, updates)};
  }
  if (op == op_name::SegmentSum || op == op_name::SegmentMean || op == op_name::SegmentMax ||
      op == op_name::SegmentMin || op == op_name::SegmentProd) {
    need_inputs(2);
    const Tensor &data = in[0], &ids = in[1];
    return {op == op_name::SegmentSum    ? segment_sum(data, ids)
            : op == op_name::SegmentMean ? segment_mean(data, ids)
            : op == op_name::SegmentMax  ? segment_max(data, ids)
            : op == op_name::SegmentMin  ? segment_min(data, ids)
                                         : segment_prod(data, ids)};
  }
  if (op == op_name::ReverseSequence) {
    need_inputs(2);
    return {reverse_sequence(in, n, what)};
  }
  if (op == op_name::LowerBound || op == op_name::UpperBound) {  // per value, how many sorted entries are below it (or at most it)
    need_inputs(2);
    const Tensor sorted = expand_dims(in[0], -2), values = expand_dims(in[1], -1);  // [B, 1, N], [B, M, 1]
    const Tensor hits = op == op_name::LowerBound ? less(sorted, values) : less_equal(sorted, values);
    return {reduce_sum(cast(hits, out_type()), std::vector<int64_t>{-1})};
  }
  if (op == op_name::Bucketize) {  // per element, how many boundaries are at or below it (upper_bound's position)
    need_inputs(1);
    std::vector<float> bounds;
    if (auto it = n.attr().find("boundaries"); it != n.attr().end())
      bounds.assign(it->second.list().f().begin(), it->second.list().f().end());
    EMBER_CHECK(std::is_sorted(bounds.begin(), bounds.end()), InvalidArgument, what,
                ": Bucketize's boundaries must be sorted");
    const Tensor& x = in[0];
    if (bounds.empty()) return {zeros_like(cast(x, int32))};
    // TensorFlow compares each value with the float boundaries (a double input as a double).
    const Tensor v = x.dtype() == float64 ? x : cast(x, float32);
    const Tensor b = cast(constant(bounds), v.dtype());
    Tensor count = reduce_sum(cast(greater_equal(expand_dims(v, -1), b), int32), std::vector<int64_t>{-1});
    if (is_floating(v.dtype()))  // NaN is below no boundary: past the last, as upper_bound finds it
      count = where(is_nan(v), ones_like(count) * static_cast<int32_t>(bounds.size()), count);
    return {count};
  }
  if (op == op_name::Cross) {  // a × b along the last axis of 3: a_yzx·b_zxy - a_zxy·b_yzx
    need_inputs(2);
    const Tensor &a = in[0], &b = in[1];
    EMBER_CHECK(a.shape().rank_known() && a.rank() >= 1 && a.dim(-1) == 3 && a.shape() == b.shape(), InvalidArgument,
                what, ": Cross takes two tensors of one shape [..., 3], got ", a.shape().to_debug_string(), " and ",
                b.shape().to_debug_string());
    auto turned = [&](const Tensor& v, std::vector<int32_t> order) {
      return gather(v, constant(order, TensorShape{3}), v.rank() - 1);
    };
    return {turned(a, {1, 2, 0}) * turned(b, {2, 0, 1}) - turned(a, {2, 0, 1}) * turned(b, {1, 2, 0})};
  }
  if (op == op_name::LRN) {  // x / (bias + alpha·Σ x² over the 2r + 1 channels around)^beta, NHWC
    need_inputs(1);
    const Tensor& x = in[0];
    EMBER_CHECK(x.shape().rank_known() && x.rank() == 4 && x.dim(3) >= 0, Unimplemented, what,
                ": LRN of images [batch, height, width, channels] whose channels are unknown when loading, got ",
                x.shape().to_debug_string());
    auto number = [&](const char* name, double fallback) {
      auto it = n.attr().find(name);
      return it == n.attr().end() ? fallback : it->second.value_case() == tf::AttrValue::kI ? double(it->second.i())
                                                                                         : double(it->second.f());
    };
    const auto r = static_cast<int64_t>(number("depth_radius", 5));
    const double bias = number("bias", 1), alpha = number("alpha", 1), beta = number("beta", 0.5);
    EMBER_CHECK(r >= 0, InvalidArgument, what, ": LRN's depth_radius must be non-negative, got ", r);
    const int64_t channels = x.dim(3);
    const Tensor squares = pad(square(x), {{0, 0}, {0, 0}, {0, 0}, {r, r}});
    Tensor sums;
    for (int64_t k = 0; k <= 2 * r; ++k) {
      const Tensor window = slice(squares, {0, 0, 0, k}, {-1, -1, -1, channels});
      sums = sums.defined() ? sums + window : window;
    }
    return {x / pow(scalar_like(x, bias) + scalar_like(x, alpha) * sums, scalar_like(x, beta))};
  }
  if (op == op_name::HistogramFixedWidth) {  // TensorFlow's bins: min((max(v, lo) - lo) / step, nbins - 1), truncated
    need_inputs(3);
    const std::vector<int64_t> bins = constant_ints(2);
    EMBER_CHECK(bins.size() == 1 && bins[0] > 0, InvalidArgument, what, ": HistogramFixedWidth's nbins must be positive");
    auto it = n.attr().find("dtype");
    const DType t = it == n.attr().end() ? int32 : ember_dtype(it->second.type(), what);
    const Tensor v = reshape(cast(in[0], float64), {-1}), range_ = cast(in[1], float64);
    const Tensor lo = reshape(slice(range_, {0}, {1}), TensorShape{}), hi = reshape(slice(range_, {1}, {1}), TensorShape{});
    const Tensor step = (hi - lo) / constant(double(bins[0]), float64);
    const Tensor bin = cast(minimum((maximum(v, lo) - lo) / step, constant(double(bins[0] - 1), float64)), int32);
    return {unsorted_segment_sum(ones_like(cast(bin, t)), bin, bins[0])};
  }
  if (op == op_name::Rint) {
    need_inputs(1);
    return {round(in[0])};
  }
  if (op == op_name::PreventGradient) {
    need_inputs(1);
    return {identity(in[0])};
  }
  if (op == op_name::Roll) {
    need_inputs(3);
    return {roll(in[0], constant_ints(1), constant_ints(2))};
  }
  if (op == op_name::BroadcastArgs) {  // the broadcast of two shape vectors: the shorter padded with ones
    need_inputs(2);
    EMBER_CHECK(in[0].shape().rank_known() && in[0].rank() == 1 && in[0].dim(0) >= 0 && in[1].shape().rank_known() &&
                    in[1].rank() == 1 && in[1].dim(0) >= 0,
                Unimplemented, what, ": BroadcastArgs of shape vectors whose lengths are unknown when loading");
    const int64_t rank = std::max(in[0].dim(0), in[1].dim(0));
    auto padded = [&](const Tensor& s) {
      const int64_t pad = rank - s.dim(0);
      return pad == 0 ? s : concat({ones(TensorShape{pad}, s.dtype()), s}, 0);
    };
    const Tensor a = padded(in[0]), b = padded(in[1]);
    return {where(equal(a, ones(TensorShape{rank}, a.dtype())), b, a)};
  }
  if (op == op_name::DenseBincount) {  // counts (weights' sums) of each value in [0, size), per row of a matrix
    need_inputs(3);
    EMBER_CHECK(in[0].shape().rank_known() && (in[0].rank() == 1 || in[0].rank() == 2), InvalidArgument, what,
                ": DenseBincount takes a vector or a matrix, got ", in[0].shape().to_string());
    auto it = n.attr().find("T");
    const DType t = it == n.attr().end() ? float32 : ember_dtype(it->second.type(), what);
    auto flag = n.attr().find("binary_output");
    const bool binary = flag != n.attr().end() && flag->second.b();
    // (The size may be computed: tf.math.bincount's from the largest value.)
    const Tensor size = reshape(cast(in[1], in[0].dtype()), TensorShape{});
    const Tensor zero = zeros_like(size), one = ones_like(size);
    // hits[..., j, k]: value j is k, for k in [0, size) (values outside hit nothing, as TensorFlow ignores them)
    Tensor hits = cast(equal(expand_dims(in[0], -1), range(zero, size, one)), t);
    if (!binary && in[2].num_elements() != 0) hits = hits * expand_dims(cast(in[2], t), -1);
    Tensor counts = reduce_sum(hits, std::vector<int64_t>{in[0].rank() - 1});
    if (binary) counts = cast(greater(counts, zeros_like(counts)), t);
    return {counts};
  }
  if (op == op_name::IsNan || op == op_name::IsInf || op == op_name::IsFinite) {
    need_inputs(1);
    return {op == op_name::IsNan ? is_nan(in[0]) : op == op_name::IsInf ? is_inf(in[0]) : is_finite(in[0])};
  }
  if (const auto g = activation_gradient(op, in, n, what)) return {*g};
  if (op == op_name::ShapeN) {
    std::vector<Tensor> shapes;
    for (const Tensor& x : in) shapes.push_back(shape(x, out_type()));
    return shapes;
  }
  if (op == op_name::VariableShape) {  // a resource variable's shape: a constant where it is fully known
    need_inputs(1);
    const Variable v = Variable::from_handle(in[0]);
    const TensorShape s = v.shape();
    if (s.is_fully_defined()) return {cast(constant(s.as_vector()), out_type())};
    return {shape(v.read_value(), out_type())};
  }
  if (op == op_name::DynamicStitch || op == op_name::ParallelDynamicStitch) return {dynamic_stitch(in, what)};
  if (op == op_name::InvertPermutation) {  // y[x[i]] = i
    need_inputs(1);
    const Tensor& x = in[0];
    const Tensor count = size(x, x.dtype());
    return {unsorted_segment_sum(range(zeros_like(count), count, ones_like(count)), x, count)};
  }
  if (op == op_name::EmptyTensorList) {  // (element_shape, max_num_elements): a list of no elements
    need_inputs(2);
    auto dtype = n.attr().find("element_dtype");
    EMBER_CHECK(dtype != n.attr().end(), InvalidArgument, what, ": EmptyTensorList lacks element_dtype");
    return {list::reserve(constant(int32_t{0}), ember_dtype(dtype->second.type(), what), element_shape_of(in[0], what))};
  }
  if (op == op_name::Relu6) {
    need_inputs(1);
    Tensor six = cast(constant(6.0, float64, Device::cpu()), in[0].dtype());
    return {minimum(relu(in[0]), six)};
  }
  need_inputs(1);
  // Shape, Size, Rank: constants where the shape is known when loading, else ember's ops.
  if (op == op_name::Shape) return {shape(in[0], out_type())};
  if (op == op_name::Size) return {size(in[0], out_type())};
  return {rank(in[0])};
}

}  // namespace

FunctionImporter::FunctionImporter(const tf::FunctionDefLibrary& library, std::string where) : where_(std::move(where)) {
  for (const tf::FunctionDef& f : library.function()) functions_[f.signature().name()] = &f;
}

FunctionImporter::~FunctionImporter() = default;

const tf::FunctionDef& FunctionImporter::function(const std::string& name) const {
  auto it = functions_.find(name);
  if (it == functions_.end()) throw NotFound(where_ + ": the function library has no function '" + name + "'");
  return *it->second;
}

void FunctionImporter::check(const std::string& name) const {
  std::set<std::string> done;
  std::function<void(const std::string&, int)> visit = [&](const std::string& fn, int depth) {
    EMBER_CHECK(depth < 64, InvalidArgument, where_, ": function '", fn, "' is called 64 deep");
    if (!done.insert(fn).second) return;
    const tf::FunctionDef& f = function(fn);
    std::unordered_set<std::string> names;
    for (const auto& a : f.signature().input_arg()) names.insert(a.name());
    for (const tf::NodeDef& n : f.node_def()) names.insert(n.name());
    for (const tf::NodeDef& n : f.node_def()) {
      if (!structural_ops().count(n.op()) && !ember_ops().count(n.op()) && !composite_ops().count(n.op()))
        throw Unimplemented(where_ + ": function '" + fn + "' node '" + n.name() + "': op " + n.op() +
                            " is not one ember has");
      for (const std::string& in : n.input()) {
        Ref r = parse_ref(in, where_ + ": function '" + fn + "' node '" + n.name() + "'");
        if (!names.count(r.node))
          throw NotFound(where_ + ": function '" + fn + "' node '" + n.name() + "' reads '" + in +
                         "', which names no node or argument");
      }
      for (const std::string& callee : called_functions(n)) {
        if (!functions_.count(callee))
          throw NotFound(where_ + ": function '" + fn + "' node '" + n.name() + "' calls function '" + callee +
                         "', which the library does not hold");
        visit(callee, depth + 1);
      }
    }
    for (const auto& [out, ref] : f.ret()) {
      Ref r = parse_ref(ref, where_ + ": function '" + fn + "' output '" + out + "'");
      if (!names.count(r.node))
        throw NotFound(where_ + ": function '" + fn + "' output '" + out + "' reads '" + ref +
                       "', which names no node or argument");
    }
  };
  visit(name, 0);
}

std::vector<Tensor> FunctionImporter::replay(const std::string& name, const std::vector<Tensor>& inputs, int depth) const {
  EMBER_CHECK(depth < 64, InvalidArgument, where_, ": function '", name, "' calls functions 64 deep (a cycle?)");
  const tf::FunctionDef& f = function(name);
  const auto& sig = f.signature();
  EMBER_CHECK(static_cast<size_t>(sig.input_arg_size()) == inputs.size(), InvalidArgument, where_, ": function '",
              name, "' takes ", sig.input_arg_size(), " inputs; it is called with ", inputs.size());
  std::unordered_map<std::string, Tensor> args;
  for (int i = 0; i < sig.input_arg_size(); ++i) args[sig.input_arg(i).name()] = inputs[static_cast<size_t>(i)];
  std::unordered_map<std::string, const tf::NodeDef*> nodes;
  for (const tf::NodeDef& n : f.node_def()) nodes[n.name()] = &n;
  std::unordered_map<std::string, std::vector<Tensor>> values;

  // The nodes in dependency order (depth first, without recursion: a graph
  // may be a long chain), control inputs before data inputs so stateful
  // ops keep TensorFlow's order.
  std::vector<const tf::NodeDef*> order;
  {
    enum class Mark : uint8_t { None, Open, Done };
    std::unordered_map<const tf::NodeDef*, Mark> mark;
    std::vector<std::pair<const tf::NodeDef*, bool>> stack;
    for (const tf::NodeDef& root : f.node_def()) {
      stack.emplace_back(&root, false);
      while (!stack.empty()) {
        auto [n, expanded] = stack.back();
        stack.pop_back();
        Mark& m = mark[n];
        if (expanded) {
          m = Mark::Done;
          order.push_back(n);
          continue;
        }
        if (m == Mark::Done) continue;
        const std::string what = where_ + ": function '" + name + "' node '" + n->name() + "'";
        EMBER_CHECK(m != Mark::Open, InvalidArgument, what, ": its inputs form a cycle");
        m = Mark::Open;
        stack.emplace_back(n, true);
        for (int pass = 0; pass < 2; ++pass)  // data inputs pushed first, so control inputs run first
          for (const std::string& in : n->input()) {
            if (in.empty() || (in[0] == '^') != (pass == 1)) continue;
            Ref r = parse_ref(in, what);
            if (!r.control && r.arg.empty()) continue;  // an argument
            auto it = nodes.find(r.node);
            EMBER_CHECK(it != nodes.end(), NotFound, what, ": '", in, "' names no node");
            if (mark[it->second] != Mark::Done) stack.emplace_back(it->second, false);
          }
      }
    }
  }

  // String constants (ember has no string tensors): their text, for the
  // Asserts that print them. The Asserts: their condition and message, for
  // the Identity nodes that wait on them (TensorFlow's form of a check).
  std::unordered_map<std::string, std::string> strings;
  struct Check {
    Tensor condition;
    std::string message;
  };
  std::unordered_map<std::string, Check> asserts;
  auto value = [&](const std::string& ref, const std::string& what) -> Tensor {
    Ref r = parse_ref(ref, what);
    EMBER_CHECK(!strings.count(r.node), Unimplemented, what, ": '", ref, "' is a string tensor, which ember does not have");
    if (r.arg.empty()) {
      auto it = args.find(r.node);
      EMBER_CHECK(it != args.end(), NotFound, what, ": '", ref, "' names no argument");
      return it->second;
    }
    auto nit = nodes.find(r.node);
    EMBER_CHECK(nit != nodes.end(), NotFound, what, ": '", ref, "' names no node");
    auto vit = values.find(r.node);
    EMBER_CHECK(vit != values.end(), Internal, what, ": '", ref, "' read before it ran");
    const auto& outs = vit->second;
    int pos = output_position(nit->second->op(), r.arg, r.index);
    EMBER_CHECK(pos >= 0 && static_cast<size_t>(pos) < outs.size(), InvalidArgument, what, ": '", ref,
                "' reads output ", pos, " of a node with ", outs.size());
    return outs[static_cast<size_t>(pos)];
  };

  const size_t reads_before = generator_read_order_.size();
  for (const tf::NodeDef* n : order) {
    const std::string what = where_ + ": function '" + name + "' node '" + n->name() + "'";
    if (n->op() == op_name::Const) {
      auto v = n->attr().find("value");
      if (v != n->attr().end() && v->second.tensor().dtype() == tf::DT_STRING) {
        std::string text;
        for (const std::string& s : v->second.tensor().string_val()) text += (text.empty() ? "" : " ") + s;
        strings[n->name()] = text;
        values[n->name()] = {};
        continue;
      }
    }
    if (n->op() == op_name::Assert) {  // TensorFlow's message: "assertion failed: [data 1] [data 2] ..."
      EMBER_CHECK(n->input_size() >= 1 && !n->input(0).empty() && n->input(0)[0] != '^', InvalidArgument, what,
                  ": Assert without a condition");
      const Tensor condition = value(n->input(0), what);
      std::string message = "assertion failed:";
      for (int i = 1; i < n->input_size(); ++i) {
        const std::string& ref = n->input(i);
        if (ref.empty() || ref[0] == '^') continue;
        auto s = strings.find(parse_ref(ref, what).node);
        message += " [" + (s != strings.end() ? s->second : "(the values of " + ref + ")") + "]";
      }
      // Checked here (a stateful node a trace keeps), and again by each Identity that waits on it.
      ember::check(condition, condition, message);
      asserts[n->name()] = {condition, message};
      values[n->name()] = {};
      continue;
    }
    std::vector<Tensor> in;
    for (const std::string& ref : n->input())
      if (ref.empty() || ref[0] != '^') in.push_back(value(ref, what));
    try {
      values[n->name()] = run_node(*n, in, what, depth);
      if (n->op() == op_name::Identity && in.size() == 1)  // x once the Asserts it waits on hold
        for (const std::string& ref : n->input())
          if (!ref.empty() && ref[0] == '^')
            if (auto a = asserts.find(ref.substr(1)); a != asserts.end())
              values[n->name()][0] = ember::check(values[n->name()][0], a->second.condition, a->second.message);
    } catch (const Error& e) {
      // Every error names the model, the function and the node (once: a
      // callee's error names its own).
      if (std::string_view(e.what()).starts_with(where_)) throw;
      rethrow_with_prefix(what + ": ");
    }
  }
  for (size_t i = reads_before; i < generator_read_order_.size(); ++i)
    EMBER_CHECK(generator_reads_.at(generator_read_order_[i]).drawn, Unimplemented, where_, ": function '", name,
                "': RngReadAndSkip without a draw from the state it read (tf.random.Generator.skip), which ember does "
                "not import");
  std::vector<Tensor> result;
  for (const auto& a : sig.output_arg()) {
    auto it = f.ret().find(a.name());
    EMBER_CHECK(it != f.ret().end(), InvalidArgument, where_, ": function '", name, "' does not return its output '",
                a.name(), "'");
    result.push_back(value(it->second, where_ + ": function '" + name + "' output '" + a.name() + "'"));
  }
  return result;
}

namespace {

// The attribute `key` of node `n` (InvalidArgument naming it when absent).
const tf::AttrValue& node_attr(const tf::NodeDef& n, const char* key, const std::string& what) {
  auto it = n.attr().find(key);
  EMBER_CHECK(it != n.attr().end(), InvalidArgument, what, ": op ", n.op(), " lacks attribute '", key, "'");
  return it->second;
}

// An op of ember's registry: TensorFlow's attributes (defaults put back),
// and the constant inputs ember takes as attributes.
std::vector<Tensor> run_registered_op(const tf::NodeDef& n, const std::vector<Tensor>& in, const std::string& what) {
  const std::string& op = n.op();
  if (!ember_ops().count(op)) throw Unimplemented(what + ": op " + op + " is not one ember has");
  const OpDef& def = op_def(op);
  Attrs attrs;
  std::vector<bool> is_attr(in.size(), false);
  std::map<std::string, Tensor> attr_tensors;  // attributes computed in the graph, known when it runs
  for (const TfInputAttr& a : def.tf.input_attrs) {
    const int index = a.position < 0 ? static_cast<int>(in.size()) + a.position : a.position;
    EMBER_CHECK(index >= 0 && static_cast<size_t>(index) < in.size(), InvalidArgument, what, ": op ", op, " has ",
                in.size(), " inputs");
    const Tensor& t = in[static_cast<size_t>(index)];
    is_attr[static_cast<size_t>(index)] = true;
    const bool scalar_or_list = a.form == TfInputForm::Ints || a.form == TfInputForm::Int || a.form == TfInputForm::Float;
    if (t.is_symbolic() && a.form == TfInputForm::ElementShape) {
      // Computed in the graph (a loop gradient's Shape of a popped element): a list op's element_shape is
      // a hint merged with the list's own, so none is given; an element never set then reads as zeros of
      // the list's own shape, which must be known when it runs (else the read says so).
      attrs.set(a.attr, TensorShape::unknown_rank());
      continue;
    }
    if (t.is_symbolic()) {  // computed: passed on as a tensor, where the op takes one (AttrDecl::may_be_input)
      bool may = false;
      for (const AttrDecl& d : def.attr_decls) may = may || (d.name == a.attr && d.may_be_input);
      EMBER_CHECK(may && scalar_or_list, Unimplemented, what, ": input ", index, " of op ", op,
                  " must be a constant (ember takes it as attribute '", a.attr, "')");
      attr_tensors.emplace(a.attr, t);
      continue;
    }
    const bool integral = t.dtype() == int32 || t.dtype() == int64;
    EMBER_CHECK(a.form == TfInputForm::Float || integral, InvalidArgument, what, ": input ", index, " of op ", op,
                " ('", a.attr, "') must be int32 or int64, got ", dtype_name(t.dtype()));
    std::vector<double> v = a.form == TfInputForm::Float ? host_values(t) : std::vector<double>{};
    std::vector<int64_t> ints = integral ? t.index_values() : std::vector<int64_t>{};
    switch (a.form) {
      case TfInputForm::Ints:
      case TfInputForm::Paddings: attrs.set(a.attr, ints); break;
      case TfInputForm::Int:
        EMBER_CHECK(ints.size() == 1, InvalidArgument, what, ": input ", index, " must hold one value");
        attrs.set(a.attr, ints[0]);
        break;
      case TfInputForm::Float:
        EMBER_CHECK(v.size() == 1, InvalidArgument, what, ": input ", index, " must hold one value");
        attrs.set(a.attr, v[0]);
        break;
      case TfInputForm::ElementShape: attrs.set(a.attr, element_shape_of(t, what)); break;
    }
  }
  for (const auto& [name, value] : def.tf.dropped_attrs) attrs.set(name, value);  // TensorFlow's op lacks it
  for (const AttrDecl& d : def.attr_decls) {
    if (attrs.has(d.name) || attr_tensors.count(d.name)) continue;
    const std::optional<AttrValue> v = attr_or_default(n, d.name, d.kind, what);
    if (!v) throw InvalidArgument(what + ": op " + op + " lacks attribute '" + d.name + "'");
    attrs.set(d.name, *v);
  }
  std::vector<Tensor> op_in;
  for (size_t i = 0; i < in.size(); ++i)
    if (!is_attr[i]) op_in.push_back(in[i]);
  for (const AttrDecl& d : def.attr_decls)  // after the op's own inputs, in declaration order
    if (auto it = attr_tensors.find(d.name); it != attr_tensors.end()) op_in.push_back(it->second);
  return execute(def, op_in, attrs);
}

}  // namespace

std::vector<Tensor> FunctionImporter::run_node(const tf::NodeDef& n, const std::vector<Tensor>& in,
                                               const std::string& what, int depth) const {
  const std::string& op = n.op();
  if (op == op_name::Const) return {tensor_of(node_attr(n, "value", what).tensor(), what)};
  if (op == op_name::Identity || op == op_name::IdentityN) return in;
  if (op == op_name::NoOp) return {};
  if (op == op_name::StatefulPartitionedCall || op == op_name::PartitionedCall)
    return run_call(node_attr(n, "f", what).func().name(), in, depth);
  if (op == op_name::If || op == op_name::StatelessIf) return run_if(n, in, what, depth);
  if (op == op_name::Case || op == op_name::StatelessCase) return run_case(n, in, what, depth);
  if (op == op_name::While || op == op_name::StatelessWhile) return run_while(n, in, what, depth);
  if (op == op_name::StatelessRandomGetKeyCounter) return key_and_counter(in, what);
  if (op == op_name::RngReadAndSkip) return read_and_skip(in, what);
  for (const Tensor& t : in)
    EMBER_CHECK(!uint64_counts_.count(t.impl()), Unimplemented, what, ": op ", op,
                " of a uint64 tensor (ember has no uint64; it imports only RngReadAndSkip's count)");
  if (op == op_name::Cast && node_attr(n, "DstT", what).type() == tf::DT_UINT64 && !in.empty() &&
      (in[0].dtype() == int32 || in[0].dtype() == int64)) {
    Tensor count = cast(in[0], int64);  // RngReadAndSkip's count, held as int64 (ember has no uint64)
    uint64_counts_[count.impl()] = count;
    return {count};
  }
  if (op == op_name::StridedSlice && !in.empty() && generator_reads_.count(in[0].impl())) {
    // [0:2] is the counter, [2:3] the key (TensorFlow's Philox layout).
    EMBER_CHECK(in.size() == 4 && !in[1].is_symbolic(), Unimplemented, what,
                ": a slice of RngReadAndSkip's state other than its counter or key");
    const int64_t begin = in[1].index_values().at(0);
    EMBER_CHECK(begin == 0 || begin == 2, Unimplemented, what, ": a slice of RngReadAndSkip's state from ", begin,
                " (its counter starts at 0, its key at 2)");
    Tensor part = slice(in[0], {begin}, {begin == 0 ? 2 : 1});
    generator_parts_[part.impl()] = {part, in[0].impl(), begin == 2};
    return {part};
  }
  if (op == op_name::Bitcast) {
    EMBER_CHECK(!in.empty() && generator_parts_.count(in[0].impl()), Unimplemented, what,
                ": op Bitcast is one ember imports only in a tf.random.Generator's draw");
    return {in[0]};  // to uint64, which the V2 draw takes: the part itself stands for it
  }
  if (op == op_name::StatelessRandomUniformV2 || op == op_name::StatelessRandomNormalV2 ||
      op == op_name::StatelessTruncatedNormalV2 || op == op_name::StatelessRandomUniformIntV2 ||
      op == op_name::StatelessRandomGammaV3 || op == op_name::StatelessRandomUniformFullIntV2)
    return draw_from_key(n, in, what);
  if (composite_ops().count(op)) return composite(op, in, n, what);
  return run_registered_op(n, in, what);
}

// TensorFlow's StatelessRandomGetKeyCounter(seed) gives the seed's Philox
// key and counter, the same ones ember's stateless draws compute from the
// seed (random::stateless_stream). Here the key stands for the seed (the
// seed as int64, remembered with it) and the counter is zeros: a V2 draw
// whose key is one of these draws from that seed, and any other key is
// refused.
std::vector<Tensor> FunctionImporter::key_and_counter(const std::vector<Tensor>& in, const std::string& what) const {
  EMBER_CHECK(in.size() == 1, InvalidArgument, what, ": StatelessRandomGetKeyCounter takes 1 input, got ", in.size());
  const Tensor key = cast(in[0], int64);
  seed_keys_[key.impl()] = {key, in[0]};
  return {key, zeros({2}, int64)};
}

namespace {

// A random op's algorithm, where the graph fixes it: Philox (1), or
// auto-select (3), which is Philox on CPUs and GPUs; not ThreeFry (2).
void require_philox(const Tensor& alg, const std::string& what, const std::string& op) {
  if (alg.is_symbolic()) return;
  const int64_t a = alg.index_values().at(0);
  EMBER_CHECK(a == 1 || a == 3, Unimplemented, what, ": op ", op, " with algorithm ", a,
              " (ember draws with Philox, algorithms 1 and 3)");
}

}  // namespace

std::vector<Tensor> FunctionImporter::read_and_skip(const std::vector<Tensor>& in, const std::string& what) const {
  EMBER_CHECK(in.size() == 3 && in[0].dtype() == resource, InvalidArgument, what,
              ": RngReadAndSkip takes the generator's state variable, the algorithm and a count");
  require_philox(in[1], what, op_name::RngReadAndSkip);
  const Tensor state = Variable::from_handle(in[0]).read_value();
  generator_reads_[state.impl()] = {state, in[0], in[2]};
  generator_read_order_.push_back(state.impl());
  return {state};
}

std::vector<Tensor> FunctionImporter::generator_draw(const tensorflow::NodeDef& n, const std::vector<Tensor>& in,
                                                     const std::string& what) const {
  const std::string& op = n.op();
  auto key = generator_parts_.find(in[1].impl()), counter = generator_parts_.find(in[2].impl());
  EMBER_CHECK(key != generator_parts_.end() && counter != generator_parts_.end() && key->second.key &&
                  !counter->second.key && key->second.read == counter->second.read,
              Unimplemented, what, ": op ", op, " with a key and counter not both from one RngReadAndSkip");
  GeneratorRead& read = generator_reads_.at(key->second.read);
  EMBER_CHECK(!read.drawn, Unimplemented, what, ": a second draw from one RngReadAndSkip");
  read.drawn = true;
  require_philox(in[3], what, op);
  EMBER_CHECK(!in[0].is_symbolic(), Unimplemented, what, ": a tf.random.Generator draw of a shape known only when it runs");
  const std::vector<int64_t> dims = in[0].index_values();
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  if (!read.delta.is_symbolic()) {  // TensorFlow's generators skip by the draw's size
    const int64_t delta = read.delta.index_values().at(0);
    EMBER_CHECK(delta == count, Unimplemented, what, ": RngReadAndSkip by ", delta, " before a draw of ", count,
                " (ember's generator draws advance by their size)");
  }
  const Tensor alg = constant(int64_t{1});  // (checked: Philox)
  Attrs attrs{{"shape", dims}};
  if (op == op_name::StatelessRandomUniformIntV2)  // (shape, key, counter, alg, minval, maxval)
    return {execute1(EMBER_OP(op_name::StatefulUniformInt), {read.state_handle, alg, in[4], in[5]}, attrs)};
  EMBER_CHECK(op != op_name::StatelessRandomGammaV3, Unimplemented, what, ": a gamma draw from a tf.random.Generator");
  attrs.set("dtype", std::get<DType>(attr_or_default(n, "dtype", AttrKind::Type, what).value()));
  const char* stateful = op == op_name::StatelessRandomUniformV2         ? op_name::StatefulUniform
                         : op == op_name::StatelessRandomNormalV2        ? op_name::StatefulStandardNormalV2
                         : op == op_name::StatelessTruncatedNormalV2     ? op_name::StatefulTruncatedNormal
                                                                         : op_name::StatefulUniformFullInt;
  return {execute1(op_def(stateful), {read.state_handle, alg}, attrs)};
}

std::vector<Tensor> FunctionImporter::draw_from_key(const tensorflow::NodeDef& n, const std::vector<Tensor>& in,
                                                    const std::string& what) const {
  const std::string& op = n.op();
  if (in.size() >= 3 && (generator_parts_.count(in[1].impl()) || generator_parts_.count(in[2].impl())))
    return generator_draw(n, in, what);
  const bool integers = op == op_name::StatelessRandomUniformIntV2;  // (shape, key, counter, alg, minval, maxval)
  const bool gamma = op == op_name::StatelessRandomGammaV3;           // (shape, key, counter, alg, alpha)
  const size_t inputs = integers ? 6 : gamma ? 5 : 4;
  EMBER_CHECK(in.size() == inputs, InvalidArgument, what, ": op ", op, " takes ", inputs, " inputs, got ", in.size());
  auto it = seed_keys_.find(in[1].impl());
  EMBER_CHECK(it != seed_keys_.end(), Unimplemented, what, ": op ", op,
              " with a key that StatelessRandomGetKeyCounter did not make from a seed (ember draws from seeds)");
  require_philox(in[3], what, op);
  const Tensor& seed = it->second.seed;
  if (integers) return {execute1(EMBER_OP(op_name::StatelessRandomUniformInt), {seed, in[4], in[5], in[0]}, {})};
  if (gamma) return {execute1(EMBER_OP(op_name::StatelessRandomGammaV2), {seed, in[4], in[0]}, {})};
  const DType dtype = std::get<DType>(attr_or_default(n, "dtype", AttrKind::Type, what).value());
  if (op == op_name::StatelessRandomUniformFullIntV2)
    return {execute1(EMBER_OP(op_name::StatelessRandomUniformFullInt), {seed, in[0]}, {{"dtype", dtype}})};
  if (op == op_name::StatelessRandomUniformV2) return {random::stateless_uniform(in[0], seed, 0, 1, dtype)};
  if (op == op_name::StatelessRandomNormalV2) return {random::stateless_normal(in[0], seed, 0, 1, dtype)};
  return {random::stateless_truncated_normal(in[0], seed, 0, 1, dtype)};
}

std::vector<Tensor> FunctionImporter::run_call(const std::string& fn, const std::vector<Tensor>& in, int depth) const {
  EMBER_CHECK(depth + 1 < 64, InvalidArgument, where_, ": function '", fn, "' is called 64 deep (a cycle?)");
  std::string key = fn;
  for (const Tensor& t : in) {
    key += detail::str_cat("|", dtype_name(t.dtype()), t.shape().to_debug_string());
    if (t.dtype() == resource) key += detail::str_cat("@", reinterpret_cast<uintptr_t>(t.impl()->resource.get()));
  }
  auto it = callees_.find(key);
  if (it != callees_.end()) return detail::call_op({it->second, {}}, in);
  detail::CallBody call = detail::trace_call(fn, in, [&](const std::vector<Tensor>& args) { return replay(fn, args, depth + 1); });
  if (call.lifted.empty()) callees_[key] = call.body;  // (a body that reads its caller's tensors is its caller's alone)
  return detail::call_op(call, in);
}

std::vector<Tensor> FunctionImporter::run_if(const tf::NodeDef& n, const std::vector<Tensor>& in,
                                             const std::string& what, int depth) const {
  EMBER_CHECK(!in.empty(), InvalidArgument, what, ": If without a condition");
  Tensor pred = in[0];
  std::vector<Tensor> branch_in(in.begin() + 1, in.end());
  auto branch = [&](const std::string& fn) {
    return [&, fn](std::string& structure) {
      std::vector<Tensor> r = replay(fn, branch_in, depth + 1);
      structure = "[";
      for (size_t i = 0; i < r.size(); ++i) structure += i ? ", %" : "%";
      structure += "]";
      return r;
    };
  };
  std::string structure;
  return detail::cond_flat(pred, branch(node_attr(n, "then_branch", what).func().name()),
                           branch(node_attr(n, "else_branch", what).func().name()), structure);
}

// Case: branch `index` of the list, the last one for an index out of range
// (TensorFlow's rule), as a chain of conds: index == 0, else index == 1, ...
// A constant index runs its branch alone.
std::vector<Tensor> FunctionImporter::run_case(const tf::NodeDef& n, const std::vector<Tensor>& in,
                                               const std::string& what, int depth) const {
  EMBER_CHECK(!in.empty(), InvalidArgument, what, ": Case without a branch index");
  const Tensor index = in[0];
  EMBER_CHECK(index.shape().rank_known() && index.rank() == 0 && index.dtype() == int32, InvalidArgument, what,
              ": Case's branch index must be an int32 scalar, got ", dtype_name(index.dtype()), " ",
              index.shape().to_string());
  std::vector<std::string> branches;
  for (const auto& f : node_attr(n, "branches", what).list().func()) branches.push_back(f.name());
  EMBER_CHECK(!branches.empty(), InvalidArgument, what, ": Case without branches");
  const std::vector<Tensor> branch_in(in.begin() + 1, in.end());
  if (!index.is_symbolic()) {
    const int64_t i = index.index_values()[0];
    const size_t k = i < 0 || i >= static_cast<int64_t>(branches.size()) ? branches.size() - 1 : static_cast<size_t>(i);
    return replay(branches[k], branch_in, depth + 1);
  }
  auto flat = [](std::vector<Tensor> r, std::string& structure) {
    structure = "[";
    for (size_t i = 0; i < r.size(); ++i) structure += i ? ", %" : "%";
    structure += "]";
    return r;
  };
  std::function<std::vector<Tensor>(size_t, std::string&)> from = [&](size_t k, std::string& structure) {
    if (k + 1 == branches.size()) return flat(replay(branches[k], branch_in, depth + 1), structure);
    std::string inner;
    return flat(detail::cond_flat(
                    equal(index, constant(static_cast<int32_t>(k))),
                    [&, k](std::string& s) { return flat(replay(branches[k], branch_in, depth + 1), s); },
                    [&, k](std::string& s) { return from(k + 1, s); }, inner),
                structure);
  };
  std::string structure;
  return from(0, structure);
}

// Resource loop variables (variables' handles) pass through unchanged: they
// are held fixed and the rest loop.
std::vector<Tensor> FunctionImporter::run_while(const tf::NodeDef& n, const std::vector<Tensor>& in,
                                                const std::string& what, int depth) const {
  std::vector<size_t> looped;
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].dtype() != resource) looped.push_back(i);
  auto full = [&](const LoopVars& vars) {
    std::vector<Tensor> all = in;
    for (size_t k = 0; k < looped.size(); ++k) all[looped[k]] = vars[k];
    return all;
  };
  const std::string cond_fn = node_attr(n, "cond", what).func().name();
  const std::string body_fn = node_attr(n, "body", what).func().name();
  WhileOptions options;
  auto shapes = n.attr().find("output_shapes");
  if (shapes != n.attr().end() && shapes->second.list().shape_size() == static_cast<int>(in.size()))
    for (size_t i : looped) options.shape_invariants.push_back(shape_of(shapes->second.list().shape(static_cast<int>(i))));
  LoopVars vars;
  for (size_t i : looped) vars.push_back(in[i]);
  LoopVars result = detail::while_flat(
      [&](const LoopVars& v) {
        std::vector<Tensor> c = replay(cond_fn, full(v), depth + 1);
        EMBER_CHECK(c.size() == 1, InvalidArgument, what, ": the loop condition returns ", c.size(), " tensors");
        return c[0];
      },
      [&](const LoopVars& v) {
        std::vector<Tensor> b = replay(body_fn, full(v), depth + 1);
        EMBER_CHECK(b.size() == in.size(), InvalidArgument, what, ": the loop body returns ", b.size(),
                    " tensors for ", in.size(), " loop variables");
        LoopVars next;
        for (size_t k = 0; k < looped.size(); ++k) {
          Tensor t = b[looped[k]];
          // TensorFlow's output_shapes are the shapes it proved the loop keeps: where ember's trace of the
          // body knows less (a list element's shape that TensorFlow infers and ember reads when it runs),
          // the output takes them, checked when it runs.
          if (!options.shape_invariants.empty() && t.dtype() != variant) {
            const std::optional<TensorShape> merged = t.shape().merge_with(options.shape_invariants[k]);
            if (merged && !(*merged == t.shape())) t = ensure_shape(t, *merged);
          }
          next.push_back(t);
        }
        return next;
      },
      vars, options);
  std::vector<Tensor> out = in;
  for (size_t k = 0; k < looped.size(); ++k) out[looped[k]] = result[k];
  return out;
}

Tensor tensor_from_proto(const tf::TensorProto& p, const std::string& what) { return tensor_of(p, what); }

ConcreteFunction FunctionImporter::import(const std::string& name, const std::vector<TensorSpec>& specs,
                                          const std::vector<Tensor>& bound,
                                          const std::string& output_structure) const {
  const tf::FunctionDef& f = function(name);
  const std::string what = where_ + ": function '" + name + "'";
  const auto inputs = static_cast<size_t>(f.signature().input_arg_size());
  EMBER_CHECK(bound.size() <= inputs && inputs - bound.size() == specs.size(), InvalidArgument, what, " takes ",
              inputs, " inputs; its saved signature has ", specs.size(), " and it is bound to ", bound.size());
  for (size_t i = 0; i < inputs; ++i) {
    const auto& a = f.signature().input_arg(static_cast<int>(i));
    const bool is_bound = i >= specs.size();
    const DType given = is_bound ? bound[i - specs.size()].dtype() : specs[i].dtype;
    const DType d = a.type() == tf::DT_RESOURCE ? resource : ember_dtype(a.type(), what + " input '" + a.name() + "'");
    EMBER_CHECK(d == given, InvalidArgument, what, " input '", a.name(), "' is ", dtype_name(d), "; ",
                is_bound ? "it is bound to a " + std::string(dtype_name(given)) + " value"
                         : "its saved signature says " + specs[i].to_string());
  }

  FunctionOptions options;
  options.name = name;
  auto state = std::make_shared<detail::FunctionState>(options);
  std::vector<detail::CallArg> call;
  for (const TensorSpec& s : specs) {
    detail::CallArg a;
    a.kind = detail::CallArg::Kind::Spec;
    a.spec = s;
    call.push_back(std::move(a));
  }
  auto body = [&](const std::vector<detail::CallArg>& traced, std::string& structure) {
    std::vector<Tensor> in;
    for (const auto& a : traced) in.push_back(a.tensor);
    in.insert(in.end(), bound.begin(), bound.end());
    std::vector<Tensor> out = replay(name, in, 0);
    if (output_structure.empty()) {
      structure = "[";
      for (size_t i = 0; i < out.size(); ++i) structure += i ? ", %" : "%";
      structure += "]";
    } else {
      structure = output_structure;
    }
    return out;
  };
  ConcreteFunction cf = state->concrete_for(call, body, false);
  size_t outs = static_cast<size_t>(std::count(cf.output_structure().begin(), cf.output_structure().end(), '%'));
  EMBER_CHECK(outs == cf.num_outputs(), InvalidArgument, what, " returns ", cf.num_outputs(),
              " tensors; its saved output signature has ", outs);
  return cf;
}

}  // namespace ember
