// Traced graphs as TensorFlow's GraphDef and FunctionDef
// (serialization/graph_def.h): TensorFlow imports them, runs them on the
// same inputs, and must compute what ember computed
// (tests/tf/check_graph_def.py). Two traces between them reach most ops: a
// dense and shape-op forward, and a small convolutional network's forward
// with the gradients of its loss (the gradient ops).
#include <cmath>
#include <fstream>
#include <iomanip>
#include <set>

#include "graph.pb.h"
#include "graph/control_flow.h"
#include "graph/function.h"
#include "serialization/graph_def.h"
#include "test_util.h"

namespace ember::test {
namespace {

std::vector<float> ramp(size_t n, float scale, float shift) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * scale) + shift;
  return v;
}


// Runs `cf` on `args`, writes the graph in both forms and the case, and
// has TensorFlow check both.
void check_in_tensorflow(const ConcreteFunction& cf, const std::vector<Tensor>& args, const std::string& tag) {
  std::vector<Tensor> outs = cf.call(args);
  std::string dir = temp_dir("graph_def_" + tag);
  {
    std::ofstream(dir + "/graph.pb", std::ios::binary) << graph_def(cf.graph());
    std::ofstream(dir + "/calling.pb", std::ios::binary) << graph_def_calling(cf.graph(), "__inference_" + tag);
    std::ofstream c(dir + "/case.txt");
    const Graph& g = cf.graph();
    for (size_t i = 0; i < args.size(); ++i) write_case_tensor(c, "input " + g.nodes[static_cast<size_t>(g.arguments[i])].name, args[i]);
    for (size_t i = 0; i < outs.size(); ++i) write_case_tensor(c, "output " + std::to_string(i), outs[i]);
  }
  if (tensorflow_side_in_release_suite_only()) GTEST_SKIP() << "TensorFlow's side runs in the release suite";
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string log;
  int rc = run_python(python, data_dir() + "/../tf/check_graph_def.py",
                      dir + "/graph.pb " + dir + "/calling.pb " + dir + "/case.txt", log);
  EXPECT_EQ(rc, 0) << log;
  for (const char* form : {"/graph.pb", "/calling.pb"})
    EXPECT_NE(log.find(dir + form + ": OK " + std::to_string(outs.size()) + "\n"), std::string::npos) << log;
}

TEST(GraphDefInterop, TensorFlowRunsADenseAndShapeOpGraph) {
  auto f = function(
      [](Tensor x, Tensor labels) {
        Tensor w = constant(ramp(30, 0.7f, 0.f), {6, 5});
        Tensor h = relu(matmul(x, w) + constant({0.1f, -0.2f, 0.3f, 0.f, 0.05f}));
        Tensor misc = sqrt(abs(x)) + exp(minimum(x, constant(1.f))) + log1p(abs(x)) + sigmoid(x) * tanh(x) +
                      pow(abs(x) + 1.f, constant(1.5f)) + floor(x) + square(x) / (abs(x) + 1.f) - elu(x) +
                      leaky_relu(x) + softplus(x) + maximum(x, -x) + sign(x) * rsqrt(abs(x) + 1.f) + gelu(x) +
                      gelu(x, true);
        auto parts = split(x, std::vector<int64_t>{2, 4}, 1);
        auto rows = unstack(x, 0);
        auto top = top_k(h, 2);
        return std::make_tuple(
            softmax(h), log_softmax(h), reduce_sum(h, std::vector<int64_t>{1}),
            reduce_mean(h, std::vector<int64_t>{0}, true), reduce_max(x, std::vector<int64_t>{1}),
            argmax(h, 1, int64), reshape(transpose(x, {1, 0}), {3, 8}),
            squeeze(expand_dims(reduce_min(x, std::vector<int64_t>{0}), 0), {0}),
            tile(slice(x, {0, 0}, {2, 3}), {2, 1}), concat({x, x * 2.f}, 1), stack({rows[0], rows[3]}, 1),
            parts[0], parts[1], strided_slice(x, {0, 1}, {4, 6}, {2, 2}), gather(x, floormod(labels, constant(4)), 0),
            one_hot(labels, 5), pad(x, {{1, 0}, {0, 2}}, PadMode::Constant, 0.5),
            pad(x, {{1, 1}, {2, 0}}, PadMode::Reflect), where(greater(x, constant(0.f)), x, neg(x)), misc,
            sparse_softmax_cross_entropy_with_logits(labels, h), top.values, top.indices,
            range(0, 5, 1, float32) * reduce_prod(cast(labels, float32) + 1.f),
            cast(logical_and(less(x, constant(0.5f)), logical_not(equal(x, constant(0.f)))), float32),
            broadcast_to(constant({1.f, 2.f}), TensorShape{3, 2}), floormod(cast(labels, int32), constant(3)));
      },
      {.arg_names = {"x", "labels"}});
  Tensor x = constant(ramp(24, 1.3f, 0.1f), {4, 6});
  Tensor labels = constant(std::vector<int32_t>{0, 3, 4, 1});
  check_in_tensorflow(f.get_concrete_function(x, labels), {x, labels}, "dense");
}

