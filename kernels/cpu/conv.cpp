// Convolutions on the CPU: float32 through oneDNN (the library TensorFlow
// and PyTorch use on x86), with the primitives cached per shape and dtype;
// bfloat16 and float16 through oneDNN's 16-bit primitives (16-bit operands,
// float32 accumulation, one rounding: AVX512-BF16, AVX512-FP16 or AMX where
// the processor has them), or widened to float32 and rounded once where
// oneDNN has only its reference kernel for them; float64 (which oneDNN does
// not compute) by direct loops. TensorFlow's HWIO filter
// is oneDNN's `hwio` (a depthwise filter [kh, kw, c, m] its grouped
// `hwigo`); activations stay NHWC, and oneDNN picks the filter layout it
// computes fastest in, reordered to and from TensorFlow's.
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops/conv_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/widen.h"

namespace ember::cpu {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

enum class Pass { Forward, BackpropInput, BackpropFilter };

struct Conv {
  Window2D g;
  int64_t in_c, out_c;
  bool depthwise;
  int64_t multiplier;  // depthwise: output channels per input channel
};

// The problem from the op's inputs and attributes: (input shape, filter shape).
Conv describe(const KernelContext& c, const TensorShape& input, const TensorShape& filter,
              bool depthwise) {
  Conv p;
  p.g = window_2d(c, input, filter.dim(0), filter.dim(1));
  p.depthwise = depthwise;
  p.in_c = input.dim(3);
  p.multiplier = depthwise ? filter.dim(3) : 1;
  p.out_c = depthwise ? filter.dim(2) * filter.dim(3) : filter.dim(3);
  return p;
}

// ---- float64 (and the reference semantics): direct loops ---------------------------------
// For each output element and each filter tap inside the input: forward
// accumulates x·f into y; the input adjoint scatters f·dy into dx; the
// filter adjoint accumulates x·dy into df.
template <typename T>
void direct(const Conv& p, Pass pass, const T* x, const T* f, const T* y, T* out) {
  const Window2D& g = p.g;
  int64_t out_size = pass == Pass::Forward ? g.n * g.oh * g.ow * p.out_c
                     : pass == Pass::BackpropInput ? g.n * g.h * g.w * g.c
                                                   : g.kh * g.kw * p.in_c * p.multiplier *
                                                         (p.depthwise ? 1 : p.out_c);
  for (int64_t i = 0; i < out_size; ++i) out[i] = T(0);
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox)
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          int64_t iy = oy * g.sh - g.pad_top + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            int64_t ix = ox * g.sw - g.pad_left + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            const int64_t xi = ((b * g.h + iy) * g.w + ix) * g.c;
            const int64_t yi = ((b * g.oh + oy) * g.ow + ox) * p.out_c;
            const int64_t fi = (ky * g.kw + kx) * p.in_c * (p.depthwise ? p.multiplier : p.out_c);
            for (int64_t ci = 0; ci < p.in_c; ++ci) {
              int64_t o0 = p.depthwise ? ci * p.multiplier : 0;
              int64_t o1 = p.depthwise ? o0 + p.multiplier : p.out_c;
              for (int64_t co = o0; co < o1; ++co) {
                int64_t fo = p.depthwise ? fi + co : fi + ci * p.out_c + co;
                if (pass == Pass::Forward)
                  out[yi + co] += x[xi + ci] * f[fo];
                else if (pass == Pass::BackpropInput)
                  out[xi + ci] += f[fo] * y[yi + co];
                else
                  out[fo] += x[xi + ci] * y[yi + co];
              }
            }
          }
        }
}

// ---- float32 and the 16-bit floats: oneDNN -----------------------------------------------------

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

struct Descs {
  memory::desc src, weights_user, dst;
  memory::dims strides, dilates, pad_l, pad_r;
};

memory::desc weights_desc(const Conv& p, memory::data_type dt, tag t) {
  return p.depthwise ? memory::desc({p.in_c, p.multiplier, 1, p.g.kh, p.g.kw}, dt, t == tag::any ? tag::any : tag::hwigo)
                     : memory::desc({p.out_c, p.in_c, p.g.kh, p.g.kw}, dt, t);
}

Descs descs(const Conv& p, memory::data_type dt) {
  const Window2D& g = p.g;
  Descs d;
  d.src = memory::desc({g.n, g.c, g.h, g.w}, dt, tag::nhwc);
  d.dst = memory::desc({g.n, p.out_c, g.oh, g.ow}, dt, tag::nhwc);
  d.weights_user = weights_desc(p, dt, tag::hwio);
  d.strides = {g.sh, g.sw};
  d.dilates = {g.dh - 1, g.dw - 1};
  d.pad_l = {g.pad_top, g.pad_left};
  d.pad_r = {g.pad_bottom, g.pad_right};
  return d;
}

