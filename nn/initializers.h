// Initializers: tf.keras.initializers (Keras 3, as TensorFlow 2.21 ships it).
// A seeded initializer draws TensorFlow's stateless numbers for the seed pair
// [seed mod (2^31 - 2), 0] (Keras's _cast_seed), so it returns the same
// values at every call and the values TensorFlow gives for the same seed. An
// unseeded one takes a seed when made (random::next_seed: reproducible after
// random::set_seed), as Keras 3 does, so it too repeats its values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/tensor.h"

namespace ember::initializers {

/// Keras's compute_fans: for a kernel of rank > 2 (convolutions,
/// [..., in, out]) the receptive field multiplies both.
struct Fans {
  double fan_in, fan_out;
};
Fans compute_fans(const TensorShape& shape);

class Initializer {
 public:
  virtual ~Initializer() = default;
  /// A new tensor of `shape` and `dtype` on the default device.
  virtual Tensor operator()(const TensorShape& shape, DType dtype = float32) const = 0;
  /// Keras's name of the initializer ("glorot_uniform").
  virtual std::string name() const = 0;
};
using InitializerPtr = std::shared_ptr<const Initializer>;

class Zeros : public Initializer {
 public:
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "zeros"; }
};

class Ones : public Initializer {
 public:
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "ones"; }
};

class Constant : public Initializer {
 public:
  explicit Constant(double value = 0) : value_(value) {}
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "constant"; }

 private:
  double value_;
};

/// What every random initializer holds: its seed, fixed when made.
class RandomInitializer : public Initializer {
 protected:
  explicit RandomInitializer(std::optional<int64_t> seed);
  /// The stateless seed pair the draws use.
  std::array<int64_t, 2> seed_pair() const;

 private:
  int64_t seed_;
};

class RandomNormal : public RandomInitializer {
 public:
  explicit RandomNormal(double mean = 0, double stddev = 0.05,
                        std::optional<int64_t> seed = std::nullopt)
      : RandomInitializer(seed), mean_(mean), stddev_(stddev) {}
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "random_normal"; }

 private:
  double mean_, stddev_;
};

class RandomUniform : public RandomInitializer {
 public:
  explicit RandomUniform(double minval = -0.05, double maxval = 0.05,
                         std::optional<int64_t> seed = std::nullopt)
      : RandomInitializer(seed), minval_(minval), maxval_(maxval) {}
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "random_uniform"; }

 private:
  double minval_, maxval_;
};

/// Normal redrawn outside two standard deviations.
class TruncatedNormal : public RandomInitializer {
 public:
  explicit TruncatedNormal(double mean = 0, double stddev = 0.05,
                           std::optional<int64_t> seed = std::nullopt)
      : RandomInitializer(seed), mean_(mean), stddev_(stddev) {}
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "truncated_normal"; }

 private:
  double mean_, stddev_;
};

/// Keras's VarianceScaling: `scale` over the fan the mode names, drawn from a
/// truncated normal (stddev corrected for the truncation), a normal, or a
/// uniform of the same variance.
class VarianceScaling : public RandomInitializer {
 public:
  enum class Mode { FanIn, FanOut, FanAvg };
  enum class Distribution { TruncatedNormal, UntruncatedNormal, Uniform };
  VarianceScaling(double scale, Mode mode, Distribution distribution,
                  std::optional<int64_t> seed = std::nullopt, std::string name = "variance_scaling");
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return name_; }

 private:
  double scale_;
  Mode mode_;
  Distribution distribution_;
  std::string name_;
};

/// Glorot (Xavier): scale 1 over the average fan.
class GlorotNormal : public VarianceScaling {
 public:
  explicit GlorotNormal(std::optional<int64_t> seed = std::nullopt)
      : VarianceScaling(1, Mode::FanAvg, Distribution::TruncatedNormal, seed, "glorot_normal") {}
};
class GlorotUniform : public VarianceScaling {
 public:
  explicit GlorotUniform(std::optional<int64_t> seed = std::nullopt)
      : VarianceScaling(1, Mode::FanAvg, Distribution::Uniform, seed, "glorot_uniform") {}
};
/// He: scale 2 over the fan in.
class HeNormal : public VarianceScaling {
 public:
  explicit HeNormal(std::optional<int64_t> seed = std::nullopt)
      : VarianceScaling(2, Mode::FanIn, Distribution::TruncatedNormal, seed, "he_normal") {}
};
class HeUniform : public VarianceScaling {
 public:
  explicit HeUniform(std::optional<int64_t> seed = std::nullopt)
      : VarianceScaling(2, Mode::FanIn, Distribution::Uniform, seed, "he_uniform") {}
};
/// LeCun: scale 1 over the fan in.
class LecunNormal : public VarianceScaling {
 public:
  explicit LecunNormal(std::optional<int64_t> seed = std::nullopt)
      : VarianceScaling(1, Mode::FanIn, Distribution::TruncatedNormal, seed, "lecun_normal") {}
};
class LecunUniform : public VarianceScaling {
 public:
  explicit LecunUniform(std::optional<int64_t> seed = std::nullopt)
      : VarianceScaling(1, Mode::FanIn, Distribution::Uniform, seed, "lecun_uniform") {}
};

/// A (semi-)orthogonal matrix from the QR factorisation of a normal draw,
/// reshaped to `shape` (rank >= 2; rows are the product of all but the last
/// dimension), times `gain`.
class Orthogonal : public RandomInitializer {
 public:
  explicit Orthogonal(double gain = 1, std::optional<int64_t> seed = std::nullopt)
      : RandomInitializer(seed), gain_(gain) {}
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "orthogonal"; }

 private:
  double gain_;
};

/// TensorFlow's own initializers (init_ops_v2: tf.random_normal_initializer,
/// tf.random_uniform_initializer), which differ from Keras's: a seed draws
/// the stateless numbers of [seed, 0] (no fold into int32), and without one
/// every call is a stateful draw under the global seed (random::set_seed),
/// so two calls give different values, as in TensorFlow.
namespace v2 {
class RandomNormal : public Initializer {
 public:
  explicit RandomNormal(double mean = 0, double stddev = 0.05, std::optional<int64_t> seed = std::nullopt)
      : mean_(mean), stddev_(stddev), seed_(seed) {}
  /// Floating dtypes only (InvalidArgument otherwise, as TensorFlow's ValueError).
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "random_normal_initializer"; }

 private:
  double mean_, stddev_;
  std::optional<int64_t> seed_;
};

class RandomUniform : public Initializer {
 public:
  explicit RandomUniform(double minval = -0.05, double maxval = 0.05, std::optional<int64_t> seed = std::nullopt)
      : minval_(minval), maxval_(maxval), seed_(seed) {}
  /// Floating dtypes (integers are Unimplemented).
  Tensor operator()(const TensorShape& shape, DType dtype = float32) const override;
  std::string name() const override { return "random_uniform_initializer"; }

 private:
  double minval_, maxval_;
  std::optional<int64_t> seed_;
};
}  // namespace v2
using random_normal_initializer = v2::RandomNormal;    // tf.random_normal_initializer
using random_uniform_initializer = v2::RandomUniform;  // tf.random_uniform_initializer

/// An initializer by Keras's name ("glorot_uniform", "he_normal", "zeros",
/// ...), unseeded; an unknown name is InvalidArgument listing the known ones.
InitializerPtr get(const std::string& name);

}  // namespace ember::initializers
