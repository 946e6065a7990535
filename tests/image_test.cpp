// The image ops against references. Projective transforms: maps whose
// pixels are known by hand (identity, whole-pixel shifts, half-pixel
// shifts, a degenerate projection), their gradients by counting reads.
// Non-maximum suppression: boxes laid out by hand (overlaps known exactly),
// the textbook greedy selection in double over random boxes, soft
// suppression's closed form. TensorFlow 2.21's own pixels and selections
// are tests/saved_model_test.cpp's (EmberTransformsImagesAsTensorFlow,
// EmberSelectsTheBoxesTensorFlowSelects); central differences of the
// transform's gradient are the every-op loop's.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "graph/function.h"

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::NonMaxSuppressionV5, op_name::ImageProjectiveTransformV3};

class ImageTest : public DeviceTest {};

std::vector<int32_t> ints_of(const Tensor& t) { return t.to(Device::cpu()).to_vector<int32_t>(); }

// A [1, 3, 4, 1] image whose pixel (y, x) holds 10·y + x.
Tensor grid() { return reshape(cast(constant({0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}), float32), {1, 3, 4, 1}); }
Tensor transform(std::vector<float> t) { return constant(t, {1, 8}); }

TEST_P(ImageTest, ProjectiveTransformSamplesWherePixelsAreKnown) {
  const Tensor img = grid();
  const Tensor identity = transform({1, 0, 0, 0, 1, 0, 0, 0});
  for (const char* interpolation : {"NEAREST", "BILINEAR"})
    EXPECT_EQ(values(image_projective_transform(img, identity, {.interpolation = interpolation})), values(img));
  // Output (x, y) reads input (x + 1, y - 1): whole pixels, the rest the fill value.
  const Tensor shift = transform({1, 0, 1, 0, 1, -1, 0, 0});
  const std::vector<double> shifted{-1, -1, -1, -1, 1, 2, 3, -1, 11, 12, 13, -1};
  EXPECT_EQ(values(image_projective_transform(img, shift, {.fill_value = -1})), shifted);
  EXPECT_EQ(values(image_projective_transform(img, shift, {.interpolation = "NEAREST", .fill_value = -1})), shifted);
  // Nearest fill mode: the edge pixels instead.
  EXPECT_EQ(values(image_projective_transform(img, shift, {.fill_mode = "NEAREST"})),
            (std::vector<double>{1, 2, 3, 3, 1, 2, 3, 3, 11, 12, 13, 13}));
  // Half a pixel right: the mean of neighbours (the last column mixes in the fill value 0, weight 1/2).
  const Tensor half = transform({1, 0, 0.5f, 0, 1, 0, 0, 0});
  EXPECT_EQ(values(image_projective_transform(img, half)),
            (std::vector<double>{0.5, 1.5, 2.5, 1.5, 10.5, 11.5, 12.5, 6.5, 20.5, 21.5, 22.5, 11.5}));
  // Nearest interpolation rounds half away from zero: x + 0.5 reads x + 1.
  EXPECT_EQ(values(image_projective_transform(img, half, {.interpolation = "NEAREST", .fill_value = 9})),
            (std::vector<double>{1, 2, 3, 9, 11, 12, 13, 9, 21, 22, 23, 9}));
  // A projection of 0 (c0·x + c1·y + 1 = 0 at x = 1) reads only the fill value there.
  const Tensor degenerate = transform({1, 0, 0, 0, 1, 0, -1, 0});
  const std::vector<double> got = values(image_projective_transform(img, degenerate, {.fill_value = 5}));
  EXPECT_EQ(got[1], 5);
  EXPECT_EQ(got[0], 0);  // (x = 0: the identity)
  // Another output size; uint8 images (the bilinear mix truncated to the dtype).
  EXPECT_EQ(image_projective_transform(img, identity, {.output_shape = std::array<int64_t, 2>{2, 6}}).shape(),
            TensorShape({1, 2, 6, 1}));
  EXPECT_EQ(values(image_projective_transform(cast(img, uint8), half)),
            (std::vector<double>{0, 1, 2, 1, 10, 11, 12, 6, 20, 21, 22, 11}));
}

