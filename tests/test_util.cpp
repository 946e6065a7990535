#include "test_util.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::test {

namespace {
std::set<std::string>& covered_set() {
  static std::set<std::string> s;
  return s;
}
}  // namespace

std::vector<double> iota_values(int64_t n, double start) {
  std::vector<double> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

CoveredOps::CoveredOps(std::initializer_list<const char*> ops) {
  for (const char* op : ops) covered_set().insert(op);
}
const std::set<std::string>& covered_ops() { return covered_set(); }

double round_to(double x, DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return static_cast<double>(static_cast<float>(x));
    case DType::Float64:
      return x;
    case DType::BFloat16:
      return static_cast<double>(static_cast<float>(bfloat16_t(static_cast<float>(x))));
    case DType::Float16:
      return static_cast<double>(static_cast<float>(float16_t(static_cast<float>(x))));
    case DType::Bool:
      return x != 0 ? 1 : 0;
    default:
      return std::nearbyint(x);
  }
}

std::vector<double> random_values(int64_t n, double lo, double hi, DType dtype, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) {
    if (dtype == bool_) {
      x = gen() % 2;
      continue;
    }
    for (int tries = 0; tries < 100; ++tries) {
      x = round_to(dist(gen), dtype);
      if (x != 0) break;
    }
  }
  return v;
}

Tensor make(const std::vector<double>& vals, const TensorShape& shape, DType dtype, Device device) {
  Tensor out;
  switch (dtype) {
    case DType::Float32:
      out = constant(std::vector<float>(vals.begin(), vals.end()), shape, device);
      break;
    case DType::Float64:
      out = constant(vals, shape, device);
      break;
    case DType::Int32: {
      std::vector<int32_t> v;
      for (double x : vals) v.push_back(static_cast<int32_t>(x));
      out = constant(v, shape, device);
      break;
    }
    case DType::Int64: {
      std::vector<int64_t> v;
      for (double x : vals) v.push_back(static_cast<int64_t>(x));
      out = constant(v, shape, device);
      break;
    }
    case DType::UInt8: {
      std::vector<uint8_t> v;
      for (double x : vals) v.push_back(static_cast<uint8_t>(x));
      out = constant(v, shape, device);
      break;
    }
    case DType::BFloat16: {
      std::vector<bfloat16_t> v;
      for (double x : vals) v.push_back(bfloat16_t(static_cast<float>(x)));
      out = constant(v, shape, device);
      break;
    }
    case DType::Float16: {
      std::vector<float16_t> v;
      for (double x : vals) v.push_back(float16_t(static_cast<float>(x)));
      out = constant(v, shape, device);
      break;
    }
    case DType::Bool: {
      std::vector<bool> v;
      for (double x : vals) v.push_back(x != 0);
      out = constant(v, shape, device);
      break;
    }
    default:
      throw std::runtime_error("make: unsupported dtype");
  }
  return out;
}

Tensor random_tensor(const TensorShape& shape, DType dtype, double lo, double hi, uint32_t seed,
                     std::vector<double>* out_values, Device device) {
  auto v = random_values(shape.num_elements(), lo, hi, dtype, seed);
  if (out_values) *out_values = v;
  return make(v, shape, dtype, device);
}

template <typename T>
double to_double(T x) {
  if constexpr (is_half_v<T>)
    return static_cast<double>(static_cast<float>(x));
  else
    return static_cast<double>(x);
}

std::tuple<Tensor, Tensor> broadcast_product_gradients(Tensor x, Tensor y) {
  GradientTape tape;
  tape.watch(x);
  tape.watch(y);
  Tensor z = x * y + x;
  std::vector<Tensor> g = tape.gradient(reduce_mean(z * z), {x, y});
  return std::make_tuple(g[0], g[1]);
}

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(Device::cpu());
  std::vector<double> out(static_cast<size_t>(c.num_elements()));
  EMBER_SWITCH_ALL(c.dtype(), throw std::runtime_error("values: unsupported dtype"),
                   const scalar_t* p = static_cast<const scalar_t*>(c.raw_data());
                   for (size_t i = 0; i < out.size(); ++i) out[i] = to_double(p[i]));
  return out;
}

