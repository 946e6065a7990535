// The transformer's fused ops, which TensorFlow lacks (each exported as its
// decomposition into TensorFlow's ops, TfMapping::composite):
//
// ScaledDotProductAttention(q, k, v[, mask][, seed]) -> (output, logsumexp):
//   q [batch, heads, seq_q, head_dim], k [batch, heads, seq_k, head_dim],
//   v [batch, heads, seq_k, value_dim], mask boolean broadcasting to
//   [batch, heads, seq_q, seq_k]; attributes causal, scale and dropout_rate
//   (with a rate, the seed: int64 [2], whose stateless uniform float32 draw
//   over [batch, heads, seq_q, seq_k] drops the probabilities below the rate,
//   drawn element by element in the kernels, never materialised). logsumexp
//   [batch, heads, seq_q] (float32, float64 for float64 inputs) is each
//   row's log Σ exp(scale·q·k) over the keys it attends to (-inf for none),
//   kept for the backward pass, which recomputes the probabilities from it
//   block by block instead of storing them.
// ScaledDotProductAttentionGrad(q, k, v, output, logsumexp, d_output,
//   d_logsumexp[, mask][, seed]) -> (dq, dk, dv).
// LayerNorm(x, gamma, beta) -> (y, mean, rstd) over the last axis, mean and
//   rstd = 1/√(variance + epsilon) of x's shape with the last axis 1
//   (float32 for 16-bit x). As FusedBatchNormV3's T and U: gamma and beta
//   are x's dtype, or float32 for a 16-bit x (what a mixed-precision layer
//   holds: no cast of x to float32 and back).
// LayerNormGrad(dy, x, gamma, mean, rstd) -> (dx, dgamma, dbeta), dx in x's
//   dtype, dgamma and dbeta in gamma's.
#include <cmath>
#include <functional>
#include <limits>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/attention_inputs.h"
#include "core/ops.h"
#include "core/ops/grad_util.h"
#include "core/ops/infer_util.h"
#include "core/random.h"

