// Test helpers: random inputs (never zeros), conversions to double for
// comparison with float64 references, and the device parameterisation that
// lets every op test run once per device kind (CUDA instances skip, saying
// why, where there is no GPU).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/op_names.h"
#include "ember.h"

namespace ember::test {

/// n values uniform in [lo, hi], rounded for integer dtypes, none equal to 0
/// (unless the range holds nothing else), reproducible from `seed`.
std::vector<double> random_values(int64_t n, double lo, double hi, DType dtype, uint32_t seed);
/// Every dtype a data-movement op takes (16-bit floats aside).
inline const std::vector<DType> kAll = {float32, float64, int32, int64, uint8, bool_};
/// start, start + 1, ... (n values).
std::vector<double> iota_values(int64_t n, double start = 1);

/// A tensor of `dtype` holding `values` (converted) on `device`.
Tensor make(const std::vector<double>& values, const TensorShape& shape, DType dtype,
            Device device = default_device());
/// A random tensor and the double values it holds (after rounding to dtype).
Tensor random_tensor(const TensorShape& shape, DType dtype, double lo, double hi, uint32_t seed,
                     std::vector<double>* values = nullptr, Device device = default_device());
/// The values of any tensor, as doubles, copied to the host.
std::vector<double> values(const Tensor& t);

/// The gradients of mean((x·y + x)²) with respect to x and y, taken with a
/// tape: a broadcasting function whose gradients a trace of unknown shapes
/// must sum back to each input's run-time shape.
std::tuple<Tensor, Tensor> broadcast_product_gradients(Tensor x, Tensor y);
/// The value of `x` after a round trip through `dtype`.
double round_to(double x, DType dtype);

/// Default tolerances for results of `dtype` (relative, absolute).
double rtol_for(DType dtype);
double atol_for(DType dtype);

/// Checks shape, then every element within atol + rtol·|want| (NaNs must match).
::testing::AssertionResult all_close(const Tensor& got, const std::vector<double>& want,
                                     const TensorShape& shape, double rtol, double atol);
::testing::AssertionResult all_close(const Tensor& got, const std::vector<double>& want,
                                     const TensorShape& shape);

/// Row-major index helpers for reference implementations.
std::vector<int64_t> unravel(int64_t flat, const TensorShape& shape);
int64_t ravel(const std::vector<int64_t>& idx, const TensorShape& shape);

std::string device_name(const ::testing::TestParamInfo<Device>& info);

/// The message of the E that `f` throws, or "(no error)" (another exception
/// escapes, failing the test).
template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

/// Declares, at namespace scope in a test file, the ops whose results that
/// file checks against a reference (`const CoveredOps covered{op_name::Exp, ...};`).
/// The registry self-check (registry_test.cpp) requires every op in some list.
struct CoveredOps {
  CoveredOps(std::initializer_list<const char*> ops);
};
/// The union of every file's CoveredOps.
const std::set<std::string>& covered_ops();

/// tests/data: EMBER_TEST_DATA_DIR from the environment (for a build run
/// elsewhere, as on a GPU machine), else the source tree's.
std::string data_dir();

/// A fresh, empty directory under the system's temporary directory, removed
/// when the test process exits (EMBER_KEEP_TEST_DIRS=1 keeps it).
std::string temp_dir(const std::string& name);

/// Python with TensorFlow: EMBER_TF_PYTHON, else the venv scripts/setup-tf.sh
/// makes; "" when there is none (no such Python, or no tensorflow package in
/// it). Where TensorFlow is required (CI sets EMBER_REQUIRE_TF=1 after making
/// the venv), its absence fails the test instead of skipping it.
std::string tf_python();
bool tensorflow_required();
/// Under the sanitizers (the asan preset) the two interoperability helpers
/// that check ember's files in TensorFlow (graph_def_test's and
/// saved_model_test's check_in_tensorflow) skip TensorFlow's side once
/// ember's side has run: TensorFlow reads the same files in the release
/// suite, and only ember's code needs the sanitizers (the ASan suite ran
/// 237.5 s with the skip against 285 s without, bench/RESULTS.md).
bool tensorflow_side_in_release_suite_only();
#define EMBER_SKIP_OR_FAIL_WITHOUT_TF(python)                                                   \
  if ((python).empty()) {                                                                       \
    if (::ember::test::tensorflow_required()) FAIL() << "EMBER_REQUIRE_TF is set but TensorFlow is missing"; \
    GTEST_SKIP() << "no Python with TensorFlow (set EMBER_TF_PYTHON, or run scripts/setup-tf.sh)"; \
  }
/// Runs `python script args` (TensorFlow's log quiet); its exit status, and its output in `log`.
/// The script runs in a child forked from a Python that has imported TensorFlow
/// already (tests/tf/warm_python.py; EMBER_WARM_PYTHON=0 runs it directly).
int run_python(const std::string& python, const std::string& script, const std::string& args, std::string& log);

/// One line of a case file the tests/tf/check_*.py scripts read: `head`,
/// then the tensor's dtype, rank, dims and values (as doubles, exactly).
void write_case_tensor(std::ostream& out, const std::string& head, const Tensor& t);

/// A value TensorFlow computed, read from a fixture file of
/// tests/tf/make_*_fixtures.py: `name`, `dtype d0,d1,...`, then the values as
/// float.hex(), three lines per case.
struct TfCase {
  std::string dtype;
  TensorShape shape;
  std::vector<double> values;
};
/// Every case of tests/data/`file`, by name.
const std::map<std::string, TfCase>& tf_fixtures(const std::string& file);

/// |got - want| in units in the last place of `want` as a float32
/// (`is_float`) or a float64.
double ulp_distance(double got, double want, bool is_float);

/// Checks a random draw against fixture `name` of tests/data/tf_random.txt,
/// which TensorFlow's CPU kernels drew. On the CPU every bit must match (ember
/// calls the C library's log and sincos, as TensorFlow's CPU kernels do); on a
/// GPU, whose normals use CUDA's math library as TensorFlow's GPU kernels do,
/// elements may be `gpu_ulps` off (0 for uniforms; in the 16-bit format's
/// steps for a 16-bit draw).
void expect_tf_draw(const std::string& name, const Tensor& got, double gpu_ulps);

/// Checks `got` against fixture `name` of tests/data/`file`: same shape and
/// dtype, every element within `max_ulps` units in the last place (a NaN
/// only where the fixture has one), and (for 100 elements or more) at least
/// the given fraction bit-exact.
void expect_tf_values(const std::string& file, const std::string& name, const Tensor& got,
                      double max_ulps, double exact_float32 = 0, double exact_float64 = 0);

/// Base of tests that run once per device kind; ops run under a DeviceScope.
class DeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override;
  Device device() const { return GetParam(); }
  std::unique_ptr<DeviceScope> scope_;
};

}  // namespace ember::test

#define EMBER_INSTANTIATE_DEVICE_TESTS(Suite)                                                   \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite,                                                      \
                           ::testing::Values(::ember::Device::cpu(), ::ember::Device::cuda(0)), \
                           ::ember::test::device_name)