// The 16-bit floats: one unit in the last place (2^-7 relative for bfloat16,
// 2^-10 for float16), since computing in float32 and rounding once may land
// one step away from the float64 reference rounded once.
double rtol_for(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return 2e-6;
    case DType::Float64:
      return 1e-12;
    case DType::BFloat16:
      return 1.0 / 128;
    case DType::Float16:
      return 1.0 / 1024;
    default:
      return 0;
  }
}
double atol_for(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return 1e-6;
    case DType::Float64:
      return 1e-12;
    case DType::BFloat16:
      return 1e-6;
    case DType::Float16:
      return 1e-6;
    default:
      return 0;
  }
}

::testing::AssertionResult all_close(const Tensor& got, const std::vector<double>& want,
                                     const TensorShape& shape, double rtol, double atol) {
  if (!(got.shape() == shape))
    return ::testing::AssertionFailure() << "shape " << got.shape() << ", expected " << shape;
  auto g = values(got);
  if (g.size() != want.size())
    return ::testing::AssertionFailure() << g.size() << " values, expected " << want.size();
  int bad = 0;
  std::ostringstream os;
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok = (std::isnan(g[i]) && std::isnan(want[i])) || g[i] == want[i] ||
              std::abs(g[i] - want[i]) <= atol + rtol * std::abs(want[i]);
    if (!ok && bad++ < 5)
      os << "\n  [" << i << "] got " << g[i] << ", expected " << want[i] << " (diff "
         << std::abs(g[i] - want[i]) << ")";
  }
  if (bad)
    return ::testing::AssertionFailure()
           << bad << " of " << g.size() << " values differ:" << os.str();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult all_close(const Tensor& got, const std::vector<double>& want,
                                     const TensorShape& shape) {
  return all_close(got, want, shape, rtol_for(got.dtype()), atol_for(got.dtype()));
}

