// Keras's training API: Model (compile, fit, evaluate, predict,
// train_on_batch, summary, save) and Sequential, a Model of layers in order.
//
//   auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
//       std::make_shared<layers::Dense>(256, layers::DenseOptions{.activation = "relu"}),
//       std::make_shared<layers::Dense>(10)});
//   model->compile({.optimizer = std::make_shared<optimizers::Adam>(1e-3),
//                   .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
//                       losses::LossOptions{.from_logits = true}),
//                   .metrics = {"accuracy"}});
//   auto history = model->fit(x, y, {.batch_size = 128, .epochs = 3, .validation_split = 0.1});
//   Logs test = model->evaluate(x_test, y_test);
//
// A step is Keras's: the forward pass in training mode, the compiled loss,
// the gradient of every trainable variable, the optimizer's update, then the
// loss tracker (the mean loss weighted by batch size) and the metrics. It is
// traced (one ember::function per input structure, reused every step)
// unless `run_eagerly`. Under mixed_float16 compile wraps the optimizer in
// a LossScaleOptimizer, as Keras does. Callbacks (nn/callbacks.h) see the
// steps and epochs with Keras's hooks and `logs`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nn/data.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "nn/optimizers.h"

namespace ember {

class GradientTape;
class CheckpointManager;

namespace callbacks {
class Callback;
class History;
}  // namespace callbacks

/// Scalar results by name, as Keras passes `logs` to its callbacks: "loss"
/// first, then the compiled metrics in order ("val_" before each for
/// validation). A value set as a tensor, or as a function giving one, is
/// computed and read (a device sync) only when asked for, so a step whose
/// logs nobody reads costs nothing: a step's logs are read during the hook
/// they are passed to (later, a metric's may have moved on).
class Logs {
 public:
  void set(const std::string& name, Tensor value);
  void set(const std::string& name, double value);
  void set(const std::string& name, std::function<Tensor()> value);
  bool contains(const std::string& name) const { return values_.count(name) > 0; }
  /// The value; InvalidArgument naming the keys there are when absent.
  double at(const std::string& name) const;
  std::optional<double> get(const std::string& name) const;
  /// In the order they were first set.
  const std::vector<std::string>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }
  /// Every value, read now.
  std::map<std::string, double> values() const;
  /// "loss: 0.4123 - accuracy: 0.8512", as Keras's progress bar prints them.
  std::string to_string() const;

 private:
  struct Value {
    Tensor tensor;
    std::optional<double> number;
    std::function<Tensor()> compute;
  };
  std::vector<std::string> keys_;
  mutable std::map<std::string, Value> values_;
};

/// What fit needs of a data-parallel strategy (hooks that
/// distribute::MultiWorkerMirroredStrategy fills: nn/ is below distribute/).
class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual bool is_chief() const = 0;
  /// This replica's part of each global batch of `examples` (unbatched).
  virtual data::Dataset distribute_dataset(const data::Dataset& examples, int64_t global_batch,
                                           bool drop_remainder) const = 0;
  /// The gradients of this replica's loss, averaged across replicas.
  virtual std::vector<Tensor> gradient(GradientTape& tape, const Tensor& loss,
                                       const std::vector<Variable>& variables) const = 0;
  /// A mean over every replica's values (a collective: every replica calls it).
  virtual Tensor reduce(const metrics::Mean& metric) const = 0;
  /// Saves on the chief while the others wait; every replica returns the path.
  virtual std::string save(CheckpointManager& manager) const = 0;
  /// Every replica's flag, or-ed (a collective): a stop decided on one stops all.
  virtual bool any(bool flag) const = 0;
  /// While the returned guard lives, variables made on this thread start
  /// with rank 0's values (fit holds it, so the layers its first step
  /// builds are the same on every replica).
  virtual std::shared_ptr<void> enter_scope() const = 0;
};

/// keras.Model.compile's arguments.
struct CompileOptions {
  std::shared_ptr<optimizers::Optimizer> optimizer = nullptr;  // required
  std::shared_ptr<losses::Loss> loss = nullptr;                // required
  /// By Keras's name (metrics::get: "accuracy", "mae", ...) or a metric object.
  std::vector<std::variant<std::string, std::shared_ptr<metrics::MeanMetricWrapper>>> metrics = {};
  /// Run each step eagerly instead of as a traced function.
  bool run_eagerly = false;
  /// Data-parallel training (distribute::MultiWorkerMirroredStrategy): fit's
  /// batch_size is then the global batch, split across the replicas.
  std::shared_ptr<DataParallel> distribute = nullptr;
};

