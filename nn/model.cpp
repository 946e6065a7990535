#include "nn/model.h"

#include <cxxabi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "autograd/tape.h"
#include "core/context.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/random.h"
#include "graph/function.h"
#include "nn/callbacks.h"
#include "serialization/checkpoint.h"
#include "serialization/saved_model.h"

namespace ember {

// ---- Logs -----------------------------------------------------------------------------------

void Logs::set(const std::string& name, Tensor value) {
  if (!values_.count(name)) keys_.push_back(name);
  values_[name] = {std::move(value), std::nullopt, nullptr};
}

void Logs::set(const std::string& name, double value) {
  if (!values_.count(name)) keys_.push_back(name);
  values_[name] = {Tensor(), value, nullptr};
}

void Logs::set(const std::string& name, std::function<Tensor()> value) {
  if (!values_.count(name)) keys_.push_back(name);
  values_[name] = {Tensor(), std::nullopt, std::move(value)};
}

std::optional<double> Logs::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  Value& v = it->second;
  if (!v.number) v.number = cast(v.compute ? v.compute() : v.tensor, float64).item<double>();
  return v.number;
}

double Logs::at(const std::string& name) const {
  if (auto v = get(name)) return *v;
  std::string known;
  for (const auto& k : keys_) known += (known.empty() ? "" : ", ") + k;
  throw InvalidArgument("[Logs] no value '" + name + "': the logs hold " + (known.empty() ? "none" : known));
}

std::map<std::string, double> Logs::values() const {
  std::map<std::string, double> out;
  for (const auto& k : keys_) out[k] = at(k);
  return out;
}

std::string Logs::to_string() const {
  std::string out;
  char buf[64];
  for (const auto& k : keys_) {
    std::snprintf(buf, sizeof buf, "%.4f", at(k));
    out += (out.empty() ? "" : " - ") + k + ": " + buf;
  }
  return out;
}

// ---- Model: compile ---------------------------------------------------------------------------

// The traced steps, one per input structure ((x, y) or (x, y, sample_weight)).
struct Model::Steps {
  std::function<void(const Tensor&, const Tensor&)> train, test;
  std::function<void(const Tensor&, const Tensor&, const Tensor&)> train_weighted, test_weighted;
};

Model::Model(const std::string& name, const std::string& base) : Layer(name, base) {}

void Model::compile(CompileOptions options) {
  EMBER_CHECK(options.optimizer != nullptr, InvalidArgument, "[", name(),
              "] compile: `optimizer` is required (an optimizers::Adam, SGD, ...)");
  EMBER_CHECK(options.loss != nullptr, InvalidArgument, "[", name(),
              "] compile: `loss` is required (a losses::SparseCategoricalCrossentropy, ...)");
  std::vector<std::shared_ptr<metrics::MeanMetricWrapper>> built;
  std::set<std::string> names{"loss"};
  for (const auto& spec : options.metrics) {
    std::shared_ptr<metrics::MeanMetricWrapper> m;
    if (const auto* n = std::get_if<std::string>(&spec)) {
      try {
        m = metrics::get(*n);
      } catch (const Error&) {
        rethrow_with_prefix("[" + name() + "] compile: `metrics`: ");
      }
    } else {
      m = std::get<std::shared_ptr<metrics::MeanMetricWrapper>>(spec);
      EMBER_CHECK(m != nullptr, InvalidArgument, "[", name(), "] compile: `metrics` holds a null metric");
    }
    EMBER_CHECK(names.insert(m->name()).second, InvalidArgument, "[", name(), "] compile: two metrics are named '",
                m->name(), "' (the logs need each name once)");
    built.push_back(std::move(m));
  }
  options_ = std::move(options);
  metrics_ = std::move(built);
  loss_tracker_ = std::make_shared<metrics::Mean>("loss");
  // Keras's compile: a float16 policy scales the loss.
  scaled_ = dtype_policy().name() == "mixed_float16"
                ? std::make_shared<optimizers::LossScaleOptimizer>(options_.optimizer)
                : nullptr;
  steps_ = nullptr;  // traced again for this configuration
  compiled_ = true;
}

optimizers::Optimizer& Model::optimizer() const {
  check_compiled("optimizer");
  return *options_.optimizer;
}

void Model::check_compiled(const char* api) const {
  EMBER_CHECK(compiled_, FailedPrecondition, "[", name(), "] ", api,
              ": the model must be compiled first: call compile({.optimizer = ..., .loss = ...})");
}

