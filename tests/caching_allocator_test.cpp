// CachingAllocator (the block cache in front of CUDA's pool) against a fake
// backing allocator that counts calls and can run out of memory.
#include <cstdlib>
#include <random>
#include <set>

#include "core/caching_allocator.h"
#include "test_util.h"

namespace ember::test {
namespace {

class FakeBacking final : public Allocator {
 public:
  size_t capacity = SIZE_MAX, used = 0;
  int allocs = 0, frees = 0, empties = 0;
  std::set<void*> live;

  void* allocate(size_t bytes) override {
    if (used + bytes > capacity) throw ResourceExhausted("[fake] out of memory");
    ++allocs;
    used += bytes;
    void* p = std::malloc(bytes);
    live.insert(p);
    return p;
  }
  void deallocate(void* p, size_t bytes) noexcept override {
    ++frees;
    used -= bytes;
    live.erase(p);
    std::free(p);
  }
  Device device() const override { return Device::cpu(); }
  void empty_cache() override { ++empties; }
};

TEST(CachingAllocator, BucketsRoundUp) {
  EXPECT_EQ(CachingAllocator::bucket(1), 512u);
  EXPECT_EQ(CachingAllocator::bucket(512), 512u);
  EXPECT_EQ(CachingAllocator::bucket(513), 1024u);
  EXPECT_EQ(CachingAllocator::bucket(1 << 20), size_t{1} << 20);
  EXPECT_EQ(CachingAllocator::bucket((1 << 20) + 1), size_t{2} << 20);
  EXPECT_EQ(CachingAllocator::bucket((size_t{5} << 20) + 7), size_t{6} << 20);
}

TEST(CachingAllocator, ASteadyLoopReachesTheBackingAllocatorOnce) {
  FakeBacking fake;
  CachingAllocator cache(&fake);
  for (int step = 0; step < 1000; ++step) {
    void* a = cache.allocate(1000);  // same bucket as 1024
    void* b = cache.allocate(1024);
    EXPECT_NE(a, b);
    EXPECT_EQ(cache.bytes_in_use(), 2048u);
    cache.deallocate(a, 1000);
    cache.deallocate(b, 1024);
  }
  EXPECT_EQ(fake.allocs, 2);
  EXPECT_EQ(fake.frees, 0);
  EXPECT_EQ(cache.bytes_in_use(), 0u);
  EXPECT_EQ(cache.bytes_cached(), 2048u);
  cache.empty_cache();
  EXPECT_EQ(fake.frees, 2);
  EXPECT_EQ(fake.empties, 1);
  EXPECT_TRUE(fake.live.empty());
}

TEST(CachingAllocator, OutOfMemoryEmptiesTheCacheAndRetries) {
  FakeBacking fake;
  fake.capacity = size_t{4} << 20;
  CachingAllocator cache(&fake);
  void* a = cache.allocate(size_t{3} << 20);  // a 4 MiB bucket: all of it
  cache.deallocate(a, size_t{3} << 20);       // cached, still held from the backing
  void* b = cache.allocate(size_t{1} << 20);  // another bucket: the backing is full
  EXPECT_EQ(fake.frees, 1);                   // so the cache gave its block back first
  EXPECT_EQ(cache.bytes_cached(), 0u);
  cache.deallocate(b, size_t{1} << 20);
  // With nothing cached to give back, the error reaches the caller.
  FakeBacking tiny;
  tiny.capacity = 100;
  CachingAllocator empty(&tiny);
  EXPECT_THROW(empty.allocate(1000), ResourceExhausted);
}

TEST(CachingAllocator, BlocksAreNeverHandedOutTwice) {
  FakeBacking fake;
  CachingAllocator cache(&fake);
  std::set<void*> out;
  std::vector<std::pair<void*, size_t>> held;
  std::mt19937 gen(5);
  for (int i = 0; i < 5000; ++i) {
    if (held.empty() || gen() % 3 != 0) {
      size_t n = 1 + gen() % 5000;
      void* p = cache.allocate(n);
      ASSERT_TRUE(out.insert(p).second) << "block handed out twice";
      held.emplace_back(p, n);
    } else {
      size_t k = gen() % held.size();
      out.erase(held[k].first);
      cache.deallocate(held[k].first, held[k].second);
      held.erase(held.begin() + static_cast<long>(k));
    }
  }
  for (auto& [p, n] : held) cache.deallocate(p, n);
  EXPECT_EQ(cache.bytes_in_use(), 0u);
}

}  // namespace
}  // namespace ember::test
