#include "core/build_info.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include "core/cuda_runtime.h"

namespace ember {

namespace {
std::string cpu_isa() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "AMX (AVX-512, AVX512-BF16, AMX-BF16)";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX512-BF16 (AVX-512 with bfloat16 dot products)";
    case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 VNNI (no bfloat16 instructions)";
    case dnnl_cpu_isa_avx512_core: return "AVX-512 (no bfloat16 instructions)";
    case dnnl_cpu_isa_avx2_vnni: return "AVX2 VNNI";
    case dnnl_cpu_isa_avx2: return "AVX2";
    default: return "below AVX2";
  }
}
}  // namespace

BuildInfo build_info() {
  return {EMBER_VERSION,
          EMBER_BUILD_TYPE,
          EMBER_CXX_COMPILER,
          cuda::compiled_with_cuda(),
          "oneDNN sgemm and bfloat16 matmul, OpenBLAS dgemm",
          omp_get_max_threads(),
          cpu_isa()};
}

}  // namespace ember
