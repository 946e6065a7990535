// The running state of an online softmax (Milakov & Gimelshein, "Online
// normalizer calculation for softmax", 2018): the maximum m seen so far and
// the sum s of exp(x - m), rescaled whenever m grows. Each CUDA lane folds
// its share of a row in with add(), then lanes and warps combine with
// merge(). Host and device both compile it, so tests/softmax_test.cpp checks
// the arithmetic (with the CUDA kernel's lane and merge order) on the CPU.
//
// -inf elements add nothing; a NaN makes s NaN, and merge() keeps it, so a
// row holding a NaN gives NaN everywhere, as the CPU's three-pass softmax.
#pragma once

#include <limits>

#include "core/host_device.h"
#include "kernels/functors.h"
#include "kernels/reducers.h"

namespace ember::kernels {

template <typename C>
struct OnlineSoftmax {
  C m = -std::numeric_limits<C>::infinity();
  C s = 0;

  EMBER_HOST_DEVICE bool empty() const { return m == -std::numeric_limits<C>::infinity() && s == C(0); }

  EMBER_HOST_DEVICE void add(C v) {
    if (v > m) {
      s = s * fn::exp_(m - v) + C(1);
      m = v;
    } else if (v != -std::numeric_limits<C>::infinity()) {
      s += fn::exp_(v - m);  // NaN lands here
    }
  }

  EMBER_HOST_DEVICE void merge(C om, C os) {
    OnlineSoftmax other{om, os};
    if (other.empty()) return;
    if (empty()) {
      m = om;
      s = os;
    } else if (om > m) {
      s = s * fn::exp_(m - om) + os;
      m = om;
    } else {
      s += os * fn::exp_(om - m);
    }
  }

  /// The shift and the sum of exp(x - shift) that the CPU's passes use
  /// (reduce::softmax_shift): the same numbers for finite rows, and the same
  /// special cases for rows of -inf or holding +inf.
  EMBER_HOST_DEVICE void finish(C& shift, C& sum) const {
    shift = reduce::softmax_shift(m);
    sum = s;
    if (m == std::numeric_limits<C>::infinity() && s == s)
      sum = std::numeric_limits<C>::infinity();  // the CPU sums exp(x - 0) with x = +inf
  }
};

}  // namespace ember::kernels
