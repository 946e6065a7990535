// Checkpoint: tf.train.Checkpoint. Saves the values of an object graph as
// a tensor bundle with the serialized graph under _CHECKPOINTABLE_OBJECT_GRAPH
// (FORMATS.md §3), in files TensorFlow reads, and restores by matching the
// saved graph against the live one, keeping values for objects that do not
// exist yet and handing them over when they are created. The manager and
// the `checkpoint` state file: serialization/checkpoint_manager.h.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "state/trackable.h"

namespace ember {

struct RestoreState;
class AsyncWriter;

/// tf.train.CheckpointOptions.
struct CheckpointOptions {
  /// The values are copied when save()/write() is called and written to
  /// disk on a thread of the checkpoint's own while the program goes on
  /// (experimental_enable_async_checkpoint). A second save waits for the
  /// first; sync() waits for all. A failure of a background write is
  /// raised by the next save, write or sync. The files appear in the same
  /// order as a synchronous save's, with the same crash guarantees.
  bool enable_async = false;
};

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
  /// Unmatched values are expected: no warning about them when the restored
  /// objects go (as TensorFlow, which otherwise logs the values the objects
  /// never took, and those still waiting for an object).
  const RestoreStatus& expect_partial() const;

 private:
  std::shared_ptr<RestoreState> state_;
  // The status keeps the object graph alive, as TensorFlow's does; the
  // restore state (which deferred restorations hold) only points to it weakly.
  std::shared_ptr<Trackable> root_;
};

/// The named objects a Checkpoint saves. A root named "root" is the
/// checkpoint's root object itself (tf.train.Checkpoint(root=...)), and the
/// others become its dependencies.
using CheckpointRoots = std::vector<std::pair<std::string, std::shared_ptr<Trackable>>>;

class Checkpoint {
 public:
  /// Roots are tracked by name (sorted, as tf.train.Checkpoint(**kwargs));
  /// `save_counter` is made by the first save, restore or save_counter().
  Checkpoint(CheckpointRoots roots);  // NOLINT: implicit, Checkpoint({{"model", m}})
  /// A checkpoint whose root is `root` itself, with no save_counter (what a
  /// SavedModel's variables/ holds): for write, restore and read only.
  static Checkpoint of_object(std::shared_ptr<Trackable> root);
  /// Increments save_counter, writes `prefix-N` and updates the `checkpoint`
  /// state file beside it (its two paths, as TensorFlow writes it); returns
  /// `prefix-N`. (FailedPrecondition for a checkpoint made by of_object.)
  std::string save(const std::string& prefix, const CheckpointOptions& options = {});
  /// Writes `path` alone (no counter increment, no state file; save_counter
  /// is saved only once a save made it, as TensorFlow's write); returns it.
  std::string write(const std::string& path, const CheckpointOptions& options = {});
  /// Waits for asynchronous writes; raises the error of one that failed.
  void sync();
  /// Restores from `path` (a prefix); an empty path restores nothing and
  /// returns a status whose assertions say so. The checkpoint's files are
  /// read now and closed; values for objects not made yet are read from
  /// the path again when they are made. A later restore wins over an earlier
  /// one for an object both reach.
  RestoreStatus restore(const std::string& path) { return restore_impl(path, true); }
  /// As restore, without making save_counter first (TensorFlow's read: for
  /// a checkpoint written by write(), which holds none).
  RestoreStatus read(const std::string& path) { return restore_impl(path, false); }

  /// The number of saves (an int64 variable), made on first use.
  Variable save_counter();
  std::shared_ptr<Trackable> root() const { return root_; }

 private:
  friend class CheckpointManager;
  // write(), then `after` (in the background too, when asynchronous): a
  // manager's state file and deletions follow the files they name.
  std::string write_then(const std::string& path, const CheckpointOptions& options, std::function<void()> after);
  RestoreStatus restore_impl(const std::string& path, bool make_save_counter);
  Checkpoint(std::shared_ptr<Trackable> root, bool one_object) : root_(std::move(root)), one_object_(one_object) {}
  std::shared_ptr<Trackable> root_;
  // Given a root object (root=...): the other roots and save_counter are
  // its dependencies in the checkpoint's graph only, not tracked by it
  // (TensorFlow's attached dependencies). Shared by copies.
  std::shared_ptr<CheckpointRoots> attached_;
  bool one_object_ = false;
  std::shared_ptr<AsyncWriter> async_;
};

/// Escapes a local name for a checkpoint key: "." -> "..", "/" -> ".S".
std::string escape_checkpoint_name(const std::string& name);

}  // namespace ember

#include "serialization/checkpoint_manager.h"