// The gradient is the sampling's adjoint: for whole-pixel maps, how many
// output pixels read each input pixel; for the half-pixel shift, the
// bilinear weights summed.
TEST_P(ImageTest, ProjectiveTransformGradientCountsTheReads) {
  const Tensor img = grid();
  auto gradient = [&](const Tensor& t, ProjectiveTransformOptions o) {
    GradientTape tape;
    tape.watch(img);
    Tensor y = image_projective_transform(img, t, o);
    return values(tape.gradient(reduce_sum(y), img));
  };
  EXPECT_EQ(gradient(transform({1, 0, 1, 0, 1, -1, 0, 0}), {}), (std::vector<double>{0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0}));
  // The edge pixels read twice where the nearest fill mode repeats them.
  EXPECT_EQ(gradient(transform({1, 0, 1, 0, 1, -1, 0, 0}), {.fill_mode = "NEAREST"}),
            (std::vector<double>{0, 2, 2, 4, 0, 1, 1, 2, 0, 0, 0, 0}));
  EXPECT_EQ(gradient(transform({1, 0, 0.5f, 0, 1, 0, 0, 0}), {}),
            (std::vector<double>{0.5, 1, 1, 1, 0.5, 1, 1, 1, 0.5, 1, 1, 1}));
  // Traced with no dimension known: the same.
  auto f = function([](Tensor x, Tensor t) {
    GradientTape tape;
    tape.watch(x);
    Tensor y = image_projective_transform(x, t, {.fill_mode = "NEAREST"});
    return tape.gradient(reduce_sum(y), x);
  });
  EXPECT_EQ(values(f(img, transform({1, 0, 1, 0, 1, -1, 0, 0}))), (std::vector<double>{0, 2, 2, 4, 0, 1, 1, 2, 0, 0, 0, 0}));
}

TEST_P(ImageTest, ProjectiveTransformBadInputIsNamed) {
  const Tensor img = grid(), t = transform({1, 0, 0, 0, 1, 0, 0, 0});
  auto message = [](auto f) { return error_of<InvalidArgument>(f); };
  EXPECT_NE(message([&] { image_projective_transform(reshape(img, {3, 4, 1}), t); }).find("Input images must have rank 4"),
            std::string::npos);
  EXPECT_NE(message([&] { image_projective_transform(reshape(img, {12}), t); }).find("Input images must have rank 4"),
            std::string::npos);
  // The op itself, the output size given as a tensor (what an import passes).
  EXPECT_NE(message([&] {
              execute1(op_def(op_name::ImageProjectiveTransformV3), {reshape(img, {3, 4, 1}), t, constant(0.f), constant(std::vector<int32_t>{3, 4})},
                       {{"interpolation", std::string("BILINEAR")}, {"fill_mode", std::string("CONSTANT")}});
            }).find("Input images must have rank 4"),
            std::string::npos);
  EXPECT_NE(message([&] { image_projective_transform(img, constant(std::vector<float>(6, 0.f), {1, 6})); })
                .find("Input transform should be num_images x 8 or 1 x 8"),
            std::string::npos);
  EXPECT_NE(message([&] { image_projective_transform(concat({img, img, img}, 0), constant(std::vector<float>(16, 0.f), {2, 8})); })
                .find("Input transform should be num_images x 8 or 1 x 8"),
            std::string::npos);
  EXPECT_NE(message([&] { image_projective_transform(img, t, {.interpolation = "CUBIC"}); })
                .find("interpolation must be NEAREST or BILINEAR, got 'CUBIC'"),
            std::string::npos);
  EXPECT_NE(message([&] { image_projective_transform(img, t, {.fill_mode = "MIRROR"}); })
                .find("fill_mode must be REFLECT, WRAP, CONSTANT or NEAREST, got 'MIRROR'"),
            std::string::npos);
  EXPECT_NE(message([&] { image_projective_transform(img, t, {.output_shape = std::array<int64_t, 2>{0, 3}}); })
                .find("output dimensions must be positive"),
            std::string::npos);
}

