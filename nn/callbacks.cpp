#include "nn/callbacks.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/ops.h"
#include "serialization/checkpoint.h"
#include "serialization/summary.h"

namespace ember::callbacks {

Model& Callback::model() const {
  EMBER_CHECK(model_ != nullptr, FailedPrecondition,
              "[callbacks] this callback has no model: it is set by fit, evaluate and predict");
  return *model_;
}

namespace {
// Whether this process writes files and prints: the chief of a distributed fit, or the only process.
bool writes(const Model& m) { return !m.distribute() || m.distribute()->is_chief(); }
}  // namespace

bool improves(double value, std::optional<double> reference, bool greater, double min_delta) {
  if (!reference) return true;
  return greater ? value - min_delta > *reference : value + min_delta < *reference;
}

bool maximises(const std::string& monitor, Mode mode, const Model* model) {
  if (mode != Mode::Auto) return mode == Mode::Max;
  std::string name = monitor.rfind("val_", 0) == 0 ? monitor.substr(4) : monitor;
  if (name == "loss") return false;
  if (model)
    for (const auto& m : model->metrics())
      if (m->name() == name)
        if (auto* w = dynamic_cast<const metrics::MeanMetricWrapper*>(m.get())) return w->higher_is_better();
  throw InvalidArgument("[callbacks] monitor='" + monitor +
                        "', but ember cannot tell whether that metric should be maximized or minimized: give "
                        "mode = Mode::Max to keep the highest value, or Mode::Min for the lowest");
}

// ---- History ---------------------------------------------------------------------------------

void History::on_train_begin(Logs&) {
  epoch.clear();
  history.clear();
}

void History::on_epoch_end(int e, Logs& logs) {
  epoch.push_back(e);
  for (const auto& k : logs.keys()) history[k].push_back(logs.at(k));
}

// ---- ProgbarLogger ----------------------------------------------------------------------------

ProgbarLogger::ProgbarLogger(int verbose, std::FILE* out) : verbose_(verbose), out_(out) {
  tty_ = isatty(fileno(out_));
}

void ProgbarLogger::on_train_begin(Logs&) { in_fit_ = true; }
void ProgbarLogger::on_train_end(Logs&) { in_fit_ = false; }

void ProgbarLogger::on_epoch_begin(int epoch, Logs&) {
  epoch_ = epoch;
  examples_ = 0;
  start_ = last_ = std::chrono::steady_clock::now();
}

void ProgbarLogger::draw(const std::string& title, int64_t step, int64_t steps, const Logs& logs, bool done) {
  auto now = std::chrono::steady_clock::now();
  if (!done && (verbose_ != 1 || !tty_ || now - last_ < std::chrono::milliseconds(100))) return;
  if (done && verbose_ == 0) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? double(examples_) / secs : 0;
  double eta = step > 0 && steps > 0 ? secs / double(step) * double(steps - step) : 0;
  const int64_t total = steps > 0 ? steps : step;
  int width = 24, filled = total > 0 ? static_cast<int>(width * step / total) : width;
  std::string bar(static_cast<size_t>(filled), '=');
  bar.resize(static_cast<size_t>(width), '.');
  std::string values;
  char buf[64];
  for (const auto& k : logs.keys()) {
    std::snprintf(buf, sizeof buf, "%.4f", logs.at(k));
    values += "  " + k + " " + buf;
  }
  std::fprintf(out_, "%s%s [%s] %lld/%lld%s  %.0f examples/s  %s %.1fs%s", tty_ && verbose_ == 1 ? "\r" : "",
               title.c_str(), bar.c_str(), static_cast<long long>(step), static_cast<long long>(total), values.c_str(),
               rate, done ? "took" : "ETA", done ? secs : eta, done || !tty_ ? "\n" : "");
  std::fflush(out_);
}

void ProgbarLogger::on_train_batch_end(int64_t batch, Logs& logs) {
  examples_ += model().last_batch_size();
  draw("epoch " + std::to_string(epoch_ + 1) + "/" + std::to_string(epochs_), batch + 1, model().steps_per_epoch(),
       logs, false);
}

void ProgbarLogger::on_epoch_end(int epoch, Logs& logs) {
  const int64_t steps = model().steps_done_in_epoch();
  draw("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs_), steps, steps, logs, true);
}

void ProgbarLogger::on_test_begin(Logs&) {
  examples_ = 0;
  start_ = last_ = std::chrono::steady_clock::now();
}

void ProgbarLogger::on_test_batch_end(int64_t batch, Logs& logs) {
  if (in_fit_) return;
  examples_ += model().last_batch_size();
  draw("evaluate", batch + 1, -1, logs, false);
  last_step_ = batch + 1;
}

void ProgbarLogger::on_test_end(Logs& logs) {
  if (!in_fit_) draw("evaluate", last_step_, last_step_, logs, true);
}

void ProgbarLogger::on_predict_begin(Logs&) { start_ = last_ = std::chrono::steady_clock::now(); }
void ProgbarLogger::on_predict_batch_end(int64_t batch, Logs&) { last_step_ = batch + 1; }
void ProgbarLogger::on_predict_end(Logs& logs) { draw("predict", last_step_, last_step_, logs, true); }

// ---- LearningRateScheduler ------------------------------------------------------------------

LearningRateScheduler::LearningRateScheduler(Schedule schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  EMBER_CHECK(schedule_ != nullptr, InvalidArgument, "[callbacks::LearningRateScheduler] the schedule is null");
}

void LearningRateScheduler::on_epoch_begin(int epoch, Logs&) {
  optimizers::Optimizer& opt = model().optimizer();
  const double lr = schedule_(epoch, opt.learning_rate());
  EMBER_CHECK(std::isfinite(lr), InvalidArgument, "[callbacks::LearningRateScheduler] the schedule returned ", lr,
              " for epoch ", epoch);
  opt.set_learning_rate(lr);
  if (verbose_ > 0 && writes(model()))
    std::printf("\nEpoch %d: LearningRateScheduler setting learning rate to %g.\n", epoch + 1, lr);
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) {
  logs.set("learning_rate", model().optimizer().learning_rate());
}

// ---- EarlyStopping -----------------------------------------------------------------------------

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : o_(std::move(options)) {
  EMBER_CHECK(o_.patience >= 0, InvalidArgument, "[callbacks::EarlyStopping] patience must be >= 0");
  o_.min_delta = std::abs(o_.min_delta);
}

void EarlyStopping::on_train_begin(Logs&) {
  wait_ = 0;
  stopped_epoch_ = 0;
  best_.reset();
  best_weights_.clear();
  best_epoch_ = 0;
  greater_ = maximises(o_.monitor, o_.mode, &model());
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  std::optional<double> current = logs.get(o_.monitor);
  if (!current) {
    std::fprintf(stderr, "[callbacks::EarlyStopping] conditioned on '%s', which the logs do not hold\n",
                 o_.monitor.c_str());
    return;
  }
  if (epoch < o_.start_from_epoch) return;
  auto snapshot = [&] {
    best_weights_.clear();
    for (const Variable& v : model().variables()) best_weights_.push_back(v.read_value().clone());
  };
  if (o_.restore_best_weights && best_weights_.empty()) {
    snapshot();  // the current weights are the best until one is better
    best_epoch_ = epoch;
  }
  ++wait_;
  if (improves(*current, best_, greater_, o_.min_delta)) {
    best_ = current;
    best_epoch_ = epoch;
    if (o_.restore_best_weights) snapshot();
    // The count restarts only when the value beats the baseline as well.
    if (improves(*current, o_.baseline, greater_, o_.min_delta)) wait_ = 0;
    return;
  }
  if (wait_ >= o_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model().stop_training = true;
  }
}

void EarlyStopping::on_train_end(Logs&) {
  if (stopped_epoch_ > 0 && o_.verbose > 0 && writes(model()))
    std::printf("Epoch %d: early stopping\n", stopped_epoch_ + 1);
  if (o_.restore_best_weights && !best_weights_.empty()) {
    if (o_.verbose > 0 && writes(model()))
      std::printf("Restoring model weights from the end of the best epoch: %d.\n", best_epoch_ + 1);
    std::vector<Variable> vars = model().variables();
    EMBER_CHECK(vars.size() == best_weights_.size(), Internal, "[callbacks::EarlyStopping] the model has ",
                vars.size(), " variables, ", best_weights_.size(), " when its best weights were kept");
    for (size_t i = 0; i < vars.size(); ++i) vars[i].assign(best_weights_[i]);
  }
}

// ---- ReduceLROnPlateau --------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options) : o_(std::move(options)) {
  EMBER_CHECK(o_.factor < 1.0, InvalidArgument,
              "[callbacks::ReduceLROnPlateau] does not support a factor >= 1.0, got ", o_.factor);
  o_.min_delta = std::abs(o_.min_delta);
}

void ReduceLROnPlateau::on_train_begin(Logs&) {
  best_.reset();
  cooldown_counter_ = 0;
  wait_ = 0;
  greater_ = maximises(o_.monitor, o_.mode, &model());
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  optimizers::Optimizer& opt = model().optimizer();
  logs.set("learning_rate", opt.learning_rate());
  std::optional<double> current = logs.get(o_.monitor);
  if (!current) {
    std::fprintf(stderr, "[callbacks::ReduceLROnPlateau] conditioned on '%s', which the logs do not hold\n",
                 o_.monitor.c_str());
    return;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (improves(*current, best_, greater_, o_.min_delta)) {
    best_ = current;
    wait_ = 0;
  } else if (cooldown_counter_ <= 0) {
    if (++wait_ >= o_.patience) {
      const double old_lr = opt.learning_rate();
      if (old_lr > static_cast<double>(static_cast<float>(o_.min_lr))) {
        const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
        opt.set_learning_rate(new_lr);
        if (o_.verbose > 0 && writes(model()))
          std::printf("\nEpoch %d: ReduceLROnPlateau reducing learning rate to %g.\n", epoch + 1, new_lr);
        cooldown_counter_ = o_.cooldown;
        wait_ = 0;
      }
    }
  }
}

// ---- ModelCheckpoint ------------------------------------------------------------------------------

ModelCheckpoint::ModelCheckpoint(std::string filepath, ModelCheckpointOptions options)
    : filepath_(std::move(filepath)), o_(std::move(options)) {
  EMBER_CHECK(!filepath_.empty(), InvalidArgument, "[callbacks::ModelCheckpoint] the filepath is empty");
  EMBER_CHECK(o_.save_freq >= 0, InvalidArgument, "[callbacks::ModelCheckpoint] save_freq must be >= 0 (0: each epoch)");
  best_ = o_.initial_value_threshold;
}

void ModelCheckpoint::on_train_begin(Logs&) {
  batches_seen_ = 0;
  if (o_.save_best_only) greater_ = maximises(o_.monitor, o_.mode, &model());
}

void ModelCheckpoint::on_epoch_begin(int epoch, Logs&) { epoch_ = epoch; }

void ModelCheckpoint::on_train_batch_end(int64_t, Logs& logs) {
  if (o_.save_freq == 0) return;
  if (++batches_seen_ >= o_.save_freq) {
    batches_seen_ = 0;
    save(epoch_, logs);
  }
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  if (o_.save_freq == 0) save(epoch, logs);
}

std::string ModelCheckpoint::path_for(int epoch, const Logs& logs) const {
  // "{epoch}", "{epoch:02d}", "{name}", "{name:.4f}": Python's format fields.
  std::string out;
  size_t last = 0;
  for (size_t open = filepath_.find('{'); open != std::string::npos; open = filepath_.find('{', last)) {
    const size_t close = filepath_.find('}', open);
    if (close == std::string::npos) break;
    const std::string field = filepath_.substr(open + 1, close - open - 1);
    const size_t colon = field.find(':');
    const std::string key = field.substr(0, colon);
    const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    const bool identifier = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
                            std::all_of(key.begin(), key.end(), [](char ch) {
                              return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
                            });
    out += filepath_.substr(last, open - last);
    last = close + 1;
    if (!identifier) {  // not a field: kept as written
      out += filepath_.substr(open, close + 1 - open);
      continue;
    }
    // A Python format spec ("02d", ".4f"): flags, width, precision and the type, nothing else.
    EMBER_CHECK(spec.find_first_not_of("0123456789.+- #dfge") == std::string::npos &&
                    spec.find_first_of("dfge") >= (spec.empty() ? 0 : spec.size() - 1),
                InvalidArgument, "[callbacks::ModelCheckpoint] the filepath '", filepath_, "' formats '", key,
                "' as '", spec, "': a spec is flags, width, precision and one of d, f, g, e");
    char buf[128];
    if (key == "epoch") {
      std::string f = "%" + (spec.empty() ? std::string("d") : spec);
      if (f.back() != 'd') f = "%d";
      std::snprintf(buf, sizeof buf, f.c_str(), epoch + 1);
    } else {
      std::optional<double> v = logs.get(key);
      EMBER_CHECK(v.has_value(), InvalidArgument, "[callbacks::ModelCheckpoint] the filepath '", filepath_,
                  "' names '", key, "', which the logs do not hold");
      std::string f = "%" + (spec.empty() ? std::string("g") : spec);
      if (f.back() != 'f' && f.back() != 'g' && f.back() != 'e') f = "%g";
      std::snprintf(buf, sizeof buf, f.c_str(), *v);
    }
    out += buf;
  }
  out += filepath_.substr(last);
  return out;
}

void ModelCheckpoint::save(int epoch, Logs& logs) {
  const std::string path = path_for(epoch, logs);
  if (o_.save_best_only) {
    std::optional<double> current = logs.get(o_.monitor);
    if (!current) {
      std::fprintf(stderr, "[callbacks::ModelCheckpoint] can save the best model only with '%s' available\n",
                   o_.monitor.c_str());
    } else if (improves(*current, best_, greater_, 0)) {
      if (o_.verbose > 0 && writes(model()))
        std::printf("\nEpoch %d: %s improved from %s to %.5f, saving model to %s\n", epoch + 1, o_.monitor.c_str(),
                    best_ ? std::to_string(*best_).c_str() : "None", *current, path.c_str());
      best_ = current;
    } else {
      if (o_.verbose > 0 && writes(model()))
        std::printf("\nEpoch %d: %s did not improve from %.5f\n", epoch + 1, o_.monitor.c_str(), *best_);
      return;
    }
  } else if (o_.verbose > 0 && writes(model())) {
    std::printf("\nEpoch %d: saving model to %s\n", epoch + 1, path.c_str());
  }
  saved_.push_back(path);
  if (!writes(model())) return;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  if (o_.save_weights_only) {
    model().save_weights(path);
  } else {
    model().save(path);
  }
}

// ---- CSVLogger -----------------------------------------------------------------------------------

CSVLogger::CSVLogger(std::string filename, char separator, bool append)
    : filename_(std::move(filename)), separator_(separator), append_(append) {}

void CSVLogger::on_train_begin(Logs&) {
  keys_.clear();
  if (!writes(model())) return;
  bool had_header = false;
  if (append_ && std::filesystem::exists(filename_)) {
    std::ifstream in(filename_);
    std::string first;
    had_header = static_cast<bool>(std::getline(in, first)) && !first.empty();
    if (had_header) {  // continue with the file's columns
      size_t at = 0;
      for (size_t next; (next = first.find(separator_, at)) != std::string::npos; at = next + 1)
        keys_.push_back(first.substr(at, next - at));
      keys_.push_back(first.substr(at));
      keys_.erase(keys_.begin());  // "epoch"
    }
  }
  out_.open(filename_, append_ ? std::ios::app : std::ios::trunc);
  EMBER_CHECK(out_.good(), FailedPrecondition, "[callbacks::CSVLogger] cannot open ", filename_, " for writing");
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  if (!out_.is_open()) return;
  if (keys_.empty()) {
    keys_ = logs.keys();
    std::sort(keys_.begin(), keys_.end());
    out_ << "epoch";
    for (const auto& k : keys_) out_ << separator_ << k;
    out_ << "\n";
  }
  out_ << epoch;
  char buf[64];
  for (const auto& k : keys_) {
    std::optional<double> v = logs.get(k);
    if (v) {
      std::snprintf(buf, sizeof buf, "%.17g", *v);
      out_ << separator_ << buf;
    } else {
      out_ << separator_ << "NA";
    }
  }
  out_ << "\n";
  out_.flush();
}

void CSVLogger::on_train_end(Logs&) {
  if (out_.is_open()) out_.close();
}

// ---- TerminateOnNaN ----------------------------------------------------------------------------------

void TerminateOnNaN::on_train_batch_end(int64_t batch, Logs& logs) {
  std::optional<double> loss = logs.get("loss");
  if (loss && !std::isfinite(*loss)) {
    std::printf("Batch %lld: Invalid loss, terminating training\n", static_cast<long long>(batch));
    model().stop_training = true;
  }
}

// ---- TensorBoard ---------------------------------------------------------------------------------------

TensorBoard::TensorBoard(std::string log_dir, int64_t update_freq)
    : log_dir_(std::move(log_dir)), update_freq_(update_freq) {
  EMBER_CHECK(update_freq_ >= 0, InvalidArgument, "[callbacks::TensorBoard] update_freq must be >= 0 (0: each epoch)");
}

TensorBoard::~TensorBoard() = default;

void TensorBoard::on_train_begin(Logs&) {
  if (!writes(model())) return;
  if (!train_) train_ = std::make_unique<SummaryWriter>(train_dir());
  if (!validation_) validation_ = std::make_unique<SummaryWriter>(validation_dir());
}

void TensorBoard::on_train_batch_end(int64_t, Logs& logs) {
  ++global_step_;
  if (!train_ || update_freq_ == 0 || global_step_ % update_freq_ != 0) return;
  for (const auto& k : logs.keys()) train_->scalar("batch_" + k, logs.at(k), global_step_);
}

void TensorBoard::on_epoch_end(int epoch, Logs& logs) {
  if (!train_) return;
  for (const auto& k : logs.keys()) {
    if (k.rfind("val_", 0) == 0) {
      validation_->scalar("epoch_" + k.substr(4), logs.at(k), epoch);
    } else {
      train_->scalar("epoch_" + k, logs.at(k), epoch);
    }
  }
  train_->flush();
  validation_->flush();
}

void TensorBoard::on_train_end(Logs&) {
  if (train_) train_->flush();
  if (validation_) validation_->flush();
}

// ---- BackupAndRestore -------------------------------------------------------------------------------

BackupAndRestore::BackupAndRestore(std::string backup_dir, int64_t save_freq, bool delete_checkpoint)
    : dir_(std::move(backup_dir)), save_freq_(save_freq), delete_(delete_checkpoint) {
  EMBER_CHECK(!dir_.empty(), InvalidArgument, "[callbacks::BackupAndRestore] backup_dir is empty");
  EMBER_CHECK(save_freq_ >= 0, InvalidArgument, "[callbacks::BackupAndRestore] save_freq must be >= 0 (0: each epoch)");
}

BackupAndRestore::~BackupAndRestore() = default;

void BackupAndRestore::on_train_begin(Logs&) {
  Model& m = model();
  EMBER_CHECK(m.compiled(), FailedPrecondition, "[callbacks::BackupAndRestore] the model is not compiled");
  EMBER_CHECK(save_freq_ == 0 || m.train_iterator() != nullptr, InvalidArgument,
              "[callbacks::BackupAndRestore] save_freq=", save_freq_,
              " backs up mid-epoch, which needs training data of known length (give fit steps_per_epoch)");
  // Each replica reads its own shard: one rank's position is not another's.
  EMBER_CHECK(save_freq_ == 0 || !m.distribute(), InvalidArgument, "[callbacks::BackupAndRestore] save_freq=",
              save_freq_, " backs up mid-epoch, which a distributed fit cannot resume (each rank reads its own "
              "part of the data); back up at epochs' ends (save_freq 0)");
  resumed_at_.reset();
  stepped_ = false;
  // What a backup holds: the model and its optimizer, the metrics' running
  // totals, the data iterator and where fit is.
  epoch_ = Variable(constant(int64_t{0}), {.name = "epoch", .trainable = false});
  step_ = Variable(constant(int64_t{0}), {.name = "step", .trainable = false});
  // The model's input: its dtype, rank and dimensions (the batch's -1).
  input_spec_ = Variable(constant(std::vector<int64_t>(kSpecSize, 0)), {.name = "input_spec", .trainable = false});
  auto state = std::make_shared<AutoTrackable>();
  state->track("epoch", epoch_);
  state->track("step", step_);
  state->track("input_spec", input_spec_);
  auto metrics = std::make_shared<AutoTrackable>();
  for (const auto& metric : m.metrics()) metrics->track(metric->name(), metric);
  CheckpointRoots roots{{"model", m.shared_from_this()}, {"fit", state}, {"metrics", metrics}};
  if (m.loss_scale_optimizer()) {
    roots.emplace_back("optimizer", m.loss_scale_optimizer());
  } else {
    roots.emplace_back("optimizer", m.optimizer().shared_from_this());
  }
  if (m.train_iterator() && !m.distribute()) roots.emplace_back("iterator", m.train_iterator());
  ckpt_ = std::make_unique<Checkpoint>(roots);
  manager_ = std::make_unique<CheckpointManager>(*ckpt_, dir_, 1, 0, "backup");
  const std::string latest = latest_checkpoint(dir_);
  if (latest.empty()) return;
  ckpt_->restore(latest);
  const auto e = static_cast<int>(epoch_.read_value().item<int64_t>());
  const int64_t s = step_.read_value().item<int64_t>();
  m.resume_at(e, s);
  resumed_at_ = std::pair{e, s};
  // The restored values of the layers and the optimizer's slots wait for
  // those variables to be made. A fit resumed where no step will make them
  // (at its last epoch's end, or at an epoch's end before callbacks that
  // read the weights) builds the model from the backed-up input now.
  const std::vector<int64_t> spec = input_spec_.read_value().to(Device::cpu()).to_vector<int64_t>();
  const int64_t rank = spec[1];
  if (!m.built() && rank >= 1 && rank + 2 <= kSpecSize) {
    std::vector<int64_t> dims(spec.begin() + 2, spec.begin() + 2 + rank);
    dims[0] = 1;
    m.predict_on_batch(zeros(TensorShape(dims), static_cast<DType>(spec[0])));
    m.optimizer().build(m.trainable_variables());
  }
}

void BackupAndRestore::backup(int epoch, int64_t step) {
  // Restored values wait in the checkpoint for the variables the first
  // step makes (the layers', the optimizer's slots): a backup before then
  // would lack them, and would delete the one that holds them. (A fit
  // resumed at an epoch's end runs its end again if killed before a step.)
  if (!stepped_) return;
  epoch_.assign(constant(int64_t{epoch}, epoch_.device()));
  step_.assign(constant(step, step_.device()));
  Model& m = model();
  if (m.input_shape() && m.input_shape()->rank_known() && m.input_shape()->rank() + 2 <= kSpecSize) {
    std::vector<int64_t> spec(kSpecSize, 0);
    spec[0] = static_cast<int64_t>(m.input_dtype());
    spec[1] = m.input_shape()->rank();
    for (int64_t i = 0; i < spec[1]; ++i) spec[static_cast<size_t>(2 + i)] = i == 0 ? -1 : m.input_shape()->dim(i);
    input_spec_.assign(constant(spec, input_spec_.device()));
  }
  if (model().distribute()) {
    model().distribute()->save(*manager_);
  } else {
    manager_->save();
  }
}

void BackupAndRestore::on_train_batch_end(int64_t batch, Logs&) {
  stepped_ = true;
  if (save_freq_ > 0 && (batch + 1) % save_freq_ == 0) backup(model().current_epoch(), batch + 1);
}

void BackupAndRestore::on_epoch_end(int epoch, Logs&) { backup(epoch + 1, 0); }

void BackupAndRestore::on_train_end(Logs&) {
  if (ckpt_) ckpt_->sync();
  // A fit that ends normally (stopped early included) has nothing to
  // resume. The state file goes first: killed midway, what is left is
  // no backup (the next fit starts afresh), never one that is half gone.
  if (delete_ && writes(model())) {
    std::filesystem::remove(std::filesystem::path(dir_) / "checkpoint");
    std::filesystem::remove_all(dir_);
  }
  manager_.reset();
  ckpt_.reset();
}

}  // namespace ember::callbacks
