// Images: non-maximum suppression, TensorFlow's NonMaxSuppressionV5
// (boxes, scores, max_output_size, iou_threshold, score_threshold,
// soft_nms_sigma) {pad_to_max_output_size} -> (selected_indices,
// selected_scores, valid_outputs), what tf.image.non_max_suppression and
// non_max_suppression_with_scores run (its V1 to V4 import as it:
// serialization/graph_import.cpp). How many boxes it selects is known only
// when it runs; the selection is kernels/any_device/image.cpp's.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
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

}  // namespace

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
