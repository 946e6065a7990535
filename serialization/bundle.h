// The tensor bundle (TensorFlow's checkpoint data format, FORMATS.md §1):
// `PREFIX.index`, a table of BundleEntryProtos, and `PREFIX.data-*`, the
// tensors' bytes. Writes go to temporary names and are renamed into place
// (data first, index last); reads check every offset, size and checksum.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "state/trackable.h"

namespace ember::bundle {

/// What the index says about one tensor.
struct EntryInfo {
  bool is_string = false;
  DType dtype = float32;
  int tf_dtype = 0;  // TensorFlow's DataType number
  TensorShape shape;
  int shard = 0;
  uint64_t offset = 0, size = 0;
  uint32_t crc32c = 0;  // masked, as stored
};

/// TensorFlow's DataType number of a dtype (DT_STRING is 7).
int tf_dtype(DType t);
std::string tf_dtype_name(int tf_dtype);
/// ember's dtype of TensorFlow's DataType number (resource and variant
/// included); false for one ember lacks (DT_STRING among them).
bool from_tf_dtype(int tf_dtype, DType& out);

class Writer {
 public:
  /// Writes `prefix.index` and `prefix.data-00000-of-00001` when finished.
  explicit Writer(std::string prefix);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  void add(const std::string& key, const SavedTensor& t);
  /// Flushes, syncs and renames both files into place.
  void finish();

 private:
  void write(const void* p, size_t n);
  std::string prefix_, tmp_data_, tmp_index_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  std::map<std::string, std::string> entries_;  // key -> serialized BundleEntryProto
  bool finished_ = false;
};

class Reader {
 public:
  /// Reads and checks the index (NotFound when it is missing, DataLoss when
  /// it is corrupt, both naming the file).
  explicit Reader(std::string prefix);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::string& prefix() const { return prefix_; }
  bool contains(const std::string& key) const { return entries_.count(key) != 0; }
  /// NotFound "Key K not found in checkpoint" when absent.
  const EntryInfo& entry(const std::string& key) const;
  std::vector<std::string> keys() const;
  /// The keys that start with `prefix`, in order.
  std::vector<std::string> keys_with_prefix(const std::string& prefix) const;
  /// The tensor's value, after checking bounds, size and checksum.
  SavedTensor read(const std::string& key) const;

 private:
  std::string data_file(int shard) const;
  /// The shard's descriptor and size, opening it on first use.
  std::pair<int, uint64_t> open_shard(size_t shard) const;
  std::string prefix_;
  int num_shards_ = 1;
  std::map<std::string, EntryInfo> entries_;
  // Data files open on first read: read() is const and may run on several
  // threads at once, so opening is under a lock (reads themselves are preads).
  mutable std::mutex open_mu_;
  mutable std::vector<int> fds_;
  mutable std::vector<uint64_t> sizes_;
};

/// Encodes / decodes DT_STRING tensor bytes (lengths, masked CRC, strings).
std::string encode_strings(const std::vector<std::string>& strings, uint32_t* entry_crc);

}  // namespace ember::bundle
