// Random tensors as TensorFlow draws them: Philox-4x32-10 (core/philox.h)
// with TensorFlow's seeding rules and distributions, so the same seeds and
// call order give TensorFlow's numbers, on every device.
//
// - `set_seed(g)` (tf.random.set_seed): the Philox key is g; an op without a
//   seed takes the next op seed from Python's `random.Random(g)` (as eager
//   TensorFlow's `internal_operation_seed`), so a program's sequence of draws
//   is reproducible. An op with a seed continues one stream per (op, dtypes,
//   seeds) across calls, restarted by `set_seed`. With neither seed the
//   stream is non-deterministic.
// - Each draw of n elements reserves n·256 blocks of its stream, as
//   TensorFlow's kernels do (a gamma or Poisson sample may use any of its
//   256; a categorical draw of rows x samples: rows·(samples rounded up to
//   4)·2·256; a shuffle of n rows, (n - 1) words: a block per 4).
// - `stateless_*` (tf.random.stateless_*): a pure function of the seed pair.
// - `Generator` (tf.random.Generator.from_seed): a stateful stream.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/philox.h"
#include "core/tensor.h"
#include "core/variable.h"

namespace ember {
class Attrs;
struct OpDef;
}

namespace ember::random {

/// tf.random.set_seed: sets the global seed and restarts every seeded stream.
void set_seed(int64_t seed);
/// Clears the global seed (streams without an op seed become non-deterministic).
void clear_seed();

/// Uniform in [minval, maxval). For int32 and int64 (TensorFlow's
/// RandomUniformInt), minval and maxval are whole numbers the dtype holds
/// (exactly, up to 2^53) and an element is minval + (one word, or two for
/// int64) mod (maxval - minval), TensorFlow's numbers; minval < maxval is
/// required of a draw that is not empty ("Need minval < maxval").
Tensor uniform(const TensorShape& shape, double minval = 0, double maxval = 1,
               DType dtype = float32, std::optional<int64_t> seed = std::nullopt);
/// Normal with the given mean and standard deviation.
Tensor normal(const TensorShape& shape, double mean = 0, double stddev = 1, DType dtype = float32,
              std::optional<int64_t> seed = std::nullopt);
/// Normal, redrawn until within two standard deviations of the mean.
Tensor truncated_normal(const TensorShape& shape, double mean = 0, double stddev = 1,
                        DType dtype = float32, std::optional<int64_t> seed = std::nullopt);

/// tf.random.stateless_uniform: a pure function of `seed` (and shape, dtype);
/// int32 and int64 as `uniform` (TensorFlow's StatelessRandomUniformInt).
Tensor stateless_uniform(const TensorShape& shape, std::array<int64_t, 2> seed, double minval = 0,
                         double maxval = 1, DType dtype = float32);
/// The same, with the seed (an int64 [2] tensor) and the shape (an integer
/// vector) known only when it runs: what a traced dropout draws from a seed
/// kept in a variable. TensorFlow's StatelessRandomUniform op.
Tensor stateless_uniform(const Tensor& shape, const Tensor& seed, double minval = 0, double maxval = 1,
                         DType dtype = float32);
/// tf.random.stateless_normal.
Tensor stateless_normal(const TensorShape& shape, std::array<int64_t, 2> seed, double mean = 0,
                        double stddev = 1, DType dtype = float32);
/// tf.random.stateless_truncated_normal.
Tensor stateless_truncated_normal(const TensorShape& shape, std::array<int64_t, 2> seed,
                                  double mean = 0, double stddev = 1, DType dtype = float32);
/// Both with the seed and the shape tensors known when it runs (TensorFlow's
/// StatelessRandomNormal and StatelessTruncatedNormal ops).
Tensor stateless_normal(const Tensor& shape, const Tensor& seed, double mean = 0, double stddev = 1,
                        DType dtype = float32);
Tensor stateless_truncated_normal(const Tensor& shape, const Tensor& seed, double mean = 0, double stddev = 1,
                                  DType dtype = float32);

/// tf.random.categorical: `num_samples` class indices (int64 or int32) per
/// row of `logits` [batch, classes], class k drawn with probability
/// softmax(row)_k; non-finite logits are never drawn (a row with no finite
/// one gives `classes`, as TensorFlow's). Seeded as the other draws, and
/// TensorFlow's numbers where its kernel samples the rows in one pass: one
/// row always, and a small batch (its thread pool splits only a batch whose
/// estimated cost is above 10,000 cycles, 50·(samples·log₂ classes + classes)
/// a row; a split batch's later rows differ).
Tensor categorical(const Tensor& logits, int64_t num_samples, DType dtype = int64,
                   std::optional<int64_t> seed = std::nullopt);
/// tf.random.stateless_categorical: a pure function of `seed`.
Tensor stateless_categorical(const Tensor& logits, int64_t num_samples, std::array<int64_t, 2> seed,
                             DType dtype = int64);
/// The same with the seed (an int32/int64 [2] tensor) known when it runs
/// (TensorFlow's StatelessMultinomial op).
Tensor stateless_categorical(const Tensor& logits, int64_t num_samples, const Tensor& seed, DType dtype = int64);

/// tf.random.shuffle: `value` with its rows (along the first dimension)
/// permuted, as TensorFlow's kernel permutes them (one word per row but
/// the last, the rows swapped in order); seeded as the other draws. Not
/// differentiable (TensorFlow's has no gradient either).
Tensor shuffle(const Tensor& value, std::optional<int64_t> seed = std::nullopt);

/// tf.random.gamma: samples of Gamma(alpha, beta), alpha the concentration
/// and beta the rate (undefined: 1), of shape `shape` followed by alpha's and
/// beta's broadcast shape, in alpha's dtype (beta's must be the same);
/// TensorFlow's numbers: Marsaglia and Tsang's sampler in double (kernels/
/// gamma.h), each sample from its own 256 blocks of the stream, divided by
/// beta and kept at least the dtype's smallest normal number. Seeded as the
/// other draws. Differentiable in alpha (implicitly: gamma_grad) and beta.
Tensor gamma(const TensorShape& shape, const Tensor& alpha, const Tensor& beta = {},
             std::optional<int64_t> seed = std::nullopt);
/// tf.random.stateless_gamma: a pure function of `seed`; `shape` ends with
/// alpha's and beta's broadcast shape ("Shape passed in must end with
/// broadcasted shape." otherwise).
Tensor stateless_gamma(const TensorShape& shape, std::array<int64_t, 2> seed, const Tensor& alpha,
                       const Tensor& beta = {});
/// The same with the shape (an integer vector) and the seed (an int32/int64
/// [2] tensor) known when it runs (TensorFlow's StatelessRandomGammaV2 op).
Tensor stateless_gamma(const Tensor& shape, const Tensor& seed, const Tensor& alpha, const Tensor& beta = {});
/// d(sample)/d(alpha) for samples of Gamma(alpha, 1), elementwise with
/// broadcasting (TensorFlow's RandomGammaGrad): the implicit
/// reparameterization gradient, -(∂P(alpha, sample)/∂alpha) / p(sample),
/// P the gamma distribution's CDF and p its density. Not differentiable.
Tensor gamma_grad(const Tensor& alpha, const Tensor& sample);

/// tf.random.poisson: Poisson(rate) counts of shape `shape` followed by
/// rate's, in `dtype` (a floating dtype, int32 or int64; rate too);
/// TensorFlow's numbers: below rate 10 Knuth's product of uniforms, from 10
/// Hörmann's transformed rejection (kernels/samplers.h), each sample from its
/// own 256 blocks; 0 for a rate at most 0, +inf for an infinite one (0 in an
/// integer dtype, as TensorFlow's). Seeded as the other draws. Not
/// differentiable (a count is piecewise constant in the rate).
Tensor poisson(const TensorShape& shape, const Tensor& rate, DType dtype = float32,
               std::optional<int64_t> seed = std::nullopt);
/// tf.random.stateless_poisson: a pure function of `seed`; `shape` ends with
/// rate's ("Shape passed in must end with broadcasted shape." otherwise);
/// dtype int32 by default, as TensorFlow's.
Tensor stateless_poisson(const TensorShape& shape, std::array<int64_t, 2> seed, const Tensor& rate,
                         DType dtype = int32);
/// The same with the shape and the seed tensors known when it runs
/// (TensorFlow's StatelessRandomPoisson op).
Tensor stateless_poisson(const Tensor& shape, const Tensor& seed, const Tensor& rate, DType dtype = int32);

/// tf.random.stateless_binomial: binomial counts of `counts` trials with
/// success probability `probs` (broadcast together; `shape` ends with their
/// broadcast shape), in `dtype` (a floating dtype, int32 or int64; counts
/// and probs of one floating dtype); TensorFlow's numbers: by inversion where
/// count·p (p at most 1/2, else its complement, the count taken from the
/// trials) is below 10, else Hörmann's BTRS (kernels/samplers.h); 0 where
/// counts or probs are at most 0, counts where probs are at least 1, NaN
/// for a NaN probability. Not differentiable.
Tensor stateless_binomial(const TensorShape& shape, std::array<int64_t, 2> seed, const Tensor& counts,
                          const Tensor& probs, DType dtype = int32);
/// The same with the shape and the seed tensors known when it runs
/// (TensorFlow's StatelessRandomBinomial op).
Tensor stateless_binomial(const Tensor& shape, const Tensor& seed, const Tensor& counts, const Tensor& probs,
                          DType dtype = int32);
/// tf.random.stateless_uniform of int32 or int64 with neither minval nor
/// maxval: every value of the dtype equally likely (TensorFlow's
/// StatelessRandomUniformFullInt: a word, or two low first, as the bits).
Tensor stateless_uniform_full_int(const TensorShape& shape, std::array<int64_t, 2> seed, DType dtype = int32);
/// The same with the shape and the seed tensors known when it runs.
Tensor stateless_uniform_full_int(const Tensor& shape, const Tensor& seed, DType dtype = int32);
/// tf.random.split: `num` new seeds [num, 2] from a seed (an int32/int64 [2]
/// tensor), in its dtype.
Tensor split(const Tensor& seed, int64_t num = 2);
/// tf.random.fold_in: a new seed from a seed and `data` (an int32/int64
/// scalar): [a full-range draw of data's dtype from the seed, data].
Tensor fold_in(const Tensor& seed, const Tensor& data);

/// A seed for something that needs one and was given none (an initializer):
/// the next op seed of the global seed's sequence when a global seed is set,
/// else a non-deterministic one. In [0, 2^31 - 1).
int64_t next_seed();

/// A stateful random stream (tf.random.Generator): each draw continues where
/// the last one stopped, reserving n·256 blocks for n elements. The stream
/// lives in a variable (TensorFlow's `state`: int64 [3], the Philox counter's
/// low and high words, then the key) that each draw's op reads and advances
/// when it runs (StatefulUniform, StatefulStandardNormalV2,
/// StatefulTruncatedNormal, StatefulUniformInt, StatefulUniformFullInt), so
/// draws inside traced
/// functions and eager draws continue one stream, call after call, as
/// TensorFlow's do. Copies share the stream, as Python's references to one
/// tf.random.Generator do.
class Generator {
 public:
  /// tf.random.Generator.from_seed: counter = seed, key = 0.
  explicit Generator(uint64_t seed);
  /// A generator seeded from the operating system's entropy.
  static Generator from_non_deterministic_state();

