// The fused optimizer updates against float64 references written in the
// textbook form of each method (Adam with bias-corrected moments, RMSProp
// with the running average written as ρ·ms + (1-ρ)·g², ...), over several
// steps with random gradients; in-place writes and copy on write; bad input.
#include <cmath>
#include <functional>
#include <optional>

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::ResourceApplyGradientDescent, op_name::ResourceApplyKerasMomentum,
                         op_name::ResourceApplyAdam, op_name::ResourceApplyRMSProp,
                         op_name::ResourceApplyCenteredRMSProp, op_name::ResourceApplyAdagradV2,
                         op_name::ResourceApplyGradientDescentRows, op_name::ResourceApplyKerasMomentumRows,
                         op_name::ResourceApplyAdamRows, op_name::ResourceApplyRMSPropRows,
                         op_name::ResourceApplyCenteredRMSPropRows, op_name::ResourceApplyAdagradV2Rows};

using Vec = std::vector<double>;

class OptimizerOpTest : public DeviceTest {};

// Runs `steps` updates of a [5, 7] variable with `slots` slot variables, each
// step's scalars from `scalars(t)` (t = 1, 2, ...), checking the variable and
// slots against `reference` after every step.
struct Case {
  const char* op;
  int slots;
  std::vector<double> slot_init;
  std::function<Vec(int)> scalars;  // in the op's order, without the gradient
  int grad_at;                      // the gradient's input index
  Attrs attrs;
  // One element: reference(t, scalars, var, slots, g).
  std::function<void(int, const Vec&, double&, Vec&, double)> reference;
};

// With `rows` (the row numbers' dtype), the op's twin taking its gradient
// as rows (IndexedSlices): rows 3, 0, 3 and 4 (row 3 twice, rows 1 and 2
// never), the reference fed the dense gradient they stand for, so every row
// steps, the unnamed ones with a zero gradient.
void run_case(const Case& c, DType dtype, std::optional<DType> rows = std::nullopt) {
  std::string trace = c.op;  // (appended piece by piece: GCC 12 warns falsely on a chain of +)
  trace.append(rows ? "Rows " : " ").append(dtype_name(dtype));
  if (rows) trace.append(" ").append(dtype_name(*rows));
  SCOPED_TRACE(trace);
  TensorShape shape{5, 7};
  const std::vector<int64_t> named{3, 0, 3, 4};
  const size_t width = 7;
  Vec w;
  Variable var(random_tensor(shape, dtype, -1, 1, 3, &w));
  std::vector<Variable> slots;
  std::vector<Vec> slot_values;
  for (int j = 0; j < c.slots; ++j) {
    slot_values.emplace_back(static_cast<size_t>(shape.num_elements()), c.slot_init[static_cast<size_t>(j)]);
    slots.emplace_back(fill(shape, c.slot_init[static_cast<size_t>(j)], dtype));
  }
  for (int t = 1; t <= 4; ++t) {
    Vec g;
    Tensor grad;
    if (rows) {
      Vec gv;
      grad = random_tensor({4, static_cast<int64_t>(width)}, dtype, -2, 2, 20 + static_cast<uint32_t>(t), &gv);
      g.assign(static_cast<size_t>(shape.num_elements()), 0.0);
      for (size_t k = 0; k < named.size(); ++k)
        for (size_t j = 0; j < width; ++j) g[static_cast<size_t>(named[k]) * width + j] += gv[k * width + j];
    } else {
      grad = random_tensor(shape, dtype, -2, 2, 10 + static_cast<uint32_t>(t), &g);
    }
    Vec k = c.scalars(t);
    std::vector<Tensor> inputs{var.handle()};
    for (auto& s : slots) inputs.push_back(s.handle());
    size_t next = 0;
    for (int i = c.slots + 1; i < c.slots + 2 + static_cast<int>(k.size()); ++i)
      inputs.push_back(i == c.grad_at ? grad : constant(k[next++], dtype));
    if (rows) {
      inputs.push_back(cast(constant(named), *rows));
      execute(op_def(std::string(c.op) + "Rows"), inputs, Attrs(c.attrs).set("num_rows", int64_t{5}));
    } else {
      execute(op_def(c.op), inputs, c.attrs);
    }
    for (size_t i = 0; i < w.size(); ++i) {
      Vec s(static_cast<size_t>(c.slots));
      for (int j = 0; j < c.slots; ++j) s[static_cast<size_t>(j)] = slot_values[static_cast<size_t>(j)][i];
      c.reference(t, k, w[i], s, g[i]);
      for (int j = 0; j < c.slots; ++j) slot_values[static_cast<size_t>(j)][i] = s[static_cast<size_t>(j)];
    }
    double rtol = dtype == float32 ? 2e-5 : 1e-12, atol = dtype == float32 ? 2e-6 : 1e-13;
    ASSERT_TRUE(all_close(var.read_value(), w, shape, rtol, atol)) << "step " << t;
    for (int j = 0; j < c.slots; ++j)
      ASSERT_TRUE(all_close(slots[static_cast<size_t>(j)].read_value(), slot_values[static_cast<size_t>(j)],
                            shape, rtol, atol))
          << "slot " << j << ", step " << t;
  }
}

