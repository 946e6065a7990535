// The `checkpoint` state file and tf.train.CheckpointManager, with
// TensorFlow's rules for what a manager manages (checkpoint_management.py).
#include "serialization/checkpoint_manager.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "checkpoint_state.pb.h"
#include "core/context.h"
#include "core/error.h"
#include "serialization/checkpoint.h"
#include "serialization/file_ops.h"
#include "serialization/checkpoint_internal.h"

namespace ember {

namespace fs = std::filesystem;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string resolve(const std::string& dir, const std::string& p) {
  return fs::path(p).is_absolute() ? p : (fs::path(dir) / p).string();
}

// A path as the state file records it: relative to `dir` when it lies there.
std::string relative(const std::string& dir, const std::string& p) {
  auto normal = [](const fs::path& x) {
    std::string s = x.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  fs::path path(p);
  return path.parent_path().empty() || normal(path.parent_path()) == normal(dir) ? path.filename().string() : p;
}

// Deletes a checkpoint: its index first, so that it is never a complete
// checkpoint with part of its data gone.
void remove_checkpoint_files(const std::string& prefix) {
  files::remove_file(prefix + ".index");
  std::string dir = files::dirname(prefix);
  if (!files::exists(dir)) return;
  std::string stem = fs::path(prefix).filename().string() + ".data-";
  for (const std::string& name : files::list_dir(dir))
    if (name.starts_with(stem)) files::remove_file((fs::path(dir) / name).string());
}

// N of "<name>-N<rest>" when what follows the digits is `rest` exactly.
std::optional<int64_t> checkpoint_number(const std::string& file, const std::string& name, const std::string& rest) {
  if (!file.starts_with(name + "-")) return std::nullopt;
  size_t i = name.size() + 1, j = i;
  while (j < file.size() && j - i < 18 && file[j] >= '0' && file[j] <= '9') ++j;
  if (j == i || file.compare(j, std::string::npos, rest) != 0) return std::nullopt;
  return std::stoll(file.substr(i, j - i));
}

}  // namespace

// ---- the state file -----------------------------------------------------------------------------

std::optional<CheckpointState> get_checkpoint_state(const std::string& dir) {
  std::string file = (fs::path(dir) / "checkpoint").string();
  if (!files::exists(file)) return std::nullopt;
  // Parse errors become the message of ember's error instead of protobuf's log lines.
  struct Collector : google::protobuf::io::ErrorCollector {
    std::string first;
    void AddError(int line, int column, const std::string& message) override {
      if (first.empty()) first = detail::str_cat(line + 1, ":", column + 1, ": ", message);
    }
  } errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  tensorflow::CheckpointState s;
  if (!parser.ParseFromString(files::read_file(file), &s))
    throw DataLoss(detail::str_cat("[checkpoint] ", file, " is not a CheckpointState: ", errors.first));
  if (s.model_checkpoint_path().empty()) throw InvalidArgument("Invalid checkpoint state loaded from " + dir);
  CheckpointState out;
  out.model_checkpoint_path = resolve(dir, s.model_checkpoint_path());
  for (const auto& p : s.all_model_checkpoint_paths()) out.all_model_checkpoint_paths.push_back(resolve(dir, p));
  out.all_model_checkpoint_timestamps.assign(s.all_model_checkpoint_timestamps().begin(),
                                             s.all_model_checkpoint_timestamps().end());
  out.last_preserved_timestamp = s.last_preserved_timestamp();
  return out;
}

void update_checkpoint_state(const std::string& dir, const std::string& model_checkpoint_path,
                             const std::vector<std::string>& all_model_checkpoint_paths,
                             const std::vector<double>& all_model_checkpoint_timestamps,
                             std::optional<double> last_preserved_timestamp) {
  EMBER_CHECK(!model_checkpoint_path.empty(), InvalidArgument, "[checkpoint] update_checkpoint_state needs a path");
  tensorflow::CheckpointState s;
  s.set_model_checkpoint_path(relative(dir, model_checkpoint_path));
  for (const auto& p : all_model_checkpoint_paths) s.add_all_model_checkpoint_paths(relative(dir, p));
  // TensorFlow's rule: the latest is the last of the list.
  if (all_model_checkpoint_paths.empty() || all_model_checkpoint_paths.back() != model_checkpoint_path)
    s.add_all_model_checkpoint_paths(relative(dir, model_checkpoint_path));
  for (double t : all_model_checkpoint_timestamps) s.add_all_model_checkpoint_timestamps(t);
  if (last_preserved_timestamp) s.set_last_preserved_timestamp(*last_preserved_timestamp);
  std::string text;
  google::protobuf::TextFormat::PrintToString(s, &text);
  files::write_atomically((fs::path(dir) / "checkpoint").string(), text);
}

std::string latest_checkpoint(const std::string& dir) {
  std::optional<CheckpointState> s = get_checkpoint_state(dir);
  if (!s) return "";
  if (files::exists(s->model_checkpoint_path + ".index")) return s->model_checkpoint_path;
  // A state file written by a save that was killed half-way (by an older
  // ember, or another writer) may name a checkpoint that is gone: the newest
  // listed one that is complete is the latest.
  for (auto it = s->all_model_checkpoint_paths.rbegin(); it != s->all_model_checkpoint_paths.rend(); ++it)
    if (files::exists(*it + ".index")) return *it;
  return "";
}

// ---- CheckpointManager -------------------------------------------------------------------------

CheckpointManager::CheckpointManager(Checkpoint& checkpoint, std::string directory, std::optional<int> max_to_keep,
                                     double keep_checkpoint_every_n_hours, std::string checkpoint_name)
    : CheckpointManager(checkpoint, std::move(directory), max_to_keep,
                        CheckpointManagerOptions{.keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours,
                                                 .checkpoint_name = std::move(checkpoint_name)}) {}

CheckpointManager::CheckpointManager(Checkpoint& checkpoint, std::string directory, std::optional<int> max_to_keep,
                                     CheckpointManagerOptions options)
    : checkpoint_(checkpoint), dir_(std::move(directory)), max_to_keep_(max_to_keep), options_(std::move(options)) {
  EMBER_CHECK(!max_to_keep_ || *max_to_keep_ > 0, InvalidArgument,
              "Expected a positive integer or `None` for `max_to_keep`, got ", max_to_keep_.value_or(0), ".");
  EMBER_CHECK(!options_.checkpoint_interval || options_.step_counter, InvalidArgument,
              "`step_counter` should be passed if `checkpoint_interval` is not None.");
  EMBER_CHECK(!options_.checkpoint_name.empty(), InvalidArgument, "[CheckpointManager] checkpoint_name is empty");
  prefix_ = (fs::path(dir_) / options_.checkpoint_name).string();
  files::create_dirs(dir_);
  const double now = now_seconds();
  std::optional<CheckpointState> s = get_checkpoint_state(dir_);
  if (!s) {
    last_preserved_ = now;
  } else {
    latest_ = s->model_checkpoint_path;
    last_preserved_ = std::min(s->last_preserved_timestamp, now);  // (a clock that went back)
    // Only entries newer than the last preserved time are managed; one
    // without a timestamp counts as that time (a Checkpoint::save's entry,
    // a checkpoint keep_checkpoint_every_n_hours preserved): never touched.
    for (size_t i = 0; i < s->all_model_checkpoint_paths.size(); ++i) {
      double t = i < s->all_model_checkpoint_timestamps.size() ? s->all_model_checkpoint_timestamps[i]
                                                                 : last_preserved_;
      t = std::min(t, now);
      if (t > last_preserved_) maybe_delete_.emplace_back(s->all_model_checkpoint_paths[i], t);
    }
  }
  // A killed save's temporaries, and data without an index (a bundle never
  // completed), of this manager's name: never a checkpoint, deleted. Not
  // another live writer's: its temporaries stay, and so does data whose
  // index is still one of them (between a bundle's two renames).
  const std::vector<std::string> in_progress = detail::remove_temporaries(dir_, options_.checkpoint_name);
  std::set<int64_t> complete, with_data;
  for (const std::string& file : files::list_dir(dir_)) {
    if (auto n = checkpoint_number(file, options_.checkpoint_name, ".index"))
      complete.insert(*n);
    else if (auto d = checkpoint_number(file, options_.checkpoint_name, ".data-00000-of-00001"))
      with_data.insert(*d);
  }
  for (int64_t n : with_data) {
    const std::string stem = options_.checkpoint_name + "-" + std::to_string(n) + ".";
    const bool writing = std::any_of(in_progress.begin(), in_progress.end(),
                                     [&](const std::string& f) { return f.starts_with(stem); });
    if (!complete.count(n) && !writing) remove_checkpoint_files(prefix_ + "-" + std::to_string(n));
  }
}

std::vector<std::string> CheckpointManager::checkpoints() const {
  std::vector<std::string> out;
  for (const auto& [p, t] : maybe_delete_) out.push_back(p);
  return out;
}

std::string CheckpointManager::save(std::optional<int64_t> checkpoint_number, bool check_interval) {
  return save(checkpoint_number, check_interval, CheckpointOptions{});
}

std::string CheckpointManager::save(std::optional<int64_t> checkpoint_number, bool check_interval,
                                    const CheckpointOptions& options) {
  EMBER_CHECK(context().tracer == nullptr, Unimplemented,
              "[CheckpointManager] save inside a traced function is not supported, as it numbers checkpoints and "
              "deletes old ones outside TensorFlow Operations; consider Checkpoint::write, which a traced function "
              "may call");
  std::optional<int64_t> step;
  if (options_.step_counter) step = options_.step_counter->read_value().to(Device::cpu()).item<int64_t>();
  if (options_.checkpoint_interval && check_interval && last_checkpoint_step_ &&
      *step < *last_checkpoint_step_ + *options_.checkpoint_interval)
    return "";
  Variable counter = checkpoint_.save_counter();
  counter.assign_add(constant(int64_t{1}, counter.device()));
  if (!checkpoint_number) checkpoint_number = step ? *step : counter.read_value().item<int64_t>();
  std::string path = prefix_ + "-" + std::to_string(*checkpoint_number);
  if (step) last_checkpoint_step_ = step;

  // Saved again: it moves to the end of the queue.
  std::erase_if(maybe_delete_, [&](const auto& e) { return e.first == path; });
  maybe_delete_.emplace_back(path, now_seconds());
  latest_ = path;
  // The state naming the new checkpoint (and still what is dropped), the
  // deletions, and the state without them: written after the checkpoint.
  auto first = maybe_delete_;
  std::vector<std::string> doomed;
  while (max_to_keep_ && static_cast<int>(maybe_delete_.size()) > *max_to_keep_) {
    auto [old, stamp] = maybe_delete_.front();
    maybe_delete_.erase(maybe_delete_.begin());
    const double hours = options_.keep_checkpoint_every_n_hours;
    if (hours > 0 && stamp - hours * 3600 >= last_preserved_) {
      last_preserved_ = stamp;  // kept on disk, managed by no manager from now on
      continue;
    }
    doomed.push_back(old);
  }
  auto second = maybe_delete_;
  const std::string dir = dir_, latest = latest_;
  const double preserved = last_preserved_;
  auto record = [dir, latest, preserved](const std::vector<std::pair<std::string, double>>& kept) {
    std::vector<std::string> paths;
    std::vector<double> stamps;
    for (const auto& [p, t] : kept) paths.push_back(p), stamps.push_back(t);
    update_checkpoint_state(dir, latest, paths, stamps, preserved);
  };
  checkpoint_.write_then(path, options, [record, first, second, doomed] {
    record(first);
    for (const std::string& p : doomed) remove_checkpoint_files(p);
    if (!doomed.empty()) record(second);
  });
  return path;
}

std::string CheckpointManager::restore_or_initialize() {
  if (!latest_.empty() && files::exists(latest_ + ".index")) {
    checkpoint_.restore(latest_);
    if (options_.checkpoint_interval)
      last_checkpoint_step_ = options_.step_counter->read_value().to(Device::cpu()).item<int64_t>();
    return latest_;
  }
  if (options_.init_fn) options_.init_fn();
  return "";
}

}  // namespace ember