std::vector<int64_t> unravel(int64_t flat, const TensorShape& shape) {
  std::vector<int64_t> idx(static_cast<size_t>(shape.rank()));
  for (int i = shape.rank() - 1; i >= 0; --i) {
    idx[static_cast<size_t>(i)] = flat % shape.dim(i);
    flat /= shape.dim(i);
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t>& idx, const TensorShape& shape) {
  int64_t flat = 0;
  for (int i = 0; i < shape.rank(); ++i) flat = flat * shape.dim(i) + idx[static_cast<size_t>(i)];
  return flat;
}

std::string device_name(const ::testing::TestParamInfo<Device>& info) {
  return info.param.is_cpu() ? "cpu" : "cuda" + std::to_string(info.param.index());
}

namespace {
// The directories temp_dir made, removed when the test process that made
// them exits (a test that fails midway leaves nothing behind either).
// EMBER_KEEP_TEST_DIRS=1 keeps them, to look at.
struct MadeDirs {
  std::mutex mu;
  std::vector<std::pair<std::string, pid_t>> dirs;
  ~MadeDirs() {
    const char* keep = std::getenv("EMBER_KEEP_TEST_DIRS");
    if (keep && std::string_view(keep) == "1") return;
    for (const auto& [dir, pid] : dirs)
      if (pid == ::getpid()) {  // (not in a forked child)
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
  }
};
MadeDirs& made_dirs() {
  static MadeDirs m;
  return m;
}
}  // namespace

std::string temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("ember_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  MadeDirs& made = made_dirs();
  std::lock_guard<std::mutex> lock(made.mu);
  made.dirs.emplace_back(p.string(), ::getpid());
  return p.string();
}

std::string tf_python() {
  std::string python;
  if (const char* p = std::getenv("EMBER_TF_PYTHON"))
    python = p;
  else if (std::filesystem::exists("/opt/tfvenv/bin/python"))
    python = "/opt/tfvenv/bin/python";
  // The package is looked up, not imported: an import costs seconds, and every interoperability
  // test asks. A TensorFlow that is installed but fails to import fails the test, with its log.
  const std::string has_tf =
      " -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(\"tensorflow\") is None)'";
  if (!python.empty() && std::system((python + has_tf + " > /dev/null 2>&1").c_str()) != 0) python.clear();
  return python;
}

bool tensorflow_side_in_release_suite_only() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}

bool tensorflow_required() {
  const char* r = std::getenv("EMBER_REQUIRE_TF");
  return r && *r && std::string(r) != "0";
}

int run_python(const std::string& python, const std::string& script, const std::string& args, std::string& log) {
  std::string out = temp_dir("python") + "/log";
  // Through warm_python.py: the script runs in a child of a Python that has
  // already imported TensorFlow (once per test run, not once per test).
  std::string cmd = "TF_CPP_MIN_LOG_LEVEL=3 " + python + " " + data_dir() + "/../tf/warm_python.py " + script + " " +
                    args + " > " + out + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return rc;
}

std::string data_dir() {
  if (const char* d = std::getenv("EMBER_TEST_DATA_DIR")) return d;
  return EMBER_TEST_DATA_DIR;
}

const std::map<std::string, TfCase>& tf_fixtures(const std::string& file) {
  static std::map<std::string, std::map<std::string, TfCase>> cache;
  auto [it, fresh] = cache.try_emplace(file);
  if (!fresh) return it->second;
  std::ifstream in(data_dir() + "/" + file);
  EXPECT_TRUE(in) << "cannot open " << data_dir() << "/" << file;
  std::string name, header, line;
  while (std::getline(in, name)) {
    if (name.empty() || name[0] == '#') continue;
    std::getline(in, header);
    std::getline(in, line);
    TfCase c;
    std::istringstream h(header);
    std::string dims;
    h >> c.dtype >> dims;
    std::vector<int64_t> shape;
    std::istringstream d(dims);
    for (std::string x; std::getline(d, x, ',');) shape.push_back(std::stoll(x));
    c.shape = TensorShape(shape);
    std::istringstream v(line);
    for (std::string x; v >> x;) c.values.push_back(std::strtod(x.c_str(), nullptr));
    it->second.emplace(name, std::move(c));
  }
  return it->second;
}

double ulp_distance(double got, double want, bool is_float) {
  if (got == want) return 0;
  double step = is_float ? double(std::nextafter(static_cast<float>(want), INFINITY) -
                                  static_cast<float>(want))
                         : std::nextafter(want, INFINITY) - want;
  return std::fabs(got - want) / step;
}

void expect_tf_values(const std::string& file, const std::string& name, const Tensor& got,
                      double max_ulps, double exact_float32, double exact_float64) {
  SCOPED_TRACE(name);
  const auto& cases = tf_fixtures(file);
  auto it = cases.find(name);
  ASSERT_NE(it, cases.end()) << "no fixture " << name << " in " << file;
  const TfCase& want = it->second;
  ASSERT_EQ(got.shape(), want.shape);
  ASSERT_EQ(dtype_name(got.dtype()), want.dtype);
  auto v = values(got);
  bool is_float = got.dtype() != float64;  // (16-bit values are measured in float32's ulps)
  double worst = 0;
  size_t exact = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    // (a NaN where TensorFlow has one is a match)
    double d = std::isnan(v[i]) && std::isnan(want.values[i]) ? 0 : ulp_distance(v[i], want.values[i], is_float);
    worst = std::max(worst, d);
    exact += d == 0;
    EXPECT_LE(d, max_ulps) << "element " << i << ": " << v[i] << " vs TensorFlow's "
                           << want.values[i];
  }
  if (v.size() >= 100) {
    EXPECT_GE(double(exact), (is_float ? exact_float32 : exact_float64) * double(v.size()))
        << exact << " of " << v.size() << " bit-exact, worst " << worst << " ulp";
  }
}

void expect_tf_draw(const std::string& name, const Tensor& got, double gpu_ulps) {
  // One step of a 16-bit format is 2^16 (bfloat16) or 2^13 (float16) of float32's ulps.
  const double step = got.dtype() == bfloat16 ? 65536 : got.dtype() == float16 ? 8192 : 1;
  if (got.device().is_cuda())
    expect_tf_values("tf_random.txt", name, got, gpu_ulps * step, 0.97, 0.7);
  else
    expect_tf_values("tf_random.txt", name, got, 0, 1, 1);
}

void DeviceTest::SetUp() {
  if (device().is_cuda() && cuda_device_count() <= device().index())
    GTEST_SKIP() << "no CUDA device: " << cuda_unavailable_reason();
  scope_ = std::make_unique<DeviceScope>(device());
}

void write_case_tensor(std::ostream& out, const std::string& head, const Tensor& t) {
  Tensor d = cast(t, float64).to(Device::cpu());
  out << head << " " << dtype_name(t.dtype()) << " " << t.rank();
  for (int64_t x : t.shape().dims()) out << " " << x;
  for (double v : d.to_vector<double>()) out << " " << std::setprecision(17) << v;
  out << "\n";
}

}  // namespace ember::test
