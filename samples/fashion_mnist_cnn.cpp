// Trains BENCHMARKS.md's `cnn` on Fashion-MNIST: Conv 3×3 1→32, ReLU,
// MaxPool 2, Conv 3×3 32→64, ReLU, MaxPool 2, Flatten, Dense 1600→128, ReLU,
// Dense 128→10, Adam(1e-3), batch 64, 1 epoch by default.
#include "samples/models.h"
#include "samples/train_util.h"

int main(int argc, char** argv) {
  using namespace ember;
  sample::Flags defaults;
  defaults.epochs = 1;
  defaults.batch_size = 64;
  sample::Flags flags = sample::parse_flags(argc, argv, defaults);
  try {
    auto model = sample::cnn_model();
    sample::train_and_evaluate(flags, model, {28, 28, 1}, "fashion_mnist_cnn");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember-fashion-mnist-cnn: %s\n", e.what());
    return 1;
  }
  return 0;
}
