// keras.callbacks: what Model::fit, evaluate and predict call at each
// step and epoch, with Keras's names, hooks and decisions. Epochs and
// batches are counted from 0, as Keras passes them.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/model.h"

namespace ember {
class Checkpoint;
class CheckpointManager;
class SummaryWriter;
}  // namespace ember

namespace ember::callbacks {

/// The base of every callback (keras.callbacks.Callback): override the
/// hooks you need. `model()` is the model being fitted.
class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  /// FailedPrecondition outside fit, evaluate or predict.
  Model& model() const;

  virtual void on_train_begin(Logs& logs) { (void)logs; }
  virtual void on_train_end(Logs& logs) { (void)logs; }
  virtual void on_epoch_begin(int epoch, Logs& logs) { (void)epoch, (void)logs; }
  /// `logs`: the epoch's training results, and validation's ("val_...").
  virtual void on_epoch_end(int epoch, Logs& logs) { (void)epoch, (void)logs; }
  virtual void on_train_batch_begin(int64_t batch, Logs& logs) { (void)batch, (void)logs; }
  /// `logs`: the results so far in this epoch.
  virtual void on_train_batch_end(int64_t batch, Logs& logs) { (void)batch, (void)logs; }
  virtual void on_test_begin(Logs& logs) { (void)logs; }
  virtual void on_test_end(Logs& logs) { (void)logs; }
  virtual void on_test_batch_begin(int64_t batch, Logs& logs) { (void)batch, (void)logs; }
  virtual void on_test_batch_end(int64_t batch, Logs& logs) { (void)batch, (void)logs; }
  virtual void on_predict_begin(Logs& logs) { (void)logs; }
  virtual void on_predict_end(Logs& logs) { (void)logs; }
  virtual void on_predict_batch_begin(int64_t batch, Logs& logs) { (void)batch, (void)logs; }
  virtual void on_predict_batch_end(int64_t batch, Logs& logs) { (void)batch, (void)logs; }

 private:
  Model* model_ = nullptr;
};

/// Each epoch's logs (fit returns it): `history["loss"][e]` is epoch e's.
class History : public Callback {
 public:
  std::vector<int> epoch;
  std::map<std::string, std::vector<double>> history;
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
};

/// The progress line of each epoch (the one the samples print): it redraws
/// itself on a terminal (steps, the logs, examples/s, ETA) and is printed
/// once at the end of the epoch elsewhere. verbose 2: the final line only.
class ProgbarLogger : public Callback {
 public:
  explicit ProgbarLogger(int verbose = 1, std::FILE* out = stdout);
  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_test_begin(Logs& logs) override;
  void on_test_batch_end(int64_t batch, Logs& logs) override;
  void on_test_end(Logs& logs) override;
  void on_predict_begin(Logs& logs) override;
  void on_predict_batch_end(int64_t batch, Logs& logs) override;
  void on_predict_end(Logs& logs) override;
  /// How many epochs fit runs (what "epoch 1/N" says).
  void set_epochs(int epochs) { epochs_ = epochs; }

 private:
  void draw(const std::string& title, int64_t step, int64_t steps, const Logs& logs, bool done);
  int verbose_;
  std::FILE* out_;
  bool tty_;
  bool in_fit_ = false;
  int epochs_ = 0, epoch_ = 0;
  int64_t examples_ = 0, last_step_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

/// Calls `schedule(epoch, current_rate)` at each epoch's start and sets
/// the optimizer's rate to what it returns.
class LearningRateScheduler : public Callback {
 public:
  using Schedule = std::function<double(int epoch, double learning_rate)>;
  explicit LearningRateScheduler(Schedule schedule, int verbose = 0);
  void on_epoch_begin(int epoch, Logs& logs) override;
  /// The rate is logged as "learning_rate" at each epoch's end.
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  Schedule schedule_;
  int verbose_;
};

/// "auto" picks max for accuracy-like names (and "auc"), min otherwise.
enum class Mode { Auto, Min, Max };

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0;
  int patience = 0;
  int verbose = 0;
  Mode mode = Mode::Auto;
  std::optional<double> baseline = std::nullopt;
  bool restore_best_weights = false;
  int start_from_epoch = 0;
};

/// Stops fit when `monitor` has not improved by more than min_delta for
/// `patience` epochs (keras.callbacks.EarlyStopping); with
/// restore_best_weights, the best epoch's weights are put back.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// The epoch fit stopped after (0 when it did not stop early), as Keras's stopped_epoch.
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  int wait() const { return wait_; }
  std::optional<double> best() const { return best_; }

 private:
  EarlyStoppingOptions o_;
  bool greater_ = false;
  int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  std::optional<double> best_;
  std::vector<Tensor> best_weights_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  int verbose = 0;
  Mode mode = Mode::Auto;
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0;
};

/// Multiplies the rate by `factor` when `monitor` has not improved (by
/// min_delta) for `patience` epochs, then waits `cooldown` epochs
/// (keras.callbacks.ReduceLROnPlateau). The rate is logged as "learning_rate".
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  int wait() const { return wait_; }
  int cooldown_counter() const { return cooldown_counter_; }
  std::optional<double> best() const { return best_; }

 private:
  ReduceLROnPlateauOptions o_;
  bool greater_ = false;
  int wait_ = 0, cooldown_counter_ = 0;
  std::optional<double> best_;
};

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  int verbose = 0;
  bool save_best_only = false;
  /// A checkpoint of the model's variables (Model::save_weights) instead of a SavedModel.
  bool save_weights_only = false;
  Mode mode = Mode::Auto;
  /// 0: every epoch; N: every N training batches.
  int64_t save_freq = 0;
  std::optional<double> initial_value_threshold = std::nullopt;
};