TEST(GraphDefInterop, TensorFlowRunsAConvNetsForwardAndGradients) {
  auto f = function(
      [](Tensor images, Tensor labels) {
        Tensor kernel = constant(ramp(18, 0.9f, 0.f), {3, 3, 1, 2});
        Tensor bias = constant({0.05f, -0.1f});
        Tensor dense = constant(ramp(18, 0.4f, -0.1f), {9, 2});
        Tensor scale = constant({1.2f, 0.8f}), offset = constant({0.1f, -0.1f});
        GradientTape tape;
        tape.watch(images);
        tape.watch(kernel);
        tape.watch(dense);
        tape.watch(scale);
        Tensor y = bias_add(conv2d(images, kernel, {.padding = "SAME"}), bias);
        y = fused_batch_norm(y, scale, offset, zeros({2}), ones({2})).y;
        y = relu(y);
        Tensor a = max_pool2d(y, {2}, {2});                      // [2, 3, 3, 2]
        Tensor b = avg_pool2d(y, {2}, {2});
        Tensor flat = reshape(a + b, {2, 9, 2});
        Tensor logits = reduce_sum(flat, std::vector<int64_t>{2});  // [2, 9]
        logits = matmul(logits, dense);
        Tensor loss = reduce_mean(sparse_softmax_cross_entropy_with_logits(labels, logits));
        auto g = tape.gradient(loss, std::vector<Source>{images, kernel, dense, scale});
        return std::make_tuple(loss, g[0], g[1], g[2], g[3]);
      },
      {.arg_names = {"images", "labels"}});
  Tensor images = constant(ramp(72, 0.37f, 0.f), {2, 6, 6, 1});
  Tensor labels = constant(std::vector<int32_t>{1, 0});
  check_in_tensorflow(f.get_concrete_function(images, labels), {images, labels}, "conv");
}

// Gradients of a broadcast the trace cannot see (unknown dimensions, an
// unknown rank): BroadcastGradientArgs, sums over axes known when the
// function runs, a mean's gradient of unknown rank.
TEST(GraphDefInterop, TensorFlowRunsGradientsOfUnknownShapes) {
  auto grads = [](Tensor x, Tensor y) { return broadcast_product_gradients(x, y); };
  Tensor a = constant(ramp(20, 0.7f, 0.1f), {4, 5}), row = constant(ramp(5, 1.1f, -0.2f), {1, 5});
  check_in_tensorflow(function(grads, {.arg_names = {"x", "y"}})
                          .get_concrete_function(TensorSpec({-1, -1}), TensorSpec({-1, -1})),
                      {a, row}, "unknown_dims");
  check_in_tensorflow(function(grads, {.arg_names = {"x", "y"}})
                          .get_concrete_function(TensorSpec(TensorShape::unknown_rank()),
                                                 TensorSpec(TensorShape::unknown_rank())),
                      {row, a}, "unknown_rank");
  // The gradients that take run-time shapes as tensors: the convolution's
  // and average pool's adjoints (their sizes as inputs, as TensorFlow's ops
  // take them), pad, slice, concat, tile, gather, gather_nd and top_k.
  auto net = [](Tensor images, Tensor kernel) {
    GradientTape tape;
    tape.watch(images);
    tape.watch(kernel);
    Tensor y = avg_pool2d(conv2d(images, kernel, {.padding = "SAME"}), {2}, {2});  // [n, h/2, w/2, 2]
    Tensor flat = reshape(y, concat({slice(shape(y, int64), {0}, {1}), constant(std::vector<int64_t>{-1})}, 0));
    Tensor mixed = concat({pad(flat, {{0, 0}, {1, 2}}), tile(slice(flat, {0, 1}, {-1, 3}), {1, 2})}, 1);
    Tensor picked = gather(mixed, constant(std::vector<int32_t>{2, 0, 2}), 1) + gather_nd(mixed, constant(std::vector<int32_t>{1, 4}, {1, 2}));
    Tensor loss = reduce_sum(square(picked)) + reduce_sum(top_k(mixed, 2).values);
    std::vector<Tensor> g = tape.gradient(loss, {images, kernel});
    return std::make_tuple(g[0], g[1]);
  };
  Tensor images = constant(ramp(72, 0.37f, 0.f), {2, 6, 6, 1}), kernel = constant(ramp(18, 0.9f, 0.f), {3, 3, 1, 2});
  check_in_tensorflow(function(net, {.arg_names = {"images", "kernel"}})
                          .get_concrete_function(TensorSpec({-1, -1, -1, 1}), TensorSpec({3, 3, 1, -1})),
                      {images, kernel}, "unknown_dims_net");
}

