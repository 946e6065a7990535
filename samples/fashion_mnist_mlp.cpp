// Trains BENCHMARKS.md's `mlp` on Fashion-MNIST: Dense 784→256, ReLU, Dense
// 256→10, softmax cross-entropy, Adam(1e-3), batch 128; prints a progress
// line per epoch and the test accuracy.
//   ember-fashion-mnist-mlp [--epochs 3] [--checkpoint-dir DIR --resume] [--distributed] ...
#include "samples/models.h"
#include "samples/train_util.h"

int main(int argc, char** argv) {
  using namespace ember;
  sample::Flags flags = sample::parse_flags(argc, argv, {});
  try {
    auto model = sample::mlp_model();
    sample::train_and_evaluate(flags, model, {784}, "fashion_mnist_mlp");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember-fashion-mnist-mlp: %s\n", e.what());
    return 1;
  }
  return 0;
}