/// fit's validation_data: labelled tensors {x, y} (or {x, y, sample_weight}) or a batched Dataset.
class ValidationData {
 public:
  ValidationData() = default;
  ValidationData(data::Element tensors) : v_(std::move(tensors)) {}  // NOLINT: implicit
  ValidationData(data::Dataset dataset) : v_(std::move(dataset)) {}  // NOLINT: implicit
  bool empty() const { return std::holds_alternative<std::monostate>(v_); }
  const std::variant<std::monostate, data::Element, data::Dataset>& value() const { return v_; }

 private:
  std::variant<std::monostate, data::Element, data::Dataset> v_;
};

using CallbackList = std::vector<std::shared_ptr<callbacks::Callback>>;

/// keras.Model.fit's arguments.
struct FitOptions {
  int64_t batch_size = 32;  // for tensors (a Dataset comes batched)
  int epochs = 1;
  /// 0: silent; 1: a progress bar per epoch; 2: one line per epoch.
  int verbose = 1;
  CallbackList callbacks = {};
  /// The last fraction of the tensors (before shuffling) held out for validation, in [0, 1).
  double validation_split = 0;
  ValidationData validation_data = {};
  /// Tensors are reshuffled every epoch (seeded from ember's random seed).
  bool shuffle = true;
  /// The epoch to start at (epochs before it count as done).
  int initial_epoch = 0;
  /// Steps per epoch: default, a pass over the data (a dataset of unknown
  /// cardinality: until it ends). Fewer steps go on where the last epoch
  /// stopped; a dataset that ends first ends the training.
  std::optional<int64_t> steps_per_epoch = std::nullopt;
  std::optional<int64_t> validation_steps = std::nullopt;
  std::optional<int64_t> validation_batch_size = std::nullopt;  // default: batch_size
  /// Validate every this many epochs.
  int validation_freq = 1;
};

struct EvaluateOptions {
  int64_t batch_size = 32;  // for tensors
  int verbose = 1;
  std::optional<int64_t> steps = std::nullopt;
  CallbackList callbacks = {};
};

struct PredictOptions {
  int64_t batch_size = 32;  // for tensors
  int verbose = 0;
  std::optional<int64_t> steps = std::nullopt;
  CallbackList callbacks = {};
};

class Model : public layers::Layer {
 public:
  /// Configures training; a second compile replaces the first (its metrics
  /// start afresh; traced steps are traced again). InvalidArgument without
  /// an optimizer or a loss, or for an unknown metric.
  void compile(CompileOptions options);
  bool compiled() const { return compiled_; }

  /// Trains on `x` and `y` (tensors with the same first dimension; one
  /// `sample_weight` per example when given) in batches of `batch_size`.
  /// Returns the History: each epoch's logs.
  std::shared_ptr<callbacks::History> fit(const Tensor& x, const Tensor& y, FitOptions options = {},
                                          const Tensor& sample_weight = Tensor());
  /// Trains on a Dataset whose elements are batches (x, y) or (x, y, sample_weight).
  std::shared_ptr<callbacks::History> fit(const data::Dataset& dataset, FitOptions options = {});

