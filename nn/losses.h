// Losses: keras.losses (Keras 3's arithmetic): a per-example loss, weighted
// by an optional sample_weight, then reduced ("sum_over_batch_size" by
// default: the weighted sum divided by the number of losses).
#pragma once

#include <string>

#include "core/tensor.h"

namespace ember::losses {

enum class Reduction {
  None,              // the per-example losses
  Sum,               // their weighted sum
  SumOverBatchSize,  // the weighted sum over the number of losses (Keras's default)
  Mean,              // the same as SumOverBatchSize, as Keras
  MeanWithSampleWeight,  // the weighted sum over the sum of the weights
};

/// Keras's epsilon: what probabilities are clipped into [eps, 1 - eps] by.
inline constexpr double kEpsilon = 1e-7;

/// Per-example losses (reduced over the last axis only).
Tensor sparse_categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred,
                                       bool from_logits = false);
Tensor categorical_crossentropy(const Tensor& y_true, const Tensor& y_pred,
                                bool from_logits = false, double label_smoothing = 0);
Tensor binary_crossentropy(const Tensor& y_true, const Tensor& y_pred, bool from_logits = false,
                           double label_smoothing = 0);
Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred);

/// Weights `values` by `sample_weight` (undefined: none; broadcast against
/// the values after matching ranks) and reduces them.
Tensor reduce_weighted(const Tensor& values, const Tensor& sample_weight, Reduction reduction);

struct LossOptions {
  bool from_logits = false;
  double label_smoothing = 0;
  Reduction reduction = Reduction::SumOverBatchSize;
};

class Loss {
 public:
  explicit Loss(LossOptions options, std::string name)
      : options_(options), name_(std::move(name)) {}
  virtual ~Loss() = default;
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred,
                    const Tensor& sample_weight = Tensor()) const;
  const std::string& name() const { return name_; }

 protected:
  virtual Tensor call(const Tensor& y_true, const Tensor& y_pred) const = 0;
  LossOptions options_;

 private:
  std::string name_;
};

/// Integer class labels against class scores (probabilities, or logits with from_logits).
class SparseCategoricalCrossentropy : public Loss {
 public:
  explicit SparseCategoricalCrossentropy(LossOptions options = {})
      : Loss(options, "sparse_categorical_crossentropy") {}

 protected:
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};

/// One-hot or soft labels against class scores.
class CategoricalCrossentropy : public Loss {
 public:
  explicit CategoricalCrossentropy(LossOptions options = {})
      : Loss(options, "categorical_crossentropy") {}

 protected:
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};

/// 0/1 labels against probabilities (or logits), averaged over the last axis.
class BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(LossOptions options = {}) : Loss(options, "binary_crossentropy") {}

 protected:
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};

/// Squared error averaged over the last axis.
class MeanSquaredError : public Loss {
 public:
  explicit MeanSquaredError(LossOptions options = {}) : Loss(options, "mean_squared_error") {}

 protected:
  Tensor call(const Tensor& y_true, const Tensor& y_pred) const override;
};

}  // namespace ember::losses
