// Random ops and TensorFlow's seeding rules. Each kernel fills its output
// from the stream its attributes name (key "seed", counter "seed2":"offset");
// this file decides the stream of each call, as TensorFlow does:
//
// - global seed g and op seed s: key g mod (2^31-1), counter high half s mod
//   (2^31-1), one stream per (op, dtypes, seeds) continued across calls (eager
//   TensorFlow caches one kernel, holding one generator, per op and attrs);
// - g only: s is the next `randint(0, 2^31-1)` of Python's random.Random(g)
//   (TensorFlow's `context.internal_operation_seed`), every call a fresh
//   stream;
// - s only: g is TensorFlow's DEFAULT_GRAPH_SEED; neither: an entropy key;
// - in a traced function (a tracer on the thread), an op without a seed
//   takes the function graph's op seeds 0, 1, 2, ... instead, and every
//   op's stream starts afresh in its node (TensorFlow's function graphs);
// - a draw of n elements reserves n·256 blocks (the "multiplier 256" of
//   TensorFlow's PhiloxRandomOp), so the next call starts beyond them (a
//   categorical draw and a shuffle reserve what theirs do: reserved_blocks).
//
// Scaling to [minval, maxval) or (mean, stddev) is done with ordinary ops
// afterwards, in the output's dtype, as TensorFlow's Python wrappers do.
#include "core/random.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <string_view>
#include <tuple>

#include "core/context.h"
#include "core/variable.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/grad_util.h"
#include "core/ops/infer_util.h"

