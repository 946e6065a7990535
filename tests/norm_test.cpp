// FusedBatchNormV3 and its adjoint against float64 references; gradients
// are also checked against central differences (tests/gradient_test.cpp).
#include <cmath>

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::FusedBatchNormV3, op_name::FusedBatchNormGradV3};

class NormTest : public DeviceTest {};

TEST_P(NormTest, FusedBatchNormMatchesReference) {
  const TensorShape shape{3, 4, 2, 5};
  const int64_t ch = 5, m = 24;
  for (DType dt : {float32, float64}) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> xv, sv, ov, mv, vv;
    Tensor x = random_tensor(shape, dt, -3, 3, 1, &xv);
    Tensor scale = random_tensor({ch}, dt, 0.5, 2, 2, &sv);
    Tensor offset = random_tensor({ch}, dt, -1, 1, 3, &ov);
    Tensor mean = random_tensor({ch}, dt, -1, 1, 4, &mv);
    Tensor var = random_tensor({ch}, dt, 0.5, 2, 5, &vv);
    std::vector<double> bm(ch, 0), bv(ch, 0);
    for (size_t i = 0; i < xv.size(); ++i) bm[i % ch] += xv[i] / m;
    for (size_t i = 0; i < xv.size(); ++i) bv[i % ch] += (xv[i] - bm[i % ch]) * (xv[i] - bm[i % ch]) / m;
    const double eps = 1e-3, f = 0.25;
    std::vector<double> y(xv.size()), running_mean(ch), running_var(ch);
    for (size_t i = 0; i < xv.size(); ++i)
      y[i] = (xv[i] - bm[i % ch]) / std::sqrt(bv[i % ch] + eps) * sv[i % ch] + ov[i % ch];
    for (int64_t k = 0; k < ch; ++k) {
      running_mean[static_cast<size_t>(k)] = (1 - f) * mv[static_cast<size_t>(k)] + f * bm[static_cast<size_t>(k)];
      running_var[static_cast<size_t>(k)] =
          (1 - f) * vv[static_cast<size_t>(k)] + f * bv[static_cast<size_t>(k)] * m / (m - 1);
    }
    double tol = dt == float32 ? 2e-5 : 1e-12;
    auto r = fused_batch_norm(x, scale, offset, mean, var, eps, true, f);
    EXPECT_TRUE(all_close(r.y, y, shape, tol, tol));
    EXPECT_TRUE(all_close(r.batch_mean, running_mean, {ch}, tol, tol));
    EXPECT_TRUE(all_close(r.batch_variance, running_var, {ch}, tol, tol));
    // Inference: the given statistics.
    for (size_t i = 0; i < xv.size(); ++i)
      y[i] = (xv[i] - mv[i % ch]) / std::sqrt(vv[i % ch] + eps) * sv[i % ch] + ov[i % ch];
    EXPECT_TRUE(all_close(fused_batch_norm(x, scale, offset, mean, var, eps, false).y, y, shape, tol, tol));
  }
}

TEST_P(NormTest, BadArguments) {
  Tensor x = random_tensor({2, 3, 4}, float32, -1, 1, 1);
  Tensor v = ones({4});
  EXPECT_THROW(fused_batch_norm(x, ones({3}), v, v, v), InvalidArgument);
  EXPECT_THROW(fused_batch_norm(cast(x, int32), v, v, v, v), InvalidArgument);
  EXPECT_THROW(fused_batch_norm(x, cast(v, float64), v, v, v), InvalidArgument);
  EXPECT_THROW(fused_batch_norm(x, v, v, v, v, -1.0), InvalidArgument);
}

EMBER_INSTANTIATE_DEVICE_TESTS(NormTest);

}  // namespace
}  // namespace ember::test