namespace ember {
namespace {

// What the kernels accumulate in: float64 for float64, float32 otherwise.
DType accumulation(DType t) { return t == float64 ? float64 : float32; }

void require_attention_float(const InferContext& c, const Tensor& t, const char* what) {
  DType d = t.dtype();
  if (d != float32 && d != float64 && d != float16 && d != bfloat16)
    c.fail(what, " must be float32, float64, float16 or bfloat16, got ", dtype_name(d));
}

// Merges dimension `a` with `b`: the known one, or a failure naming both
// (and what `context()` adds, built only then).
int64_t same_dim(const InferContext& c, int64_t a, int64_t b, const char* what,
                 const std::function<std::string()>& context = [] { return std::string(); }) {
  if (a == TensorShape::kUnknown) return b;
  if (b != TensorShape::kUnknown && a != b) c.fail(what, ": ", a, " against ", b, context());
  return a;
}

struct AttentionDims {
  int64_t batch, heads, seq_q, seq_k, head_dim, value_dim;
};

// Checks q, k, v, the optional inputs after the first `base` and the
// attributes, and returns the dimensions q, k and v agree on.
AttentionDims attention_dims(const InferContext& c, size_t base) {
  const Tensor &q = c.inputs[0], &k = c.inputs[1], &v = c.inputs[2];
  require_attention_float(c, q, "q");
  if (k.dtype() != q.dtype() || v.dtype() != q.dtype())
    c.fail("q, k and v must have one dtype, got ", dtype_name(q.dtype()), ", ",
           dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  const TensorShape qs = infer::with_rank(c, q.shape(), 4, "q [batch, heads, seq_q, head_dim]");
  const TensorShape ks = infer::with_rank(c, k.shape(), 4, "k [batch, heads, seq_k, head_dim]");
  const TensorShape vs = infer::with_rank(c, v.shape(), 4, "v [batch, heads, seq_k, value_dim]");
  auto shapes = [&] {
    return detail::str_cat(" (q ", qs.to_debug_string(), ", k ", ks.to_debug_string(), ", v ",
                           vs.to_debug_string(), ")");
  };
  AttentionDims d;
  d.batch = same_dim(c, same_dim(c, qs.dim(0), ks.dim(0), "q and k differ in batch", shapes), vs.dim(0),
                     "q, k and v differ in batch", shapes);
  d.heads = same_dim(c, same_dim(c, qs.dim(1), ks.dim(1), "q and k differ in heads", shapes), vs.dim(1),
                     "q, k and v differ in heads", shapes);
  d.seq_q = qs.dim(2);
  d.seq_k = same_dim(c, ks.dim(2), vs.dim(2), "k and v differ in sequence length", shapes);
  d.head_dim = same_dim(c, qs.dim(3), ks.dim(3), "q and k differ in head_dim", shapes);
  d.value_dim = vs.dim(3);
  const double rate = c.attrs.get<double>("dropout_rate");
  if (!(rate >= 0 && rate < 1)) c.fail("dropout_rate must be in [0, 1), got ", rate);
  const attention_inputs::Extras e = attention_inputs::extras(c.inputs, base, rate);
  if (c.inputs.size() != base + e.count()) {
    if (c.inputs.size() > base && c.inputs[base].dtype() != bool_ && rate == 0)
      c.fail("mask must be bool (true: attend), got ", dtype_name(c.inputs[base].dtype()));
    c.fail("takes ", base, " inputs, an optional boolean mask and, with dropout_rate > 0, the dropout seed; got ",
           c.inputs.size(), " inputs");
  }
  if (rate > 0) {
    if (e.seed == attention_inputs::kNone)
      c.fail("dropout_rate ", rate,
             " needs the dropout seed (int64 [2], AttentionOptions::dropout_seed) as the last input");
    const Tensor& seed = c.inputs[e.seed];
    if (seed.dtype() != int64 || !seed.shape().is_compatible_with(TensorShape{2}))
      c.fail("the dropout seed must be int64 [2], got ", dtype_name(seed.dtype()), seed.shape().to_debug_string());
  }
  if (e.mask != attention_inputs::kNone) {
    const Tensor& m = c.inputs[e.mask];
    if (m.shape().rank_known()) {
      const int r = m.shape().rank();
      if (r > 4) c.fail("mask must have rank <= 4, got shape ", m.shape().to_debug_string());
      const int64_t full[4] = {d.batch, d.heads, d.seq_q, d.seq_k};
      for (int i = 0; i < r; ++i) {
        int64_t md = m.shape().dim(i), want = full[4 - r + i];
        if (md != TensorShape::kUnknown && md != 1 && want != TensorShape::kUnknown && md != want)
          c.fail("mask of shape ", m.shape().to_debug_string(),
                 " does not broadcast to [batch, heads, seq_q, seq_k] = ",
                 TensorShape({d.batch, d.heads, d.seq_q, d.seq_k}).to_debug_string());
      }
    }
  }
  if (!std::isfinite(c.attrs.get<double>("scale"))) c.fail("scale must be finite");
  return d;
}

void infer_attention(InferContext& c) {
  AttentionDims d = attention_dims(c, attention_inputs::kForwardBase);
  const DType t = c.inputs[0].dtype();
  c.outputs.push_back({t, TensorShape{d.batch, d.heads, d.seq_q, d.value_dim}});
  c.outputs.push_back({accumulation(t), TensorShape{d.batch, d.heads, d.seq_q}});
}

void infer_attention_grad(InferContext& c) {
  AttentionDims d = attention_dims(c, attention_inputs::kGradBase);
  const DType t = c.inputs[0].dtype();
  const TensorShape out{d.batch, d.heads, d.seq_q, d.value_dim}, lse{d.batch, d.heads, d.seq_q};
  const char* names[] = {"output", "logsumexp", "d_output", "d_logsumexp"};
  const TensorShape* shapes[] = {&out, &lse, &out, &lse};
  const DType dtypes[] = {t, accumulation(t), t, accumulation(t)};
  for (size_t i = 0; i < 4; ++i) {
    const Tensor& x = c.inputs[3 + i];
    if (x.dtype() != dtypes[i] || !x.shape().is_compatible_with(*shapes[i]))
      c.fail(names[i], " must be ", dtype_name(dtypes[i]), shapes[i]->to_debug_string(), ", got ",
             dtype_name(x.dtype()), x.shape().to_debug_string());
  }
  c.outputs.push_back(
      {t, c.inputs[0].shape().rank_known() ? c.inputs[0].shape() : TensorShape::unknown_dims(4)});
  c.outputs.push_back(
      {t, c.inputs[1].shape().rank_known() ? c.inputs[1].shape() : TensorShape::unknown_dims(4)});
  c.outputs.push_back(
      {t, c.inputs[2].shape().rank_known() ? c.inputs[2].shape() : TensorShape::unknown_dims(4)});
}

// x's shape with the last axis 1 (the statistics' shape).
TensorShape statistics_shape(const TensorShape& x) {
  if (!x.rank_known() || x.rank() == 0) return x;
  std::vector<int64_t> dims = x.as_vector();
  dims.back() = 1;
  return TensorShape(dims);
}

// gamma's and beta's dtype (U, as FusedBatchNormV3's): x's, or float32 for a
// 16-bit x (a mixed-precision layer's float32 variables, read as they are).
void check_parameter_dtype(const InferContext& c, const Tensor& x, const Tensor& p, const char* name) {
  if (p.dtype() == x.dtype() || (is_half(x.dtype()) && p.dtype() == float32)) return;
  c.fail(name, " is ", dtype_name(p.dtype()), ", x ", dtype_name(x.dtype()), ": it must be x's dtype",
         is_half(x.dtype()) ? " or float32" : "");
}

// x (rank >= 1) and the [features] vectors at `first`, `first + 1`.
int64_t layer_norm_features(const InferContext& c, const Tensor& x, size_t first,
                            const char* const names[2]) {
  require_attention_float(c, x, "x");
  if (x.shape().rank_known() && x.shape().rank() < 1) c.fail("x must have rank >= 1, got a scalar");
  int64_t n = x.shape().rank_known() ? x.shape().dim(-1) : TensorShape::kUnknown;
  for (size_t i = 0; i < 2; ++i) {
    const Tensor& p = c.inputs[first + i];
    check_parameter_dtype(c, x, p, names[i]);
    if (i == 1 && p.dtype() != c.inputs[first].dtype())
      c.fail(names[1], " is ", dtype_name(p.dtype()), ", ", names[0], " ",
             dtype_name(c.inputs[first].dtype()), ": they must agree");
    TensorShape s = infer::with_rank(c, p.shape(), 1, names[i]);
    if (n != TensorShape::kUnknown && s.dim(0) != TensorShape::kUnknown && n != s.dim(0))
      c.fail(names[i], " must have x's last dimension, ", n, ", got ", s.dim(0));
    if (n == TensorShape::kUnknown) n = s.dim(0);
  }
  return n;
}

void infer_layer_norm(InferContext& c) {
  const Tensor& x = c.inputs[0];
  const char* names[] = {"gamma", "beta"};
  layer_norm_features(c, x, 1, names);
  const double eps = c.attrs.get<double>("epsilon");
  if (!(eps >= 0) || !std::isfinite(eps))
    c.fail("epsilon must be finite and non-negative, got ", eps);
  c.outputs.push_back({x.dtype(), x.shape()});
  c.outputs.push_back({accumulation(x.dtype()), statistics_shape(x.shape())});
  c.outputs.push_back({accumulation(x.dtype()), statistics_shape(x.shape())});
}

void infer_layer_norm_grad(InferContext& c) {
  const Tensor &dy = c.inputs[0], &x = c.inputs[1], &gamma = c.inputs[2];
  require_attention_float(c, x, "x");
  if (x.shape().rank_known() && x.shape().rank() < 1) c.fail("x must have rank >= 1, got a scalar");
  if (dy.dtype() != x.dtype() || !dy.shape().is_compatible_with(x.shape()))
    c.fail("dy (", dtype_name(dy.dtype()), dy.shape().to_debug_string(), ") must match x (",
           dtype_name(x.dtype()), x.shape().to_debug_string(), ")");
  const char* names[] = {"mean", "rstd"};
  for (size_t i = 0; i < 2; ++i) {
    const Tensor& s = c.inputs[3 + i];
    if (s.dtype() != accumulation(x.dtype()) ||
        !s.shape().is_compatible_with(statistics_shape(x.shape())))
      c.fail(names[i], " must be ", dtype_name(accumulation(x.dtype())),
             statistics_shape(x.shape()).to_debug_string(), ", got ", dtype_name(s.dtype()),
             s.shape().to_debug_string());
  }
  check_parameter_dtype(c, x, gamma, "gamma");
  const int64_t n =
      x.shape().rank_known() && x.shape().rank() >= 1 ? x.shape().dim(-1) : TensorShape::kUnknown;
  TensorShape gs = infer::with_rank(c, gamma.shape(), 1, "gamma");
  const int64_t features = same_dim(c, n, gs.dim(0), "gamma must have x's last dimension");
  c.outputs.push_back({x.dtype(), x.shape()});
  c.outputs.push_back({gamma.dtype(), TensorShape{features}});
  c.outputs.push_back({gamma.dtype(), TensorShape{features}});
}

// ---- decompositions: TensorFlow's form of each op, in ember's ops ----------------------------

Tensor widened(const Tensor& x) {
  return x.dtype() == accumulation(x.dtype()) ? x : cast(x, accumulation(x.dtype()));
}

// Where each query attends to each key ([seq_q, seq_k] for causal alone,
// broadcasting with the mask), or undefined for everywhere.
Tensor attends(const Tensor& q, const Tensor& k, bool causal, const Tensor& mask) {
  Tensor keep;
  if (causal) {  // key j <= query i, from the shapes at run time
    const Tensor zero = constant(int64_t{0}), one = constant(int64_t{1});
    Tensor rows = range(zero, shape_at(q, 2), one), cols = range(zero, shape_at(k, 2), one);
    keep = expand_dims(rows, 1) >= cols;
  }
  if (mask.defined()) keep = keep.defined() ? logical_and(keep, mask) : mask;
  return keep;
}

// The probabilities exp(scores - logsumexp), 0 where a query does not attend
// (so a query that attends to no key, whose logsumexp is -inf, gets zeros).
Tensor probabilities(const Tensor& scores, const Tensor& lse, const Tensor& keep) {
  Tensor p = exp(scores - expand_dims(lse, -1));
  return keep.defined() ? where(keep, p, zeros_like(p)) : p;
}

// The multiplier dropout gives each probability: 1/(1 - rate) where the
// stateless uniform float32 draw of `seed` over the probabilities' shape is
// at least the rate, else 0 (tf.nn.experimental.stateless_dropout's rule,
// drawn in float32 whatever the dtype, so every precision drops the same
// probabilities; the kernels draw the same numbers element by element).
Tensor dropout_scale(const Tensor& p, double rate, const Tensor& seed) {
  Tensor u = random::stateless_uniform(shape(p, int64), seed, 0, 1, float32);
  Tensor keep = u >= constant(static_cast<float>(rate));
  return where(keep, scalar_like(p, 1 / (1 - rate)) + zeros_like(p), zeros_like(p));
}

// Attention written with ordinary ops, in the accumulation dtype: the
// export's form of the fused op.
std::vector<Tensor> attention_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  const double scale = attrs.get<double>("scale"), rate = attrs.get<double>("dropout_rate");
  const auto e = attention_inputs::extras(in, attention_inputs::kForwardBase, rate);
  const Tensor &q = in[0], &k = in[1];
  Tensor scores = matmul(widened(q), widened(k), false, true) * scale;
  Tensor keep = attends(q, k, attrs.get<bool>("causal"),
                        e.mask == attention_inputs::kNone ? Tensor() : in[e.mask]);
  if (keep.defined())
    scores = where(keep, scores, scalar_like(scores, -std::numeric_limits<double>::infinity()));
  Tensor lse = reduce_logsumexp(scores, std::vector<int64_t>{-1});
  Tensor p = probabilities(scores, lse, keep);
  if (rate > 0) p = p * dropout_scale(p, rate, in[e.seed]);
  Tensor out = matmul(p, widened(in[2]));
  return {out.dtype() == q.dtype() ? out : cast(out, q.dtype()), lse};
}

// With D the dropout multipliers: dS = P∘(D∘dP - δ), δ = rowsum(dO∘O) -
// d_logsumexp; dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = (D∘P)ᵀ·dO.
std::vector<Tensor> attention_grad_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  const double scale = attrs.get<double>("scale"), rate = attrs.get<double>("dropout_rate");
  const auto e = attention_inputs::extras(in, attention_inputs::kGradBase, rate);
  Tensor q = widened(in[0]), k = widened(in[1]), v = widened(in[2]), out = widened(in[3]);
  const Tensor& lse = in[4];
  Tensor dout = widened(in[5]);
  const Tensor& dlse = in[6];
  Tensor keep = attends(in[0], in[1], attrs.get<bool>("causal"),
                        e.mask == attention_inputs::kNone ? Tensor() : in[e.mask]);
  Tensor p = probabilities(matmul(q, k, false, true) * scale, lse, keep);
  Tensor drop = rate > 0 ? dropout_scale(p, rate, in[e.seed]) : Tensor();
  Tensor dv = matmul(drop.defined() ? p * drop : p, dout, true, false);
  Tensor delta = reduce_sum(dout * out, std::vector<int64_t>{-1}, true) - expand_dims(dlse, -1);
  Tensor dp = matmul(dout, v, false, true);
  Tensor ds = p * ((drop.defined() ? dp * drop : dp) - delta);
  Tensor dq = matmul(ds, k) * scale, dk = matmul(ds, q, true, false) * scale;
  const DType t = in[0].dtype();
  auto back = [&](const Tensor& x) { return x.dtype() == t ? x : cast(x, t); };
  return {back(dq), back(dk), back(dv)};
}

std::vector<Tensor> layer_norm_decomposition(std::span<const Tensor> in, const Attrs& attrs) {
  Tensor x = widened(in[0]);
  const std::vector<int64_t> last{-1};
  Tensor mean = reduce_mean(x, last, true);
  Tensor centred = x - mean;
  Tensor rstd = rsqrt(reduce_mean(square(centred), last, true) + attrs.get<double>("epsilon"));
  Tensor y = centred * rstd * widened(in[1]) + widened(in[2]);
  return {y.dtype() == in[0].dtype() ? y : cast(y, in[0].dtype()), mean, rstd};
}

// x's last dimension as an int64 [1], known when it runs.
Tensor last_dim(const Tensor& x) {
  if (x.shape().rank_known()) return slice(shape(x, int64), {x.rank() - 1}, {1});
  return strided_slice(shape(x, int64), {-1}, {0}, {1}, {.end_mask = 1});
}

// x as rows of its last axis, [-1, features], through its run-time shape.
Tensor as_rows(const Tensor& x) {
  return reshape(x, concat({constant(std::vector<int64_t>{-1}), last_dim(x)}, 0));
}

// x̂ = (x - mean)·rstd, g = dy·gamma: dx = rstd·(g - mean(g) - x̂·mean(g·x̂)),
// dgamma = Σ dy·x̂, dbeta = Σ dy over every row.
std::vector<Tensor> layer_norm_grad_decomposition(std::span<const Tensor> in, const Attrs&) {
  Tensor dy = widened(in[0]), x = widened(in[1]), gamma = widened(in[2]);
  const Tensor &mean = in[3], &rstd = in[4];
  const std::vector<int64_t> last{-1};
  Tensor xhat = (x - mean) * rstd;
  Tensor g = dy * gamma;
  Tensor dx = rstd * (g - reduce_mean(g, last, true) - xhat * reduce_mean(g * xhat, last, true));
  Tensor dgamma = reduce_sum(as_rows(dy * xhat), std::vector<int64_t>{0});
  Tensor dbeta = reduce_sum(as_rows(dy), std::vector<int64_t>{0});
  auto as = [](const Tensor& v, DType t) { return v.dtype() == t ? v : cast(v, t); };
  const DType t = in[1].dtype(), u = in[2].dtype();
  return {as(dx, t), as(dgamma, u), as(dbeta, u)};
}

// clang-format off
EMBER_DEFINE_OP(op_name::ScaledDotProductAttention).variadic_inputs(3).attr("causal", AttrKind::Bool).attr("scale", AttrKind::Float).attr("dropout_rate", AttrKind::Float)
    .api("scaled_dot_product_attention").set_infer(infer_attention).set_grad_sees_undefined().tf_composite(attention_decomposition);
EMBER_DEFINE_OP(op_name::ScaledDotProductAttentionGrad).variadic_inputs(7).attr("causal", AttrKind::Bool).attr("scale", AttrKind::Float).attr("dropout_rate", AttrKind::Float)
    .api("scaled_dot_product_attention").set_infer(infer_attention_grad).not_differentiable().tf_composite(attention_grad_decomposition);
EMBER_DEFINE_OP(op_name::LayerNorm).inputs(3).attr("epsilon", AttrKind::Float)
    .api("layer_norm").set_infer(infer_layer_norm).set_grad_sees_undefined().tf_composite(layer_norm_decomposition);
EMBER_DEFINE_OP(op_name::LayerNormGrad).inputs(5)
    .api("layer_norm").set_infer(infer_layer_norm_grad).not_differentiable().tf_composite(layer_norm_grad_decomposition);
// clang-format on


// q and the scale of q·k an attention call runs with: options.scale, else
// 1/√head_dim; where a trace does not know head_dim, q times 1/√head_dim of
// its run-time shape (rounded once to q's dtype) and a scale of 1.
std::pair<Tensor, double> scaled_query(const Tensor& q, const AttentionOptions& options, const char* api) {
  if (options.scale) return {q, *options.scale};
  const int64_t head_dim = q.shape().rank_known() ? q.shape().dim(-1) : TensorShape::kUnknown;
  if (head_dim == TensorShape::kUnknown) {
    Tensor dim = strided_slice(shape(q, int64), {-1}, {0}, {1}, {.shrink_axis_mask = 1});
    return {q * cast(rsqrt(cast(dim, float64)), q.dtype()), 1.0};
  }
  EMBER_CHECK(head_dim > 0, InvalidArgument, "[", api, "] head_dim (q's last dimension) is 0");
  return {q, 1 / std::sqrt(static_cast<double>(head_dim))};
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const char* api = "scaled_dot_product_attention";
  ApiScope scope(api);
  const auto [query, scale] = scaled_query(q, options, api);
  // (The op's inference checks the rate and the seed, once for every caller.)
  const double rate = options.dropout_rate;
  std::vector<Tensor> in{query, k, v};
  if (options.mask.defined()) in.push_back(options.mask);
  if (rate > 0 && options.dropout_seed.defined()) in.push_back(options.dropout_seed);
  return execute(EMBER_OP(op_name::ScaledDotProductAttention), in,
                 {{"causal", options.causal}, {"scale", scale}, {"dropout_rate", rate}})[0];
}

// The decomposition's probabilities, without dropout.
Tensor attention_weights(const Tensor& q, const Tensor& k, const AttentionOptions& options) {
  const char* api = "attention_weights";
  ApiScope scope(api);
  const auto [query, scale] = scaled_query(q, options, api);
  Tensor scores = matmul(widened(query), widened(k), false, true) * scale;
  Tensor keep = attends(q, k, options.causal, options.mask);
  if (keep.defined())
    scores = where(keep, scores, scalar_like(scores, -std::numeric_limits<double>::infinity()));
  Tensor p = probabilities(scores, reduce_logsumexp(scores, std::vector<int64_t>{-1}), keep);
  return p.dtype() == q.dtype() ? p : cast(p, q.dtype());
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon) {
  return execute(EMBER_OP(op_name::LayerNorm), {x, gamma, beta}, {{"epsilon", epsilon}})[0];
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Both fused ops hand their backward pass to their adjoint op, which is not
// differentiated further (as FusedBatchNormGradV3). A gradient flowing into
// a statistic output (logsumexp; mean and rstd) is folded in exactly.
namespace ember::autograd {
namespace {

GRAD(op_name::ScaledDotProductAttention, kGradUsesAll) {
  const Tensor& out = c.outputs[0];
  const Tensor& lse = c.outputs[1];
  std::vector<Tensor> in{c.in(0),
                         c.in(1),
                         c.in(2),
                         out,
                         lse,
                         c.grad().defined() ? c.grad() : zeros_like(out),
                         c.output_grads[1].defined() ? c.output_grads[1] : zeros_like(lse)};
  in.insert(in.end(), c.inputs.begin() + 3, c.inputs.end());  // the mask and the dropout seed, as given
  auto g = execute(EMBER_OP(op_name::ScaledDotProductAttentionGrad), in, c.attrs);
  Grads grads{g[0], g[1], g[2]};
  grads.resize(c.inputs.size());  // none for the mask and the seed
  return grads;
}
END_GRAD;

GRAD(op_name::LayerNorm, kGradUsesAll) {
  const Tensor& x = c.x();
  const Tensor &mean = c.outputs[1], &rstd = c.outputs[2];
  auto g = execute(EMBER_OP(op_name::LayerNormGrad),
                   {c.grad().defined() ? c.grad() : zeros_like(c.y()), x, c.in(1), mean, rstd});
  Tensor dx = g[0];
  const Tensor &dmean = c.output_grads[1], &drstd = c.output_grads[2];
  if (dmean.defined() || drstd.defined()) {
    // mean = Σx/n: dx += dmean/n; rstd = (var + ε)^-½: dx -= drstd·rstd³·(x - mean)/n.
    Tensor xw = x.dtype() == mean.dtype() ? x : cast(x, mean.dtype());
    Tensor n = cast(last_dim(x), mean.dtype());
    Tensor extra = zeros_like(xw);
    if (dmean.defined()) extra = extra + dmean / n;
    if (drstd.defined()) extra = extra - drstd * rstd * rstd * rstd * (xw - mean) / n;
    dx = dx + (extra.dtype() == dx.dtype() ? extra : cast(extra, dx.dtype()));
  }
  return {dx, g[1], g[2]};
}
END_GRAD;

}  // namespace
}  // namespace ember::autograd
