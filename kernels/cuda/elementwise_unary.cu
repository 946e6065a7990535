// CUDA kernels of the unary elementwise ops (the functors of
// kernels/functors.h, LogicalNot and Cast), and the broadcast indexer.
#include "core/op_names.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/elementwise_ops.h"

namespace ember::cuda {

Indexer make_indexer(const TensorShape& out, std::span<const Tensor> inputs, const char* api) {
  int r = out.rank();
  // Per-input strides over the output's dimensions, then collapse neighbours.
  int64_t raw[3][64] = {};
  EMBER_CHECK(r <= 64, Unimplemented, "[", api, "] rank ", r, " on CUDA");
  for (size_t k = 0; k < inputs.size(); ++k) {
    const TensorShape& s = inputs[k].shape();
    Dims cs = contiguous_strides(s);
    for (int i = 0; i < s.rank(); ++i)
      raw[k][i + r - s.rank()] = s.dim(i) == 1 ? 0 : cs[static_cast<size_t>(i)];
  }
  Indexer ix;
  for (int i = 0; i < r; ++i) {
    int64_t d = out.dim(i);
    if (d == 1) continue;
    bool merge = ix.rank > 0;
    for (size_t k = 0; merge && k < inputs.size(); ++k)
      merge = ix.strides[k][ix.rank - 1] == raw[k][i] * d;
    if (merge) {
      ix.dims[ix.rank - 1] *= d;
      for (size_t k = 0; k < inputs.size(); ++k) ix.strides[k][ix.rank - 1] = raw[k][i];
    } else {
      EMBER_CHECK(ix.rank < kMaxRank, Unimplemented, "[", api, "] broadcasting over more than ",
                  kMaxRank, " separate dimensions on CUDA");
      ix.dims[ix.rank] = d;
      for (size_t k = 0; k < inputs.size(); ++k) ix.strides[k][ix.rank] = raw[k][i];
      ++ix.rank;
    }
  }
  return ix;
}

namespace {

template <typename F>
void unary_float(KernelContext& c) {
  F f{};
  if constexpr (requires { f.configure(c.attrs); }) f.configure(c.attrs);
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_FLOATING(t, unsupported_dtype(c, t),
                        (launch_unary<scalar_t, scalar_t>(c, fn::computed_as<scalar_t>(f))));
}
template <typename F>
void unary_numeric(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_ARITH(t, unsupported_dtype(c, t),
                     (launch_unary<scalar_t, scalar_t>(c, fn::computed_as<scalar_t>(F{}))));
}
void logical_not(KernelContext& c) { launch_unary<bool, bool>(c, fn::LogicalNot{}); }

template <typename To>
void cast_from(KernelContext& c) {
  DType t = c.inputs[0].dtype();
  EMBER_SWITCH_ALL(t, unsupported_dtype(c, t), (launch_unary<scalar_t, To>(c, fn::CastTo<To>{})));
}
void cast(KernelContext& c) {
  DType t = c.outputs[0].dtype();
  EMBER_SWITCH_ALL(t, unsupported_dtype(c, t), cast_from<scalar_t>(c));
}

// clang-format off
#define EMBER_REGISTER_FUNCTOR_OP(OP, LAUNCHER, FUNCTOR) \
  EMBER_REGISTER_KERNEL(op_name::OP, CUDA, LAUNCHER<FUNCTOR>);
EMBER_ELEMENTWISE_UNARY_OPS(EMBER_REGISTER_FUNCTOR_OP)
#undef EMBER_REGISTER_FUNCTOR_OP
EMBER_REGISTER_KERNEL(op_name::LogicalNot, CUDA, logical_not);
EMBER_REGISTER_KERNEL(op_name::Cast, CUDA, cast);
// clang-format on

}  // namespace
}  // namespace ember::cuda