  /// int32 and int64 as random::uniform (TensorFlow's StatefulUniformInt).
  Tensor uniform(const TensorShape& shape, double minval = 0, double maxval = 1,
                 DType dtype = float32);
  Tensor normal(const TensorShape& shape, double mean = 0, double stddev = 1,
                DType dtype = float32);
  Tensor truncated_normal(const TensorShape& shape, double mean = 0, double stddev = 1,
                          DType dtype = float32);

  /// Every value of int32 or int64 equally likely (TensorFlow's
  /// StatefulUniformFullInt; its default dtype, uint64, ember lacks).
  Tensor uniform_full_int(const TensorShape& shape, DType dtype = int64);
  /// `count` seeds for the stateless ops, int64 [2, count]: full-range keys
  /// over zeros, as TensorFlow's.
  Tensor make_seeds(int64_t count = 1);
  /// `count` new generators, each with counter 0 and a key drawn from this
  /// one (TensorFlow's split), which advances as by uniform_full_int.
  std::vector<Generator> split(int64_t count = 1);

  /// Where the next draw starts (the state variable's value).
  philox::Stream state() const;
  /// The variable holding the stream (TensorFlow's `Generator.state`, created
  /// on the current device), to checkpoint or to reset with `reset`.
  const Variable& state_variable() const { return state_; }
  /// tf.random.Generator.reset: continues from `s` instead.
  void reset(const philox::Stream& s);