// A pass's primitive and what it needs, built once per problem.
struct Prepared {
  Descs d;
  memory::desc weights;  // the layout the primitive computes with
  dnnl::primitive prim;
};

std::string key_of(const Conv& p, Pass pass, memory::data_type dt) {
  const Window2D& g = p.g;
  std::ostringstream k;
  k << int(pass) << ' ' << int(dt) << ' ' << p.depthwise << ' ' << g.n << ' ' << g.h << ' ' << g.w << ' ' << g.c
    << ' ' << g.kh << ' ' << g.kw << ' ' << p.out_c << ' ' << g.sh << ' ' << g.sw << ' ' << g.dh << ' ' << g.dw
    << ' ' << g.pad_top << ' ' << g.pad_bottom << ' ' << g.pad_left << ' ' << g.pad_right;
  return k.str();
}

// The pass's primitive for data type `dt`; null for a 16-bit type where
// oneDNN has only its reference kernel on this processor (far slower than
// widening to float32's JIT kernel).
std::shared_ptr<const Prepared> prepare(const Conv& p, Pass pass, memory::data_type dt) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Prepared>> cache;
  std::string key = key_of(p, pass, dt);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto out = std::make_shared<Prepared>();
  out->d = descs(p, dt);
  const Descs& d = out->d;
  const memory::desc any = weights_desc(p, dt, tag::any);
  auto fast = [&](const auto& pd) {
    return dt == memory::data_type::f32 || std::string(pd.impl_info_str()).find("ref") == std::string::npos;
  };
  using namespace dnnl;
  try {
    convolution_forward::desc fd(prop_kind::forward_training, algorithm::convolution_direct, d.src, any, d.dst,
                                 d.strides, d.dilates, d.pad_l, d.pad_r);
    convolution_forward::primitive_desc fpd(fd, engine());
    if (pass == Pass::Forward) {
      out->weights = fpd.weights_desc();
      if (fast(fpd)) out->prim = convolution_forward(fpd);
    } else if (pass == Pass::BackpropInput) {
      convolution_backward_data::desc bd(algorithm::convolution_direct, d.src, any, d.dst, d.strides, d.dilates,
                                         d.pad_l, d.pad_r);
      convolution_backward_data::primitive_desc bpd(bd, engine(), fpd);
      out->weights = bpd.weights_desc();
      if (fast(bpd)) out->prim = convolution_backward_data(bpd);
    } else {
      convolution_backward_weights::desc wd(algorithm::convolution_direct, d.src, any, d.dst, d.strides,
                                            d.dilates, d.pad_l, d.pad_r);
      convolution_backward_weights::primitive_desc wpd(wd, engine(), fpd);
      out->weights = wpd.diff_weights_desc();
      if (fast(wpd)) out->prim = convolution_backward_weights(wpd);
    }
  } catch (const dnnl::error&) {
    if (dt == memory::data_type::f32) throw;
  }
  std::shared_ptr<const Prepared> kept = out->prim ? std::move(out) : nullptr;
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(key, std::move(kept)).first->second;
}

// Runs the pass on buffers of data type `dt`; false where oneDNN has no fast
// kernel for it here.
bool run_onednn(const Conv& p, Pass pass, memory::data_type dt, const void* x, const void* f, const void* y,
                void* out) {
  auto prep = prepare(p, pass, dt);
  if (!prep) return false;
  const Descs& d = prep->d;
  dnnl::stream s(engine());
  auto mem = [&](const memory::desc& md, const void* ptr) { return memory(md, engine(), const_cast<void*>(ptr)); };
  memory user_w = mem(d.weights_user, pass == Pass::BackpropFilter ? out : f);
  memory w = user_w;
  bool reorder = prep->weights != d.weights_user;
  if (reorder) w = memory(prep->weights, engine());
  if (pass == Pass::Forward) {
    if (reorder) dnnl::reorder(user_w, w).execute(s, user_w, w);
    prep->prim.execute(s, {{DNNL_ARG_SRC, mem(d.src, x)}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, mem(d.dst, out)}});
  } else if (pass == Pass::BackpropInput) {
    if (reorder) dnnl::reorder(user_w, w).execute(s, user_w, w);
    prep->prim.execute(s, {{DNNL_ARG_DIFF_SRC, mem(d.src, out)}, {DNNL_ARG_WEIGHTS, w},
                           {DNNL_ARG_DIFF_DST, mem(d.dst, y)}});
  } else {
    prep->prim.execute(s, {{DNNL_ARG_SRC, mem(d.src, x)}, {DNNL_ARG_DIFF_WEIGHTS, w},
                           {DNNL_ARG_DIFF_DST, mem(d.dst, y)}});
    if (reorder) dnnl::reorder(w, user_w).execute(s, w, user_w);
  }
  s.wait();
  return true;
}

