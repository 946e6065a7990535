// TensorFlow's unsorted segment reductions (UnsortedSegmentSum, Max, Min,
// Prod), shared by the CPU and CUDA kernels: each folds a row's value into
// its segment's running value, which starts at the reduction's identity
// (what an empty segment keeps: 0, the dtype's lowest value, its largest,
// 1). The 16-bit floats fold through fn::computed_as (in float32, the
// result rounded back: exact for max and min).
#pragma once

#include <limits>
#include <type_traits>

#include "core/dtype.h"
#include "core/host_device.h"
#include "kernels/functors.h"

namespace ember::segment {

struct Sum {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T running, T value) const {
    return fn::wrap_add(running, value);
  }
};
/// TensorFlow's CPU kernel's std::max(value, running): a NaN is kept until a
/// later value that compares as not below it replaces it ([1, NaN] gives
/// NaN, [NaN, 1] gives 1), so the rows' order decides, as in TensorFlow.
struct Max {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T running, T value) const {
    return value < running ? running : value;
  }
};
/// std::min(value, running), the same way.
struct Min {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T running, T value) const {
    return running < value ? running : value;
  }
};
struct Prod {
  template <typename T>
  EMBER_HOST_DEVICE T operator()(T running, T value) const {
    return fn::wrap_mul(running, value);
  }
};

/// The running value an empty segment keeps, for elements of T (dtype t):
/// as TensorFlow, the lowest finite value for max (not -inf), the largest
/// for min.
template <typename T, typename F>
T identity(DType t) {
  if constexpr (std::is_same_v<F, Sum>) {
    return T(0);
  } else if constexpr (std::is_same_v<F, Prod>) {
    return T(1);
  } else if constexpr (std::is_integral_v<T>) {
    return std::is_same_v<F, Max> ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  } else {
    const double extreme = std::is_same_v<F, Max> ? -largest_finite(t) : largest_finite(t);
    if constexpr (std::is_same_v<T, double>) return extreme;
    else return T(static_cast<float>(extreme));
  }
}

}  // namespace ember::segment
