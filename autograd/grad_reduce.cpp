// Gradients of the reductions (core/ops/reduce.cpp).
#include <algorithm>

#include "autograd/grad_util.h"

namespace ember::autograd {
namespace {

// clang-format off
struct Reduced {
  Ints axes;
  TensorShape keep_shape;  // x's shape with the reduced axes set to 1
  int64_t count = 1;       // elements reduced into each output
};
Reduced reduced(const GradContext& c) {
  Reduced r;
  const TensorShape& s = c.inputs[0].shape();
  Dims keep = s.dims();
  EMBER_CHECK(s.rank_known(), Unimplemented, "[", c.op.api_name,
              "] the gradient of a reduction over a tensor of unknown rank is not supported");
  for (int64_t a : c.attrs.get<Ints>("axis")) {
    int64_t n = a < 0 ? a + s.rank() : a;
    r.axes.push_back(n);
    r.count *= std::max<int64_t>(s.dim(static_cast<int>(n)), 1);
    keep[static_cast<size_t>(n)] = 1;
  }
  r.keep_shape = TensorShape(keep);
  return r;
}
// g reshaped to keep dims and broadcast back over x. Where x's shape is
// not fully known (a traced tensor), the reduced axes are put back one by
// one and the broadcast is an addition of zeros of x's shape when it runs.
Tensor spread(const GradContext& c, const Tensor& t, const Reduced& r) {
  const Tensor& x = c.inputs[0];
  if (x.shape().is_fully_defined()) return broadcast_to(reshape(t, r.keep_shape), x.shape());
  Tensor kept = t;
  if (!c.attrs.get<bool>("keep_dims")) {
    Ints axes = r.axes;
    std::sort(axes.begin(), axes.end());
    for (int64_t a : axes) kept = expand_dims(kept, a);
  }
  return kept + zeros_like(x);
}
// The elements reduced into each output, where x's shape is known when it runs.
Tensor count_of(const GradContext& c, const Reduced& r) {
  return reduce_sum(ones_like(c.inputs[0]), r.axes, /*keepdims=*/true);
}

GRAD(op_name::Sum, kGradUsesNothing) { return {spread(c, G, reduced(c))}; } END_GRAD;
GRAD(op_name::Mean, kGradUsesNothing) {
  Reduced r = reduced(c);
  if (!X.shape().is_fully_defined()) return {spread(c, G, r) / count_of(c, r)};
  return {spread(c, G, r) * (1.0 / static_cast<double>(std::max<int64_t>(r.count, 1)))};
} END_GRAD;
// The gradient of a maximum (or minimum) is shared equally among the elements that attain it.
Grads extremum_grad(const GradContext& c) {
  Reduced r = reduced(c);
  Tensor mask = cast(equal(X, spread(c, Y, r)), X.dtype());
  Tensor ties = reduce_sum(mask, r.axes, /*keepdims=*/true);
  return {spread(c, G, r) * mask / ties};
}
GRAD(op_name::Max, kGradUsesAll) { return extremum_grad(c); } END_GRAD;
GRAD(op_name::Min, kGradUsesAll) { return extremum_grad(c); } END_GRAD;
// d prod / d x_i = the product of the others. Without dividing by x_i (which
// fails at zeros): with no zero in the group it is prod / x_i; with one zero
// it is the product of the non-zeros at that zero and 0 elsewhere; with two
// or more, 0 everywhere.
GRAD(op_name::Prod, kGradUsesAll) {
  Reduced r = reduced(c);
  Tensor zero = equal(X, zeros_like(X)), one = ones_like(X), nothing = zeros_like(X);
  Tensor safe = where(zero, one, X);
  Tensor zeros_in_group = spread(c, reduce_sum(cast(zero, X.dtype()), r.axes, true), r);
  Tensor nonzero_prod = spread(c, reduce_prod(safe, r.axes, true), r);
  Tensor none_zero = equal(zeros_in_group, nothing), one_zero = equal(zeros_in_group, one);
  Tensor others = where(none_zero, nonzero_prod / safe, where(logical_and(one_zero, zero), nonzero_prod, nothing));
  return {spread(c, G, r) * others};
} END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd
