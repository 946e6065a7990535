// Denormal floats flushed to zero while ember's CPU kernels run, as
// TensorFlow's are (port::ScopedFlushDenormal around its kernels and in its
// thread pools): a denormal input reads as zero and a denormal result is
// written as zero. Besides TensorFlow's values, this keeps the processor off
// its slow path for denormals (on x86 an assist of about a hundred cycles per
// operation): Adam's moments of weights that get no gradient, such as the
// first layer's for Fashion-MNIST's always-black border pixels, decay through
// the denormal range, and the mlp's optimizer step took 2.6 times as long.
// The caller's mode is restored when the scope ends.
#pragma once

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace ember {

class FlushDenormals {
 public:
  FlushDenormals() {
#if defined(__x86_64__) || defined(__i386__)
    saved_ = _mm_getcsr();
    if ((saved_ & kBits) != kBits) _mm_setcsr(saved_ | kBits);
#elif defined(__aarch64__)
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved_));
    if ((saved_ & kBits) != kBits) __asm__ volatile("msr fpcr, %0" : : "r"(saved_ | kBits));
#endif
  }
  ~FlushDenormals() {
#if defined(__x86_64__) || defined(__i386__)
    if ((saved_ & kBits) != kBits) _mm_setcsr(static_cast<unsigned>(saved_));
#elif defined(__aarch64__)
    if ((saved_ & kBits) != kBits) __asm__ volatile("msr fpcr, %0" : : "r"(saved_));
#endif
  }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
#if defined(__x86_64__) || defined(__i386__)
  static constexpr unsigned kBits = 0x8040;  // MXCSR: flush to zero (bit 15), denormals are zero (bit 6)
  unsigned saved_ = 0;
#elif defined(__aarch64__)
  static constexpr uint64_t kBits = uint64_t{1} << 24;  // FPCR.FZ
  uint64_t saved_ = 0;
#else
  static constexpr int kBits = 0;
  int saved_ = 0;
#endif
};

}  // namespace ember
