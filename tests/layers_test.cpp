// nn/layers: variables built from the first input under the layer's scope,
// the arithmetic against float64 references (and Keras's dropout masks),
// gradients through layers, and a small model trained to low loss.
#include <cmath>

#include "test_util.h"

namespace ember::test {
namespace {

using namespace layers;

class LayersTest : public DeviceTest {
 protected:
  void TearDown() override { random::clear_seed(); }
};

TEST_P(LayersTest, DenseBuildsNamedVariablesAndComputes) {
  auto d = std::make_shared<Dense>(3, DenseOptions{.activation = "relu", .name = "dense_test"});
  EXPECT_FALSE(d->built());
  std::vector<double> xv;
  Tensor x = random_tensor({4, 5}, float32, -1, 1, 2, &xv);
  Tensor y = (*d)(x);
  EXPECT_TRUE(d->built());
  EXPECT_EQ(d->kernel.name(), "dense_test/kernel:0");
  EXPECT_EQ(d->bias.name(), "dense_test/bias:0");
  EXPECT_EQ(d->trainable_variables().size(), 2u);
  auto w = values(d->kernel.read_value());
  std::vector<double> want(12);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int k = 0; k < 5; ++k) s += xv[static_cast<size_t>(r * 5 + k)] * w[static_cast<size_t>(k * 3 + c)];
      want[static_cast<size_t>(r * 3 + c)] = std::max(s, 0.0);
    }
  EXPECT_TRUE(all_close(y, want, {4, 3}, 1e-5, 1e-6));
  // Glorot uniform's limit for fans 5 and 3.
  for (double v : w) EXPECT_LE(std::fabs(v), std::sqrt(6.0 / 8));
  // Rank-3 inputs apply to the last axis.
  EXPECT_EQ((*d)(random_tensor({2, 4, 5}, float32, -1, 1, 3)).shape(), (TensorShape{2, 4, 3}));
  // Also in a trace that knows neither leading dimension (reshaped through the
  // run-time shape, the last dimension still known).
  auto traced = function(
      [d](Tensor in) {
        Tensor out = (*d)(in);
        EXPECT_EQ(out.shape(), (TensorShape{-1, -1, 3}));
        return out;
      },
      {.input_signature = std::vector<TensorSpec>{TensorSpec({-1, -1, 5})}});
  Tensor x3 = random_tensor({2, 4, 5}, float32, -1, 1, 4);
  EXPECT_TRUE(all_close(traced(x3), values((*d)(x3)), {2, 4, 3}, 1e-6, 1e-6));
  EXPECT_THROW((*d)(random_tensor({4, 6}, float32, -1, 1, 3)), InvalidArgument);
}

TEST_P(LayersTest, UniqueNamesAndActivations) {
  Dense a(2), b(2);
  EXPECT_NE(a.name(), b.name());
  EXPECT_EQ(b.name().rfind("dense", 0), 0u);
  EXPECT_THROW(activation("relu7"), InvalidArgument);
  Tensor x = constant({-1.f, 2.f});
  EXPECT_EQ(values(activation("relu")(x)), (std::vector<double>{0, 2}));
  EXPECT_EQ(values(activation("linear")(x)), (std::vector<double>{-1, 2}));
  EXPECT_NEAR(values(activation("silu")(x))[1], 2 / (1 + std::exp(-2.0)), 1e-6);
}

TEST_P(LayersTest, DropoutDrawsKerassMasks) {
  Dropout d(0.3, 7);
  std::vector<double> xv;
  for (int i = 1; i <= 20; ++i) xv.push_back(i);
  Tensor x = make(xv, {4, 5}, float32);
  EXPECT_EQ(values(d(x, false)), xv);  // inference: the identity
  for (const char* name : {"layer/dropout_call0", "layer/dropout_call1"}) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures("tf_nn.txt").at(name);
    EXPECT_TRUE(all_close(d(x, true), want.values, want.shape, 1e-6, 0));
  }
  EXPECT_EQ(values(d.seed_state.read_value()), (std::vector<double>{7, 2}));
  EXPECT_THROW(Dropout(1.0), InvalidArgument);
  // Traced (TensorFlow runs dropout in a tf.function): the seed is read as
  // the function runs, so each call draws Keras's next mask, as eagerly;
  // the batch may be of any size.
  Dropout traced(0.3, 7);
  auto step = function([&](Tensor in) { return traced(in, true); },
                       {.input_signature = std::vector<TensorSpec>{TensorSpec({-1, 5}, float32)}});
  for (const char* name : {"layer/dropout_call0", "layer/dropout_call1"}) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures("tf_nn.txt").at(name);
    EXPECT_TRUE(all_close(step(x), want.values, want.shape, 1e-6, 0));
  }
  EXPECT_EQ(step.list_concrete_functions().size(), 1u);
  EXPECT_EQ(values(traced.seed_state.read_value()), (std::vector<double>{7, 2}));
}