TEST(GraphDefInterop, TensorFlowRunsTheRemainingOpsAndTheirGradients) {
  auto f = function(
      [](Tensor x, Tensor ids) {
        Tensor table = constant(ramp(20, 0.3f, 0.2f), {5, 4});
        Tensor depth = constant(ramp(18, 0.6f, 0.f), {3, 3, 2, 1});
        Tensor bias = constant({0.3f, -0.3f});
        GradientTape tape;
        tape.watch(x);
        tape.watch(table);
        tape.watch(depth);
        tape.watch(bias);
        Tensor rows = gather(table, ids, 0);                                       // [3, 4]
        Tensor picked = gather_nd(table, constant(std::vector<int32_t>{0, 1, 4, 2}, {2, 2}));
        Tensor img = reshape(x, {1, 3, 2, 2});
        Tensor dw = depthwise_conv2d(bias_add(img, bias), depth, {.padding = "SAME"});
        Tensor mirrored = pad(x, {{1, 1}, {2, 2}}, PadMode::Symmetric);
        Tensor bm = matmul(reshape(x, {2, 3, 2}), reshape(rows, {1, 2, 6}) * constant(0.5f));  // BatchMatMulV2
        Tensor soft = softmax_cross_entropy_with_logits(softmax(x), x);
        Tensor unary = cos(x) + sin(x) * erf(x) - expm1(minimum(x, constant(1.f))) + round(x * 3.f) + ceil(x) +
                       reciprocal(abs(x) + 1.f) + selu(x) + x / (abs(x) + 2.f) + floordiv(x, constant(0.7f)) +
                       stop_gradient(x) + snapshot(x) + identity(x);
        Tensor loss = reduce_sum(rows) + reduce_sum(picked * picked) + reduce_sum(dw * dw) + reduce_sum(mirrored * mirrored) +
                      reduce_sum(bm) + reduce_sum(soft) + reduce_sum(unary);
        auto g = tape.gradient(loss, std::vector<Source>{x, table, depth, bias});
        Tensor flags = cast(logical_or(greater_equal(x, constant(0.5f)), less_equal(x, constant(-0.5f))), int32) +
                       cast(not_equal(x, constant(0.f)), int32);
        return std::make_tuple(loss, g[0], g[1], g[2], g[3], flags,
                               cast(reduce_any(greater(x, constant(0.9f)), std::vector<int64_t>{1}), int32),
                               cast(reduce_all(greater(x, constant(-2.f)), std::vector<int64_t>{1}), int32),
                               argmin(x, 1, int32),
                               scatter_nd(constant(std::vector<int32_t>{1, 3}, {2, 1}), constant({1.f, 2.f}), TensorShape{4}),
                               tensor_scatter_add(zeros({4}), constant(std::vector<int32_t>{0, 0}, {2, 1}), constant({1.f, 2.f})),
                               unsorted_segment_sum(x, constant(std::vector<int32_t>{1, 0, 1}), 2),
                               cast(in_top_k(ids, rows, 2), int32));
      },
      {.arg_names = {"x", "ids"}});
  Tensor x = constant(ramp(12, 0.8f, 0.05f), {3, 4});
  Tensor ids = constant(std::vector<int32_t>{4, 0, 2});
  check_in_tensorflow(f.get_concrete_function(x, ids), {x, ids}, "rest");
}

