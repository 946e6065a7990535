// ImageProjectiveTransformV3 on CUDA: a thread per output pixel, its source
// found once for all its channels with the CPU's functions
// (kernels/image.h), so both devices give TensorFlow's pixels.
#include <string>

#include "core/op_names.h"
#include "kernels/cuda/common.cuh"
#include "kernels/image.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void transform_kernel(const T* in, T* out, const float* transforms, int64_t transforms_rows, int64_t pixels,
                                 int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t channels,
                                 projective::Interpolation interpolation, projective::Fill fill_mode, T fill) {
  for (int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; p < pixels;
       p += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = p / (oh * ow), y = p / ow % oh, x = p % ow;
    const float* t = transforms + (transforms_rows == 1 ? 0 : n * 8);
    projective::transform_pixel(in + n * h * w * channels, t, y, x, h, w, channels, interpolation, fill_mode, fill,
                                out + p * channels);
  }
}

void projective_transform_kernel(KernelContext& c) {
  const Tensor &images = c.inputs[0], &transforms = c.inputs[1];
  Tensor& y = c.outputs[0];
  const int64_t pixels = y.dim(0) * y.dim(1) * y.dim(2);
  if (y.num_elements() == 0) return;
  const auto interpolation = projective::interpolation_of(c.attrs.get<std::string>("interpolation"));
  const auto fill_mode = projective::fill_of(c.attrs.get<std::string>("fill_mode"));
  const float fill = c.inputs[2].item<float>();  // (TensorFlow keeps it in host memory)
  cudaStream_t s = prepare(c);
  EMBER_SWITCH_ARITH(images.dtype(), unsupported_dtype(c, images.dtype()), {
    transform_kernel<<<blocks_for(pixels), kThreads, 0, s>>>(
        images.data<const scalar_t>(), y.data<scalar_t>(), transforms.data<const float>(), transforms.dim(0), pixels,
        images.dim(1), images.dim(2), y.dim(1), y.dim(2), images.dim(3), interpolation, fill_mode,
        static_cast<scalar_t>(fill));
  });
  EMBER_CUDA_LAUNCHED();
}

EMBER_REGISTER_KERNEL(op_name::ImageProjectiveTransformV3, CUDA, projective_transform_kernel);

}  // namespace
}  // namespace ember::cuda
