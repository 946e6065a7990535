// Matrix products: MatMul (two matrices) and BatchMatMulV2 (broadcast batches),
// their definitions and the matmul front-end that picks between them.
#include <algorithm>
#include <cctype>
#include <string>

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

namespace {

// A shape whose dimensions are groups of other tensors' dimensions, each
// [from, to) of its tensor merged into one: static where the trace knows
// every size, else read from the run-time shapes.
class MergedShape {
 public:
  void add(const Tensor& x, int64_t from, int64_t to) { groups_.push_back({x, from, to}); }
  Tensor reshaped(const Tensor& y) const {
    Dims dims;
    for (const Group& g : groups_) {
      int64_t n = 1;
      for (int64_t i = g.from; i < g.to; ++i) {
        const int64_t d = g.x.dim(static_cast<int>(i));
        if (d == TensorShape::kUnknown) return reshape(y, runtime());
        n *= d;
      }
      dims.push_back(n);
    }
    return reshape(y, TensorShape(dims));
  }

 private:
  struct Group {
    Tensor x;
    int64_t from, to;
  };
  Tensor runtime() const {
    std::vector<Tensor> parts;
    for (const Group& g : groups_)
      parts.push_back(reshape(reduce_prod(slice(shape(g.x, int64), {g.from}, {g.to - g.from})), TensorShape{1}));
    return concat(parts, 0);
  }
  std::vector<Group> groups_;
};

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& inputs) {
  ApiScope api("einsum");
  EMBER_CHECK(inputs.size() == 1 || inputs.size() == 2, Unimplemented, "[einsum] takes one or two operands, got ",
              inputs.size());
  std::string eq;
  for (char ch : equation)
    if (ch != ' ') eq += ch;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> subs;
  for (size_t at = 0;;) {
    const size_t comma = lhs.find(',', at);
    subs.push_back(lhs.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  EMBER_CHECK(subs.size() == inputs.size(), InvalidArgument, "[einsum] \"", equation, "\" names ", subs.size(),
              " operands, got ", inputs.size());
  std::string out;
  if (arrow != std::string::npos) {
    out = eq.substr(arrow + 2);
  } else {  // implicit: the broadcast dimensions, then the labels used once, in alphabetical order
    if (lhs.find("...") != std::string::npos) out = "...";
    for (char ch = 'A'; ch <= 'z'; ++ch)
      if (std::isalpha(static_cast<unsigned char>(ch)) && std::count(lhs.begin(), lhs.end(), ch) == 1) out += ch;
  }
  // "..." stands for an operand's dimensions its labels leave over (its rank
  // must be known), right-aligned across operands as NumPy broadcasts: each
  // becomes a label of its own, unused in the equation, and the output's
  // "..." all of them.
  if (eq.find("...") != std::string::npos) {
    std::string fresh;
    for (char ch = 'A'; ch <= 'z'; ++ch)
      if (std::isalpha(static_cast<unsigned char>(ch)) && eq.find(ch) == std::string::npos) fresh += ch;
    std::vector<int64_t> extra(subs.size(), 0);
    int64_t most = 0;
    for (size_t k = 0; k < subs.size(); ++k) {
      const size_t at = subs[k].find("...");
      if (at == std::string::npos) continue;
      EMBER_CHECK(subs[k].find("...", at + 3) == std::string::npos, InvalidArgument, "[einsum] \"", equation,
                  "\": '...' twice in an operand");
      EMBER_CHECK(inputs[k].shape().rank_known(), Unimplemented, "[einsum] \"", equation, "\": operand ", k,
                  " of a rank this trace does not know, for its '...'");
      extra[k] = inputs[k].rank() - static_cast<int64_t>(subs[k].size() - 3);
      EMBER_CHECK(extra[k] >= 0, InvalidArgument, "[einsum] \"", equation, "\": operand ", k, " has shape ",
                  inputs[k].shape().to_string(), ", fewer dimensions than its labels");
      most = std::max(most, extra[k]);
    }
    EMBER_CHECK(most <= static_cast<int64_t>(fresh.size()), Unimplemented, "[einsum] \"", equation,
                "\": too many broadcast dimensions");
    for (size_t k = 0; k < subs.size(); ++k)
      if (const size_t at = subs[k].find("..."); at != std::string::npos)
        subs[k].replace(at, 3, fresh.substr(static_cast<size_t>(most - extra[k]), static_cast<size_t>(extra[k])));
    if (const size_t at = out.find("..."); at != std::string::npos) out.replace(at, 3, fresh.substr(0, static_cast<size_t>(most)));
  }
  auto valid = [&](const std::string& s) {
    for (char ch : s)
      EMBER_CHECK(std::isalpha(static_cast<unsigned char>(ch)), InvalidArgument, "[einsum] \"", equation,
                  "\": '", ch, "' is not a label");
  };
  valid(out);
  for (char ch : out)
    EMBER_CHECK(std::count(out.begin(), out.end(), ch) == 1, InvalidArgument, "[einsum] \"", equation,
                "\": label '", ch, "' repeats in the output");
  std::vector<Tensor> x = inputs;
  for (size_t k = 0; k < x.size(); ++k) {
    valid(subs[k]);
    EMBER_CHECK(x[k].shape().rank_known() && x[k].rank() == static_cast<int64_t>(subs[k].size()), InvalidArgument,
                "[einsum] \"", equation, "\": operand ", k, " has shape ", x[k].shape().to_string(), ", not ",
                subs[k].size(), " dimensions");
    // A label repeated in an operand takes its diagonal ("ii->i", "bii->b"):
    // the two dimensions moved last, merged, and every (n + 1)-th element gathered.
    for (size_t p = 0; p < subs[k].size(); ++p) {
      const size_t q = subs[k].find(subs[k][p], p + 1);
      if (q == std::string::npos) continue;
      const int64_t r = x[k].rank(), dp = x[k].dim(static_cast<int>(p)), dq = x[k].dim(static_cast<int>(q));
      EMBER_CHECK(dp < 0 || dq < 0 || dp == dq, InvalidArgument, "[einsum] \"", equation, "\": label '", subs[k][p],
                  "' of operand ", k, " stands for dimensions of ", dp, " and ", dq);
      std::vector<int64_t> perm;
      std::string rest;
      for (int64_t i = 0; i < r; ++i)
        if (i != static_cast<int64_t>(p) && i != static_cast<int64_t>(q)) perm.push_back(i), rest += subs[k][static_cast<size_t>(i)];
      perm.push_back(static_cast<int64_t>(p)), perm.push_back(static_cast<int64_t>(q));
      const Tensor moved = transpose(x[k], perm);
      const Tensor dims = shape(moved, int64);
      const Tensor n = shape_at(moved, -1);
      const Tensor flat = reshape(moved, concat({slice(dims, {0}, {r - 2}), reshape(n * n, TensorShape{1})}, 0));
      x[k] = gather(flat, range(constant(int64_t{0}), n, constant(int64_t{1})) * (n + constant(int64_t{1})), r - 2);
      subs[k] = rest + subs[k][p];
      p = static_cast<size_t>(-1);  // (again from the start: a label may repeat more than twice)
    }
    // Labels only this operand has and the output lacks are summed first.
    std::vector<int64_t> gone;
    std::string kept;
    for (size_t i = 0; i < subs[k].size(); ++i) {
      const char ch = subs[k][i];
      const bool elsewhere = out.find(ch) != std::string::npos ||
                             (x.size() == 2 && subs[1 - k].find(ch) != std::string::npos);
      if (elsewhere) kept += ch;
      else gone.push_back(static_cast<int64_t>(i));
    }
    if (!gone.empty()) x[k] = reduce_sum(x[k], gone);
    subs[k] = kept;
  }
  for (char ch : out)
    EMBER_CHECK(subs[0].find(ch) != std::string::npos || (x.size() == 2 && subs[1].find(ch) != std::string::npos),
                InvalidArgument, "[einsum] \"", equation, "\": output label '", ch, "' names no input dimension");
  auto perm_to = [](const std::string& from, const std::string& to) {
    std::vector<int64_t> perm;
    for (char ch : to) perm.push_back(static_cast<int64_t>(from.find(ch)));
    return perm;
  };
  auto arranged = [&](const Tensor& t, const std::string& from, const std::string& to) {
    return from == to ? t : transpose(t, perm_to(from, to));
  };
  if (x.size() == 1) return arranged(x[0], subs[0], out);

  // Two operands: batch labels (both and the output), contracted ones (both,
  // not the output), and each one's own: [batch, own a, contracted] ·
  // [batch, contracted, own b], each group merged into one dimension.
  std::string batch, contracted, own_a, own_b;
  for (char ch : subs[0]) {
    const bool in_b = subs[1].find(ch) != std::string::npos, in_out = out.find(ch) != std::string::npos;
    (in_b ? (in_out ? batch : contracted) : own_a) += ch;
  }
  for (char ch : subs[1])
    if (subs[0].find(ch) == std::string::npos) own_b += ch;
  const Tensor a = arranged(x[0], subs[0], batch + own_a + contracted);
  const Tensor b = arranged(x[1], subs[1], batch + contracted + own_b);
  const auto nb = static_cast<int64_t>(batch.size()), na = static_cast<int64_t>(own_a.size()),
             nk = static_cast<int64_t>(contracted.size()), nob = static_cast<int64_t>(own_b.size());
  MergedShape ma, mb, mo;  // [batch..., A, K], [batch..., K, B], and the product's unmerged
  for (int64_t i = 0; i < nb; ++i) ma.add(a, i, i + 1), mb.add(b, i, i + 1);
  ma.add(a, nb, nb + na), ma.add(a, nb + na, nb + na + nk);
  mb.add(b, nb, nb + nk), mb.add(b, nb + nk, nb + nk + nob);
  const Tensor product = matmul(ma.reshaped(a), mb.reshaped(b));
  // (The batch dimensions the product's: where one operand's is 1, broadcast to the other's.)
  for (int64_t i = 0; i < nb; ++i) mo.add(product, i, i + 1);
  for (int64_t i = nb; i < nb + na; ++i) mo.add(a, i, i + 1);
  for (int64_t i = nb + nk; i < nb + nk + nob; ++i) mo.add(b, i, i + 1);
  return arranged(mo.reshaped(product), batch + own_a + own_b, out);
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