// The ops added for TensorFlow's SavedModels, and their gradients, traced
// with no dimension known: a top_k whose k is the row's length (tf.sort's),
// and a gather_nd with batch_dims, which TensorFlow's GatherNd lacks
// (written as one of every index prefixed with its batch coordinates).
TEST(GraphDefInterop, TensorFlowRunsTheOpsItsSavedModelsNeeded) {
  auto f = function(
      [](Tensor x, Tensor ids) {
        GradientTape tape;
        tape.watch(x);
        Tensor y = x + 3.f;  // positive
        Tensor r = round(x);
        Tensor values = cumprod(y, 1) + cumprod(y, 0, true, true) + atan2(x, y) + div_no_nan(x, r) +
                        xdivy(r, y) + xlogy(r, y) + xlog1py(r, y) + softsign(x) + truncatediv(x, constant(0.3f)) +
                        truncatemod(x, constant(0.7f)) + check_numerics(x, "finite");
        Tensor loss = reduce_sum(values * values);
        Tensor g = tape.gradient(loss, x);
        return std::make_tuple(loss, g, sort(x), argsort(x, 0, true), gather_nd(x, ids, 1),
                               truncatediv(cast(x * 10.f, int32), constant(3)));
      },
      {.arg_names = {"x", "ids"}});
  Tensor x = constant(ramp(12, 0.8f, 0.05f), {3, 4});
  Tensor ids = constant(std::vector<int32_t>{2, 0, 3, 3, 1, 1}, {3, 2, 1});
  auto cf = f.get_concrete_function(TensorSpec({-1, -1}, float32), TensorSpec({-1, -1, 1}, int32));
  check_in_tensorflow(cf, {x, ids}, "saved_model_ops");
}

// The linear-algebra ops and their gradients (band_part and eye of sizes
// known when it runs, the solves with their adjoint flags), traced with no
// dimension known.
TEST(GraphDefInterop, TensorFlowRunsTheLinearAlgebraOpsAndTheirGradients) {
  auto f = function(
      [](Tensor a, Tensor b) {
        GradientTape tape;
        tape.watch(a);
        tape.watch(b);
        const Tensor identity = eye(shape_at(a, -1));
        const Tensor well = a + identity * 4.f, spd = matmul(a, a, false, true) + identity * 3.f;
        const Tensor chol = cholesky(spd);
        const SignAndLogDeterminant s = log_matrix_determinant(well);
        const Tensor w = constant(ramp(6, 0.9f, 0.2f), {3, 2});
        Tensor loss = reduce_sum(chol * chol) + reduce_sum(matrix_inverse(well, true) * identity) +
                      reduce_sum(matrix_determinant(well)) + reduce_sum(s.log_abs_determinant) +
                      reduce_sum(matrix_solve(well, b) * w) + reduce_sum(matrix_solve(well, b, true)) +
                      reduce_sum(triangular_solve(well, b) * w) + reduce_sum(triangular_solve(well, b, false, true)) +
                      reduce_sum(cholesky_solve(chol, b) * w) + reduce_sum(band_part(a, 0, 1) * a);
        auto g = tape.gradient(loss, {a, b});
        return std::make_tuple(loss, g[0], g[1], chol, s.sign, matrix_inverse(well));
      },
      {.arg_names = {"a", "b"}});
  Tensor a = constant(ramp(18, 0.7f, 0.1f), {2, 3, 3}), b = constant(ramp(12, 1.1f, -0.2f), {2, 3, 2});
  check_in_tensorflow(f.get_concrete_function(TensorSpec({-1, -1, -1}), TensorSpec({-1, -1, -1})), {a, b}, "linalg");
}

