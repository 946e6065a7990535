#include "core/allocator.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include <limits>
#include <map>
#include <mutex>
#include <vector>
#include <new>

#include "core/context.h"
#include "core/cuda_runtime.h"
#include "core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define EMBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_ASAN 1
#endif
#endif

namespace ember {
namespace {

#ifdef EMBER_ASAN
constexpr bool kCaching = false;  // every free reaches ASan, so use-after-free is caught
#else
constexpr bool kCaching = true;
#endif

constexpr size_t kAlignment = 64;
constexpr size_t kSmallLimit = size_t{1} << 20;       // per-thread size classes up to 1 MiB
constexpr size_t kPerClassCached = 32;                // blocks kept per size class per thread
constexpr size_t kPerClassShared = 64;                // and in the pool all threads share
constexpr size_t kLargeCacheBytes = size_t{2} << 30;  // at most 2 GiB of large blocks kept

void* aligned_malloc(size_t bytes) {
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (!p) {
    throw ResourceExhausted(detail::str_cat("[", context().api ? context().api : "cpu allocator",
                                            "] out of memory allocating ", bytes, " bytes on the cpu"));
  }
  return p;
}

// Power-of-two size classes from 64 B: class c holds blocks of 64 << c bytes.
int size_class(size_t bytes) {
  size_t s = kAlignment;
  int c = 0;
  while (s < bytes) {
    s <<= 1;
    ++c;
  }
  return c;
}
constexpr int kNumClasses = 15;  // 64 B .. 1 MiB

// Set when this thread's cache has been destroyed (a plain bool needs no
// destructor, so it stays readable): a tensor a later-destroyed
// thread-local or static object holds is then freed past the cache.
thread_local bool thread_cache_gone = false;

struct ThreadCache {
  void* blocks[kNumClasses][kPerClassCached];
  size_t count[kNumClasses] = {};
  ~ThreadCache() {
    for (int c = 0; c < kNumClasses; ++c)
      for (size_t i = 0; i < count[c]; ++i) std::free(blocks[c][i]);
    thread_cache_gone = true;
  }
};

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    if (bytes > max_allocation()) [[unlikely]]
      throw ResourceExhausted(detail::str_cat("[", context().api ? context().api : "cpu allocator",
                                              "] cannot allocate ", bytes, " bytes on the cpu: ",
                                              "the machine has ", max_allocation(), " bytes of memory"));
    void* p = allocate_block(bytes);
    // Counted only once the block exists, so a failed allocation leaves the
    // count as it was.
    in_use_.fetch_add(bytes, std::memory_order_relaxed);
    return p;
  }

  void deallocate(void* ptr, size_t bytes) noexcept override {
    in_use_.fetch_sub(bytes, std::memory_order_relaxed);
    if constexpr (!kCaching) {
      std::free(ptr);
      return;
    }
    if (bytes <= kSmallLimit) {
      int c = size_class(bytes);
      if (ThreadCache* tc = cache(); tc && tc->count[c] < kPerClassCached) {
        tc->blocks[c][tc->count[c]++] = ptr;
        return;
      }
      // A full thread cache passes blocks to the shared pool, where the
      // thread that allocates them (a data pipeline's, for one) finds them.
      std::lock_guard<std::mutex> lock(mu_);
      if (shared_[c].size() < kPerClassShared) {
        shared_[c].push_back(ptr);
        return;
      }
      std::free(ptr);
      return;
    }
    size_t rounded = round_large(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    if (large_cached_ + rounded <= kLargeCacheBytes) {
      large_.emplace(rounded, ptr);
      large_cached_ += rounded;
    } else {
      std::free(ptr);
    }
  }

  Device device() const override { return Device::cpu(); }

  // The largest request worth passing to malloc: the machine's physical
  // memory. Larger ones cannot succeed and, under a sanitizer, abort.
  static size_t max_allocation() {
    static const size_t limit = [] {
      long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
      return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page)
                                   : std::numeric_limits<size_t>::max() / 2;
    }();
    return limit;
  }
  size_t bytes_in_use() const override { return in_use_.load(std::memory_order_relaxed); }

  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& pool : shared_) {
      for (void* p : pool) std::free(p);
      pool.clear();
    }
    for (auto& [size, p] : large_) std::free(p);
    large_.clear();
    large_cached_ = 0;
  }

 private:
  void* allocate_block(size_t bytes) {
    if constexpr (!kCaching)
      return aligned_malloc((bytes + kAlignment - 1) / kAlignment * kAlignment);
    if (bytes <= kSmallLimit) {
      int c = size_class(bytes);
      if (ThreadCache* tc = cache(); tc && tc->count[c]) return tc->blocks[c][--tc->count[c]];
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!shared_[c].empty()) {
          void* p = shared_[c].back();
          shared_[c].pop_back();
          return p;
        }
      }
      return aligned_malloc(kAlignment << c);
    }
    size_t rounded = round_large(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = large_.find(rounded);
      if (it != large_.end()) {
        void* p = it->second;
        large_.erase(it);
        large_cached_ -= rounded;
        return p;
      }
    }
    return aligned_malloc(rounded);
  }

  static size_t round_large(size_t bytes) { return (bytes + 4095) / 4096 * 4096; }
  // This thread's cache; null once it has been destroyed (at thread exit).
  static ThreadCache* cache() {
    if (thread_cache_gone) [[unlikely]]
      return nullptr;
    thread_local ThreadCache tc;
    return &tc;
  }

  std::atomic<size_t> in_use_{0};
  std::mutex mu_;
  std::multimap<size_t, void*> large_;
  size_t large_cached_ = 0;
  std::vector<void*> shared_[kNumClasses];  // blocks freed past a full thread cache
};

}  // namespace

Allocator* cpu_allocator() {
  static CpuAllocator* alloc = new CpuAllocator();  // never destroyed: outlives every tensor
  return alloc;
}

Allocator* allocator_for(Device device) {
  if (device.is_cpu()) return cpu_allocator();
  return cuda::allocator(device.index());
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  cuda::copy(dst, dst_device, src, src_device, bytes);
}

}  // namespace ember