namespace ember::random {
namespace {

// A draw's shape attribute, each dimension non-negative.
std::vector<int64_t> sample_dims(InferContext& c) {
  std::vector<int64_t> dims = c.attrs.get<std::vector<int64_t>>("shape");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0) c.fail("dimension ", i, " is negative (", dims[i], ")");
  return dims;
}

void infer_random(InferContext& c) {
  const TensorShape s(sample_dims(c));
  DType t = c.attrs.get<DType>("dtype");
  if (!is_floating(t)) c.fail("dtype must be a floating dtype, got ", dtype_name(t));
  c.outputs.push_back({t, s});
}

// A stateful draw's stream in its attributes (random::stream_of): key
// "seed", counter "seed2":"offset"; the offset is not TensorFlow's (its
// kernels keep their position), so it is dropped on export.
OpDef& draws_from_stream(OpDef& op) {
  return op.attr("seed", AttrKind::Int)
      .attr("seed2", AttrKind::Int)
      .attr("offset", AttrKind::Int)
      .set_stateful()
      .not_differentiable()
      .tf_dropped("offset", int64_t{0});
}

// The three draws share their signature: a shape, a dtype and the stream
// their kernels fill from.
bool define_random_op(const char* name, const char* api) {
  draws_from_stream(define_op(name).inputs(0).attr("shape", AttrKind::Ints).attr("dtype", AttrKind::Type))
      .api(api)
      .set_infer(infer_random)
      .tf_input("shape", 0, TfInputForm::Ints)
      .tf_type("T", dtype_fixed(int32));
  return true;
}
// A stateless op's seed: int32 or int64 [2].
void require_seed(InferContext& c, const Tensor& seed) {
  if (seed.dtype() != int32 && seed.dtype() != int64)
    c.fail("seed must be int32 or int64, got ", dtype_name(seed.dtype()));
  if (!seed.shape().is_compatible_with(TensorShape{2}))
    c.fail("seed must have shape [2], got ", seed.shape().to_debug_string());
}

// A stateless draw whose shape is a tensor known only when it runs (after
// the op's own inputs): its output of `dtype` has as many unknown
// dimensions as that vector is long. False where the shape is known.
bool shape_known_when_it_runs(InferContext& c, DType dtype) {
  if (unresolved_attrs(c.op, c.attrs) == 0) return false;
  c.outputs.push_back({dtype, TensorShape::unknown_dims(infer::vector_length(c.inputs.back().shape()))});
  return true;
}

// StatelessRandomUniform(seed) and its normal and truncated normal
// siblings: tf.random.stateless_*'s draws from a seed known when it runs
// (its shape too, possibly: attribute or tensor). Pure functions of their
// input, so not stateful.
void infer_stateless_uniform(InferContext& c) {
  require_seed(c, c.inputs[0]);
  DType t = c.attrs.get<DType>("dtype");
  if (!is_floating(t)) c.fail("dtype must be a floating dtype, got ", dtype_name(t));
  if (shape_known_when_it_runs(c, t)) return;
  c.outputs.push_back({t, TensorShape(sample_dims(c))});
}

// StatelessRandomUniform, StatelessRandomNormal, StatelessTruncatedNormal:
// tf.random.stateless_*'s draws (TensorFlow 1's ops, and what its V2 ops
// import as) with the seed, and the shape possibly, tensors.
bool define_stateless_draw(const char* name, const char* api) {
  define_op(name)
      .inputs(1)
      .attr_or_input("shape", AttrKind::Ints)
      .attr("dtype", AttrKind::Type)
      .api(api)
      .set_infer(infer_stateless_uniform)
      .set_infer_unresolved(infer_stateless_uniform)
      .set_allocates_outputs()
      .not_differentiable()
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, seed
      .tf_type("T", dtype_fixed(int32))
      .tf_type("Tseed", dtype_of_input(0));
  return true;
}
[[maybe_unused]] const bool stateless_draws_defined =
    define_stateless_draw(op_name::StatelessRandomUniform, "random::stateless_uniform") &&
    define_stateless_draw(op_name::StatelessRandomNormal, "random::stateless_normal") &&
    define_stateless_draw(op_name::StatelessTruncatedNormal, "random::stateless_truncated_normal");

// StatelessDropout(x, seed) {rate}: x·scale where the seed's uniform draw
// over x's shape is at least the rate (kernels/functors.h, fn::Dropout).
void infer_stateless_dropout(InferContext& c) {
  infer::require_float(c, c.inputs[0]);
  require_seed(c, c.inputs[1]);
  const double rate = c.attrs.get<double>("rate");
  if (!(rate >= 0 && rate < 1)) c.fail("rate must be in the range [0, 1), got ", rate);
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

// The op for TensorFlow: tf.nn.experimental.stateless_dropout's own ops
// (what the Dropout layer ran before the fused op).
std::vector<Tensor> stateless_dropout_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  const Tensor& x = in[0];
  const double rate = attrs.get<double>("rate");
  const DType draw = x.dtype() == float64 ? float64 : float32;
  Tensor u = stateless_uniform(shape(x, int64), in[1], 0, 1, draw);
  Tensor keep = u >= scalar_like(u, rate);
  return {where(keep, x * scalar_like(x, 1 / (1 - rate)), zeros_like(x))};
}

[[maybe_unused]] const bool stateless_dropout_defined = [] {
  define_op(op_name::StatelessDropout)
      .inputs(2)
      .attr("rate", AttrKind::Float)
      .api("stateless_dropout")
      .set_infer(infer_stateless_dropout)
      .tf_composite(stateless_dropout_decomposition);
  return true;
}();

// Multinomial(logits) {num_samples, output_dtype, seed, seed2, offset}:
// tf.random.categorical, stateful as the draws above (its stream in its
// attributes); StatelessMultinomial(logits, seed) {num_samples,
// output_dtype}: tf.random.stateless_categorical. num_samples may be a
// tensor (TensorFlow's input), read when it runs.
void infer_multinomial(InferContext& c) {
  const Tensor& logits = c.inputs[0];
  if (!is_floating(logits.dtype())) c.fail("logits must be a floating dtype, got ", dtype_name(logits.dtype()));
  if (logits.shape().rank_known() && logits.rank() != 2)
    c.fail("logits should be a matrix, got shape ", logits.shape().to_debug_string());
  if (c.op.name == op_name::StatelessMultinomial) require_seed(c, c.inputs[1]);
  const DType out = c.attrs.get<DType>("output_dtype");
  if (out != int32 && out != int64) c.fail("output_dtype must be int32 or int64, got ", dtype_name(out));
  int64_t samples = -1;
  if (unresolved_attrs(c.op, c.attrs) == 0) {
    samples = c.attrs.get<int64_t>("num_samples");
    if (samples < 0) c.fail("num_samples should be non-negative, got ", samples);
  }
  const bool known = logits.shape().rank_known();
  if (known && logits.shape().dim(1) == 0) c.fail("num_classes should be positive, got 0");
  c.outputs.push_back({out, TensorShape({known ? logits.shape().dim(0) : -1, samples})});
}

[[maybe_unused]] const bool multinomial_defined = [] {
  draws_from_stream(define_op(op_name::Multinomial)
                        .inputs(1)
                        .attr_or_input("num_samples", AttrKind::Int)
                        .attr("output_dtype", AttrKind::Type))
      .api("random::categorical")
      .set_infer(infer_multinomial)
      .set_infer_unresolved(infer_multinomial)
      .tf_input("num_samples", 1, TfInputForm::Int, dtype_fixed(int32));
  define_op(op_name::StatelessMultinomial)
      .inputs(2)
      .attr_or_input("num_samples", AttrKind::Int)
      .attr("output_dtype", AttrKind::Type)
      .api("random::stateless_categorical")
      .set_infer(infer_multinomial)
      .set_infer_unresolved(infer_multinomial)
      .set_allocates_outputs()
      .not_differentiable()
      .tf_input("num_samples", 1, TfInputForm::Int, dtype_fixed(int32))  // TensorFlow's order: logits, num_samples, seed
      .tf_type("Tseed", dtype_of_input(1));
  return true;
}();

// RandomUniformInt(minval, maxval) {shape, seed, seed2, offset}:
// tf.random.uniform's integer draw, stateful as the draws above;
// StatelessRandomUniformInt(seed, minval, maxval) {shape}:
// tf.random.stateless_uniform's (the shape an attribute or a tensor).
// minval and maxval are scalars of the output's dtype, int32 or int64;
// minval < maxval is the kernel's check (random::uniform_int_range), made
// only when the draw is not empty, as TensorFlow's.
void infer_uniform_int(InferContext& c) {
  const bool stateless = c.op.name == op_name::StatelessRandomUniformInt;
  if (stateless) require_seed(c, c.inputs[0]);
  const Tensor& lo = c.inputs[stateless ? 1 : 0];
  const Tensor& hi = c.inputs[stateless ? 2 : 1];
  if (lo.dtype() != int32 && lo.dtype() != int64) c.fail("minval must be int32 or int64, got ", dtype_name(lo.dtype()));
  if (hi.dtype() != lo.dtype())
    c.fail("maxval must have minval's dtype, ", dtype_name(lo.dtype()), ", got ", dtype_name(hi.dtype()));
  if (lo.shape().rank_known() && lo.rank() != 0) c.fail("minval must be 0-D, got shape ", lo.shape().to_debug_string());
  if (hi.shape().rank_known() && hi.rank() != 0) c.fail("maxval must be 0-D, got shape ", hi.shape().to_debug_string());
  if (shape_known_when_it_runs(c, lo.dtype())) return;
  c.outputs.push_back({lo.dtype(), TensorShape(sample_dims(c))});
}

// tf.random.Generator's draws: StatefulUniform, StatefulStandardNormalV2,
// StatefulTruncatedNormal and StatefulUniformFullInt(state, algorithm)
// {shape, dtype} (the full-range integers int32 or int64, what
// make_seeds and split draw), and StatefulUniformInt(state, algorithm,
// minval, maxval) {shape}. `state` is
// the generator's variable, int64 [3] as TensorFlow lays Philox's state out
// (the counter's low and high words, then the key); `algorithm` an int64
// scalar, Philox (1) or auto-select (3, which is Philox). The kernel draws
// what RandomUniform (and its siblings) draw from that stream and advances
// the variable past it, so traced calls and eager draws continue one stream.
void require_generator_state(InferContext& c) {
  const Tensor& h = c.inputs[0];
  const auto* state = h.dtype() == resource ? dynamic_cast<const VariableState*>(h.impl()->resource.get()) : nullptr;
  if (!state) c.fail("expected the generator's state variable, got ", dtype_name(h.dtype()));
  if (state->dtype != int64 || !state->shape.is_compatible_with(TensorShape{3}))
    c.fail("the generator's state must be an int64 [3] (Philox's counter and key), got ", dtype_name(state->dtype), " ",
           state->shape.to_debug_string());
  const Tensor& alg = c.inputs[1];
  if (alg.dtype() != int64) c.fail("algorithm must be int64, got ", dtype_name(alg.dtype()));
  if (alg.shape().rank_known() && alg.rank() != 0) c.fail("algorithm must be 0-D, got shape ", alg.shape().to_debug_string());
}

void infer_stateful_draw(InferContext& c) {
  require_generator_state(c);
  infer_random(c);
}

void infer_stateful_full_int(InferContext& c) {
  require_generator_state(c);
  const DType t = c.attrs.get<DType>("dtype");
  if (t != int32 && t != int64) c.fail("dtype must be int32 or int64, got ", dtype_name(t));
  c.outputs.push_back({t, TensorShape(sample_dims(c))});
}

void infer_stateful_uniform_int(InferContext& c) {
  require_generator_state(c);
  const Tensor &lo = c.inputs[2], &hi = c.inputs[3];
  if (lo.dtype() != int32 && lo.dtype() != int64) c.fail("minval must be int32 or int64, got ", dtype_name(lo.dtype()));
  if (hi.dtype() != lo.dtype())
    c.fail("maxval must have minval's dtype, ", dtype_name(lo.dtype()), ", got ", dtype_name(hi.dtype()));
  if (lo.shape().rank_known() && lo.rank() != 0) c.fail("minval must be 0-D, got shape ", lo.shape().to_debug_string());
  if (hi.shape().rank_known() && hi.rank() != 0) c.fail("maxval must be 0-D, got shape ", hi.shape().to_debug_string());
  c.outputs.push_back({lo.dtype(), TensorShape(sample_dims(c))});
}

// The signature the generator's draws share: the state variable, the
// algorithm and `inputs` - 2 more, the shape (TensorFlow's input 2, int64).
OpDef& define_generator_draw(const char* name, int inputs, const char* api, InferFn infer) {
  return define_op(name)
      .takes_resource()
      .inputs(inputs)
      .attr("shape", AttrKind::Ints)
      .api(api)
      .set_infer(infer)
      .set_stateful()
      .set_allocates_outputs()
      .not_differentiable()
      .tf_input("shape", 2, TfInputForm::Ints, dtype_fixed(int64))  // TensorFlow's order: resource, algorithm, shape, ...
      .tf_type("shape_dtype", dtype_fixed(int64))
      .tf_no_t();
}

[[maybe_unused]] const bool generator_draws_defined = [] {
  for (const char* name : {op_name::StatefulUniform, op_name::StatefulStandardNormalV2, op_name::StatefulTruncatedNormal})
    define_generator_draw(name, 2, "random::Generator", infer_stateful_draw).attr("dtype", AttrKind::Type);
  define_generator_draw(op_name::StatefulUniformFullInt, 2, "random::Generator::uniform_full_int", infer_stateful_full_int)
      .attr("dtype", AttrKind::Type);
  define_generator_draw(op_name::StatefulUniformInt, 4, "random::Generator::uniform", infer_stateful_uniform_int)
      .tf_type("dtype", dtype_of_input(2));  // (minval's)
  return true;
}();

// RandomShuffle(value) {seed, seed2, offset}: tf.random.shuffle, value's
// rows (along its first dimension) permuted; stateful as the draws above.
void infer_shuffle(InferContext& c) { c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()}); }

