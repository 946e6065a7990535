// Batch normalization written once for every device, from reductions and
// broadcast arithmetic (core/ops/norm.cpp gives the ops' contracts). A
// 16-bit x is normalised in float32 (its statistics are float32, as
// TensorFlow's U) and y rounded once.
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"

namespace ember::kernels {
namespace {

// Every axis but the last.
std::vector<int64_t> batch_axes(const Tensor& x) {
  std::vector<int64_t> a;
  for (int i = 0; i + 1 < x.rank(); ++i) a.push_back(i);
  return a;
}

Tensor scalar(double v, const Tensor& like) { return constant(v, like.dtype(), like.device()); }

// `t` in the statistics' dtype: a 16-bit x, y or gradient widened to float32.
Tensor widened(const Tensor& t) { return is_half(t.dtype()) ? cast(t, float32) : t; }

void fused_batch_norm(KernelContext& c) {
  const DType t = c.inputs[0].dtype();
  const Tensor x = widened(c.inputs[0]);
  const Tensor& scale = c.inputs[1];
  const Tensor& offset = c.inputs[2];
  double eps = c.attrs.get<double>("epsilon");
  int64_t ch = x.dim(-1);
  Tensor mean, var, batch_mean, batch_var;
  if (c.attrs.get<bool>("is_training")) {
    auto axes = batch_axes(x);
    mean = reduce_mean(x, axes);
    var = reduce_mean(square(x - mean), axes);  // biased: what normalises
    double n = double(x.num_elements()) / double(std::max<int64_t>(ch, 1));
    Tensor unbiased = var * scalar(n / std::max(n - 1, 1.0), x);
    double f = c.attrs.get<double>("exponential_avg_factor");
    batch_mean = mean;
    batch_var = unbiased;
    if (f != 1) {
      batch_mean = c.inputs[3] * scalar(1 - f, x) + mean * scalar(f, x);
      batch_var = c.inputs[4] * scalar(1 - f, x) + unbiased * scalar(f, x);
    }
  } else {
    mean = batch_mean = c.inputs[3];
    var = batch_var = c.inputs[4];
  }
  Tensor inv = rsqrt(var + scalar(eps, x)) * scale;
  c.outputs[0] = x * inv + (offset - mean * inv);
  if (t != x.dtype()) c.outputs[0] = cast(c.outputs[0], t);
  c.outputs[1] = batch_mean;
  c.outputs[2] = batch_var;
  c.outputs[3] = mean;
  c.outputs[4] = var;
  c.outputs[5] = zeros({0}, x.dtype(), x.device());
}

// dx = γ·r/m·(m·dy - Σdy - x̂·Σ(dy·x̂)) in training (r = 1/√(var + ε),
// x̂ = (x - mean)·r, m elements per channel), γ·r·dy in inference.
void fused_batch_norm_grad(KernelContext& c) {
  const DType t = c.inputs[1].dtype();
  const Tensor dy = widened(c.inputs[0]);
  const Tensor x = widened(c.inputs[1]);
  const Tensor& scale = c.inputs[2];
  const Tensor& mean = c.inputs[3];
  const Tensor& var = c.inputs[4];
  double eps = c.attrs.get<double>("epsilon");
  auto axes = batch_axes(x);
  Tensor r = rsqrt(var + scalar(eps, x));
  Tensor xhat = (x - mean) * r;
  Tensor dbeta = reduce_sum(dy, axes);
  Tensor dgamma = reduce_sum(dy * xhat, axes);
  if (c.attrs.get<bool>("is_training")) {
    double m = double(x.num_elements()) / double(std::max<int64_t>(x.dim(-1), 1));
    c.outputs[0] = scale * r * scalar(1 / m, x) * (dy * scalar(m, x) - dbeta - xhat * dgamma);
  } else {
    c.outputs[0] = dy * (scale * r);
  }
  if (t != x.dtype()) c.outputs[0] = cast(c.outputs[0], t);
  c.outputs[1] = dgamma;
  c.outputs[2] = dbeta;
  c.outputs[3] = zeros({0}, x.dtype(), x.device());
  c.outputs[4] = zeros({0}, x.dtype(), x.device());
}

EMBER_REGISTER_KERNEL(op_name::FusedBatchNormV3, CPU, fused_batch_norm);
EMBER_REGISTER_KERNEL(op_name::FusedBatchNormV3, CUDA, fused_batch_norm);
EMBER_REGISTER_KERNEL(op_name::FusedBatchNormGradV3, CPU, fused_batch_norm_grad);
EMBER_REGISTER_KERNEL(op_name::FusedBatchNormGradV3, CUDA, fused_batch_norm_grad);

}  // namespace
}  // namespace ember::kernels
