// Checkpoint: tf.train.Checkpoint. Saves the values of an object graph as
// a tensor bundle with the serialized graph under _CHECKPOINTABLE_OBJECT_GRAPH
// (FORMATS.md §3), in files TensorFlow reads, and restores by matching the
// saved graph against the live one, keeping values for objects that do not
// exist yet and handing them over when they are created.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "state/trackable.h"

namespace ember {

struct RestoreState;

/// What a restore matched, with TensorFlow's assertions.
class RestoreStatus {
 public:
  RestoreStatus(std::shared_ptr<RestoreState> state, std::shared_ptr<Trackable> root)
      : state_(std::move(state)), root_(std::move(root)) {}
  /// Every saved value was used and every live object with values matched,
  /// nothing is still waiting for its object (FailedPrecondition otherwise).
  const RestoreStatus& assert_consumed() const;
  /// Every live object with values, reachable from the root, matched.
  const RestoreStatus& assert_existing_objects_matched() const;
  /// Something other than the root matched.
  const RestoreStatus& assert_nontrivial_match() const;
  /// Unmatched values are expected (no effect: ember does not warn).
  const RestoreStatus& expect_partial() const { return *this; }

 private:
  std::shared_ptr<RestoreState> state_;
  // The status keeps the object graph alive, as TensorFlow's does; the
  // restore state (which deferred restorations hold) only points to it weakly.
  std::shared_ptr<Trackable> root_;
};

using CheckpointRoots = std::vector<std::pair<std::string, std::shared_ptr<Trackable>>>;

class Checkpoint {
 public:
  /// Roots are tracked by name (sorted, as tf.train.Checkpoint(**kwargs)),
  /// then `save_counter`.
  Checkpoint(CheckpointRoots roots);  // NOLINT: implicit, Checkpoint({{"model", m}})
  /// A checkpoint whose root is `root` itself, with no save_counter (what a
  /// SavedModel's variables/ holds): for write, restore and read only.
  static Checkpoint of_object(std::shared_ptr<Trackable> root);
  /// Increments save_counter, writes `prefix-N` and updates the `checkpoint`
  /// state file beside it; returns `prefix-N`. (FailedPrecondition for a
  /// checkpoint made by of_object.)
  std::string save(const std::string& prefix);
  /// Writes `path` alone (no counter, no state file); returns it.
  std::string write(const std::string& path);
  /// Restores from `path` (a prefix); an empty path restores nothing and
  /// returns a status whose assertions say so.
  RestoreStatus restore(const std::string& path);
  /// As restore (TensorFlow's read skips save_counter's bookkeeping).
  RestoreStatus read(const std::string& path) { return restore(path); }

  Variable save_counter() const { return save_counter_; }
  std::shared_ptr<Trackable> root() const { return root_; }

 private:
  Checkpoint(std::shared_ptr<Trackable> root, bool /*one_object*/) : root_(std::move(root)) {}
  std::shared_ptr<Trackable> root_;
  Variable save_counter_;
};

/// The newest checkpoint recorded in `dir/checkpoint`, or "" when there is
/// none (or its index file is missing).
std::string latest_checkpoint(const std::string& dir);

/// tf.train.CheckpointManager: numbered saves in a directory, keeping the
/// newest `max_to_keep` (and one every `keep_checkpoint_every_n_hours`).
///
/// A save is ordered so that a kill at any instant leaves the state file
/// naming a complete checkpoint no older than the last save that returned;
/// a manager made on the directory afterwards cleans up or adopts what the
/// killed save left (see recover()).
class CheckpointManager {
 public:
  CheckpointManager(Checkpoint& checkpoint, std::string directory, int max_to_keep,
                    double keep_checkpoint_every_n_hours = 0, std::string checkpoint_name = "ckpt");
  /// Saves `dir/name-<save_counter>`; returns the path.
  std::string save();
  const std::vector<std::string>& checkpoints() const { return paths_; }
  std::string latest_checkpoint() const { return paths_.empty() ? "" : paths_.back(); }
  const std::string& directory() const { return dir_; }

 private:
  void recover();
  std::vector<std::string> sweep();

  Checkpoint& checkpoint_;
  std::string dir_, name_;
  int max_to_keep_;
  double keep_hours_;
  std::vector<std::string> paths_;  // oldest first
  std::vector<double> timestamps_;
  double last_preserved_;
};

/// Escapes a local name for a checkpoint key: "." -> "..", "/" -> ".S".
std::string escape_checkpoint_name(const std::string& name);

}  // namespace ember