// The colour wheel's corners, known by definition: red, yellow, green,
// cyan, blue, magenta at hues k/6; gray has no hue and no saturation.
TEST_P(ImageTest, RgbToHsvAndBackAtTheColourWheelsCorners) {
  const Tensor rgb = constant({1.f, 0.f, 0.f, 1.f, 1.f, 0.f, 0.f, 1.f, 0.f, 0.f, 1.f, 1.f,  //
                               0.f, 0.f, 1.f, 1.f, 0.f, 1.f, 0.25f, 0.25f, 0.25f, 0.f, 0.f, 0.f},
                              {8, 3});
  const std::vector<double> hsv{0, 1, 1, 1 / 6.0, 1, 1, 2 / 6.0, 1, 1, 3 / 6.0, 1, 1,
                                4 / 6.0, 1, 1, 5 / 6.0, 1, 1, 0, 0, 0.25, 0, 0, 0};
  EXPECT_TRUE(all_close(rgb_to_hsv(rgb), hsv, TensorShape{8, 3}, 1e-7, 0));
  EXPECT_TRUE(all_close(hsv_to_rgb(rgb_to_hsv(rgb)), values(rgb), TensorShape{8, 3}, 1e-7, 1e-7));
  // Half saturation, value 0.8, hue 1/12 (between red and yellow): r = 0.8, g = 0.6, b = 0.4.
  EXPECT_TRUE(all_close(hsv_to_rgb(constant({1 / 12.0f, 0.5f, 0.8f}, {1, 3})), {0.8, 0.6, 0.4}, TensorShape{1, 3}, 1e-6, 0));
  EXPECT_NE(error_of<InvalidArgument>([] { rgb_to_hsv(zeros({2, 4})); }).find("input must have 3 channels but input only has 4 channels."),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { hsv_to_rgb(zeros({2, 3}, int32)); }).find("images must be a floating dtype, got int32"),
            std::string::npos);
}

// Unit squares: box 1 overlaps box 0 by half its width (IOU 1/3), box 2 is
// box 0 shifted by a tenth (IOU 0.9/1.1), box 3 is apart, box 4 is empty;
// corners in either order.
Tensor squares(DType t = float32) {
  return cast(constant({0.f, 0.f, 1.f, 1.f,      //
                        0.f, 0.5f, 1.f, 1.5f,    //
                        1.f, 1.1f, 0.f, 0.1f,    // (corners swapped)
                        5.f, 5.f, 6.f, 6.f,      //
                        2.f, 2.f, 2.f, 3.f},     // (no height)
                       {5, 4}),
              t);
}

TEST_P(ImageTest, SelectsByScoreAndDropsOverlapsAboveTheThreshold) {
  const Tensor boxes = squares(), scores = constant({0.9f, 0.8f, 0.95f, 0.3f, 0.99f});
  // 4 first (empty: overlaps nothing), then 2; 0 overlaps 2 by 0.9/1.1 and 1 overlaps 2 by 0.6/1.4.
  EXPECT_EQ(ints_of(non_max_suppression(boxes, scores, 10)), (std::vector<int32_t>{4, 2, 1, 3}));
  EXPECT_EQ(ints_of(non_max_suppression(boxes, scores, 10, 0.2)), (std::vector<int32_t>{4, 2, 3}));
  EXPECT_EQ(ints_of(non_max_suppression(boxes, scores, 10, 0.9)), (std::vector<int32_t>{4, 2, 0, 1, 3}));
  EXPECT_EQ(ints_of(non_max_suppression(boxes, scores, 2)), (std::vector<int32_t>{4, 2}));
  EXPECT_EQ(ints_of(non_max_suppression(boxes, scores, 10, 0.5, 0.85)), (std::vector<int32_t>{4, 2}));
  EXPECT_EQ(non_max_suppression(boxes, scores, 0).shape(), TensorShape({0}));
  EXPECT_EQ(non_max_suppression(zeros({0, 4}), zeros({0}), 3).shape(), TensorShape({0}));
  // Equal scores: the lower index first.
  EXPECT_EQ(ints_of(non_max_suppression(boxes, constant({0.5f, 0.5f, 0.5f, 0.5f, 0.5f}), 10)),
            (std::vector<int32_t>{0, 1, 3, 4}));
  // float16 boxes and scores (the overlaps in float32 all the same).
  EXPECT_EQ(ints_of(non_max_suppression(squares(float16), cast(scores, float16), 10)), (std::vector<int32_t>{4, 2, 1, 3}));
}

