// Matrix products: MatMul (two matrices) and BatchMatMulV2 (broadcast batches),
// their definitions and the matmul front-end that picks between them.
#include "core/context.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"
#include "core/ops/grad_util.h"

namespace ember {
namespace {

std::string mat_str(const TensorShape& s) { return s.to_debug_string(); }

void infer_matmul(InferContext& c) {
  const Tensor &a_in = c.inputs[0], &b_in = c.inputs[1];
  infer::require_float(c, a_in, "a");
  infer::require_same_dtype(c, a_in, b_in);
  if ((a_in.shape().rank_known() && a_in.rank() != 2) || (b_in.shape().rank_known() && b_in.rank() != 2))
    c.fail("MatMul takes matrices (rank 2), got ", mat_str(a_in.shape()), " and ", mat_str(b_in.shape()));
  TensorShape a = infer::with_rank(c, a_in.shape(), 2, "a"), b = infer::with_rank(c, b_in.shape(), 2, "b");
  bool ta = c.attrs.get<bool>("transpose_a"), tb = c.attrs.get<bool>("transpose_b");
  int64_t m = a.dim(ta ? 1 : 0), k = a.dim(ta ? 0 : 1);
  int64_t k2 = b.dim(tb ? 1 : 0), n = b.dim(tb ? 0 : 1);
  if (k >= 0 && k2 >= 0 && k != k2)
    c.fail("inner dimensions differ: ", mat_str(a), " vs ", mat_str(b), ta || tb ? " (after transposes)" : "");
  c.outputs.push_back({a_in.dtype(), TensorShape{m, n}});
}

void infer_batch_matmul(InferContext& c) {
  const Tensor &a = c.inputs[0], &b = c.inputs[1];
  infer::require_float(c, a, "a");
  infer::require_same_dtype(c, a, b);
  if (!a.shape().rank_known() || !b.shape().rank_known()) {  // (ranks and dimensions are checked when it runs)
    if ((a.shape().rank_known() && a.rank() < 2) || (b.shape().rank_known() && b.rank() < 2))
      c.fail("operands must have rank >= 2, got ", mat_str(a.shape()), " and ", mat_str(b.shape()));
    c.outputs.push_back({a.dtype(), TensorShape::unknown_rank()});
    return;
  }
  if (a.rank() < 2 || b.rank() < 2)
    c.fail("operands must have rank >= 2, got ", mat_str(a.shape()), " and ", mat_str(b.shape()));
  bool ta = c.attrs.get<bool>("adj_x"), tb = c.attrs.get<bool>("adj_y");
  int ra = a.rank(), rb = b.rank();
  int64_t m = a.dim(ta ? ra - 1 : ra - 2), k = a.dim(ta ? ra - 2 : ra - 1);
  int64_t k2 = b.dim(tb ? rb - 1 : rb - 2), n = b.dim(tb ? rb - 2 : rb - 1);
  if (k >= 0 && k2 >= 0 && k != k2)
    c.fail("inner dimensions differ: ", mat_str(a.shape()), " vs ", mat_str(b.shape()),
           ta || tb ? " (after transposes)" : "");
  Dims ba(a.shape().dims().begin(), a.shape().dims().end() - 2);
  Dims bb(b.shape().dims().begin(), b.shape().dims().end() - 2);
  TensorShape batch = infer::broadcast(c, TensorShape(ba), TensorShape(bb));
  Dims out = batch.dims();
  out.push_back(m);
  out.push_back(n);
  c.outputs.push_back({a.dtype(), TensorShape(std::move(out))});
}

// clang-format off
EMBER_DEFINE_OP(op_name::MatMul).inputs(2).attr("transpose_a", AttrKind::Bool).attr("transpose_b", AttrKind::Bool).api("matmul").set_infer(infer_matmul).tf_outputs({"product"});
EMBER_DEFINE_OP(op_name::BatchMatMulV2).inputs(2).attr("adj_x", AttrKind::Bool).attr("adj_y", AttrKind::Bool).api("matmul").set_infer(infer_batch_matmul);
// clang-format on

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  ApiScope api("matmul");
  if (a.shape().rank_known() && b.shape().rank_known() && a.rank() == 2 && b.rank() == 2)
    return execute1(EMBER_OP(op_name::MatMul), {a, b},
                    {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}});
  return execute1(EMBER_OP(op_name::BatchMatMulV2), {a, b},
                  {{"adj_x", transpose_a}, {"adj_y", transpose_b}});
}

}  // namespace ember

// ---- gradients ---------------------------------------------------------------------------------
// Gradients of the matrix products.
namespace ember::autograd {
namespace {

// clang-format off
// For C = op(A) op(B): dA and dB, by which operands were transposed; only
// those asked for (GradContext::needs_grad, TensorFlow's skip_input_indices):
// a first layer's input needs none, and its product would be the step's
// largest but one.
Grads matmul_grads(const GradContext& c, bool ta, bool tb) {
  const Tensor &a = c.in(0), &b = c.in(1), &g = c.grad();
  // Only batch dimensions broadcast: two matrices' gradients have their shapes.
  auto matrix = [](const Tensor& t) { return t.shape().rank_known() && t.rank() == 2; };
  const bool broadcasts = !(matrix(a) && matrix(b));
  Tensor ga, gb;
  if (c.needs_grad(0)) {
    ga = !ta && !tb ? matmul(g, b, false, true)
         : !ta      ? matmul(g, b)
         : !tb      ? matmul(b, g, false, true)
                    : matmul(b, g, true, true);
    if (broadcasts) ga = unbroadcast(ga, a);
  }
  if (c.needs_grad(1)) {
    gb = !ta && !tb ? matmul(a, g, true, false)
         : !ta      ? matmul(g, a, true, false)
         : !tb      ? matmul(a, g)
                    : matmul(g, a, true, true);
    if (broadcasts) gb = unbroadcast(gb, b);
  }
  return {ga, gb};
}
GRAD(op_name::MatMul, kGradUsesInputs) { return matmul_grads(c, c.attrs.get<bool>("transpose_a"), c.attrs.get<bool>("transpose_b")); } END_GRAD;
GRAD(op_name::BatchMatMulV2, kGradUsesInputs) { return matmul_grads(c, c.attrs.get<bool>("adj_x"), c.attrs.get<bool>("adj_y")); } END_GRAD;
// clang-format on

}  // namespace
}  // namespace ember::autograd
