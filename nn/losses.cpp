// Losses: keras/src/losses and the TensorFlow backend's crossentropies.
#include "nn/losses.h"

#include "core/context.h"
#include "core/error.h"
#include "core/op_registry.h"
#include "core/ops.h"

namespace ember::losses {
namespace {

Tensor scalar_like(double v, const Tensor& t) { return constant(v, t.dtype(), t.device()); }

Tensor clip_probabilities(const Tensor& p) {
  return minimum(maximum(p, scalar_like(kEpsilon, p)), scalar_like(1 - kEpsilon, p));
}

void check_float(const char* api, const Tensor& y_pred) {
  EMBER_CHECK(y_pred.dtype() == float32 || y_pred.dtype() == float64, InvalidArgument, "[", api,
              "] predictions must be float32 or float64, got ", dtype_name(y_pred.dtype()));
}

}  // namespace

Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred,
                                       bool from_logits) {
  const char* api = "losses::sparse_categorical_crossentropy";
  ApiScope scope(api);
  check_float(api, y_pred);
  Tensor labels = y_true;
  // Keras accepts labels with a trailing axis of 1.
  if (labels.rank() == y_pred.rank() && labels.rank() > 0 && labels.dim(-1) == 1)
    labels = squeeze(labels, {-1});
  if (labels.dtype() != int32 && labels.dtype() != int64) labels = cast(labels, int64);
  Tensor logits = from_logits ? y_pred : log(clip_probabilities(y_pred));
  return sparse_softmax_cross_entropy_with_logits(labels, logits);
}

Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits,
                                double label_smoothing) {
  const char* api = "losses::categorical_crossentropy";
  ApiScope scope(api);
  check_float(api, y_pred);
  Tensor labels = y_true.dtype() == y_pred.dtype() ? y_true : cast(y_true, y_pred.dtype());
  EMBER_CHECK(labels.shape() == y_pred.shape(), InvalidArgument, "[", api, "] labels have shape ",
              labels.shape().to_debug_string(), ", predictions ", y_pred.shape().to_debug_string());
  if (label_smoothing > 0) {
    double classes = static_cast<double>(y_pred.dim(-1));
    labels = labels * scalar_like(1 - label_smoothing, labels) +
             scalar_like(label_smoothing / classes, labels);
  }
  if (from_logits) return softmax_cross_entropy_with_logits(labels, y_pred);
  Tensor p = clip_probabilities(y_pred / reduce_sum(y_pred, -1, true));
  return -reduce_sum(labels * log(p), -1);
}

Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits,
                           double label_smoothing) {
  const char* api = "losses::binary_crossentropy";
  ApiScope scope(api);
  check_float(api, y_pred);
  Tensor z = y_true.dtype() == y_pred.dtype() ? y_true : cast(y_true, y_pred.dtype());
  EMBER_CHECK(z.shape() == y_pred.shape(), InvalidArgument, "[", api, "] labels have shape ",
              z.shape().to_debug_string(), ", predictions ", y_pred.shape().to_debug_string());
  if (label_smoothing > 0)
    z = z * scalar_like(1 - label_smoothing, z) + scalar_like(0.5 * label_smoothing, z);
  Tensor bce;
  if (from_logits) {
    // max(x, 0) - x·z + log(1 + e^-|x|): tf.nn.sigmoid_cross_entropy_with_logits.
    const Tensor& x = y_pred;
    bce = relu(x) - x * z + log1p(exp(-abs(x)));
  } else {
    Tensor p = clip_probabilities(y_pred);
    bce = -(z * log(p) + (scalar_like(1, z) - z) * log(scalar_like(1, p) - p));
  }
  return reduce_mean(bce, -1);
}

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred) {
  const char* api = "losses::mean_squared_error";
  ApiScope scope(api);
  check_float(api, y_pred);
  Tensor t = y_true.dtype() == y_pred.dtype() ? y_true : cast(y_true, y_pred.dtype());
  return reduce_mean(square(t - y_pred), -1);
}

Tensor reduce_weighted(const Tensor& values, const Tensor& sample_weight, Reduction reduction) {
  Tensor v = values;
  Tensor w;
  if (sample_weight.defined()) {
    w = sample_weight.dtype() == v.dtype() ? sample_weight : cast(sample_weight, v.dtype());
    // Keras's squeeze_or_expand_to_same_rank.
    while (w.rank() > v.rank() && w.dim(-1) == 1) w = squeeze(w, {-1});
    while (w.rank() < v.rank()) w = expand_dims(w, -1);
    v = v * w;
  }
  if (reduction == Reduction::None || v.rank() == 0 || v.shape() == TensorShape{0}) return v;
  Tensor loss = reduce_sum(v);
  if (reduction == Reduction::Sum) return loss;
  Tensor divisor = reduction == Reduction::MeanWithSampleWeight && w.defined()
                       ? reduce_sum(broadcast_to(w, v.shape()))
                       : constant(static_cast<double>(v.num_elements()), loss.dtype(), loss.device());
  // divide_no_nan: 0 where the divisor is 0.
  Tensor zero = zeros_like(loss);
  Tensor safe = where(divisor == zero, ones_like(divisor), divisor);
  return where(divisor == zero, zero, loss / safe);
}

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred,
                        const Tensor& sample_weight) const {
  // As Keras's losses: 16-bit predictions (a mixed-precision model's) are
  // taken in float32.
  const bool half = is_half(y_pred.dtype());
  return reduce_weighted(call(y_true, half ? cast(y_pred, float32) : y_pred), sample_weight, options_.reduction);
}

Tensor SparseCategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return sparse_categorical_crossentropy(y_true, y_pred, options_.from_logits);
}
Tensor CategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return categorical_crossentropy(y_true, y_pred, options_.from_logits, options_.label_smoothing);
}
Tensor BinaryCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return binary_crossentropy(y_true, y_pred, options_.from_logits, options_.label_smoothing);
}
Tensor MeanSquaredError::call(const Tensor& y_true, const Tensor& y_pred) const {
  return mean_squared_error(y_true, y_pred);
}

}  // namespace ember::losses
