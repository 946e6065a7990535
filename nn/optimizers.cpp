// Optimizers: Keras 3's `apply` (filter, cast, clip, decay, update, count)
// with one fused TensorFlow training op per variable.
#include "nn/optimizers.h"

#include <cmath>

#include "core/context.h"
#include "core/error.h"
#include "core/indexed_slices.h"
#include "core/op_registry.h"
#include "core/op_names.h"
#include "core/ops.h"
#include "graph/control_flow.h"

namespace ember::optimizers {
namespace {

const void* key_of(const Variable& v) { return v.handle().impl()->resource.get(); }
std::weak_ptr<ResourceBase> owner_of(const Variable& v) { return v.handle().impl()->resource; }

// "dense/kernel:0" -> "dense/kernel".
std::string base_name(const Variable& v) {
  const std::string& n = v.name();
  return n.size() > 2 && n.compare(n.size() - 2, 2, ":0") == 0 ? n.substr(0, n.size() - 2) : n;
}

}  // namespace

// A gradient held as rows (core/indexed_slices.h) is clipped by scaling
// its rows (the norm is the dense value's: rows named twice summed first).
Tensor clip_by_norm(const Tensor& grad, double clip_norm) {
  // Keras's two-tap where: a zero gradient stays zero, a NaN one NaN.
  Tensor l2sum = reduce_sum(square(dense_value(grad)), std::nullopt, true);
  Tensor pred = l2sum > zeros_like(l2sum);
  Tensor safe = where(pred, l2sum, ones_like(l2sum));
  Tensor l2norm = where(pred, sqrt(safe), l2sum);
  Tensor c = constant(clip_norm, grad.dtype(), grad.device());
  return map_rows(grad, [&](const Tensor& g) { return g * c / maximum(l2norm, c); });
}

std::vector<Tensor> clip_by_global_norm(const std::vector<Tensor>& grads, double clip_norm) {
  Tensor total;
  for (const Tensor& g : grads)
    if (g.defined()) {
      Tensor s = cast(reduce_sum(square(dense_value(g))), float32);
      total = total.defined() ? total + s : s;
    }
  if (!total.defined()) return grads;
  Tensor norm = sqrt(total);
  Tensor c = constant(clip_norm, float32, norm.device());
  // Finite norms: min(1/norm, 1/c)·c; a non-finite norm makes the scale NaN.
  Tensor scale = c * minimum(constant(1.0, float32, norm.device()) / norm,
                             constant(1.0 / clip_norm, float32, norm.device())) +
                 (norm - norm);
  std::vector<Tensor> out;
  for (const Tensor& g : grads)
    out.push_back(g.defined() ? map_rows(g, [&](const Tensor& x) { return x * cast(scale, x.dtype()); }) : g);
  return out;
}

Optimizer::Optimizer(LearningRate learning_rate, Options options, std::string default_name)
    : learning_rate_(std::move(learning_rate)),
      options_(std::move(options)),
      name_(options_.name.empty() ? std::move(default_name) : options_.name),
      api_("optimizers::" + name_) {
  EMBER_CHECK(!(options_.clipnorm && options_.global_clipnorm), InvalidArgument, "[optimizers::",
              name_, "] only one of clipnorm and global_clipnorm can be set");
  if (auto* lr = std::get_if<double>(&learning_rate_))
    EMBER_CHECK(*lr >= 0, InvalidArgument, "[optimizers::", name_,
                "] learning_rate must be non-negative, got ", *lr);
  NameScope top(name_, /*absolute=*/true);
  iterations_ = Variable(constant(int64_t{0}), {.name = "iter", .trainable = false});
  track("iter", iterations_);
  // A constant rate is a variable (Keras's hyper-parameter "learning_rate"):
  // callbacks change it between traced steps, and checkpoints keep it.
  if (auto* lr = std::get_if<double>(&learning_rate_)) {
    rate_ = Variable(constant(*lr, float32), {.name = "learning_rate", .trainable = false});
    track("learning_rate", rate_);
  }
}

Tensor Optimizer::scalar(double value, const Variable& like) {
  return constant(value, like.dtype(), like.device());
}

void Optimizer::run_update(const OpDef& dense, const OpDef& rows, std::vector<Tensor> inputs, size_t grad,
                           const Attrs& attrs) {
  if (const IndexedSlices* s = as_indexed_slices(inputs[grad])) {
    Attrs with_rows = attrs;
    with_rows.set("num_rows", s->dense_shape.dim(0));
    inputs[grad] = s->values;
    inputs.push_back(s->indices);
    execute(rows, inputs, with_rows);
    return;
  }
  execute(dense, inputs, attrs);
}
void Optimizer::run_update(const OpDef& dense, const OpDef& rows, std::vector<Tensor> inputs, size_t grad) {
  run_update(dense, rows, std::move(inputs), grad, Attrs{});
}

Tensor Optimizer::current_rate() const {
  if (std::holds_alternative<double>(learning_rate_)) return rate_.read_value();
  return (*std::get<schedules::SchedulePtr>(learning_rate_))(iterations_.read_value());
}

double Optimizer::learning_rate() const { return current_rate().item<float>(); }

bool Optimizer::has_schedule() const { return std::holds_alternative<schedules::SchedulePtr>(learning_rate_); }

void Optimizer::set_learning_rate(double learning_rate) {
  EMBER_CHECK(!has_schedule(), InvalidArgument, "[optimizers::", name_,
              "] this optimizer was created with a LearningRateSchedule as its learning_rate, hence "
              "its learning rate is not settable");
  EMBER_CHECK(learning_rate >= 0, InvalidArgument, "[optimizers::", name_,
              "] learning_rate must be non-negative, got ", learning_rate);
  rate_.assign(constant(learning_rate, float32, rate_.device()));
}

std::vector<Tensor> Optimizer::clip(std::vector<Tensor> grads) const {
  if (options_.clipnorm && *options_.clipnorm > 0) {
    for (Tensor& g : grads)
      if (g.defined()) g = clip_by_norm(g, *options_.clipnorm);
  } else if (options_.global_clipnorm && *options_.global_clipnorm > 0) {
    grads = clip_by_global_norm(grads, *options_.global_clipnorm);
  } else if (options_.clipvalue && *options_.clipvalue > 0) {
    for (Tensor& g : grads)
      if (g.defined()) {  // (dense: clipping rows named twice before summing them would differ)
        Tensor v = constant(*options_.clipvalue, g.dtype(), g.device());
        g = minimum(maximum(dense_value(g), -v), v);
      }
  }
  return grads;
}

void Optimizer::apply(const std::vector<Tensor>& grads, const std::vector<Variable>& variables) {
  ApiScope api(api_.c_str());
  EMBER_CHECK(grads.size() == variables.size(), InvalidArgument, "[optimizers::", name_, "] ",
              grads.size(), " gradients for ", variables.size(), " variables");
  std::vector<Tensor> gs;
  std::vector<Variable> vs;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;  // no gradient: the variable is left alone
    const Variable& v = variables[i];
    EMBER_CHECK(is_floating(v.dtype()), InvalidArgument, "[optimizers::", name_, "] variable '", v.name(),
                "' is ", dtype_name(v.dtype()), "; optimizers update floating variables");
    EMBER_CHECK(grads[i].shape() == v.shape(), InvalidArgument, "[optimizers::", name_,
                "] the gradient of '", v.name(), "' has shape ", grads[i].shape().to_debug_string(),
                ", the variable ", v.shape().to_debug_string());
    gs.push_back(grads[i].dtype() == v.dtype() ? grads[i]
                                               : map_rows(grads[i], [&](const Tensor& g) { return cast(g, v.dtype()); }));
    vs.push_back(v);
  }
  if (gs.empty()) return;
  for (const Variable& v : vs) slots_of(v);  // build the slots in variable order
  gs = clip(std::move(gs));
  Tensor lr = current_rate();
  Tensor step = cast(iterations_.read_value() + int64_t{1}, float32);
  if (options_.weight_decay && *options_.weight_decay != 0)
    for (Variable& v : vs) {
      Tensor decay = cast(lr, v.dtype()) * scalar(*options_.weight_decay, v);
      v.assign_sub(v.read_value() * decay);
    }
  // The rate and step in each variable's dtype (as Keras casts them), cast
  // once per dtype.
  std::map<DType, std::pair<Tensor, Tensor>> in_dtype{{float32, {lr, step}}};
  for (size_t i = 0; i < vs.size(); ++i) {
    const Variable& v = vs[i];
    auto it = in_dtype.find(v.dtype());
    if (it == in_dtype.end()) it = in_dtype.emplace(v.dtype(), std::pair{cast(lr, v.dtype()), cast(step, v.dtype())}).first;
    update_step(gs[i], v, it->second.first, it->second.second);
  }
  iterations_.assign_add(constant(int64_t{1}, iterations_.device()));
}

