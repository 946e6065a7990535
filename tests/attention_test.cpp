// The transformer's fused ops against float64 references written here as
// plain loops (no ember op): scaled_dot_product_attention (masks, causal,
// lengths that are not multiples of the kernels' tiles, large logits,
// queries that attend to nothing, dropout) and layer_norm; their errors.
// Gradients are checked against central differences by the every-op loop
// (tests/op_cases.cpp), and the export (their decompositions) by its
// round trip and by TensorFlow (graph_def_test.cpp).
#include <cmath>
#include <limits>

#include "core/random.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::ScaledDotProductAttention, op_name::ScaledDotProductAttentionGrad,
                         op_name::LayerNorm, op_name::LayerNormGrad};

class AttentionTest : public DeviceTest {};

void expect_error(const std::function<void()>& f, const std::string& text) {
  const std::string e = error_of<InvalidArgument>(f);
  EXPECT_NE(e.find(text), std::string::npos) << e;
}

struct Problem {
  int64_t batch = 2, heads = 3, seq_q = 5, seq_k = 5, head_dim = 4, value_dim = 4;
  bool causal = false;
  std::vector<int64_t> mask_shape = {};  // empty: no mask
  double scale = 0;                      // 0: 1/√head_dim
  double lo = -2, hi = 2;                // the inputs' range
};

struct Reference {
  std::vector<double> out, lse;
};

// softmax(scale·q·kᵀ, masked)·v in float64, one query at a time.
Reference reference(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                    const std::vector<double>& v, const std::vector<double>& mask, double scale) {
  Reference r;
  r.out.assign(static_cast<size_t>(p.batch * p.heads * p.seq_q * p.value_dim), 0);
  r.lse.assign(static_cast<size_t>(p.batch * p.heads * p.seq_q),
               -std::numeric_limits<double>::infinity());
  const TensorShape mshape(p.mask_shape);
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t i = 0; i < p.seq_q; ++i) {
        const int64_t bh = b * p.heads + h;
        std::vector<double> s(static_cast<size_t>(p.seq_k));
        std::vector<bool> keep(static_cast<size_t>(p.seq_k), true);
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < p.seq_k; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < p.head_dim; ++e)
            dot += q[static_cast<size_t>((bh * p.seq_q + i) * p.head_dim + e)] *
                   k[static_cast<size_t>((bh * p.seq_k + j) * p.head_dim + e)];
          s[static_cast<size_t>(j)] = scale * dot;
          if (p.causal && j > i) keep[static_cast<size_t>(j)] = false;
          if (!p.mask_shape.empty()) {
            // The mask's element for (b, h, i, j), broadcast from the right.
            const int64_t full[4] = {b, h, i, j};
            std::vector<int64_t> idx;
            const int r0 = 4 - mshape.rank();
            for (int a = 0; a < mshape.rank(); ++a)
              idx.push_back(mshape.dim(a) == 1 ? 0 : full[r0 + a]);
            if (mask[static_cast<size_t>(ravel(idx, mshape))] == 0)
              keep[static_cast<size_t>(j)] = false;
          }
          if (keep[static_cast<size_t>(j)]) m = std::max(m, s[static_cast<size_t>(j)]);
        }
        if (m == -std::numeric_limits<double>::infinity()) continue;  // attends to nothing: zeros
        double sum = 0;
        for (int64_t j = 0; j < p.seq_k; ++j)
          if (keep[static_cast<size_t>(j)]) sum += std::exp(s[static_cast<size_t>(j)] - m);
        r.lse[static_cast<size_t>(bh * p.seq_q + i)] = m + std::log(sum);
        for (int64_t j = 0; j < p.seq_k; ++j) {
          if (!keep[static_cast<size_t>(j)]) continue;
          const double w = std::exp(s[static_cast<size_t>(j)] - m) / sum;
          for (int64_t e = 0; e < p.value_dim; ++e)
            r.out[static_cast<size_t>((bh * p.seq_q + i) * p.value_dim + e)] +=
                w * v[static_cast<size_t>((bh * p.seq_k + j) * p.value_dim + e)];
        }
      }
  return r;
}

