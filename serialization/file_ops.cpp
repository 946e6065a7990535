#include "serialization/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"

namespace ember::files {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const char* what, const std::string& path, int err) {
  std::string msg = detail::str_cat("[checkpoint] cannot ", what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) throw NotFound(msg);
  if (err == ENOSPC || err == EDQUOT || err == ENOMEM) throw ResourceExhausted(msg);
  if (err == ENAMETOOLONG || err == EACCES || err == EPERM || err == ENOTDIR || err == EISDIR ||
      err == EROFS || err == ELOOP)
    throw FailedPrecondition(msg);
  throw DataLoss(msg);
}

long crash_at() {
  static const long n = [] {
    const char* v = std::getenv("EMBER_CRASH_AT");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  return n;
}

}  // namespace

std::string temp_suffix(const char* marker) {
  static thread_local std::mt19937_64 gen(std::random_device{}());
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s-%ld-%016llx", marker, static_cast<long>(::getpid()),
                static_cast<unsigned long long>(gen()));
  return buf;
}

bool left_by_dead_writer(const std::string& file, const char* marker) {
  const std::string tag = std::string(marker) + "-";
  const size_t at = file.find(tag);
  if (at == std::string::npos) return true;  // no writer's id: an older ember's leftover
  const char* digits = file.c_str() + at + tag.size();
  char* end = nullptr;
  const long pid = std::strtol(digits, &end, 10);
  if (end == digits || *end != '-' || pid <= 0) return true;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

void crash_point(const char* /*what*/, const std::string& /*path*/) {
  static std::atomic<long> count{0};
  long at = crash_at();
  if (at > 0 && count.fetch_add(1) + 1 == at) ::kill(::getpid(), SIGKILL);
}

void sync_fd(int fd, const std::string& path) {
  crash_point("fsync", path);
  if (::fsync(fd) != 0) fail("sync", path, errno);
}

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open directory", dir, errno);
  crash_point("fsync", dir);
  int rc = ::fsync(fd), err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) fail("sync directory", dir, err);  // EINVAL: not syncable (tmpfs)
}

void rename_file(const std::string& from, const std::string& to) {
  crash_point("rename", to);
  if (std::rename(from.c_str(), to.c_str()) != 0)
    fail("rename", detail::str_cat(from, " to ", to), errno);
  sync_dir(dirname(to));
}

void remove_file(const std::string& path) {
  crash_point("unlink", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("remove", path, errno);
}

void write_atomically(const std::string& file, const std::string& contents) {
  std::string tmp = file + temp_suffix(".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("create", tmp, errno);
  try {
    const char* p = contents.data();
    size_t n = contents.size();
    while (n) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("write", tmp, errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    sync_fd(fd, tmp);
    ::close(fd);
    fd = -1;
    rename_file(tmp, file);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail("look up", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) fail("read", path, EISDIR);
    throw FailedPrecondition(detail::str_cat("[checkpoint] cannot read ", path, ": not a regular file"));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail("read", path, err);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

bool exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  fail("look up", path, errno);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec), end;
  if (ec) fail("list", dir, ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) fail("list", dir, ec.value());
    names.push_back(it->path().filename().string());
  }
  return names;
}

void create_dirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("create directory", dir, ec.value());
}

std::string dirname(const std::string& path) {
  fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

}  // namespace ember::files
