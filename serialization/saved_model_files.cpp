// The SavedModel directory transaction (a save replaces the model whole, or
// not at all, crash or no crash) and reading saved_model.pb.
#include "serialization/saved_model_internal.h"

#include <fcntl.h>
#include <stdio.h>

#include <cstdlib>
#include <filesystem>

#include <google/protobuf/stubs/logging.h>

#include "core/error.h"
#include "serialization/file_ops.h"

namespace ember::saved_model::detail {

namespace fs = std::filesystem;

// Where a save on a file system without an atomic exchange keeps the old
// model while it moves the new one in (a name the sweep of temporaries
// leaves alone, and unlikely to be a user's): a crash between the two
// renames leaves the model there.
std::string aside_of(const std::string& dir) { return dir + ".ember-previous"; }

// The directory that holds the model `dir` names: `dir`, or the model a
// crashed save left aside.
std::string model_dir(const std::string& dir) {
  if (!files::exists(dir) && files::exists(aside_of(dir) + "/saved_model.pb")) return aside_of(dir);
  return dir;
}

// Puts back a model a crashed save left aside (no model at `dir`), or
// removes it (the new model is in place).
void recover_aside(const std::string& dir) {
  const std::string aside = aside_of(dir);
  if (!files::exists(aside + "/saved_model.pb")) return;  // (only a model is ours to move or remove)
  if (files::exists(dir)) {
    fs::remove_all(aside);
    return;
  }
  files::rename_file(aside, dir);
}

// Whether renameat2's RENAME_EXCHANGE is to be tried. EMBER_NO_RENAME_EXCHANGE=1
// takes the fallback, as on a file system without it (tests force it so).
bool try_exchange() {
  static const bool yes = [] {
    const char* e = std::getenv("EMBER_NO_RENAME_EXCHANGE");
    return !(e && std::string_view(e) == "1");
  }();
  return yes;
}

// Replaces `dir` by `tmp` in one step where the system allows (renameat2's
// RENAME_EXCHANGE), then removes the old contents.
void swap_in(const std::string& tmp, const std::string& dir) {
  if (!files::exists(dir)) {
    files::rename_file(tmp, dir);
    return;
  }
  EMBER_CHECK(fs::is_directory(dir), InvalidArgument, "[saved_model] ", dir, " exists and is not a directory");
  files::crash_point("rename", dir);
  if (!try_exchange() || ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
    // No atomic exchange here: move the old model aside first, where
    // loading and the next save find it if this process dies before the
    // new one is in place.
    const std::string old = aside_of(dir);
    files::rename_file(dir, old);
    files::rename_file(tmp, dir);
    files::crash_point("unlink", old);
    fs::remove_all(old);
    return;
  }
  files::sync_dir(files::dirname(dir));
  std::error_code ec;
  fs::remove_all(tmp, ec);
}

// Removes what killed saves of `target` left beside it: `target.tmp-PID-*`
// directories whose process is gone.
void sweep_temporaries(const std::string& target) {
  const fs::path t(target);
  const std::string base = t.filename().string();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(t.has_parent_path() ? t.parent_path() : fs::path("."), ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(base + ".tmp-", 0) != 0) continue;
    // (the suffix alone: the model's own name may hold ".tmp-")
    if (files::left_by_dead_writer(name.substr(base.size()), ".tmp")) fs::remove_all(e.path(), ec);
  }
}

ModelFile read_model(const std::string& dir) {
  ModelFile f;
  const std::string path = (fs::path(dir) / "saved_model.pb").string();
  if (!files::exists(path)) {
    EMBER_CHECK(!files::exists((fs::path(dir) / "saved_model.pbtxt").string()), Unimplemented, "[saved_model] ", dir,
                ": a text saved_model.pbtxt; ember reads the binary saved_model.pb");
    throw NotFound("[saved_model] " + dir + ": no saved_model.pb (is it a SavedModel directory?)");
  }
  std::string bytes = files::read_file(path);
  bool parsed;
  {
    google::protobuf::LogSilencer quiet;  // a corrupt file is our error to report, not protobuf's to log
    parsed = f.model.ParseFromString(bytes);
  }
  if (!parsed)
    throw DataLoss("[saved_model] " + path + ": does not parse as a SavedModel (truncated or corrupt)");
  std::vector<std::string> tags;
  for (const auto& m : f.model.meta_graphs()) {
    for (const auto& t : m.meta_info_def().tags()) {
      tags.push_back(t);
      if (t == kServe && !f.meta) f.meta = &m;
    }
  }
  if (!f.meta) {
    std::string all;
    for (const auto& t : tags) all += (all.empty() ? "'" : ", '") + t + "'";
    throw NotFound("[saved_model] " + path + ": no MetaGraphDef tagged 'serve' (tags: " + (all.empty() ? "none" : all) + ")");
  }
  EMBER_CHECK(f.meta->has_object_graph_def() && f.meta->object_graph_def().nodes_size() > 0, DataLoss, "[saved_model] ",
              path, ": the MetaGraphDef has no object graph (a TensorFlow 1 SavedModel?)");
  const auto& objects = f.meta->object_graph_def();
  for (int i = 0; i < objects.nodes_size(); ++i)
    for (const auto& c : objects.nodes(i).children())
      EMBER_CHECK(c.node_id() >= 0 && c.node_id() < objects.nodes_size(), DataLoss, "[saved_model] ", path,
                  ": object ", i, " refers to object ", c.node_id(), " of ", objects.nodes_size());
  return f;
}

}  // namespace ember::saved_model::detail
