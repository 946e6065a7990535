// Learning-rate schedules: keras.optimizers.schedules. A schedule maps the
// optimizer's step (its `iterations` before the update) to a learning rate,
// computed with ops in float32 as Keras does, so it also runs inside a
// traced training step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace ember::schedules {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  /// The rate at `step` (an int64 scalar), a float32 scalar.
  virtual Tensor operator()(const Tensor& step) const = 0;
  /// The rate at a plain step number.
  double at(int64_t step) const;
};
using SchedulePtr = std::shared_ptr<const LearningRateSchedule>;

/// initial · rate^(step / decay_steps) (floored with `staircase`).
class ExponentialDecay : public LearningRateSchedule {
 public:
  ExponentialDecay(double initial_learning_rate, int64_t decay_steps, double decay_rate,
                   bool staircase = false);
  Tensor operator()(const Tensor& step) const override;

 private:
  double initial_, rate_;
  int64_t steps_;
  bool staircase_;
};

/// values[i] while step <= boundaries[i] (values has one more element).
class PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  PiecewiseConstantDecay(std::vector<int64_t> boundaries, std::vector<double> values);
  Tensor operator()(const Tensor& step) const override;

 private:
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
};

/// Cosine decay from initial to alpha·initial over decay_steps, after an
/// optional linear warm-up to warmup_target over warmup_steps (Keras 3's
/// CosineDecay).
class CosineDecay : public LearningRateSchedule {
 public:
  struct Options {
    double alpha = 0;
    int64_t warmup_steps = 0;
    double warmup_target = -1;  // < 0: no warm-up target (Keras's None)
  };
  CosineDecay(double initial_learning_rate, int64_t decay_steps, Options options);
  CosineDecay(double initial_learning_rate, int64_t decay_steps)
      : CosineDecay(initial_learning_rate, decay_steps, Options{}) {}
  Tensor operator()(const Tensor& step) const override;

 private:
  double initial_;
  int64_t steps_;
  Options o_;
};

/// (initial - end)·(1 - step/decay_steps)^power + end, step clipped to
/// decay_steps (or, with `cycle`, decay_steps grown to a multiple of it).
class PolynomialDecay : public LearningRateSchedule {
 public:
  PolynomialDecay(double initial_learning_rate, int64_t decay_steps,
                  double end_learning_rate = 0.0001, double power = 1.0, bool cycle = false);
  Tensor operator()(const Tensor& step) const override;

 private:
  double initial_, end_, power_;
  int64_t steps_;
  bool cycle_;
};

}  // namespace ember::schedules
