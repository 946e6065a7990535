// Metrics: keras.metrics. A metric accumulates state in variables (so a
// checkpoint keeps it) across update_state calls; result() reads it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "core/variable.h"
#include "state/trackable.h"

namespace ember::metrics {

/// The weighted mean of every value seen (keras.metrics.Mean): total and
/// count, both float32.
class Mean : public AutoTrackable {
 public:
  explicit Mean(std::string name = "mean");
  /// Adds `values` (any shape), each weighted by `sample_weight` when given
  /// (broadcast against the values after matching ranks).
  void update_state(const Tensor& values, const Tensor& sample_weight = Tensor());
  /// total / count, 0 before any value (a float32 scalar).
  Tensor result() const;
  void reset_state();
  const std::string& name() const { return name_; }
  /// The weighted sum of the values seen and the sum of their weights.
  const Variable& total() const { return total_; }
  const Variable& count() const { return count_; }

 private:
  std::string name_;
  Variable total_, count_;
};

/// How often the class with the highest score is the label
/// (keras.metrics.SparseCategoricalAccuracy).
class SparseCategoricalAccuracy : public Mean {
 public:
  explicit SparseCategoricalAccuracy(std::string name = "sparse_categorical_accuracy")
      : Mean(std::move(name)) {}
  /// `y_true`: integer labels (or floats holding them), the shape of
  /// `y_pred` without its last axis (or with a last axis of 1).
  void update_state(const Tensor& y_true, const Tensor& y_pred,
                    const Tensor& sample_weight = Tensor());
};

/// How often predictions equal labels exactly (keras.metrics.Accuracy).
class Accuracy : public Mean {
 public:
  explicit Accuracy(std::string name = "accuracy") : Mean(std::move(name)) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred,
                    const Tensor& sample_weight = Tensor());
};

/// The mean of a per-example value of labels and predictions
/// (keras.metrics.MeanMetricWrapper): what Model::compile's metrics are.
class MeanMetricWrapper : public Mean {
 public:
  using Fn = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
  /// `higher_is_better`: the direction callbacks in "auto" mode monitor it in.
  MeanMetricWrapper(Fn fn, std::string name, bool higher_is_better = false);
  void update_state(const Tensor& y_true, const Tensor& y_pred,
                    const Tensor& sample_weight = Tensor());
  bool higher_is_better() const { return higher_is_better_; }

 private:
  Fn fn_;
  bool higher_is_better_;
};

/// Per-example values, as keras.metrics' functions (over the last axis).
Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);
Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);
Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred, double threshold = 0.5);
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred);

/// A metric by Keras's name: "sparse_categorical_accuracy",
/// "categorical_accuracy", "binary_accuracy", "mean_squared_error" ("mse"),
/// "mean_absolute_error" ("mae"); "accuracy" ("acc") resolves at each
/// update as Keras's compile does from the shapes it meets: binary where the
/// predictions' last axis is 1, sparse where the labels have fewer axes (or
/// a last axis of 1 against several classes), categorical otherwise. The
/// metric keeps the name asked for. InvalidArgument listing the known names
/// otherwise.
std::shared_ptr<MeanMetricWrapper> get(const std::string& name);

}  // namespace ember::metrics
