// core/'s CUDA runtime when ember is built without CUDA: no devices.
#include "core/allocator.h"
#include "core/cuda_runtime.h"
#include "core/error.h"

namespace ember::cuda {

bool compiled_with_cuda() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return "ember was built without CUDA (EMBER_CUDA=OFF)"; }
std::string device_description(int) { return {}; }

Allocator* allocator(int index) {
  throw InvalidArgument(
      detail::str_cat("[cuda] cuda:", index, " is not available: ", unavailable_reason()));
}
void copy(void*, Device dst, const void*, Device src, size_t) {
  throw InvalidArgument(detail::str_cat("[cuda] cannot copy ", src.to_string(), " -> ",
                                        dst.to_string(), ": ", unavailable_reason()));
}
void synchronize(int) {}

CudaGraph::~CudaGraph() = default;
void CudaGraph::launch() { throw Unimplemented(detail::str_cat("[cuda] ", unavailable_reason())); }
void begin_capture(int device) { allocator(device); }  // throws
std::unique_ptr<CudaGraph> end_capture(std::string& why) {
  why = unavailable_reason();
  return nullptr;
}
bool capturing() { return false; }

struct UploadStaging::Impl {};
UploadStaging::UploadStaging(int device) : impl_(nullptr) { allocator(device); }  // throws
UploadStaging::~UploadStaging() = default;
void UploadStaging::upload(void*, const void*, size_t) {}

}  // namespace ember::cuda

namespace ember {
int cuda_device_count() { return 0; }
std::string cuda_unavailable_reason() { return cuda::unavailable_reason(); }
}  // namespace ember
