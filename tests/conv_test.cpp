// Convolutions against a float64 reference written from the definition
// (padded coordinates, dilated taps), against TensorFlow's outputs
// (tests/tf/make_nn_fixtures.py), and their adjoints through the
// dot-product identity <conv(x, f), g> = <x, dx(f, g)> = <f, df(x, g)>.
#include <cmath>

#include "core/ops/conv_util.h"
#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::Conv2D, op_name::Conv2DBackpropInput, op_name::Conv2DBackpropFilter,
                         op_name::DepthwiseConv2dNative, op_name::DepthwiseConv2dNativeBackpropInput,
                         op_name::DepthwiseConv2dNativeBackpropFilter};

class ConvTest : public DeviceTest {};

struct Spec {
  TensorShape x, f;
  ConvOptions o;
  bool depthwise = false;
};

// y[b, oy, ox, co] = Σ x[b, oy·s - pad + ky·d, ...] f[ky, kx, ci, co] over taps inside x.
std::vector<double> reference(const Spec& s, const std::vector<double>& x, const std::vector<double>& f,
                              TensorShape& out_shape) {
  int64_t n = s.x.dim(0), h = s.x.dim(1), w = s.x.dim(2), c = s.x.dim(3);
  int64_t kh = s.f.dim(0), kw = s.f.dim(1), m = s.f.dim(3);
  auto st = window_quad(s.o.strides, "strides"), dl = window_quad(s.o.dilations, "dilations");
  int64_t sh = st[1], sw = st[2], dh = dl[1], dw = dl[2];
  int64_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1, pt = 0, pl = 0, oh, ow;
  if (s.o.padding == "VALID") {
    oh = (h - eh) / sh + 1, ow = (w - ew) / sw + 1;
  } else if (s.o.padding == "SAME") {
    oh = (h + sh - 1) / sh, ow = (w + sw - 1) / sw;
    pt = std::max<int64_t>((oh - 1) * sh + eh - h, 0) / 2;
    pl = std::max<int64_t>((ow - 1) * sw + ew - w, 0) / 2;
  } else {
    const auto& e = s.o.explicit_paddings;
    pt = e[2], pl = e[4];
    oh = (h + e[2] + e[3] - eh) / sh + 1, ow = (w + e[4] + e[5] - ew) / sw + 1;
  }
  int64_t oc = s.depthwise ? c * m : m;
  out_shape = TensorShape{n, oh, ow, oc};
  std::vector<double> y(static_cast<size_t>(n * oh * ow * oc), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < oc; ++o) {
          double sum = 0;
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx) {
              int64_t y0 = i * sh - pt + ky * dh, x0 = j * sw - pl + kx * dw;
              if (y0 < 0 || y0 >= h || x0 < 0 || x0 >= w) continue;
              if (s.depthwise) {
                int64_t ci = o / m, mi = o % m;
                sum += x[static_cast<size_t>(((b * h + y0) * w + x0) * c + ci)] *
                       f[static_cast<size_t>(((ky * kw + kx) * c + ci) * m + mi)];
              } else {
                for (int64_t ci = 0; ci < c; ++ci)
                  sum += x[static_cast<size_t>(((b * h + y0) * w + x0) * c + ci)] *
                         f[static_cast<size_t>(((ky * kw + kx) * c + ci) * m + o)];
              }
            }
          y[static_cast<size_t>(((b * oh + i) * ow + j) * oc + o)] = sum;
        }
  return y;
}

std::vector<Spec> specs() {
  return {
      {{2, 9, 8, 3}, {3, 3, 3, 5}, {.strides = {1}, .padding = "VALID"}},
      {{2, 9, 8, 3}, {3, 3, 3, 5}, {.strides = {2}, .padding = "SAME"}},
      {{1, 10, 11, 4}, {2, 3, 4, 6}, {.strides = {2, 1}, .padding = "SAME", .dilations = {2}}},
      {{2, 7, 7, 2}, {3, 2, 2, 3},
       {.strides = {1}, .padding = "EXPLICIT", .explicit_paddings = {0, 0, 2, 1, 0, 3, 0, 0}}},
      {{3, 6, 6, 8}, {1, 1, 8, 4}, {.strides = {1}, .padding = "VALID"}},
      {{2, 8, 9, 3}, {3, 3, 3, 2}, {.strides = {1}, .padding = "SAME"}, true},
      {{2, 8, 9, 4}, {2, 2, 4, 1}, {.strides = {2}, .padding = "VALID", .dilations = {1}}, true},
  };
}

