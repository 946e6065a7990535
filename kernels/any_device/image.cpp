// NonMaxSuppressionV5 on every device: TensorFlow's CPU kernel's greedy
// selection (its DoNonMaxSuppressionOp), run on the host over the boxes and
// scores copied there, the selection copied back. It is sequential by
// nature: each candidate is compared with the boxes selected before it.
#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>
#include <vector>

#include "core/allocator.h"
#include "core/exact_math.h"
#include "core/half.h"
#include "core/op_registry.h"
#include "core/op_names.h"

namespace ember::kernels {
namespace {

// Intersection over union of boxes i and j (rows y1, x1, y2, x2 of any two
// opposite corners), in float as TensorFlow's IOU, one rounding per
// operation (products through exact::mul, never fused into the sum's
// FMA); 0 when either is empty.
template <typename T>
float iou(const T* boxes, int64_t i, int64_t j) {
  auto at = [&](int64_t b, int k) { return static_cast<float>(boxes[4 * b + k]); };
  const float ymin_i = std::min(at(i, 0), at(i, 2)), xmin_i = std::min(at(i, 1), at(i, 3));
  const float ymax_i = std::max(at(i, 0), at(i, 2)), xmax_i = std::max(at(i, 1), at(i, 3));
  const float ymin_j = std::min(at(j, 0), at(j, 2)), xmin_j = std::min(at(j, 1), at(j, 3));
  const float ymax_j = std::max(at(j, 0), at(j, 2)), xmax_j = std::max(at(j, 1), at(j, 3));
  const float area_i = exact::mul(ymax_i - ymin_i, xmax_i - xmin_i);
  const float area_j = exact::mul(ymax_j - ymin_j, xmax_j - xmin_j);
  if (area_i <= 0 || area_j <= 0) return 0.0f;
  const float height = std::max(std::min(ymax_i, ymax_j) - std::max(ymin_i, ymin_j), 0.0f);
  const float width = std::max(std::min(xmax_i, xmax_j) - std::max(xmin_i, xmin_j), 0.0f);
  const float intersection = exact::mul(height, width);
  return intersection / (area_i + area_j - intersection);
}

// A scalar input's value on the host.
template <typename T>
T scalar_of(const Tensor& t) {
  T v;
  copy_bytes(&v, Device::cpu(), t.raw_data(), t.device(), sizeof(T));
  return v;
}

// The selection in T's arithmetic, each operation rounded to T as
// TensorFlow's (Eigen's 16-bit floats compute in float and round):
// candidates above the score threshold in a queue by score, ties to the
// lower index; a candidate is compared with the boxes selected since it
// was last compared (newest first); an overlap above the IOU threshold
// drops it (no soft suppression), else its score is multiplied by
// exp(scale·iou²) (soft suppression, scale = -1/(2·sigma)); unchanged, it
// is selected; decayed but still above the threshold, it goes back to the
// queue.
template <typename T>
void select(KernelContext& c) {
  using C = compute_t<T>;
  auto round = [](C v) { return static_cast<T>(v); };
  const int64_t n = c.inputs[0].dim(0);
  const Tensor boxes = c.inputs[0].to(Device::cpu()), scores = c.inputs[1].to(Device::cpu());
  const auto max_output_size = static_cast<int64_t>(scalar_of<int32_t>(c.inputs[2]));
  const T iou_threshold = scalar_of<T>(c.inputs[3]), score_threshold = scalar_of<T>(c.inputs[4]);
  const T sigma = scalar_of<T>(c.inputs[5]);
  EMBER_CHECK(max_output_size >= 0, InvalidArgument, "output size must be non-negative");
  EMBER_CHECK(C(iou_threshold) >= 0 && C(iou_threshold) <= 1, InvalidArgument, "iou_threshold must be in [0, 1]");
  EMBER_CHECK(C(sigma) >= 0, InvalidArgument, "soft_nms_sigma_val must be >= 0");
  const T* box = boxes.data<const T>();
  const T* score = scores.data<const T>();

  struct Candidate {
    int64_t index;
    T score;
    size_t compared;  // the selected boxes it was compared with already
  };
  auto below = [](const Candidate& a, const Candidate& b) {
    return C(a.score) < C(b.score) || (C(a.score) == C(b.score) && a.index > b.index);
  };
  std::priority_queue<Candidate, std::deque<Candidate>, decltype(below)> queue(below);
  for (int64_t i = 0; i < n; ++i)
    if (C(score[i]) > C(score_threshold)) queue.push({i, score[i], 0});
  const bool soft = C(sigma) > 0;
  const T scale = soft ? round(C(round(C(-0.5))) / C(sigma)) : T(0.0f);
  auto weight = [&](T sim) {  // exp(scale·sim·sim), or 0 beyond the threshold without soft suppression
    const T w = round(std::exp(C(round(C(round(C(scale) * C(sim))) * C(sim)))));
    return soft || C(sim) <= C(iou_threshold) ? w : T(0.0f);
  };

  std::vector<int64_t> selected;
  std::vector<T> selected_scores;
  while (static_cast<int64_t>(selected.size()) < max_output_size && !queue.empty()) {
    Candidate next = queue.top();
    queue.pop();
    const T original = next.score;
    bool dropped = false;
    for (size_t j = selected.size(); j-- > next.compared;) {
      const T sim = round(C(iou(box, next.index, selected[j])));
      next.score = round(C(next.score) * C(weight(sim)));
      if (!soft && C(sim) > C(iou_threshold)) {
        dropped = true;
        break;
      }
      if (C(next.score) <= C(score_threshold)) break;
    }
    next.compared = selected.size();
    if (dropped) continue;
    if (C(next.score) == C(original)) {
      selected.push_back(next.index);
      selected_scores.push_back(next.score);
    } else if (C(next.score) > C(score_threshold)) {
      queue.push(next);
    }
  }

  const auto valid = static_cast<int32_t>(selected.size());
  if (c.attrs.get<bool>("pad_to_max_output_size")) {
    selected.resize(static_cast<size_t>(max_output_size), 0);
    selected_scores.resize(static_cast<size_t>(max_output_size), T(0.0f));
  }
  const std::vector<int32_t> indices(selected.begin(), selected.end());
  const TensorShape shape{static_cast<int64_t>(indices.size())};
  c.outputs[0] = Tensor::empty(shape, int32, c.device);
  c.outputs[1] = Tensor::empty(shape, c.inputs[0].dtype(), c.device);
  c.outputs[2] = Tensor::empty(TensorShape{}, int32, c.device);
  if (!indices.empty()) {
    copy_bytes(c.outputs[0].raw_data(), c.device, indices.data(), Device::cpu(), indices.size() * sizeof(int32_t));
    copy_bytes(c.outputs[1].raw_data(), c.device, selected_scores.data(), Device::cpu(), selected_scores.size() * sizeof(T));
  }
  copy_bytes(c.outputs[2].raw_data(), c.device, &valid, Device::cpu(), sizeof valid);
}

void non_max_suppression_kernel(KernelContext& c) {
  EMBER_SWITCH_FLOATING(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()), select<scalar_t>(c));
}

}  // namespace

EMBER_REGISTER_EVERYWHERE(op_name::NonMaxSuppressionV5, non_max_suppression_kernel);

}  // namespace ember::kernels