void check(const Problem& p, DType dtype, uint32_t seed) {
  SCOPED_TRACE(detail::str_cat(
      dtype_name(dtype), " b", p.batch, " h", p.heads, " sq", p.seq_q, " sk", p.seq_k, " d",
      p.head_dim, " dv", p.value_dim, p.causal ? " causal" : "",
      p.mask_shape.empty() ? "" : " mask " + TensorShape(p.mask_shape).to_debug_string()));
  std::vector<double> qv, kv, vv, mv;
  Tensor q = random_tensor({p.batch, p.heads, p.seq_q, p.head_dim}, dtype, p.lo, p.hi, seed, &qv);
  Tensor k =
      random_tensor({p.batch, p.heads, p.seq_k, p.head_dim}, dtype, p.lo, p.hi, seed + 1, &kv);
  Tensor v = random_tensor({p.batch, p.heads, p.seq_k, p.value_dim}, dtype, -2, 2, seed + 2, &vv);
  AttentionOptions o{.causal = p.causal};
  if (!p.mask_shape.empty()) {
    o.mask = random_tensor(TensorShape(p.mask_shape), bool_, 0, 1, seed + 3, &mv);
  }
  if (p.scale != 0) o.scale = p.scale;
  const double scale = p.scale != 0 ? p.scale : 1 / std::sqrt(static_cast<double>(p.head_dim));
  Reference want = reference(p, qv, kv, vv, mv, scale);
  // The output, and (through the op itself) the logsumexp it keeps.
  Tensor out = scaled_dot_product_attention(q, k, v, o);
  // 16-bit inputs: float32 accumulation, one rounding of the output.
  const double rtol = dtype == float64 ? 1e-12 : dtype == float32 ? 1e-5 : 2 * rtol_for(dtype);
  const double atol = dtype == float64 ? 1e-12 : dtype == float32 ? 1e-5 : 2 * rtol_for(dtype);
  EXPECT_TRUE(
      all_close(out, want.out, TensorShape{p.batch, p.heads, p.seq_q, p.value_dim}, rtol, atol));
  std::vector<Tensor> in{q, k, v};
  if (o.mask.defined()) in.push_back(o.mask);
  auto both = execute(op_def(op_name::ScaledDotProductAttention), in,
                      {{"causal", p.causal}, {"scale", scale}, {"dropout_rate", 0.0}});
  EXPECT_EQ(both[1].dtype(), dtype == float64 ? float64 : float32);
  EXPECT_TRUE(all_close(both[1], want.lse, TensorShape{p.batch, p.heads, p.seq_q},
                        dtype == float64 ? 1e-12 : 1e-5, dtype == float64 ? 1e-12 : 1e-5));
}

TEST_P(AttentionTest, MatchesTheFloat64Reference) {
  uint32_t seed = 10;
  for (DType dtype : {float32, float64, bfloat16, float16}) {
    check({}, dtype, seed++);
    check({.causal = true}, dtype, seed++);
    check({.seq_q = 3, .seq_k = 7, .head_dim = 5, .value_dim = 2}, dtype,
          seed++);  // seq_q != seq_k, head_dim != value_dim
    check({.batch = 1, .heads = 1, .seq_q = 1, .seq_k = 1}, dtype, seed++);  // one position
    check({.seq_q = 1, .seq_k = 9, .causal = false}, dtype, seed++);  // one query over a cache
  }
}

// Tiles: a query block of 64 and key blocks of 128 on the CPU, 16 queries
// and tiles of up to 32 keys on CUDA; lengths around them.
TEST_P(AttentionTest, LengthsThatAreNotMultiplesOfTheTiles) {
  uint32_t seed = 40;
  for (int64_t seq : {17, 63, 65, 129, 200}) {
    check({.batch = 1,
           .heads = 2,
           .seq_q = seq,
           .seq_k = seq,
           .head_dim = 8,
           .value_dim = 8,
           .causal = true},
          float32, seed++);
    check({.batch = 1, .heads = 1, .seq_q = seq, .seq_k = seq + 3, .head_dim = 8, .value_dim = 8},
          float64, seed++);
  }
  // head_dim wider than a warp's 32 lanes, and not a multiple of them.
  check({.batch = 1, .heads = 1, .seq_q = 33, .seq_k = 40, .head_dim = 72, .value_dim = 40},
        float32, seed++);
}