/// Saves the model (keras.callbacks.ModelCheckpoint) at `filepath`, whose
/// "{epoch}" (counted from 1, optionally formatted as "{epoch:02d}") and
/// "{name}" / "{name:.4f}" for a log are filled in; with save_best_only,
/// only when `monitor` improves.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string filepath, ModelCheckpointOptions options = {});
  void on_train_begin(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// The best monitored value so far.
  std::optional<double> best() const { return best_; }
  /// The paths written, in order.
  const std::vector<std::string>& saved() const { return saved_; }
  /// `filepath` filled in for `epoch` (from 0) and `logs`.
  std::string path_for(int epoch, const Logs& logs) const;

 private:
  void save(int epoch, Logs& logs);
  std::string filepath_;
  ModelCheckpointOptions o_;
  bool greater_ = false;
  std::optional<double> best_;
  int epoch_ = 0;
  int64_t batches_seen_ = 0;
  std::vector<std::string> saved_;
};

/// Each epoch's logs as a CSV row (keras.callbacks.CSVLogger): "epoch" and
/// the log names, sorted; `append` continues an existing file.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, char separator = ',', bool append = false);
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;

 private:
  std::string filename_;
  char separator_;
  bool append_;
  std::vector<std::string> keys_;
  std::ofstream out_;
};

/// Stops fit at the first batch whose loss is NaN or infinite.
class TerminateOnNaN : public Callback {
 public:
  void on_train_batch_end(int64_t batch, Logs& logs) override;
};

/// Event files TensorBoard reads (keras.callbacks.TensorBoard's layout):
/// `log_dir/train` and `log_dir/validation`, "epoch_<name>" at each epoch,
/// and with update_freq N, "batch_<name>" every N batches at the global step.
class TensorBoard : public Callback {
 public:
  explicit TensorBoard(std::string log_dir = "logs", int64_t update_freq = 0);
  ~TensorBoard() override;
  void on_train_begin(Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// The event files' directories.
  std::string train_dir() const { return log_dir_ + "/train"; }
  std::string validation_dir() const { return log_dir_ + "/validation"; }

 private:
  std::string log_dir_;
  int64_t update_freq_;
  int64_t global_step_ = 0;
  std::unique_ptr<SummaryWriter> train_, validation_;
};

/// Backs the training up in `backup_dir` (keras.callbacks.BackupAndRestore):
/// the model, its optimizer, the metrics, the data iterator and where fit
/// is, at each epoch's end (save_freq 0) or every save_freq batches. A fit
/// that finds a backup there restores it and goes on from that epoch and
/// step, so a run killed at any instant ends as the uninterrupted one
/// would. A fit that ends normally deletes the backup (unless
/// delete_checkpoint is false). Under a strategy it backs up at epochs'
/// ends only and keeps no data position (each rank reads its own part, and
/// a backup resumes on any number of ranks): the resumed epochs see the
/// data in another order than the uninterrupted run's.
class BackupAndRestore : public Callback {
 public:
  explicit BackupAndRestore(std::string backup_dir, int64_t save_freq = 0, bool delete_checkpoint = true);
  ~BackupAndRestore() override;
  void on_train_begin(Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// The (epoch, step) the last fit resumed at, if it did.
  std::optional<std::pair<int, int64_t>> resumed_at() const { return resumed_at_; }

 private:
  void backup(int epoch, int64_t step);
  std::string dir_;
  int64_t save_freq_;
  bool delete_;
  bool stepped_ = false;  // a step ran in this fit
  std::unique_ptr<Checkpoint> ckpt_;
  std::unique_ptr<CheckpointManager> manager_;
  static constexpr int64_t kSpecSize = 10;  // dtype, rank, up to 8 dimensions
  Variable epoch_, step_, input_spec_;
  std::optional<std::pair<int, int64_t>> resumed_at_;
};

/// Callbacks from lambdas (keras.callbacks.LambdaCallback).
struct LambdaCallbackFns {
  std::function<void(int, Logs&)> on_epoch_begin = nullptr, on_epoch_end = nullptr;
  std::function<void(int64_t, Logs&)> on_train_batch_begin = nullptr, on_train_batch_end = nullptr;
  std::function<void(Logs&)> on_train_begin = nullptr, on_train_end = nullptr;
};
class LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackFns fns) : f_(std::move(fns)) {}
  void on_epoch_begin(int e, Logs& l) override { if (f_.on_epoch_begin) f_.on_epoch_begin(e, l); }
  void on_epoch_end(int e, Logs& l) override { if (f_.on_epoch_end) f_.on_epoch_end(e, l); }
  void on_train_batch_begin(int64_t b, Logs& l) override { if (f_.on_train_batch_begin) f_.on_train_batch_begin(b, l); }
  void on_train_batch_end(int64_t b, Logs& l) override { if (f_.on_train_batch_end) f_.on_train_batch_end(b, l); }
  void on_train_begin(Logs& l) override { if (f_.on_train_begin) f_.on_train_begin(l); }
  void on_train_end(Logs& l) override { if (f_.on_train_end) f_.on_train_end(l); }

 private:
  LambdaCallbackFns f_;
};

/// Whether `monitor` is better maximised under `mode`. Auto, as Keras
/// decides: "loss" and "val_loss" are minimised; a compiled metric of
/// `model` goes the way it says (accuracies up, errors down);
/// InvalidArgument for anything else.
bool maximises(const std::string& monitor, Mode mode, const Model* model = nullptr);
/// Keras's MonitorCallback._is_improvement: no reference yet, or `value`
/// beyond it by more than `min_delta` in the monitored direction.
bool improves(double value, std::optional<double> reference, bool greater, double min_delta);

}  // namespace ember::callbacks