std::vector<std::shared_ptr<metrics::Mean>> Model::metrics() const {
  std::vector<std::shared_ptr<metrics::Mean>> out;
  if (loss_tracker_) out.push_back(loss_tracker_);
  for (const auto& m : metrics_) out.push_back(m);
  return out;
}

void Model::reset_metrics() {
  for (const auto& m : metrics()) m->reset_state();
}

Logs Model::results(const std::string& prefix) const {
  Logs logs;
  for (const auto& m : metrics())
    logs.set(prefix + m->name(),
             options_.distribute ? options_.distribute->reduce(*m).item<float>() : m->result().item<float>());
  return logs;
}

Logs Model::metric_logs(const std::string& prefix) const {
  Logs logs;
  for (const auto& m : metrics())
    logs.set(prefix + m->name(), std::function<Tensor()>([m] { return m->result(); }));
  return logs;
}

// ---- Model: the steps ------------------------------------------------------------------------

Tensor Model::compute_loss(const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight) {
  const losses::Loss& loss = *options_.loss;
  const TensorShape& ys = y.shape();
  const TensorShape& ps = y_pred.shape();
  // Labels that cannot meet the outputs: a clear error before any step runs
  // (the first trace, or the first eager forward pass, meets it).
  bool fits = true;
  if (!ys.rank_known() || !ps.rank_known()) {
    fits = true;
  } else if (dynamic_cast<const losses::SparseCategoricalCrossentropy*>(&loss)) {
    fits = ps.rank() >= 1 && (ys.rank() + 1 == ps.rank() || (ys.rank() == ps.rank() && ys.dim(-1) == 1));
    for (int64_t i = 0; fits && i + 1 < ps.rank() && i < ys.rank(); ++i)
      fits = ys.dim(i) < 0 || ps.dim(i) < 0 || ys.dim(i) == ps.dim(i);
  } else {
    TensorShape a = ys, b = ps;
    if (a.rank() + 1 == b.rank() && b.dim(-1) == 1) b = TensorShape(std::vector<int64_t>(b.dims().begin(), b.dims().end() - 1));
    if (b.rank() + 1 == a.rank() && a.dim(-1) == 1) a = TensorShape(std::vector<int64_t>(a.dims().begin(), a.dims().end() - 1));
    fits = a.is_compatible_with(b);
  }
  EMBER_CHECK(fits, InvalidArgument, "[", name(), "] the loss '", loss.name(), "' does not fit the model's outputs: ",
              "labels (y) of shape ", ys.to_debug_string(), " against outputs of shape ", ps.to_debug_string());
  Tensor y_true = y;
  if (!dynamic_cast<const losses::SparseCategoricalCrossentropy*>(&loss) && ys.rank() + 1 == ps.rank() &&
      ps.dim(-1) == 1)
    y_true = expand_dims(y, -1);
  return loss(y_true, y_pred, sample_weight);
}

void Model::update_metrics(const Tensor& x, const Tensor& y, const Tensor& y_pred, const Tensor& sample_weight,
                           const Tensor& loss) {
  // The loss tracker weighs each batch's mean loss by its size (Keras 3).
  Tensor batch = x.dim(0) >= 0 ? constant(static_cast<float>(x.dim(0)), loss.device())
                               : cast(gather(shape(x), constant(int32_t{0}, x.device())), float32);
  loss_tracker_->update_state(cast(loss, float32), batch);
  for (const auto& m : metrics_) m->update_state(y, y_pred, sample_weight);
}

void Model::train_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  GradientTape tape;
  Tensor y_pred = (*this)(x, true);
  Tensor loss = compute_loss(y, y_pred, sample_weight);
  std::vector<Variable> vars = trainable_variables();
  auto gradient = [&](const Tensor& l) {
    return options_.distribute ? options_.distribute->gradient(tape, l, vars) : tape.gradient(l, vars);
  };
  if (scaled_) {
    scaled_->apply(gradient(scaled_->scale_loss(loss)), vars);
  } else {
    options_.optimizer->apply(gradient(loss), vars);
  }
  update_metrics(x, y, y_pred, sample_weight, loss);
}

void Model::test_step(const Tensor& x, const Tensor& y, const Tensor& sample_weight) {
  Tensor y_pred = (*this)(x, false);
  update_metrics(x, y, y_pred, sample_weight, compute_loss(y, y_pred, sample_weight));
}

namespace {
// Element e of a batch: its x, y and sample weight (undefined when absent).
const Tensor& part(const data::Element& e, size_t i) {
  static const Tensor none;
  return i < e.size() ? e[i] : none;
}
}  // namespace

