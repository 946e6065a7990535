// NumPy's .npy files (format versions 1 to 3, C order, little-endian), the
// way tensors travel to and from `ember-saved-model run` and Python.
#pragma once

#include <string>

#include "core/tensor.h"

namespace ember::npy {

/// The array in `path` as a CPU tensor: float16/32/64, int32/64, uint8 or
/// bool. NotFound for a missing file; DataLoss for a malformed one;
/// Unimplemented for another dtype, big-endian data or Fortran order.
Tensor read(const std::string& path);
/// The array's bytes (a .npy file's contents) as a CPU tensor.
Tensor parse(const std::string& bytes, const std::string& what);
/// Writes `t` (any device; not resource or variant) to `path`, atomically.
void write(const std::string& path, const Tensor& t);

}  // namespace ember::npy
