// Images: tf.image.rgb_to_hsv and hsv_to_rgb (front-ends of elementwise
// ops, what TensorFlow's RGBToHSV and HSVToRGB import as), TensorFlow's
// ImageProjectiveTransformV3 (images, transforms,
// output_shape, fill_value) {interpolation, fill_mode} (kernels/image.h;
// its V2 imports as it) with the exact adjoint as its gradient, and
// non-maximum suppression, TensorFlow's NonMaxSuppressionV5
// (boxes, scores, max_output_size, iou_threshold, score_threshold,
// soft_nms_sigma) {pad_to_max_output_size} -> (selected_indices,
// selected_scores, valid_outputs), what tf.image.non_max_suppression and
// non_max_suppression_with_scores run (its V1 to V4 import as it:
// serialization/graph_import.cpp). How many boxes it selects is known only
// when it runs; the selection is kernels/any_device/image.cpp's.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/grad_util.h"
#include "core/ops/infer_util.h"

namespace ember {
namespace {

// TensorFlow's shape function's checks, and its messages where its kernel
// has them; the values (max_output_size >= 0, iou_threshold in [0, 1],
// soft_nms_sigma >= 0) are the kernel's checks.
void infer_non_max_suppression(InferContext& c) {
  const Tensor &boxes = c.inputs[0], &scores = c.inputs[1], &max_output_size = c.inputs[2];
  const DType t = boxes.dtype();
  if (!is_floating(t)) c.fail("boxes must be a floating dtype, got ", dtype_name(t));
  const TensorShape& b = boxes.shape();
  if (b.rank_known() && b.rank() != 2)
    c.fail("boxes must be 2-D", b.to_debug_string(), " (Shape must be rank 2 but is rank ", b.rank(), ")");
  if (b.rank_known() && b.dim(1) >= 0 && b.dim(1) != 4)
    c.fail("boxes must have 4 columns (Dimension must be 4 but is ", b.dim(1), ")");
  if (scores.dtype() != t) c.fail("scores must have the boxes' dtype, ", dtype_name(t), ", got ", dtype_name(scores.dtype()));
  const TensorShape& s = scores.shape();
  if (s.rank_known() && s.rank() != 1)
    c.fail("scores must be 1-D", s.to_debug_string(), " (Shape must be rank 1 but is rank ", s.rank(), ")");
  if (b.rank_known() && s.rank_known() && b.dim(0) >= 0 && s.dim(0) >= 0 && b.dim(0) != s.dim(0))
    c.fail("scores has incompatible shape (Dimensions must be equal, but are ", b.dim(0), " and ", s.dim(0), ")");
  if (max_output_size.dtype() != int32)
    c.fail("max_output_size must be int32, got ", dtype_name(max_output_size.dtype()));
  const char* scalars[] = {"max_output_size", "iou_threshold", "score_threshold", "soft_nms_sigma"};
  for (size_t i = 2; i < 6; ++i) {
    const Tensor& v = c.inputs[i];
    if (i > 2 && v.dtype() != t) c.fail(scalars[i - 2], " must have the boxes' dtype, ", dtype_name(t), ", got ", dtype_name(v.dtype()));
    if (v.shape().rank_known() && v.rank() != 0)
      c.fail(scalars[i - 2], " must be 0-D, got shape ", v.shape().to_debug_string());
  }
  c.outputs.push_back({int32, TensorShape({-1})});
  c.outputs.push_back({t, TensorShape({-1})});
  c.outputs.push_back({int32, TensorShape({})});
}

[[maybe_unused]] const OpDef& non_max_suppression_def = define_op(op_name::NonMaxSuppressionV5)
                                                             .inputs(6)
                                                             .attr("pad_to_max_output_size", AttrKind::Bool)
                                                             .api("non_max_suppression_with_scores")
                                                             .set_infer(infer_non_max_suppression)
                                                             .set_data_dependent_shapes()
                                                             .not_differentiable()
                                                             .tf_outputs({"selected_indices", "selected_scores", "valid_outputs"});

// ImageProjectiveTransformV3(images, transforms, fill_value)
// {output_shape, interpolation, fill_mode, dtype}: output_shape is
// TensorFlow's third input (an attribute here that may be a tensor, read
// when it runs), fill_value its fourth.
void infer_projective_transform(InferContext& c) {
  const Tensor &images = c.inputs[0], &transforms = c.inputs[1], &fill = c.inputs[2];
  const TensorShape& s = images.shape();
  if (!is_floating(images.dtype()) && !is_integer(images.dtype()))
    c.fail("images must be a numeric dtype, got ", dtype_name(images.dtype()));
  if (s.rank_known() && s.rank() != 4) c.fail("Input images must have rank 4");
  const TensorShape& t = transforms.shape();
  if (transforms.dtype() != float32) c.fail("transforms must be float32, got ", dtype_name(transforms.dtype()));
  const int64_t batch = s.rank_known() ? s.dim(0) : -1;
  if (t.rank_known() && (t.rank() != 2 || (t.dim(1) >= 0 && t.dim(1) != 8) ||
                         (t.dim(0) >= 0 && batch >= 0 && t.dim(0) != batch && t.dim(0) != 1)))
    c.fail("Input transform should be num_images x 8 or 1 x 8");
  if (fill.dtype() != float32) c.fail("fill_value must be float32, got ", dtype_name(fill.dtype()));
  if (fill.shape().rank_known() && fill.rank() != 0) c.fail("fill_value must be a scalar", fill.shape().to_debug_string());
  const auto interpolation = c.attrs.get<std::string>("interpolation");
  if (interpolation != "NEAREST" && interpolation != "BILINEAR")
    c.fail("interpolation must be NEAREST or BILINEAR, got '", interpolation, "'");
  const auto mode = c.attrs.get<std::string>("fill_mode");
  if (mode != "REFLECT" && mode != "WRAP" && mode != "CONSTANT" && mode != "NEAREST")
    c.fail("fill_mode must be REFLECT, WRAP, CONSTANT or NEAREST, got '", mode, "'");
  int64_t h = -1, w = -1;
  if (unresolved_attrs(c.op, c.attrs) == 0) {
    const auto out = c.attrs.get<std::vector<int64_t>>("output_shape");
    if (out.size() != 2) c.fail("output shape must have two elements[", out.size(), "]");
    if (out[0] <= 0 || out[1] <= 0) c.fail("output dimensions must be positive");
    h = out[0];
    w = out[1];
  }
  c.outputs.push_back({images.dtype(), TensorShape({batch, h, w, s.rank_known() ? s.dim(3) : -1})});
}

[[maybe_unused]] const OpDef& projective_transform_def = define_op(op_name::ImageProjectiveTransformV3)
                                                              .inputs(3)
                                                              .attr_or_input("output_shape", AttrKind::Ints)
                                                              .attr("interpolation", AttrKind::String)
                                                              .attr("fill_mode", AttrKind::String)
                                                              .api("image_projective_transform")
                                                              .set_infer(infer_projective_transform)
                                                              .set_infer_unresolved(infer_projective_transform)
                                                              .tf_input("output_shape", 2, TfInputForm::Ints)
                                                              .tf_type("dtype", dtype_of_input(0))
                                                              .tf_no_t()
                                                              .tf_outputs({"transformed_images"});

std::vector<Tensor> run_non_max_suppression(const char* api, const Tensor& boxes, const Tensor& scores,
                                            int64_t max_output_size, double iou_threshold, double score_threshold,
                                            double soft_nms_sigma) {
  ApiScope scope(api);
  EMBER_CHECK(max_output_size >= 0 && max_output_size <= 2147483647, InvalidArgument, "[", api,
              "] max_output_size must be in [0, 2^31 - 1], got ", max_output_size);
  auto threshold = [&](double v) { return scalar_like(boxes, v); };  // (in the boxes' dtype, as TensorFlow converts them)
  return execute(EMBER_OP(op_name::NonMaxSuppressionV5),
                 {boxes, scores, constant(static_cast<int32_t>(max_output_size)), threshold(iou_threshold),
                  threshold(score_threshold), threshold(soft_nms_sigma)},
                 {{"pad_to_max_output_size", false}});
}

// tf.image.rgb_to_hsv and hsv_to_rgb (TensorFlow's RGBToHSV and HSVToRGB,
// colorspace_op.h) as ember's elementwise ops, each step rounded to the
// images' dtype as TensorFlow's; the last axis holds the 3 channels.
std::vector<Tensor> channels_of(const char* api, const Tensor& images) {
  const TensorShape& s = images.shape();
  EMBER_CHECK(is_floating(images.dtype()), InvalidArgument, "[", api, "] images must be a floating dtype, got ",
              dtype_name(images.dtype()));
  EMBER_CHECK(s.rank_known() && s.rank() >= 1 && s.dim(-1) == 3, InvalidArgument, "[", api,
              "] input must have 3 channels but input only has ", s.rank_known() && s.rank() >= 1 ? s.dim(-1) : -1,
              " channels.");
  return unstack(images, -1);
}

}  // namespace

Tensor image_projective_transform(const Tensor& images, const Tensor& transforms,
                                  const ProjectiveTransformOptions& options) {
  ApiScope api("image_projective_transform");
  EMBER_CHECK(!images.shape().rank_known() || images.rank() == 4, InvalidArgument,
              "[image_projective_transform] Input images must have rank 4, got shape ", images.shape().to_string());
  Attrs attrs{{"interpolation", options.interpolation}, {"fill_mode", options.fill_mode}};
  const Tensor fill = constant(static_cast<float>(options.fill_value));
  if (options.output_shape) {
    attrs.set("output_shape", std::vector<int64_t>{(*options.output_shape)[0], (*options.output_shape)[1]});
    return execute1(EMBER_OP(op_name::ImageProjectiveTransformV3), {images, transforms, fill}, attrs);
  }
  if (images.shape().rank_known() && images.rank() == 4 && images.shape().dim(1) >= 0 && images.shape().dim(2) >= 0) {
    attrs.set("output_shape", std::vector<int64_t>{images.shape().dim(1), images.shape().dim(2)});
    return execute1(EMBER_OP(op_name::ImageProjectiveTransformV3), {images, transforms, fill}, attrs);
  }
  // The images' height and width known when it runs.
  const Tensor size = slice(shape(images, int32), {1}, {2});
  return execute1(EMBER_OP(op_name::ImageProjectiveTransformV3), {images, transforms, fill, size}, attrs);
}

Tensor rgb_to_hsv(const Tensor& images) {
  ApiScope api("rgb_to_hsv");
  const std::vector<Tensor> rgb = channels_of("rgb_to_hsv", images);
  const Tensor &r = rgb[0], &g = rgb[1], &b = rgb[2];
  const Tensor zero = zeros_like(r);
  const Tensor v = reduce_max(images, std::vector<int64_t>{-1});
  const Tensor range = v - reduce_min(images, std::vector<int64_t>{-1});
  const Tensor s = where(v > 0.0, range / v, zero);
  const Tensor norm = reciprocal(range) * scalar_like(r, 1.0 / 6.0);  // (1/6 rounded to the dtype, as T(1) / T(6))
  Tensor h = where(equal(r, v), norm * (g - b),
                   where(equal(g, v), norm * (b - r) + scalar_like(r, 2.0 / 6.0), norm * (r - g) + scalar_like(r, 4.0 / 6.0)));
  h = where(range > 0.0, h, zero);
  h = where(h < 0.0, h + 1.0, h);
  return stack({h, s, v}, -1);
}

Tensor hsv_to_rgb(const Tensor& images) {
  ApiScope api("hsv_to_rgb");
  const std::vector<Tensor> hsv = channels_of("hsv_to_rgb", images);
  const Tensor &h = hsv[0], &s = hsv[1], &v = hsv[2];
  const Tensor zero = zeros_like(h), one = ones_like(h);
  auto clip = [&](const Tensor& t) { return minimum(maximum(t, zero), one); };
  const Tensor dh = h * 6.0;
  const Tensor dr = clip(abs(dh - 3.0) - 1.0), dg = clip(-abs(dh - 2.0) + 2.0), db = clip(-abs(dh - 4.0) + 2.0);
  const Tensor one_s = -s + 1.0;
  return stack({(one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v}, -1);
}

Tensor non_max_suppression(const Tensor& boxes, const Tensor& scores, int64_t max_output_size, double iou_threshold,
                           double score_threshold) {
  return run_non_max_suppression("non_max_suppression", boxes, scores, max_output_size, iou_threshold, score_threshold,
                                 0)[0];
}

NonMaxSuppressionResult non_max_suppression_with_scores(const Tensor& boxes, const Tensor& scores,
                                                        int64_t max_output_size, double iou_threshold,
                                                        double score_threshold, double soft_nms_sigma) {
  std::vector<Tensor> out = run_non_max_suppression("non_max_suppression_with_scores", boxes, scores, max_output_size,
                                                    iou_threshold, score_threshold, soft_nms_sigma);
  return {out[0], out[1]};
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// ImageProjectiveTransformV3 is linear in the images: the gradient is the
// sampling's exact adjoint, each output pixel's gradient times each of its
// taps' weights added to the tap's pixel. The taps are found with ember's
// float32 ops doing the kernel's arithmetic (kernels/image.h) operation by
// operation, so they are the forward's taps; shapes may be known only when
// it runs. TensorFlow's gradient is instead the forward transform by the
// inverse matrix (exact only where the map moves whole pixels); the
// transforms, the output shape and the fill value get none, as there.
namespace ember::autograd {
namespace {

// kernels/image.h's map_coordinate, elementwise on the float32 coordinates
// `c` for a dimension of length `len` (an int64 scalar).
Tensor map_coordinates(const Tensor& c, const Tensor& len, const std::string& mode) {
  if (mode == "CONSTANT") return c;
  const Tensor lenf = cast(len, float32), last = cast(len - int64_t{1}, float32);
  Tensor r = c;
  if (mode == "REFLECT" || mode == "WRAP") {
    const Tensor below = c < 0.f, above = c > last;
    Tensor low, high;
    if (mode == "REFLECT") {
      const Tensor sz2 = len * int64_t{2}, sz2f = cast(sz2, float32);
      low = where(c < sz2f, cast(sz2 * cast(-c / sz2f, int64), float32) + c, c);
      low = where(low < -lenf, low + sz2f, -low - 1.f);
      high = c - cast(sz2 * cast(c / sz2f, int64), float32);
      high = where(high >= lenf, sz2f - high - 1.f, high);
    } else {
      const Tensor szf = cast(len - int64_t{1}, float32);
      low = c + cast(len * (cast(-c / szf, int64) + int64_t{1}), float32);
      high = c - cast(len * cast(c / szf, int64), float32);
    }
    r = where(below, low, where(above, high, c));
    r = where(logical_and(len <= int64_t{1}, logical_or(below, above)), zeros_like(r), r);
  }
  return where(r < 0.f, zeros_like(r), where(r > last, last + zeros_like(r), r));  // (the clamp, NaN kept)
}

GRAD(op_name::ImageProjectiveTransformV3, kGradUsesInputs) {
  const Tensor &images = c.x(), &transforms = c.in(1);
  Grads grads(c.inputs.size(), kNone);
  if (!is_floating(images.dtype())) return grads;
  const std::string interpolation = c.attrs.get<std::string>("interpolation"), mode = c.attrs.get<std::string>("fill_mode");
  const Tensor dy = cast(c.grad(), float32);  // [batch, oh, ow, channels]
  const Tensor h = shape_at(images, 1), w = shape_at(images, 2);
  const Tensor zero = constant(int64_t{0}), one = constant(int64_t{1});
  const Tensor base = zeros_like(reduce_sum(dy, std::vector<int64_t>{3}));  // [batch, oh, ow]: broadcasts the rest
  const Tensor xs = reshape(cast(range(zero, shape_at(dy, 2), one), float32), TensorShape{1, 1, -1});
  const Tensor ys = reshape(cast(range(zero, shape_at(dy, 1), one), float32), TensorShape{1, -1, 1});
  auto t = [&](int64_t k) { return reshape(slice(transforms, {0, k}, {-1, 1}), TensorShape{-1, 1, 1}); };
  const Tensor k = t(6) * xs + t(7) * ys + 1.f;
  const Tensor mx = map_coordinates((t(0) * xs + t(1) * ys + t(2)) / k + base, w, mode);
  const Tensor my = map_coordinates((t(3) * xs + t(4) * ys + t(5)) / k + base, h, mode);
  const Tensor wf = cast(w, float32), hf = cast(h, float32);
  const Tensor inside = not_equal(k + base, zeros_like(base));  // (k = 0: the fill value alone)
  const Tensor batch = reshape(cast(range(zero, shape_at(dy, 0), one), float32), TensorShape{-1, 1, 1}) + base;
  std::vector<Tensor> indices, updates;
  // A tap at (ty, tx) (float32 whole numbers) with weight `weight`: nothing
  // where it lies outside the image or the pixel reads only the fill value.
  auto tap = [&](const Tensor& ty, const Tensor& tx, const Tensor& weight) {
    const Tensor valid = logical_and(inside, logical_and(logical_and(ty >= 0.f, ty <= hf - 1.f), logical_and(tx >= 0.f, tx <= wf - 1.f)));
    const Tensor none = zeros_like(base);
    indices.push_back(reshape(cast(stack({batch, where(valid, ty, none), where(valid, tx, none)}, -1), int64), TensorShape{-1, 3}));
    updates.push_back(reshape(dy * expand_dims(where(valid, weight, none), -1), concat({constant(std::vector<int64_t>{-1}), slice(shape(dy, int64), {3}, {1})}, 0)));
  };
  if (interpolation == "NEAREST") {
    auto round_half_away = [](const Tensor& v) {  // (std::round)
      const Tensor a = abs(v), f = floor(a), r = where(a - f >= 0.5f, f + 1.f, f);
      return where(v < 0.f, -r, r);
    };
    tap(round_half_away(my), round_half_away(mx), ones_like(base));
  } else {
    const Tensor y0 = floor(my), x0 = floor(mx), y1 = y0 + 1.f, x1 = x0 + 1.f;
    tap(y0, x0, (y1 - my) * (x1 - mx));
    tap(y0, x1, (y1 - my) * (mx - x0));
    tap(y1, x0, (my - y0) * (x1 - mx));
    tap(y1, x1, (my - y0) * (mx - x0));
  }
  const Tensor dx = tensor_scatter_add(zeros_like(cast(images, float32)), concat(indices, 0), concat(updates, 0));
  grads[0] = cast(dx, images.dtype());
  return grads;
}
END_GRAD;

}  // namespace
}  // namespace ember::autograd