[[maybe_unused]] const bool integer_draws_defined = [] {
  draws_from_stream(define_op(op_name::RandomUniformInt).inputs(2).attr("shape", AttrKind::Ints))
      .api("random::uniform")
      .set_infer(infer_uniform_int)
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, minval, maxval
      .tf_type("T", dtype_fixed(int32))
      .tf_type("Tout", dtype_of_input(0));
  define_op(op_name::StatelessRandomUniformInt)
      .inputs(3)
      .attr_or_input("shape", AttrKind::Ints)
      .api("random::stateless_uniform")
      .set_infer(infer_uniform_int)
      .set_infer_unresolved(infer_uniform_int)
      .set_allocates_outputs()
      .not_differentiable()
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, seed, minval, maxval
      .tf_type("T", dtype_fixed(int32))
      .tf_type("Tseed", dtype_of_input(0))
      .tf_type("dtype", dtype_of_input(1));
  draws_from_stream(define_op(op_name::RandomShuffle).inputs(1))
      .api("random::shuffle")
      .set_infer(infer_shuffle)
      .set_allocates_outputs()
      .tf_type("T", dtype_of_input(0));
  return true;
}();

// A stateless gamma's or Poisson's shape ends with its parameter's
// (TensorFlow's words when not).
void require_ends_with(InferContext& c, const std::vector<int64_t>& dims, const TensorShape& param) {
  bool ends_with = !param.rank_known() || param.rank() <= static_cast<int>(dims.size());
  for (int j = 0; ends_with && param.rank_known() && j < param.rank(); ++j) {
    const int64_t d = param.dim(param.rank() - 1 - j);
    ends_with = d == TensorShape::kUnknown || d == dims[dims.size() - 1 - static_cast<size_t>(j)];
  }
  if (!ends_with) c.fail("Shape passed in must end with broadcasted shape.");
}

// A stateful gamma's or Poisson's output: the sample dimensions, then the
// parameter's.
TensorShape followed_by(std::vector<int64_t> dims, const TensorShape& param) {
  if (!param.rank_known()) return TensorShape::unknown_rank();
  for (int j = 0; j < param.rank(); ++j) dims.push_back(param.dim(j));
  return TensorShape(dims);
}

// The gamma's and Poisson's output of `dtype`: a stateless op's shape
// (ending with its parameter's), a stateful op's sample dimensions followed
// by the parameter's; for a stateless shape known only when it runs, its
// length.
void infer_parameterized_draw(InferContext& c, bool stateless, const TensorShape& param, DType dtype) {
  if (shape_known_when_it_runs(c, dtype)) return;
  const std::vector<int64_t> dims = sample_dims(c);
  if (stateless) require_ends_with(c, dims, param);
  c.outputs.push_back({dtype, stateless ? TensorShape(dims) : followed_by(dims, param)});
}

// RandomGamma(alpha) {shape, seed, seed2, offset}: tf.random.gamma's
// Gamma(alpha, 1) samples, of shape `shape` followed by alpha's, stateful as
// the draws above; StatelessRandomGammaV2(seed, alpha) {shape}:
// tf.random.stateless_gamma's, where `shape` (an attribute or a tensor)
// ends with alpha's. Both differentiable in alpha (implicitly, through
// RandomGammaGrad); the 16-bit floats are ember's additions.
void infer_gamma(InferContext& c) {
  const bool stateless = c.op.name == op_name::StatelessRandomGammaV2;
  if (stateless) require_seed(c, c.inputs[0]);
  const Tensor& alpha = c.inputs[stateless ? 1 : 0];
  if (!is_floating(alpha.dtype())) c.fail("alpha must be a floating dtype, got ", dtype_name(alpha.dtype()));
  infer_parameterized_draw(c, stateless, alpha.shape(), alpha.dtype());
}

[[maybe_unused]] const bool gamma_defined = [] {
  define_op(op_name::RandomGamma)
      .inputs(1)
      .attr("shape", AttrKind::Ints)
      .attr("seed", AttrKind::Int)
      .attr("seed2", AttrKind::Int)
      .attr("offset", AttrKind::Int)
      .set_stateful()
      .tf_dropped("offset", int64_t{0})
      .api("random::gamma")
      .set_infer(infer_gamma)
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, alpha
      .tf_type("S", dtype_fixed(int32))
      .tf_type("T", dtype_of_input(0));
  define_op(op_name::StatelessRandomGammaV2)
      .inputs(2)
      .attr_or_input("shape", AttrKind::Ints)
      .api("random::stateless_gamma")
      .set_infer(infer_gamma)
      .set_infer_unresolved(infer_gamma)
      .set_allocates_outputs()
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, seed, alpha
      .tf_type("T", dtype_fixed(int32))
      .tf_type("Tseed", dtype_of_input(0))
      .tf_type("dtype", dtype_of_input(1));
  return true;
}();

// RandomPoissonV2(rate) {shape, dtype, seed, seed2, offset}: tf.random.poisson's
// Poisson(rate) counts, of shape `shape` followed by rate's, stateful as the
// draws above; StatelessRandomPoisson(seed, lam) {shape, dtype}:
// tf.random.stateless_poisson's, `shape` (an attribute or a tensor) ending
// with lam's. The rate and the output each a floating dtype, int32 or
// int64 (bfloat16 ember's addition). Not differentiable, as TensorFlow's.
// A count's dtype (the Poisson's and binomial's outputs, the Poisson's rates).
bool is_count_dtype(DType t) { return is_floating(t) || t == int32 || t == int64; }