TEST_P(AttentionTest, MasksBroadcast) {
  uint32_t seed = 60;
  for (std::vector<int64_t> shape : std::vector<std::vector<int64_t>>{
           {5}, {5, 5}, {2, 1, 5, 5}, {2, 3, 5, 5}, {1, 3, 1, 5}, {2, 1, 5, 1}}) {
    check({.mask_shape = shape}, float32, seed++);
    check({.causal = true, .mask_shape = shape}, float64, seed++);
  }
}

// Large logits: the online softmax subtracts the running maximum, so
// nothing overflows (exp(400) does in float32).
TEST_P(AttentionTest, LargeLogitsStayFinite) {
  check({.seq_q = 9, .seq_k = 150, .head_dim = 8, .value_dim = 8, .scale = 20, .lo = -3, .hi = 3},
        float32, 70);
  check({.seq_q = 9,
         .seq_k = 150,
         .head_dim = 8,
         .value_dim = 8,
         .causal = true,
         .scale = 20,
         .lo = -3,
         .hi = 3},
        float64, 71);
}

// A query whose keys are all masked attends to nothing: zeros, logsumexp
// -inf, and no gradient (torch's math backend gives NaN; Keras's softmax
// with its -1e9 mask an average of every value).
TEST_P(AttentionTest, AQueryThatAttendsToNothingGetsZeros) {
  Tensor q = random_tensor({1, 1, 2, 3}, float32, -1, 1, 80);
  Tensor k = random_tensor({1, 1, 4, 3}, float32, -1, 1, 81);
  Tensor v = random_tensor({1, 1, 4, 2}, float32, -1, 1, 82);
  Tensor mask = make({0, 0, 0, 0, 1, 0, 1, 0}, {2, 4}, bool_);
  GradientTape tape;
  tape.watch(q);
  tape.watch(k);
  tape.watch(v);
  Tensor out = scaled_dot_product_attention(q, k, v, {.mask = mask});
  std::vector<double> got = values(out);
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(got[1], 0);
  EXPECT_NE(got[2], 0);
  auto grads = tape.gradient(reduce_sum(out), {q, k, v});
  std::vector<double> dq = values(grads[0]);
  for (int e = 0; e < 3; ++e) EXPECT_EQ(dq[static_cast<size_t>(e)], 0) << "row 0 of dq";
  for (double x : dq) EXPECT_TRUE(std::isfinite(x));
  for (double x : values(grads[1])) EXPECT_TRUE(std::isfinite(x));
  std::vector<double> dv = values(grads[2]);
  EXPECT_NE(dv[0], 0);  // key 0 is attended by query 1
  EXPECT_EQ(dv[2], 0);  // key 1 by no one
  EXPECT_EQ(dv[3], 0);
}

// Traced with head_dim unknown (an unknown last dimension, an unknown
// rank), the default scale comes from q's run-time shape: the float64
// reference's output, and the gradients of the eager call, whose scale the
// op took as its attribute.
TEST_P(AttentionTest, TracedWithAnUnknownHeadDimScalesByItsRunTimeValue) {
  const Problem p{.seq_q = 3, .seq_k = 6, .head_dim = 5, .value_dim = 2, .causal = true};
  for (DType dtype : {float32, float64}) {
    SCOPED_TRACE(dtype_name(dtype));
    std::vector<double> qv, kv, vv;
    Tensor q = random_tensor({p.batch, p.heads, p.seq_q, p.head_dim}, dtype, -2, 2, 90, &qv);
    Tensor k = random_tensor({p.batch, p.heads, p.seq_k, p.head_dim}, dtype, -2, 2, 91, &kv);
    Tensor v = random_tensor({p.batch, p.heads, p.seq_k, p.value_dim}, dtype, -2, 2, 92, &vv);
    Tensor w = random_tensor({p.batch, p.heads, p.seq_q, p.value_dim}, dtype, -1, 1, 93);
    const std::vector<double> want = reference(p, qv, kv, vv, {}, 1 / std::sqrt(5.0)).out;
    auto grads_of = [&](Tensor a, Tensor b, Tensor c) {
      GradientTape tape;
      tape.watch(a);
      tape.watch(b);
      Tensor out = scaled_dot_product_attention(a, b, c, {.causal = true});
      std::vector<Tensor> g = tape.gradient(reduce_sum(out * w), {a, b});
      return std::vector<Tensor>{out, g[0], g[1]};
    };
    const std::vector<Tensor> eager = grads_of(q, k, v);
    const double tol = dtype == float64 ? 1e-12 : 1e-5;
    for (TensorShape unknown : {TensorShape{-1, -1, -1, -1}, TensorShape::unknown_rank()}) {
      SCOPED_TRACE(unknown.to_debug_string());
      auto traced = function(grads_of).get_concrete_function(TensorSpec(unknown, dtype), TensorSpec(unknown, dtype),
                                                             TensorSpec(unknown, dtype));
      std::vector<Tensor> got = traced(q, k, v);
      ASSERT_EQ(got.size(), 3u);
      EXPECT_TRUE(all_close(got[0], want, TensorShape{p.batch, p.heads, p.seq_q, p.value_dim}, tol, tol));
      for (int i : {1, 2}) EXPECT_TRUE(all_close(got[i], values(eager[i]), eager[i].shape(), tol, tol)) << i;
    }
  }
}