// Soft suppression's closed form: each box's score times exp(-iou²/(2σ))
// for each box selected before it, selected while above the threshold.
TEST_P(ImageTest, SoftSuppressionDecaysScoresByTheirOverlaps) {
  const Tensor boxes = slice(squares(), {0, 0}, {2, -1}), scores = constant({0.9f, 0.8f});
  const NonMaxSuppressionResult r = non_max_suppression_with_scores(boxes, scores, 10, 0.5, 0, 0.5);
  EXPECT_EQ(ints_of(r.selected_indices), (std::vector<int32_t>{0, 1}));
  const double decayed = 0.8 * std::exp(-1.0 / 9 / (2 * 0.5));  // IOU 1/3
  EXPECT_TRUE(all_close(r.selected_scores, {0.9, decayed}, TensorShape{2}, 1e-6, 0));
  // Decayed below the threshold: not selected.
  EXPECT_EQ(ints_of(non_max_suppression_with_scores(boxes, scores, 10, 0.5, 0.75, 0.5).selected_indices),
            (std::vector<int32_t>{0}));
  // Without soft suppression, the scores are the inputs'.
  const NonMaxSuppressionResult hard = non_max_suppression_with_scores(squares(), constant({0.9f, 0.8f, 0.95f, 0.3f, 0.99f}), 10);
  EXPECT_TRUE(all_close(hard.selected_scores, {0.99, 0.95, 0.8, 0.3}, TensorShape{4}, 1e-7, 0));
}

// The textbook greedy selection in double: candidates by descending score
// (ties to the lower index), each kept when its IOU with every kept box is
// at most the threshold.
std::vector<int32_t> greedy(const std::vector<double>& b, const std::vector<double>& s, int64_t k, double iou_max,
                            double score_min) {
  std::vector<int32_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t i, int32_t j) { return s[size_t(i)] > s[size_t(j)]; });
  auto iou = [&](int32_t i, int32_t j) {
    auto box = [&](int32_t q) {
      const double* p = &b[size_t(q) * 4];
      return std::array<double, 4>{std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
    };
    const auto u = box(i), v = box(j);
    const double au = (u[2] - u[0]) * (u[3] - u[1]), av = (v[2] - v[0]) * (v[3] - v[1]);
    if (au <= 0 || av <= 0) return 0.0;
    const double inter = std::max(std::min(u[2], v[2]) - std::max(u[0], v[0]), 0.0) *
                         std::max(std::min(u[3], v[3]) - std::max(u[1], v[1]), 0.0);
    return inter / (au + av - inter);
  };
  std::vector<int32_t> kept;
  for (int32_t i : order) {
    if (static_cast<int64_t>(kept.size()) == k) break;
    if (!(s[size_t(i)] > score_min)) continue;
    if (std::all_of(kept.begin(), kept.end(), [&](int32_t j) { return iou(i, j) <= iou_max; })) kept.push_back(i);
  }
  return kept;
}

