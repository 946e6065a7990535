// CPU launchers for the elementwise functors of kernels/functors.h: a flat
// loop when the shapes agree (or one side is a single element), otherwise a
// row loop over the collapsed broadcast, with the innermost run contiguous.
#include <cstring>

#include "core/op.h"
#include "core/op_names.h"
#include "kernels/elementwise_ops.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec.h"
#include "kernels/functors.h"

namespace ember::cpu {
namespace {

constexpr int kMaxInputs = 3;

// The broadcast of up to three inputs to the output shape, collapsed: per
// dimension the output extent and each input's element stride (0 where the
// input is broadcast along it).
struct Broadcast {
  Dims dims;
  Dims strides[kMaxInputs];
};

Broadcast make_broadcast(const TensorShape& out, std::span<const Tensor> ins) {
  int r = out.rank();
  Broadcast raw;
  raw.dims = out.dims();
  for (size_t k = 0; k < ins.size(); ++k) {
    const TensorShape& s = ins[k].shape();
    Dims cs = contiguous_strides(s);
    raw.strides[k].resize(static_cast<size_t>(r), 0);
    for (int i = 0; i < s.rank(); ++i) {
      int o = i + (r - s.rank());
      raw.strides[k][static_cast<size_t>(o)] = s.dim(i) == 1 ? 0 : cs[static_cast<size_t>(i)];
    }
  }
  // Collapse neighbouring dimensions that are contiguous for every input.
  Broadcast b;
  for (int i = 0; i < r; ++i) {
    int64_t d = raw.dims[static_cast<size_t>(i)];
    if (d == 1) continue;
    bool merge = !b.dims.empty();
    for (size_t k = 0; merge && k < ins.size(); ++k)
      merge = b.strides[k].back() == raw.strides[k][static_cast<size_t>(i)] * d;
    if (merge) {
      b.dims.back() *= d;
      for (size_t k = 0; k < ins.size(); ++k)
        b.strides[k].back() = raw.strides[k][static_cast<size_t>(i)];
    } else {
      b.dims.push_back(d);
      for (size_t k = 0; k < ins.size(); ++k)
        b.strides[k].push_back(raw.strides[k][static_cast<size_t>(i)]);
    }
  }
  if (b.dims.empty()) {
    b.dims.push_back(1);
    for (size_t k = 0; k < ins.size(); ++k) b.strides[k].push_back(0);
  }
  return b;
}

// Calls row(out_offset, in_offsets[], n) for every innermost run.
template <size_t N, typename Row>
void for_each_row(const Broadcast& b, Row&& row) {
  size_t r = b.dims.size();
  int64_t inner = b.dims[r - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; ++i) rows *= b.dims[i];
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t lo, int64_t hi) {
                 Dims idx(r, 0);
                 int64_t rem = lo;
                 int64_t off[N] = {};
                 for (size_t i = r - 1; i-- > 0;) {
                   idx[i] = rem % b.dims[i];
                   rem /= b.dims[i];
                   for (size_t k = 0; k < N; ++k) off[k] += idx[i] * b.strides[k][i];
                 }
                 for (int64_t rowi = lo; rowi < hi; ++rowi) {
                   row(rowi * inner, off, inner);
                   for (size_t i = r - 1; i-- > 0;) {
                     for (size_t k = 0; k < N; ++k) off[k] += b.strides[k][i];
                     if (++idx[i] < b.dims[i]) break;
                     for (size_t k = 0; k < N; ++k) off[k] -= b.strides[k][i] * b.dims[i];
                     idx[i] = 0;
                   }
                 }
               });
}

template <typename T, typename R, typename F>
void unary_loop(const T* x, R* y, int64_t n, F f) {
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

template <typename T, typename R, typename F>
void binary_run(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  R* po = static_cast<R*>(out.raw_data());
  int64_t n = out.num_elements();
  if (n == 0) return;
  int64_t na = a.num_elements(), nb = b.num_elements();
  if (na == n && nb == n) {
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i]);
    });
  } else if (na == 1 && nb == n) {
    T va = pa[0];
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(va, pb[i]);
    });
  } else if (nb == 1 && na == n) {
    T vb = pb[0];
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], vb);
    });
  } else {
    Tensor ins[2] = {a, b};
    Broadcast bc = make_broadcast(out.shape(), ins);
    int64_t sa = bc.strides[0].back(), sb = bc.strides[1].back();
    for_each_row<2>(bc, [&](int64_t o, const int64_t* off, int64_t len) {
      const T* ra = pa + off[0];
      const T* rb = pb + off[1];
      R* ro = po + o;
      if (sa == 1 && sb == 1)
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[i], rb[i]);
      else if (sa == 0 && sb == 1)
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[0], rb[i]);
      else if (sa == 1 && sb == 0)
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[i], rb[0]);
      else
        for (int64_t i = 0; i < len; ++i) ro[i] = f(ra[i * sa], rb[i * sb]);
    });
  }
}