void Model::check_element(const char* api, const data::Element& e, bool labelled) const {
  const size_t lo = labelled ? 2 : 1;
  EMBER_CHECK(e.size() >= lo && e.size() <= 3, InvalidArgument, "[", name(), "] ", api, ": the data yields ", e.size(),
              " tensors per batch; it must yield ", labelled ? "(x, y) or (x, y, sample_weight)" : "(x) or (x, y...)");
  for (size_t i = 0; i < e.size(); ++i)
    EMBER_CHECK(e[i].defined() && e[i].rank() >= 1, InvalidArgument, "[", name(), "] ", api, ": component ", i,
                " of a batch is ", e[i].defined() ? "a scalar" : "undefined", "; each must have a batch dimension");
  for (size_t i = 1; i < e.size(); ++i)
    EMBER_CHECK(e[i].dim(0) == e[0].dim(0), InvalidArgument, "[", name(), "] ", api, ": a batch's ",
                i == 1 ? "y" : "sample_weight", " has ", e[i].dim(0), " rows, its x ", e[0].dim(0));
}

namespace {
// Runs `step` on a batch: eagerly, or through the traced function kept in
// `plain` or `weighted` (made on first use) for its structure.
template <typename Step>
void run_step(const data::Element& e, bool eagerly, const char* name, Step step,
              std::function<void(const Tensor&, const Tensor&)>& plain,
              std::function<void(const Tensor&, const Tensor&, const Tensor&)>& weighted) {
  if (eagerly) {
    step(e[0], e[1], part(e, 2));
  } else if (e.size() == 2) {
    if (!plain) plain = function([step](Tensor x, Tensor y) { step(x, y, Tensor()); }, {.name = name});
    plain(e[0], e[1]);
  } else {
    if (!weighted) weighted = function([step](Tensor x, Tensor y, Tensor w) { step(x, y, w); }, {.name = name});
    weighted(e[0], e[1], e[2]);
  }
}
}  // namespace

void Model::run_train_step(const data::Element& e) {
  last_batch_size_ = e[0].dim(0);
  if (!steps_) steps_ = std::make_shared<Steps>();
  run_step(
      e, options_.run_eagerly, "train_step",
      [this](const Tensor& x, const Tensor& y, const Tensor& w) { train_step(x, y, w); }, steps_->train,
      steps_->train_weighted);
}

void Model::run_test_step(const data::Element& e) {
  if (!steps_) steps_ = std::make_shared<Steps>();
  run_step(
      e, options_.run_eagerly, "test_step",
      [this](const Tensor& x, const Tensor& y, const Tensor& w) { test_step(x, y, w); }, steps_->test,
      steps_->test_weighted);
}

// ---- Model: fit, evaluate, predict ---------------------------------------------------------

namespace {

data::Element labelled(const Tensor& x, const Tensor& y, const Tensor& w) {
  data::Element e{x, y};
  if (w.defined()) e.push_back(w);
  return e;
}

void check_tensors(const std::string& model, const char* api, const data::Element& e) {
  static const char* kNames[] = {"x", "y", "sample_weight"};
  for (size_t i = 0; i < e.size(); ++i) {
    EMBER_CHECK(e[i].defined(), InvalidArgument, "[", model, "] ", api, ": `", kNames[i], "` is undefined");
    EMBER_CHECK(e[i].rank() >= 1, InvalidArgument, "[", model, "] ", api, ": `", kNames[i],
                "` is a scalar; it needs one row per example");
    EMBER_CHECK(e[i].dim(0) == e[0].dim(0), InvalidArgument, "[", model, "] ", api, ": `", kNames[i], "` has ",
                e[i].dim(0), " rows but `x` has ", e[0].dim(0), " (one per example in each)");
  }
}

// Rows [begin, end) of every tensor.
data::Element rows(const data::Element& e, int64_t begin, int64_t end) {
  data::Element out;
  for (const Tensor& t : e) {
    std::vector<int64_t> b(static_cast<size_t>(t.rank()), 0), s = t.shape().as_vector();
    b[0] = begin;
    s[0] = end - begin;
    out.push_back(slice(t, b, s));
  }
  return out;
}

// The seed of a fit's shuffle: drawn from ember's global generator, so
// random::set_seed makes the order reproducible.
int64_t draw_seed() {
  DeviceScope cpu(Device::cpu());
  return static_cast<int64_t>(random::uniform({}, 0, 1, float64).item<double>() * double(int64_t{1} << 40));
}

// Calls `hook` on each callback.
template <typename Hook>
void each(const CallbackList& cbs, Hook hook) {
  for (const auto& cb : cbs) hook(*cb);
}

// The callbacks of one fit/evaluate/predict: the user's, then the History
// and the progress bar where asked (Keras's CallbackList order).
CallbackList with_defaults(Model* model, const CallbackList& user, std::shared_ptr<callbacks::History> history,
                           int verbose, int epochs) {
  CallbackList out;
  bool has_progbar = false;
  for (const auto& cb : user) {
    EMBER_CHECK(cb != nullptr, InvalidArgument, "[", model->name(), "] `callbacks` holds a null callback");
    if (auto p = std::dynamic_pointer_cast<callbacks::ProgbarLogger>(cb)) {
      has_progbar = true;
      p->set_epochs(epochs);
    }
    out.push_back(cb);
  }
  if (history) out.push_back(history);
  if (!has_progbar && verbose != 0) {
    auto p = std::make_shared<callbacks::ProgbarLogger>(verbose);
    p->set_epochs(epochs);
    out.push_back(p);
  }
  for (const auto& cb : out) cb->set_model(model);
  return out;
}

}  // namespace