// eigh, eigvalsh and svd (the values, and products a vector's sign does not
// change) with their gradients (shapes known: the SVD's needs them, as
// TensorFlow's), the trigonometric and hyperbolic functions with theirs,
// and stateless categorical, normal and truncated normal draws from a seed
// (TensorFlow's numbers for it: its StatelessMultinomial,
// StatelessRandomNormal and StatelessTruncatedNormal ops).
TEST(GraphDefInterop, TensorFlowRunsEighSvdTrigonometryAndStatelessCategorical) {
  auto f = function(
      [](Tensor a, Tensor x) {
        GradientTape tape;
        tape.watch(a);
        tape.watch(x);
        const EighResult eig = eigh(a);
        const SvdResult tall = svd(slice(a, {0, 0, 0}, {-1, -1, 3})), full = svd(slice(a, {0, 0, 0}, {-1, 3, -1}), true);
        const Tensor u1v1 = matmul(slice(tall.u, {0, 0, 0}, {-1, -1, 1}), slice(tall.v, {0, 0, 0}, {-1, -1, 1}), false, true);
        const Tensor w = constant(ramp(16, 0.9f, -0.1f), {4, 4});
        const Tensor inside = tanh(x) * 0.9f, above = abs(x) + 1.1f;
        const Tensor trig = tan(inside) + asin(inside) + acos(inside) * 0.5f + atan(x) + sinh(x) + cosh(x) * 0.25f +
                            asinh(x) + acosh(above) + atanh(inside);
        Tensor loss = reduce_sum(eig.eigenvalues * eig.eigenvalues) + reduce_sum(eig.eigenvectors * eig.eigenvectors * w) +
                      reduce_sum(eigvalsh(a)) + reduce_sum(tall.s) + reduce_sum(u1v1 * slice(w, {0, 0}, {-1, 3})) +
                      reduce_sum(full.s * full.s) + reduce_sum(trig * trig);
        auto g = tape.gradient(loss, {a, x});
        const Tensor seed = constant(std::vector<int64_t>{7, 3});
        const Tensor draws = random::stateless_categorical(x, 7, seed);
        const Tensor normals = random::stateless_normal(shape(x), seed) + random::stateless_truncated_normal(shape(x), seed);
        return std::make_tuple(loss, g[0], g[1], eig.eigenvalues, tall.s, u1v1, trig, draws, normals);
      },
      {.arg_names = {"a", "x"}});
  // (a quadratic phase: sin of a linear one makes rank-2 matrices, whose zero
  // singular value leaves the SVD's gradient undefined)
  const Tensor count = cast(range(32), float32);
  Tensor a = reshape(sin(count * count * 0.37f + 0.4f) * 2.f, {2, 4, 4}), x = constant(ramp(6, -1.2f, 0.45f), {2, 3});
  check_in_tensorflow(f.get_concrete_function(TensorSpec({2, 4, 4}), TensorSpec({-1, -1})), {a, x}, "eig_svd_trig");
}

// Integer draws (stateless, from a seed tensor and from a seed pair; seeded
// by an op seed), a shuffle of a matrix whose row count is known only when
// it runs, and l2_loss with its gradient: TensorFlow's
// StatelessRandomUniformInt, RandomUniformInt and RandomShuffle give
// ember's numbers.
TEST(GraphDefInterop, TensorFlowRunsIntegerDrawsAndShuffle) {
  auto f = function(
      [](Tensor x, Tensor seed) {
        GradientTape tape;
        tape.watch(x);
        const Tensor l2 = l2_loss(x);
        const Tensor g = tape.gradient(l2, x);
        const Tensor ints = random::stateless_uniform(shape(x), seed, -5, 5, int32);
        const Tensor wide = random::stateless_uniform({4}, {3, 9}, -1099511627776.0, 1099511627776.0, int64);
        const Tensor seeded = random::uniform({5}, 0, 100, int32, 6);
        return std::make_tuple(l2, g, ints, wide, seeded, random::shuffle(x, 4));
      },
      {.arg_names = {"x", "seed"}});
  Tensor x = constant(ramp(18, 0.8f, 0.05f), {6, 3});
  check_in_tensorflow(f.get_concrete_function(TensorSpec({-1, -1}), TensorSpec({2}, int64)),
                      {x, constant(std::vector<int64_t>{7, 3})}, "ints_shuffle");
}

// Gamma draws of alphas given when it runs: a stateless draw from a seed
// tensor, a seeded tf.random.gamma (its first call: TensorFlow's stream
// starts where ember's does) and the gradient in alpha: TensorFlow runs
// ember's StatelessRandomGammaV2, RandomGamma and RandomGammaGrad to
// ember's values.
TEST(GraphDefInterop, TensorFlowRunsGammaDrawsAndTheirGradient) {
  auto f = function(
      [](Tensor alpha, Tensor seed) {
        GradientTape tape;
        tape.watch(alpha);
        const Tensor y = random::stateless_gamma(constant(std::vector<int32_t>{6, 4}), seed, alpha);
        const Tensor seeded = random::gamma({5}, alpha, {}, 6);
        const Tensor loss = reduce_sum(y * y) + reduce_sum(seeded);
        return std::make_tuple(y, seeded, tape.gradient(loss, alpha));
      },
      {.arg_names = {"alpha", "seed"}});
  check_in_tensorflow(f.get_concrete_function(TensorSpec({4}), TensorSpec({2}, int64)),
                      {constant({0.3f, 1.0f, 2.5f, 9.0f}), constant(std::vector<int64_t>{7, 3})}, "gamma");
}

