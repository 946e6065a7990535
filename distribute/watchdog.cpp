// The watchdog of asynchronous collectives (watchdog.h).
#include "distribute/watchdog.h"

#include <exception>
#include <utility>

#include "core/error.h"

namespace ember::distribute {

Watchdog::Watchdog(std::function<std::optional<std::string>()> async_error,
                   std::function<void(const std::string&)> on_failure, std::chrono::milliseconds poll)
    : async_error_(std::move(async_error)), on_failure_(std::move(on_failure)), poll_(poll) {
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  if (failed_) return;  // (the job is going down: what was queued stays as it is)
  for (Item& item : items_)
    if (item.release) item.release();
}

void Watchdog::watch(std::string what, double timeout_seconds, std::function<bool()> done,
                     std::function<void()> release) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout_seconds));
  std::lock_guard lock(mu_);
  items_.push_back({std::move(what), timeout_seconds, deadline, std::move(done), std::move(release)});
}

size_t Watchdog::pending() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

bool Watchdog::drain() {
  std::unique_lock lock(mu_);
  drained_.wait(lock, [&] { return items_.empty() || failed_ || stopping_; });
  return items_.empty();
}

bool Watchdog::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

std::optional<std::string> Watchdog::poll_once() {
  if (async_error_)
    if (std::optional<std::string> e = async_error_()) return detail::str_cat("the transport reported an error: ", *e);
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  for (auto it = items_.begin(); it != items_.end();) {
    bool done = false;
    try {
      done = it->done();
    } catch (const std::exception& e) {
      return detail::str_cat("the ", it->what, " failed: ", e.what());
    }
    if (done) {
      if (it->release) it->release();
      it = items_.erase(it);
      if (items_.empty()) drained_.notify_all();
    } else if (now >= it->deadline) {
      return detail::str_cat("the ", it->what, " did not complete in ", it->timeout_seconds,
                             " s: a rank has failed, exited or called another collective");
    } else {
      ++it;
    }
  }
  return std::nullopt;
}

void Watchdog::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, poll_, [&] { return stopping_; })) return;
    }
    if (std::optional<std::string> failure = poll_once()) {
      {
        std::lock_guard lock(mu_);
        failed_ = true;
      }
      drained_.notify_all();
      on_failure_(*failure);
      return;
    }
  }
}

}  // namespace ember::distribute
