// EMBER_HOST_DEVICE marks the small functions both backends compile: host
// code in a .cpp, host and device code under nvcc.
#pragma once

#if defined(__CUDACC__)
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif

// EMBER_DEVICE_NOINLINE keeps a large function out of line in device code
// (kernels/special.h's series): inlined into every kernel, each dtype and
// each loop of the launchers, it made one CUDA file compile for over a
// minute. Host code is unchanged (nothing there moves a rounding).
#if defined(__CUDA_ARCH__)
#define EMBER_DEVICE_NOINLINE __noinline__
#else
#define EMBER_DEVICE_NOINLINE
#endif