// Poisson and binomial draws of rates and counts given when it runs: a
// stateless Poisson draw from a seed tensor (int32 counts), a seeded
// tf.random.poisson (float32, its first call) and a stateless binomial:
// TensorFlow runs ember's StatelessRandomPoisson, RandomPoissonV2 and
// StatelessRandomBinomial to ember's counts.
TEST(GraphDefInterop, TensorFlowRunsPoissonAndBinomialDraws) {
  auto f = function(
      [](Tensor rate, Tensor seed) {
        return std::make_tuple(random::stateless_poisson(constant(std::vector<int32_t>{6, 4}), seed, rate),
                               random::poisson({5}, rate, float32, 6),
                               random::stateless_binomial(constant(std::vector<int32_t>{3, 4}), seed, rate * 10.f,
                                                          constant({0.2f, 0.5f, 0.7f, 0.95f})));
      },
      {.arg_names = {"rate", "seed"}});
  check_in_tensorflow(f.get_concrete_function(TensorSpec({4}), TensorSpec({2}, int64)),
                      {constant({0.3f, 4.0f, 10.0f, 75.0f}), constant(std::vector<int64_t>{7, 3})}, "poisson");
}

// Non-maximum suppression, hard and soft, of boxes whose count is known
// only when it runs: TensorFlow's NonMaxSuppressionV5 selects ember's boxes.
TEST(GraphDefInterop, TensorFlowRunsNonMaxSuppression) {
  auto f = function(
      [](Tensor boxes, Tensor scores) {
        const NonMaxSuppressionResult soft = non_max_suppression_with_scores(boxes, scores, 8, 0.5, 0.1, 0.4);
        return std::make_tuple(non_max_suppression(boxes, scores, 8, 0.3), soft.selected_indices, soft.selected_scores);
      },
      {.arg_names = {"boxes", "scores"}});
  const Tensor count = cast(range(40), float32);
  const Tensor corners = sin(count * count * 0.37f + 0.4f) * 3.f;
  const Tensor boxes = reshape(corners, {10, 4}), scores = (cos(cast(range(10), float32) * 2.1f) + 1.f) * 0.5f;
  check_in_tensorflow(f.get_concrete_function(TensorSpec({-1, 4}), TensorSpec({-1})), {boxes, scores}, "nms");
}

// Projective transforms of images whose size is known only when it runs,
// in every fill mode, and the gradient (the sampling's adjoint, built of
// TensorFlow's ops): TensorFlow runs ember's ImageProjectiveTransformV3 and
// the adjoint's scatters to ember's values.
TEST(GraphDefInterop, TensorFlowRunsProjectiveTransformsAndTheirGradient) {
  auto f = function(
      [](Tensor images, Tensor transforms) {
        GradientTape tape;
        tape.watch(images);
        Tensor loss = constant(0.f);
        std::vector<Tensor> outs;
        for (const char* mode : {"REFLECT", "WRAP", "CONSTANT", "NEAREST"})
          for (const char* interpolation : {"BILINEAR", "NEAREST"}) {
            Tensor y = image_projective_transform(images, transforms, {.interpolation = interpolation, .fill_mode = mode, .fill_value = 0.5});
            loss = loss + reduce_sum(y * y);
            outs.push_back(y);
          }
        Tensor g = tape.gradient(loss, images);
        return std::make_tuple(loss, g, concat(outs, 3));
      },
      {.arg_names = {"images", "transforms"}});
  const Tensor count = cast(range(2 * 5 * 6 * 3), float32);
  const Tensor images = reshape(sin(count * count * 0.37f + 0.4f), {2, 5, 6, 3});
  const Tensor transforms = constant({0.83f, -0.35f, 1.2f, 0.35f, 0.83f, -0.7f, 0.f, 0.f,  //
                                      1.1f, 0.3f, -2.6f, -0.2f, 0.8f, 1.9f, 0.04f, -0.03f},
                                     {2, 8});
  check_in_tensorflow(f.get_concrete_function(TensorSpec({-1, -1, -1, 3}), TensorSpec({-1, 8})), {images, transforms},
                      "projective");
}

