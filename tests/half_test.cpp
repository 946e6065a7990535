// bfloat16 and float16: conversions against references built from the
// formats' definitions, and ops against float64 references rounded to the
// 16-bit type, on every device.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "test_util.h"

namespace ember::test {
namespace {

// The value of a float16 bit pattern, from IEEE 754's definition.
double float16_value(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(mant, -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

// Round to nearest, ties to the even pattern, among `candidates` (sorted
// finite values with their bit patterns), with overflow past max + ulp/2.
struct NearestFloat16 {
  std::vector<std::pair<double, uint16_t>> finite;
  NearestFloat16() {
    for (uint32_t b = 0; b < 0x7c00; ++b) finite.emplace_back(float16_value(static_cast<uint16_t>(b)), b);
  }
  uint16_t operator()(float f) const {
    double x = std::fabs(static_cast<double>(f));
    uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    if (x >= 65520.0) return sign | 0x7c00;  // 65504 + half its ulp rounds to infinity
    auto it = std::lower_bound(finite.begin(), finite.end(), std::make_pair(x, uint16_t{0}));
    if (it == finite.end()) return sign | 0x7bff;
    if (it->first == x || it == finite.begin()) return sign | it->second;
    auto below = std::prev(it);
    double dlo = x - below->first, dhi = it->first - x;
    uint16_t pick = dlo < dhi ? below->second : dhi < dlo ? it->second
                                 : (below->second % 2 == 0 ? below->second : it->second);
    return sign | pick;
  }
};

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// bfloat16 values are the floats whose low 16 bits are zero: the nearest of
// the two around f, ties to the even one, decided in double.
uint16_t nearest_bfloat16(float f) {
  uint32_t lo = bits(f) & 0xffff0000u;
  // Past the largest finite value, rounding goes on as if the exponent were
  // unbounded (IEEE 754): the step above 0x7f7f is 2^128.
  bool top = ((lo + 0x10000u) & 0x7fffffffu) == 0x7f800000u;
  double x = f, a = from_bits(lo),
         b = top ? std::copysign(std::ldexp(1.0, 128), x) : from_bits(lo + 0x10000u);
  double da = std::fabs(x - a), db = std::fabs(b - x);
  if (da < db) return static_cast<uint16_t>(lo >> 16);
  if (db < da) return static_cast<uint16_t>((lo + 0x10000u) >> 16);
  return static_cast<uint16_t>(((lo >> 16) % 2 == 0 ? lo : lo + 0x10000u) >> 16);
}

// Floats spread over every binade, both signs, the subnormals included.
std::vector<float> sample_floats(int n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> out;
  for (int i = 0; i < n; ++i) {
    uint32_t u = gen();
    if ((u & 0x7f800000u) == 0x7f800000u) continue;  // inf and NaN are checked apart
    out.push_back(from_bits(u));
  }
  for (float f : {0.0f, -0.0f, 1.0f, 65504.0f, 65519.99f, 65520.0f, 5.96046448e-8f, 2.98023224e-8f,
                  2.98023239e-8f, 6.10351562e-5f, 3.3895314e38f, 3.4028235e38f})
    out.push_back(f);
  return out;
}

TEST(Half, Float16ConversionsAreExact) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    double want = float16_value(static_cast<uint16_t>(b));
    float got = static_cast<float>(float16_t::from_bits(static_cast<uint16_t>(b)));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << b;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << "pattern " << b;
      if (got == 0) {
        EXPECT_EQ(std::signbit(got), (b & 0x8000) != 0);
      }
    }
  }
  NearestFloat16 nearest;
  std::mt19937 gen(3);
  std::vector<float> xs = sample_floats(20000, 1);
  // Values near float16's range, where rounding decides most.
  for (int i = 0; i < 20000; ++i)
    xs.push_back(std::ldexp(static_cast<float>(gen() % 2048), static_cast<int>(gen() % 40) - 36) *
                 (gen() % 2 ? 1.f : -1.f) * (1.0f + static_cast<float>(gen() % 64) / 4096.f));
  for (float f : xs) ASSERT_EQ(float16_t(f).bits, nearest(f)) << "float " << f;
  EXPECT_EQ(float16_t(std::numeric_limits<float>::infinity()).bits, 0x7c00);
  EXPECT_TRUE(std::isnan(static_cast<float>(float16_t(std::nanf("")))));
}

TEST(Half, BFloat16ConversionsAreExact) {
  for (float f : sample_floats(100000, 2)) {
    uint16_t want = nearest_bfloat16(f);
    ASSERT_EQ(bfloat16_t(f).bits, want) << "float " << f;
    // Back to float is exact: the upper half of the float.
    EXPECT_EQ(bits(static_cast<float>(bfloat16_t::from_bits(want))), static_cast<uint32_t>(want) << 16);
  }
  EXPECT_EQ(bfloat16_t(std::numeric_limits<float>::infinity()).bits, 0x7f80);
  EXPECT_EQ(bfloat16_t(std::numeric_limits<float>::max()).bits, 0x7f80);  // rounds up to inf
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16_t(std::nanf("")))));
}