void infer_poisson(InferContext& c) {
  const bool stateless = c.op.name == op_name::StatelessRandomPoisson;
  if (stateless) require_seed(c, c.inputs[0]);
  const Tensor& rate = c.inputs[stateless ? 1 : 0];
  if (!is_count_dtype(rate.dtype())) c.fail("rate must be a floating dtype, int32 or int64, got ", dtype_name(rate.dtype()));
  const DType out = c.attrs.get<DType>("dtype");
  if (!is_count_dtype(out)) c.fail("dtype must be a floating dtype, int32 or int64, got ", dtype_name(out));
  infer_parameterized_draw(c, stateless, rate.shape(), out);
}

[[maybe_unused]] const bool poisson_defined = [] {
  draws_from_stream(define_op(op_name::RandomPoissonV2).inputs(1).attr("shape", AttrKind::Ints).attr("dtype", AttrKind::Type))
      .api("random::poisson")
      .set_infer(infer_poisson)
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, rate
      .tf_type("S", dtype_fixed(int32))
      .tf_type("R", dtype_of_input(0));
  define_op(op_name::StatelessRandomPoisson)
      .inputs(2)
      .attr_or_input("shape", AttrKind::Ints)
      .attr("dtype", AttrKind::Type)
      .api("random::stateless_poisson")
      .set_infer(infer_poisson)
      .set_infer_unresolved(infer_poisson)
      .set_allocates_outputs()
      .not_differentiable()
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, seed, lam
      .tf_type("T", dtype_fixed(int32))
      .tf_type("Tseed", dtype_of_input(0))
      .tf_type("Rtype", dtype_of_input(1));
  return true;
}();

// StatelessRandomBinomial(seed, counts, probs) {shape, dtype}:
// tf.random.stateless_binomial's counts, `shape` (an attribute or a tensor)
// ending with counts' and probs' broadcast shape; counts and probs of one
// floating dtype (TensorFlow's kernels'), the output a floating dtype, int32
// or int64. Not differentiable.
void infer_binomial(InferContext& c) {
  require_seed(c, c.inputs[0]);
  const Tensor &counts = c.inputs[1], &probs = c.inputs[2];
  if (!is_floating(counts.dtype())) c.fail("counts must be a floating dtype, got ", dtype_name(counts.dtype()));
  if (probs.dtype() != counts.dtype())
    c.fail("probs must have counts' dtype, ", dtype_name(counts.dtype()), ", got ", dtype_name(probs.dtype()));
  const DType out = c.attrs.get<DType>("dtype");
  if (!is_count_dtype(out)) c.fail("dtype must be a floating dtype, int32 or int64, got ", dtype_name(out));
  infer_parameterized_draw(c, /*stateless=*/true, infer::broadcast(c, counts.shape(), probs.shape()), out);
}

[[maybe_unused]] const bool binomial_defined = [] {
  define_op(op_name::StatelessRandomBinomial)
      .inputs(3)
      .attr_or_input("shape", AttrKind::Ints)
      .attr("dtype", AttrKind::Type)
      .api("random::stateless_binomial")
      .set_infer(infer_binomial)
      .set_infer_unresolved(infer_binomial)
      .not_differentiable()
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, seed, counts, probs
      .tf_type("S", dtype_fixed(int32))
      .tf_type("Tseed", dtype_of_input(0))
      .tf_type("T", dtype_of_input(1));
  return true;
}();

// StatelessRandomUniformFullInt(seed) {shape, dtype}: tf.random.
// stateless_uniform of int32 or int64 with no minval or maxval (what
// tf.random.split and fold_in draw): every bit pattern equally likely.
void infer_full_int(InferContext& c) {
  require_seed(c, c.inputs[0]);
  const DType t = c.attrs.get<DType>("dtype");
  if (t != int32 && t != int64) c.fail("dtype must be int32 or int64, got ", dtype_name(t));
  if (shape_known_when_it_runs(c, t)) return;
  c.outputs.push_back({t, TensorShape(sample_dims(c))});
}

[[maybe_unused]] const bool full_int_defined = [] {
  define_op(op_name::StatelessRandomUniformFullInt)
      .inputs(1)
      .attr_or_input("shape", AttrKind::Ints)
      .attr("dtype", AttrKind::Type)
      .api("random::stateless_uniform_full_int")
      .set_infer(infer_full_int)
      .set_infer_unresolved(infer_full_int)
      .not_differentiable()
      .tf_input("shape", 0, TfInputForm::Ints)  // TensorFlow's order: shape, seed
      .tf_type("T", dtype_fixed(int32))
      .tf_type("Tseed", dtype_of_input(0));
  return true;
}();

// The blocks a draw reserves in its stream: 256 per output of TensorFlow's
// PhiloxRandomOp kernels, its elements, or for Multinomial's [rows, samples]
// rows·(samples rounded up to 4)·2 (its CPU samples are doubles, two
// words); RandomShuffle's rows - 1 words, a block per 4, and none when
// there is nothing to permute (TensorFlow's RandomShuffle and
// ReserveSamples32).
uint64_t reserved_blocks(const char* op, const TensorShape& out) {
  const std::string_view name(op);
  if (name == op_name::Multinomial) return static_cast<uint64_t>(out.dim(0) * ((out.dim(1) + 3) / 4 * 4) * 2) * 256;
  if (name == op_name::RandomShuffle) {
    if (out.num_elements() <= 1 || out.dim(0) <= 1) return 0;
    return static_cast<uint64_t>(out.dim(0) - 1 + 3) / 4;
  }
  return static_cast<uint64_t>(out.num_elements()) * 256;
}

[[maybe_unused]] const bool random_ops_defined =
    define_random_op(op_name::RandomUniform, "random::uniform") &&
    define_random_op(op_name::RandomStandardNormal, "random::normal") &&
    define_random_op(op_name::TruncatedNormal, "random::truncated_normal");

constexpr int64_t kDefaultGraphSeed = 87654321;  // TensorFlow's DEFAULT_GRAPH_SEED
constexpr int64_t kMaxInt32 = 2147483647;        // random_seed._MAXINT32

// Python's seed truncation: a non-negative remainder.
int64_t truncate_seed(int64_t s) { return ((s % kMaxInt32) + kMaxInt32) % kMaxInt32; }

// Python's random.Random: MT19937 seeded by init_by_array with |seed|'s
// 32-bit words, and randint through getrandbits with rejection, so the op
// seeds drawn after set_seed(g) are those TensorFlow draws.
class PyRandom {
 public:
  explicit PyRandom(int64_t seed) {
    uint64_t a = seed < 0 ? 0 - static_cast<uint64_t>(seed) : static_cast<uint64_t>(seed);
    uint32_t key[2] = {static_cast<uint32_t>(a), static_cast<uint32_t>(a >> 32)};
    init_by_array(key, key[1] ? 2 : 1);
  }
  /// randint(0, n - 1) for 0 < n <= 2^32.
  uint64_t below(uint64_t n) {
    int k = std::bit_width(n);  // Python's n.bit_length()
    while (true) {
      uint64_t r = k >= 32 ? next() : next() >> (32 - k);
      if (r < n) return r;
    }
  }

