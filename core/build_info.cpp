#include "core/build_info.h"

#include <omp.h>

#include "core/cuda_runtime.h"

namespace ember {

BuildInfo build_info() {
  return {EMBER_VERSION,      EMBER_BUILD_TYPE,     EMBER_CXX_COMPILER, cuda::compiled_with_cuda(),
          "oneDNN sgemm, OpenBLAS dgemm", omp_get_max_threads()};
}

}  // namespace ember