std::shared_ptr<callbacks::History> Model::fit(const Tensor& x, const Tensor& y, FitOptions options,
                                               const Tensor& sample_weight) {
  check_compiled("fit");
  data::Element all = labelled(x, y, sample_weight);
  check_tensors(name(), "fit", all);
  auto scope = options_.distribute ? options_.distribute->enter_scope() : nullptr;
  EMBER_CHECK(options.validation_split >= 0 && options.validation_split < 1, InvalidArgument, "[", name(),
              "] fit: `validation_split` must be in [0, 1), got ", options.validation_split);
  EMBER_CHECK(options.batch_size > 0, InvalidArgument, "[", name(), "] fit: `batch_size` must be positive, got ",
              options.batch_size);
  const int64_t n = x.dim(0);
  EMBER_CHECK(n > 0, InvalidArgument, "[", name(), "] fit: the training data has no examples (`x` has 0 rows)");
  std::optional<data::Dataset> validation;
  if (options.validation_split > 0) {
    EMBER_CHECK(options.validation_data.empty(), InvalidArgument, "[", name(),
                "] fit: give `validation_data` or `validation_split`, not both");
    // Keras's rule: the last fraction of the examples, before any shuffle.
    const auto split = static_cast<int64_t>(std::floor(double(n) * (1.0 - options.validation_split)));
    EMBER_CHECK(split > 0 && split < n, InvalidArgument, "[", name(), "] fit: the training data has ", n,
                " examples, which is not enough to split them into training and validation sets as "
                "`validation_split` = ",
                options.validation_split, " asks");
    validation = data::Dataset::from_tensor_slices(rows(all, split, n))
                     .batch(options.validation_batch_size.value_or(options.batch_size));
    all = rows(all, 0, split);
  }
  data::Dataset examples = data::Dataset::from_tensor_slices(all);
  if (options.shuffle) {
    // Every replica shuffles alike: rank 0's seed.
    Variable seed(constant(draw_seed(), Device::cpu()), {.name = "shuffle_seed", .trainable = false});
    examples = examples.shuffle(all[0].dim(0), seed.read_value().item<int64_t>());
  }
  data::Dataset batches = options_.distribute
                              ? options_.distribute->distribute_dataset(examples, options.batch_size, true)
                              : examples.batch(options.batch_size);
  if (!validation && !options.validation_data.empty()) {
    if (const auto* t = std::get_if<data::Element>(&options.validation_data.value())) {
      check_tensors(name(), "fit: validation_data", *t);
      EMBER_CHECK(t->size() == 2 || t->size() == 3, InvalidArgument, "[", name(),
                  "] fit: `validation_data` must be {x, y} or {x, y, sample_weight}, got ", t->size(), " tensors");
      validation = data::Dataset::from_tensor_slices(*t).batch(options.validation_batch_size.value_or(options.batch_size));
    }
  }
  return run_fit(batches, validation, std::move(options));
}

std::shared_ptr<callbacks::History> Model::fit(const data::Dataset& dataset, FitOptions options) {
  check_compiled("fit");
  EMBER_CHECK(options.validation_split == 0, InvalidArgument, "[", name(),
              "] fit: `validation_split` needs tensors; with a Dataset, pass `validation_data`");
  return run_fit(dataset, std::nullopt, std::move(options));
}

