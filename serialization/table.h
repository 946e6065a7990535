// The index file of a tensor bundle: LevelDB's SSTable format (no filter
// blocks, no compression), written and read by ember's own code. FORMATS.md
// §2 has the layout.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::table {

/// Builds a table in memory; keys must be added in strictly increasing
/// bytewise order.
class Builder {
 public:
  explicit Builder(size_t block_size = 262144, int restart_interval = 16);
  void add(std::string_view key, std::string_view value);
  /// The finished file's bytes.
  std::string finish();

 private:
  struct Block {
    std::string data;
    std::vector<uint32_t> restarts{0};
    int count = 0;
    std::string last_key;
    void add(std::string_view key, std::string_view value, int restart_interval);
    std::string finish();  // appends the restart array; resets
    bool empty() const { return data.empty(); }
  };
  void flush_data_block();
  std::string write_block(Block& block);  // returns the encoded block handle

  size_t block_size_;
  int restart_interval_;
  std::string file_;
  Block data_, index_;
  std::string last_key_;
  bool any_ = false;
};

/// Every entry of a table, in order, after checking the footer, every block
/// checksum and every offset. Errors (DataLoss, Unimplemented) name `file`.
std::vector<std::pair<std::string, std::string>> read_all(std::string_view bytes,
                                                          const std::string& file);

// Varint helpers shared by the bundle code.
void put_varint64(std::string& out, uint64_t v);
/// Reads a varint at `pos`; false when truncated or over-long.
bool get_varint64(std::string_view in, size_t& pos, uint64_t& v);

}  // namespace ember::table
