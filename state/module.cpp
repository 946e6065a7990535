#include "state/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <set>
#include <typeinfo>

#include "core/error.h"
#include "state/data_structures.h"

namespace ember {

namespace {

// tf.Module's rule: a name is a valid Python 3 identifier (ASCII here).
bool valid_module_name(const std::string& n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// tf.Module._flatten_module: this module's attributes in name order (each
// leaf that matches; tracked lists and maps are walked into, as tf.nest
// flattens them), then the same for each submodule, depth first.
void flatten(const Module& m, const std::function<void(const std::shared_ptr<Trackable>&)>& visit,
             std::set<const Trackable*>& seen) {
  auto deps = m.dependencies();
  std::stable_sort(deps.begin(), deps.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const Module*> subs;
  std::function<void(const std::shared_ptr<Trackable>&)> leaf = [&](const std::shared_ptr<Trackable>& child) {
    if (!seen.insert(child.get()).second) return;
    if (auto* ds = dynamic_cast<const TrackableDataStructure*>(child.get())) {
      for (const auto& e : ds->elements()) leaf(e);
      return;
    }
    visit(child);
    if (auto* sm = dynamic_cast<const Module*>(child.get())) subs.push_back(sm);
  };
  for (const auto& dep : deps) leaf(dep.second);
  for (const Module* sm : subs) flatten(*sm, visit, seen);
}

}  // namespace

Module::Module() : outer_scope_(current_name_scope()) {}

Module::Module(std::string name) : name_(std::move(name)), outer_scope_(current_name_scope()) {
  EMBER_CHECK(valid_module_name(name_), InvalidArgument, "[Module] '", name_,
              "' is not a valid module name. Module names must be valid Python 3 identifiers.");
}

const std::string& Module::name() const {
  if (name_.empty()) {
    // The class name, demangled, without namespaces or template arguments.
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(
        abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status), std::free);
    std::string full = status == 0 && demangled ? demangled.get() : typeid(*this).name();
    full = full.substr(0, full.find('<'));
    if (auto colon = full.rfind("::"); colon != std::string::npos) full = full.substr(colon + 2);
    std::string snake = camel_to_snake(full);
    name_ = valid_module_name(snake) ? snake : "module";
  }
  return name_;
}

std::string camel_to_snake(const std::string& name) {
  // re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name).lower()
  std::string out;
  auto lower = [](char c) { return std::islower(static_cast<unsigned char>(c)) != 0; };
  auto upper = [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; };
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (upper(c) && i > 0 &&
        (lower(name[i - 1]) || digit(name[i - 1]) || (i + 1 < name.size() && lower(name[i + 1]))))
      out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<Variable> Module::variables() const {
  std::vector<Variable> out;
  std::set<const Trackable*> seen{this};
  flatten(
      *this,
      [&](const std::shared_ptr<Trackable>& t) {
        if (auto* v = dynamic_cast<TrackableVariable*>(t.get())) out.push_back(v->variable());
      },
      seen);
  return out;
}

std::vector<Variable> Module::trainable_variables() const {
  std::vector<Variable> out;
  for (auto& v : variables())
    if (v.trainable()) out.push_back(v);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::submodules() const {
  std::vector<std::shared_ptr<Module>> out;
  std::set<const Trackable*> seen{this};
  flatten(
      *this,
      [&](const std::shared_ptr<Trackable>& t) {
        if (auto m = std::dynamic_pointer_cast<Module>(t)) out.push_back(m);
      },
      seen);
  return out;
}

}  // namespace ember
