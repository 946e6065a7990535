// The benchmark harness shared by ember-bench and torch-bench: the workloads
// of ../shared/BENCHMARKS.md are named and measured the same way in both, so
// their figures compare line by line.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace bench {

struct Figure {
  std::string name;
  double value;
  std::string unit;
};

/// Seconds per call of `f`: warm-up calls, then the median of `reps` timed
/// batches of `iters` calls each. `sync` runs before each clock read (a GPU
/// synchronisation; nothing on the CPU).
inline double time_per_call(
    const std::function<void()>& f, int iters, int reps = 7, int warmup = 3,
    const std::function<void()>& sync = [] {}) {
  for (int i = 0; i < warmup; ++i) f();
  sync();
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) f();
    sync();
    auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double>(t1 - t0).count() / iters);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

using Workload = std::function<std::vector<Figure>()>;

/// Runs the named workloads (all when `names` is empty) and prints
/// `NAME VALUE UNIT` lines, or one JSON object with `json`.
/// `skip_unknown`: names this program lacks are skipped (the baseline's
/// side of bench/compare.sh, which asks both programs for the same names).
inline int run(const std::vector<std::pair<std::string, Workload>>& workloads,
               const std::vector<std::string>& names, bool json, bool skip_unknown = false) {
  for (const auto& n : names) {
    bool known =
        std::any_of(workloads.begin(), workloads.end(), [&](auto& w) { return w.first == n; });
    if (!known && skip_unknown) continue;
    if (!known) {
      std::fprintf(stderr, "unknown workload '%s'; available:", n.c_str());
      for (const auto& w : workloads) std::fprintf(stderr, " %s", w.first.c_str());
      std::fprintf(stderr, "\n");
      return 2;
    }
  }
  bool first = true;
  int failed = 0;
  if (json) std::printf("{");
  for (const auto& [name, work] : workloads) {
    if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
    // A workload that fails (its data missing on this machine) is reported
    // and the others still run; the exit status says one failed.
    std::vector<Figure> figures;
    try {
      figures = work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "workload %s failed: %s\n", name.c_str(), e.what());
      ++failed;
      continue;
    }
    for (const auto& f : figures) {
      if (json) {
        std::printf("%s\n  \"%s\": {\"value\": %.6g, \"unit\": \"%s\"}", first ? "" : ",",
                    f.name.c_str(), f.value, f.unit.c_str());
      } else {
        std::printf("%s %.4g %s\n", f.name.c_str(), f.value, f.unit.c_str());
      }
      std::fflush(stdout);
      first = false;
    }
  }
  if (json) std::printf("\n}\n");
  return failed ? 1 : 0;
}

}  // namespace bench
