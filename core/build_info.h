// Facts about this build of ember, for ember-info and bug reports.
#pragma once

#include <string>

namespace ember {

struct BuildInfo {
  std::string version;
  std::string build_type;
  std::string compiler;
  bool cuda;  // compiled with the CUDA backend
  std::string blas;
  int cpu_threads;
  // The instruction set oneDNN's CPU kernels use here: "AVX2", "AVX-512",
  // "AVX-512 VNNI", "AVX512-BF16", "AMX", ... (the bfloat16 matrix products
  // run on AVX512-BF16 or AMX where they are present; otherwise widened).
  std::string cpu_isa;
};

BuildInfo build_info();

}  // namespace ember
