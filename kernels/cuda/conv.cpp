// Convolutions on CUDA through cuDNN (host code). Activations stay NHWC;
// TensorFlow's HWIO filter is transposed to cuDNN's NHWC filter layout
// (KRSC: out, kh, kw, in), a depthwise filter to a grouped one with one
// input channel per group. cuDNN pads symmetrically, so an asymmetric
// padding (TensorFlow's SAME with an odd total) pads the input explicitly
// first, as TensorFlow does. float32 arithmetic is strict (no TF32), so
// results agree with the CPU's to float32 rounding; bfloat16 and float16 run
// on the tensor cores with float32 accumulation.
#include <cudnn.h>

#include <vector>

#include "core/cuda/cuda_check.h"
#include "core/cuda_runtime.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/conv_util.h"
#include "kernels/cuda/thread_handles.h"

#define EMBER_CUDNN_CHECK(CALL)                                                                \
  do {                                                                                         \
    cudnnStatus_t ember_st_ = (CALL);                                                          \
    if (ember_st_ != CUDNN_STATUS_SUCCESS) [[unlikely]]                                        \
      throw ::ember::Internal(::ember::detail::str_cat("[cudnn] ", #CALL, " failed: ",         \
                                                       cudnnGetErrorString(ember_st_), " at ", \
                                                       __FILE__, ":", __LINE__));              \
  } while (0)

namespace ember::cuda {
namespace {

cudnnHandle_t create_handle(int device) {
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  cudnnHandle_t h = nullptr;
  EMBER_CUDNN_CHECK(cudnnCreate(&h));
  return h;
}

// This thread's handle (kernels/cuda/thread_handles.h), on this thread's
// stream: a thread capturing a CUDA graph has its own.
cudnnHandle_t handle(int device) {
  cudnnHandle_t h = thread_handle<cudnnHandle_t, create_handle>(device);
  EMBER_CUDNN_CHECK(cudnnSetStream(h, stream(device)));
  return h;
}

cudnnDataType_t cudnn_type(const KernelContext& c, DType t) {
  if (t == float32) return CUDNN_DATA_FLOAT;
  if (t == float64) return CUDNN_DATA_DOUBLE;
  if (t == bfloat16) return CUDNN_DATA_BFLOAT16;
  if (t == float16) return CUDNN_DATA_HALF;
  unsupported_dtype(c, t);
}

// The descriptors of one convolution, destroyed with it.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descriptors() {
    EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    EMBER_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    EMBER_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

enum class Pass { Forward, BackpropInput, BackpropFilter };

struct Problem {
  Window2D g;         // of the (explicitly padded, if needed) input
  bool depthwise;
  int64_t in_c, out_c, multiplier;
  int64_t pad_h, pad_w;  // symmetric, for cuDNN
  bool pre_padded;       // the input was padded explicitly
  Window2D original;
};

Problem describe(const KernelContext& c, const TensorShape& input, const TensorShape& filter,
                 bool depthwise) {
  Problem p;
  p.original = window_2d(c, input, filter.dim(0), filter.dim(1));
  p.g = p.original;
  p.depthwise = depthwise;
  p.in_c = input.dim(3);
  p.multiplier = depthwise ? filter.dim(3) : 1;
  p.out_c = depthwise ? filter.dim(2) * filter.dim(3) : filter.dim(3);
  p.pre_padded = p.g.pad_top != p.g.pad_bottom || p.g.pad_left != p.g.pad_right;
  if (p.pre_padded) {
    p.g.h += p.g.pad_top + p.g.pad_bottom;
    p.g.w += p.g.pad_left + p.g.pad_right;
    p.pad_h = p.pad_w = 0;
  } else {
    p.pad_h = p.g.pad_top;
    p.pad_w = p.g.pad_left;
  }
  return p;
}

void set_descriptors(const KernelContext& c, Descriptors& d, const Problem& p, DType dtype) {
  cudnnDataType_t t = cudnn_type(c, dtype);
  const Window2D& g = p.g;
  auto i32 = [](int64_t v) { return static_cast<int>(v); };
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NHWC, t, i32(g.n), i32(g.c), i32(g.h), i32(g.w)));
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NHWC, t, i32(g.n), i32(p.out_c), i32(g.oh), i32(g.ow)));
  EMBER_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d.w, t, CUDNN_TENSOR_NHWC, i32(p.out_c),
                                               i32(p.depthwise ? 1 : p.in_c), i32(g.kh), i32(g.kw)));
  // The 16-bit floats accumulate in float32 on the tensor cores (TensorFlow's
  // choice); float32 stays in FMA math (no TF32 unless asked).
  const bool half = is_half(dtype);
  EMBER_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d.conv, i32(p.pad_h), i32(p.pad_w), i32(g.sh), i32(g.sw),
                                                    i32(g.dh), i32(g.dw), CUDNN_CROSS_CORRELATION,
                                                    half ? CUDNN_DATA_FLOAT : t));
  if (p.depthwise) EMBER_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.conv, i32(p.in_c)));
  EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, half ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
}

// TensorFlow's filter -> cuDNN's KRSC, and back.
Tensor to_krsc(const Tensor& f, const Problem& p) {
  if (!p.depthwise) return transpose(f, {3, 0, 1, 2});
  int64_t kh = f.dim(0), kw = f.dim(1);
  return reshape(transpose(reshape(f, {kh, kw, p.out_c}), {2, 0, 1}), {p.out_c, kh, kw, 1});
}
Tensor from_krsc(const Tensor& k, const Problem& p) {
  int64_t kh = k.dim(1), kw = k.dim(2);
  if (!p.depthwise) return transpose(k, {1, 2, 3, 0});
  return reshape(transpose(reshape(k, {p.out_c, kh, kw}), {1, 2, 0}), {kh, kw, p.in_c, p.multiplier});
}

