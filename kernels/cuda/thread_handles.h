// One library handle (cuBLAS, cuDNN) per thread and device. A handle
// carries the stream its calls run on, and cuDNN forbids using one handle
// from two threads at once: a handle shared between threads lets one
// thread's call (an eager GEMM) run on another's stream (a CUDA graph
// being captured). When a thread ends, its handles go back to a pool for
// the next thread (a data pipeline's threads come and go); none is ever
// destroyed, as at process exit the driver may be torn down first.
#pragma once

#include <mutex>
#include <vector>

#include "core/cuda_runtime.h"

namespace ember::cuda {

/// This thread's handle on `device`, made by `Create(device)` or taken from
/// the pool. The caller sets its stream before each use.
template <typename H, H (*Create)(int device)>
H thread_handle(int device) {
  struct Pool {
    std::mutex mu;
    std::vector<std::vector<H>> free;  // by device
  };
  static Pool* pool = new Pool();  // never destroyed: threads end after static destructors run
  struct Lease {
    std::vector<H> by_device;
    ~Lease() {
      std::lock_guard<std::mutex> lock(pool->mu);
      for (size_t d = 0; d < by_device.size(); ++d)
        if (by_device[d]) pool->free[d].push_back(by_device[d]);
    }
  };
  thread_local Lease lease;
  const auto d = static_cast<size_t>(device);
  if (lease.by_device.empty()) lease.by_device.resize(static_cast<size_t>(device_count()), nullptr);
  H& h = lease.by_device.at(d);
  if (!h) {
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      if (pool->free.size() < lease.by_device.size()) pool->free.resize(lease.by_device.size());
      if (!pool->free[d].empty()) {
        h = pool->free[d].back();
        pool->free[d].pop_back();
      }
    }
    if (!h) h = Create(device);
  }
  return h;
}

}  // namespace ember::cuda
