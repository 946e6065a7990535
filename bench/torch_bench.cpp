// torch-bench: the same workloads as ember-bench, run by libtorch, for
// figures taken side by side in one run on one machine. Each is timed in
// libtorch's best form (BENCHMARKS.md, "Baselines"): out= variants into
// preallocated tensors, so libtorch's allocator is not what is timed, and
// libtorch's thread count equal to ember's (OpenMP's).
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <tuple>

#include "bench/harness.h"

namespace {

using bench::Figure;

std::vector<Figure> op_overhead() {
  torch::NoGradGuard no_grad;
  auto a = torch::ones({1}), b = torch::ones({1});
  double t = bench::time_per_call([&] { auto c = a + b; }, 200000, 5, 1);
  return {{"op_overhead", t * 1e6, "us"}};
}

std::vector<Figure> add_16m() {
  torch::NoGradGuard no_grad;
  const int64_t n = int64_t{1} << 24;
  auto a = torch::rand({n}), b = torch::rand({n}), c = torch::empty({n});
  double t = bench::time_per_call([&] { torch::add_out(c, a, b); }, 10, 7, 3);
  return {{"add_16M", 12.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> sum_16m() {
  torch::NoGradGuard no_grad;
  const int64_t n = int64_t{1} << 24;
  auto a = torch::rand({n}), c = torch::empty({});
  double t = bench::time_per_call([&] { torch::sum_out(c, a, std::vector<int64_t>{0}); }, 10, 7, 3);
  return {{"sum_16M", 4.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> matmul_1024() {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024}), c = torch::empty({1024, 1024});
  double t = bench::time_per_call([&] { torch::mm_out(c, a, b); }, 5, 7, 2);
  return {{"matmul_1024", 2.0 * 1024.0 * 1024 * 1024 / t / 1e9, "GFLOP/s"}};
}

std::vector<Figure> log_softmax_bench() {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4096, 1024}), y = torch::empty({4096, 1024});
  double t = bench::time_per_call([&] { at::_log_softmax_out(y, x, -1, false); }, 10, 7, 3);
  return {{"log_softmax", 8.0 * 4096 * 1024 / t / 1e9, "GB/s"}};
}

std::vector<Figure> op_overhead_recorded() {
  auto a = torch::ones({1}, torch::requires_grad()), b = torch::ones({1});
  double t = bench::time_per_call([&] { auto c = a + b; }, 200000, 5, 1);
  return {{"op_overhead_recorded", t * 1e6, "us"}};
}

// The cnn model's two convolutions at batch 64, forward and both gradients
// (at::convolution_backward computes the input and weight gradients in one
// call, as autograd does). Timed in NCHW and in channels-last, the faster
// reported: libtorch's best form on this machine.
std::vector<Figure> conv2d_bench() {
  torch::NoGradGuard no_grad;
  struct Conv {
    at::Tensor x, w, g;
  };
  double flops = 0;
  auto run = [&](bool channels_last) {
    std::vector<Conv> convs;
    flops = 0;
    for (auto [n, h, ci, co] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{64, 28, 1, 32}, {64, 13, 32, 64}}) {
      auto fmt = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
      Conv c{torch::randn({n, ci, h, h}).contiguous(fmt), torch::randn({co, ci, 3, 3}).contiguous(fmt),
             torch::randn({n, co, h - 2, h - 2}).contiguous(fmt)};
      flops += 3 * 2.0 * double(n * (h - 2) * (h - 2) * co * 9 * ci);
      convs.push_back(c);
    }
    return bench::time_per_call(
        [&] {
          for (Conv& c : convs) {
            auto y = at::convolution(c.x, c.w, {}, {1, 1}, {0, 0}, {1, 1}, false, {0, 0}, 1);
            auto grads = at::convolution_backward(c.g, c.x, c.w, at::OptionalIntArrayRef{}, {1, 1}, {0, 0},
                                                  {1, 1}, false, {0, 0}, 1, {true, true, false});
          }
        },
        5, 7, 2);
  };
  double t = std::min(run(false), run(true));
  return {{"conv2d", flops / t / 1e9, "GFLOP/s"}};
}

}  // namespace

int main(int argc, char** argv) {
  // libtorch's intra-op threads = ember's (OpenMP's count, OMP_NUM_THREADS or the cores).
  if (const char* n = std::getenv("OMP_NUM_THREADS")) torch::set_num_threads(std::atoi(n));
  bool json = false;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json"))
      json = true;
    else
      names.emplace_back(argv[i]);
  }
  return bench::run({{"op_overhead", op_overhead},
                     {"op_overhead_recorded", op_overhead_recorded},
                     {"add_16M", add_16m},
                     {"sum_16M", sum_16m},
                     {"matmul_1024", matmul_1024},
                     {"log_softmax", log_softmax_bench},
                     {"conv2d", conv2d_bench}},
                    names, json);
}
