// The optimizer updates on the CPU (and with the gradient as rows): the variable and its slots are updated in
// place (VariableState::update_in_place copies a buffer a read still holds),
// one pass over the elements, split across threads (16-bit floats computed
// in float32 and rounded once per element).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/parallel.h"
#include "kernels/functors.h"
#include "kernels/optimizer_update.h"
#include "kernels/optimizers.h"

namespace ember::cpu {
namespace {

// One update's state: its scalars (prepared once) and the variable's and
// slots' buffers; `at(i, g)` steps element i with gradient g, widened to the
// compute type and rounded once when stored.
template <typename U, typename T>
struct Stepper {
  using C = compute_t<T>;
  C k[optim::kMaxScalars] = {};
  T* var;
  T* slot[optim::kMaxSlots + 1] = {};
  bool flag;
  Stepper(const KernelContext& c, std::span<Tensor> vals, bool f) : var(vals[0].data<T>()), flag(f) {
    for (int j = 0; j < U::kNumScalars; ++j)
      k[j] = static_cast<C>(c.inputs[static_cast<size_t>(U::kScalars[j])].template data<T>()[0]);
    U::prepare(k);
    for (int j = 0; j < U::kSlots; ++j) slot[j] = vals[static_cast<size_t>(j + 1)].data<T>();
  }
  void at(int64_t i, C g) const {
    C v = static_cast<C>(var[i]);
    C s[optim::kMaxSlots + 1];
    for (int j = 0; j < U::kSlots; ++j) s[j] = static_cast<C>(slot[j][i]);
    U::step(k, flag, v, s, g);
    var[i] = T(v);
    for (int j = 0; j < U::kSlots; ++j) slot[j][i] = T(s[j]);
  }
};

template <typename U, typename T>
void run_update(const KernelContext& c, std::span<Tensor> vals, bool flag) {
  using C = compute_t<T>;
  const Stepper<U, T> st(c, vals, flag);
  const T* g = c.inputs[U::kGrad].template data<T>();
  parallel_for(vals[0].num_elements(), kParallelGrain / 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) st.at(i, static_cast<C>(g[i]));
  });
}

// The same update from a gradient given as rows (IndexedSlices): values
// [n, width] where the gradient was, row numbers [n] last. Rows named more
// than once are summed first, from zero and in order, in the gradient's
// dtype (UnsortedSegmentSum's arithmetic: the dense gradient's values), into
// a buffer of the named rows only. Then every row is stepped, those not
// named with a zero gradient (Keras's dense semantics: momentum and moments
// decay everywhere); gradient descent, for which a zero gradient changes
// nothing (with a finite, non-negative rate), steps the named rows alone.
template <typename U, typename T, typename I>
void run_rows_update(const KernelContext& c, std::span<Tensor> vals, bool flag) {
  using C = compute_t<T>;
  const Stepper<U, T> st(c, vals, flag);
  const int64_t rows = vals[0].dim(0);
  const int64_t width = rows ? vals[0].num_elements() / rows : 0;
  const Tensor& values = c.inputs[U::kGrad];
  const Tensor& indices = c.inputs.back();
  const int64_t n = indices.num_elements();
  const I* idx = indices.data<I>();
  const T* g = values.data<T>();
  std::vector<int64_t> at(static_cast<size_t>(rows), -1);  // row -> its place in `named`
  std::vector<int64_t> named;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = static_cast<int64_t>(idx[i]);
    if (r < 0 || r >= rows)
      throw InvalidArgument(detail::str_cat("[", api_name_for(c.op), "] the gradient's row number ", i, " is ", r,
                                            ", not in [0, ", rows, ")"));
    if (at[static_cast<size_t>(r)] < 0) {
      at[static_cast<size_t>(r)] = static_cast<int64_t>(named.size());
      named.push_back(r);
    }
  }
  std::vector<T> summed(named.size() * static_cast<size_t>(width), T(0));
  for (int64_t i = 0; i < n; ++i) {
    T* row = summed.data() + at[static_cast<size_t>(idx[i])] * width;
    for (int64_t j = 0; j < width; ++j) row[j] = fn::wrap_add(row[j], g[i * width + j]);
  }
  auto step_row = [&](int64_t r, const T* grad_row) {
    for (int64_t q = 0; q < width; ++q) st.at(r * width + q, grad_row ? static_cast<C>(grad_row[q]) : C(0));
  };
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / 4 / std::max<int64_t>(width, 1));
  if constexpr (std::is_same_v<U, optim::GradientDescent>) {
    parallel_for(static_cast<int64_t>(named.size()), grain, [&](int64_t b, int64_t e) {
      for (int64_t m = b; m < e; ++m) step_row(named[static_cast<size_t>(m)], summed.data() + m * width);
    });
  } else {
    parallel_for(rows, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t m = at[static_cast<size_t>(r)];
        step_row(r, m < 0 ? nullptr : summed.data() + m * width);
      }
    });
  }
}

template <typename U>
void rows_update_kernel(KernelContext& c) {
  DType t = c.inputs[U::kGrad].dtype();
  const bool wide = c.inputs.back().dtype() == int64;
  optim::with_update_buffers<U>(c, [&](std::span<Tensor> vals, bool flag) {
    EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t),
                          (wide ? run_rows_update<U, scalar_t, int64_t>(c, vals, flag)
                                : run_rows_update<U, scalar_t, int32_t>(c, vals, flag)));
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
EMBER_REGISTER_KERNEL(op_name::ResourceApplyGradientDescentRows, CPU, rows_update_kernel<optim::GradientDescent>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyKerasMomentumRows, CPU, rows_update_kernel<optim::KerasMomentum>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdamRows, CPU, rows_update_kernel<optim::Adam>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyRMSPropRows, CPU, rows_update_kernel<optim::RMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyCenteredRMSPropRows, CPU, rows_update_kernel<optim::CenteredRMSProp>);
EMBER_REGISTER_KERNEL(op_name::ResourceApplyAdagradV2Rows, CPU, rows_update_kernel<optim::AdagradV2>);

}  // namespace
}  // namespace ember::cpu
