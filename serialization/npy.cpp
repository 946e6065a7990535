#include "serialization/npy.h"

#include <algorithm>
#include <cstring>

#include "serialization/file_ops.h"

namespace ember::npy {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct Descr {
  const char* text;
  DType dtype;
};
constexpr Descr kDescrs[] = {{"<f4", float32}, {"<f8", float64}, {"<i4", int32}, {"<i8", int64},
                             {"|u1", uint8},   {"|b1", bool_},   {"<f2", float16}};

// The value of `key` in the header dict: "'descr': '<f4', ..." -> "'<f4'".
std::string field(const std::string& header, const std::string& key, const std::string& what) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) throw DataLoss(what + ": the header has no '" + key + "'");
  at = header.find(':', at);
  if (at == std::string::npos) throw DataLoss(what + ": a malformed header");
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  size_t end = at;
  if (at < header.size() && header[at] == '(') {
    end = header.find(')', at);
    if (end == std::string::npos) throw DataLoss(what + ": a malformed shape");
    return header.substr(at, end - at + 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(at, end - at);
}

}  // namespace

Tensor parse(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) throw DataLoss(what + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataLoss(what + ": a truncated header");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + static_cast<size_t>(i)])) << (8 * i);
    start = 12;
  } else {
    throw Unimplemented(what + ": .npy format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - start) throw DataLoss(what + ": a truncated header");
  const std::string header = bytes.substr(start, header_len);
  std::string descr = field(header, "descr", what);
  if (descr.size() < 2 || descr.front() != '\'' || descr.back() != '\'') throw DataLoss(what + ": a malformed descr");
  descr = descr.substr(1, descr.size() - 2);
  if (descr == "=f4" || descr == "=f8" || descr == "=i4" || descr == "=i8" || descr == "=f2") descr[0] = '<';
  const Descr* d = nullptr;
  for (const Descr& k : kDescrs)
    if (descr == k.text) d = &k;
  if (!d) throw Unimplemented(what + ": arrays of dtype '" + descr + "' (ember reads <f2 <f4 <f8 <i4 <i8 |u1 |b1)");
  if (field(header, "fortran_order", what).find("True") != std::string::npos)
    throw Unimplemented(what + ": a Fortran-order array (save it with np.ascontiguousarray)");
  std::string shape_text = field(header, "shape", what);
  std::vector<int64_t> dims;
  std::string num;
  for (char c : shape_text) {
    if (c >= '0' && c <= '9') {
      num += c;
    } else if (!num.empty()) {
      if (num.size() > 15) throw DataLoss(what + ": a dimension too large");
      dims.push_back(std::stoll(num));
      num.clear();
    }
  }
  TensorShape shape(dims);
  const size_t data = start + header_len;
  // The element count, never past what the file can hold (no overflow).
  const uint64_t room = (bytes.size() - data) / dtype_size(d->dtype);
  const bool none = std::find(dims.begin(), dims.end(), 0) != dims.end();  // (a (3, 0) array: no bytes)
  uint64_t count = none ? 0 : 1;
  for (int64_t dim : dims) {
    if (!none && count > room / static_cast<uint64_t>(dim))
      throw DataLoss(what + ": holds " + std::to_string(bytes.size() - data) + " data bytes; shape " + shape.to_string() +
                     " needs more");
    count *= static_cast<uint64_t>(dim);
  }
  const auto n = static_cast<int64_t>(count);
  const size_t nbytes = static_cast<size_t>(n) * dtype_size(d->dtype);
  if (bytes.size() - data != nbytes)
    throw DataLoss(what + ": holds " + std::to_string(bytes.size() - data) + " data bytes; shape " + shape.to_string() +
                   " " + std::string(dtype_name(d->dtype)) + " needs " + std::to_string(nbytes));
  Tensor t = Tensor::empty(shape, d->dtype, Device::cpu());
  if (nbytes) std::memcpy(t.raw_data(), bytes.data() + data, nbytes);
  if (d->dtype == bool_) {
    auto* p = static_cast<uint8_t*>(t.raw_data());
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] != 0;
  }
  return t;
}

Tensor read(const std::string& path) { return parse(files::read_file(path), "[npy] " + path); }

void write(const std::string& path, const Tensor& t) {
  const Descr* d = nullptr;
  for (const Descr& k : kDescrs)
    if (k.dtype == t.dtype()) d = &k;
  EMBER_CHECK(d != nullptr, InvalidArgument, "[npy] ", path, ": a ", dtype_name(t.dtype()), " tensor has no .npy form");
  Tensor host = t.to(Device::cpu());
  std::string shape = "(";
  for (int i = 0; i < host.rank(); ++i) shape += std::to_string(host.shape().dim(i)) + (host.rank() == 1 ? "," : i + 1 < host.rank() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '" + std::string(d->text) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts at a multiple of 64, ending in '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>((header.size() >> 8) & 0xFF);
  out += header;
  out.append(static_cast<const char*>(host.raw_data()), host.nbytes());
  files::write_atomically(path, out);
}

}  // namespace ember::npy
