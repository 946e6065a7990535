// nn/losses and nn/metrics against Keras 3 (tests/tf/make_nn_fixtures.py).
#include <cmath>

#include "test_util.h"

namespace ember::test {
namespace {

using namespace losses;

class LossesTest : public DeviceTest {};

// The fixture script's inputs, recomputed.
struct Inputs {
  Tensor logits, probs, labels, onehot, soft, weights, z, y;
};
Inputs inputs() {
  const int64_t rows = 4, classes = 5;
  std::vector<double> logits, soft, z, y;
  for (int64_t r = 0; r < rows * classes; ++r) {
    logits.push_back(double((r * 37 % 17) - 8) / 4);
    soft.push_back(double((r * 13 % 7) + 1));
    z.push_back(double(((r * 5) % 9) - 4) / 2);
    y.push_back(double((r * 3) % 2));
  }
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < classes; ++c) s += soft[static_cast<size_t>(r * classes + c)];
    for (int64_t c = 0; c < classes; ++c) soft[static_cast<size_t>(r * classes + c)] /= s;
  }
  Inputs in;
  in.logits = make(logits, {rows, classes}, float32);
  in.probs = softmax(in.logits);
  in.labels = constant({1, 0, 4, 2});
  in.onehot = one_hot(in.labels, classes);
  in.soft = make(soft, {rows, classes}, float32);
  in.weights = constant({1.f, 0.5f, 2.f, 0.f});
  in.z = make(z, {rows, classes}, float32);
  in.y = make(y, {rows, classes}, float32);
  return in;
}

void expect_keras(const std::string& name, const Tensor& got, double rtol = 1e-6) {
  SCOPED_TRACE(name);
  const TfCase& want = tf_fixtures("tf_nn.txt").at(name);
  EXPECT_TRUE(all_close(got, want.values, want.shape, rtol, 1e-7));
}

TEST_P(LossesTest, MatchKeras) {
  Inputs in = inputs();
  expect_keras("loss/sparse_cce_logits", SparseCategoricalCrossentropy({.from_logits = true})(in.labels, in.logits));
  expect_keras("loss/sparse_cce_probs", SparseCategoricalCrossentropy()(in.labels, in.probs), 2e-6);
  expect_keras("loss/sparse_cce_none",
               SparseCategoricalCrossentropy({.from_logits = true, .reduction = Reduction::None})(in.labels, in.logits));
  expect_keras("loss/sparse_cce_sum",
               SparseCategoricalCrossentropy({.from_logits = true, .reduction = Reduction::Sum})(in.labels, in.logits));
  expect_keras("loss/sparse_cce_weighted",
               SparseCategoricalCrossentropy({.from_logits = true})(in.labels, in.logits, in.weights));
  expect_keras("loss/cce_logits", CategoricalCrossentropy({.from_logits = true})(in.soft, in.logits));
  expect_keras("loss/cce_probs", CategoricalCrossentropy()(in.onehot, in.probs), 2e-6);
  expect_keras("loss/cce_smoothing",
               CategoricalCrossentropy({.from_logits = true, .label_smoothing = 0.1})(in.onehot, in.logits));
  expect_keras("loss/bce_logits", BinaryCrossentropy({.from_logits = true})(in.y, in.z));
  expect_keras("loss/bce_probs", BinaryCrossentropy()(in.y, sigmoid(in.z)), 2e-6);
  expect_keras("loss/mse", MeanSquaredError()(in.y, in.z));
  expect_keras("loss/mse_none", MeanSquaredError({.reduction = Reduction::None})(in.y, in.z));
}

TEST_P(LossesTest, MetricsMatchKeras) {
  Inputs in = inputs();
  metrics::SparseCategoricalAccuracy acc;
  acc.update_state(in.labels, in.logits);
  acc.update_state(constant({0, 0, 1, 3}), in.logits);
  expect_keras("metric/sparse_categorical_accuracy", acc.result());
  metrics::Mean mean;
  mean.update_state(constant({1.f, 2.f, 4.f}));
  mean.update_state(constant(3.f), constant(2.f));
  expect_keras("metric/mean", mean.result());
  mean.reset_state();
  EXPECT_EQ(mean.result().item<float>(), 0.f);
  metrics::Accuracy exact;
  exact.update_state(constant({1, 2, 3}), constant({1, 0, 3}));
  EXPECT_FLOAT_EQ(exact.result().item<float>(), 2.f / 3);
}

TEST_P(LossesTest, LossesDifferentiateAndRejectBadShapes) {
  Inputs in = inputs();
  GradientTape tape;
  tape.watch(in.logits);
  Tensor l = SparseCategoricalCrossentropy({.from_logits = true})(in.labels, in.logits);
  Tensor g = tape.gradient(l, in.logits);
  // d/dlogits of the mean: (softmax - onehot) / rows.
  EXPECT_TRUE(all_close(g, values((softmax(in.logits) - in.onehot) / 4.0), {4, 5}, 1e-6, 1e-7));
  EXPECT_THROW(CategoricalCrossentropy()(constant({1.f, 0.f}), in.probs), InvalidArgument);
  EXPECT_THROW(MeanSquaredError()(in.y, constant({1, 2})), InvalidArgument);
  EXPECT_THROW(SparseCategoricalCrossentropy()(constant({1, 0}), in.probs), InvalidArgument);
}

EMBER_INSTANTIATE_DEVICE_TESTS(LossesTest);

}  // namespace
}  // namespace ember::test