// Dropout drops probabilities with the stateless draw of its seed: the
// same draw, applied to a float64 reference's probabilities, gives the
// same output; the same seed the same output, another seed another.
TEST_P(AttentionTest, DropoutDropsProbabilitiesByItsSeed) {
  Problem p{.batch = 1, .heads = 2, .seq_q = 4, .seq_k = 6, .head_dim = 3, .value_dim = 2};
  std::vector<double> qv, kv, vv;
  Tensor q = random_tensor({1, 2, 4, 3}, float64, -1, 1, 90, &qv);
  Tensor k = random_tensor({1, 2, 6, 3}, float64, -1, 1, 91, &kv);
  Tensor v = random_tensor({1, 2, 6, 2}, float64, -1, 1, 92, &vv);
  Tensor seed = constant(std::vector<int64_t>{7, 3});
  const double rate = 0.4;
  Tensor out = scaled_dot_product_attention(q, k, v, {.dropout_rate = rate, .dropout_seed = seed});
  Tensor again =
      scaled_dot_product_attention(q, k, v, {.dropout_rate = rate, .dropout_seed = seed});
  Tensor other = scaled_dot_product_attention(
      q, k, v, {.dropout_rate = rate, .dropout_seed = constant(std::vector<int64_t>{8, 3})});
  EXPECT_EQ(values(out), values(again));
  EXPECT_NE(values(out), values(other));
  // The reference: probabilities from plain loops, kept where u >= rate.
  std::vector<double> u = values(
      random::stateless_uniform(constant(std::vector<int64_t>{1, 2, 4, 6}), seed, 0, 1, float32));
  std::vector<double> want(16, 0);
  const double scale = 1 / std::sqrt(3.0);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 4; ++i) {
      std::vector<double> s(6);
      double m = -1e300, sum = 0;
      for (int64_t j = 0; j < 6; ++j) {
        for (int64_t e = 0; e < 3; ++e)
          s[static_cast<size_t>(j)] += scale * qv[static_cast<size_t>((h * 4 + i) * 3 + e)] *
                                       kv[static_cast<size_t>((h * 6 + j) * 3 + e)];
        m = std::max(m, s[static_cast<size_t>(j)]);
      }
      for (double x : s) sum += std::exp(x - m);
      for (int64_t j = 0; j < 6; ++j) {
        if (u[static_cast<size_t>((h * 4 + i) * 6 + j)] < static_cast<float>(rate)) continue;
        const double w = std::exp(s[static_cast<size_t>(j)] - m) / sum / (1 - rate);
        for (int64_t e = 0; e < 2; ++e)
          want[static_cast<size_t>((h * 4 + i) * 2 + e)] +=
              w * vv[static_cast<size_t>((h * 6 + j) * 2 + e)];
      }
    }
  EXPECT_TRUE(all_close(out, want, TensorShape{1, 2, 4, 2}, 1e-12, 1e-12));
  (void)p;
}

