#include "serialization/bundle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <utility>
#include <sstream>

#include "core/error.h"
#include "serialization/crc32c.h"
#include "serialization/file_ops.h"
#include "serialization/table.h"
#include "tensor_bundle.pb.h"

namespace ember::bundle {

namespace {

std::string shard_name(const std::string& prefix, int shard, int num_shards) {
  char buf[48];
  std::snprintf(buf, sizeof buf, ".data-%05d-of-%05d", shard, num_shards);
  return prefix + buf;
}

[[noreturn]] void io_error(const std::string& what, const std::string& file) {
  throw DataLoss(detail::str_cat("[checkpoint] ", what, " ", file, ": ", std::strerror(errno)));
}

void write_all(int fd, const void* p, size_t n, const std::string& file) {
  const char* c = static_cast<const char*>(p);
  while (n) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error("cannot write", file);
    }
    c += w;
    n -= static_cast<size_t>(w);
  }
}

// TensorFlow's DataType numbers of ember's dtypes (FORMATS.md); DT_STRING
// (7) is handled apart, as string tensors have no ember dtype.
constexpr std::pair<DType, int> kTfCodes[] = {
    {DType::Float32, 1}, {DType::Float64, 2}, {DType::Int32, 3},     {DType::UInt8, 4},
    {DType::Int64, 9},   {DType::Bool, 10},   {DType::BFloat16, 14}, {DType::Float16, 19}};
constexpr int kTfString = 7;

DType from_tf(int t, bool& is_string, bool& known) {
  is_string = t == kTfString;
  known = is_string;
  for (auto [dtype, code] : kTfCodes)
    if (code == t) {
      known = true;
      return dtype;
    }
  return float32;
}

void put_fixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// CRC input for a string length: 4 bytes LE, or 8 when it does not fit.
void crc_length(uint32_t& crc, uint64_t len) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((len >> (8 * i)) & 0xFF);
  crc = crc32c::extend(crc, b, len > 0xffffffffull ? 8 : 4);
}

}  // namespace

int tf_dtype(DType t) {
  for (auto [dtype, code] : kTfCodes)
    if (dtype == t) return code;
  throw InvalidArgument(detail::str_cat("[checkpoint] dtype ", dtype_name(t), " cannot be saved"));
}

bool from_tf_dtype(int t, DType& out) {
  if (t == 20 || t == 21) {
    out = t == 20 ? resource : variant;
    return true;
  }
  bool is_string = false, known = false;
  out = from_tf(t, is_string, known);
  return known && !is_string;
}

std::string tf_dtype_name(int t) {
  static const std::map<int, std::string> names = {
      {1, "float32"},   {2, "float64"}, {3, "int32"},       {4, "uint8"},    {5, "int16"},
      {6, "int8"},      {7, "string"},  {8, "complex64"},   {9, "int64"},    {10, "bool"},
      {14, "bfloat16"}, {17, "uint16"}, {18, "complex128"}, {19, "float16"}, {20, "resource"},
      {21, "variant"},  {22, "uint32"}, {23, "uint64"}};
  auto it = names.find(t);
  return it == names.end() ? "DataType(" + std::to_string(t) + ")" : it->second;
}

std::string encode_strings(const std::vector<std::string>& strings, uint32_t* entry_crc) {
  std::string out;
  uint32_t len_crc = 0;
  for (const auto& s : strings) {
    table::put_varint64(out, s.size());
    crc_length(len_crc, s.size());
  }
  std::string stored;
  put_fixed32(stored, crc32c::mask(len_crc));
  out += stored;
  uint32_t crc = crc32c::extend(len_crc, stored.data(), 4);
  for (const auto& s : strings) {
    out += s;
    crc = crc32c::extend(crc, s.data(), s.size());
  }
  *entry_crc = crc32c::mask(crc);
  return out;
}

// ---- Writer ------------------------------------------------------------------------------

Writer::Writer(std::string prefix) : prefix_(std::move(prefix)) {
  // As TensorFlow: the prefix's directory is created when missing.
  if (std::filesystem::path(prefix_).has_parent_path()) files::create_dirs(files::dirname(prefix_));
  std::string suffix = files::temp_suffix(".tempstate");
  tmp_data_ = shard_name(prefix_, 0, 1) + suffix;
  tmp_index_ = prefix_ + ".index" + suffix;
  fd_ = ::open(tmp_data_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error("cannot create", tmp_data_);
}

Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_) {  // an abandoned write leaves nothing behind
    std::remove(tmp_data_.c_str());
    std::remove(tmp_index_.c_str());
  }
}

void Writer::write(const void* p, size_t n) { write_all(fd_, p, n, tmp_data_); }