 private:
  explicit Generator(const philox::Stream& s);
  Variable state_;
};

/// A generator's state as TensorFlow lays Philox's out, int64 [3]: the
/// counter's low and high words, then the key; and the stream of such a
/// state (any device).
Tensor generator_state(const philox::Stream& s);
philox::Stream generator_stream(const Tensor& state);

/// The largest finite value of a floating dtype, or the largest of an
/// integer dtype, as a double (a Poisson count's bound).
double highest(DType dtype);
/// The stream a random op's attributes name: "seed" is the Philox key,
/// "seed2" and "offset" the counter's high and low halves.
philox::Stream stream_of(const Attrs& attrs);
/// Writes `s` into a random op's attributes (the inverse of stream_of).
void set_stream(Attrs& attrs, const philox::Stream& s);
/// An integer draw's minval and range (maxval - minval, as unsigned), read
/// from its scalar inputs; throws TensorFlow's "Need minval < maxval" where
/// minval >= maxval. Its kernels call it only for a draw that is not empty.
std::pair<int64_t, uint64_t> uniform_int_range(const Tensor& minval, const Tensor& maxval);
/// The stream of a stateless draw from `seed` (TensorFlow's
/// StatelessRandomGetKeyCounter): element i of stateless_uniform(shape,
/// seed) is fn::uniform_at(stream, i), so a kernel can draw any element.
philox::Stream stateless_stream(std::array<int64_t, 2> seed);
/// Moves a random op's attributes to the draw that follows its draw of
/// `out` from the same stream: how a traced function's random node draws
/// fresh numbers at every call (TensorFlow's stateful random kernels keep
/// their Philox state the same way).
void advance_stream(const OpDef& op, Attrs& attrs, const Tensor& out);

}  // namespace ember::random