void Optimizer::apply_gradients(const std::vector<std::pair<Tensor, Variable>>& grads_and_vars) {
  std::vector<Tensor> g;
  std::vector<Variable> v;
  for (const auto& [grad, var] : grads_and_vars) {
    g.push_back(grad);
    v.push_back(var);
  }
  apply(g, v);
}

void Optimizer::build(const std::vector<Variable>& variables) {
  ApiScope api(api_.c_str());
  for (const Variable& v : variables) {
    EMBER_CHECK(is_floating(v.dtype()), InvalidArgument, "[optimizers::", name_, "] variable '", v.name(), "' is ",
                dtype_name(v.dtype()), "; optimizers update floating variables");
    slots_of(v);
  }
}

Optimizer::Slots& Optimizer::slots_of(const Variable& v) {
  auto [it, fresh] = slots_.try_emplace(key_of(v));
  if (fresh) {
    it->second.original = v;
    order_.push_back(key_of(v));
    for (const std::string& name : slot_names()) slot(v, name);
  }
  return it->second;
}

Variable Optimizer::slot(const Variable& variable, const std::string& name) {
  Slots& s = slots_[key_of(variable)];
  if (!s.original.defined()) {
    s.original = variable;
    order_.push_back(key_of(variable));
  }
  if (auto it = s.by_name.find(name); it != s.by_name.end()) return it->second;
  Variable slot;
  {
    NameScope top(name_ + "/" + base_name(variable), /*absolute=*/true);
    DeviceScope on(variable.device());
    slot = Variable(fill(variable.shape(), slot_initial_value(name), variable.dtype()),
                    {.name = name, .trainable = false});
  }
  s.by_name.emplace(name, slot);
  s.nodes.push_back(trackable_of(slot));
  // A checkpoint restored before this slot existed holds its value.
  if (auto p = pending_.find(owner_of(variable)); p != pending_.end()) {
    if (auto f = p->second.find(name); f != p->second.end()) {
      auto restore = std::move(f->second);
      p->second.erase(f);
      if (p->second.empty()) pending_.erase(p);
      restore(slot);
    }
  }
  return slot;
}