  /// The loss and metrics over the data (Keras's return_dict=True).
  Logs evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options = {},
                const Tensor& sample_weight = Tensor());
  Logs evaluate(const data::Dataset& dataset, EvaluateOptions options = {});

  /// The outputs for every example, in batches, concatenated.
  Tensor predict(const Tensor& x, PredictOptions options = {});
  /// A Dataset of batches (x) or (x, ...): the extra components are ignored.
  Tensor predict(const data::Dataset& dataset, PredictOptions options = {});

  /// One step on one batch; the metrics accumulate over calls unless reset.
  Logs train_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight = Tensor(),
                      bool reset_metrics = true);
  Logs test_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight = Tensor(),
                     bool reset_metrics = true);
  Tensor predict_on_batch(const Tensor& x);

  /// Keras's table: each layer's name and type, output shape (its last
  /// call's, the batch as None) and parameter count, then the totals (and
  /// the optimizer's variables once it has made them).
  std::string summary_string(int line_length = 80) const;
  void summary(std::FILE* out = stdout, int line_length = 80) const;
  /// Every variable's element count; trainable ones only.
  int64_t count_params() const;

  /// Writes a SavedModel (serialization/saved_model.h) of the model, its
  /// optimizer (tracked as "optimizer" once compiled) and a "serve" function
  /// traced for its last input's shape with the batch unknown. Needs a built model.
  void save(const std::string& dir);
  /// Restores the model's variables (and the optimizer's, when compiled)
  /// from a checkpoint prefix or a SavedModel directory written by save():
  /// into the same architecture, made in code, so training goes on.
  void load_weights(const std::string& path);
  /// Writes a checkpoint of the model's variables (and the optimizer) at `path`.
  void save_weights(const std::string& path);

  /// Set by a callback (EarlyStopping, TerminateOnNaN) to end fit after this step.
  bool stop_training = false;

  optimizers::Optimizer& optimizer() const;
  /// The LossScaleOptimizer compile made under mixed_float16 (null otherwise).
  const std::shared_ptr<optimizers::LossScaleOptimizer>& loss_scale_optimizer() const { return scaled_; }
  const std::shared_ptr<losses::Loss>& loss() const { return options_.loss; }
  /// The loss tracker and the compiled metrics (built by the first step), in log order.
  std::vector<std::shared_ptr<metrics::Mean>> metrics() const;
  void reset_metrics();
  /// The logs of the metrics' results ("val_" before each with `prefix`),
  /// computed when read (this replica's own).
  Logs metric_logs(const std::string& prefix = "") const;
  /// The metrics' results read now, over every replica under a strategy
  /// (a collective: every replica calls it).
  Logs results(const std::string& prefix = "") const;
  const std::shared_ptr<DataParallel>& distribute() const { return options_.distribute; }
  /// The History of the last fit (null before one).
  const std::shared_ptr<callbacks::History>& history() const { return history_; }

  /// Where fit is: the epoch being trained, the steps done in it, and the
  /// examples in the last batch.
  int current_epoch() const { return epoch_; }
  int64_t steps_done_in_epoch() const { return step_; }
  int64_t last_batch_size() const { return last_batch_size_; }
  /// The steps in each epoch of this fit (-1 where the data's length is unknown).
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  /// The training data's iterator (over every epoch's batches) during fit;
  /// null where the data's length is unknown (one iterator per epoch then).
  const std::shared_ptr<data::Dataset::Iterator>& train_iterator() const { return train_iterator_; }
  /// Called in on_train_begin (BackupAndRestore): the fit starts at `epoch`
  /// with `step` of its steps done (the data iterator restored to match).
  void resume_at(int epoch, int64_t step);

 protected:
  explicit Model(const std::string& name = {}, const std::string& base = "model");
  /// One training step (keras.Model.train_step): override for custom
  /// training; it runs traced unless run_eagerly.
  virtual void train_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight);
  /// One evaluation step: the forward pass, the loss and the metrics.
  virtual void test_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight);
  /// The compiled loss of a batch (Keras's compute_loss).
  virtual Tensor compute_loss(const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight);
  /// The loss tracker and the metrics updated with a batch.
  void update_metrics(const Tensor& x, const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight,
                      const Tensor& loss);

 private:
  struct Steps;
  std::shared_ptr<Trackable> optimizer_trackable() const;
  template <typename F>
  void with_optimizer_tracked(F f);
  void check_compiled(const char* api) const;
  void build_metrics(const Tensor& y, const Tensor& y_pred);
  // One element of a batched dataset as (x, y, sample_weight), checked.
  void check_element(const char* api, const data::Element& e, bool labelled) const;
  void run_train_step(const data::Element& e);
  void run_test_step(const data::Element& e);
  Logs run_evaluate(const data::Dataset& batches, std::optional<int64_t> steps, int verbose,
                    const CallbackList& callbacks, const std::string& prefix);
  std::shared_ptr<callbacks::History> run_fit(const data::Dataset& batches,
                                              std::optional<data::Dataset> validation, FitOptions options);

  CompileOptions options_;
  bool compiled_ = false;
  std::shared_ptr<optimizers::LossScaleOptimizer> scaled_;
  std::shared_ptr<metrics::Mean> loss_tracker_;
  std::vector<std::shared_ptr<metrics::MeanMetricWrapper>> metrics_;
  std::vector<std::variant<std::string, std::shared_ptr<metrics::MeanMetricWrapper>>> metric_specs_;
  std::shared_ptr<Steps> steps_;
  std::shared_ptr<callbacks::History> history_;
  int epoch_ = 0;
  int64_t step_ = 0, last_batch_size_ = 0, steps_per_epoch_ = -1;
  std::optional<std::pair<int, int64_t>> resume_;
  std::shared_ptr<data::Dataset::Iterator> train_iterator_;
};

/// keras.Sequential: layers applied in order, each tracked as "layer-<i>".
class Sequential : public Model {
 public:
  explicit Sequential(std::vector<std::shared_ptr<layers::Layer>> layers = {}, std::string name = {});
  void add(std::shared_ptr<layers::Layer> layer);
  const std::vector<std::shared_ptr<layers::Layer>>& layers() const { return layers_; }

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::vector<std::shared_ptr<layers::Layer>> layers_;
};

namespace layers {
using ember::Sequential;
}  // namespace layers

}  // namespace ember