void Model::resume_at(int epoch, int64_t step) {
  EMBER_CHECK(epoch >= 0 && step >= 0, InvalidArgument, "[", name(), "] resume_at(", epoch, ", ", step, ")");
  resume_ = std::pair{epoch, step};
}

std::shared_ptr<callbacks::History> Model::run_fit(const data::Dataset& batches,
                                                   std::optional<data::Dataset> validation, FitOptions options) {
  EMBER_CHECK(options.epochs >= 0 && options.initial_epoch >= 0, InvalidArgument, "[", name(),
              "] fit: `epochs` and `initial_epoch` must be >= 0, got ", options.epochs, " and ", options.initial_epoch);
  EMBER_CHECK(!options.steps_per_epoch || *options.steps_per_epoch > 0, InvalidArgument, "[", name(),
              "] fit: `steps_per_epoch` must be positive, got ", options.steps_per_epoch.value_or(0));
  EMBER_CHECK(options.validation_freq >= 1, InvalidArgument, "[", name(),
              "] fit: `validation_freq` must be >= 1, got ", options.validation_freq);
  if (!validation && !options.validation_data.empty()) {
    if (const auto* d = std::get_if<data::Dataset>(&options.validation_data.value())) validation = *d;
  }
  const bool chief = !options_.distribute || options_.distribute->is_chief();
  if (!chief) options.verbose = 0;
  // Under a strategy the layers the first step builds, the optimizer's
  // slots and what a backup restores start with rank 0's values.
  auto scope = options_.distribute ? options_.distribute->enter_scope() : nullptr;
  history_ = std::make_shared<callbacks::History>();
  CallbackList cbs = with_defaults(this, options.callbacks, history_, options.verbose, options.epochs);
  EMBER_CHECK(!batches.infinite() || options.steps_per_epoch, InvalidArgument, "[", name(),
              "] fit: the training data never ends (a repeat() without a count): give `steps_per_epoch`");
  EMBER_CHECK(!validation || !validation->infinite() || options.validation_steps, InvalidArgument, "[", name(),
              "] fit: the validation data never ends (a repeat() without a count): give `validation_steps`");
  const int64_t cardinality = batches.cardinality();
  EMBER_CHECK(cardinality != 0, InvalidArgument, "[", name(), "] fit: the training data has no batches",
              options_.distribute ? " (under a strategy, fewer examples than one global batch)" : "");
  steps_per_epoch_ = options.steps_per_epoch.value_or(cardinality);
  // One iterator over every epoch's batches where their number is known (a
  // BackupAndRestore checkpoint holds where it is); one pass per epoch otherwise.
  train_iterator_ = steps_per_epoch_ >= 0 ? batches.repeat().prefetch(2, default_device()).make_iterator() : nullptr;
  stop_training = false;
  resume_.reset();
  epoch_ = options.initial_epoch;
  step_ = 0;
  struct Reset {  // fit's state ends with it, however it ends
    Model* m;
    ~Reset() {
      m->train_iterator_.reset();
      for (const auto& cb : cbs) cb->set_model(nullptr);
    }
    CallbackList& cbs;
  } reset{this, cbs};
  Logs logs;
  each(cbs, [&](callbacks::Callback& c) { c.on_train_begin(logs); });
  int first_epoch = options.initial_epoch;
  int64_t first_step = 0;
  if (resume_) std::tie(first_epoch, first_step) = *resume_;
  Logs epoch_logs;
  bool ran_out = false;
  for (int epoch = first_epoch; epoch < options.epochs && !stop_training && !ran_out; ++epoch) {
    epoch_ = epoch;
    const bool resuming = epoch == first_epoch && first_step > 0;
    step_ = resuming ? first_step : 0;
    if (!resuming) reset_metrics();
    Logs begin;
    each(cbs, [&](callbacks::Callback& c) { c.on_epoch_begin(epoch, begin); });
    std::optional<data::Dataset::Iterator> pass;
    if (!train_iterator_) pass.emplace(batches.prefetch(2, default_device()).iterator());
    for (; steps_per_epoch_ < 0 || step_ < steps_per_epoch_; ++step_) {
      Logs batch_logs;
      each(cbs, [&](callbacks::Callback& c) { c.on_train_batch_begin(step_, batch_logs); });
      std::optional<data::Element> e = train_iterator_ ? train_iterator_->next() : pass->next();
      if (!e) {
        if (train_iterator_ || step_ == 0) {
          std::fprintf(stderr, "[%s] fit: the training data ran out after %lld steps of epoch %d; training stops\n",
                       name().c_str(), static_cast<long long>(step_), epoch + 1);
          ran_out = true;
        }
        break;
      }
      check_element("fit", *e, true);
      run_train_step(*e);
      Logs after = metric_logs();
      each(cbs, [&](callbacks::Callback& c) { c.on_train_batch_end(step_, after); });
      if (stop_training && !options_.distribute) {
        ++step_;
        break;
      }
    }
    if (ran_out && step_ == 0) break;
    // The epoch's results (read now: validation resets the metrics), then validation's.
    epoch_logs = results();
    if (validation && (epoch + 1) % options.validation_freq == 0) {
      Logs v = run_evaluate(*validation, options.validation_steps, 0, {}, "val_");
      for (const auto& k : v.keys()) epoch_logs.set(k, v.at(k));
    }
    each(cbs, [&](callbacks::Callback& c) { c.on_epoch_end(epoch, epoch_logs); });
    if (options_.distribute) stop_training = options_.distribute->any(stop_training);
  }
  each(cbs, [&](callbacks::Callback& c) { c.on_train_end(epoch_logs); });
  return history_;
}