TEST_P(ConvTest, ForwardMatchesReference) {
  uint32_t seed = 1;
  for (const Spec& s : specs())
    for (DType dt : {float32, float64}) {
      SCOPED_TRACE(s.x.to_string() + " * " + s.f.to_string() + " " + s.o.padding + " " +
                   std::string(dtype_name(dt)) + (s.depthwise ? " depthwise" : ""));
      std::vector<double> xv, fv;
      Tensor x = random_tensor(s.x, dt, -1, 1, seed++, &xv);
      Tensor f = random_tensor(s.f, dt, -1, 1, seed++, &fv);
      TensorShape shape;
      auto want = reference(s, xv, fv, shape);
      Tensor y = s.depthwise ? depthwise_conv2d(x, f, s.o) : conv2d(x, f, s.o);
      EXPECT_TRUE(all_close(y, want, shape, dt == float32 ? 1e-4 : 1e-12, dt == float32 ? 1e-5 : 1e-12));
    }
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST_P(ConvTest, AdjointsSatisfyTheDotProductIdentity) {
  uint32_t seed = 50;
  for (const Spec& s : specs())
    for (DType dt : {float32, float64}) {
      SCOPED_TRACE(s.x.to_string() + " * " + s.f.to_string() + " " + s.o.padding + " " +
                   std::string(dtype_name(dt)) + (s.depthwise ? " depthwise" : ""));
      std::vector<double> xv, fv, gv;
      Tensor x = random_tensor(s.x, dt, -1, 1, seed++, &xv);
      Tensor f = random_tensor(s.f, dt, -1, 1, seed++, &fv);
      TensorShape yshape;
      auto y = reference(s, xv, fv, yshape);
      Tensor g = random_tensor(yshape, dt, -1, 1, seed++, &gv);
      Attrs a = conv_attrs(s.o);
      const char* in_op = s.depthwise ? op_name::DepthwiseConv2dNativeBackpropInput : op_name::Conv2DBackpropInput;
      const char* f_op = s.depthwise ? op_name::DepthwiseConv2dNativeBackpropFilter : op_name::Conv2DBackpropFilter;
      Attrs ai = a, af = a;
      ai.set("input_sizes", s.x.as_vector());
      af.set("filter_sizes", s.f.as_vector());
      auto dx = values(execute1(op_def(in_op), {f, g}, ai));
      auto df = values(execute1(op_def(f_op), {x, g}, af));
      double want = dot(y, gv), tol = (dt == float32 ? 1e-4 : 1e-11) * (1 + std::fabs(want));
      EXPECT_NEAR(dot(xv, dx), want, tol);
      EXPECT_NEAR(dot(fv, df), want, tol);
    }
}

// The fixture script's inputs.
Tensor formula(const TensorShape& s, int64_t mul, int64_t mod, int64_t sub, double div) {
  std::vector<double> v(static_cast<size_t>(s.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(int64_t(i) * mul % mod - sub) / div;
  return make(v, s, float32);
}

TEST_P(ConvTest, MatchTensorFlow) {
  Tensor x = formula({2, 7, 6, 3}, 7, 13, 6, 4), f = formula({3, 3, 3, 4}, 5, 11, 5, 8);
  Tensor dw = formula({3, 3, 3, 2}, 3, 7, 3, 4);
  auto check = [](const std::string& name, const Tensor& got) {
    SCOPED_TRACE(name);
    const TfCase& want = tf_fixtures("tf_nn.txt").at(name);
    EXPECT_TRUE(all_close(got, want.values, want.shape, 1e-5, 1e-5));
  };
  check("conv/same_s2", conv2d(x, f, {.strides = {2}, .padding = "SAME"}));
  check("conv/valid_d2", conv2d(x, f, {.padding = "VALID", .dilations = {2}}));
  check("conv/explicit", conv2d(x, f, {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 1, 2, 0, 1, 0, 0}}));
  check("conv/depthwise_same", depthwise_conv2d(x, dw, {.padding = "SAME"}));
  check("pool/max_same_s2", max_pool2d(x, {3}, {2}, "SAME"));
  check("pool/avg_same_s2", avg_pool2d(x, {3}, {2}, "SAME"));
  check("pool/max_valid", max_pool2d(x, {2}, {2}, "VALID"));
}

TEST_P(ConvTest, BadArgumentsNameTheOp) {
  Tensor x = random_tensor({1, 5, 5, 3}, float32, -1, 1, 1);
  Tensor f = random_tensor({3, 3, 3, 2}, float32, -1, 1, 2);
  auto expect = [](auto fn, const std::string& text) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected " << text;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  expect([&] { conv2d(x, random_tensor({3, 3, 4, 2}, float32, -1, 1, 2)); },
         "[conv2d] the input has 3 channels, the filter expects 4");
  expect([&] { conv2d(reshape(x, {5, 5, 3}), f); }, "[conv2d] input must have rank 4, got [5,5,3]");
  expect([&] { conv2d(x, f, {.padding = "FULL"}); }, "padding must be SAME, VALID or EXPLICIT");
  expect([&] { conv2d(x, random_tensor({7, 7, 3, 2}, float32, -1, 1, 2)); },
         "is smaller than the effective window");
  expect([&] { conv2d(x, f, {.strides = {0}}); }, "strides must be positive");
  expect([&] { conv2d(x, cast(f, float64)); }, "the filter is float64, the input float32");
  expect([&] { conv2d(cast(x, int32), cast(f, int32)); }, "input must be a floating dtype, got int32");
  expect([&] { max_pool2d(x, {2, 2, 2, 2}, {1}); }, "[max_pool2d] pooling over the batch or channel");
}

EMBER_INSTANTIATE_DEVICE_TESTS(ConvTest);

}  // namespace
}  // namespace ember::test
