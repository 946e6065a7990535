// softmax and log_softmax over one axis (the kernels work on the last; other
// axes are moved last and back).
#include <algorithm>
#include <numeric>

#include "core/context.h"
#include "core/op.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"

namespace ember {
namespace {

void infer_softmax(InferContext& c) {
  infer::require_float(c, c.inputs[0], "logits");
  if (c.inputs[0].rank() < 1) c.fail("logits must have rank >= 1, got a scalar");
  c.outputs.push_back({c.inputs[0].dtype(), c.inputs[0].shape()});
}

// clang-format off
EMBER_DEFINE_OP(op_name::Softmax).inputs(1).api("softmax").set_infer(infer_softmax);
EMBER_DEFINE_OP(op_name::LogSoftmax).inputs(1).api("log_softmax").set_infer(infer_softmax);
// clang-format on

}  // namespace

namespace {
// Runs a last-axis op along `axis` by moving that axis last and back.
Tensor along_axis(const OpDef& op, const Tensor& x, int64_t axis) {
  ApiScope api(op.api_name.c_str());
  int64_t r = x.rank();
  EMBER_CHECK(r >= 1, InvalidArgument, "[", op.api_name,
              "] logits must have rank >= 1, got a scalar");
  EMBER_CHECK(axis >= -r && axis < r, InvalidArgument, "[", op.api_name, "] axis ", axis,
              " is out of range for a tensor of rank ", r, " (expected [", -r, ", ", r, "))");
  if (axis < 0) axis += r;
  if (axis == r - 1) return execute1(op, {x});
  std::vector<int64_t> perm(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[static_cast<size_t>(axis)], perm.back());
  return transpose(execute1(op, {transpose(x, perm)}), perm);
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return along_axis(EMBER_OP(op_name::Softmax), x, axis); }
Tensor log_softmax(const Tensor& x, int64_t axis) {
  return along_axis(EMBER_OP(op_name::LogSoftmax), x, axis);
}

}  // namespace ember
