// Random ops. Each kernel fills its output from (key, offset): element i of a
// float32 draw uses word i % 4 of block offset + i / 4 (float64: half a block
// per element). Scaling to [minval, maxval) or (mean, stddev) is done with
// ordinary ops afterwards.
#include "core/random.h"

#include <map>
#include <mutex>
#include <random>

#include "core/op.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "core/ops/infer_util.h"

namespace ember::random {
namespace {

void infer_random(InferContext& c) {
  TensorShape s(c.attrs.get<std::vector<int64_t>>("shape"));
  for (int i = 0; i < s.rank(); ++i)
    if (s.dim(i) < 0) c.fail("dimension ", i, " is negative (", s.dim(i), ")");
  DType t = c.attrs.get<DType>("dtype");
  if (t != float32 && t != float64) c.fail("dtype must be float32 or float64, got ", dtype_name(t));
  c.outputs.push_back({t, s});
}

// The three draws share their signature: a shape, a dtype and the stream
// position (key, offset) their kernels fill from.
bool define_random_op(const char* name, const char* api) {
  define_op(name)
      .inputs(0)
      .attr("shape", AttrKind::Ints)
      .attr("dtype", AttrKind::Type)
      .attr("key", AttrKind::Int)
      .attr("offset", AttrKind::Int)
      .api(api)
      .set_infer(infer_random)
      .set_stateful()
      .not_differentiable();
  return true;
}
[[maybe_unused]] const bool random_ops_defined =
    define_random_op(op_name::RandomUniform, "random::uniform") &&
    define_random_op(op_name::RandomStandardNormal, "random::normal") &&
    define_random_op(op_name::TruncatedNormal, "random::truncated_normal");

constexpr int64_t kDefaultGlobalSeed = 87654321;  // TensorFlow's DEFAULT_GRAPH_SEED

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t key_for(int64_t global, int64_t op) {
  return splitmix64(splitmix64(static_cast<uint64_t>(global)) ^ static_cast<uint64_t>(op));
}

struct SeedState {
  std::mutex mu;
  std::optional<int64_t> global;
  int64_t op_counter = 0;
  std::map<std::pair<int64_t, int64_t>, uint64_t> offsets;  // per (global, op) pair
};
SeedState& state() {
  static SeedState s;
  return s;
}

uint64_t entropy() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// The (key, offset) a seeded draw of `blocks` blocks uses, advancing its stream.
std::pair<uint64_t, uint64_t> next_stream(std::optional<int64_t> op_seed, uint64_t blocks) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.global && !op_seed) return {entropy(), 0};
  int64_t g = s.global.value_or(kDefaultGlobalSeed);
  int64_t o = op_seed ? *op_seed : s.op_counter++;
  uint64_t& off = s.offsets[{g, o}];
  uint64_t start = off;
  off += blocks;
  return {key_for(g, o), start};
}

Tensor draw(const char* op, const TensorShape& shape, DType dtype, uint64_t key, uint64_t offset) {
  const OpDef& def = op_def(op);
  return execute1(def, std::span<const Tensor>{},
                  {{"shape", shape.as_vector()},
                   {"dtype", dtype},
                   {"key", static_cast<int64_t>(key)},
                   {"offset", static_cast<int64_t>(offset)}});
}

Tensor scale(Tensor t, double a, double b) {
  // a + b·t, skipping the identity cases.
  if (b != 1) t = t * b;
  if (a != 0) t = t + a;
  return t;
}

void check_float(const char* api, DType dtype) {
  EMBER_CHECK(dtype == float32 || dtype == float64, InvalidArgument, "[", api,
              "] dtype must be float32 or float64, got ", dtype_name(dtype));
}

}  // namespace

uint64_t blocks_for(int64_t n, DType dtype) {
  int64_t per = dtype == float64 ? 2 : 4;
  return static_cast<uint64_t>((n + per - 1) / per);
}

void set_seed(int64_t seed) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.global = seed;
  s.op_counter = 0;
  s.offsets.clear();
}

void clear_seed() {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.global.reset();
  s.op_counter = 0;
  s.offsets.clear();
}

Tensor uniform(const TensorShape& shape, double minval, double maxval, DType dtype,
               std::optional<int64_t> seed) {
  ApiScope api("random::uniform");
  check_float("random::uniform", dtype);
  EMBER_CHECK(minval < maxval, InvalidArgument, "[random::uniform] minval ", minval,
              " must be less than maxval ", maxval);
  auto [key, off] = next_stream(seed, blocks_for(shape.num_elements(), dtype));
  return scale(draw(op_name::RandomUniform, shape, dtype, key, off), minval, maxval - minval);
}

Tensor normal(const TensorShape& shape, double mean, double stddev, DType dtype,
              std::optional<int64_t> seed) {
  ApiScope api("random::normal");
  check_float("random::normal", dtype);
  auto [key, off] = next_stream(seed, blocks_for(shape.num_elements(), dtype));
  return scale(draw(op_name::RandomStandardNormal, shape, dtype, key, off), mean, stddev);
}

Tensor truncated_normal(const TensorShape& shape, double mean, double stddev, DType dtype,
                        std::optional<int64_t> seed) {
  ApiScope api("random::truncated_normal");
  check_float("random::truncated_normal", dtype);
  auto [key, off] = next_stream(seed, blocks_for(shape.num_elements(), dtype));
  return scale(draw(op_name::TruncatedNormal, shape, dtype, key, off), mean, stddev);
}

Generator::Generator(uint64_t seed) : key_(splitmix64(seed)) {}
Generator Generator::from_non_deterministic_state() { return Generator(entropy()); }

Tensor Generator::uniform(const TensorShape& shape, double minval, double maxval, DType dtype) {
  ApiScope api("Generator::uniform");
  check_float("Generator::uniform", dtype);
  Tensor t = draw(op_name::RandomUniform, shape, dtype, key_, offset_);
  offset_ += blocks_for(shape.num_elements(), dtype);
  return scale(t, minval, maxval - minval);
}
Tensor Generator::normal(const TensorShape& shape, double mean, double stddev, DType dtype) {
  ApiScope api("Generator::normal");
  check_float("Generator::normal", dtype);
  Tensor t = draw(op_name::RandomStandardNormal, shape, dtype, key_, offset_);
  offset_ += blocks_for(shape.num_elements(), dtype);
  return scale(t, mean, stddev);
}
Tensor Generator::truncated_normal(const TensorShape& shape, double mean, double stddev,
                                   DType dtype) {
  ApiScope api("Generator::truncated_normal");
  check_float("Generator::truncated_normal", dtype);
  Tensor t = draw(op_name::TruncatedNormal, shape, dtype, key_, offset_);
  offset_ += blocks_for(shape.num_elements(), dtype);
  return scale(t, mean, stddev);
}

}  // namespace ember::random
