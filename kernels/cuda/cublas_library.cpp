#include "kernels/cuda/cublas_library.h"

#include <dlfcn.h>

#include <string>

#include "core/error.h"

#ifndef EMBER_CUBLAS_SONAME
#error "EMBER_CUBLAS_SONAME (the CUDA toolkit's libcublas.so.MAJOR) comes from CMakeLists.txt"
#endif
#ifndef EMBER_CUBLAS_TOOLKIT_PATH
#error "EMBER_CUBLAS_TOOLKIT_PATH (libcublas in the toolkit ember was built with) comes from CMakeLists.txt"
#endif

namespace ember::cuda {
namespace {

CublasLibrary open_cublas() {
  // The loader's search first (LD_LIBRARY_PATH, the cache, libember's
  // runpath), then the toolkit this build compiled against.
  void* lib = dlopen(EMBER_CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
  std::string reason = lib ? "" : dlerror();
  if (!lib) lib = dlopen(EMBER_CUBLAS_TOOLKIT_PATH, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw Unavailable(detail::str_cat("cuBLAS could not be loaded: ", reason, "; ", dlerror(),
                                      " (CUDA matrix products need the CUDA toolkit's libraries on "
                                      "LD_LIBRARY_PATH or in the loader's cache)"));
  auto symbol = [lib](const char* name) {
    void* f = dlsym(lib, name);
    if (!f) throw Unavailable(detail::str_cat("cuBLAS (", EMBER_CUBLAS_SONAME, ") has no ", name));
    return f;
  };
  CublasLibrary l{};
  l.create = reinterpret_cast<decltype(l.create)>(symbol("cublasCreate_v2"));
  l.set_stream = reinterpret_cast<decltype(l.set_stream)>(symbol("cublasSetStream_v2"));
  l.gemm_strided_batched_ex =
      reinterpret_cast<decltype(l.gemm_strided_batched_ex)>(symbol("cublasGemmStridedBatchedEx"));
  l.status_string = reinterpret_cast<decltype(l.status_string)>(symbol("cublasGetStatusString"));
  return l;  // the library stays open for the process's life
}

}  // namespace

const CublasLibrary& cublas_library() {
  static const CublasLibrary library = open_cublas();  // a failed open throws, and the next call retries
  return library;
}

}  // namespace ember::cuda