// The special functions, cumulative_logsumexp, and the segment reductions
// (UnsortedSegmentSum with num_segments computed when it runs, and the
// sorted ids' checks), with their gradients, and Unique, traced with no
// dimension known.
TEST(GraphDefInterop, TensorFlowRunsTheSpecialFunctionsAndSegmentReductions) {
  auto f = function(
      [](Tensor x, Tensor ids) {
        GradientTape tape;
        tape.watch(x);
        const Tensor positive = abs(x) + 0.5f;
        const Tensor special = lgamma(positive) + digamma(positive) + erfinv(x * 0.4f) +
                               polygamma(ones_like(x) * 2.f, positive) + zeta(ones_like(x) * 3.f, positive);
        const Tensor scans = cumulative_logsumexp(x, 1) + exp(cumulative_logsumexp(x, 0, true, true));
        const Tensor segments = segment_sum(x, ids) + segment_mean(x, ids) + segment_max(x, ids) * 0.5f +
                                unsorted_segment_min(x, ids, shape_at(x, 0)) * 0.25f;
        Tensor loss = reduce_sum(special * special) + reduce_sum(scans) + reduce_sum(segments * segments);
        Tensor g = tape.gradient(loss, x);
        const UniqueValues distinct = unique(ids, int64);
        return std::make_tuple(loss, g, special, scans, segments, distinct.y, distinct.idx);
      },
      {.arg_names = {"x", "ids"}});
  Tensor x = constant(ramp(12, 0.8f, 0.05f), {4, 3});
  Tensor ids = constant(std::vector<int32_t>{0, 0, 2, 3});
  check_in_tensorflow(f.get_concrete_function(TensorSpec({-1, -1}), TensorSpec({-1}, int32)), {x, ids}, "special");
}

// The fused transformer ops (and dropout), which TensorFlow lacks, and their adjoints
// (the traced gradient): each written as its decomposition into
// TensorFlow's ops, run by TensorFlow against ember's fused kernels.
TEST(GraphDefInterop, TensorFlowRunsTheFusedTransformerOpsDecomposed) {
  auto f = function(
      [](Tensor q, Tensor k, Tensor v, Tensor mask) {
        GradientTape tape;
        tape.watch(q);
        tape.watch(k);
        tape.watch(v);
        Tensor gamma = constant({1.5f, 0.5f, 1.f}), beta = constant({0.1f, -0.2f, 0.f});
        tape.watch(gamma);
        Tensor a = scaled_dot_product_attention(q, k, v, {.causal = true, .mask = mask});
        Tensor n = layer_norm(a, gamma, beta);
        Tensor d = stateless_dropout(n, 0.25, constant(std::vector<int64_t>{4, 2}));
        // A bfloat16 x with the float32 gamma and beta (a mixed-precision layer's call).
        Tensor n16 = layer_norm(cast(a * 3.f, bfloat16), gamma, beta);
        Tensor loss = reduce_sum(n * n) + reduce_sum(scaled_dot_product_attention(q, k, v) * 0.5f) +
                      reduce_sum(d * constant(ramp(24, 0.9f, -0.3f), {1, 2, 4, 3})) +
                      reduce_sum(cast(n16, float32) * constant(ramp(24, -0.4f, 0.1f), {1, 2, 4, 3}));
        auto g = tape.gradient(loss, {q, k, v, gamma});
        return std::make_tuple(a, n, d, n16, g[0], g[1], g[2], g[3]);
      },
      {.arg_names = {"q", "k", "v", "mask"}});
  Tensor q = reshape(constant(ramp(24, 0.3f, -0.5f)), {1, 2, 4, 3});
  Tensor k = reshape(constant(ramp(30, -0.2f, 0.4f)), {1, 2, 5, 3});
  Tensor v = reshape(constant(ramp(30, 0.25f, -1.f)), {1, 2, 5, 3});
  Tensor mask = greater(constant({1.f, -1.f, 1.f, 1.f, 1.f}), constant(0.f));
  check_in_tensorflow(f.get_concrete_function(q, k, v, mask), {q, k, v, mask}, "transformer");
}

TEST(GraphDefInterop, TensorFlowRunsControlFlowWithItsFunctionLibrary) {
  auto f = function(
      [](Tensor x, Tensor n) {
        Tensor total = reduce_sum(x);
        Tensor c = cond(greater(total, constant(0.f)), [&] { return x * 2.f + total; }, [&] { return -x; });
        Tensor loop = for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                                [&](const Tensor& i, const LoopVars& v) {
                                  Tensor odd = equal(floormod(i, constant(int64_t{2})), constant(int64_t{1}));
                                  return LoopVars{v[0] + cond(odd, [&] { return x; }, [&] { return x * 0.5f; })};
                                },
                                {zeros_like(x)})[0];
        return std::make_tuple(c, loop);
      },
      {.arg_names = {"x", "n"}});
  Tensor x = constant({1.f, -0.5f, 2.f});
  Tensor n = constant(int64_t{5});
  check_in_tensorflow(f.get_concrete_function(x, n), {x, n}, "control_flow");
}

