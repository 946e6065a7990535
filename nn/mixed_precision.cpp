#include "nn/mixed_precision.h"

#include <mutex>

#include "core/error.h"

namespace ember::mixed_precision {

Policy::Policy(const std::string& name) : name_(name) {
  if (name == "float32") {
    compute_ = variable_ = float32;
  } else if (name == "float64") {
    compute_ = variable_ = float64;
  } else if (name == "float16") {
    compute_ = variable_ = float16;
  } else if (name == "bfloat16") {
    compute_ = variable_ = bfloat16;
  } else if (name == "mixed_float16") {
    compute_ = float16;
    variable_ = float32;
  } else if (name == "mixed_bfloat16") {
    compute_ = bfloat16;
    variable_ = float32;
  } else {
    throw InvalidArgument("[mixed_precision::Policy] unknown policy '" + name +
                          "': expected float32, float64, float16, bfloat16, mixed_float16 or mixed_bfloat16");
  }
}

namespace {
std::mutex g_mu;
Policy& global() {
  static Policy p;
  return p;
}
}  // namespace

void set_global_policy(const std::string& name) { set_global_policy(Policy(name)); }
void set_global_policy(const Policy& policy) {
  std::lock_guard lock(g_mu);
  global() = policy;
}
Policy global_policy() {
  std::lock_guard lock(g_mu);
  return global();
}

PolicyScope::PolicyScope(const std::string& name) : saved_(global_policy()) { set_global_policy(name); }
PolicyScope::~PolicyScope() { set_global_policy(saved_); }

}  // namespace ember::mixed_precision
