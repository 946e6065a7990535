// The optimizer updates on the CPU: the variable and its slots are updated in
// place (VariableState::update_in_place copies a buffer a read still holds),
// one pass over the elements, split across threads (16-bit floats computed
// in float32 and rounded once per element).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/parallel.h"
#include "kernels/optimizer_update.h"
#include "kernels/optimizers.h"

namespace ember::cpu {
namespace {

template <typename U, typename T>
void run_update(const KernelContext& c, std::span<Tensor> vals, bool flag) {
  using C = compute_t<T>;
  C k[optim::kMaxScalars] = {};
  for (int j = 0; j < U::kNumScalars; ++j)
    k[j] = static_cast<C>(c.inputs[static_cast<size_t>(U::kScalars[j])].template data<T>()[0]);
  U::prepare(k);
  T* var = vals[0].data<T>();
  T* slot[optim::kMaxSlots + 1] = {};
  for (int j = 0; j < U::kSlots; ++j) slot[j] = vals[static_cast<size_t>(j + 1)].data<T>();
  const T* g = c.inputs[U::kGrad].template data<T>();
  parallel_for(vals[0].num_elements(), kParallelGrain / 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      C v = static_cast<C>(var[i]);
      C s[optim::kMaxSlots + 1];
      for (int j = 0; j < U::kSlots; ++j) s[j] = static_cast<C>(slot[j][i]);
      U::step(k, flag, v, s, static_cast<C>(g[i]));
      var[i] = T(v);
      for (int j = 0; j < U::kSlots; ++j) slot[j][i] = T(s[j]);
    }
  });
}

template <typename U>
void update_kernel(KernelContext& c) {
  DType t = c.inputs[U::kGrad].dtype();
  optim::with_update_buffers<U>(c, [&](std::span<Tensor> vals, bool flag) {
    EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t), run_update<U, scalar_t>(c, vals, flag));
  });
}

EMBER_REGISTER_KERNEL(op_name::ResourceApplyGradientDescent, CPU, update_kernel<optim::GradientDescent>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyKerasMomentum, CPU, update_kernel<optim::KerasMomentum>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdam, CPU, update_kernel<optim::Adam>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyRMSProp, CPU, update_kernel<optim::RMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyCenteredRMSProp, CPU, update_kernel<optim::CenteredRMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdagradV2, CPU, update_kernel<optim::AdagradV2>);

}  // namespace
}  // namespace ember::cpu
