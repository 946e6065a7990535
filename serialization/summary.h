// TensorBoard event files: tf.summary's scalars, written as TensorFlow
// writes them. A file `events.out.tfevents.<seconds>.<host>` in the log
// folder holds TFRecords (length, masked CRC32C of the length, data, masked
// CRC32C of the data), each an `Event` protobuf: first one with
// file_version "brain.Event:2", then one per scalar (wall_time, step,
// summary { value { tag, simple_value } }). TensorBoard and
// tf.compat.v1.train.summary_iterator read them.
#pragma once

#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>

namespace ember {

class SummaryWriter {
 public:
  /// Creates `logdir` if needed and a new event file in it.
  explicit SummaryWriter(const std::string& logdir);
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  /// Records `value` under `tag` at `step` (tf.summary.scalar).
  void scalar(const std::string& tag, double value, int64_t step);
  /// Writes what is buffered to disk.
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::string path_;
  std::ofstream out_;
  std::mutex mu_;
};

}  // namespace ember
