// Optimizers: keras.optimizers (Keras 3's arithmetic and defaults). Each
// variable's update is one fused op (TensorFlow's ResourceApply* family,
// core/ops/optimizer.cpp) on the variable's device. The step counter
// (`iterations`, tracked as "iter") and the slot variables are trackable:
// `Checkpoint({{"model", m}, {"optimizer", opt}})` saves them in
// TensorFlow's format (slots as SlotVariableReferences), and a slot that a
// restored checkpoint holds takes its value when the first step creates it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"
#include "core/variable.h"
#include "nn/schedules.h"
#include "state/trackable.h"

namespace ember::optimizers {

/// A constant rate, or a schedule of the step.
using LearningRate = std::variant<double, schedules::SchedulePtr>;

/// What every optimizer takes besides its own hyper-parameters.
struct Options {
  /// Each gradient rescaled to at most this L2 norm.
  std::optional<double> clipnorm = std::nullopt;
  /// Each gradient element clipped to [-clipvalue, clipvalue].
  std::optional<double> clipvalue = std::nullopt;
  /// All gradients rescaled together to at most this global L2 norm.
  std::optional<double> global_clipnorm = std::nullopt;
  /// Decoupled weight decay: var -= var·weight_decay·lr before the update.
  std::optional<double> weight_decay = std::nullopt;
  std::string name = {};  // default: the optimizer's ("Adam")
};

class Optimizer : public AutoTrackable {
 public:
  /// One step: each variable updated from its gradient (an undefined
  /// gradient skips its variable), then `iterations` += 1.
  void apply(const std::vector<Tensor>& grads, const std::vector<Variable>& variables);
  void apply_gradients(const std::vector<std::pair<Tensor, Variable>>& grads_and_vars);
  /// Makes the slots of `variables` now, in order (Keras's optimizer.build):
  /// values a checkpoint holds for them are taken at once.
  void build(const std::vector<Variable>& variables);

  /// The steps applied so far (int64 scalar variable).
  const Variable& iterations() const { return iterations_; }
  /// The rate the next step uses.
  double learning_rate() const;
  /// Sets a constant rate (a float32 variable tracked as "learning_rate", so
  /// a traced step reads the new value and a checkpoint keeps it);
  /// InvalidArgument for an optimizer made with a schedule.
  void set_learning_rate(double learning_rate);
  /// Whether the rate is a schedule of the step (not settable).
  bool has_schedule() const;
  const std::string& name() const { return name_; }

  std::vector<SlotVariable> slot_variables() const override;
  void restore_slot(const Variable& original, const std::string& name,
                    std::function<void(const Variable& slot)> restore) override;

  /// The slot `name` of `variable` (FailedPrecondition when it has none yet).
  Variable get_slot(const Variable& variable, const std::string& name) const;
  /// The slot names this optimizer keeps per variable.
  virtual std::vector<std::string> slot_names() const = 0;

 protected:
  Optimizer(LearningRate learning_rate, Options options, std::string default_name);
  /// Updates one variable; `lr` is this step's rate (float32 scalar on the
  /// variable's device) and `step` the step number counted from 1 (float32).
  virtual void update_step(const Tensor& grad, const Variable& variable, const Tensor& lr,
                           const Tensor& step) = 0;
  /// Initial value of slot `name` (zero unless an optimizer says otherwise).
  virtual double slot_initial_value(const std::string& name) const {
    (void)name;
    return 0;
  }
  /// `value` as a scalar of `like`'s dtype on its device.
  static Tensor scalar(double value, const Variable& like);
  /// Runs the fused update `dense` on `inputs`, or, when inputs[grad] is a
  /// gradient held as rows (core/indexed_slices.h), its twin `rows` on the
  /// rows and their row numbers: the same update, without a dense gradient.
  static void run_update(const OpDef& dense, const OpDef& rows, std::vector<Tensor> inputs, size_t grad,
                         const Attrs& attrs);
  static void run_update(const OpDef& dense, const OpDef& rows, std::vector<Tensor> inputs, size_t grad);

 private:
  struct Slots {
    Variable original;
    std::map<std::string, Variable> by_name;
    std::vector<std::shared_ptr<Trackable>> nodes;  // keep checkpoint bindings alive
  };
  Slots& slots_of(const Variable& v);
  Tensor current_rate() const;
  std::vector<Tensor> clip(std::vector<Tensor> grads) const;

  LearningRate learning_rate_;
  Options options_;
  std::string name_;
  std::string api_;  // what errors name: "optimizers::Adam"
  Variable iterations_;
  Variable rate_;  // the constant rate (undefined with a schedule)
  std::vector<const void*> order_;  // variables in the order their slots were made
  std::map<const void*, Slots> slots_;
  // Slot values a checkpoint holds for slots not made yet: variable -> name
  // -> restore. Keyed on the variable's state weakly, by owner: a variable
  // made later where a dead one lived is another key (an address is not).
  std::map<std::weak_ptr<ResourceBase>, std::map<std::string, std::function<void(const Variable&)>>,
           std::owner_less<>>
      pending_;

