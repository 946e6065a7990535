// The watchdog of work that completes after its call returns: a GPU
// collective is queued on a CUDA stream and its caller goes on, so no call
// can time out when a peer never joins it (NCCL's kernel then spins
// forever, and so does whatever waits on the stream). The process group
// (process_group.cpp) hands each queued NCCL collective to a Watchdog with
// a probe (its CUDA event's query) and a deadline; a thread polls them, and
// the communicator's asynchronous error, and calls `on_failure` once with
// a message naming the collective, the rank and the timeout: the process
// group aborts the communicator and the job there, as PyTorch's NCCL
// watchdog does, since nothing can be thrown into the code that queued it.
// Nothing here knows CUDA or NCCL, so the logic is tested on the CPU.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ember::distribute {

class Watchdog {
 public:
  /// `async_error`: polled with the items; text when the transport reports
  /// an error of its own (nullopt while all is well). `on_failure`: called
  /// once, on the watchdog's thread, with what failed.
  Watchdog(std::function<std::optional<std::string>()> async_error,
           std::function<void(const std::string&)> on_failure,
           std::chrono::milliseconds poll = std::chrono::milliseconds(100));
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// Watches work described by `what` until `done()` says it completed;
  /// past `timeout_seconds` from now it fails, and so it does when `done()`
  /// throws (the work itself failed). `release` runs once the item is done
  /// (its event destroyed), or at destruction; never after a failure.
  void watch(std::string what, double timeout_seconds, std::function<bool()> done,
             std::function<void()> release = {});
  /// Items still watched.
  size_t pending() const;
  /// Waits until every item completed or one failed (bounded: each has its
  /// deadline); whether all completed. A clean exit drains before MPI ends.
  bool drain();
  /// Whether on_failure has been called.
  bool failed() const;

 private:
  struct Item {
    std::string what;
    double timeout_seconds;
    std::chrono::steady_clock::time_point deadline;
    std::function<bool()> done;
    std::function<void()> release;
  };
  void run();
  // One poll: completed items released; the failure's text, if any.
  std::optional<std::string> poll_once();

  std::function<std::optional<std::string>()> async_error_;
  std::function<void(const std::string&)> on_failure_;
  std::chrono::milliseconds poll_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the thread to stop
  std::condition_variable drained_;  // wakes drain()
  std::deque<Item> items_;  // in the order queued: the stream completes them in that order
  bool stopping_ = false;
  bool failed_ = false;
  std::thread thread_;
};

}  // namespace ember::distribute
