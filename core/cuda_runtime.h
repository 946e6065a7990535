// The CUDA runtime side of core/: device discovery, the stream-ordered memory
// pool and copies. Built from core/cuda/cuda_runtime.cpp when EMBER_CUDA is on,
// from core/cuda/no_cuda.cpp otherwise; nothing outside core/, kernels/cuda
// and graph/executor.cpp (CUDA-graph capture) includes it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/device.h"

namespace ember {
class Allocator;
}

namespace ember::cuda {

/// Whether ember was compiled with CUDA support.
bool compiled_with_cuda();
int device_count();
std::string unavailable_reason();
/// "NVIDIA H100 80GB HBM3, compute 9.0, 79 GiB".
std::string device_description(int index);
Allocator* allocator(int index);
/// Copies between host and device or device and device; waits for the device
/// stream when the destination is the host.
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
/// Waits for all work queued on the device's compute stream.
void synchronize(int index);

/// Host-to-device uploads from one thread (a data pipeline's) through pinned
/// host buffers used in turn: a slot is refilled once its last copy has
/// finished, and the copy is queued on the compute stream without waiting
/// for it, so the uploading thread never waits for the step's kernels.
class UploadStaging {
 public:
  explicit UploadStaging(int device);
  ~UploadStaging();
  UploadStaging(const UploadStaging&) = delete;
  UploadStaging& operator=(const UploadStaging&) = delete;
  /// Copies `bytes` from host `src` to device `dst` (on this staging's device).
  void upload(void* dst, const void* src, size_t bytes);

 private:
  struct Impl;
  Impl* impl_;
};

/// A CUDA graph captured from the work one thread queued on a device, and
/// instantiated; `launch` replays it on the device's compute stream.
class CudaGraph {
 public:
  CudaGraph(void* exec, int device) : exec_(exec), device_(device) {}
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  void launch();

 private:
  void* exec_;  // cudaGraphExec_t
  int device_;
};

/// Starts capturing on this thread: until `end_capture`, the work this
/// thread queues on cuda:`device` (kernels, copies, cuBLAS and cuDNN calls)
/// goes into a graph instead of running, on a capture stream of its own that
/// follows the compute stream's earlier work, and the buffers it allocates
/// are the graph's own (never the caching allocator's, whose blocks other
/// tensors reuse). Other threads keep using the compute stream.
void begin_capture(int device);
/// Ends this thread's capture: the instantiated graph (whose allocations
/// left unfreed are freed when it is launched again), or nullptr when the
/// capture failed, with `why` (a kernel that waited for the host, say).
std::unique_ptr<CudaGraph> end_capture(std::string& why);
/// Whether this thread is capturing.
bool capturing();

#ifdef EMBER_WITH_CUDA
}  // namespace ember::cuda
struct CUstream_st;
namespace ember::cuda {
/// The compute stream of cuda:index (created on first use).
CUstream_st* stream(int index);
#endif

}  // namespace ember::cuda