// TensorArrays, as TensorList ops: written in a loop and stacked, and the
// gradients of every list op pair, run by TensorFlow.
TEST(GraphDefInterop, TensorFlowRunsTensorArraysAndTheirGradients) {
  auto f = function(
      [](Tensor x, Tensor n) {
        GradientTape loop_tape;  // the loop's gradient (an array of unknown length): ZerosLike, OnesLike, lists
        loop_tape.watch(x);
        auto out = for_range(constant(int64_t{0}), n, constant(int64_t{1}),
                             [&](const Tensor& i, const std::pair<Tensor, TensorArray>& s) {
                               Tensor total = s.first + gather(x, i, 0);
                               return std::pair<Tensor, TensorArray>{total, s.second.write(cast(i, int32), total)};
                             },
                             std::pair<Tensor, TensorArray>{zeros({3}, float32), TensorArray(float32, 0, {.dynamic_size = true})});
        GradientTape tape;
        tape.watch(x);
        TensorArray ta = TensorArray(float32, 4).unstack(x * x);
        Tensor y = ta.read(1) * ta.read(2) + reduce_sum(ta.gather({0, 3}));
        TensorArray pieces = TensorArray(float32, 2).split(sin(x), {3, 1});
        TensorArray back = TensorArray(float32, 4).scatter({3, 2, 1, 0}, x);
        Tensor z = reduce_sum(reshape(pieces.concat(), {4, 3}) * back.stack()) + reduce_sum(y);
        Tensor grad = tape.gradient(z, x);
        Tensor stacked = out.second.stack();
        Tensor loop_loss = reduce_mean(stacked * stacked);
        Tensor loop_grad = loop_tape.gradient(loop_loss, x);
        Tensor pinned = reshape(stacked, {-1});
        pinned.set_shape(TensorShape{12});  // EnsureShape
        return std::make_tuple(stacked, out.second.size(), z, grad, loop_grad, pinned);
      },
      {.arg_names = {"x", "n"}});
  Tensor x = constant({1.f, -0.5f, 2.f, 0.25f, 3.f, -1.f, 0.5f, 1.5f, -2.f, 1.f, 0.f, 2.5f}, TensorShape{4, 3});
  Tensor n = constant(int64_t{4});
  check_in_tensorflow(f.get_concrete_function(x, n), {x, n}, "tensor_array");
}

// Every op's output-arg names, as ember's FunctionDefs use them, against
// TensorFlow's op registry (tests/tf/check_output_args.py).
TEST(GraphDefInterop, OutputArgNamesAreTensorFlows) {
  std::string python = tf_python();
  EMBER_SKIP_OR_FAIL_WITHOUT_TF(python);
  std::string dir = temp_dir("output_args");
  size_t exported = 0;
  {
    std::ofstream out(dir + "/ops.txt");
    for (const OpDef* op : registered_ops()) {
      if (op->tf.composite) continue;  // TensorFlow lacks it: exported as its decomposition
      if (op->name == op_name::Check) continue;  // exported as an Assert and an Identity (emit_check)
      ++exported;
      TensorFlowOutputArgs a = tensorflow_output_args(op->name);
      out << op->name << " " << (a.list ? "list" : "each");
      for (const std::string& n : a.names) out << " " << n;
      out << "\n";
    }
  }
  std::string log;
  int rc = run_python(python, data_dir() + "/../tf/check_output_args.py", dir + "/ops.txt", log);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("OK " + std::to_string(exported)), std::string::npos) << log;
}

// TensorFlow has no Gelu op: the export writes its decomposition, tf.nn.gelu's
// ops (TensorFlow ran them above, in the dense graph, and matched ember's
// values).
TEST(GraphDefInterop, GeluIsWrittenAsTensorFlowsOps) {
  for (bool approximate : {false, true}) {
    auto f = function([approximate](Tensor x) { return gelu(x, approximate); });
    ConcreteFunction cf = f.get_concrete_function(TensorSpec({2}));
    tensorflow::GraphDef def;
    ASSERT_TRUE(def.ParseFromString(graph_def(cf.graph())));
    std::multiset<std::string> ops;
    for (const auto& n : def.node()) ops.insert(n.op());
    EXPECT_EQ(ops.count("Gelu"), 0u);
    if (approximate) {
      EXPECT_EQ(ops.count("Tanh"), 1u);
      EXPECT_EQ(ops.count("Pow"), 1u);
      EXPECT_EQ(ops.count("Erf"), 0u);
    } else {
      EXPECT_EQ(ops.count("Erf"), 1u);
      EXPECT_EQ(ops.count("RealDiv"), 1u);
      EXPECT_EQ(ops.count("Tanh"), 0u);
    }
  }
}

}  // namespace
}  // namespace ember::test