Logs Model::run_evaluate(const data::Dataset& batches, std::optional<int64_t> steps, int verbose,
                         const CallbackList& callbacks, const std::string& prefix) {
  reset_metrics();
  CallbackList cbs = with_defaults(this, callbacks, nullptr, verbose, 0);
  Logs logs;
  each(cbs, [&](callbacks::Callback& c) { c.on_test_begin(logs); });
  auto it = batches.iterator();
  int64_t step = 0;
  for (; !steps || step < *steps; ++step) {
    Logs batch_logs;
    each(cbs, [&](callbacks::Callback& c) { c.on_test_batch_begin(step, batch_logs); });
    auto e = it.next();
    if (!e) break;
    check_element("evaluate", *e, true);
    run_test_step(*e);
    Logs after = metric_logs(prefix);
    each(cbs, [&](callbacks::Callback& c) { c.on_test_batch_end(step, after); });
  }
  EMBER_CHECK(step > 0, InvalidArgument, "[", name(), "] evaluate: the data yields no batch");
  Logs out = results(prefix);
  each(cbs, [&](callbacks::Callback& c) { c.on_test_end(out); });
  for (const auto& cb : cbs) cb->set_model(nullptr);
  return out;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options, const Tensor& sample_weight) {
  check_compiled("evaluate");
  data::Element all = labelled(x, y, sample_weight);
  check_tensors(name(), "evaluate", all);
  EMBER_CHECK(options.batch_size > 0, InvalidArgument, "[", name(), "] evaluate: `batch_size` must be positive");
  return run_evaluate(data::Dataset::from_tensor_slices(all).batch(options.batch_size), options.steps,
                      options.verbose, options.callbacks, "");
}

Logs Model::evaluate(const data::Dataset& dataset, EvaluateOptions options) {
  check_compiled("evaluate");
  EMBER_CHECK(!dataset.infinite() || options.steps, InvalidArgument, "[", name(),
              "] evaluate: the data never ends (a repeat() without a count): give `steps`");
  return run_evaluate(dataset, options.steps, options.verbose, options.callbacks, "");
}

Tensor Model::predict(const Tensor& x, PredictOptions options) {
  check_tensors(name(), "predict", {x});
  EMBER_CHECK(options.batch_size > 0, InvalidArgument, "[", name(), "] predict: `batch_size` must be positive");
  return predict(data::Dataset::from_tensor_slices({x}).batch(options.batch_size), options);
}

Tensor Model::predict(const data::Dataset& dataset, PredictOptions options) {
  EMBER_CHECK(!dataset.infinite() || options.steps, InvalidArgument, "[", name(),
              "] predict: the data never ends (a repeat() without a count): give `steps`");
  CallbackList cbs = with_defaults(this, options.callbacks, nullptr, 0, 0);
  Logs logs;
  each(cbs, [&](callbacks::Callback& c) { c.on_predict_begin(logs); });
  std::vector<Tensor> outputs;
  auto it = dataset.iterator();
  for (int64_t step = 0; !options.steps || step < *options.steps; ++step) {
    Logs batch_logs;
    each(cbs, [&](callbacks::Callback& c) { c.on_predict_batch_begin(step, batch_logs); });
    auto e = it.next();
    if (!e) break;
    check_element("predict", *e, false);
    outputs.push_back(predict_on_batch((*e)[0]));
    each(cbs, [&](callbacks::Callback& c) { c.on_predict_batch_end(step, batch_logs); });
  }
  EMBER_CHECK(!outputs.empty(), InvalidArgument, "[", name(), "] predict: the data yields no batch");
  each(cbs, [&](callbacks::Callback& c) { c.on_predict_end(logs); });
  for (const auto& cb : cbs) cb->set_model(nullptr);
  return outputs.size() == 1 ? outputs[0] : concat(outputs, 0);
}

