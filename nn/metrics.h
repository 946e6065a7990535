// Metrics: keras.metrics. A metric accumulates state in variables (so a
// checkpoint keeps it) across update_state calls; result() reads it.
#pragma once

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

}  // namespace ember::metrics