TEST_P(AttentionTest, BadInputsNameTheOp) {
  Tensor q = zeros({2, 3, 5, 4}), k = zeros({2, 3, 6, 4}), v = zeros({2, 3, 6, 8});
  expect_error(
      [&] {
        scaled_dot_product_attention(q, zeros({2, 2, 6, 4}), v);
      },
      "[scaled_dot_product_attention] q and k differ in heads");
  expect_error([&] { scaled_dot_product_attention(q, k, zeros({1, 3, 6, 8})); }, "differ in batch");
  expect_error(
      [&] {
        scaled_dot_product_attention(q, zeros({2, 3, 6, 5}), v);
      },
      "q and k differ in head_dim");
  expect_error(
      [&] {
        scaled_dot_product_attention(q, k, zeros({2, 3, 7, 8}));
      },
      "k and v differ in sequence length");
  expect_error(
      [&] {
        scaled_dot_product_attention(zeros({3, 5, 4}), k, v);
      },
      "q [batch, heads, seq_q, head_dim] must have rank 4");
  expect_error([&] { scaled_dot_product_attention(q, cast(k, float64), v); },
               "q, k and v must have one dtype");
  expect_error(
      [&] { scaled_dot_product_attention(cast(q, int32), cast(k, int32), cast(v, int32)); },
      "q must be float32, float64, float16 or bfloat16");
  expect_error(
      [&] {
        scaled_dot_product_attention(q, k, v, {.mask = zeros({5, 6})});
      },
      "mask must be bool");
  expect_error(
      [&] {
        scaled_dot_product_attention(q, k, v, {.mask = cast(zeros({4, 6}), bool_)});
      },
      "does not broadcast to [batch, heads, seq_q, seq_k] = [2,3,5,6]");
  expect_error([&] { scaled_dot_product_attention(q, k, v, {.dropout_rate = 1}); },
               "dropout_rate must be in [0, 1)");
  expect_error([&] { scaled_dot_product_attention(q, k, v, {.dropout_rate = 0.1}); },
               "dropout_rate 0.1 needs the dropout seed");
  expect_error(
      [&] {
        scaled_dot_product_attention(
            q, zeros({2, 2, 6, 4}), v,
            {.dropout_rate = 0.1, .dropout_seed = constant(std::vector<int64_t>{1, 2})});
      },
      "q and k differ in heads");
}

// ---- layer_norm ---------------------------------------------------------------------------------

// (x - mean)/√(variance + eps)·gamma + beta per row of n, in float64.
std::vector<double> layer_norm_reference(const std::vector<double>& xv,
                                         const std::vector<double>& gv,
                                         const std::vector<double>& bv, int64_t rows, int64_t n,
                                         double eps) {
  std::vector<double> y(xv.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i)
      mean += xv[static_cast<size_t>(r * n + i)] / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i)
      var += std::pow(xv[static_cast<size_t>(r * n + i)] - mean, 2) / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i)
      y[static_cast<size_t>(r * n + i)] = (xv[static_cast<size_t>(r * n + i)] - mean) /
                                              std::sqrt(var + eps) * gv[static_cast<size_t>(i)] +
                                          bv[static_cast<size_t>(i)];
  }
  return y;
}

TEST_P(AttentionTest, LayerNormMatchesTheFloat64Reference) {
  uint32_t seed = 100;
  for (DType dtype : {float32, float64, bfloat16, float16})
    for (TensorShape shape : {TensorShape{7}, TensorShape{3, 5}, TensorShape{2, 3, 64},
                              TensorShape{4, 1}, TensorShape{2, 0, 3}}) {
      SCOPED_TRACE(detail::str_cat(dtype_name(dtype), " ", shape.to_debug_string()));
      const int64_t n = shape.dim(-1), rows = n == 0 ? 0 : shape.num_elements() / n;
      std::vector<double> xv, gv, bv;
      Tensor x = random_tensor(shape, dtype, -3, 5, seed++, &xv);
      Tensor gamma = random_tensor({n}, dtype, -2, 2, seed++, &gv);
      Tensor beta = random_tensor({n}, dtype, -2, 2, seed++, &bv);
      const double eps = 1e-3;
      const std::vector<double> want = layer_norm_reference(xv, gv, bv, rows, n, eps);
      const double tol = dtype == float64 ? 1e-12 : dtype == float32 ? 1e-5 : 2 * rtol_for(dtype);
      EXPECT_TRUE(all_close(layer_norm(x, gamma, beta, eps), want, shape, tol, 4 * tol));
    }
}