 private:
  void init_genrand(uint32_t s) {
    mt_[0] = s;
    for (int i = 1; i < 624; ++i)
      mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    index_ = 624;
  }
  void init_by_array(const uint32_t* key, int len) {
    init_genrand(19650218u);
    int i = 1, j = 0;
    for (int k = std::max(624, len); k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] +
               static_cast<uint32_t>(j);
      if (++i >= 624) mt_[0] = mt_[623], i = 1;
      if (++j >= len) j = 0;
    }
    for (int k = 623; k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) -
               static_cast<uint32_t>(i);
      if (++i >= 624) mt_[0] = mt_[623], i = 1;
    }
    mt_[0] = 0x80000000u;
  }
  uint32_t next() {
    if (index_ >= 624) {
      for (int k = 0; k < 624; ++k) {
        uint32_t y = (mt_[k] & 0x80000000u) | (mt_[(k + 1) % 624] & 0x7fffffffu);
        mt_[k] = mt_[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
      }
      index_ = 0;
    }
    uint32_t y = mt_[index_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
  }

  uint32_t mt_[624];
  int index_ = 624;
};

struct SeedState {
  std::mutex mu;
  std::optional<int64_t> global;
  std::optional<PyRandom> op_seeds;  // random.Random(global)
  // Stream positions of the seeded ops: (op, dtypes, seed, seed2) -> counter.
  std::map<std::tuple<std::string, DType, DType, int64_t, int64_t>, philox::Stream> streams;
};
SeedState& state() {
  static SeedState s;
  return s;
}

uint64_t entropy() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// The stream of a stateful draw by `op` of `out` (an output's shape, as
// reserved_blocks reads it), advancing it. A seeded op's stream is its
// eager kernel's, one per op and dtypes as TensorFlow keeps them: `dtype`,
// and `other` where a second dtype makes another kernel (a categorical
// draw's output dtype; a Poisson draw's rate dtype does not: TensorFlow
// 2.21 continues one stream across rate dtypes, tests/samplers_test.cpp).
philox::Stream next_stream(const char* op, DType dtype, std::optional<int64_t> op_seed, const TensorShape& out,
                           std::optional<DType> other = std::nullopt) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.global && !op_seed) return {entropy(), 0, entropy()};
  int64_t seed = s.global ? truncate_seed(*s.global) : kDefaultGraphSeed;
  if (TraceHook* tracer = context().tracer) {
    // In a traced function (TensorFlow's function graph): an op without a
    // seed takes the graph's next op seed, and every op's stream is its own
    // node's, from its start (the executor continues it call after call).
    int64_t seed2 = truncate_seed(op_seed ? *op_seed : tracer->next_op_seed());
    if (seed == 0 && seed2 == 0) seed2 = kMaxInt32;
    return {static_cast<uint64_t>(seed), 0, static_cast<uint64_t>(seed2)};
  }
  if (!op_seed) {
    // A fresh op seed: a stream of its own, at its start.
    auto seed2 = static_cast<int64_t>(s.op_seeds->below(uint64_t{1} << 31));
    if (seed == 0 && seed2 == 0) seed2 = kMaxInt32;
    return {static_cast<uint64_t>(seed), 0, static_cast<uint64_t>(seed2)};
  }
  int64_t seed2 = truncate_seed(*op_seed);
  if (seed == 0 && seed2 == 0) seed2 = kMaxInt32;
  auto [it, fresh] = s.streams.try_emplace(
      {op, dtype, other.value_or(dtype), seed, seed2},
      philox::Stream{static_cast<uint64_t>(seed), 0, static_cast<uint64_t>(seed2)});
  philox::Stream start = it->second;
  it->second = start.skip(reserved_blocks(op, out));
  return start;
}

Attrs with_stream(Attrs attrs, const philox::Stream& s) {
  set_stream(attrs, s);
  return attrs;
}

Tensor draw(const char* op, const TensorShape& shape, DType dtype, const philox::Stream& s) {
  return execute1(op_def(op), std::span<const Tensor>{}, with_stream({{"shape", shape.as_vector()}, {"dtype", dtype}}, s));
}

// An integer draw of [lo, hi) (scalars of its dtype) from `s`.
Tensor draw_int(const TensorShape& shape, const Tensor& lo, const Tensor& hi, const philox::Stream& s) {
  return execute1(EMBER_OP(op_name::RandomUniformInt), {lo, hi}, with_stream({{"shape", shape.as_vector()}}, s));
}

// A scalar as the output dtype holds it (TensorFlow converts minval, maxval,
// mean and stddev to the dtype before any arithmetic).
double in_dtype(double v, DType dtype) {
  const auto f = static_cast<float>(v);  // (a 16-bit value from a double goes through float, as Eigen's)
  switch (dtype) {
    case float32:
      return f;
    case bfloat16:
      return static_cast<float>(bfloat16_t(f));
    case float16:
      return static_cast<float>(float16_t(f));
    default:
      return v;
  }
}

// mean + stddev·t, skipping the identity cases, in t's dtype.
Tensor scale_normal(Tensor t, double mean, double stddev) {
  if (stddev != 1) t = t * in_dtype(stddev, t.dtype());
  if (mean != 0) t = t + in_dtype(mean, t.dtype());
  return t;
}

// minval + (maxval - minval)·t, the difference taken in t's dtype.
Tensor scale_uniform(Tensor t, double minval, double maxval) {
  double lo = in_dtype(minval, t.dtype()), hi = in_dtype(maxval, t.dtype());
  double width = in_dtype(hi - lo, t.dtype());
  if (lo == 0) return width == 1 ? t : t * width;
  return t * width + lo;
}

void check_float(const char* api, DType dtype) {
  EMBER_CHECK(is_floating(dtype), InvalidArgument, "[", api, "] dtype must be a floating dtype, got ",
              dtype_name(dtype));
}

void check_range(const char* api, double minval, double maxval) {
  EMBER_CHECK(minval < maxval, InvalidArgument, "[", api, "] minval ", minval,
              " must be less than maxval ", maxval);
}

// The uniform draws take the floating dtypes, and int32 and int64 (an
// integer draw, TensorFlow's RandomUniformInt).
bool is_int_draw(const char* api, DType dtype) {
  if (dtype == int32 || dtype == int64) return true;
  EMBER_CHECK(is_floating(dtype), InvalidArgument, "[", api, "] dtype must be a floating dtype, int32 or int64, got ",
              dtype_name(dtype));
  return false;
}

// An integer draw's minval and maxval as scalars of its dtype: whole
// numbers the dtype holds (TensorFlow converts them to the dtype and
// refuses what does not convert). Whether minval < maxval is the kernel's
// check, made only for a draw that is not empty, as TensorFlow's.
std::pair<Tensor, Tensor> int_bounds(const char* api, double minval, double maxval, DType dtype) {
  const double limit = dtype == int32 ? 2147483648.0 : 9223372036854775808.0;  // 2^31, 2^63
  for (double v : {minval, maxval})
    EMBER_CHECK(v == std::floor(v) && v >= -limit && v < limit, InvalidArgument, "[", api,
                "] minval and maxval must be whole numbers that ", dtype_name(dtype), " holds, got ", float_repr(v));
  if (dtype == int32) return {constant(static_cast<int32_t>(minval)), constant(static_cast<int32_t>(maxval))};
  return {constant(static_cast<int64_t>(minval)), constant(static_cast<int64_t>(maxval))};
}

}  // namespace