TEST_P(LayersTest, NormalizationMatchesReferences) {
  std::vector<double> xv;
  Tensor x = random_tensor({6, 4}, float64, -3, 3, 5, &xv);
  auto ref = [&](bool per_row) {
    std::vector<double> out(xv.size()), mean(per_row ? 6 : 4, 0), var(per_row ? 6 : 4, 0);
    for (size_t i = 0; i < xv.size(); ++i) mean[per_row ? i / 4 : i % 4] += xv[i] / (per_row ? 4 : 6);
    for (size_t i = 0; i < xv.size(); ++i) {
      double d = xv[i] - mean[per_row ? i / 4 : i % 4];
      var[per_row ? i / 4 : i % 4] += d * d / (per_row ? 4 : 6);
    }
    for (size_t i = 0; i < xv.size(); ++i) {
      size_t k = per_row ? i / 4 : i % 4;
      out[i] = (xv[i] - mean[k]) / std::sqrt(var[k] + 1e-3);
    }
    return std::make_tuple(out, mean, var);
  };
  LayerNormalization ln;
  EXPECT_TRUE(all_close(ln(cast(x, float32)), std::get<0>(ref(true)), {6, 4}, 1e-5, 1e-5));
  BatchNormalization bn;
  auto [bn_out, mean, var] = ref(false);
  Tensor xf = cast(x, float32);
  EXPECT_TRUE(all_close(bn(xf, true), bn_out, {6, 4}, 1e-5, 1e-5));
  std::vector<double> mm(4), mv(4);
  for (int i = 0; i < 4; ++i) {
    mm[static_cast<size_t>(i)] = 0.01 * mean[static_cast<size_t>(i)];
    mv[static_cast<size_t>(i)] = 0.99 + 0.01 * var[static_cast<size_t>(i)];
  }
  EXPECT_TRUE(all_close(bn.moving_mean.read_value(), mm, {4}, 1e-5, 1e-6));
  EXPECT_TRUE(all_close(bn.moving_variance.read_value(), mv, {4}, 1e-5, 1e-6));
  EXPECT_EQ(bn.trainable_variables().size(), 2u);
  EXPECT_EQ(bn.variables().size(), 4u);
  // Inference uses the moving statistics.
  std::vector<double> inf(xv.size());
  for (size_t i = 0; i < xv.size(); ++i)
    inf[i] = (xv[i] - mm[i % 4]) / std::sqrt(mv[i % 4] + 1e-3);
  EXPECT_TRUE(all_close(bn(xf, false), inf, {6, 4}, 1e-5, 1e-5));
}

TEST_P(LayersTest, EmbeddingFlattenAndSequential) {
  Embedding e(10, 3);
  Tensor ids = constant({{1, 2}, {9, 1}});
  Tensor out = e(ids);
  EXPECT_EQ(out.shape(), (TensorShape{2, 2, 3}));
  auto table = values(e.embeddings.read_value());
  auto got = values(out);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(got[static_cast<size_t>(6 + k)], table[static_cast<size_t>(27 + k)]);  // ids[1][0] = 9
  Flatten f;
  EXPECT_EQ(f(out).shape(), (TensorShape{2, 6}));
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Flatten>(), std::make_shared<Dense>(8, DenseOptions{.activation = "relu"}),
      std::make_shared<Dense>(2)});
  EXPECT_EQ((*model)(random_tensor({5, 2, 3}, float32, -1, 1, 1)).shape(), (TensorShape{5, 2}));
  EXPECT_EQ(model->trainable_variables().size(), 4u);
  EXPECT_EQ(model->layers().size(), 3u);
}

