#include "nn/metrics.h"

#include "core/context.h"
#include "core/error.h"
#include "core/op_registry.h"
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

Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  Tensor labels = y_true;
  if (labels.rank() == y_pred.rank() && labels.rank() > 0 && labels.dim(-1) == 1)
    labels = squeeze(labels, {-1});
  EMBER_CHECK(labels.rank() + 1 == y_pred.rank(), InvalidArgument,
              "[metrics::SparseCategoricalAccuracy] labels of shape ",
              y_true.shape().to_debug_string(), " do not fit predictions of shape ",
              y_pred.shape().to_debug_string());
  Tensor predicted = argmax(y_pred, -1, int64);
  return cast(equal(cast(labels, int64), predicted), float32);
}

void SparseCategoricalAccuracy::update_state(const Tensor& y_true, const Tensor& y_pred,
                                             const Tensor& sample_weight) {
  ApiScope api("metrics::SparseCategoricalAccuracy::update_state");
  Mean::update_state(sparse_categorical_accuracy(y_true, y_pred), sample_weight);
}

void Accuracy::update_state(const Tensor& y_true, const Tensor& y_pred,
                            const Tensor& sample_weight) {
  ApiScope api("metrics::Accuracy::update_state");
  Tensor t = y_true.dtype() == y_pred.dtype() ? y_true : cast(y_true, y_pred.dtype());
  Mean::update_state(cast(equal(t, y_pred), float32), sample_weight);
}

namespace {
// Labels [batch] against predictions [batch, 1] (Keras squeezes or expands them to match).
Tensor match_rank(const Tensor& y_true, const Tensor& y_pred) {
  if (y_true.rank() + 1 == y_pred.rank() && y_pred.dim(-1) == 1) return expand_dims(y_true, -1);
  return y_true;
}
void check_same_shape(const char* what, const Tensor& y_true, const Tensor& y_pred) {
  EMBER_CHECK(y_true.shape().is_compatible_with(y_pred.shape()), InvalidArgument, "[metrics::", what,
              "] labels of shape ", y_true.shape().to_debug_string(), " do not fit predictions of shape ",
              y_pred.shape().to_debug_string());
}
}  // namespace

Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  check_same_shape("categorical_accuracy", y_true, y_pred);
  return cast(equal(argmax(y_true, -1, int64), argmax(y_pred, -1, int64)), float32);
}

Tensor binary_accuracy(const Tensor& labels, const Tensor& y_pred, double threshold) {
  Tensor y_true = match_rank(labels, y_pred);
  check_same_shape("binary_accuracy", y_true, y_pred);
  Tensor p = cast(y_pred, float32);
  Tensor predicted = cast(greater(p, constant(static_cast<float>(threshold), p.device())), float32);
  return reduce_mean(cast(equal(cast(y_true, float32), predicted), float32), {-1});
}

Tensor mean_absolute_error(const Tensor& labels, const Tensor& y_pred) {
  Tensor y_true = match_rank(labels, y_pred);
  check_same_shape("mean_absolute_error", y_true, y_pred);
  Tensor p = cast(y_pred, float32);
  return reduce_mean(abs(p - cast(y_true, float32)), {-1});
}

MeanMetricWrapper::MeanMetricWrapper(Fn fn, std::string name, bool higher_is_better)
    : Mean(std::move(name)), fn_(std::move(fn)), higher_is_better_(higher_is_better) {
  EMBER_CHECK(fn_ != nullptr, InvalidArgument, "[metrics::MeanMetricWrapper] '", this->name(), "' has no function");
}

void MeanMetricWrapper::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  ApiScope api("metrics::MeanMetricWrapper::update_state");
  // 16-bit predictions are compared in float32 (as Keras's metrics compute).
  Tensor p = is_half(y_pred.dtype()) ? cast(y_pred, float32) : y_pred;
  Mean::update_state(fn_(y_true, p), sample_weight);
}

std::shared_ptr<MeanMetricWrapper> get(const std::string& name) {
  const std::string& kind = name;
  if (name == "accuracy" || name == "acc") {
    return std::make_shared<MeanMetricWrapper>(
        [](const Tensor& t, const Tensor& p) {
          const TensorShape &ts = t.shape(), &ps = p.shape();
          const int64_t classes = ps.rank() > 0 ? ps.dim(-1) : -1;
          const bool sparse = ts.rank() < ps.rank() || (ts.rank() > 0 && ts.dim(-1) == 1 && classes != 1);
          return classes == 1 ? binary_accuracy(t, p)
                 : sparse     ? sparse_categorical_accuracy(t, p)
                              : categorical_accuracy(t, p);
        },
        name, true);
  }
  MeanMetricWrapper::Fn fn;
  if (kind == "sparse_categorical_accuracy") {
    fn = sparse_categorical_accuracy;
  } else if (kind == "categorical_accuracy") {
    fn = categorical_accuracy;
  } else if (kind == "binary_accuracy") {
    fn = [](const Tensor& t, const Tensor& p) { return binary_accuracy(t, p); };
  } else if (kind == "mean_squared_error" || kind == "mse") {
    fn = [](const Tensor& labels, const Tensor& p) {
      Tensor t = match_rank(labels, p);
      check_same_shape("mean_squared_error", t, p);
      Tensor d = cast(p, float32) - cast(t, float32);
      return reduce_mean(d * d, {-1});
    };
  } else if (kind == "mean_absolute_error" || kind == "mae") {
    fn = mean_absolute_error;
  } else {
    throw InvalidArgument("[metrics::get] unknown metric '" + name +
                          "': known are accuracy (acc), sparse_categorical_accuracy, categorical_accuracy, "
                          "binary_accuracy, mean_squared_error (mse), mean_absolute_error (mae)");
  }
  const bool up = kind.find("accuracy") != std::string::npos;
  return std::make_shared<MeanMetricWrapper>(std::move(fn), name, up);
}

}  // namespace ember::metrics