class HalfTest : public DeviceTest {};

constexpr DType kHalves[] = {bfloat16, float16};

// f applied to float64 inputs, then rounded to dtype.
std::vector<double> reference(const std::vector<double>& a, const std::function<double(double)>& f,
                              DType dt) {
  std::vector<double> out;
  for (double x : a) out.push_back(round_to(f(x), dt));
  return out;
}

TEST_P(HalfTest, ElementwiseOpsMatchRoundedReferences) {
  const TensorShape shape{3, 67};
  uint32_t seed = 20;
  for (DType dt : kHalves) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> va, vb;
    Tensor a = random_tensor(shape, dt, 0.1, 4, seed++, &va);
    Tensor b = random_tensor(shape, dt, -3, 3, seed++, &vb);
    double rt = rtol_for(dt), at = atol_for(dt);
    auto un = [&](Tensor got, std::function<double(double)> f, const std::vector<double>& in) {
      EXPECT_EQ(got.dtype(), dt);
      return all_close(got, reference(in, f, dt), shape, rt, at);
    };
    EXPECT_TRUE(un(exp(b), [](double x) { return std::exp(x); }, vb));
    EXPECT_TRUE(un(log(a), [](double x) { return std::log(x); }, va));
    EXPECT_TRUE(un(sqrt(a), [](double x) { return std::sqrt(x); }, va));
    EXPECT_TRUE(un(tanh(b), [](double x) { return std::tanh(x); }, vb));
    EXPECT_TRUE(un(sigmoid(b), [](double x) { return 1 / (1 + std::exp(-x)); }, vb));
    EXPECT_TRUE(un(relu(b), [](double x) { return x > 0 ? x : 0; }, vb));
    EXPECT_TRUE(un(neg(b), [](double x) { return -x; }, vb));
    EXPECT_TRUE(un(abs(b), [](double x) { return std::fabs(x); }, vb));
    EXPECT_TRUE(un(square(b), [](double x) { return x * x; }, vb));
    std::vector<double> sum, prod, quot, mx;
    for (size_t i = 0; i < va.size(); ++i) {
      sum.push_back(round_to(va[i] + vb[i], dt));
      prod.push_back(round_to(va[i] * vb[i], dt));
      quot.push_back(round_to(vb[i] / va[i], dt));
      mx.push_back(std::max(va[i], vb[i]));
    }
    EXPECT_TRUE(all_close(a + b, sum, shape, rt, at));
    EXPECT_TRUE(all_close(a * b, prod, shape, rt, at));
    EXPECT_TRUE(all_close(b / a, quot, shape, rt, at));
    EXPECT_TRUE(all_close(maximum(a, b), mx, shape, 0, 0));
    // Broadcasting a row, and comparisons (exact: no rounding involved).
    Tensor row = slice(b, {0, 0}, {1, 67});
    std::vector<double> bsum, less_ref, mn;
    for (size_t i = 0; i < va.size(); ++i) {
      bsum.push_back(round_to(va[i] + vb[i % 67], dt));
      less_ref.push_back(va[i] < vb[i] ? 1 : 0);
      mn.push_back(std::min(va[i], vb[i]));
    }
    EXPECT_TRUE(all_close(a + row, bsum, shape, rt, at));
    Tensor lt = less(a, b);
    EXPECT_EQ(lt.dtype(), bool_);
    EXPECT_TRUE(all_close(lt, less_ref, shape, 0, 0));
    EXPECT_TRUE(all_close(where(lt, a, b), mn, shape, 0, 0));
  }
}

