#include "core/ops/conv_util.h"

#include "core/error.h"
#include "core/ops/infer_util.h"

namespace ember {
namespace {

// Validates through `fail(message)`, which throws.
template <typename Fail>
Window2D compute(const Attrs& attrs, const TensorShape& given, int64_t kh, int64_t kw, Fail fail) {
  // An input of unknown rank can only be NHWC: four dimensions, unknown until it runs.
  const TensorShape input = given.rank_known() ? given : TensorShape{-1, -1, -1, -1};
  if (input.rank() != 4)
    fail("input must be NHWC (rank 4), got shape " + input.to_debug_string());
  if (attrs.has("data_format") && attrs.get<std::string>("data_format") != "NHWC")
    fail("data_format '" + attrs.get<std::string>("data_format") +
         "' is not supported; ember's convolutions and pooling are NHWC");
  auto quad = [&](const char* name) {
    std::vector<int64_t> v = attrs.has(name) ? attrs.get<std::vector<int64_t>>(name)
                                             : std::vector<int64_t>{1, 1, 1, 1};
    if (v.size() != 4) fail(std::string(name) + " must have 4 elements, got " + std::to_string(v.size()));
    if (v[0] != 1 || v[3] != 1)
      fail(std::string(name) + " must be 1 in the batch and channel dimensions");
    if (v[1] < 1 || v[2] < 1) fail(std::string(name) + " must be positive");
    if (v[1] > (int64_t{1} << 30) || v[2] > (int64_t{1} << 30)) fail(std::string(name) + " is too large");
    return v;
  };
  Window2D g;
  g.n = input.dim(0), g.h = input.dim(1), g.w = input.dim(2), g.c = input.dim(3);
  g.kh = kh, g.kw = kw;
  auto s = quad("strides");
  auto d = quad("dilations");
  g.sh = s[1], g.sw = s[2], g.dh = d[1], g.dw = d[2];
  // (A window of unknown size, -1, is a filter traced with unknown dimensions.)
  if ((kh < 1 && kh != -1) || (kw < 1 && kw != -1)) fail("the window must be at least 1x1, got " + std::to_string(kh) + "x" + std::to_string(kw));
  if (kh > (int64_t{1} << 30) || kw > (int64_t{1} << 30)) fail("the window is too large");
  const std::string& padding = attrs.get<std::string>("padding");
  std::vector<int64_t> ex;
  if (padding == "EXPLICIT") {
    if (!attrs.has("explicit_paddings")) fail("padding EXPLICIT is not supported by this op");
    ex = attrs.get<std::vector<int64_t>>("explicit_paddings");
    if (ex.size() != 8) fail("explicit_paddings must have 8 elements, got " + std::to_string(ex.size()));
    if (ex[0] || ex[1] || ex[6] || ex[7]) fail("explicit_paddings must be 0 in the batch and channel dimensions");
    for (int64_t p : ex)
      if (p < 0 || p > (int64_t{1} << 30)) fail("explicit_paddings must be in [0, 2^30]");
  } else if (padding != "SAME" && padding != "VALID") {
    fail("padding must be SAME, VALID or EXPLICIT, got '" + padding + "'");
  } else if (attrs.has("explicit_paddings") && !attrs.get<std::vector<int64_t>>("explicit_paddings").empty()) {
    fail("explicit_paddings must be empty unless padding is EXPLICIT");
  }
  auto one = [&](int64_t in, int64_t k, int64_t stride, int64_t dil, int dim, int64_t& out,
                 int64_t& before, int64_t& after) {
    int64_t keff = (k - 1) * dil + 1;
    if (in < 0 || k < 0) {  // unknown
      out = -1;
      return;
    }
    if (padding == "VALID") {
      if (in < keff) fail("the input's dimension " + std::to_string(dim) + " (" + std::to_string(in) +
                          ") is smaller than the effective window (" + std::to_string(keff) + ")");
      out = (in - keff) / stride + 1;
      before = after = 0;
    } else if (padding == "SAME") {
      out = (in + stride - 1) / stride;
      int64_t total = std::max<int64_t>((out - 1) * stride + keff - in, 0);
      before = total / 2;
      after = total - before;
    } else {
      before = ex[static_cast<size_t>(2 * dim)];
      after = ex[static_cast<size_t>(2 * dim + 1)];
      if (in + before + after < keff)
        fail("the padded input's dimension " + std::to_string(dim) + " is smaller than the effective window");
      out = (in + before + after - keff) / stride + 1;
    }
  };
  one(g.h, kh, g.sh, g.dh, 1, g.oh, g.pad_top, g.pad_bottom);
  one(g.w, kw, g.sw, g.dw, 2, g.ow, g.pad_left, g.pad_right);
  return g;
}

}  // namespace

Window2D window_2d(const InferContext& c, const TensorShape& input, int64_t kh, int64_t kw) {
  return compute(c.attrs, input, kh, kw, [&](const std::string& m) { c.fail(m); });
}

Window2D window_2d(const KernelContext& c, const TensorShape& input, int64_t kh, int64_t kw) {
  return compute(c.attrs, input, kh, kw, [&](const std::string& m) -> void {
    throw InvalidArgument("[" + c.op.api_name + "] " + m);
  });
}

}  // namespace ember
