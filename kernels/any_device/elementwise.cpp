// The elementwise ops written once for every device, as compositions of
// other ops (the broadcast add and the reductions are the fast paths
// already): BiasAdd and its adjoint BiasAddGrad, CheckNumerics (two device
// reductions, read on the host) and Check (a condition read on the host).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"

namespace ember::kernels {
namespace {

// The shape `bias` takes to broadcast along the channel axis of a rank-r value.
TensorShape bias_shape(int64_t channels, int rank, bool nchw) {
  std::vector<int64_t> d(static_cast<size_t>(rank), 1);
  d[static_cast<size_t>(nchw ? 1 : rank - 1)] = channels;
  return TensorShape(d);
}

bool is_nchw(const KernelContext& c) { return c.attrs.get<std::string>("data_format") == "NCHW"; }

void bias_add(KernelContext& c) {
  const Tensor& v = c.inputs[0];
  const Tensor& b = c.inputs[1];
  c.outputs[0] = add(v, reshape(b, bias_shape(b.dim(0), v.rank(), is_nchw(c))));
}

void bias_add_grad(KernelContext& c) {
  const Tensor& g = c.inputs[0];
  int r = g.rank();
  int axis = is_nchw(c) ? 1 : r - 1;
  std::vector<int64_t> axes;
  for (int i = 0; i < r; ++i)
    if (i != axis) axes.push_back(i);
  c.outputs[0] = reduce_sum(g, axes);
}

// The input (a new tensor on its buffer) once it is known to be finite;
// otherwise TensorFlow's error (check_numerics_op.cc).
void check_numerics(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  Tensor flags = cast(stack({reduce_any(is_nan(x)), reduce_any(is_inf(x))}, 0), uint8).to(Device::cpu());
  const bool nan = flags.data<const uint8_t>()[0] != 0, inf = flags.data<const uint8_t>()[1] != 0;
  EMBER_CHECK(!nan && !inf, InvalidArgument, c.attrs.get<std::string>("message"), " : Tensor had ",
              nan && inf ? "Inf and NaN" : nan ? "NaN" : "Inf", " values");
  c.outputs[0] = Tensor(TensorImpl::view_of(*x.impl()));
}

// Check: the input (a new tensor on its buffer) once the condition, read
// on the host, holds.
void check(KernelContext& c) {
  const Tensor condition = c.inputs[1].to(Device::cpu());
  EMBER_CHECK(condition.num_elements() == 1, InvalidArgument, "[check] the condition must be a scalar, got shape ",
              condition.shape().to_debug_string());
  const std::string& message = c.attrs.get<std::string>("message");
  EMBER_CHECK(*static_cast<const uint8_t*>(condition.raw_data()) != 0, InvalidArgument,
              message.empty() ? std::string("[check] the condition does not hold") : message);
  c.outputs[0] = Tensor(TensorImpl::view_of(*c.inputs[0].impl()));
}

EMBER_REGISTER_KERNEL(op_name::BiasAdd, CPU, bias_add);
EMBER_REGISTER_KERNEL(op_name::BiasAdd, CUDA, bias_add);
EMBER_REGISTER_KERNEL(op_name::BiasAddGrad, CPU, bias_add_grad);
EMBER_REGISTER_KERNEL(op_name::BiasAddGrad, CUDA, bias_add_grad);
EMBER_REGISTER_EVERYWHERE(op_name::CheckNumerics, check_numerics);
EMBER_REGISTER_EVERYWHERE(op_name::Check, check);

}  // namespace
}  // namespace ember::kernels
