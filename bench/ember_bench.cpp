// ember-bench: the workloads of ../shared/BENCHMARKS.md that ember can run
// today. Usage: ember-bench [--json] [--device cpu|cuda] [workload...]
#include <cstring>
#include <string>

#include "bench/harness.h"
#include "core/cuda_runtime.h"
#include "ember.h"

namespace {

using namespace ember;
using bench::Figure;

Device g_device = default_device();

void sync() {
  if (g_device.is_cuda()) cuda::synchronize(g_device.index());
}

std::vector<Figure> op_overhead() {
  DeviceScope scope(g_device);
  Tensor a = ones({1}), b = ones({1});
  const int n = 200000;
  double t = bench::time_per_call([&] { Tensor c = a + b; }, n, 5, 1, sync);
  return {{"op_overhead", t * 1e6, "us"}};
}

std::vector<Figure> op_overhead_recorded() {
  DeviceScope scope(g_device);
  Tensor a = ones({1}), b = ones({1});
  const int n = 200000;
  std::vector<double> times;
  for (int rep = 0; rep < 5; ++rep) {
    GradientTape tape;  // a fresh tape per batch, so the record does not grow without bound
    tape.watch(a);
    times.push_back(bench::time_per_call([&] { Tensor c = a + b; }, n, 1, rep == 0 ? 1 : 0, sync));
  }
  std::sort(times.begin(), times.end());
  return {{"op_overhead_recorded", times[times.size() / 2] * 1e6, "us"}};
}

std::vector<Figure> add_16m() {
  DeviceScope scope(g_device);
  const int64_t n = int64_t{1} << 24;
  Tensor a = random::uniform({n}), b = random::uniform({n});
  double t = bench::time_per_call([&] { Tensor c = a + b; }, 10, 7, 3, sync);
  return {{"add_16M", 12.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> sum_16m() {
  DeviceScope scope(g_device);
  const int64_t n = int64_t{1} << 24;
  Tensor a = random::uniform({n});
  double t = bench::time_per_call([&] { Tensor c = reduce_sum(a); }, 10, 7, 3, sync);
  return {{"sum_16M", 4.0 * double(n) / t / 1e9, "GB/s"}};
}

std::vector<Figure> matmul_1024() {
  DeviceScope scope(g_device);
  const int64_t n = 1024;
  Tensor a = random::normal({n, n}), b = random::normal({n, n});
  double t = bench::time_per_call([&] { Tensor c = matmul(a, b); }, 5, 7, 2, sync);
  return {{"matmul_1024", 2.0 * double(n * n * n) / t / 1e9, "GFLOP/s"}};
}

std::vector<Figure> log_softmax_bench() {
  DeviceScope scope(g_device);
  Tensor x = random::normal({4096, 1024});
  double t = bench::time_per_call([&] { Tensor y = log_softmax(x); }, 10, 7, 3, sync);
  return {{"log_softmax", 8.0 * 4096 * 1024 / t / 1e9, "GB/s"}};
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) {
      json = true;
    } else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) {
      g_device = Device::parse(argv[++i]);
    } else if (!std::strcmp(argv[i], "--help")) {
      std::printf("usage: ember-bench [--json] [--device cpu|cuda] [workload...]\n");
      return 0;
    } else {
      names.emplace_back(argv[i]);
    }
  }
  random::set_seed(1);
  try {
    return bench::run({{"op_overhead", op_overhead},
                       {"op_overhead_recorded", op_overhead_recorded},
                       {"add_16M", add_16m},
                       {"sum_16M", sum_16m},
                       {"matmul_1024", matmul_1024},
                       {"log_softmax", log_softmax_bench}},
                      names, json);
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "ember-bench: %s\n", e.what());
    return 1;
  }
}