// ---- kernels, one template per dtype class ------------------------------------------

// float32 exp, sigmoid and tanh, 8 lanes at a time (kernels/cpu/vec.h; GCC
// does not vectorise loops over fast_exp or libm's tanhf); the tail uses the
// scalar functor.
template <typename F>
bool unary_float32_vectorised(const Tensor& x, Tensor& y) {
  if constexpr (std::is_same_v<F, fn::Exp> || std::is_same_v<F, fn::Sigmoid> || std::is_same_v<F, fn::Tanh>) {
    if (x.dtype() != float32) return false;
    const float* px = static_cast<const float*>(x.raw_data());
    float* py = static_cast<float*>(y.raw_data());
    parallel_for(x.num_elements(), kParallelGrain, [&](int64_t b, int64_t e) {
      int64_t i = b;
      for (; i + 8 <= e; i += 8) {
        vec::f8 v = vec::load(px + i);
        if constexpr (std::is_same_v<F, fn::Exp>) {
          vec::store(py + i, vec::exp8(v));
        } else if constexpr (std::is_same_v<F, fn::Tanh>) {
          vec::store(py + i, vec::tanh8(v));
        } else {
          vec::f8 en = vec::exp8(v < 0 ? v : -v);  // exp(-|x|): never overflows
          vec::f8 one = vec::splat(1.0f);
          vec::store(py + i, v >= 0 ? one / (one + en) : en / (one + en));
        }
      }
      for (; i < e; ++i) py[i] = F{}(px[i]);
    });
    return true;
  }
  return false;
}

template <typename F>
void unary_float(KernelContext& c) {
  const Tensor& x = c.inputs[0];
  if (unary_float32_vectorised<F>(x, c.outputs[0])) return;
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

void cast_kernel(KernelContext& c) {
  Tensor& y = c.outputs[0];
  EMBER_SWITCH_ALL(y.dtype(), unsupported_dtype(c, y.dtype()), cast_from<scalar_t>(c, c.inputs[0], y));
}

template <typename F>
void binary_numeric(KernelContext& c) {
  EMBER_SWITCH_ARITH(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                     binary_run<scalar_t, scalar_t>(c.inputs[0], c.inputs[1], c.outputs[0],
                                                    fn::computed_as<scalar_t>(F{})));
}

template <typename F>
void binary_float(KernelContext& c) {
  EMBER_SWITCH_FLOATING(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                        binary_run<scalar_t, scalar_t>(c.inputs[0], c.inputs[1], c.outputs[0],
                                                       fn::computed_as<scalar_t>(F{})));
}

template <typename F>
void compare(KernelContext& c) {
  EMBER_SWITCH_ALL(c.inputs[0].dtype(), unsupported_dtype(c, c.inputs[0].dtype()),
                   binary_run<scalar_t, bool>(c.inputs[0], c.inputs[1], c.outputs[0],
                                              fn::computed_as<scalar_t>(F{})));
}

template <typename F>
void binary_bool(KernelContext& c) {
  binary_run<bool, bool>(c.inputs[0], c.inputs[1], c.outputs[0], F{});
}

template <typename T>
void select_typed(KernelContext& c) {
  const bool* pc = static_cast<const bool*>(c.inputs[0].raw_data());
  const T* pa = static_cast<const T*>(c.inputs[1].raw_data());
  const T* pb = static_cast<const T*>(c.inputs[2].raw_data());
  T* po = static_cast<T*>(c.outputs[0].raw_data());
  if (c.outputs[0].num_elements() == 0) return;
  Broadcast bc = make_broadcast(c.outputs[0].shape(), c.inputs);
  int64_t s0 = bc.strides[0].back(), s1 = bc.strides[1].back(), s2 = bc.strides[2].back();
  for_each_row<3>(bc, [&](int64_t o, const int64_t* off, int64_t len) {
    for (int64_t i = 0; i < len; ++i)
      po[o + i] = pc[off[0] + i * s0] ? pa[off[1] + i * s1] : pb[off[2] + i * s2];
  });
}

void select_kernel(KernelContext& c) {
  EMBER_SWITCH_ALL(c.outputs[0].dtype(), unsupported_dtype(c, c.outputs[0].dtype()),
                   select_typed<scalar_t>(c));
}

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CPU, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_FUNCTOR_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
EMBER_REGISTER_KERNEL(op_name::LogicalNot, CPU, logical_not_kernel);
EMBER_REGISTER_KERNEL(op_name::Cast, CPU, cast_kernel);

EMBER_REGISTER_KERNEL(op_name::SelectV2, CPU, select_kernel);
// clang-format on

}  // namespace
}  // namespace ember::cpu
