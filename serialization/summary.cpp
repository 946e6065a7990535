// The Event and Summary messages are encoded by hand (a handful of fields:
// field numbers from TensorFlow's event.proto and summary.proto).
#include "serialization/summary.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "serialization/crc32c.h"

namespace ember {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void varint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
}
void tag(std::string& s, int field, int wire) { varint(s, (static_cast<uint64_t>(field) << 3) | wire); }
template <typename T>
void fixed(std::string& s, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts, as protobuf's wire format
  s.append(b, sizeof(T));
}
void bytes(std::string& s, int field, const std::string& v) {
  tag(s, field, 2);
  varint(s, v.size());
  s += v;
}

// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
std::string event(double wall_time, int64_t step, const std::string* file_version, const std::string* summary) {
  std::string e;
  tag(e, 1, 1);
  fixed(e, wall_time);
  if (step != 0) {
    tag(e, 2, 0);
    varint(e, static_cast<uint64_t>(step));
  }
  if (file_version) bytes(e, 3, *file_version);
  if (summary) bytes(e, 5, *summary);
  return e;
}

}  // namespace

SummaryWriter::SummaryWriter(const std::string& logdir) {
  std::error_code ec;
  std::filesystem::create_directories(logdir, ec);
  EMBER_CHECK(!ec, FailedPrecondition, "[SummaryWriter] cannot create ", logdir, ": ", ec.message());
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  path_ = logdir + "/events.out.tfevents." + std::to_string(static_cast<int64_t>(now_seconds())) + "." +
          host + "." + std::to_string(::getpid());
  out_.open(path_, std::ios::binary | std::ios::trunc);
  EMBER_CHECK(out_.good(), FailedPrecondition, "[SummaryWriter] cannot create ", path_);
  std::string version = "brain.Event:2";
  write_record(event(now_seconds(), 0, &version, nullptr));
  flush();
}

SummaryWriter::~SummaryWriter() {
  std::lock_guard<std::mutex> lock(mu_);
  out_.flush();
}

void SummaryWriter::write_record(const std::string& data) {
  std::string header;
  fixed(header, static_cast<uint64_t>(data.size()));
  uint32_t len_crc = crc32c::mask(crc32c::value(header));
  uint32_t data_crc = crc32c::mask(crc32c::value(data));
  std::string rec = header;
  fixed(rec, len_crc);
  rec += data;
  fixed(rec, data_crc);
  out_.write(rec.data(), static_cast<std::streamsize>(rec.size()));
  EMBER_CHECK(out_.good(), DataLoss, "[SummaryWriter] cannot write ", path_);
}

void SummaryWriter::scalar(const std::string& name, double value, int64_t step) {
  // Summary { repeated Value value = 1; } Value { string tag = 1; float simple_value = 2; }
  std::string v;
  bytes(v, 1, name);
  tag(v, 2, 5);
  fixed(v, static_cast<float>(value));
  std::string summary;
  bytes(summary, 1, v);
  std::lock_guard<std::mutex> lock(mu_);
  write_record(event(now_seconds(), step, nullptr, &summary));
}

void SummaryWriter::flush() {
  out_.flush();
  EMBER_CHECK(out_.good(), DataLoss, "[SummaryWriter] cannot write ", path_);
}

}  // namespace ember
