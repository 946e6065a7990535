// The `checkpoint` state file (tf.train.get_checkpoint_state,
// latest_checkpoint) and tf.train.CheckpointManager.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/variable.h"

namespace ember {

class Checkpoint;
struct CheckpointOptions;

/// What a directory's `checkpoint` file records (TensorFlow's
/// CheckpointState), its paths made absolute.
struct CheckpointState {
  std::string model_checkpoint_path;
  std::vector<std::string> all_model_checkpoint_paths;
  std::vector<double> all_model_checkpoint_timestamps;
  double last_preserved_timestamp = 0;
};

/// `dir`'s state file, or nothing when there is none. A file that names no
/// latest checkpoint (an empty one) is InvalidArgument ("Invalid checkpoint
/// state loaded from DIR", as TensorFlow); one that does not parse, DataLoss.
std::optional<CheckpointState> get_checkpoint_state(const std::string& dir);
/// Writes `dir`'s state file atomically (tf.compat.v1.train.update_checkpoint_state):
/// paths relative to `dir` where they lie in it; timestamps and the
/// preserved time only when given (Checkpoint::save writes the two paths alone).
void update_checkpoint_state(const std::string& dir, const std::string& model_checkpoint_path,
                             const std::vector<std::string>& all_model_checkpoint_paths = {},
                             const std::vector<double>& all_model_checkpoint_timestamps = {},
                             std::optional<double> last_preserved_timestamp = std::nullopt);
/// The newest checkpoint recorded in `dir/checkpoint`, or "" when there is
/// none (or its index file is missing).
std::string latest_checkpoint(const std::string& dir);

/// What a CheckpointManager takes besides its directory and max_to_keep.
struct CheckpointManagerOptions {
  /// Of the checkpoints max_to_keep drops, one every this many hours stays
  /// on disk, no longer managed by this or any later manager.
  double keep_checkpoint_every_n_hours = 0;
  std::string checkpoint_name = "ckpt";
  /// The training step: numbers the checkpoints, and with
  /// checkpoint_interval decides whether a save happens.
  std::optional<Variable> step_counter = std::nullopt;
  /// save() writes only when the step has moved this far since the last
  /// save (needs step_counter).
  std::optional<int64_t> checkpoint_interval = std::nullopt;
  /// restore_or_initialize() calls it when there is no checkpoint.
  std::function<void()> init_fn = nullptr;
};

/// tf.train.CheckpointManager: numbered saves in a directory, keeping the
/// newest `max_to_keep` (all of them when none is given) and one every
/// `keep_checkpoint_every_n_hours`.
///
/// It manages only the checkpoints it saved and those its state file lists
/// with a timestamp newer than its last preserved time (TensorFlow's rule):
/// it never deletes a checkpoint it does not manage, and its constructor
/// deletes none. A save writes the checkpoint, then the state file naming it
/// (still listing what max_to_keep drops), deletes what it drops, and
/// writes the state file again: a kill at any instant leaves the state file
/// naming a complete checkpoint no older than the last save that returned,
/// and whatever it dropped either listed (deleted by the next save) or gone.
class CheckpointManager {
 public:
  CheckpointManager(Checkpoint& checkpoint, std::string directory, std::optional<int> max_to_keep,
                    double keep_checkpoint_every_n_hours = 0, std::string checkpoint_name = "ckpt");
  CheckpointManager(Checkpoint& checkpoint, std::string directory, std::optional<int> max_to_keep,
                    CheckpointManagerOptions options);
  /// Saves `dir/name-N` (N: `checkpoint_number`, else the step counter's
  /// value, else the checkpoint's save_counter after its increment) and
  /// returns the path; "" when checkpoint_interval says it is too soon
  /// (unless `check_interval` is false).
  std::string save(std::optional<int64_t> checkpoint_number = std::nullopt, bool check_interval = true);
  std::string save(std::optional<int64_t> checkpoint_number, bool check_interval, const CheckpointOptions& options);
  /// Restores the latest checkpoint and returns its path, or calls init_fn
  /// (when given) and returns "".
  std::string restore_or_initialize();
  /// The managed checkpoints, oldest first.
  std::vector<std::string> checkpoints() const;
  /// The state file's latest checkpoint when made, then the last saved ("" for none).
  std::string latest_checkpoint() const { return latest_; }
  const std::string& directory() const { return dir_; }
  /// The checkpoint it saves (sync() waits for its asynchronous writes).
  Checkpoint& checkpoint() const { return checkpoint_; }
  std::optional<int64_t> checkpoint_interval() const { return options_.checkpoint_interval; }

 private:
  void record_state();
  void sweep();

  Checkpoint& checkpoint_;
  std::string dir_, prefix_;
  std::optional<int> max_to_keep_;
  CheckpointManagerOptions options_;
  std::vector<std::pair<std::string, double>> maybe_delete_;  // managed: path, timestamp; oldest first
  std::string latest_;
  double last_preserved_;
  std::optional<int64_t> last_checkpoint_step_;
};

}  // namespace ember
