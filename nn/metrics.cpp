#include "nn/metrics.h"

#include "core/context.h"
#include "core/error.h"
#include "core/op.h"
#include "core/ops.h"

namespace ember::metrics {

Mean::Mean(std::string name) : name_(std::move(name)) {
  NameScope top(name_, /*absolute=*/true);
  total_ = Variable(constant(0.0f), {.name = "total", .trainable = false});
  count_ = Variable(constant(0.0f), {.name = "count", .trainable = false});
  track("total", total_);
  track("count", count_);
}

void Mean::update_state(const Tensor& values, const Tensor& sample_weight) {
  ApiScope api("metrics::Mean::update_state");
  Tensor v = cast(values, float32);
  if (!sample_weight.defined()) {
    total_.assign_add(reduce_sum(v));
    count_.assign_add(constant(static_cast<float>(v.num_elements()), count_.device()));
    return;
  }
  Tensor w = cast(sample_weight, float32);
  while (w.rank() > v.rank() && w.dim(-1) == 1) w = squeeze(w, {-1});
  while (w.rank() < v.rank()) w = expand_dims(w, -1);
  w = broadcast_to(w, broadcast_shapes(w.shape(), v.shape()));
  total_.assign_add(reduce_sum(v * w));
  count_.assign_add(reduce_sum(w));
}

Tensor Mean::result() const {
  Tensor total = total_.read_value(), count = count_.read_value();
  Tensor zero = zeros_like(count);
  return where(count == zero, zero, total / where(count == zero, ones_like(count), count));
}

void Mean::reset_state() {
  total_.assign(zeros_like(total_.read_value()));
  count_.assign(zeros_like(count_.read_value()));
}

void SparseCategoricalAccuracy::update_state(const Tensor& y_true, const Tensor& y_pred,
                                             const Tensor& sample_weight) {
  ApiScope api("metrics::SparseCategoricalAccuracy::update_state");
  Tensor labels = y_true;
  if (labels.rank() == y_pred.rank() && labels.rank() > 0 && labels.dim(-1) == 1)
    labels = squeeze(labels, {-1});
  EMBER_CHECK(labels.rank() + 1 == y_pred.rank(), InvalidArgument,
              "[metrics::SparseCategoricalAccuracy] labels of shape ",
              y_true.shape().to_debug_string(), " do not fit predictions of shape ",
              y_pred.shape().to_debug_string());
  Tensor predicted = argmax(y_pred, -1, int64);
  Tensor matches = cast(equal(cast(labels, int64), predicted), float32);
  Mean::update_state(matches, sample_weight);
}

void Accuracy::update_state(const Tensor& y_true, const Tensor& y_pred,
                            const Tensor& sample_weight) {
  ApiScope api("metrics::Accuracy::update_state");
  Tensor t = y_true.dtype() == y_pred.dtype() ? y_true : cast(y_true, y_pred.dtype());
  Mean::update_state(cast(equal(t, y_pred), float32), sample_weight);
}

}  // namespace ember::metrics
