// EMBER_HOST_DEVICE marks the small functions both backends compile: host
// code in a .cpp, host and device code under nvcc.
#pragma once

#if defined(__CUDACC__)
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif
