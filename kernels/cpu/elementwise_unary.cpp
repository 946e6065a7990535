// CPU kernels of the unary elementwise ops (the functors of
// kernels/functors.h, LogicalNot and Cast).
#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec.h"
#include "kernels/elementwise_ops.h"
#include "kernels/functors.h"

namespace ember::cpu {
namespace {

using namespace elementwise;  // NOLINT: this file's vocabulary

// exp, sigmoid, tanh and tanh-form gelu on float32 and the 16-bit floats, 8
// or (AVX-512) 16 lanes at a time in float32 (kernels/cpu/vec.h; GCC does not vectorise
// loops over fast_exp or libm's tanhf, nor the functor's exp inside gelu:
// that loop was a tenth of a gpt_char step, and the bfloat16 one a fifth of
// a mixed_bfloat16 step); the tail uses the scalar functor, whose arithmetic
// the lanes repeat in the same order (bits may still differ in the last
// place where the compiler fuses a multiply-add in one and not the other).
template <typename F, typename E>
void unary_vectorised(const F& f, const Tensor& x, Tensor& y) {
  const E* px = static_cast<const E*>(x.raw_data());
  E* py = static_cast<E*>(y.raw_data());
  const auto scalar = fn::computed_as<E>(f);
  constexpr int W = vec::kWidest;
  using V = typename vec::Lanes<W>::F;
  parallel_for(x.num_elements(), kParallelGrain, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + W <= e; i += W) {
      const V v = vec::load_lanes<W>(px + i);
      if constexpr (std::is_same_v<F, fn::Exp>) {
        vec::store_lanes<W>(py + i, vec::exp_lanes<W>(v));
      } else if constexpr (std::is_same_v<F, fn::Tanh>) {
        vec::store_lanes<W>(py + i, vec::tanh_lanes<W>(v));
      } else if constexpr (std::is_same_v<F, fn::Gelu>) {
        vec::store_lanes<W>(py + i, v * fn::gelu_logistic(v, [](V w) { return vec::exp_lanes<vec::kWidest>(w); }));
      } else {
        const V en = vec::exp_lanes<W>(v < 0 ? v : -v);  // exp(-|x|): never overflows
        const V one = V{} + 1.0f;
        vec::store_lanes<W>(py + i, v >= 0 ? one / (one + en) : en / (one + en));
      }
    }
    for (; i < e; ++i) py[i] = scalar(px[i]);
  });
}

template <typename F>
bool unary_float_vectorised(const KernelContext& c, const Tensor& x, Tensor& y) {
  if constexpr (std::is_same_v<F, fn::Exp> || std::is_same_v<F, fn::Sigmoid> || std::is_same_v<F, fn::Tanh> ||
                std::is_same_v<F, fn::Gelu>) {
    F f{};
    if constexpr (std::is_same_v<F, fn::Gelu>) {
      f.configure(c.attrs);
      if (!f.approximate) return false;  // the erf form: libm's erff, lane by lane
    }
    switch (x.dtype()) {
      case float32: unary_vectorised<F, float>(f, x, y); return true;
      case bfloat16: unary_vectorised<F, bfloat16_t>(f, x, y); return true;
      case float16: unary_vectorised<F, float16_t>(f, x, y); return true;
      default: return false;
    }
  }
  return false;
}

template <typename F>
void unary_float(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  if (unary_float_vectorised<F>(c, x, c.outputs[0])) return;
  F f{};
  if constexpr (requires { f.configure(c.attrs); }) f.configure(c.attrs);
  EMBER_SWITCH_FLOATING(x.dtype(), unsupported_dtype(c, x.dtype()),
                        unary_loop(x.data<const scalar_t>(), c.outputs[0].data<scalar_t>(),
                                   x.num_elements(), fn::computed_as<scalar_t>(f)));
}

template <typename F>
void unary_numeric(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  EMBER_SWITCH_ARITH(x.dtype(), unsupported_dtype(c, x.dtype()),
                     unary_loop(x.data<const scalar_t>(), c.outputs[0].data<scalar_t>(),
                                x.num_elements(), fn::computed_as<scalar_t>(F{})));
}

void logical_not_kernel(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  unary_loop(static_cast<const bool*>(x.raw_data()), static_cast<bool*>(c.outputs[0].raw_data()),
             x.num_elements(), fn::LogicalNot{});
}

template <typename To>
void cast_from(KernelContext& c, const Tensor& x, Tensor& y) {
  EMBER_SWITCH_ALL(x.dtype(), unsupported_dtype(c, x.dtype()),
                   unary_loop(static_cast<const scalar_t*>(x.raw_data()),
                              static_cast<To*>(y.raw_data()), x.num_elements(), fn::CastTo<To>{}));
}

// float32 <-> bfloat16 (mixed precision's casts of activations, weights and
// gradients) 8 lanes at a time: vec::load_float and vec::store_float are
// core/half.h's conversions lane by lane, so the bits are CastTo's.
template <typename From, typename To>
void cast_lanes(const Tensor& x, Tensor& y) {
  const From* px = static_cast<const From*>(x.raw_data());
  To* py = static_cast<To*>(y.raw_data());
  parallel_for(x.num_elements(), kParallelGrain, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + 8 <= e; i += 8) vec::store_float(py + i, vec::load_float(px + i));
    for (; i < e; ++i) py[i] = fn::CastTo<To>{}(px[i]);
  });
}

void cast_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  const DType from = c.inputs[0].dtype();
  if (from == bfloat16 && y.dtype() == float32) return cast_lanes<bfloat16_t, float>(c.inputs[0], y);
  if (from == float32 && y.dtype() == bfloat16) return cast_lanes<float, bfloat16_t>(c.inputs[0], y);
  EMBER_SWITCH_ALL(y.dtype(), unsupported_dtype(c, y.dtype()), cast_from<scalar_t>(c, c.inputs[0], y));
}

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CPU, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_UNARY_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
EMBER_REGISTER_KERNEL(op_name::LogicalNot, CPU, logical_not_kernel);
EMBER_REGISTER_KERNEL(op_name::Cast, CPU, cast_kernel);
// clang-format on

}  // namespace
}  // namespace ember::cpu