// The stream of a stateless draw (TensorFlow's StatelessRandomGetKeyCounter):
// one Philox block of the seeds under a fixed key gives the key and the
// counter's high half.
philox::Stream stateless_stream(std::array<int64_t, 2> seed) {
  auto s0 = static_cast<uint64_t>(seed[0]), s1 = static_cast<uint64_t>(seed[1]);
  philox::Block mix = philox::philox4x32_10(
      {{static_cast<uint32_t>(s0), static_cast<uint32_t>(s0 >> 32), static_cast<uint32_t>(s1),
        static_cast<uint32_t>(s1 >> 32)}},
      0x3ec8f720u, 0x02461e29u);
  return {mix.v[0] | (static_cast<uint64_t>(mix.v[1]) << 32), 0,
          mix.v[2] | (static_cast<uint64_t>(mix.v[3]) << 32)};
}

std::pair<int64_t, uint64_t> uniform_int_range(const Tensor& minval, const Tensor& maxval) {
  const int64_t lo = minval.index_values().at(0), hi = maxval.index_values().at(0);
  EMBER_CHECK(lo < hi, InvalidArgument, "Need minval < maxval, got ", lo, " >= ", hi);
  return {lo, static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo)};
}

void set_stream(Attrs& attrs, const philox::Stream& s) {
  attrs.set("seed", static_cast<int64_t>(s.key));
  attrs.set("seed2", static_cast<int64_t>(s.hi));
  attrs.set("offset", static_cast<int64_t>(s.lo));
}

philox::Stream stream_of(const Attrs& attrs) {
  return {static_cast<uint64_t>(attrs.get<int64_t>("seed")),
          static_cast<uint64_t>(attrs.get<int64_t>("offset")),
          static_cast<uint64_t>(attrs.get<int64_t>("seed2"))};
}

void advance_stream(const OpDef& op, Attrs& attrs, const Tensor& out) {
  set_stream(attrs, stream_of(attrs).skip(reserved_blocks(op.name.c_str(), out.shape())));
}

void set_seed(int64_t seed) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.global = seed;
  s.op_seeds.emplace(seed);
  s.streams.clear();
}

void clear_seed() {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.global.reset();
  s.op_seeds.reset();
  s.streams.clear();
}

int64_t next_seed() {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.op_seeds) return static_cast<int64_t>(s.op_seeds->below(uint64_t{1} << 31));
  return static_cast<int64_t>(entropy() % static_cast<uint64_t>(kMaxInt32));
}

Tensor uniform(const TensorShape& shape, double minval, double maxval, DType dtype,
               std::optional<int64_t> seed) {
  ApiScope api("random::uniform");
  if (is_int_draw("random::uniform", dtype)) {
    auto [lo, hi] = int_bounds("random::uniform", minval, maxval, dtype);
    return draw_int(shape, lo, hi, next_stream(op_name::RandomUniformInt, dtype, seed, shape));
  }
  check_range("random::uniform", minval, maxval);
  auto s = next_stream(op_name::RandomUniform, dtype, seed, shape);
  return scale_uniform(draw(op_name::RandomUniform, shape, dtype, s), minval, maxval);
}

Tensor normal(const TensorShape& shape, double mean, double stddev, DType dtype,
              std::optional<int64_t> seed) {
  ApiScope api("random::normal");
  check_float("random::normal", dtype);
  auto s = next_stream(op_name::RandomStandardNormal, dtype, seed, shape);
  return scale_normal(draw(op_name::RandomStandardNormal, shape, dtype, s), mean, stddev);
}

Tensor truncated_normal(const TensorShape& shape, double mean, double stddev, DType dtype,
                        std::optional<int64_t> seed) {
  ApiScope api("random::truncated_normal");
  check_float("random::truncated_normal", dtype);
  auto s = next_stream(op_name::TruncatedNormal, dtype, seed, shape);
  return scale_normal(draw(op_name::TruncatedNormal, shape, dtype, s), mean, stddev);
}

Tensor stateless_uniform(const TensorShape& shape, std::array<int64_t, 2> seed, double minval,
                         double maxval, DType dtype) {
  ApiScope api("random::stateless_uniform");
  if (is_int_draw("random::stateless_uniform", dtype)) {
    auto [lo, hi] = int_bounds("random::stateless_uniform", minval, maxval, dtype);
    return draw_int(shape, lo, hi, stateless_stream(seed));
  }
  check_range("random::stateless_uniform", minval, maxval);
  return scale_uniform(draw(op_name::RandomUniform, shape, dtype, stateless_stream(seed)), minval,
                       maxval);
}

Tensor stateless_uniform(const Tensor& shape, const Tensor& seed, double minval, double maxval, DType dtype) {
  ApiScope api("random::stateless_uniform");
  if (is_int_draw("random::stateless_uniform", dtype)) {
    auto [lo, hi] = int_bounds("random::stateless_uniform", minval, maxval, dtype);
    return execute1(EMBER_OP(op_name::StatelessRandomUniformInt), {seed, lo, hi, shape}, {});
  }
  check_range("random::stateless_uniform", minval, maxval);
  Tensor u = execute1(EMBER_OP(op_name::StatelessRandomUniform), {seed, shape}, {{"dtype", dtype}});
  return scale_uniform(u, minval, maxval);
}

Tensor stateless_normal(const TensorShape& shape, std::array<int64_t, 2> seed, double mean,
                        double stddev, DType dtype) {
  ApiScope api("random::stateless_normal");
  check_float("random::stateless_normal", dtype);
  return scale_normal(draw(op_name::RandomStandardNormal, shape, dtype, stateless_stream(seed)),
                      mean, stddev);
}

Tensor stateless_normal(const Tensor& shape, const Tensor& seed, double mean, double stddev, DType dtype) {
  ApiScope api("random::stateless_normal");
  check_float("random::stateless_normal", dtype);
  Tensor t = execute1(EMBER_OP(op_name::StatelessRandomNormal), {seed, shape}, {{"dtype", dtype}});
  return scale_normal(t, mean, stddev);
}

Tensor stateless_truncated_normal(const Tensor& shape, const Tensor& seed, double mean, double stddev, DType dtype) {
  ApiScope api("random::stateless_truncated_normal");
  check_float("random::stateless_truncated_normal", dtype);
  Tensor t = execute1(EMBER_OP(op_name::StatelessTruncatedNormal), {seed, shape}, {{"dtype", dtype}});
  return scale_normal(t, mean, stddev);
}

Tensor stateless_truncated_normal(const TensorShape& shape, std::array<int64_t, 2> seed,
                                  double mean, double stddev, DType dtype) {
  ApiScope api("random::stateless_truncated_normal");
  check_float("random::stateless_truncated_normal", dtype);
  return scale_normal(draw(op_name::TruncatedNormal, shape, dtype, stateless_stream(seed)), mean,
                      stddev);
}

