#include "serialization/table.h"

#include <cstring>

#include "core/error.h"
#include "serialization/crc32c.h"

namespace ember::table {
namespace {

constexpr uint64_t kMagic = 0xdb4775248b80fb57ull;
constexpr size_t kFooterSize = 48;
constexpr size_t kTrailerSize = 5;

void put_fixed32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(b, 4);
}
uint32_t get_fixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

[[noreturn]] void corrupt(const std::string& file, const std::string& what) {
  throw DataLoss(detail::str_cat("[checkpoint] ", file, ": corrupted index: ", what));
}

}  // namespace

void put_varint64(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint64(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (pos >= in.size()) return false;
    auto b = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// ---- writing ------------------------------------------------------------------------

void Builder::Block::add(std::string_view key, std::string_view value, int restart_interval) {
  size_t shared = 0;
  if (count % restart_interval == 0) {
    if (count > 0) restarts.push_back(static_cast<uint32_t>(data.size()));
  } else {
    size_t lim = std::min(last_key.size(), key.size());
    while (shared < lim && last_key[shared] == key[shared]) ++shared;
  }
  put_varint64(data, shared);
  put_varint64(data, key.size() - shared);
  put_varint64(data, value.size());
  data.append(key.substr(shared));
  data.append(value);
  last_key.assign(key);
  ++count;
}

std::string Builder::Block::finish() {
  std::string out = std::move(data);
  for (uint32_t r : restarts) put_fixed32(out, r);
  put_fixed32(out, static_cast<uint32_t>(restarts.size()));
  data.clear();
  restarts.assign(1, 0);
  count = 0;
  last_key.clear();
  return out;
}

Builder::Builder(size_t block_size, int restart_interval)
    : block_size_(block_size), restart_interval_(restart_interval) {}

std::string Builder::write_block(Block& block) {
  std::string contents = block.finish();
  uint64_t offset = file_.size();
  file_.append(contents);
  char type = 0;  // no compression
  file_.push_back(type);
  uint32_t crc = crc32c::extend(crc32c::value(contents), &type, 1);
  put_fixed32(file_, crc32c::mask(crc));
  std::string handle;
  put_varint64(handle, offset);
  put_varint64(handle, contents.size());
  return handle;
}

void Builder::flush_data_block() {
  if (data_.empty()) return;
  std::string key = data_.last_key;
  std::string handle = write_block(data_);
  index_.add(key, handle, 1);
}

void Builder::add(std::string_view key, std::string_view value) {
  EMBER_CHECK(!any_ || key > std::string_view(last_key_), Internal, "[table] keys out of order: '",
              key, "' after '", last_key_, "'");
  any_ = true;
  last_key_.assign(key);
  data_.add(key, value, restart_interval_);
  if (data_.data.size() >= block_size_) flush_data_block();
}

std::string Builder::finish() {
  flush_data_block();
  Block meta;
  std::string meta_handle = write_block(meta);
  std::string index_handle = write_block(index_);
  std::string footer = meta_handle + index_handle;
  footer.resize(40, '\0');
  put_fixed32(footer, static_cast<uint32_t>(kMagic & 0xffffffffu));
  put_fixed32(footer, static_cast<uint32_t>(kMagic >> 32));
  file_.append(footer);
  return std::move(file_);
}

// ---- reading ------------------------------------------------------------------------

namespace {

struct Handle {
  uint64_t offset, size;
};

Handle decode_handle(std::string_view in, size_t& pos, const std::string& file) {
  Handle h;
  if (!get_varint64(in, pos, h.offset) || !get_varint64(in, pos, h.size))
    corrupt(file, "bad block handle");
  return h;
}

// The checked contents of a block (without trailer).
std::string_view block_contents(std::string_view bytes, Handle h, const std::string& file) {
  if (h.offset > bytes.size() || h.size > bytes.size() - h.offset ||
      kTrailerSize > bytes.size() - h.offset - h.size)
    corrupt(file, "block handle out of range");
  std::string_view contents = bytes.substr(h.offset, h.size);
  const char* trailer = bytes.data() + h.offset + h.size;
  uint32_t crc = crc32c::extend(crc32c::value(contents), trailer, 1);
  if (crc32c::unmask(get_fixed32(trailer + 1)) != crc) corrupt(file, "block checksum mismatch");
  if (trailer[0] != 0)
    throw Unimplemented(detail::str_cat("[checkpoint] ", file, ": compressed index blocks (type ",
                                        static_cast<int>(trailer[0]), ") are not supported"));
  return contents;
}

void parse_block(std::string_view block, const std::string& file,
                 std::vector<std::pair<std::string, std::string>>& out) {
  if (block.size() < 4) corrupt(file, "block too short");
  uint32_t num_restarts = get_fixed32(block.data() + block.size() - 4);
  if (num_restarts == 0 || num_restarts > (block.size() - 4) / 4)
    corrupt(file, "bad restart count");
  size_t limit = block.size() - 4 - 4 * static_cast<size_t>(num_restarts);
  std::string_view entries = block.substr(0, limit);
  std::string key;
  size_t pos = 0;
  while (pos < entries.size()) {
    uint64_t shared, non_shared, value_len;
    if (!get_varint64(entries, pos, shared) || !get_varint64(entries, pos, non_shared) ||
        !get_varint64(entries, pos, value_len))
      corrupt(file, "bad entry header");
    if (shared > key.size() || non_shared > entries.size() - pos ||
        value_len > entries.size() - pos - non_shared)
      corrupt(file, "entry out of range");
    key.resize(shared);
    key.append(entries.substr(pos, non_shared));
    pos += non_shared;
    out.emplace_back(key, std::string(entries.substr(pos, value_len)));
    pos += value_len;
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_all(std::string_view bytes,
                                                          const std::string& file) {
  if (bytes.size() < kFooterSize) corrupt(file, "file too short for a table footer");
  std::string_view footer = bytes.substr(bytes.size() - kFooterSize);
  uint64_t magic = get_fixed32(footer.data() + 40) |
                   (static_cast<uint64_t>(get_fixed32(footer.data() + 44)) << 32);
  if (magic != kMagic) corrupt(file, "bad magic number");
  size_t pos = 0;
  decode_handle(footer, pos, file);  // metaindex: never read, as TensorFlow
  Handle index = decode_handle(footer, pos, file);
  std::string_view data = bytes.substr(0, bytes.size() - kFooterSize);
  std::vector<std::pair<std::string, std::string>> index_entries, out;
  parse_block(block_contents(data, index, file), file, index_entries);
  for (const auto& [sep, handle_bytes] : index_entries) {
    size_t hp = 0;
    Handle h = decode_handle(handle_bytes, hp, file);
    parse_block(block_contents(data, h, file), file, out);
  }
  for (size_t i = 1; i < out.size(); ++i)
    if (!(out[i - 1].first < out[i].first)) corrupt(file, "keys out of order");
  return out;
}

}  // namespace ember::table
