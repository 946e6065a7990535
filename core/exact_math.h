// Multiply and square root, correctly rounded and never fused with a
// neighbouring add, on the host and in CUDA kernels alike: __fmul_rn and
// __fsqrt_rn/__dsqrt_rn in device code (nvcc never contracts them); on the
// host the product passes through an empty asm statement, which GCC cannot
// see through, so it never contracts it into an FMA (GCC contracts across
// statements in C++ whatever the -std, and -march=native has FMA). The
// random distributions and the projective transform use them for the
// arithmetic TensorFlow does, one rounding per operation, on both devices.
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
  T r = a * b;
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+x"(r));  // (an SSE register: the value as rounded)
#elif defined(__aarch64__)
  asm("" : "+w"(r));
#else
  volatile T v = r;
  r = v;
#endif
  return r;
}
template <typename T>
inline T sqrt(T a) {
  return std::sqrt(a);  // IEEE 754 requires it correctly rounded
}
#endif

}  // namespace ember::exact