// An operand's buffer, or null where the pass takes none.
const void* raw(const Tensor* t) { return t ? t->raw_data() : nullptr; }

// A 16-bit pass: oneDNN's own kernel, or the inputs widened to float32, the
// float32 primitive, and the output rounded once.
template <typename T>
void run_16bit(const Conv& p, Pass pass, memory::data_type dt, const Tensor* x, const Tensor* f, const Tensor* y,
               Tensor& out) {
  if (run_onednn(p, pass, dt, raw(x), raw(f), raw(y), out.raw_data())) return;
  Tensor kx, kf, ky;
  auto wide = [](const Tensor* t, Tensor& keep) -> const void* { return t ? widened<float>(*t, keep) : nullptr; };
  Staged<T, float> staged(out);
  EMBER_CHECK(run_onednn(p, pass, memory::data_type::f32, wide(x, kx), wide(f, kf), wide(y, ky), staged.data()),
              Internal, "[conv2d] oneDNN made no float32 convolution");
  staged.finish();
}

// inputs: Forward (x, f); BackpropInput (f, dy); BackpropFilter (x, dy).
template <Pass kPass, bool kDepthwise>
void conv_kernel(KernelContext& c) {
  const Tensor& a = c.inputs[0];
  const Tensor& b = c.inputs[1];
  Tensor& out = c.outputs[0];
  TensorShape input = kPass == Pass::BackpropInput ? out.shape() : a.shape();
  TensorShape filter = kPass == Pass::Forward ? b.shape()
                       : kPass == Pass::BackpropInput ? a.shape()
                                                      : out.shape();
  Conv p = describe(c, input, filter, kDepthwise);
  if (out.num_elements() == 0) return;
  const Tensor* x = kPass == Pass::BackpropInput ? nullptr : &a;
  const Tensor* f = kPass == Pass::Forward ? &b : kPass == Pass::BackpropInput ? &a : nullptr;
  const Tensor* y = kPass == Pass::Forward ? nullptr : &b;
  if (p.g.n == 0 || p.g.oh == 0 || p.g.ow == 0 || p.in_c == 0) {
    std::memset(out.raw_data(), 0, out.nbytes());  // nothing contributes
    return;
  }
  switch (out.dtype()) {
    case float32:
      EMBER_CHECK(run_onednn(p, kPass, memory::data_type::f32, raw(x), raw(f), raw(y), out.raw_data()), Internal,
                  "[", c.op.api_name, "] oneDNN made no float32 convolution");
      return;
    case bfloat16:
      return run_16bit<bfloat16_t>(p, kPass, memory::data_type::bf16, x, f, y, out);
    case float16:
      return run_16bit<float16_t>(p, kPass, memory::data_type::f16, x, f, y, out);
    case float64: {
      auto typed = [](const Tensor* t) { return t ? t->data<const double>() : nullptr; };
      return direct(p, kPass, typed(x), typed(f), typed(y), out.data<double>());
    }
    default:
      unsupported_dtype(c, out.dtype());
  }
}

EMBER_REGISTER_KERNEL(op_name::Conv2D, CPU, (conv_kernel<Pass::Forward, false>));
EMBER_REGISTER_KERNEL(op_name::Conv2DBackpropInput, CPU, (conv_kernel<Pass::BackpropInput, false>));
EMBER_REGISTER_KERNEL(op_name::Conv2DBackpropFilter, CPU, (conv_kernel<Pass::BackpropFilter, false>));
EMBER_REGISTER_KERNEL(op_name::DepthwiseConv2dNative, CPU, (conv_kernel<Pass::Forward, true>));
EMBER_REGISTER_KERNEL(op_name::DepthwiseConv2dNativeBackpropInput, CPU,
                      (conv_kernel<Pass::BackpropInput, true>));
EMBER_REGISTER_KERNEL(op_name::DepthwiseConv2dNativeBackpropFilter, CPU,
                      (conv_kernel<Pass::BackpropFilter, true>));

}  // namespace
}  // namespace ember::cpu