void Writer::add(const std::string& key, const SavedTensor& t) {
  EMBER_CHECK(!key.empty() && !entries_.count(key), InvalidArgument,
              "[checkpoint] duplicate or empty key '", key, "'");
  tensorflow::BundleEntryProto e;
  e.set_dtype(static_cast<tensorflow::DataType>(t.is_string ? kTfString : tf_dtype(t.dtype)));
  auto* shape = e.mutable_shape();
  for (int64_t d : t.shape.dims()) shape->add_dim()->set_size(d);
  uint32_t crc;
  if (t.is_string) {
    EMBER_CHECK(static_cast<int64_t>(t.strings.size()) == t.shape.num_elements(), InvalidArgument,
                "[checkpoint] ", key, ": ", t.strings.size(), " strings for shape ",
                t.shape.to_string());
    std::string bytes = encode_strings(t.strings, &crc);
    write(bytes.data(), bytes.size());
    e.set_size(static_cast<int64_t>(bytes.size()));
  } else {
    EMBER_CHECK(t.bytes.size() == static_cast<size_t>(t.shape.num_elements()) * dtype_size(t.dtype),
                InvalidArgument, "[checkpoint] ", key, ": ", t.bytes.size(), " bytes for ",
                dtype_name(t.dtype), " ", t.shape.to_string());
    write(t.bytes.data(), t.bytes.size());
    crc = crc32c::mask(crc32c::value(t.bytes));
    e.set_size(static_cast<int64_t>(t.bytes.size()));
  }
  e.set_offset(static_cast<int64_t>(offset_));
  e.set_crc32c(crc);
  offset_ += static_cast<uint64_t>(e.size());
  entries_[key] = e.SerializeAsString();
}

void Writer::finish() {
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(1);
  header.mutable_version()->set_producer(1);
  table::Builder builder;
  builder.add("", header.SerializeAsString());
  for (const auto& [key, value] : entries_) builder.add(key, value);
  std::string index = builder.finish();
  files::sync_fd(fd_, tmp_data_);
  ::close(fd_);
  fd_ = -1;
  int ifd = ::open(tmp_index_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (ifd < 0) io_error("cannot create", tmp_index_);
  struct CloseOnExit {
    int fd;
    ~CloseOnExit() { ::close(fd); }
  } closer{ifd};
  write_all(ifd, index.data(), index.size(), tmp_index_);
  files::sync_fd(ifd, tmp_index_);
  // The index appears last: a prefix whose index exists is complete. When
  // the prefix is overwritten, its old index goes first, so that no instant
  // pairs the old index with the new data.
  files::remove_file(prefix_ + ".index");
  files::rename_file(tmp_data_, shard_name(prefix_, 0, 1));
  files::rename_file(tmp_index_, prefix_ + ".index");
  finished_ = true;
}

// ---- Reader ------------------------------------------------------------------------------

Reader::Reader(std::string prefix) : prefix_(std::move(prefix)) {
  std::string index_file = prefix_ + ".index";
  std::string bytes;
  try {
    bytes = files::read_file(index_file);  // (a directory or a device there is an ember error too)
  } catch (const NotFound&) {
    throw NotFound(detail::str_cat("[checkpoint] ", index_file, " not found (is '", prefix_,
                                   "' a checkpoint?)"));
  }
  auto entries = table::read_all(bytes, index_file);
  auto corrupt = [&](const std::string& key, const std::string& what) {
    throw DataLoss(
        detail::str_cat("[checkpoint] ", index_file, ": corrupted entry '", key, "': ", what));
  };
  if (entries.empty() || !entries[0].first.empty()) corrupt("", "missing bundle header");
  tensorflow::BundleHeaderProto header;
  if (!header.ParseFromString(entries[0].second)) corrupt("", "unparseable bundle header");
  if (header.num_shards() < 1 || header.num_shards() > 100000) corrupt("", "bad shard count");
  if (header.endianness() != tensorflow::BundleHeaderProto::LITTLE)
    throw Unimplemented(
        detail::str_cat("[checkpoint] ", index_file, ": big-endian bundles are not supported"));
  if (header.version().producer() < 0 || header.version().min_consumer() > 1)
    corrupt("", detail::str_cat("unsupported version (producer ", header.version().producer(),
                                ", min_consumer ", header.version().min_consumer(), ")"));
  num_shards_ = header.num_shards();
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    tensorflow::BundleEntryProto e;
    if (!e.ParseFromString(value)) corrupt(key, "unparseable entry");
    if (e.slices_size() > 0)
      throw Unimplemented(detail::str_cat("[checkpoint] ", key,
                                          ": partitioned (sliced) tensors are not supported"));
    EntryInfo info;
    bool known;
    info.dtype = from_tf(e.dtype(), info.is_string, known);
    info.tf_dtype = e.dtype();
    if (!known) corrupt(key, "unsupported dtype " + tf_dtype_name(e.dtype()));
    if (e.shape().unknown_rank()) corrupt(key, "unknown rank");
    Dims dims;
    for (const auto& d : e.shape().dim()) {
      if (d.size() < 0) corrupt(key, "negative dimension");
      dims.push_back(d.size());
    }
    info.shape = TensorShape(dims);
    if (e.shard_id() < 0 || e.shard_id() >= num_shards_) corrupt(key, "shard out of range");
    if (e.offset() < 0 || e.size() < 0) corrupt(key, "negative offset or size");
    info.shard = e.shard_id();
    info.offset = static_cast<uint64_t>(e.offset());
    info.size = static_cast<uint64_t>(e.size());
    info.crc32c = e.crc32c();
    if (!info.is_string) {
      // Guard the multiplication against hostile shapes before comparing.
      uint64_t n = 1;
      for (int64_t d : dims) {
        if (d != 0 && n > (uint64_t{1} << 62) / static_cast<uint64_t>(d))
          corrupt(key, "shape too large");
        n *= static_cast<uint64_t>(d);
      }
      if (n * dtype_size(info.dtype) != info.size)
        corrupt(key, detail::str_cat("size ", info.size, " does not match ", dtype_name(info.dtype),
                                     " ", info.shape.to_string()));
    }
    entries_[key] = info;
  }
  fds_.assign(static_cast<size_t>(num_shards_), -1);
  sizes_.assign(static_cast<size_t>(num_shards_), 0);
}

