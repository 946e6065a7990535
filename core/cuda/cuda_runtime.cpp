// core/'s CUDA runtime: device discovery, one compute stream per device, and a
// stream-ordered memory pool (cudaMallocAsync with a release threshold, so
// freed memory is reused without synchronising).
//
// A machine without a GPU or without a driver is an ordinary case: the device
// count is 0 and the reason is kept for messages.
#include "core/cuda_runtime.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <string_view>
#include <vector>

#include "core/allocator.h"
#include "core/caching_allocator.h"
#include "core/cuda/cuda_check.h"
#include "core/error.h"
#include "core/logging.h"

namespace ember::cuda {

namespace detail {
void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  std::string msg = ember::detail::str_cat("[cuda] ", call, " failed: ", cudaGetErrorName(err),
                                           " (", cudaGetErrorString(err), ") at ", file, ":", line);
  cudaGetLastError();  // clear a sticky non-fatal error so later calls report their own
  if (err == cudaErrorMemoryAllocation) throw ResourceExhausted(msg);
  throw Internal(msg);
}
}  // namespace detail

namespace {

class CudaAllocator;

// Per-device state, made on first use of that device only (creating a
// stream opens the device's context, which costs time and memory). The
// once-flags keep every later lookup on the launch path lock-free.
struct PerDevice {
  std::once_flag stream_once, allocator_once;
  cudaStream_t stream = nullptr;
  Allocator* allocator = nullptr;  // lives as long as the process
};

struct Runtime {
  int count = 0;
  std::string reason;
  std::unique_ptr<PerDevice[]> devices;
};

Runtime& runtime() {
  static Runtime rt = [] {
    Runtime r;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      r.reason = ember::detail::str_cat("no usable CUDA device (", cudaGetErrorString(err), ")");
      cudaGetLastError();
      return r;
    }
    if (n == 0) r.reason = "no CUDA device found";
    r.count = n;
    r.devices = std::make_unique<PerDevice[]>(static_cast<size_t>(n));
    return r;
  }();
  return rt;
}

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int index) : index_(index) {
    EMBER_CUDA_CHECK(cudaSetDevice(index));
    cudaMemPool_t pool;
    EMBER_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, index));
    uint64_t threshold = UINT64_MAX;  // keep freed memory in the pool
    EMBER_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  }
  // Sizes are padded to 16 bytes, so a kernel's 16-byte access or a
  // word-sized atomic on a buffer's last bytes stays inside it.
  static size_t padded(size_t bytes) { return (bytes + 15) & ~size_t{15}; }

  void* allocate(size_t bytes) override {
    bytes = padded(bytes);
    void* p = nullptr;
    EMBER_CUDA_CHECK(cudaSetDevice(index_));
    cudaError_t err = cudaMallocAsync(&p, bytes, stream(index_));
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw ResourceExhausted(
          ember::detail::str_cat("[cuda allocator] out of memory on cuda:", index_, " allocating ",
                                 bytes, " bytes (", free_b, " free of ", total_b, ")"));
    }
    EMBER_CUDA_CHECK(err);
    in_use_.fetch_add(bytes, std::memory_order_relaxed);
    return p;
  }
  void deallocate(void* ptr, size_t bytes) noexcept override {
    in_use_.fetch_sub(padded(bytes), std::memory_order_relaxed);
    // Destructors never throw: a failure here is logged, not raised.
    if (cudaFreeAsync(ptr, stream(index_)) != cudaSuccess) {
      EMBER_LOG_ERROR("[cuda allocator] cudaFreeAsync failed on cuda:{}", index_);
      cudaGetLastError();
    }
  }
  Device device() const override { return Device::cuda(index_); }
  size_t bytes_in_use() const override { return in_use_.load(std::memory_order_relaxed); }

 private:
  int index_;
  std::atomic<size_t> in_use_{0};
};

void check_index(int index) {
  EMBER_CHECK(
      index >= 0 && index < runtime().count, InvalidArgument, "[cuda] cuda:", index,
      " is not available: ",
      runtime().count == 0 ? runtime().reason : std::to_string(runtime().count) + " GPU(s) found");
}

