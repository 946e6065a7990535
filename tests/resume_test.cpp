// A resumed run is exact: 6 steps straight through equal 3 steps, a
// checkpoint, and 3 more in a new process restoring into fresh objects,
// bit for bit (variables, batch-norm statistics, dropout's seed state, the
// optimizer's step and slots). The runs are ember-resume-child processes.
#include <cstdio>
#include <filesystem>
#include <string>

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

TEST(Resume, ARunResumedInANewProcessEqualsOneStraightThrough) {
  auto base = std::filesystem::temp_directory_path() / ("ember_resume_" + std::to_string(::getpid()));
  std::filesystem::remove_all(base);
  std::string straight = run((base / "a").string() + " 0 6");
  std::string first = run((base / "b").string() + " 0 3");
  std::string resumed = run((base / "b").string() + " 3 6");
  EXPECT_NE(straight.find("iterations 6"), std::string::npos) << straight;
  EXPECT_NE(first.find("iterations 3"), std::string::npos) << first;
  EXPECT_NE(first, straight);  // the runs really trained
  EXPECT_EQ(resumed, straight);
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace ember::test
