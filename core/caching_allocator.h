// CachingAllocator: keeps freed blocks of a backing allocator for reuse, so
// a steady training step reaches the backing allocator (for CUDA, the
// driver's cudaMallocAsync/cudaFreeAsync) only while its working set grows.
//
// Reusing a block at once is safe only when every use of it is ordered after
// the previous owner's: true for ember's CUDA allocations, since all work on
// a device is queued on its one stream (core/cuda/cuda_runtime.cpp).
//
// Sizes are rounded to buckets (powers of two from 512 B up to 1 MiB, then
// multiples of 2 MiB), so a block serves every request of its bucket. When
// the backing allocator runs out of memory, the cache is emptied into it and
// the request tried once more.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"

namespace ember {

class CachingAllocator final : public Allocator {
 public:
  explicit CachingAllocator(Allocator* backing) : backing_(backing) {}
  ~CachingAllocator() override;

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) noexcept override;
  Device device() const override { return backing_->device(); }
  void empty_cache() override;
  /// Bytes of the blocks handed out (bucket sizes), cached ones excluded.
  size_t bytes_in_use() const override { return in_use_.load(std::memory_order_relaxed); }
  /// Bytes held in the cache.
  size_t bytes_cached() const;

  /// The size a request of `bytes` is served with.
  static size_t bucket(size_t bytes);

 private:
  Allocator* backing_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // bucket size -> blocks
  size_t cached_ = 0;
  std::atomic<size_t> in_use_{0};
};

}  // namespace ember