TEST_P(HalfTest, CastsRoundToNearestEven) {
  std::vector<float> xs = {0.1f, -2.5f, 1.00390625f, 1.01171875f, 3.0e38f, 70000.f, -1e-8f, 0.f};
  Tensor x = constant(xs);
  auto as_bf = cast(x, bfloat16).to_vector<bfloat16_t>();
  auto as_h = cast(x, float16).to_vector<float16_t>();
  NearestFloat16 nearest;
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_EQ(as_bf[i].bits, nearest_bfloat16(xs[i])) << xs[i];
    EXPECT_EQ(as_h[i].bits, nearest(xs[i])) << xs[i];
  }
  // Back to float32 exactly; to integers saturating; to bool by != 0.
  Tensor h = cast(x, float16);
  auto back = cast(h, float32).to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_EQ(static_cast<double>(back[i]), float16_value(as_h[i].bits));
  auto ints = cast(cast(constant({-3.7f, 2.5f, 1e30f}), bfloat16), int32).to_vector<int32_t>();
  EXPECT_EQ(ints, (std::vector<int32_t>{-3, 2, std::numeric_limits<int32_t>::max()}));
  Tensor flags = cast(cast(constant({0.f, -0.f, 1e-30f}), bfloat16), bool_);
  EXPECT_TRUE(all_close(flags, {0, 0, 1}, {3}, 0, 0));
  auto from_int = cast(constant({257, -3}), bfloat16).to_vector<bfloat16_t>();
  EXPECT_EQ(static_cast<float>(from_int[0]), 256.f);  // 257 ties between 256 and 258: even
  EXPECT_EQ(static_cast<float>(from_int[1]), -3.f);
  auto hb = cast(cast(constant({1.5f}), float16), bfloat16).to_vector<bfloat16_t>();
  EXPECT_EQ(static_cast<float>(hb[0]), 1.5f);
}

TEST_P(HalfTest, ReductionsAccumulateWide) {
  const TensorShape shape{40, 500};
  for (DType dt : kHalves) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> v;
    Tensor x = random_tensor(shape, dt, 0, 1, 31, &v);
    double total = 0, mx = -1;
    std::vector<double> rows(40, 0.0), cols(500, 0.0);
    for (size_t i = 0; i < v.size(); ++i) {
      total += v[i];
      mx = std::max(mx, v[i]);
      rows[i / 500] += v[i];
      cols[i % 500] += v[i];
    }
    // 20000 values summed in 16 bits would stall long before 10000.
    EXPECT_TRUE(all_close(reduce_sum(x), {round_to(total, dt)}, {}, rtol_for(dt), 0));
    EXPECT_TRUE(
        all_close(reduce_mean(x), {round_to(total / 20000, dt)}, {}, rtol_for(dt), 0));
    EXPECT_TRUE(all_close(reduce_max(x), {mx}, {}, 0, 0));
    for (auto& r : rows) r = round_to(r, dt);
    for (auto& c : cols) c = round_to(c, dt);
    EXPECT_TRUE(all_close(reduce_sum(x, std::vector<int64_t>{1}), rows, {40}, rtol_for(dt), 0));
    EXPECT_TRUE(all_close(reduce_sum(x, std::vector<int64_t>{0}), cols, {500}, rtol_for(dt), 0));
    Tensor am = argmax(x, 1);
    auto idx = am.to_vector<int64_t>();
    for (int r = 0; r < 40; ++r) {
      auto first = v.begin() + r * 500;
      EXPECT_EQ(idx[static_cast<size_t>(r)], std::max_element(first, first + 500) - first);
    }
  }
}

