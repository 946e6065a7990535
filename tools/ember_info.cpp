// ember-info: the build configuration, the devices found, and every
// registered op with the device kinds it has kernels for.
#include <cstdio>
#include <string>

#include "core/cuda_runtime.h"
#include "ember.h"

int main() {
  auto info = ember::build_info();
  std::printf("ember %s (%s, %s)\n", info.version.c_str(), info.build_type.c_str(),
              info.compiler.c_str());
  std::printf("  CUDA backend: %s\n", info.cuda ? "compiled in" : "not compiled");
  std::printf("  BLAS: %s, CPU threads: %d\n", info.blas.c_str(), info.cpu_threads);
  std::printf("  CPU instruction set (oneDNN's kernels): %s\n", info.cpu_isa.c_str());
  std::printf("  distributed: %s\n", ember::distribute::built_with_mpi()
                                         ? "MPI (a world of one unless a launcher started this process)"
                                         : "not built (no MPI): a world of one");
  std::printf("devices:\n  cpu\n");
  int gpus = ember::cuda_device_count();
  for (int i = 0; i < gpus; ++i)
    std::printf("  cuda:%d  %s\n", i, ember::cuda::device_description(i).c_str());
  if (gpus == 0) std::printf("  (no GPU: %s)\n", ember::cuda_unavailable_reason().c_str());
  std::printf("default device: %s\n", ember::default_device().to_string().c_str());
  auto ops = ember::registered_ops();
  std::printf("ops (%zu):\n", ops.size());
  for (const ember::OpDef* op : ops) {
    std::string kernels;
    for (int k = 0; k < ember::kNumDeviceKinds; ++k) {
      auto kind = static_cast<ember::DeviceKind>(k);
      if (op->has_kernel(kind))
        kernels += (kernels.empty() ? "" : ", ") + std::string(ember::device_kind_name(kind));
    }
    const char* grad = op->differentiability == ember::Differentiability::Differentiable
                           ? "gradient"
                       : op->differentiability == ember::Differentiability::NotDifferentiable
                           ? "not differentiable"
                           : "no gradient yet";
    std::printf("  %-22s %-26s kernels: %-10s %s\n", op->name.c_str(), op->api_name.c_str(),
                kernels.empty() ? "none" : kernels.c_str(), grad);
  }
  return 0;
}