std::vector<Case> cases() {
  const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-3, mom = 0.8, rho = 0.9;
  auto adam_ref = [=](bool nesterov) {
    return [=](int t, const Vec&, double& w, Vec& s, double g) {
      s[0] = b1 * s[0] + (1 - b1) * g;
      s[1] = b2 * s[1] + (1 - b2) * g * g;
      double m = nesterov ? b1 * s[0] + (1 - b1) * g : s[0];
      double mhat = m / (1 - std::pow(b1, t)), vhat = s[1] / (1 - std::pow(b2, t));
      // TensorFlow's epsilon is the "epsilon hat" of Kingma and Ba's section 2.
      w -= lr * mhat / (std::sqrt(vhat) + eps / std::sqrt(1 - std::pow(b2, t)));
    };
  };
  auto adam_scalars = [=](int t) { return Vec{std::pow(b1, t), std::pow(b2, t), lr, b1, b2, eps}; };
  return {
      {op_name::ResourceApplyGradientDescent, 0, {}, [=](int) { return Vec{lr}; }, 2, {},
       [=](int, const Vec&, double& w, Vec&, double g) { w -= lr * g; }},
      {op_name::ResourceApplyKerasMomentum, 1, {0.0}, [=](int) { return Vec{lr, mom}; }, 3,
       {{"use_nesterov", false}},
       [=](int, const Vec&, double& w, Vec& s, double g) {
         s[0] = mom * s[0] - lr * g;
         w += s[0];
       }},
      {op_name::ResourceApplyKerasMomentum, 1, {0.0}, [=](int) { return Vec{lr, mom}; }, 3,
       {{"use_nesterov", true}},
       [=](int, const Vec&, double& w, Vec& s, double g) {
         s[0] = mom * s[0] - lr * g;
         w += mom * s[0] - lr * g;
       }},
      {op_name::ResourceApplyAdam, 2, {0.0, 0.0}, adam_scalars, 9, {{"use_nesterov", false}},
       adam_ref(false)},
      {op_name::ResourceApplyAdam, 2, {0.0, 0.0}, adam_scalars, 9, {{"use_nesterov", true}},
       adam_ref(true)},
      {op_name::ResourceApplyRMSProp, 2, {0.1, 0.0}, [=](int) { return Vec{lr, rho, mom, eps}; },
       7, {},
       [=](int, const Vec&, double& w, Vec& s, double g) {
         s[0] = rho * s[0] + (1 - rho) * g * g;
         s[1] = mom * s[1] + lr * g / std::sqrt(s[0] + eps);
         w -= s[1];
       }},
      {op_name::ResourceApplyCenteredRMSProp, 3, {0.0, 0.1, 0.0},
       [=](int) { return Vec{lr, rho, mom, eps}; }, 8, {},
       [=](int, const Vec&, double& w, Vec& s, double g) {
         s[0] = rho * s[0] + (1 - rho) * g;
         s[1] = rho * s[1] + (1 - rho) * g * g;
         s[2] = mom * s[2] + lr * g / std::sqrt(s[1] - s[0] * s[0] + eps);
         w -= s[2];
       }},
      {op_name::ResourceApplyAdagradV2, 1, {0.1}, [=](int) { return Vec{lr, eps}; }, 4,
       {{"update_slots", true}},
       [=](int, const Vec&, double& w, Vec& s, double g) {
         s[0] += g * g;
         w -= lr * g / (std::sqrt(s[0]) + eps);
       }},
  };
}

TEST_P(OptimizerOpTest, MatchTextbookReferences) {
  for (const Case& c : cases())
    for (DType dt : {float32, float64}) run_case(c, dt);
}