Reader::~Reader() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

std::string Reader::data_file(int shard) const { return shard_name(prefix_, shard, num_shards_); }

const EntryInfo& Reader::entry(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end())
    throw NotFound(detail::str_cat("Key ", key, " not found in checkpoint ", prefix_));
  return it->second;
}

std::vector<std::string> Reader::keys() const {
  std::vector<std::string> k;
  for (const auto& [key, e] : entries_) k.push_back(key);
  return k;
}

std::vector<std::string> Reader::keys_with_prefix(const std::string& prefix) const {
  std::vector<std::string> k;
  for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it)
    k.push_back(it->first);
  return k;
}

std::pair<int, uint64_t> Reader::open_shard(size_t shard) const {
  std::lock_guard<std::mutex> lock(open_mu_);
  if (fds_[shard] < 0) {
    std::string file = data_file(static_cast<int>(shard));
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw NotFound(detail::str_cat("[checkpoint] ", file, " not found: ", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      throw DataLoss(detail::str_cat("[checkpoint] cannot stat ", file, ": ", std::strerror(err)));
    }
    fds_[shard] = fd;
    sizes_[shard] = static_cast<uint64_t>(st.st_size);
  }
  return {fds_[shard], sizes_[shard]};
}

SavedTensor Reader::read(const std::string& key) const {
  const EntryInfo& e = entry(key);
  std::string file = data_file(e.shard);
  const auto [fd, file_size] = open_shard(static_cast<size_t>(e.shard));
  auto loss = [&](const std::string& what) {
    throw DataLoss(detail::str_cat("[checkpoint] ", file, ": tensor '", key, "': ", what));
  };
  if (e.offset > file_size || e.size > file_size - e.offset)
    loss(detail::str_cat("bytes [", e.offset, ", ", e.offset + e.size,
                         ") lie beyond the end of the file (", file_size, " bytes)"));
  std::string bytes(e.size, '\0');
  size_t done = 0;
  while (done < e.size) {
    ssize_t r = ::pread(fd, bytes.data() + done, e.size - done,
                        static_cast<off_t>(e.offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) loss("read failed");
    done += static_cast<size_t>(r);
  }
  SavedTensor t;
  t.is_string = e.is_string;
  t.dtype = e.dtype;
  t.shape = e.shape;
  if (!e.is_string) {
    if (crc32c::mask(crc32c::value(bytes)) != e.crc32c) loss("Checksum does not match");
    t.bytes = std::move(bytes);
    return t;
  }
  // Strings: lengths, their masked CRC, then the bytes.
  int64_t n = e.shape.num_elements();
  if (n < 0 || static_cast<uint64_t>(n) > bytes.size()) loss("string count exceeds the entry");
  std::vector<uint64_t> lens;
  size_t pos = 0;
  uint32_t len_crc = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t len;
    if (!table::get_varint64(bytes, pos, len)) loss("truncated string lengths");
    lens.push_back(len);
    crc_length(len_crc, len);
  }
  if (bytes.size() - pos < 4) loss("truncated string checksum");
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i)
    stored |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[pos + static_cast<size_t>(i)]))
              << (8 * i);
  if (crc32c::unmask(stored) != len_crc) loss("Checksum does not match (string lengths)");
  uint32_t crc = crc32c::extend(len_crc, bytes.data() + pos, 4);
  pos += 4;
  for (uint64_t len : lens) {
    if (len > bytes.size() - pos) loss("string runs past the entry");
    t.strings.emplace_back(bytes.data() + pos, len);
    crc = crc32c::extend(crc, bytes.data() + pos, len);
    pos += len;
  }
  if (crc32c::mask(crc) != e.crc32c) loss("Checksum does not match");
  return t;
}

}  // namespace ember::bundle
