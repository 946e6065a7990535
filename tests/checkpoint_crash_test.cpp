// Kills during saves. A child process (checkpoint_crash_child.cpp) saves in
// a loop and is killed at every crash point of a save in turn (each sync,
// rename and unlink; EMBER_CRASH_AT) and at random instants. After each kill
// the latest checkpoint must restore completely and be no older than the
// last save that had returned; a restarted child must then resume from it,
// leaving no temporaries or orphaned checkpoints behind.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "serialization/saved_model.h"
#include "test_util.h"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

struct ChildRun {
  std::string out;
  bool killed = false;  // died of SIGKILL
  int exit_code = -1;
};

// Runs the child with `args`; crash_at > 0 sets EMBER_CRASH_AT; kill_after
// > 0 kills it after that long.
ChildRun run_child(const std::vector<std::string>& args, long crash_at,
              std::chrono::microseconds kill_after = {}) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    if (crash_at > 0)
      ::setenv("EMBER_CRASH_AT", std::to_string(crash_at).c_str(), 1);
    else
      ::unsetenv("EMBER_CRASH_AT");
    std::vector<char*> argv{const_cast<char*>(EMBER_CRASH_CHILD)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(EMBER_CRASH_CHILD, argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  if (kill_after.count() > 0) {
    std::this_thread::sleep_for(kill_after);
    ::kill(pid, SIGKILL);
  }
  ChildRun r;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) r.out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

int64_t last_saved(const std::string& out) {
  int64_t n = 0;
  for (size_t at = out.find("saved "); at != std::string::npos; at = out.find("saved ", at + 1))
    n = std::atoll(out.c_str() + at + 6);
  return n;
}

// The latest checkpoint restores completely, holds one save's values, and is
// not older than `returned`. Returns its save number (0: none yet).
int64_t verify_latest(const std::string& dir, int64_t returned) {
  std::string path = latest_checkpoint(dir);
  if (returned > 0) {
    EXPECT_FALSE(path.empty()) << "a save returned but nothing is the latest";
  }
  if (path.empty()) return 0;
  auto model = std::make_shared<Module>("model");
  Variable w(zeros({4096}), {.name = "w"});
  Variable step(constant(int64_t{-1}), {.name = "step", .trainable = false});
  model->track("w", trackable_of(w));
  model->track("step", trackable_of(step));
  Checkpoint ckpt({{"model", model}});
  ckpt.restore(path).assert_consumed();
  int64_t s = step.read_value().item<int64_t>();
  EXPECT_GE(s, returned) << path << " is older than a save that returned";
  EXPECT_EQ(ckpt.save_counter().read_value().item<int64_t>(), s);
  std::string suffix = std::to_string(s);  // "-N" (built by insert: GCC 12's -Wrestrict misfires on "-" + s)
  suffix.insert(suffix.begin(), '-');
  EXPECT_TRUE(path.ends_with(suffix)) << path;
  EXPECT_EQ(w.read_value().to_vector<float>(), std::vector<float>(4096, static_cast<float>(s)))
      << "torn values in " << path;
  return s;
}

// What a finished run leaves: the state file and the kept checkpoints only.
void expect_clean(const std::string& dir, const std::string& mode, int keep, int64_t latest) {
  int indexes = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tempstate"), std::string::npos) << name;
    EXPECT_NE(name.rfind("checkpoint.tmp", 0), 0u) << name;
    if (name.ends_with(".index")) ++indexes;
  }
  if (mode == "manager") {
    EXPECT_EQ(indexes, std::min<int64_t>(keep, latest)) << "orphaned or missing checkpoints in " << dir;
  }
}

class CheckpointCrash : public ::testing::TestWithParam<std::pair<std::string, int>> {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("ember_crash_" + GetParam().first + std::to_string(GetParam().second) + "_" +
             std::to_string(::getpid())))
               .string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> args(int64_t last) const {
    return {dir_, GetParam().first, std::to_string(GetParam().second), std::to_string(last)};
  }
  // After a kill: the latest is sound, and a restarted job resumes from it.
  void check_and_resume(const ChildRun& r) {
    int64_t returned = last_saved(r.out);
    int64_t latest = verify_latest(dir_, returned);
    ChildRun again = run_child(args(std::max(latest, returned) + 2), 0);
    ASSERT_EQ(again.exit_code, 0) << again.out;
    EXPECT_EQ(verify_latest(dir_, std::max(latest, returned) + 2), std::max(latest, returned) + 2);
    expect_clean(dir_, GetParam().first, GetParam().second, std::max(latest, returned) + 2);
  }
  std::string dir_;
};

