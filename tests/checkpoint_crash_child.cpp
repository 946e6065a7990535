// The child process of checkpoint_crash_test: saves in a loop and reports
// each save that returned ("saved N" on stdout, flushed) so the parent knows
// what a kill must not lose. Killed by the parent, or by itself at a crash
// point (EMBER_CRASH_AT, serialization/file_ops.h).
//
//   ember-crash-child DIR checkpoint|manager|saved_model MAX_TO_KEEP LAST_SAVE
//
// Each save N holds w = N everywhere and step = N; a run resumes from the
// latest checkpoint in DIR, as a restarted training job does. saved_model:
// each save N replaces the SavedModel DIR/model (with a traced function).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ember.h"

using namespace ember;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: ember-crash-child DIR checkpoint|manager|saved_model MAX_TO_KEEP LAST_SAVE\n");
    return 2;
  }
  std::string dir = argv[1], mode = argv[2];
  int keep = std::atoi(argv[3]);
  int64_t last = std::atoll(argv[4]);
  try {
    auto model = std::make_shared<Module>("model");
    Variable w(zeros({4096}), {.name = "w"});
    Variable step(constant(int64_t{0}), {.name = "step", .trainable = false});
    model->track("w", trackable_of(w));
    model->track("step", trackable_of(step));
    if (mode == "saved_model") {
      const std::string path = dir + "/model";
      int64_t first = 1;
      try {  // (where a save was killed mid-swap, load finds the model it left aside)
        first = saved_model::load(path)->variable("step").read_value().item<int64_t>() + 1;
      } catch (const NotFound&) {
      }
      auto scaled = function([w](Tensor x) { return x * w.read_value(); },
                             {.name = "scaled", .input_signature = std::vector<TensorSpec>{TensorSpec({4096}, float32, "x")}});
      model->track("scaled", scaled);
      for (int64_t n = first; n <= last; ++n) {
        w.assign(fill({4096}, static_cast<double>(n)));
        step.assign(constant(n));
        saved_model::save(model, path);
        std::printf("saved %lld %s\n", static_cast<long long>(n), path.c_str());
        std::fflush(stdout);
      }
      return 0;
    }
    Checkpoint ckpt({{"model", model}});
    std::unique_ptr<CheckpointManager> manager;
    if (mode == "manager") {
      manager = std::make_unique<CheckpointManager>(ckpt, dir, keep);
      ckpt.restore(manager->latest_checkpoint());
    } else {
      ckpt.restore(latest_checkpoint(dir));
    }
    for (int64_t n = ckpt.save_counter().read_value().item<int64_t>() + 1; n <= last; ++n) {
      w.assign(fill({4096}, static_cast<double>(n)));
      step.assign(constant(n));
      std::string path = manager ? manager->save() : ckpt.save(dir + "/ckpt");
      std::printf("saved %lld %s\n", static_cast<long long>(n), path.c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