// A 16-bit x with float32 gamma and beta (a mixed-precision layer's call):
// y in x's dtype, computed in float32 and rounded once, so the same bits as
// x widened, the float32 op, and y rounded; dx likewise, dgamma and dbeta
// in float32 as the float32 op's; y against float64 as well.
TEST_P(AttentionTest, LayerNormTakesA16BitXWithFloat32Parameters) {
  uint32_t seed = 300;
  for (DType t : {bfloat16, float16}) {
    SCOPED_TRACE(dtype_name(t));
    const TensorShape shape{6, 40};
    std::vector<double> xv, gv, bv;
    Tensor x = random_tensor(shape, t, -3, 5, seed++, &xv);
    Tensor gamma = random_tensor({40}, float32, 0.5, 2, seed++, &gv);
    Tensor beta = random_tensor({40}, float32, -1, 1, seed++, &bv);
    Tensor w = random_tensor(shape, t, 0.5, 1.5, seed++);  // (exact in t and float32)
    GradientTape tape;
    tape.watch(x);
    tape.watch(gamma);
    tape.watch(beta);
    Tensor y = layer_norm(x, gamma, beta, 1e-3);
    ASSERT_EQ(y.dtype(), t);
    EXPECT_TRUE(all_close(y, layer_norm_reference(xv, gv, bv, 6, 40, 1e-3), shape, 2 * rtol_for(t),
                          4 * rtol_for(t)));
    std::vector<Tensor> g = tape.gradient(reduce_sum(cast(y, float32) * cast(w, float32)), {x, gamma, beta});
    EXPECT_EQ(g[0].dtype(), t);
    EXPECT_EQ(g[1].dtype(), float32);
    EXPECT_EQ(g[2].dtype(), float32);

    Tensor xf = cast(x, float32);
    GradientTape tape32;
    tape32.watch(xf);
    tape32.watch(gamma);
    tape32.watch(beta);
    Tensor yf = layer_norm(xf, gamma, beta, 1e-3);
    std::vector<Tensor> gf = tape32.gradient(reduce_sum(yf * cast(w, float32)), {xf, gamma, beta});
    EXPECT_EQ(values(y), values(cast(yf, t)));
    EXPECT_EQ(values(g[0]), values(cast(gf[0], t)));
    // (float32 sums, which the two instantiations may contract into FMAs
    // differently: equal to float32's rounding)
    EXPECT_TRUE(all_close(g[1], values(gf[1]), TensorShape{40}, 1e-6, 1e-6));
    EXPECT_TRUE(all_close(g[2], values(gf[2]), TensorShape{40}, 1e-6, 1e-6));
  }
}

TEST_P(AttentionTest, LayerNormBadInputsNameTheOp) {
  Tensor x = zeros({2, 4});
  expect_error([&] { layer_norm(x, zeros({3}), zeros({4})); },
               "[layer_norm] gamma must have x's last dimension");
  expect_error([&] { layer_norm(x, zeros({4}), zeros({4, 1})); }, "beta must have rank 1");
  expect_error([&] { layer_norm(x, zeros({4}), zeros({4}), -1); }, "epsilon must be");
  expect_error([&] { layer_norm(zeros({}), zeros({1}), zeros({1})); }, "x must have rank >= 1");
  expect_error([&] { layer_norm(x, cast(zeros({4}), float64), zeros({4})); },
               "gamma is float64, x float32: it must be x's dtype");
  Tensor x16 = cast(x, bfloat16);
  expect_error([&] { layer_norm(x16, cast(zeros({4}), float64), zeros({4})); },
               "gamma is float64, x bfloat16: it must be x's dtype or float32");
  expect_error([&] { layer_norm(x16, zeros({4}), cast(zeros({4}), bfloat16)); },
               "beta is bfloat16, gamma float32: they must agree");
  expect_error([&] { layer_norm(cast(x, float64), zeros({4}), zeros({4})); }, "gamma is float32, x float64");
}

// ---- gradients: the adjoint ops against central differences of the references

