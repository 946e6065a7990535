#include "state/trackable.h"

#include <cstring>
#include <mutex>

#include "core/context.h"
#include "core/error.h"
#include "core/ops.h"

namespace ember {

void Trackable::bind(const std::string& name, std::shared_ptr<Trackable> owned, std::weak_ptr<Trackable> back) {
  for (Dependency& d : deps_) {
    if (d.name == name) {
      d.owned = std::move(owned);
      d.back = std::move(back);
      return;
    }
  }
  deps_.push_back({name, std::move(owned), std::move(back)});
}

std::shared_ptr<Trackable> Trackable::track(const std::string& name, std::shared_ptr<Trackable> child) {
  EMBER_CHECK(child != nullptr, InvalidArgument, "[Trackable.track] dependency '", name,
              "' is null");
  bind(name, child, {});
  // Hand the child the values a checkpoint kept for it.
  auto [lo, hi] = pending_.equal_range(name);
  std::vector<std::function<void(const std::shared_ptr<Trackable>&)>> ready;
  for (auto it = lo; it != hi; ++it) ready.push_back(std::move(it->second));
  pending_.erase(lo, hi);
  for (auto& f : ready) f(child);
  return child;
}

void Trackable::track_back_reference(const std::string& name, const std::shared_ptr<Trackable>& child) {
  EMBER_CHECK(child != nullptr, InvalidArgument, "[Trackable.track] dependency '", name,
              "' is null");
  bind(name, nullptr, child);
}

void Trackable::untrack(const std::string& name) {
  std::erase_if(deps_, [&](const Dependency& d) { return d.name == name; });
}

std::shared_ptr<Trackable> Trackable::lookup_dependency(const std::string& name) const {
  for (const Dependency& d : deps_)
    if (d.name == name) return d.get();
  return nullptr;
}

std::vector<std::pair<std::string, std::shared_ptr<Trackable>>> Trackable::dependencies() const {
  std::vector<std::pair<std::string, std::shared_ptr<Trackable>>> out;
  out.reserve(deps_.size());
  for (const Dependency& d : deps_)
    if (auto child = d.get()) out.emplace_back(d.name, std::move(child));
  return out;
}

void Trackable::defer_until_tracked(
    const std::string& name, std::function<void(const std::shared_ptr<Trackable>&)> on_track) {
  if (auto existing = lookup_dependency(name)) {
    on_track(existing);
    return;
  }
  pending_.emplace(name, std::move(on_track));
}

size_t Trackable::pending_restorations() const { return pending_.size(); }

// ---- variables -------------------------------------------------------------------------

namespace {

class VariableSaveable : public Saveable {
 public:
  explicit VariableSaveable(Variable v) : v_(std::move(v)) {}
  std::string full_name() const override {
    std::string n = v_.name();
    if (n.size() > 2 && n.compare(n.size() - 2, 2, ":0") == 0) n.resize(n.size() - 2);
    return n;
  }
  std::vector<SavedTensor> save() const override {
    SavedTensor t;
    t.dtype = v_.dtype();
    t.shape = v_.shape();
    Tensor value = v_.state_ptr()->value().to(Device::cpu());
    t.bytes.assign(static_cast<const char*>(value.raw_data()), value.nbytes());
    return {std::move(t)};
  }
  void check(const std::map<std::string, SavedTensor>& tensors) const override {
    auto it = tensors.find("");
    EMBER_CHECK(it != tensors.end(), NotFound, "[checkpoint] no value for variable '", v_.name(),
                "'");
    const SavedTensor& t = it->second;
    EMBER_CHECK(!t.is_string && t.dtype == v_.dtype(), InvalidArgument, "[checkpoint] variable '",
                v_.name(), "': expected dtype ", dtype_name(v_.dtype()),
                " does not equal original dtype ",
                t.is_string ? "string" : std::string(dtype_name(t.dtype)));
    EMBER_CHECK(t.shape == v_.shape(), InvalidArgument,
                "[checkpoint] Received incompatible tensor with shape ", t.shape.to_string(),
                " when attempting to restore variable with shape ", v_.shape().to_string(), " ('",
                v_.name(), "')");
  }
  void restore(const std::map<std::string, SavedTensor>& tensors) override {
    // Now, whatever is being traced: a variable a traced function creates
    // (a layer built on the first call, an optimizer's slots) takes the
    // checkpoint's value when it is created, not when the trace runs (the
    // first trace is discarded), as TensorFlow's restore-on-creation.
    InitScope eager;
    const SavedTensor& t = tensors.at("");
    Tensor host = Tensor::empty(t.shape, t.dtype, Device::cpu());
    if (!t.bytes.empty()) std::memcpy(host.raw_data(), t.bytes.data(), t.bytes.size());
    Variable v = v_;
    v.assign(host.to(v_.device()));
  }

 private:
  Variable v_;
};

std::mutex trackable_mu;

}  // namespace

std::map<std::string, std::shared_ptr<Saveable>> TrackableVariable::saveables() {
  return {{"VARIABLE_VALUE", std::make_shared<VariableSaveable>(variable_)}};
}

std::shared_ptr<TrackableVariable> trackable_of(const Variable& v) {
  EMBER_CHECK(v.defined(), InvalidArgument, "[Trackable] the variable is undefined");
  std::lock_guard<std::mutex> lock(trackable_mu);
  auto& hook = v.state_ptr()->trackable;
  if (auto existing = std::static_pointer_cast<TrackableVariable>(hook.lock())) return existing;
  auto t = std::make_shared<TrackableVariable>(v);
  hook = t;
  return t;
}

}  // namespace ember