Variable Optimizer::get_slot(const Variable& variable, const std::string& name) const {
  auto it = slots_.find(key_of(variable));
  if (it != slots_.end())
    if (auto s = it->second.by_name.find(name); s != it->second.by_name.end()) return s->second;
  throw FailedPrecondition(detail::str_cat("[optimizers::", name_, "] variable '", variable.name(),
                                           "' has no slot '", name, "' (yet)"));
}

std::vector<SlotVariable> Optimizer::slot_variables() const {
  std::vector<SlotVariable> out;
  for (const void* k : order_) {
    const Slots& s = slots_.at(k);
    for (const auto& [name, slot] : s.by_name) out.push_back({s.original, name, slot});
  }
  return out;
}

void Optimizer::restore_slot(const Variable& original, const std::string& name,
                             std::function<void(const Variable& slot)> restore) {
  auto it = slots_.find(key_of(original));
  if (it != slots_.end())
    if (auto s = it->second.by_name.find(name); s != it->second.by_name.end()) {
      restore(s->second);
      return;
    }
  std::erase_if(pending_, [](const auto& entry) { return entry.first.expired(); });  // their variables are gone
  pending_[owner_of(original)][name] = std::move(restore);
}

// ---- the optimizers ------------------------------------------------------------------------------

SGD::SGD(LearningRate learning_rate, Params params, Options options)
    : Optimizer(std::move(learning_rate), std::move(options), "SGD"), p_(params) {
  EMBER_CHECK(p_.momentum >= 0 && p_.momentum <= 1, InvalidArgument,
              "[optimizers::SGD] momentum must be in [0, 1], got ", p_.momentum);
}

std::vector<std::string> SGD::slot_names() const {
  if (p_.momentum == 0) return {};
  return {"momentum"};
}