// This thread's capture, if any: its device and capture stream.
struct Capture {
  int device = -1;
  cudaStream_t stream = nullptr;
};
thread_local Capture t_capture;

// The allocator a device hands out: the caching allocator, except that a
// thread capturing a graph allocates straight from the stream-ordered pool
// on its capture stream (graph allocation nodes), and those buffers are
// freed back there, never cached.
class GraphAwareAllocator final : public Allocator {
 public:
  GraphAwareAllocator(Allocator* usual, Allocator* direct, int index)
      : usual_(usual), direct_(direct), index_(index) {}
  void* allocate(size_t bytes) override {
    if (t_capture.device != index_) return usual_->allocate(bytes);
    void* p = direct_->allocate(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    graph_owned_.insert(p);
    owned_.store(graph_owned_.size(), std::memory_order_release);
    return p;
  }
  void deallocate(void* ptr, size_t bytes) noexcept override {
    if (owned_.load(std::memory_order_acquire) > 0) {  // no lock on the usual path
      std::lock_guard<std::mutex> lock(mu_);
      if (graph_owned_.erase(ptr)) {
        owned_.store(graph_owned_.size(), std::memory_order_release);
        direct_->deallocate(ptr, bytes);
        return;
      }
    }
    usual_->deallocate(ptr, bytes);
  }
  Device device() const override { return Device::cuda(index_); }
  size_t bytes_in_use() const override { return usual_->bytes_in_use(); }
  void empty_cache() override { usual_->empty_cache(); }

 private:
  Allocator* usual_;
  Allocator* direct_;
  int index_;
  std::mutex mu_;
  std::unordered_set<void*> graph_owned_;
  std::atomic<size_t> owned_{0};
};

}  // namespace

cudaStream_t stream(int index) {
  if (t_capture.device == index) [[unlikely]]
    return t_capture.stream;
  check_index(index);
  PerDevice& d = runtime().devices[static_cast<size_t>(index)];
  std::call_once(d.stream_once, [&] {
    EMBER_CUDA_CHECK(cudaSetDevice(index));
    EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking));
  });
  return d.stream;
}

bool compiled_with_cuda() { return true; }
int device_count() { return runtime().count; }
std::string unavailable_reason() { return runtime().reason; }

std::string device_description(int index) {
  check_index(index);
  cudaDeviceProp prop{};
  EMBER_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return ember::detail::str_cat(prop.name, ", compute ", prop.major, ".", prop.minor, ", ",
                                prop.totalGlobalMem >> 30, " GiB");
}

Allocator* allocator(int index) {
  check_index(index);
  PerDevice& d = runtime().devices[static_cast<size_t>(index)];
  std::call_once(d.allocator_once, [&] {
    // Freed blocks are kept and reused in stream order (core/caching_allocator.h);
    // EMBER_CUDA_CACHING=0 frees each one to the pool at once, so that
    // compute-sanitizer sees every use after free.
    const char* env = std::getenv("EMBER_CUDA_CACHING");
    Allocator* pool = new CudaAllocator(index);
    Allocator* usual = env && std::string_view(env) == "0" ? pool : new CachingAllocator(pool);
    d.allocator = new GraphAwareAllocator(usual, pool, index);
  });
  return d.allocator;
}

namespace {

// Host<->device copies of pageable memory go through two pinned chunks per
// device: while the DMA engine moves one, the CPU fills or drains the other.
// A host-to-device copy returns once its last chunk is staged (the caller's
// buffer is free then); a device-to-host copy returns when the data is in the
// caller's buffer. Small copies and already-pinned memory go directly.
constexpr size_t kStagingChunk = size_t{8} << 20;
constexpr size_t kStagingThreshold = size_t{1} << 20;

struct Staging {
  std::mutex mu;
  void* chunk[2] = {nullptr, nullptr};
  cudaEvent_t done[2] = {nullptr, nullptr};
};

Staging& staging(int index) {
  static std::mutex mu;
  static std::vector<Staging*> all;
  std::lock_guard<std::mutex> lock(mu);
  if (all.empty()) all.resize(static_cast<size_t>(device_count()), nullptr);
  auto& st = all[static_cast<size_t>(index)];
  if (!st) {
    auto* fresh = new Staging;  // lives as long as the process
    EMBER_CUDA_CHECK(cudaSetDevice(index));
    for (int i = 0; i < 2; ++i) {
      EMBER_CUDA_CHECK(cudaMallocHost(&fresh->chunk[i], kStagingChunk));
      EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&fresh->done[i], cudaEventDisableTiming));
    }
    st = fresh;
  }
  return *st;
}

