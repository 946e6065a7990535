// Multiply and square root, correctly rounded and never fused with a
// neighbouring add, on the host and in CUDA kernels alike: __fmul_rn and
// __fsqrt_rn/__dsqrt_rn in device code (nvcc never contracts them), plain
// operators on the host. The random distributions use them for the
// arithmetic around the math library, so that it is TensorFlow's, one
// rounding per operation, on both devices.
#pragma once

#include <cmath>

#include "core/host_device.h"

namespace ember::exact {

#if defined(__CUDA_ARCH__)
__device__ inline float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ inline float sqrt(float a) { return __fsqrt_rn(a); }
__device__ inline double sqrt(double a) { return __dsqrt_rn(a); }
#else
template <typename T>
inline T mul(T a, T b) {
  return a * b;
}
template <typename T>
inline T sqrt(T a) {
  return std::sqrt(a);  // IEEE 754 requires it correctly rounded
}
#endif

}  // namespace ember::exact