void SGD::update_step(const Tensor& grad, const Variable& v, const Tensor& lr, const Tensor&) {
  if (p_.momentum == 0) {
    run_update(EMBER_OP(op_name::ResourceApplyGradientDescent), EMBER_OP(op_name::ResourceApplyGradientDescentRows),
               {v.handle(), lr, grad}, 2);
    return;
  }
  run_update(EMBER_OP(op_name::ResourceApplyKerasMomentum), EMBER_OP(op_name::ResourceApplyKerasMomentumRows),
             {v.handle(), slot(v, "momentum").handle(), lr, grad, scalar(p_.momentum, v)}, 3,
             {{"use_nesterov", p_.nesterov}});
}

Adam::Adam(LearningRate learning_rate, Params params, Options options)
    : Adam(std::move(learning_rate), params, std::move(options), "Adam") {}

Adam::Adam(LearningRate learning_rate, Params params, Options options, std::string name)
    : Optimizer(std::move(learning_rate), std::move(options), std::move(name)), p_(params) {
  EMBER_CHECK(p_.beta_1 >= 0 && p_.beta_1 < 1 && p_.beta_2 >= 0 && p_.beta_2 < 1, InvalidArgument,
              "[optimizers::Adam] beta_1 and beta_2 must be in [0, 1), got ", p_.beta_1, " and ",
              p_.beta_2);
}

void Adam::update_step(const Tensor& grad, const Variable& v, const Tensor& lr, const Tensor& step) {
  Tensor b1 = scalar(p_.beta_1, v), b2 = scalar(p_.beta_2, v);
  run_update(EMBER_OP(op_name::ResourceApplyAdam), EMBER_OP(op_name::ResourceApplyAdamRows),
             {v.handle(), slot(v, "m").handle(), slot(v, "v").handle(), pow(b1, step), pow(b2, step), lr, b1, b2,
              scalar(p_.epsilon, v), grad},
             9, {{"use_nesterov", false}});
}

namespace {
Options with_decay(Options o) {
  if (!o.weight_decay) o.weight_decay = 0.004;
  if (o.name.empty()) o.name = "AdamW";
  return o;
}
}  // namespace

AdamW::AdamW(LearningRate learning_rate, Params params, Options options)
    : Adam(std::move(learning_rate), params, with_decay(std::move(options)), "AdamW") {}

RMSprop::RMSprop(LearningRate learning_rate, Params params, Options options)
    : Optimizer(std::move(learning_rate), std::move(options), "RMSprop"), p_(params) {}

std::vector<std::string> RMSprop::slot_names() const {
  if (p_.centered) return {"mg", "momentum", "rms"};
  return {"momentum", "rms"};
}

void RMSprop::update_step(const Tensor& grad, const Variable& v, const Tensor& lr, const Tensor&) {
  Tensor rho = scalar(p_.rho, v), mom = scalar(p_.momentum, v), eps = scalar(p_.epsilon, v);
  if (p_.centered)
    run_update(EMBER_OP(op_name::ResourceApplyCenteredRMSProp), EMBER_OP(op_name::ResourceApplyCenteredRMSPropRows),
               {v.handle(), slot(v, "mg").handle(), slot(v, "rms").handle(), slot(v, "momentum").handle(), lr, rho,
                mom, eps, grad},
               8);
  else
    run_update(EMBER_OP(op_name::ResourceApplyRMSProp), EMBER_OP(op_name::ResourceApplyRMSPropRows),
               {v.handle(), slot(v, "rms").handle(), slot(v, "momentum").handle(), lr, rho, mom, eps, grad}, 7);
}

Adagrad::Adagrad(LearningRate learning_rate, Params params, Options options)
    : Optimizer(std::move(learning_rate), std::move(options), "Adagrad"), p_(params) {}

void Adagrad::update_step(const Tensor& grad, const Variable& v, const Tensor& lr, const Tensor&) {
  run_update(EMBER_OP(op_name::ResourceApplyAdagradV2), EMBER_OP(op_name::ResourceApplyAdagradV2Rows),
             {v.handle(), slot(v, "accumulator").handle(), lr, scalar(p_.epsilon, v), grad}, 4,
             {{"update_slots", true}});
}