TEST_P(HalfTest, MatmulAndSoftmax) {
  for (DType dt : kHalves) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> va, vb;
    Tensor a = random_tensor({2, 33, 40}, dt, -1, 1, 41, &va);
    Tensor b = random_tensor({40, 17}, dt, -1, 1, 42, &vb);
    std::vector<double> want(2 * 33 * 17);
    for (int t = 0; t < 2; ++t)
      for (int i = 0; i < 33; ++i)
        for (int j = 0; j < 17; ++j) {
          double s = 0;
          for (int k = 0; k < 40; ++k)
            s += va[static_cast<size_t>((t * 33 + i) * 40 + k)] * vb[static_cast<size_t>(k * 17 + j)];
          want[static_cast<size_t>((t * 33 + i) * 17 + j)] = round_to(s, dt);
        }
    Tensor c = matmul(a, b);
    EXPECT_EQ(c.dtype(), dt);
    // One rounding of the result; float32 accumulation adds far less.
    EXPECT_TRUE(all_close(c, want, {2, 33, 17}, rtol_for(dt), 1e-3));

    std::vector<double> vx;
    Tensor x = random_tensor({7, 300}, dt, -8, 8, 43, &vx);
    std::vector<double> sm(vx.size()), lsm(vx.size());
    for (int r = 0; r < 7; ++r) {
      auto row = vx.begin() + r * 300;
      double m = *std::max_element(row, row + 300), z = 0;
      for (int i = 0; i < 300; ++i) z += std::exp(row[i] - m);
      for (int i = 0; i < 300; ++i) {
        sm[static_cast<size_t>(r * 300 + i)] = round_to(std::exp(row[i] - m) / z, dt);
        lsm[static_cast<size_t>(r * 300 + i)] = round_to(row[i] - m - std::log(z), dt);
      }
    }
    EXPECT_TRUE(all_close(softmax(x), sm, {7, 300}, rtol_for(dt), 1e-6));
    EXPECT_TRUE(all_close(log_softmax(x), lsm, {7, 300}, rtol_for(dt), 1e-2));
  }
}

TEST_P(HalfTest, IndexOpsAndAccumulation) {
  for (DType dt : {bfloat16, float16, uint8}) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> v;
    for (int i = 0; i < 30; ++i) v.push_back(1 + (i * 7) % 8);
    Tensor data = make(v, {6, 5}, dt);
    Tensor ids = constant({2, 0, 2, 1, 0, 2});
    std::vector<double> want(3 * 5, 0.0);
    for (int r = 0; r < 6; ++r) {
      int s = std::vector<int>{2, 0, 2, 1, 0, 2}[static_cast<size_t>(r)];
      for (int k = 0; k < 5; ++k) want[static_cast<size_t>(s * 5 + k)] += v[static_cast<size_t>(r * 5 + k)];
    }
    // Integer-valued sums below 64 are exact in every one of these types.
    EXPECT_TRUE(all_close(unsorted_segment_sum(data, ids, 3), want, {3, 5}, 0, 0));
    std::vector<double> g;
    for (int r : {4, 1}) g.insert(g.end(), v.begin() + r * 5, v.begin() + r * 5 + 5);
    EXPECT_TRUE(all_close(gather(data, constant({4, 1})), g, {2, 5}, 0, 0));
  }
  auto hot = one_hot(constant({1, 0}), 3, 1.0, 0.0, -1, bfloat16);
  EXPECT_EQ(hot.dtype(), bfloat16);
  EXPECT_TRUE(all_close(hot, {0, 1, 0, 1, 0, 0}, {2, 3}, 0, 0));
}

TEST_P(HalfTest, GradientsFlowInTheSameType) {
  for (DType dt : kHalves) {
    SCOPED_TRACE(dtype_name(dt));
    Variable w(cast(constant({0.5f, -1.25f, 2.0f}), dt), {.name = "w"});
    GradientTape tape;
    Tensor loss = reduce_sum(w * w * cast(constant(3.0f), dt));
    Tensor g = tape.gradient(loss, w);
    EXPECT_EQ(g.dtype(), dt);
    EXPECT_TRUE(all_close(g, {3.0, -7.5, 12.0}, {3}, 0, 0));
    w.assign_sub(g * cast(constant(0.25f), dt));
    EXPECT_TRUE(all_close(w.read_value(), {-0.25, 0.625, -1.0}, {3}, 0, 0));
  }
}

TEST_P(HalfTest, PrintsAndRejectsWhatHasNoKernel) {
  Tensor x = cast(constant({1.5f, 0.1f}), bfloat16);
  EXPECT_EQ(x.to_string(), "ember.Tensor([1.5        0.10009766], shape=(2,), dtype=bfloat16)");
  EXPECT_EQ(fill({2}, 0.5, float16).to_string(), "ember.Tensor([0.5 0.5], shape=(2,), dtype=float16)");
  try {
    in_top_k(constant(std::vector<int32_t>{0}), reshape(x, {1, 2}), 1);  // float32 only, as TensorFlow's
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("predictions must be float32, got bfloat16"), std::string::npos) << e.what();
  }
}

EMBER_INSTANTIATE_DEVICE_TESTS(HalfTest);

}  // namespace
}  // namespace ember::test
