// tf.random.categorical's sampling (TensorFlow's CPU Multinomial kernel),
// shared by the CPU and CUDA kernels: per row of logits, the unnormalized
// CDF of exp(logit - the largest finite logit) in double, the non-finite
// logits adding nothing; each sample a double in [0, 1) from two words of
// the Philox stream (TensorFlow's SimplePhilox::RandDouble) times the CDF's
// total, and the first class whose CDF exceeds it (std::upper_bound).
// Sample j of row b takes words 2p and 2p + 1 of the stream, p = b·n + j
// for n samples per row: the rows one after the other, as TensorFlow's
// kernel draws them when it samples the batch in one pass (always for one
// row, and for the small batches whose cost its thread pool does not split).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "core/philox.h"

namespace ember::categorical {

/// A logit as a double (the 16-bit floats through their compute type, float).
template <typename T>
EMBER_HOST_DEVICE double logit_value(T x) {
  return static_cast<double>(static_cast<compute_t<T>>(x));
}

/// Writes the row's unnormalized CDF into `cdf` (`classes` doubles) and
/// returns its total. A row with no finite logit has total 0 (every sample
/// is then `classes`, as TensorFlow's).
template <typename T>
EMBER_HOST_DEVICE double cdf_of_row(const T* logits, double* cdf, int64_t classes) {
  bool any = false;
  double largest = 0;
  for (int64_t j = 0; j < classes; ++j) {
    const double x = logit_value(logits[j]);
    if (std::isfinite(x) && (!any || x > largest)) largest = x, any = true;
  }
  double total = 0;
  for (int64_t j = 0; j < classes; ++j) {
    const double x = logit_value(logits[j]);
    if (std::isfinite(x)) total += std::exp(x - largest);
    cdf[j] = total;
  }
  return total;
}

/// Sample `p` (the p-th pair of words) of the stream: the first class whose
/// CDF is above u·total.
EMBER_HOST_DEVICE inline int64_t sample(const double* cdf, int64_t classes, double total, const philox::Stream& s,
                                        int64_t p) {
  const philox::Block b = philox::at(s, static_cast<uint64_t>(p / 2));
  const int w = static_cast<int>(p % 2) * 2;
  const double to_find = philox::uniform_double(b.v[w], b.v[w + 1]) * total;
  int64_t lo = 0, hi = classes;  // upper_bound: the first cdf[k] > to_find
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] > to_find) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

}  // namespace ember::categorical
