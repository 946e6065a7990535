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
};

BuildInfo build_info();

}  // namespace ember