// ---- LossScaleOptimizer -------------------------------------------------------------------

LossScaleOptimizer::LossScaleOptimizer(std::shared_ptr<Optimizer> inner, Params params)
    : inner_(std::move(inner)), p_(params) {
  EMBER_CHECK(inner_ != nullptr, InvalidArgument, "[optimizers::LossScaleOptimizer] the inner optimizer is null");
  EMBER_CHECK(p_.initial_scale > 0 && std::isfinite(p_.initial_scale), InvalidArgument,
              "[optimizers::LossScaleOptimizer] initial_scale must be positive and finite, got ", p_.initial_scale);
  EMBER_CHECK(p_.dynamic_growth_steps >= 1, InvalidArgument,
              "[optimizers::LossScaleOptimizer] dynamic_growth_steps must be at least 1, got ", p_.dynamic_growth_steps);
  NameScope top("loss_scale_optimizer", /*absolute=*/true);
  step_counter_ = Variable(constant(int64_t{0}), {.name = "step_counter", .trainable = false});
  dynamic_scale_ = Variable(constant(p_.initial_scale, float32), {.name = "dynamic_scale", .trainable = false});
  track("inner_optimizer", inner_);
  track("step_counter", step_counter_);
  track("dynamic_scale", dynamic_scale_);
}

Tensor LossScaleOptimizer::scale_loss(const Tensor& loss) const {
  ApiScope api("optimizers::LossScaleOptimizer");
  Tensor scale = dynamic_scale_.read_value();
  return loss * (loss.dtype() == float32 ? scale : cast(scale, loss.dtype())).to(loss.device());
}

void LossScaleOptimizer::apply(const std::vector<Tensor>& grads, const std::vector<Variable>& variables) {
  ApiScope api("optimizers::LossScaleOptimizer");
  EMBER_CHECK(grads.size() == variables.size(), InvalidArgument, "[optimizers::LossScaleOptimizer] ", grads.size(),
              " gradients for ", variables.size(), " variables");
  // The inner optimizer's slots now, outside the branch that applies them
  // (a traced cond's branch may not make variables).
  std::vector<Variable> with_grad;
  for (size_t i = 0; i < grads.size(); ++i)
    if (grads[i].defined()) with_grad.push_back(variables[i]);
  inner_->build(with_grad);
  // Finite everywhere: 0·g is 0 for every finite element and NaN otherwise,
  // so the sum of them all is 0 exactly when every gradient is finite.
  Tensor nonfinite;
  for (const Tensor& g : grads)
    if (g.defined()) {
      const IndexedSlices* rows = as_indexed_slices(g);
      const Tensor& x = rows ? rows->values : g;  // (a row named twice is finite when both are)
      Tensor s = cast(reduce_sum(x * zeros_like(x)), float32);
      nonfinite = nonfinite.defined() ? nonfinite + s : s;
    }
  if (!nonfinite.defined()) return;
  Tensor finite = equal(nonfinite, zeros_like(nonfinite));
  cond(
      finite,
      [&] {
        Tensor scale = dynamic_scale_.read_value();
        std::vector<Tensor> unscaled;
        for (const Tensor& g : grads) {
          if (!g.defined()) {
            unscaled.push_back(g);
          } else if (g.dtype() == float32 || g.dtype() == float64) {
            unscaled.push_back(map_rows(g, [&](const Tensor& x) { return x / cast(scale, x.dtype()).to(x.device()); }));
          } else {  // a 16-bit gradient: divided in float32 (a scale past 65504 is inf in float16)
            unscaled.push_back(
                map_rows(g, [&](const Tensor& x) { return cast(cast(x, float32) / scale.to(x.device()), x.dtype()); }));
          }
        }
        inner_->apply(unscaled, variables);
        const Tensor grow = equal(step_counter_.read_value(), constant(p_.dynamic_growth_steps - 1));
        step_counter_.assign(where(grow, zeros_like(step_counter_.read_value()), step_counter_.read_value() + int64_t{1}));
        dynamic_scale_.assign(where(grow, scale * 2.0f, scale));
        return constant(true);
      },
      [&] {
        step_counter_.assign(constant(int64_t{0}));
        dynamic_scale_.assign(dynamic_scale_.read_value() * 0.5f);
        return constant(false);
      });
}

}  // namespace ember::optimizers
