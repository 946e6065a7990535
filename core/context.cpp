#include "core/context.h"

namespace ember {

std::string current_name_scope() {
  std::string s;
  for (const auto& n : context().name_scopes) {
    s += n;
    s += '/';
  }
  return s;
}

NameScope::NameScope(std::string name) { context().name_scopes.push_back(std::move(name)); }
NameScope::~NameScope() { context().name_scopes.pop_back(); }

}  // namespace ember
