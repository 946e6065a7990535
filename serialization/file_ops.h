// The file-system steps a checkpoint save is made of, each one checked (a
// failure is an ember error naming the path) and each one a crash point.
//
// Crash points are how the suite proves that a kill at any instant of a save
// leaves a restorable latest checkpoint: with EMBER_CRASH_AT=N in the
// environment, the process kills itself with SIGKILL just before the N-th
// step (a sync, a rename or an unlink). Without it they cost one branch.
#pragma once

#include <string>
#include <vector>

namespace ember::files {

/// Counts a crash point and dies at the one EMBER_CRASH_AT names.
void crash_point(const char* what, const std::string& path);

/// A temporary file's suffix: `marker`, the writing process's id and a
/// random part (".tempstate-4242-9f3c..."), so a sweep can tell a killed
/// writer's leftovers from another live writer's work in progress.
std::string temp_suffix(const char* marker);
/// Whether temporary `file` (named with temp_suffix(marker)) was left by a
/// process that is gone: its id names no process. A name without an id
/// (an older ember's) counts as gone; this process's own are not.
bool left_by_dead_writer(const std::string& file, const char* marker);

/// Writes `contents` to a temporary file beside `file` (named
/// `file + temp_suffix(".tmp")`), syncs it, renames it over `file` and syncs the
/// directory: readers see the old or the new contents, never a mix.
void write_atomically(const std::string& file, const std::string& contents);
/// rename(2), then a sync of the target's directory.
void rename_file(const std::string& from, const std::string& to);
/// fsync(2) of an open descriptor; `path` names it in errors.
void sync_fd(int fd, const std::string& path);
/// Syncs a directory, so renames and unlinks in it are durable.
void sync_dir(const std::string& dir);
/// Removes `path`; a missing file is not an error, any other failure is.
void remove_file(const std::string& path);
/// The file's contents; NotFound when it does not exist, FailedPrecondition
/// when it is not a regular file (a directory, a device such as /dev/zero
/// that never ends), DataLoss when it cannot be read.
std::string read_file(const std::string& path);
/// Whether `path` exists; a path the system cannot look up (too long, no
/// permission) is an error naming it, not an answer.
bool exists(const std::string& path);
/// The names (not paths) of the entries of `dir`.
std::vector<std::string> list_dir(const std::string& dir);
/// Creates `dir` and its parents.
void create_dirs(const std::string& dir);
/// The directory part of `path` ("." when it has none).
std::string dirname(const std::string& path);

}  // namespace ember::files