TEST_P(ImageTest, HardSuppressionIsTheGreedySelection) {
  for (int seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<double> b, s;
    const Tensor boxes = random_tensor({60, 4}, float32, 0, 4, static_cast<uint32_t>(seed), &b);
    const Tensor scores = random_tensor({60}, float32, 0, 1, static_cast<uint32_t>(seed + 100), &s);
    for (double iou_max : {0.0, 0.3, 0.7})
      EXPECT_EQ(ints_of(non_max_suppression(boxes, scores, 25, iou_max, 0.2)), greedy(b, s, 25, iou_max, 0.2))
          << "iou_threshold " << iou_max;
  }
}

// Traced with no dimension known, the count of boxes read when it runs;
// the padded form (TensorFlow's V4/V5 pad_to_max_output_size).
TEST_P(ImageTest, TracedAndPadded) {
  auto f = function([](Tensor boxes, Tensor scores) { return non_max_suppression(boxes, scores, 3); });
  const Tensor boxes = squares(), scores = constant({0.9f, 0.8f, 0.95f, 0.3f, 0.99f});
  EXPECT_EQ(ints_of(f(boxes, scores)), (std::vector<int32_t>{4, 2, 1}));
  EXPECT_EQ(ints_of(f(slice(boxes, {0, 0}, {2, -1}), constant({0.9f, 0.8f}))), (std::vector<int32_t>{0, 1}));
  std::vector<Tensor> padded = execute(op_def(op_name::NonMaxSuppressionV5),
                                       {boxes, scores, constant(int32_t{6}), constant(0.5f), constant(0.5f), constant(0.f)},
                                       {{"pad_to_max_output_size", true}});
  EXPECT_EQ(ints_of(padded[0]), (std::vector<int32_t>{4, 2, 1, 0, 0, 0}));
  EXPECT_TRUE(all_close(padded[1], {0.99, 0.95, 0.8, 0, 0, 0}, TensorShape{6}, 1e-7, 0));
  EXPECT_EQ(padded[2].item<int32_t>(), 3);
}

TEST_P(ImageTest, BadInputIsNamed) {
  const Tensor boxes = squares(), scores = constant({0.9f, 0.8f, 0.95f, 0.3f, 0.99f});
  auto message = [](auto f) { return error_of<InvalidArgument>(f); };
  EXPECT_NE(message([&] { non_max_suppression(zeros({5, 3}), scores, 2); })
                .find("boxes must have 4 columns (Dimension must be 4 but is 3)"),
            std::string::npos);
  EXPECT_NE(message([&] { non_max_suppression(zeros({20}), scores, 2); }).find("boxes must be 2-D[20] (Shape must be rank 2 but is rank 1)"),
            std::string::npos);
  EXPECT_NE(message([&] { non_max_suppression(boxes, zeros({4}), 2); })
                .find("scores has incompatible shape (Dimensions must be equal, but are 5 and 4)"),
            std::string::npos);
  EXPECT_NE(message([&] { non_max_suppression(boxes, cast(scores, float64), 2); })
                .find("scores must have the boxes' dtype, float32, got float64"),
            std::string::npos);
  EXPECT_NE(message([&] { non_max_suppression(boxes, scores, 2, 1.5); }).find("iou_threshold must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(message([&] { non_max_suppression(boxes, scores, -1); }).find("max_output_size must be in [0, 2^31 - 1], got -1"),
            std::string::npos);
  EXPECT_NE(message([&] { non_max_suppression_with_scores(boxes, scores, 2, 0.5, 0, -1); })
                .find("soft_nms_sigma_val must be >= 0"),
            std::string::npos);
  EXPECT_NE(message([&] {
              execute(op_def(op_name::NonMaxSuppressionV5),
                      {boxes, scores, constant(std::vector<int32_t>{2}), constant(0.5f), constant(0.5f), constant(0.f)},
                      {{"pad_to_max_output_size", false}});
            }).find("max_output_size must be 0-D, got shape [1]"),
            std::string::npos);
}

EMBER_INSTANTIATE_DEVICE_TESTS(ImageTest);

}  // namespace
}  // namespace ember::test