Tensor categorical(const Tensor& logits, int64_t num_samples, DType dtype, std::optional<int64_t> seed) {
  ApiScope api("random::categorical");
  // What the draw reserves in its stream (inference checks the shapes; where
  // a trace knows no rows, the node's stream starts afresh, whatever this says).
  const int64_t rows = logits.shape().rank_known() && logits.rank() == 2 ? std::max<int64_t>(logits.shape().dim(0), 0) : 0;
  const philox::Stream s = next_stream(op_name::Multinomial, logits.dtype(), seed,
                                       TensorShape({rows, std::max<int64_t>(num_samples, 0)}), dtype);
  return execute1(EMBER_OP(op_name::Multinomial), {logits},
                  with_stream({{"num_samples", num_samples}, {"output_dtype", dtype}}, s));
}

Tensor stateless_categorical(const Tensor& logits, int64_t num_samples, const Tensor& seed, DType dtype) {
  return execute1(EMBER_OP(op_name::StatelessMultinomial), {logits, seed},
                  {{"num_samples", num_samples}, {"output_dtype", dtype}});
}

Tensor stateless_categorical(const Tensor& logits, int64_t num_samples, std::array<int64_t, 2> seed, DType dtype) {
  return stateless_categorical(logits, num_samples, constant(std::vector<int64_t>{seed[0], seed[1]}), dtype);
}

Tensor shuffle(const Tensor& value, std::optional<int64_t> seed) {
  ApiScope api("random::shuffle");
  const philox::Stream s = next_stream(op_name::RandomShuffle, value.dtype(), seed, value.shape());
  return execute1(EMBER_OP(op_name::RandomShuffle), {value}, with_stream({}, s));
}

namespace {

// alpha broadcast against beta, as TensorFlow's wrappers do before the op
// (broadcast_to(alpha, broadcast_dynamic_shape(...))); beta undefined: 1.
Tensor gamma_alpha(const char* api, const Tensor& alpha, const Tensor& beta) {
  EMBER_CHECK(is_floating(alpha.dtype()), InvalidArgument, "[", api, "] alpha must be a floating dtype, got ",
              dtype_name(alpha.dtype()));
  if (!beta.defined()) return alpha;
  EMBER_CHECK(beta.dtype() == alpha.dtype(), InvalidArgument, "[", api, "] beta must have alpha's dtype, ",
              dtype_name(alpha.dtype()), ", got ", dtype_name(beta.dtype()));
  if (alpha.shape().is_fully_defined() && beta.shape().is_fully_defined()) {
    const TensorShape both = broadcast_shapes(alpha.shape(), beta.shape());
    return both == alpha.shape() ? alpha : broadcast_to(alpha, both);
  }
  return execute1(EMBER_OP(op_name::BroadcastTo), {alpha, shape(alpha + beta, int64)}, {});
}

// The draw divided by beta, at least the dtype's smallest normal number
// (TensorFlow's maximum(finfo.tiny, rnd / beta)).
Tensor gamma_scaled(const Tensor& draw, const Tensor& beta) {
  const double tiny = draw.dtype() == float64   ? 2.2250738585072014e-308
                      : draw.dtype() == float16 ? 6.103515625e-05
                                                : 1.1754943508222875e-38;  // float32 and bfloat16: 2^-126
  return maximum(scalar_like(draw, tiny), beta.defined() ? draw / beta : draw);
}

// A stateful gamma's or Poisson's output shape for its stream's reservation:
// the sample dimensions, then the parameter's where known (where a trace
// does not know them, the node's stream starts afresh, whatever this says;
// inference checks the shapes).
TensorShape drawn_shape(const TensorShape& shape, const Tensor& param) {
  std::vector<int64_t> out = shape.as_vector();
  if (param.shape().is_fully_defined())
    for (int j = 0; j < param.rank(); ++j) out.push_back(param.shape().dim(j));
  return TensorShape(out);
}

}  // namespace

Tensor gamma(const TensorShape& shape, const Tensor& alpha, const Tensor& beta, std::optional<int64_t> seed) {
  ApiScope api("random::gamma");
  const Tensor a = gamma_alpha("random::gamma", alpha, beta);
  const philox::Stream s = next_stream(op_name::RandomGamma, a.dtype(), seed, drawn_shape(shape, a));
  return gamma_scaled(
      execute1(EMBER_OP(op_name::RandomGamma), {a}, with_stream({{"shape", shape.as_vector()}}, s)), beta);
}

Tensor stateless_gamma(const Tensor& shape, const Tensor& seed, const Tensor& alpha, const Tensor& beta) {
  ApiScope api("random::stateless_gamma");
  const Tensor a = gamma_alpha("random::stateless_gamma", alpha, beta);
  return gamma_scaled(execute1(EMBER_OP(op_name::StatelessRandomGammaV2), {seed, a, shape}, {}), beta);
}

Tensor stateless_gamma(const TensorShape& shape, std::array<int64_t, 2> seed, const Tensor& alpha,
                       const Tensor& beta) {
  ApiScope api("random::stateless_gamma");
  const Tensor a = gamma_alpha("random::stateless_gamma", alpha, beta);
  return gamma_scaled(execute1(EMBER_OP(op_name::StatelessRandomGammaV2),
                               {constant(std::vector<int64_t>{seed[0], seed[1]}), a}, {{"shape", shape.as_vector()}}),
                      beta);
}

Tensor poisson(const TensorShape& shape, const Tensor& rate, DType dtype, std::optional<int64_t> seed) {
  ApiScope api("random::poisson");
  const philox::Stream s = next_stream(op_name::RandomPoissonV2, dtype, seed, drawn_shape(shape, rate));
  return execute1(EMBER_OP(op_name::RandomPoissonV2), {rate},
                  with_stream({{"shape", shape.as_vector()}, {"dtype", dtype}}, s));
}

Tensor stateless_poisson(const Tensor& shape, const Tensor& seed, const Tensor& rate, DType dtype) {
  return execute1(EMBER_OP(op_name::StatelessRandomPoisson), {seed, rate, shape}, {{"dtype", dtype}});
}

Tensor stateless_poisson(const TensorShape& shape, std::array<int64_t, 2> seed, const Tensor& rate, DType dtype) {
  return execute1(EMBER_OP(op_name::StatelessRandomPoisson), {constant(std::vector<int64_t>{seed[0], seed[1]}), rate},
                  {{"shape", shape.as_vector()}, {"dtype", dtype}});
}

Tensor stateless_uniform_full_int(const TensorShape& shape, std::array<int64_t, 2> seed, DType dtype) {
  return execute1(EMBER_OP(op_name::StatelessRandomUniformFullInt), {constant(std::vector<int64_t>{seed[0], seed[1]})},
                  {{"shape", shape.as_vector()}, {"dtype", dtype}});
}

Tensor stateless_uniform_full_int(const Tensor& shape, const Tensor& seed, DType dtype) {
  return execute1(EMBER_OP(op_name::StatelessRandomUniformFullInt), {seed, shape}, {{"dtype", dtype}});
}

Tensor split(const Tensor& seed, int64_t num) {
  ApiScope api("random::split");
  EMBER_CHECK(num >= 0, InvalidArgument, "[random::split] num must be non-negative, got ", num);
  return execute1(EMBER_OP(op_name::StatelessRandomUniformFullInt), {seed},
                  {{"shape", std::vector<int64_t>{num, 2}}, {"dtype", seed.dtype()}});
}