Tensor Model::predict_on_batch(const Tensor& x) { return (*this)(x, false); }

Logs Model::train_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight, bool reset) {
  check_compiled("train_on_batch");
  data::Element e = labelled(x, y, sample_weight);
  check_tensors(name(), "train_on_batch", e);
  if (reset) reset_metrics();
  run_train_step(e);
  return results();
}

Logs Model::test_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight, bool reset) {
  check_compiled("test_on_batch");
  data::Element e = labelled(x, y, sample_weight);
  check_tensors(name(), "test_on_batch", e);
  if (reset) reset_metrics();
  run_test_step(e);
  return results();
}

// ---- Model: summary ----------------------------------------------------------------------------

namespace {

std::string class_name(const Trackable& t) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(typeid(t).name(), nullptr, nullptr, &status);
  std::string s = status == 0 && demangled ? demangled : typeid(t).name();
  std::free(demangled);
  if (auto at = s.rfind("::"); at != std::string::npos) s = s.substr(at + 2);
  return s;
}

std::string with_commas(int64_t n) {
  const std::string digits = std::to_string(n);
  std::string s;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') s += ',';
    s += digits[i];
  }
  return s;
}

// Keras's readable_memory_size: "795.04 KB".
std::string memory(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", bytes, units[u]);
  return buf;
}

// Keras counts weights: a random generator's state (Dropout's seed) is not one.
bool is_weight(const Variable& v) {
  const std::string& n = v.name();
  return n.find("seed_generator_state") == std::string::npos;
}

int64_t count(const std::vector<Variable>& vars, bool trainable_only, int64_t* bytes = nullptr) {
  int64_t n = 0;
  for (const Variable& v : vars) {
    if ((trainable_only && !v.trainable()) || !is_weight(v)) continue;
    n += v.shape().num_elements();
    if (bytes) *bytes += v.shape().num_elements() * static_cast<int64_t>(dtype_size(v.dtype()));
  }
  return n;
}

}  // namespace

int64_t Model::count_params() const { return count(variables(), false); }

std::string Model::summary_string(int line_length) const {
  // The rows: Sequential's layers, else the layers this model tracks directly.
  std::vector<std::shared_ptr<layers::Layer>> rows;
  if (const auto* seq = dynamic_cast<const Sequential*>(this)) {
    rows = seq->layers();
  } else {
    for (const auto& [dep, child] : dependencies())
      if (auto l = std::dynamic_pointer_cast<layers::Layer>(child)) rows.push_back(l);
  }
  const int w0 = std::max(line_length * 45 / 100, 20), w1 = std::max(line_length * 30 / 100, 14);
  const int w2 = std::max(line_length - w0 - w1, 10);
  auto cell = [](std::string s, int width, bool right) {
    if (static_cast<int>(s.size()) > width - 2) s = s.substr(0, static_cast<size_t>(width - 3)) + "…";
    std::string pad(static_cast<size_t>(std::max(0, width - 2 - static_cast<int>(s.size()))), ' ');
    return " " + (right ? pad + s : s + pad) + " ";
  };
  std::ostringstream os;
  os << "Model: \"" << name() << "\"\n";
  const std::string rule = std::string(static_cast<size_t>(w0 + w1 + w2), '-');
  os << rule << "\n"
     << cell("Layer (type)", w0, false) << cell("Output Shape", w1, false) << cell("Param #", w2, true) << "\n"
     << std::string(static_cast<size_t>(w0 + w1 + w2), '=') << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& l = rows[i];
    std::string shape = "?";
    if (l->built() && l->output_shape().has_value()) {
      std::vector<int64_t> dims = l->output_shape()->as_vector();
      if (!dims.empty()) dims[0] = -1;  // the batch
      shape = TensorShape(dims).to_string();
    }
    os << cell(l->name() + " (" + class_name(*l) + ")", w0, false) << cell(l->built() ? shape : "?", w1, false)
       << cell(l->built() ? with_commas(count(l->variables(), false)) : "0 (unbuilt)", w2, true) << "\n";
    os << (i + 1 < rows.size() ? std::string(static_cast<size_t>(w0 + w1 + w2), '-') : rule) << "\n";
  }
  if (rows.empty()) os << rule << "\n";
  int64_t bytes_all = 0, bytes_trainable = 0;
  const std::vector<Variable> vars = variables();
  const int64_t all = count(vars, false, &bytes_all), trainable = count(vars, true, &bytes_trainable);
  os << " Total params: " << with_commas(all) << " (" << memory(double(bytes_all)) << ")\n"
     << " Trainable params: " << with_commas(trainable) << " (" << memory(double(bytes_trainable)) << ")\n"
     << " Non-trainable params: " << with_commas(all - trainable) << " ("
     << memory(double(bytes_all - bytes_trainable)) << ")\n";
  if (compiled_) {
    // The optimizer's variables, as Keras counts them: its step, a constant
    // rate, and each slot made so far.
    std::vector<Variable> opt;
    opt.push_back(options_.optimizer->iterations());
    for (const SlotVariable& s : options_.optimizer->slot_variables()) opt.push_back(s.slot);
    int64_t opt_bytes = options_.optimizer->has_schedule() ? 0 : 4;
    const int64_t n = count(opt, false, &opt_bytes) + (options_.optimizer->has_schedule() ? 0 : 1);
    if (n > 1) os << " Optimizer params: " << with_commas(n) << " (" << memory(double(opt_bytes)) << ")\n";
  }
  return os.str();
}