 protected:
  /// The slot `name` of `variable`, made on first use.
  Variable slot(const Variable& variable, const std::string& name);
};

/// Gradient descent, with momentum (Keras's form: v = m·v - lr·g; w += v)
/// and Nesterov's variant.
struct SGDParams {
  double momentum = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  using Params = SGDParams;
  explicit SGD(LearningRate learning_rate = 0.01, Params params = {}, Options options = {});
  std::vector<std::string> slot_names() const override;

 protected:
  void update_step(const Tensor& grad, const Variable& variable, const Tensor& lr,
                   const Tensor& step) override;

 private:
  Params p_;
};

/// Adam (Kingma and Ba), epsilon as TensorFlow's "epsilon hat".
struct AdamParams {
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};

class Adam : public Optimizer {
 public:
  using Params = AdamParams;
  explicit Adam(LearningRate learning_rate = 0.001, Params params = {}, Options options = {});
  std::vector<std::string> slot_names() const override { return {"m", "v"}; }

 protected:
  Adam(LearningRate learning_rate, Params params, Options options, std::string name);
  void update_step(const Tensor& grad, const Variable& variable, const Tensor& lr,
                   const Tensor& step) override;

 private:
  Params p_;
};

/// Adam with decoupled weight decay (Loshchilov and Hutter); weight_decay
/// defaults to Keras's 0.004.
class AdamW : public Adam {
 public:
  explicit AdamW(LearningRate learning_rate = 0.001, Params params = {}, Options options = {});
};

struct RMSpropParams {
  double rho = 0.9;
  double momentum = 0;
  double epsilon = 1e-7;
  bool centered = false;
};

class RMSprop : public Optimizer {
 public:
  using Params = RMSpropParams;
  explicit RMSprop(LearningRate learning_rate = 0.001, Params params = {}, Options options = {});
  std::vector<std::string> slot_names() const override;

 protected:
  void update_step(const Tensor& grad, const Variable& variable, const Tensor& lr,
                   const Tensor& step) override;

 private:
  Params p_;
};

struct AdagradParams {
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
};

class Adagrad : public Optimizer {
 public:
  using Params = AdagradParams;
  explicit Adagrad(LearningRate learning_rate = 0.001, Params params = {}, Options options = {});
  std::vector<std::string> slot_names() const override { return {"accumulator"}; }

 protected:
  void update_step(const Tensor& grad, const Variable& variable, const Tensor& lr,
                   const Tensor& step) override;
  double slot_initial_value(const std::string&) const override { return p_.initial_accumulator_value; }

 private:
  Params p_;
};

/// keras.optimizers.LossScaleOptimizer's dynamic loss scaling (Keras 3's
/// arithmetic): the loss is multiplied by the scale before the gradient
/// (`scale_loss`); `apply` divides the gradients by it, and where every one
/// is finite the inner optimizer applies them and the scale doubles after
/// `dynamic_growth_steps` such steps in a row; an inf or NaN anywhere skips
/// the step and halves the scale. Eager and traced alike (the choice is a
/// `cond`). Tracked as Keras 3 tracks it: `inner_optimizer`,
/// `dynamic_scale` (float32) and `step_counter` (int64), so TensorFlow's
/// LossScaleOptimizer restores the scale from ember's checkpoints and the
/// reverse.
struct LossScaleParams {
  double initial_scale = 32768;  // 2^15
  int64_t dynamic_growth_steps = 2000;
};

class LossScaleOptimizer : public AutoTrackable {
 public:
  using Params = LossScaleParams;
  explicit LossScaleOptimizer(std::shared_ptr<Optimizer> inner, Params params = {});

  /// `loss` times the current scale.
  Tensor scale_loss(const Tensor& loss) const;
  /// Gradients of the scaled loss: unscaled and applied, or the step skipped.
  void apply(const std::vector<Tensor>& grads, const std::vector<Variable>& variables);

  Optimizer& inner_optimizer() const { return *inner_; }
  const Variable& dynamic_scale() const { return dynamic_scale_; }
  const Variable& step_counter() const { return step_counter_; }
  /// The steps applied (the inner optimizer's: skipped steps do not count, as in Keras).
  const Variable& iterations() const { return inner_->iterations(); }

 private:
  std::shared_ptr<Optimizer> inner_;
  Params p_;
  Variable dynamic_scale_, step_counter_;
};

/// Rescales `grads` together so that their global L2 norm is at most
/// `clip_norm` (tf.clip_by_global_norm); undefined entries stay undefined.
std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& grads, double clip_norm);
/// Rescales `grad` to an L2 norm of at most `clip_norm` (tf.clip_by_norm).
Tensor clip_by_norm(const Tensor& grad, double clip_norm);

}  // namespace ember::optimizers
