// What checkpoint.cpp, checkpoint_restore.cpp and checkpoint_manager.cpp
// share (private to serialization/): the object graph as checkpoints write
// and read it (FORMATS.md §3), and the thread of asynchronous writes.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "state/trackable.h"

namespace ember::detail {

/// The key under which the serialized TrackableObjectGraph is stored.
inline constexpr const char* kObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH";

struct ObjectNode {
  std::shared_ptr<Trackable> obj;
  std::string path;  // escaped local names joined by '/'
};

/// Breadth first from the root, children in tracking order (the root's
/// `attached` dependencies after its own); an object reached again keeps its
/// first (shortest) path. `ids` gets each object's node id.
std::vector<ObjectNode> breadth_first(const std::shared_ptr<Trackable>& root, std::map<const Trackable*, int>& ids,
                                      const std::vector<std::pair<std::string, std::shared_ptr<Trackable>>>& attached = {});

/// "<path>/.ATTRIBUTES/<attr>" (the root's path is empty: "/.ATTRIBUTES/<attr>", as TensorFlow).
std::string attribute_key(const std::string& path, const std::string& escaped_attr);

/// Deletes what a killed save of `name`-N checkpoints left in `dir`: the
/// bundle writer's `*.tempstate*` files and the state file's `checkpoint.tmp*`
/// whose writing process is gone (files::left_by_dead_writer). Returns the
/// temporaries it kept: another live writer's (or this process's) saves in
/// progress.
std::vector<std::string> remove_temporaries(const std::string& dir, const std::string& name);

}  // namespace ember::detail

namespace ember {

// One background thread running a checkpoint's writes in order; at most one
// waits behind the one running (a second save waits for the first).
class AsyncWriter {
 public:
  ~AsyncWriter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }
  void submit(std::function<void()> task) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_ && tasks_.empty(); });  // the previous write first
    rethrow_locked(lock);
    tasks_.push_back(std::move(task));
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    cv_.notify_all();
  }
  void sync() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !busy_ && tasks_.empty(); });
    rethrow_locked(lock);
  }

 private:
  void rethrow_locked(std::unique_lock<std::mutex>&) {
    if (!error_) return;
    std::exception_ptr e = std::exchange(error_, nullptr);
    std::rethrow_exception(e);
  }
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      busy_ = true;
      lock.unlock();
      std::exception_ptr failed;
      try {
        task();
      } catch (...) {
        failed = std::current_exception();
      }
      lock.lock();
      busy_ = false;
      if (failed) error_ = failed;
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace ember
