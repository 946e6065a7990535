// Random kernels: Philox blocks from (key, offset), turned into numbers by
// the functions of kernels/functors.h that the CUDA kernels use too.
#include "core/op.h"
#include "core/op_names.h"
#include "core/philox.h"
#include "kernels/cpu/parallel.h"
#include "kernels/functors.h"

namespace ember::cpu {
namespace {

struct Stream {
  uint64_t key, offset;
};
Stream stream(const KernelContext& c) {
  return {static_cast<uint64_t>(c.attrs.get<int64_t>("key")),
          static_cast<uint64_t>(c.attrs.get<int64_t>("offset"))};
}

void uniform_kernel(KernelContext& c) {
  Stream s = stream(c);
  Tensor& y = c.outputs[0];
  int64_t n = y.num_elements();
  if (y.dtype() == float32) {
    float* p = y.data<float>();
    parallel_for((n + 3) / 4, kParallelGrain / 4, [&](int64_t b, int64_t e) {
      for (int64_t blk = b; blk < e; ++blk) {
        philox::Block r = philox::at(s.key, s.offset + static_cast<uint64_t>(blk));
        for (int j = 0; j < 4 && blk * 4 + j < n; ++j)
          p[blk * 4 + j] = philox::uniform_float(r.v[j]);
      }
    });
  } else {
    double* p = y.data<double>();
    parallel_for((n + 1) / 2, kParallelGrain / 2, [&](int64_t b, int64_t e) {
      for (int64_t blk = b; blk < e; ++blk) {
        philox::Block r = philox::at(s.key, s.offset + static_cast<uint64_t>(blk));
        p[blk * 2] = philox::uniform_double(r.v[0], r.v[1]);
        if (blk * 2 + 1 < n) p[blk * 2 + 1] = philox::uniform_double(r.v[2], r.v[3]);
      }
    });
  }
}

template <typename T>
void normal_fill(T* p, int64_t n, Stream s) {
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = fn::normal_at<T>(s.key, s.offset, i);
  });
}

// Each element redraws from its own sub-stream until it lands within two
// standard deviations, so the result does not depend on how work is split.
template <typename T>
void truncated_fill(T* p, int64_t n, Stream s) {
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T v;
      uint64_t sub = 0;
      do v = fn::normal_at<T>(s.key, s.offset, i, sub++);
      while (v <= T(-2) || v >= T(2));
      p[i] = v;
    }
  });
}

void normal_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  EMBER_SWITCH_FLOAT(y.dtype(), unsupported_dtype(c, y.dtype()),
                     normal_fill(y.data<scalar_t>(), y.num_elements(), stream(c)));
}
void truncated_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  EMBER_SWITCH_FLOAT(y.dtype(), unsupported_dtype(c, y.dtype()),
                     truncated_fill(y.data<scalar_t>(), y.num_elements(), stream(c)));
}

EMBER_REGISTER_KERNEL(op_name::RandomUniform, CPU, uniform_kernel);
EMBER_REGISTER_KERNEL(op_name::RandomStandardNormal, CPU, normal_kernel);
EMBER_REGISTER_KERNEL(op_name::TruncatedNormal, CPU, truncated_kernel);

}  // namespace
}  // namespace ember::cpu
