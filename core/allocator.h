// Allocators and storage. A Storage is one device buffer, freed through the
// allocator that made it when the last tensor viewing it goes away.
//
// The CPU allocator returns 64-byte aligned blocks and keeps freed blocks for
// reuse: small ones in per-thread size-class lists (so a tiny eager op never
// reaches malloc), large ones in a shared cache bounded in bytes (so a 64 MB
// temporary does not pay for fresh pages each step). Under AddressSanitizer
// the caches are off, so every use after free is still caught.
#pragma once

#include <cstddef>
#include <memory>

#include "core/device.h"

namespace ember {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) noexcept = 0;
  virtual Device device() const = 0;
  /// Returns cached free blocks to the system.
  virtual void empty_cache() {}
  /// Bytes handed out and not yet given back (cached free blocks excluded).
  virtual size_t bytes_in_use() const { return 0; }
};

/// The process-wide CPU allocator.
Allocator* cpu_allocator();
/// The allocator of `device` (CUDA: the device's stream-ordered pool).
Allocator* allocator_for(Device device);

class Storage {
 public:
  Storage(Allocator* alloc, size_t bytes)
      : data_(bytes ? alloc->allocate(bytes) : nullptr), bytes_(bytes), alloc_(alloc) {}
  ~Storage() {
    if (data_) alloc_->deallocate(data_, bytes_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return alloc_->device(); }

 private:
  void* data_;
  size_t bytes_;
  Allocator* alloc_;
};

/// Copies `bytes` between buffers on any devices (synchronous with respect to
/// the host for device-to-host copies).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace ember
