// BENCHMARKS.md's `mlp` and `cnn` models as Keras Sequential models: what
// the training samples fit and what ember-bench times.
#pragma once

#include <memory>

#include "nn/model.h"

namespace sample {

/// Dense 784→256, ReLU, Dense 256→10 (logits).
inline std::shared_ptr<ember::Sequential> mlp_model() {
  using namespace ember::layers;
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Dense>(256, DenseOptions{.activation = "relu"}), std::make_shared<Dense>(10)});
}

/// Conv 3×3 1→32, ReLU, MaxPool 2, Conv 3×3 32→64, ReLU, MaxPool 2, Flatten,
/// Dense 1600→128, ReLU, Dense 128→10 (logits).
inline std::shared_ptr<ember::Sequential> cnn_model() {
  using namespace ember::layers;
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{
      std::make_shared<Conv2D>(32, std::vector<int64_t>{3}, Conv2DOptions{.activation = "relu"}),
      std::make_shared<MaxPool2D>(),
      std::make_shared<Conv2D>(64, std::vector<int64_t>{3}, Conv2DOptions{.activation = "relu"}),
      std::make_shared<MaxPool2D>(), std::make_shared<Flatten>(),
      std::make_shared<Dense>(128, DenseOptions{.activation = "relu"}), std::make_shared<Dense>(10)});
}

}  // namespace sample
