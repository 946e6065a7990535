// Random tensors from Philox-4x32-10 (core/philox.h), with TensorFlow's
// seeding rules: a global seed (`set_seed`) and an optional op seed. With
// both unset the stream is non-deterministic; with a global seed, each call
// site without an op seed draws its own reproducible stream; the same
// (global, op) seed pair continues one stream across calls, and `set_seed`
// restarts every stream. `Generator` is an explicit stateful stream
// (tf.random.Generator). The stream depends only on the seeds, never on the
// device: the CUDA kernels produce the same numbers.
#pragma once

#include <cstdint>
#include <optional>

#include "core/tensor.h"

namespace ember::random {

/// tf.random.set_seed: sets the global seed and restarts every seeded stream.
void set_seed(int64_t seed);
/// Clears the global seed (streams without an op seed become non-deterministic).
void clear_seed();

/// Uniform in [minval, maxval).
Tensor uniform(const TensorShape& shape, double minval = 0, double maxval = 1,
               DType dtype = float32, std::optional<int64_t> seed = std::nullopt);
/// Normal with the given mean and standard deviation.
Tensor normal(const TensorShape& shape, double mean = 0, double stddev = 1, DType dtype = float32,
              std::optional<int64_t> seed = std::nullopt);
/// Normal, redrawn until within two standard deviations of the mean.
Tensor truncated_normal(const TensorShape& shape, double mean = 0, double stddev = 1,
                        DType dtype = float32, std::optional<int64_t> seed = std::nullopt);

/// A stateful random stream: each draw continues where the last one stopped.
class Generator {
 public:
  explicit Generator(uint64_t seed);
  /// A generator seeded from the operating system's entropy.
  static Generator from_non_deterministic_state();

  Tensor uniform(const TensorShape& shape, double minval = 0, double maxval = 1,
                 DType dtype = float32);
  Tensor normal(const TensorShape& shape, double mean = 0, double stddev = 1,
                DType dtype = float32);
  Tensor truncated_normal(const TensorShape& shape, double mean = 0, double stddev = 1,
                          DType dtype = float32);

  uint64_t key() const { return key_; }
  /// The next Philox block offset this generator will use.
  uint64_t offset() const { return offset_; }

 private:
  uint64_t key_;
  uint64_t offset_ = 0;
};

/// Philox blocks a draw of `n` elements of `dtype` consumes.
uint64_t blocks_for(int64_t n, DType dtype);

}  // namespace ember::random
