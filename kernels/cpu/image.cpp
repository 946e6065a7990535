// ImageProjectiveTransformV3 on the CPU: output rows split across threads,
// each pixel's source found once for all its channels (kernels/image.h).
#include <algorithm>
#include <string>

#include "core/op_registry.h"
#include "core/op_names.h"
#include "kernels/cpu/parallel.h"
#include "kernels/image.h"

namespace ember::cpu {
namespace {

template <typename T>
void transform_images(const T* in, T* out, const float* transforms, int64_t transforms_rows, int64_t batch, int64_t h,
                      int64_t w, int64_t oh, int64_t ow, int64_t channels, projective::Interpolation interpolation,
                      projective::Fill fill_mode, T fill) {
  const int64_t row_cost = std::max<int64_t>(1, ow * channels);
  parallel_for(batch * oh, std::max<int64_t>(1, kParallelGrain / row_cost), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t n = r / oh, y = r % oh;
      const float* t = transforms + (transforms_rows == 1 ? 0 : n * 8);
      const T* img = in + n * h * w * channels;
      T* o = out + (n * oh + y) * ow * channels;
      for (int64_t x = 0; x < ow; ++x)
        projective::transform_pixel(img, t, y, x, h, w, channels, interpolation, fill_mode, fill, o + x * channels);
    }
  });
}

void projective_transform_kernel(KernelContext& c) {
  const Tensor &images = c.inputs[0], &transforms = c.inputs[1];
  Tensor& y = c.outputs[0];
  if (y.num_elements() == 0) return;
  const auto interpolation = projective::interpolation_of(c.attrs.get<std::string>("interpolation"));
  const auto fill_mode = projective::fill_of(c.attrs.get<std::string>("fill_mode"));
  const float fill = c.inputs[2].item<float>();
  EMBER_SWITCH_ARITH(images.dtype(), unsupported_dtype(c, images.dtype()),
                     transform_images(images.data<const scalar_t>(), y.data<scalar_t>(), transforms.data<const float>(),
                                      transforms.dim(0), images.dim(0), images.dim(1), images.dim(2), y.dim(1), y.dim(2),
                                      images.dim(3), interpolation, fill_mode, static_cast<scalar_t>(fill)));
}

EMBER_REGISTER_KERNEL(op_name::ImageProjectiveTransformV3, CPU, projective_transform_kernel);

}  // namespace
}  // namespace ember::cpu