TEST_P(OptimizerOpTest, RowsUpdatesMatchTheReferenceOfTheDenseGradient) {
  for (const Case& c : cases())
    for (DType dt : {float32, float64})
      for (DType it : {int32, int64}) run_case(c, dt, it);
}

// What the rows updates promise beyond the reference's tolerance: on the
// CPU, the very bits of the dense update given the dense gradient (rows
// named twice summed in order, as UnsortedSegmentSum sums them), in every
// floating dtype; and gradient descent leaves the unnamed rows' bits alone.
TEST_P(OptimizerOpTest, RowsUpdatesEqualTheDenseUpdateBitForBitOnTheCpu) {
  if (!device().is_cpu()) GTEST_SKIP() << "the CUDA kernel sums rows with atomics";
  const TensorShape shape{5, 3};
  Tensor indices = constant(std::vector<int64_t>{4, 1, 4, 4, 0});
  for (const Case& c : cases())
    for (DType dt : {float32, float64, bfloat16, float16}) {
      SCOPED_TRACE(std::string(c.op) + " " + std::string(dtype_name(dt)));
      Tensor init = random_tensor(shape, dt, -1, 1, 5);
      Variable dense_var(init), rows_var(init);
      std::vector<Variable> dense_slots, rows_slots;
      for (int j = 0; j < c.slots; ++j) {
        dense_slots.emplace_back(fill(shape, c.slot_init[static_cast<size_t>(j)], dt));
        rows_slots.emplace_back(fill(shape, c.slot_init[static_cast<size_t>(j)], dt));
      }
      for (int t = 1; t <= 2; ++t) {
        Tensor rows = random_tensor({5, 3}, dt, -2, 2, 40 + static_cast<uint32_t>(t));
        Vec k = c.scalars(t);
        auto inputs_for = [&](const Variable& v, const std::vector<Variable>& ss, const Tensor& grad) {
          std::vector<Tensor> in{v.handle()};
          for (const auto& s : ss) in.push_back(s.handle());
          size_t next = 0;
          for (int i = c.slots + 1; i < c.slots + 2 + static_cast<int>(k.size()); ++i)
            in.push_back(i == c.grad_at ? grad : constant(k[next++], dt));
          return in;
        };
        execute(op_def(c.op), inputs_for(dense_var, dense_slots, unsorted_segment_sum(rows, indices, 5)), c.attrs);
        std::vector<Tensor> in = inputs_for(rows_var, rows_slots, rows);
        in.push_back(indices);
        execute(op_def(std::string(c.op) + "Rows"), in, Attrs(c.attrs).set("num_rows", int64_t{5}));
        ASSERT_EQ(values(cast(rows_var.read_value(), float64)), values(cast(dense_var.read_value(), float64)))
            << "step " << t;
        for (int j = 0; j < c.slots; ++j)
          ASSERT_EQ(values(cast(rows_slots[static_cast<size_t>(j)].read_value(), float64)),
                    values(cast(dense_slots[static_cast<size_t>(j)].read_value(), float64)))
              << "slot " << j << ", step " << t;
      }
    }
  // Gradient descent steps the named rows alone: row 2, never named, keeps
  // its bits (here a negative zero and a NaN that a dense step would keep too).
  Variable v(constant({1.f, 2.f, -0.f, std::nanf(""), 5.f, 6.f}, {3, 2}));
  execute(op_def(op_name::ResourceApplyGradientDescentRows),
          {v.handle(), constant(0.5f), constant({1.f, 1.f}, {1, 2}), constant(std::vector<int32_t>{0})},
          {{"num_rows", int64_t{3}}});
  std::vector<float> got = v.read_value().to_vector<float>();
  EXPECT_EQ(got[0], 0.5f);
  EXPECT_EQ(got[1], 1.5f);
  EXPECT_TRUE(got[2] == 0.f && std::signbit(got[2]));
  EXPECT_TRUE(std::isnan(got[3]));
  EXPECT_EQ(got[4], 5.f);
}

// `f` throws InvalidArgument naming Adam, with `text` in its message.
void expect(const std::function<void()>& f, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "no error; expected " << text;
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[optimizers::Adam]"), std::string::npos) << e.what();
  }
}