void Model::summary(std::FILE* out, int line_length) const {
  std::fputs(summary_string(line_length).c_str(), out);
  std::fflush(out);
}

// ---- Model: save and load ---------------------------------------------------------------------

std::shared_ptr<Trackable> Model::optimizer_trackable() const {
  if (!compiled_) return nullptr;
  if (scaled_) return scaled_;
  return options_.optimizer;
}

template <typename F>
void Model::with_optimizer_tracked(F f) {
  // Tracked as "optimizer" for the save or load only: Module::variables
  // would otherwise count the optimizer's step among the model's variables.
  std::shared_ptr<Trackable> opt = optimizer_trackable();
  if (opt) track("optimizer", opt);
  try {
    f();
  } catch (...) {
    if (opt) untrack("optimizer");
    throw;
  }
  if (opt) untrack("optimizer");
}

void Model::save_weights(const std::string& path) {
  with_optimizer_tracked([&] { Checkpoint::of_object(shared_from_this()).write(path); });
}

void Model::load_weights(const std::string& path) {
  std::string prefix = path;
  if (std::filesystem::is_directory(path)) {
    prefix = path + "/variables/variables";
    EMBER_CHECK(std::filesystem::exists(prefix + ".index"), NotFound, "[", name(), "] load_weights: ", path,
                " is a directory but not a SavedModel (no variables/variables.index)");
  }
  with_optimizer_tracked([&] { Checkpoint::of_object(shared_from_this()).read(prefix); });
}

void Model::save(const std::string& dir) {
  EMBER_CHECK(built() && input_shape().has_value() && input_shape()->rank() >= 1, FailedPrecondition, "[", name(),
              "] save: the model has not been called yet; call it (or fit it) once so that it is built");
  std::vector<int64_t> dims = input_shape()->as_vector();
  dims[0] = -1;  // any batch
  TensorSpec spec(TensorShape(dims), input_dtype(), "inputs");
  auto serve = function([this](Tensor x) { return (*this)(x, false); },
                        {.name = "serve", .input_signature = std::vector<TensorSpec>{spec}});
  track("serve", serve);
  try {
    with_optimizer_tracked([&] { saved_model::save(shared_from_this(), dir); });
  } catch (...) {
    untrack("serve");
    throw;
  }
  untrack("serve");
}

// ---- Sequential ------------------------------------------------------------------------------

Sequential::Sequential(std::vector<std::shared_ptr<layers::Layer>> layers, std::string name)
    : Model(name, "sequential") {
  for (auto& l : layers) add(std::move(l));
}

void Sequential::add(std::shared_ptr<layers::Layer> layer) {
  EMBER_CHECK(layer != nullptr, InvalidArgument, "[Sequential] cannot add a null layer");
  track("layer-" + std::to_string(layers_.size()), layer);
  layers_.push_back(std::move(layer));
}

Tensor Sequential::call(const Tensor& x, bool training) {
  Tensor y = x;
  for (auto& l : layers_) y = (*l)(y, training);
  return y;
}

}  // namespace ember
