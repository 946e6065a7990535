// Initializers: Keras 3's arithmetic (keras/src/initializers), drawn with
// TensorFlow's stateless random ops (core/random.h).
#include "nn/initializers.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember::initializers {

Fans compute_fans(const TensorShape& shape) {
  EMBER_CHECK(shape.is_fully_defined(), InvalidArgument,
              "[initializers] the shape must be fully known, got ", shape.to_string());
  int r = shape.rank();
  if (r == 0) return {1, 1};
  if (r == 1) return {double(shape.dim(0)), double(shape.dim(0))};
  if (r == 2) return {double(shape.dim(0)), double(shape.dim(1))};
  double receptive = 1;
  for (int i = 0; i < r - 2; ++i) receptive *= double(shape.dim(i));
  return {double(shape.dim(r - 2)) * receptive, double(shape.dim(r - 1)) * receptive};
}

Tensor Zeros::operator()(const TensorShape& shape, DType dtype) const {
  return zeros(shape, dtype);
}
Tensor Ones::operator()(const TensorShape& shape, DType dtype) const { return ones(shape, dtype); }
Tensor Constant::operator()(const TensorShape& shape, DType dtype) const {
  return fill(shape, value_, dtype);
}

RandomInitializer::RandomInitializer(std::optional<int64_t> seed)
    : seed_(seed ? *seed : random::next_seed()) {}

std::array<int64_t, 2> RandomInitializer::seed_pair() const {
  constexpr int64_t kMod = 2147483646;  // Keras's floormod by int32.max - 1
  return {((seed_ % kMod) + kMod) % kMod, 0};
}

Tensor RandomNormal::operator()(const TensorShape& shape, DType dtype) const {
  return random::stateless_normal(shape, seed_pair(), mean_, stddev_, dtype);
}
Tensor RandomUniform::operator()(const TensorShape& shape, DType dtype) const {
  return random::stateless_uniform(shape, seed_pair(), minval_, maxval_, dtype);
}
Tensor TruncatedNormal::operator()(const TensorShape& shape, DType dtype) const {
  return random::stateless_truncated_normal(shape, seed_pair(), mean_, stddev_, dtype);
}

Tensor v2::RandomNormal::operator()(const TensorShape& shape, DType dtype) const {
  EMBER_CHECK(is_floating(dtype), InvalidArgument, "[random_normal_initializer] Expected floating point type, got ",
              dtype_name(dtype), ".");
  if (seed_) return random::stateless_normal(shape, {*seed_, 0}, mean_, stddev_, dtype);
  return random::normal(shape, mean_, stddev_, dtype);
}
Tensor v2::RandomUniform::operator()(const TensorShape& shape, DType dtype) const {
  EMBER_CHECK(is_floating(dtype), Unimplemented, "[random_uniform_initializer] dtype ", dtype_name(dtype),
              ": only floating dtypes are drawn");
  if (seed_) return random::stateless_uniform(shape, {*seed_, 0}, minval_, maxval_, dtype);
  return random::uniform(shape, minval_, maxval_, dtype);
}

VarianceScaling::VarianceScaling(double scale, Mode mode, Distribution distribution,
                                 std::optional<int64_t> seed, std::string name)
    : RandomInitializer(seed),
      scale_(scale),
      mode_(mode),
      distribution_(distribution),
      name_(std::move(name)) {
  EMBER_CHECK(scale > 0, InvalidArgument, "[initializers::", name_,
              "] scale must be positive, got ", scale);
}

Tensor VarianceScaling::operator()(const TensorShape& shape, DType dtype) const {
  Fans f = compute_fans(shape);
  double fan = mode_ == Mode::FanIn ? f.fan_in
               : mode_ == Mode::FanOut ? f.fan_out
                                       : (f.fan_in + f.fan_out) / 2.0;
  double scale = scale_ / std::max(1.0, fan);
  switch (distribution_) {
    case Distribution::TruncatedNormal:
      // 0.8796...: the standard deviation of N(0, 1) truncated to (-2, 2).
      return random::stateless_truncated_normal(shape, seed_pair(), 0,
                                                std::sqrt(scale) / 0.87962566103423978, dtype);
    case Distribution::UntruncatedNormal:
      return random::stateless_normal(shape, seed_pair(), 0, std::sqrt(scale), dtype);
    case Distribution::Uniform: {
      double limit = std::sqrt(3.0 * scale);
      return random::stateless_uniform(shape, seed_pair(), -limit, limit, dtype);
    }
  }
  throw Internal("[initializers] unknown distribution");
}

Tensor Orthogonal::operator()(const TensorShape& shape, DType dtype) const {
  EMBER_CHECK(shape.rank() >= 2, InvalidArgument,
              "[initializers::Orthogonal] the shape must have rank 2 or more, got ",
              shape.to_string());
  EMBER_CHECK(shape.is_fully_defined(), InvalidArgument,
              "[initializers::Orthogonal] the shape must be fully known, got ", shape.to_string());
  int64_t rows = 1;
  for (int i = 0; i < shape.rank() - 1; ++i) rows *= shape.dim(i);
  int64_t cols = shape.dim(-1);
  int64_t m = std::max(rows, cols), n = std::min(rows, cols);
  // Keras's: Q of the QR of a normal draw (in float64), each column's sign
  // that of R's diagonal (q *= sign(diag(r))), transposed for a wide shape.
  const Tensor a = cast(random::stateless_normal({m, n}, seed_pair(), 0, 1, dtype), float64).to(Device::cpu());
  const QrResult f = qr(a);
  const Tensor diagonal = reduce_sum(band_part(f.r, 0, 0), {0}, /*keepdims=*/true);
  Tensor t = f.q * sign(diagonal);
  if (rows < cols) t = transpose(t, {1, 0});
  return cast(reshape(t, shape) * constant(gain_, float64), dtype).to(default_device());
}

InitializerPtr get(const std::string& name) {
  static const std::map<std::string, InitializerPtr (*)()> known = {
      {"zeros", []() -> InitializerPtr { return std::make_shared<Zeros>(); }},
      {"ones", []() -> InitializerPtr { return std::make_shared<Ones>(); }},
      {"glorot_normal", []() -> InitializerPtr { return std::make_shared<GlorotNormal>(); }},
      {"glorot_uniform", []() -> InitializerPtr { return std::make_shared<GlorotUniform>(); }},
      {"he_normal", []() -> InitializerPtr { return std::make_shared<HeNormal>(); }},
      {"he_uniform", []() -> InitializerPtr { return std::make_shared<HeUniform>(); }},
      {"lecun_normal", []() -> InitializerPtr { return std::make_shared<LecunNormal>(); }},
      {"lecun_uniform", []() -> InitializerPtr { return std::make_shared<LecunUniform>(); }},
      {"random_normal", []() -> InitializerPtr { return std::make_shared<RandomNormal>(); }},
      {"random_uniform", []() -> InitializerPtr { return std::make_shared<RandomUniform>(); }},
      {"truncated_normal", []() -> InitializerPtr { return std::make_shared<TruncatedNormal>(); }},
      {"orthogonal", []() -> InitializerPtr { return std::make_shared<Orthogonal>(); }},
  };
  auto it = known.find(name);
  if (it == known.end()) {
    std::string names;
    for (const auto& [k, v] : known) names += (names.empty() ? "" : ", ") + k;
    throw InvalidArgument("[initializers::get] unknown initializer '" + name + "'; known: " + names);
  }
  return it->second();
}

}  // namespace ember::initializers