Tensor fold_in(const Tensor& seed, const Tensor& data) {
  ApiScope api("random::fold_in");
  const Tensor first = execute1(EMBER_OP(op_name::StatelessRandomUniformFullInt), {seed},
                                {{"shape", std::vector<int64_t>{}}, {"dtype", data.dtype()}});
  return stack({first, data});
}

Tensor stateless_binomial(const Tensor& shape, const Tensor& seed, const Tensor& counts, const Tensor& probs,
                          DType dtype) {
  return execute1(EMBER_OP(op_name::StatelessRandomBinomial), {seed, counts, probs, shape}, {{"dtype", dtype}});
}

Tensor stateless_binomial(const TensorShape& shape, std::array<int64_t, 2> seed, const Tensor& counts,
                          const Tensor& probs, DType dtype) {
  return execute1(EMBER_OP(op_name::StatelessRandomBinomial),
                  {constant(std::vector<int64_t>{seed[0], seed[1]}), counts, probs},
                  {{"shape", shape.as_vector()}, {"dtype", dtype}});
}

double highest(DType dtype) {
  switch (dtype) {
    case float16:
      return 65504.0;
    case bfloat16:
      return 3.3895313892515355e38;
    case float32:
      return 3.4028234663852886e38;
    case int32:
      return 2147483647.0;
    case int64:
      return 9223372036854775807.0;
    case uint8:
      return 255.0;
    default:
      return 1.7976931348623157e308;
  }
}

Tensor gamma_grad(const Tensor& alpha, const Tensor& sample) {
  return execute1(EMBER_OP(op_name::RandomGammaGrad), {alpha, sample});
}

Tensor generator_state(const philox::Stream& s) {
  return constant(std::vector<int64_t>{static_cast<int64_t>(s.lo), static_cast<int64_t>(s.hi),
                                       static_cast<int64_t>(s.key)});
}

philox::Stream generator_stream(const Tensor& state) {
  const std::vector<int64_t> v = state.index_values();
  return {static_cast<uint64_t>(v.at(2)), static_cast<uint64_t>(v.at(0)), static_cast<uint64_t>(v.at(1))};
}

namespace {

// A generator's draw: `op` on its state variable with Philox (TensorFlow's
// RNG_ALG_PHILOX, 1); `extra` the integer draw's minval and maxval.
Tensor generator_op(const Variable& state, const char* op, const TensorShape& shape, std::optional<DType> dtype,
                    std::vector<Tensor> extra = {}) {
  static const Tensor philox = constant(int64_t{1});
  std::vector<Tensor> in{state.handle(), philox};
  in.insert(in.end(), extra.begin(), extra.end());
  Attrs attrs{{"shape", shape.as_vector()}};
  if (dtype) attrs.set("dtype", *dtype);
  return execute1(op_def(op), in, attrs);
}

}  // namespace

Generator::Generator(const philox::Stream& s)
    : state_(generator_state(s), VariableOptions{.name = "StateVar", .trainable = false}) {}
Generator::Generator(uint64_t seed) : Generator(philox::Stream{0, seed, 0}) {}
Generator Generator::from_non_deterministic_state() {
  return Generator(philox::Stream{entropy(), entropy(), entropy()});
}

philox::Stream Generator::state() const { return generator_stream(state_.read_value()); }

void Generator::reset(const philox::Stream& s) { state_.assign(generator_state(s).to(state_.device())); }

Tensor Generator::uniform(const TensorShape& shape, double minval, double maxval, DType dtype) {
  ApiScope api("Generator::uniform");
  if (is_int_draw("Generator::uniform", dtype)) {
    auto [lo, hi] = int_bounds("Generator::uniform", minval, maxval, dtype);
    return generator_op(state_, op_name::StatefulUniformInt, shape, std::nullopt, {lo, hi});
  }
  check_range("Generator::uniform", minval, maxval);
  return scale_uniform(generator_op(state_, op_name::StatefulUniform, shape, dtype), minval, maxval);
}
Tensor Generator::uniform_full_int(const TensorShape& shape, DType dtype) {
  ApiScope api("Generator::uniform_full_int");
  return generator_op(state_, op_name::StatefulUniformFullInt, shape, dtype);
}

Tensor Generator::make_seeds(int64_t count) {
  ApiScope api("Generator::make_seeds");
  EMBER_CHECK(count >= 0, InvalidArgument, "[Generator::make_seeds] count must be non-negative, got ", count);
  const Tensor keys = uniform_full_int({count}, int64);
  return stack({keys, zeros_like(keys)});
}

std::vector<Generator> Generator::split(int64_t count) {
  ApiScope api("Generator::split");
  EMBER_CHECK(count >= 0, InvalidArgument, "[Generator::split] count must be non-negative, got ", count);
  const std::vector<int64_t> keys = uniform_full_int({count}, int64).index_values();
  std::vector<Generator> out;
  out.reserve(keys.size());
  for (int64_t key : keys) out.push_back(Generator(philox::Stream{static_cast<uint64_t>(key), 0, 0}));
  return out;
}

Tensor Generator::normal(const TensorShape& shape, double mean, double stddev, DType dtype) {
  ApiScope api("Generator::normal");
  check_float("Generator::normal", dtype);
  return scale_normal(generator_op(state_, op_name::StatefulStandardNormalV2, shape, dtype), mean, stddev);
}
Tensor Generator::truncated_normal(const TensorShape& shape, double mean, double stddev,
                                   DType dtype) {
  ApiScope api("Generator::truncated_normal");
  check_float("Generator::truncated_normal", dtype);
  return scale_normal(generator_op(state_, op_name::StatefulTruncatedNormal, shape, dtype), mean, stddev);
}

}  // namespace ember::random

namespace ember {

Tensor stateless_dropout(const Tensor& x, double rate, const Tensor& seed) {
  ApiScope api("stateless_dropout");
  if (rate == 0) return x;  // TensorFlow's fast path (the op's inference checks every other rate)
  return execute1(EMBER_OP(op_name::StatelessDropout), {x, seed}, {{"rate", rate}});
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------

// Dropout is linear in x with the same mask for every gradient: dx is the
// op on dy with the seed (the mask drawn again, not kept); the seed has none.
namespace ember::autograd {
namespace {

GRAD(op_name::StatelessDropout, kGradUsesInputs) {
  return {execute1(EMBER_OP(op_name::StatelessDropout), {c.grad(), c.in(1)}, c.attrs), kNone};
}
END_GRAD;

// A gamma sample's gradient in alpha: TensorFlow's implicit
// reparameterization (random_grad.py), dy·RandomGammaGrad(alpha, sample)
// summed over the sample dimensions (the leading ones; alpha's are the
// trailing ones of the sample). None for the seed.
GRAD(op_name::RandomGamma, kGradUsesAll) {
  return {unbroadcast(c.grad() * random::gamma_grad(c.in(0), c.y()), c.in(0))};
}
END_GRAD;
GRAD(op_name::StatelessRandomGammaV2, kGradUsesAll) {
  return {kNone, unbroadcast(c.grad() * random::gamma_grad(c.in(1), c.y()), c.in(1))};
}
END_GRAD;

}  // namespace
}  // namespace ember::autograd