// The gradient of f at `inputs` (each input's values) by central differences.
std::vector<std::vector<double>> numeric_gradients(
    const std::function<double(const std::vector<std::vector<double>>&)>& f,
    std::vector<std::vector<double>> inputs) {
  std::vector<std::vector<double>> grads;
  const double eps = 1e-6;
  for (auto& x : inputs) {
    std::vector<double> g(x.size());
    for (size_t e = 0; e < x.size(); ++e) {
      const double keep = x[e];
      x[e] = keep + eps;
      const double up = f(inputs);
      x[e] = keep - eps;
      const double down = f(inputs);
      x[e] = keep;
      g[e] = (up - down) / (2 * eps);
    }
    grads.push_back(g);
  }
  return grads;
}

double weighted(const std::vector<double>& y, const std::vector<double>& w) {
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += y[i] * w[i];
  return sum;
}

void expect_gradients_near(const std::vector<Tensor>& got,
                           const std::vector<std::vector<double>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    std::vector<double> g = values(got[i]);
    ASSERT_EQ(g.size(), want[i].size()) << "input " << i;
    for (size_t e = 0; e < g.size(); ++e)
      EXPECT_NEAR(g[e], want[i][e], 1e-7 + 1e-6 * std::abs(want[i][e]))
          << "input " << i << ", element " << e;
  }
}

TEST_P(AttentionTest, GradientsMatchTheReferencesCentralDifferences) {
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "masked");
    Problem p{.batch = 1,
              .heads = 2,
              .seq_q = 4,
              .seq_k = 6,
              .head_dim = 3,
              .value_dim = 2,
              .causal = causal,
              .mask_shape = causal ? std::vector<int64_t>{} : std::vector<int64_t>{2, 4, 6}};
    std::vector<double> qv, kv, vv, mv, wv;
    Tensor q = random_tensor({1, 2, 4, 3}, float64, -1.5, 1.5, 120, &qv);
    Tensor k = random_tensor({1, 2, 6, 3}, float64, -1.5, 1.5, 121, &kv);
    Tensor v = random_tensor({1, 2, 6, 2}, float64, -1.5, 1.5, 122, &vv);
    Tensor w = random_tensor({1, 2, 4, 2}, float64, 0.5, 1.5, 123, &wv);
    AttentionOptions o{.causal = causal};
    if (!causal) o.mask = random_tensor({2, 4, 6}, bool_, 0, 1, 124, &mv);
    const double scale = 1 / std::sqrt(3.0);
    auto loss = [&](const std::vector<std::vector<double>>& x) {
      return weighted(reference(p, x[0], x[1], x[2], mv, scale).out, wv);
    };
    GradientTape tape;
    tape.watch(q);
    tape.watch(k);
    tape.watch(v);
    Tensor out = scaled_dot_product_attention(q, k, v, o);
    expect_gradients_near(tape.gradient(reduce_sum(out * w), {q, k, v}),
                          numeric_gradients(loss, {qv, kv, vv}));
  }
}

TEST_P(AttentionTest, LayerNormGradientsMatchTheReferencesCentralDifferences) {
  std::vector<double> xv, gv, bv, wv;
  Tensor x = random_tensor({3, 5}, float64, -2, 3, 130, &xv);
  Tensor gamma = random_tensor({5}, float64, 0.5, 2, 131, &gv);
  Tensor beta = random_tensor({5}, float64, -1, 1, 132, &bv);
  Tensor w = random_tensor({3, 5}, float64, 0.5, 1.5, 133, &wv);
  auto loss = [&](const std::vector<std::vector<double>>& in) {
    return weighted(layer_norm_reference(in[0], in[1], in[2], 3, 5, 0.01), wv);
  };
  GradientTape tape;
  tape.watch(x);
  tape.watch(gamma);
  tape.watch(beta);
  Tensor y = layer_norm(x, gamma, beta, 0.01);
  expect_gradients_near(tape.gradient(reduce_sum(y * w), {x, gamma, beta}),
                        numeric_gradients(loss, {xv, gv, bv}));
}

EMBER_INSTANTIATE_DEVICE_TESTS(AttentionTest);

}  // namespace
}  // namespace ember::test
