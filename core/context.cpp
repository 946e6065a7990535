#include "core/context.h"

namespace ember {

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
