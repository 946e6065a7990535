// Module: tf.Module. An AutoTrackable with a name and a name scope that
// collects its variables and submodules by walking its attributes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "state/trackable.h"

namespace ember {

class Module : public AutoTrackable {
 public:
  /// Without a name, a module takes its class's name in snake_case, as
  /// tf.Module does (`struct Dense : Module` is "dense", `MLPBlock`
  /// "mlp_block"; a plain Module is "module").
  Module();
  /// `name` must be a valid Python identifier, as tf.Module requires; the
  /// scope nests in the current one (a Module("dense") made inside scope
  /// "outer" has scope "outer/dense/").
  explicit Module(std::string name);

  const std::string& name() const;
  /// "outer/dense/": what variables made in this module's scope are prefixed with.
  std::string scope_name() const { return scope() + "/"; }
  /// Enters the module's scope while alive: `auto s = name_scope();`.
  [[nodiscard]] NameScope name_scope() const { return NameScope(scope(), /*absolute=*/true); }
  /// Runs `f` inside the module's scope (tf.Module.with_name_scope).
  template <typename F>
  auto with_name_scope(F&& f) const {
    NameScope s(scope(), /*absolute=*/true);
    return f();
  }

  /// Every variable of this module and its submodules: own attributes in
  /// name order, then each submodule's, as tf.Module does; no duplicates.
  std::vector<Variable> variables() const;
  std::vector<Variable> trainable_variables() const;
  /// Every module below this one, in tf.Module's order.
  std::vector<std::shared_ptr<Module>> submodules() const;

 private:
  std::string scope() const { return outer_scope_ + name(); }

  // A name derived from the class is found on first use: the constructor
  // cannot see the derived type.
  mutable std::string name_;
  std::string outer_scope_;  // the name scope the module was made in
};

/// TensorFlow's camel_to_snake: "Dense" -> "dense", "MLPBlock" -> "mlp_block".
std::string camel_to_snake(const std::string& name);

}  // namespace ember
