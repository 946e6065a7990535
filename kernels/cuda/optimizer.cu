// The optimizer updates on CUDA: one grid-stride kernel per update, the
// variable and its slots written in place (VariableState::update_in_place),
// the scalar hyper-parameters read from device memory by every thread (they
// may be computed on the device, as a schedule's learning rate is).
#include "core/indexed_slices.h"
#include "core/op_names.h"
#include "kernels/cuda/common.cuh"
#include "kernels/optimizer_update.h"
#include "kernels/optimizers.h"

namespace ember::cuda {
namespace {

template <typename T>
struct UpdateArgs {
  T* var;
  T* slot[optim::kMaxSlots];
  const T* grad;
  const T* scalar[optim::kMaxScalars];
  int64_t n;
  bool flag;
};

template <typename U, typename T>
__global__ void update_kernel_t(UpdateArgs<T> a) {
  using C = compute_t<T>;
  C k[optim::kMaxScalars] = {};
  for (int j = 0; j < U::kNumScalars; ++j) k[j] = static_cast<C>(*a.scalar[j]);
  U::prepare(k);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < a.n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    C v = static_cast<C>(a.var[i]);
    C s[optim::kMaxSlots + 1];
    for (int j = 0; j < U::kSlots; ++j) s[j] = static_cast<C>(a.slot[j][i]);
    U::step(k, a.flag, v, s, static_cast<C>(a.grad[i]));
    a.var[i] = T(v);
    for (int j = 0; j < U::kSlots; ++j) a.slot[j][i] = T(s[j]);
  }
}

template <typename U, typename T>
void launch_update(const KernelContext& c, std::span<Tensor> vals, bool flag, cudaStream_t s) {
  UpdateArgs<T> a{};
  a.var = vals[0].data<T>();
  for (int j = 0; j < U::kSlots; ++j) a.slot[j] = vals[static_cast<size_t>(j + 1)].data<T>();
  a.grad = c.inputs[U::kGrad].template data<T>();
  for (int j = 0; j < U::kNumScalars; ++j)
    a.scalar[j] = c.inputs[static_cast<size_t>(U::kScalars[j])].template data<T>();
  a.n = vals[0].num_elements();
  a.flag = flag;
  update_kernel_t<U, T><<<blocks_for(a.n), kThreads, 0, s>>>(a);
  EMBER_CUDA_LAUNCHED();
}

template <typename U>
void update_kernel(KernelContext& c) {
  DType t = c.inputs[U::kGrad].dtype();
  optim::with_update_buffers<U>(c, [&](std::span<Tensor> vals, bool flag) {
    if (vals[0].num_elements() == 0) return;
    cudaStream_t s = prepare(c);
    EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), (launch_update<U, scalar_t>(c, vals, flag, s)));
  });
}

// With the gradient as rows (IndexedSlices): the dense gradient made on the
// device (UnsortedSegmentSum, rows named twice summed), then the dense
// update. Unlike the CPU kernel, this one has the [rows, width] temporary.
template <typename U>
void rows_update_kernel(KernelContext& c) {
  auto* var = static_cast<VariableState*>(c.inputs[0].impl()->resource.get());
  std::vector<Tensor> in(c.inputs.begin(), c.inputs.end() - 1);
  in[U::kGrad] = dense_value(indexed_slices(c.inputs[U::kGrad], c.inputs.back(), var->shape));
  KernelContext dense{c.op, in, c.outputs, c.attrs, c.device, c.specs};
  update_kernel<U>(dense);
}

EMBER_REGISTER_KERNEL(op_name::ResourceApplyGradientDescentRows, CUDA, rows_update_kernel<optim::GradientDescent>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyKerasMomentumRows, CUDA, rows_update_kernel<optim::KerasMomentum>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdamRows, CUDA, rows_update_kernel<optim::Adam>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyRMSPropRows, CUDA, rows_update_kernel<optim::RMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyCenteredRMSPropRows, CUDA, rows_update_kernel<optim::CenteredRMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdagradV2Rows, CUDA, rows_update_kernel<optim::AdagradV2>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyGradientDescent, CUDA, update_kernel<optim::GradientDescent>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyKerasMomentum, CUDA, update_kernel<optim::KerasMomentum>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdam, CUDA, update_kernel<optim::Adam>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyRMSProp, CUDA, update_kernel<optim::RMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyCenteredRMSProp, CUDA, update_kernel<optim::CenteredRMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdagradV2, CUDA, update_kernel<optim::AdagradV2>);

}  // namespace
}  // namespace ember::cuda
