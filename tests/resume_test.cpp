// A resumed run is exact: N steps straight through equal the same steps in
// processes restoring into fresh objects, bit for bit (variables,
// batch-norm statistics, dropout's seed state, the optimizer's step and
// slots, the data iterator's order) — stopped at a checkpoint, or killed at
// a random instant and restarted from its CheckpointManager. The step runs
// eagerly, traced (building the layers inside the trace), or traced and fed
// by an unseeded shuffle whose iterator the checkpoint keeps, or by
// Model::fit with a BackupAndRestore (every step, or at epochs' ends). The
// runs are ember-resume-child processes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "test_util.h"

namespace ember::test {
namespace {

std::string run(const std::string& args) {
  std::string out;
  FILE* p = popen((std::string(EMBER_RESUME_CHILD) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) out += "\nexit status " + std::to_string(rc);
  return out;
}

std::filesystem::path base_dir(const std::string& name) {
  auto base = std::filesystem::temp_directory_path() / ("ember_resume_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(base);
  return base;
}

class Resume : public ::testing::TestWithParam<const char*> {};

TEST_P(Resume, ARunResumedInANewProcessEqualsOneStraightThrough) {
  const std::string mode = GetParam();
  auto base = base_dir(mode);
  std::string straight = run((base / "a").string() + " 0 6 " + mode);
  std::string first = run((base / "b").string() + " 0 3 " + mode);
  std::string resumed = run((base / "b").string() + " 3 6 " + mode);
  EXPECT_NE(straight.find("iterations 6"), std::string::npos) << straight;
  EXPECT_NE(first.find("iterations 3"), std::string::npos) << first;
  EXPECT_NE(first, straight);  // the runs really trained
  EXPECT_EQ(resumed, straight);
  std::filesystem::remove_all(base);
}

// Killed with SIGKILL at random instants (mid-step, mid-save) and started
// again until it finishes: the result is the uninterrupted run's.
void killed_at_random_instants(const std::string& mode) {
  auto base = base_dir(std::string("killed_") + mode);
  const std::string steps = mode.rfind("fit", 0) == 0 ? "150" : "24";  // fit: 30 epochs of 5 steps
  const auto t0 = std::chrono::steady_clock::now();
  std::string straight = run((base / "straight").string() + " 0 " + steps + " " + mode + " every");
  // How long a whole run takes here: the kills fall inside it (a fixed
  // delay let a fast machine finish the run before the first kill).
  const int whole_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
  ASSERT_NE(straight.find("iterations " + steps), std::string::npos) << straight;
  std::mt19937 rng(std::hash<std::string>{}(mode));
  const std::string dir = (base / "killed").string();
  int kills = 0;
  double scale = 1;
  std::string out;
  for (int attempt = 0; attempt < 200; ++attempt) {
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(pipefd[1], 1);
      dup2(pipefd[1], 2);
      close(pipefd[0]);
      execl(EMBER_RESUME_CHILD, EMBER_RESUME_CHILD, dir.c_str(), "-1", steps.c_str(), mode.c_str(), "every",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(pipefd[1]);
    // Let it run a random part of a whole run's time, then kill it; the
    // later attempts run longer, so the run ends.
    const int longest = std::max(10, static_cast<int>(whole_ms * (7 + attempt) / 10 * scale));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, longest)(rng)));
    bool killed = ::kill(pid, SIGKILL) == 0;
    out.clear();
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {  // it finished before the kill
      if (kills > 0) break;
      // Never killed: this run went faster than the straight one (whose
      // length the delays scale), as on a machine whose load fell. Start
      // again from nothing with delays half as long.
      std::filesystem::remove_all(dir);
      scale /= 2;
      continue;
    }
    ASSERT_TRUE(killed && WIFSIGNALED(status)) << "the child failed: " << out;
    ++kills;
  }
  EXPECT_GT(kills, 0);
  EXPECT_EQ(out, straight) << "after " << kills << " kills";
  std::filesystem::remove_all(base);
}

TEST_P(Resume, ARunKilledAtRandomInstantsEndsAsOneStraightThrough) { killed_at_random_instants(GetParam()); }

// fit runs to its end (only a kill stops it midway): the same, through BackupAndRestore.
class ResumeFit : public ::testing::TestWithParam<const char*> {};
TEST_P(ResumeFit, AFitKilledAtRandomInstantsEndsAsOneStraightThrough) { killed_at_random_instants(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Steps, Resume, ::testing::Values("eager", "traced", "dataset"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });
INSTANTIATE_TEST_SUITE_P(BackupAndRestore, ResumeFit, ::testing::Values("fit", "fit_epochs"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

}  // namespace
}  // namespace ember::test
