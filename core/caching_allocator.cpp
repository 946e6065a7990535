#include "core/caching_allocator.h"

#include "core/error.h"

namespace ember {

size_t CachingAllocator::bucket(size_t bytes) {
  constexpr size_t kSmallest = 512, kSmallLimit = size_t{1} << 20, kLargeStep = size_t{2} << 20;
  if (bytes <= kSmallest) return kSmallest;
  if (bytes <= kSmallLimit) {
    size_t s = kSmallest;
    while (s < bytes) s <<= 1;
    return s;
  }
  return (bytes + kLargeStep - 1) / kLargeStep * kLargeStep;
}

CachingAllocator::~CachingAllocator() { empty_cache(); }

void* CachingAllocator::allocate(size_t bytes) {
  size_t size = bucket(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= size;
      in_use_.fetch_add(size, std::memory_order_relaxed);
      return p;
    }
  }
  void* p;
  try {
    p = backing_->allocate(size);
  } catch (const ResourceExhausted&) {
    if (bytes_cached() == 0) throw;
    empty_cache();  // the cached blocks go back, then one more try
    p = backing_->allocate(size);
  }
  in_use_.fetch_add(size, std::memory_order_relaxed);
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t bytes) noexcept {
  size_t size = bucket(bytes);
  in_use_.fetch_sub(size, std::memory_order_relaxed);
  try {
    std::lock_guard<std::mutex> lock(mu_);
    free_[size].push_back(ptr);
    cached_ += size;
  } catch (...) {  // no memory for the list itself: give the block back instead
    backing_->deallocate(ptr, size);
  }
}

void CachingAllocator::empty_cache() {
  std::unordered_map<size_t, std::vector<void*>> blocks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    blocks.swap(free_);
    cached_ = 0;
  }
  for (auto& [size, list] : blocks)
    for (void* p : list) backing_->deallocate(p, size);
  backing_->empty_cache();
}

size_t CachingAllocator::bytes_cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

}  // namespace ember
