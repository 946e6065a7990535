// The schedules' arithmetic follows keras/src/optimizers/schedules, in float32.
#include "nn/schedules.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"

namespace ember::schedules {
namespace {

Tensor f32(double v, const Tensor& like) { return constant(v, float32, like.device()); }

}  // namespace

double LearningRateSchedule::at(int64_t step) const {
  return (*this)(constant(step)).item<float>();
}

ExponentialDecay::ExponentialDecay(double initial_learning_rate, int64_t decay_steps,
                                   double decay_rate, bool staircase)
    : initial_(initial_learning_rate), rate_(decay_rate), steps_(decay_steps), staircase_(staircase) {
  EMBER_CHECK(decay_steps > 0, InvalidArgument,
              "[schedules::ExponentialDecay] decay_steps must be positive, got ", decay_steps);
}

Tensor ExponentialDecay::operator()(const Tensor& step) const {
  Tensor p = cast(step, float32) / f32(double(steps_), step);
  if (staircase_) p = floor(p);
  return f32(initial_, step) * pow(f32(rate_, step), p);
}

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<int64_t> boundaries,
                                               std::vector<double> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
  EMBER_CHECK(values_.size() == boundaries_.size() + 1, InvalidArgument,
              "[schedules::PiecewiseConstantDecay] values must have one more element than "
              "boundaries, got ", values_.size(), " and ", boundaries_.size());
}

Tensor PiecewiseConstantDecay::operator()(const Tensor& step) const {
  // Keras: values[0] for step <= b[0], values[i] for b[i-1] < step <= b[i],
  // the last for step > b[-1].
  Tensor s = cast(step, int64);
  Tensor out = f32(values_.back(), step);
  for (size_t i = boundaries_.size(); i-- > 0;)
    out = where(s <= constant(boundaries_[i], int64, step.device()), f32(values_[i], step), out);
  return out;
}

CosineDecay::CosineDecay(double initial_learning_rate, int64_t decay_steps, Options options)
    : initial_(initial_learning_rate), steps_(decay_steps), o_(options) {
  EMBER_CHECK(decay_steps > 0, InvalidArgument,
              "[schedules::CosineDecay] decay_steps must be positive, got ", decay_steps);
}

Tensor CosineDecay::operator()(const Tensor& step) const {
  Tensor s = cast(step, float32);
  Tensor decay_steps = f32(double(steps_), step);
  auto decayed = [&](Tensor initial, Tensor global) {
    Tensor completed = global / decay_steps;
    Tensor cosine = f32(0.5, step) * (f32(1, step) + cos(f32(M_PI, step) * completed));
    Tensor d = (f32(1, step) - f32(o_.alpha, step)) * cosine + f32(o_.alpha, step);
    return initial * d;
  };
  Tensor initial = f32(initial_, step);
  if (o_.warmup_target < 0) {
    // Keras: global_step clipped to decay_steps.
    return decayed(initial, minimum(s, decay_steps));
  }
  Tensor warmup_steps = f32(double(o_.warmup_steps), step);
  Tensor target = f32(o_.warmup_target, step);
  Tensor completed_warmup = s / warmup_steps;
  Tensor warm = completed_warmup * (target - initial) + initial;
  Tensor after = decayed(target, minimum(s - warmup_steps, decay_steps));
  return where(s < warmup_steps, warm, after);
}

PolynomialDecay::PolynomialDecay(double initial_learning_rate, int64_t decay_steps,
                                 double end_learning_rate, double power, bool cycle)
    : initial_(initial_learning_rate), end_(end_learning_rate), power_(power), steps_(decay_steps),
      cycle_(cycle) {
  EMBER_CHECK(decay_steps > 0, InvalidArgument,
              "[schedules::PolynomialDecay] decay_steps must be positive, got ", decay_steps);
}

Tensor PolynomialDecay::operator()(const Tensor& step) const {
  Tensor s = cast(step, float32);
  Tensor steps = f32(double(steps_), step);
  if (cycle_) {
    // decay_steps · ceil(step / decay_steps), and decay_steps itself at step 0.
    Tensor mult = where(s == f32(0, step), f32(1, step), ceil(s / steps));
    steps = steps * mult;
  } else {
    s = minimum(s, steps);
  }
  Tensor p = s / steps;
  return (f32(initial_, step) - f32(end_, step)) * pow(f32(1, step) - p, f32(power_, step)) +
         f32(end_, step);
}

}  // namespace ember::schedules
