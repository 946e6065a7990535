#include "core/context.h"

#include <omp.h>

#include <algorithm>

namespace ember {

void set_cpu_threads_for_this_thread(int n) { omp_set_num_threads(std::max(n, 1)); }

KernelScope::KernelScope(Context& c, Device device, const char* api) : c_(c) {
  tapes_ = c.tapes;
  had_scope_ = c.has_device_scope;
  scope_ = c.device_scope;
  api_ = c.api;
  c.tapes = nullptr;
  c.has_device_scope = true;
  c.device_scope = device;
  c.api = api;
  if (device.is_cpu()) flush_.emplace();
}
KernelScope::~KernelScope() {
  c_.tapes = tapes_;
  c_.has_device_scope = had_scope_;
  c_.device_scope = scope_;
  c_.api = api_;
}

InitScope::InitScope() : saved_(context().tracer) { context().tracer = nullptr; }
InitScope::~InitScope() { context().tracer = saved_; }

std::string current_name_scope() {
  std::string s;
  for (const auto& n : context().name_scopes) {
    if (n.empty()) continue;
    s += n;
    s += '/';
  }
  return s;
}

NameScope::NameScope(std::string name, bool absolute) : absolute_(absolute) {
  auto& scopes = context().name_scopes;
  if (absolute_) saved_ = std::move(scopes), scopes.clear();
  if (!name.empty())
    scopes.push_back(std::move(name));
  else if (!absolute_)
    scopes.push_back({});  // keep push/pop balanced
}
NameScope::~NameScope() {
  auto& scopes = context().name_scopes;
  if (absolute_)
    scopes = std::move(saved_);
  else
    scopes.pop_back();
}

}  // namespace ember