Tensor pre_pad(const Tensor& x, const Problem& p) {
  const Window2D& o = p.original;
  return pad(x, {{0, 0}, {o.pad_top, o.pad_bottom}, {o.pad_left, o.pad_right}, {0, 0}});
}

Tensor workspace(size_t bytes, Device device) {
  return Tensor::empty({static_cast<int64_t>(std::max<size_t>(bytes, 1))}, uint8, device);
}

void copy_into(Tensor& out, const Tensor& value, cudaStream_t s) {
  EMBER_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), value.raw_data(), out.nbytes(), cudaMemcpyDeviceToDevice, s));
}

template <Pass kPass, bool kDepthwise>
void conv_kernel(KernelContext& c) {
  const Tensor& a = c.inputs[0];
  const Tensor& b = c.inputs[1];
  Tensor& out = c.outputs[0];
  if (out.num_elements() == 0) return;
  TensorShape input = kPass == Pass::BackpropInput ? out.shape() : a.shape();
  TensorShape filter = kPass == Pass::Forward ? b.shape() : kPass == Pass::BackpropInput ? a.shape() : out.shape();
  Problem p = describe(c, input, filter, kDepthwise);
  int dev = c.device.index();
  EMBER_CUDA_CHECK(cudaSetDevice(dev));
  cudaStream_t s = stream(dev);
  if (p.g.n == 0 || p.g.oh == 0 || p.g.ow == 0 || p.in_c == 0) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.nbytes(), s));
    return;
  }
  cudnnHandle_t h = handle(dev);
  Descriptors d;
  set_descriptors(c, d, p, out.dtype());
  const double one_d = 1, zero_d = 0;
  const float one_f = 1, zero_f = 0;
  // (alpha and beta are float for float32 and the 16-bit floats)
  const void* one = out.dtype() == float64 ? static_cast<const void*>(&one_d) : &one_f;
  const void* zero = out.dtype() == float64 ? static_cast<const void*>(&zero_d) : &zero_f;
  int returned = 0;
  if constexpr (kPass == Pass::Forward) {
    Tensor x = p.pre_padded ? pre_pad(a, p) : a;
    Tensor w = to_krsc(b, p);
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    EMBER_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y,
                                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    size_t bytes = 0;
    EMBER_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, perf[0].algo, &bytes));
    Tensor ws = workspace(bytes, c.device);
    EMBER_CUDNN_CHECK(cudnnConvolutionForward(h, one, d.x, x.raw_data(), d.w, w.raw_data(), d.conv, perf[0].algo,
                                              ws.raw_data(), bytes, zero, d.y, out.raw_data()));
  } else if constexpr (kPass == Pass::BackpropInput) {
    Tensor w = to_krsc(a, p);
    Tensor dx = p.pre_padded ? Tensor::empty({p.g.n, p.g.h, p.g.w, p.g.c}, out.dtype(), c.device) : out;
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        h, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
    size_t bytes = 0;
    EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, perf[0].algo, &bytes));
    Tensor ws = workspace(bytes, c.device);
    EMBER_CUDNN_CHECK(cudnnConvolutionBackwardData(h, one, d.w, w.raw_data(), d.y, b.raw_data(), d.conv,
                                                   perf[0].algo, ws.raw_data(), bytes, zero, d.x, dx.raw_data()));
    if (p.pre_padded) {
      const Window2D& o = p.original;
      copy_into(out, slice(dx, {0, o.pad_top, o.pad_left, 0}, {o.n, o.h, o.w, o.c}), s);
    }
  } else {
    Tensor x = p.pre_padded ? pre_pad(a, p) : a;
    Tensor dw = Tensor::empty({p.out_c, p.g.kh, p.g.kw, p.depthwise ? 1 : p.in_c}, out.dtype(), c.device);
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
    size_t bytes = 0;
    EMBER_CUDNN_CHECK(
        cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, perf[0].algo, &bytes));
    Tensor ws = workspace(bytes, c.device);
    EMBER_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, one, d.x, x.raw_data(), d.y, b.raw_data(), d.conv,
                                                     perf[0].algo, ws.raw_data(), bytes, zero, d.w, dw.raw_data()));
    copy_into(out, from_krsc(dw, p), s);
  }
}

EMBER_REGISTER_KERNEL(op_name::Conv2D, CUDA, (conv_kernel<Pass::Forward, false>));
EMBER_REGISTER_KERNEL(op_name::Conv2DBackpropInput, CUDA, (conv_kernel<Pass::BackpropInput, false>));
EMBER_REGISTER_KERNEL(op_name::Conv2DBackpropFilter, CUDA, (conv_kernel<Pass::BackpropFilter, false>));
EMBER_REGISTER_KERNEL(op_name::DepthwiseConv2dNative, CUDA, (conv_kernel<Pass::Forward, true>));
EMBER_REGISTER_KERNEL(op_name::DepthwiseConv2dNativeBackpropInput, CUDA, (conv_kernel<Pass::BackpropInput, true>));
EMBER_REGISTER_KERNEL(op_name::DepthwiseConv2dNativeBackpropFilter, CUDA, (conv_kernel<Pass::BackpropFilter, true>));

}  // namespace
}  // namespace ember::cuda
