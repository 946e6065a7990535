// The fused optimizer updates against float64 references written in the
// textbook form of each method (Adam with bias-corrected moments, RMSProp
// with the running average written as ρ·ms + (1-ρ)·g², ...), over several
// steps with random gradients; in-place writes and copy on write; bad input.
#include <cmath>
#include <functional>

#include "test_util.h"

namespace ember::test {
namespace {

const CoveredOps covered{op_name::ResourceApplyGradientDescent, op_name::ResourceApplyKerasMomentum,
                         op_name::ResourceApplyAdam, op_name::ResourceApplyRMSProp,
                         op_name::ResourceApplyCenteredRMSProp, op_name::ResourceApplyAdagradV2};

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

void run_case(const Case& c, DType dtype) {
  SCOPED_TRACE(std::string(c.op) + " " + std::string(dtype_name(dtype)));
  TensorShape shape{5, 7};
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
    Tensor grad = random_tensor(shape, dtype, -2, 2, 10 + static_cast<uint32_t>(t), &g);
    Vec k = c.scalars(t);
    std::vector<Tensor> inputs{var.handle()};
    for (auto& s : slots) inputs.push_back(s.handle());
    size_t next = 0;
    for (int i = c.slots + 1; i < c.slots + 2 + static_cast<int>(k.size()); ++i)
      inputs.push_back(i == c.grad_at ? grad : constant(k[next++], dtype));
    execute(op_def(c.op), inputs, c.attrs);
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
  auto expect = [](auto f, const std::string& text) {
    try {
      f();
      ADD_FAILURE() << "no error; expected " << text;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("[optimizers::Adam]"), std::string::npos) << e.what();
    }
  };
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