TEST_P(CheckpointCrash, EveryCrashPointOfASaveLeavesARestorableLatest) {
  int points = 0;
  for (long at = 1; at < 200; ++at) {
    SCOPED_TRACE("killed at crash point " + std::to_string(at));
    fs::remove_all(dir_);
    ChildRun r = run_child(args(3), at);
    if (!r.killed) {  // past the last crash point of three saves: it finished
      ASSERT_EQ(r.exit_code, 0) << r.out;
      EXPECT_EQ(last_saved(r.out), 3);
      break;
    }
    ++points;
    check_and_resume(r);
    if (HasFailure()) return;
  }
  EXPECT_GE(points, 3 * 8) << "a save has fewer crash points than its syncs and renames";
}

TEST_P(CheckpointCrash, RandomKillsLeaveARestorableLatest) {
  std::mt19937 gen(7);
  fs::remove_all(dir_);
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE("random kill " + std::to_string(i));
    ChildRun r = run_child(args(100000), 0, std::chrono::microseconds(20000 + gen() % 60000));
    check_and_resume(r);
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Saves, CheckpointCrash,
                         ::testing::Values(std::pair<std::string, int>{"checkpoint", 0},
                                           std::pair<std::string, int>{"manager", 1},
                                           std::pair<std::string, int>{"manager", 3}),
                         [](const auto& p) {
                           return p.param.first + std::to_string(p.param.second);
                         });

// A SavedModel save killed at each of its syncs, renames and unlinks leaves
// the previous model or the new one, whole: it loads, its variables hold one
// save's values, and its function computes with them.
std::vector<std::string> saved_model_args(const std::string& dir, int64_t last) {
  std::vector<std::string> a;
  a.push_back(dir);
  a.push_back("saved_model");
  a.push_back("0");
  a.push_back(std::to_string(last));
  return a;
}

void every_crash_point_leaves_the_old_model_or_the_new(const std::string& name) {
  std::string dir = (fs::temp_directory_path() / (name + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  ASSERT_EQ(run_child(saved_model_args(dir, 1), 0).exit_code, 0);  // model 1 exists
  int points = 0;
  int64_t saved = 1;
  for (long at = 1; at < 200; ++at) {
    SCOPED_TRACE("killed at crash point " + std::to_string(at));
    ChildRun r = run_child(saved_model_args(dir, saved + 1), at);
    if (!r.killed) {  // past the last crash point of one save
      ASSERT_EQ(r.exit_code, 0) << r.out;
      break;
    }
    ++points;
    auto loaded = saved_model::load(dir + "/model");
    int64_t s = loaded->variable("step").read_value().item<int64_t>();
    EXPECT_TRUE(s == saved || s == saved + 1) << "step " << s << " after save " << saved;
    std::vector<Tensor> y = loaded.function("scaled")(fill({4096}, 2.0));
    EXPECT_EQ(y[0].to_vector<float>(), std::vector<float>(4096, 2.f * static_cast<float>(s))) << "torn model";
    saved = s;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GE(points, 8) << "a SavedModel save has fewer crash points than its syncs and renames";
  // A finished save leaves only the model beside it (killed saves' temporaries are swept).
  ASSERT_EQ(run_child(saved_model_args(dir, saved + 1), 0).exit_code, 0);
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename().string(), "model");
  fs::remove_all(dir);
}

TEST(SavedModelCrash, EveryCrashPointOfASaveLeavesTheOldModelOrTheNew) {
  every_crash_point_leaves_the_old_model_or_the_new("ember_crash_sm_");
}

// Without an atomic exchange (some file systems), the old model is moved
// aside before the new one moves in: killed between the two, loading finds
// it and the next save puts it back.
TEST(SavedModelCrash, WithoutAnAtomicExchangeEveryCrashPointLeavesAModel) {
  ::setenv("EMBER_NO_RENAME_EXCHANGE", "1", 1);
  every_crash_point_leaves_the_old_model_or_the_new("ember_crash_sm_noexchange_");
  ::unsetenv("EMBER_NO_RENAME_EXCHANGE");
}

}  // namespace
}  // namespace ember::test
