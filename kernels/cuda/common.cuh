// What every CUDA launcher shares: the device's stream, grid sizing for
// grid-stride loops, launch checks, 16-byte packs, and the broadcast indexer
// that maps an output element to its inputs' elements. The host-side parts
// (the indexer, pack widths) are tested without a GPU:
// tests/cuda_launch_test.cpp.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/cuda/cuda_check.h"
#include "core/host_device.h"
#include "core/cuda_runtime.h"
#include "core/op_registry.h"

namespace ember::cuda {

constexpr int kThreads = 256;
constexpr int kMaxRank = 8;  // after collapsing; deeper broadcasts are Unimplemented

/// Selects the kernel's device and returns its stream.
inline cudaStream_t prepare(const KernelContext& c) {
  EMBER_CUDA_CHECK(cudaSetDevice(c.device.index()));
  return stream(c.device.index());
}

inline unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 65536)));
}

#define EMBER_CUDA_LAUNCHED() EMBER_CUDA_CHECK(cudaGetLastError())

/// N elements moved as one aligned access (16 bytes for the wider side).
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};
/// Elements per pack for a kernel reading T and writing R: 16 bytes of the
/// wider type (1 where that is a single element).
template <typename T, typename R>
constexpr int pack_width() {
  constexpr size_t wide = sizeof(T) > sizeof(R) ? sizeof(T) : sizeof(R);
  return wide >= 16 ? 1 : static_cast<int>(16 / wide);
}
/// Whether p may be read or written as Pack<T, N>s.
template <typename T, int N>
bool packable(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % alignof(Pack<T, N>) == 0;
}

/// Calls f(W{}) with W the unsigned integer type `bytes` wide: kernels that
/// only move elements (copies, gathers, mirror padding) are compiled once
/// per width, not once per dtype.
template <typename F>
void with_word(size_t bytes, F&& f) {
  switch (bytes) {
    case 1:
      return f(uint8_t{});
    case 2:
      return f(uint16_t{});
    case 4:
      return f(uint32_t{});
    default:
      return f(uint64_t{});
  }
}
/// Calls f(I{}) with I the C++ type of an index dtype (int32 or int64).
template <typename F>
void with_index(DType index, F&& f) {
  if (index == int32)
    f(int32_t{});
  else
    f(int64_t{});
}

/// Up to three inputs broadcast to an output of `rank` dims (collapsed);
/// strides are 0 along broadcast dimensions.
struct Indexer {
  int rank = 0;
  int64_t dims[kMaxRank];
  int64_t strides[3][kMaxRank];

  EMBER_HOST_DEVICE void offsets(int64_t i, int64_t* off, int n_inputs) const {
    for (int k = 0; k < n_inputs; ++k) off[k] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t idx = i % dims[d];
      i /= dims[d];
      for (int k = 0; k < n_inputs; ++k) off[k] += idx * strides[k][d];
    }
  }
};

/// Builds the indexer of `inputs` broadcast to `out` (host side).
Indexer make_indexer(const TensorShape& out, std::span<const Tensor> inputs, const char* api);

}  // namespace ember::cuda