bool is_pinned(const void* p) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeHost;
}

void staged_to_device(char* dst, const char* src, size_t bytes, int index, cudaStream_t s) {
  Staging& st = staging(index);
  std::lock_guard<std::mutex> lock(st.mu);
  for (size_t off = 0, i = 0; off < bytes; off += kStagingChunk, ++i) {
    size_t n = std::min(kStagingChunk, bytes - off);
    int k = static_cast<int>(i % 2);
    EMBER_CUDA_CHECK(cudaEventSynchronize(st.done[k]));  // the chunk's last DMA is finished
    std::memcpy(st.chunk[k], src + off, n);
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst + off, st.chunk[k], n, cudaMemcpyHostToDevice, s));
    EMBER_CUDA_CHECK(cudaEventRecord(st.done[k], s));
  }
}

void staged_to_host(char* dst, const char* src, size_t bytes, int index, cudaStream_t s) {
  Staging& st = staging(index);
  std::lock_guard<std::mutex> lock(st.mu);
  size_t chunks = (bytes + kStagingChunk - 1) / kStagingChunk;
  auto issue = [&](size_t i) {
    size_t off = i * kStagingChunk, n = std::min(kStagingChunk, bytes - off);
    int k = static_cast<int>(i % 2);
    EMBER_CUDA_CHECK(cudaMemcpyAsync(st.chunk[k], src + off, n, cudaMemcpyDeviceToHost, s));
    EMBER_CUDA_CHECK(cudaEventRecord(st.done[k], s));
  };
  issue(0);
  for (size_t i = 0; i < chunks; ++i) {
    if (i + 1 < chunks) issue(i + 1);  // the other chunk fills while this one drains
    int k = static_cast<int>(i % 2);
    EMBER_CUDA_CHECK(cudaEventSynchronize(st.done[k]));
    size_t off = i * kStagingChunk, n = std::min(kStagingChunk, bytes - off);
    std::memcpy(dst + off, st.chunk[k], n);
  }
}

}  // namespace

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  int index = dst_device.is_cuda() ? dst_device.index() : src_device.index();
  cudaStream_t s = stream(index);
  EMBER_CUDA_CHECK(cudaSetDevice(index));
  if (dst_device.is_cuda() && src_device.is_cuda()) {  // stays on the stream: no wait
    // From another GPU: the source's pending kernels finish first.
    if (src_device.index() != index) EMBER_CUDA_CHECK(cudaStreamSynchronize(stream(src_device.index())));
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
    return;
  }
  const void* host = dst_device.is_cpu() ? dst : src;
  if (bytes >= kStagingThreshold && !is_pinned(host)) {
    if (dst_device.is_cuda())
      staged_to_device(static_cast<char*>(dst), static_cast<const char*>(src), bytes, index, s);
    else
      staged_to_host(static_cast<char*>(dst), static_cast<const char*>(src), bytes, index, s);
    return;
  }
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
  // Host buffers may be reused the moment this returns: wait for the copy.
  EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
}

void synchronize(int index) { EMBER_CUDA_CHECK(cudaStreamSynchronize(stream(index))); }

// ---- CUDA graphs ------------------------------------------------------------------------

CudaGraph::~CudaGraph() {
  if (exec_ && cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_)) != cudaSuccess) cudaGetLastError();
}

void CudaGraph::launch() {
  EMBER_CUDA_CHECK(cudaSetDevice(device_));
  EMBER_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), stream(device_)));
}

bool capturing() { return t_capture.device >= 0; }

void begin_capture(int device) {
  EMBER_CHECK(!capturing(), FailedPrecondition, "[cuda] this thread is already capturing a graph");
  cudaStream_t compute = stream(device);
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t s = nullptr;
  cudaEvent_t ready = nullptr;
  EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  // The graph's work follows what the compute stream already holds.
  EMBER_CUDA_CHECK(cudaEventRecord(ready, compute));
  EMBER_CUDA_CHECK(cudaStreamWaitEvent(s, ready, 0));
  EMBER_CUDA_CHECK(cudaEventDestroy(ready));
  EMBER_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  t_capture = {device, s};
}

std::unique_ptr<CudaGraph> end_capture(std::string& why) {
  EMBER_CHECK(capturing(), FailedPrecondition, "[cuda] this thread is not capturing a graph");
  Capture c = t_capture;
  t_capture = {};
  cudaGraph_t graph = nullptr;
  cudaError_t err = cudaStreamEndCapture(c.stream, &graph);
  std::unique_ptr<CudaGraph> result;
  if (err != cudaSuccess || !graph) {
    why = std::string("capture failed: ") + cudaGetErrorString(err);
    cudaGetLastError();
  } else {
    cudaGraphExec_t exec = nullptr;
    err = cudaGraphInstantiateWithFlags(&exec, graph, cudaGraphInstantiateFlagAutoFreeOnLaunch);
    if (err != cudaSuccess) {
      why = std::string("instantiation failed: ") + cudaGetErrorString(err);
      cudaGetLastError();
    } else {
      result = std::make_unique<CudaGraph>(exec, c.device);
    }
  }
  if (graph) cudaGraphDestroy(graph);
  if (cudaStreamDestroy(c.stream) != cudaSuccess) cudaGetLastError();
  return result;
}

// Four slots: an element of a few tensors (images, labels) fills two, and the
// next element's uploads find their slots' copies long finished.
struct UploadStaging::Impl {
  static constexpr int kSlots = 4;
  int device;
  int next = 0;
  void* buffer[kSlots] = {};
  size_t capacity[kSlots] = {};
  cudaEvent_t done[kSlots] = {};
};

UploadStaging::UploadStaging(int device) : impl_(new Impl) {
  impl_->device = device;
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  for (auto& e : impl_->done) EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
}

UploadStaging::~UploadStaging() {
  cudaSetDevice(impl_->device);
  for (int k = 0; k < Impl::kSlots; ++k) {
    cudaEventSynchronize(impl_->done[k]);  // a copy still reading the slot finishes first
    cudaEventDestroy(impl_->done[k]);
    if (impl_->buffer[k]) cudaFreeHost(impl_->buffer[k]);
  }
  delete impl_;
}

void UploadStaging::upload(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  Impl& st = *impl_;
  int k = st.next;
  st.next = (st.next + 1) % Impl::kSlots;
  EMBER_CUDA_CHECK(cudaSetDevice(st.device));
  EMBER_CUDA_CHECK(cudaEventSynchronize(st.done[k]));  // the slot's last copy has left it
  if (st.capacity[k] < bytes) {
    if (st.buffer[k]) EMBER_CUDA_CHECK(cudaFreeHost(st.buffer[k]));
    st.buffer[k] = nullptr;
    st.capacity[k] = 0;
    EMBER_CUDA_CHECK(cudaMallocHost(&st.buffer[k], bytes));
    st.capacity[k] = bytes;
  }
  std::memcpy(st.buffer[k], src, bytes);
  cudaStream_t s = stream(st.device);
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, st.buffer[k], bytes, cudaMemcpyHostToDevice, s));
  EMBER_CUDA_CHECK(cudaEventRecord(st.done[k], s));
}

}  // namespace ember::cuda

namespace ember {
int cuda_device_count() { return cuda::device_count(); }
std::string cuda_unavailable_reason() { return cuda::unavailable_reason(); }
}  // namespace ember