TEST_P(LayersTest, ConvolutionAndPoolingLayers) {
  Conv2D conv(4, {3}, {.padding = "same", .activation = "relu", .name = "conv_test"});
  Tensor x = random_tensor({2, 6, 6, 3}, float32, -1, 1, 9);
  Tensor y = conv(x);
  EXPECT_EQ(y.shape(), (TensorShape{2, 6, 6, 4}));
  EXPECT_EQ(conv.kernel.name(), "conv_test/kernel:0");
  EXPECT_EQ(conv.kernel.shape(), (TensorShape{3, 3, 3, 4}));
  Tensor want = relu(bias_add(conv2d(x, conv.kernel.read_value(), {.padding = "SAME"}), conv.bias.read_value()));
  EXPECT_EQ(values(y), values(want));
  DepthwiseConv2D dw({3}, 2);
  EXPECT_EQ(dw(x).shape(), (TensorShape{2, 4, 4, 6}));
  EXPECT_EQ(dw.depthwise_kernel.shape(), (TensorShape{3, 3, 3, 2}));
  EXPECT_EQ(MaxPool2D()(y).shape(), (TensorShape{2, 3, 3, 4}));
  EXPECT_EQ(AveragePooling2D({3}, {2}, "same")(y).shape(), (TensorShape{2, 3, 3, 4}));
  EXPECT_THROW(Conv2D(4, {3}, {.padding = "full"}), InvalidArgument);
  EXPECT_THROW(conv(random_tensor({2, 6, 6}, float32, -1, 1, 9)), InvalidArgument);
}

// A two-layer network learns XOR-like labels with Adam: the whole stack
// (layers, loss, gradients, fused updates) working together.
TEST_P(LayersTest, SmallNetworkTrains) {
  random::set_seed(1);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Dense>(16, DenseOptions{.activation = "tanh"}), std::make_shared<Dense>(2)});
  optimizers::Adam opt(0.05);
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  Tensor x = constant({{0.f, 0.f}, {0.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}});
  Tensor y = constant({0, 1, 1, 0});
  float first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    GradientTape tape;
    Tensor loss = loss_fn(y, (*model)(x, true));
    auto vars = model->trainable_variables();
    opt.apply(tape.gradient(loss, vars), vars);
    if (step == 0) first = loss.item<float>();
    last = loss.item<float>();
  }
  EXPECT_GT(first, 0.5f);
  EXPECT_LT(last, 0.05f);
  metrics::SparseCategoricalAccuracy acc;
  acc.update_state(y, (*model)(x));
  EXPECT_EQ(acc.result().item<float>(), 1.f);
}

// A small convolutional network learns where a bright patch is (left or
// right half of an 8×8 image): convolution, pooling, flatten, dense, Adam.
TEST_P(LayersTest, SmallConvolutionalNetworkTrains) {
  random::set_seed(2);
  const int64_t n = 32;
  std::vector<double> img(static_cast<size_t>(n * 64), 0.0), labels(static_cast<size_t>(n));
  for (int64_t b = 0; b < n; ++b) {
    int64_t right = b % 2, row = (b / 2) % 6, col = right * 4 + (b / 4) % 3;
    labels[static_cast<size_t>(b)] = double(right);
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) img[static_cast<size_t>(b * 64 + (row + i) * 8 + col + j)] = 1.0;
  }
  Tensor x = make(img, {n, 8, 8, 1}, float32), y = cast(make(labels, {n}, float32), int32);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Conv2D>(4, std::vector<int64_t>{3}, Conv2DOptions{.padding = "same", .activation = "relu"}),
      std::make_shared<MaxPool2D>(), std::make_shared<Flatten>(), std::make_shared<Dense>(2)});
  optimizers::Adam opt(0.02);
  losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
  float last = 0;
  for (int step = 0; step < 150; ++step) {
    GradientTape tape;
    Tensor loss = loss_fn(y, (*model)(x, true));
    auto vars = model->trainable_variables();
    opt.apply(tape.gradient(loss, vars), vars);
    last = loss.item<float>();
  }
  EXPECT_LT(last, 0.1f);
  metrics::SparseCategoricalAccuracy acc;
  acc.update_state(y, (*model)(x));
  EXPECT_EQ(acc.result().item<float>(), 1.f);
}

EMBER_INSTANTIATE_DEVICE_TESTS(LayersTest);

}  // namespace
}  // namespace ember::test