TEST_P(OptimizerOpTest, BadRowsAreAnErrorNamingTheOptimizer) {
  Variable v(constant({1.f, 2.f, 3.f, 4.f}, {2, 2})), m(fill({2, 2}, 0, float32)), s(fill({2, 2}, 0, float32));
  auto adam = [&](Tensor values, Tensor indices, int64_t rows = 2) {
    Tensor h = constant(0.5f);
    execute(op_def(op_name::ResourceApplyAdamRows),
            {v.handle(), m.handle(), s.handle(), h, h, h, h, h, h, values, indices},
            {{"use_nesterov", false}, {"num_rows", rows}});
  };
  Tensor row = constant({1.f, 1.f}, {1, 2});
  expect([&] { adam(row, constant(std::vector<int32_t>{2})); }, "row number 0 is 2, not in [0, 2)");
  expect([&] { adam(row, constant(std::vector<int64_t>{-1})); }, "row number 0 is -1, not in [0, 2)");
  expect([&] { adam(constant({1.f, 1.f, 1.f}, {1, 3}), constant(std::vector<int32_t>{0})); },
         "the gradient's rows have shape [1,3]");
  expect([&] { adam(row, constant(std::vector<int32_t>{0, 1})); }, "the gradient's rows have shape [1,2]");
  expect([&] { adam(row, constant({0.f})); }, "row numbers are float32");
  expect([&] { adam(row, constant(std::vector<int32_t>{0}), 3); }, "num_rows is 3, the variable 'Variable:0' [2,2]");
  EXPECT_EQ(values(v.read_value()), (Vec{1, 2, 3, 4}));  // nothing was applied
}

TEST_P(OptimizerOpTest, UpdatesInPlaceUnlessAReadHoldsTheBuffer) {
  Variable v(constant({1.f, 2.f, 3.f}));
  auto apply = [&](float lr) {
    execute(op_def(op_name::ResourceApplyGradientDescent),
            {v.handle(), constant(lr), constant({1.f, 1.f, 1.f})}, {});
  };
  Tensor before = v.read_value();
  const void* old_buffer = before.raw_data();
  apply(0.5f);
  // The earlier read keeps its value: the update wrote a copy.
  EXPECT_EQ(values(before), (Vec{1, 2, 3}));
  EXPECT_EQ(values(v.read_value()), (Vec{0.5, 1.5, 2.5}));
  before = Tensor();
  const void* now = v.read_value().raw_data();
  EXPECT_NE(now, old_buffer);
  apply(0.5f);  // nothing holds the buffer: written in place
  EXPECT_EQ(v.read_value().raw_data(), now);
  EXPECT_EQ(values(v.read_value()), (Vec{0, 1, 2}));
}

TEST_P(OptimizerOpTest, BadInputIsAnErrorNamingTheOptimizer) {
  Variable v(constant({1.f, 2.f})), m(constant({0.f, 0.f})), m3(constant({0.f, 0.f, 0.f}));
  Variable d(constant({1., 2.}, float64));
  auto adam = [&](const Variable& a, const Variable& b, const Variable& c, Tensor g, Tensor lr) {
    Tensor s = constant(0.5f);
    execute(op_def(op_name::ResourceApplyAdam),
            {a.handle(), b.handle(), c.handle(), s, s, lr, s, s, s, g}, {{"use_nesterov", false}});
  };
  Tensor g = constant({1.f, 1.f}), lr = constant(0.1f);
  expect([&] { adam(v, v, m, g, lr); }, "inputs 0 and 1 are the same variable");
  expect([&] { adam(v, m, m3, g, lr); }, "slot");
  expect([&] { adam(v, m, Variable(constant({0.f, 0.f})), constant({1.f, 1.f, 1.f}), lr); },
         "the gradient has shape [3]");
  expect([&] { adam(v, m, Variable(constant({0.f, 0.f})), g, constant({0.1f, 0.2f})); },
         "must be a scalar");
  expect([&] { adam(v, m, Variable(constant({0.f, 0.f})), g, constant(0.1, float64)); },
         "input 5 is float64, the variable 'Variable:0' float32");
  expect([&] { adam(d, Variable(constant({0., 0.}, float64)), Variable(constant({0., 0.}, float64)),
                    constant({1., 1.}, float64), lr); },
         "input 3 is float32, the variable 'Variable:0' float64");
  EXPECT_EQ(values(v.read_value()), (Vec{1, 2}));  // nothing was applied
}

EMBER_INSTANTIATE_DEVICE_TESTS(OptimizerOpTest);

}  // namespace
}  // namespace ember::test
