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
  /// `name` must be a valid Python identifier, as tf.Module requires; the scope nests in the current one
  /// (a Module("dense") made inside scope "outer" has scope "outer/dense/").
  explicit Module(std::string name = "module");

  const std::string& name() const { return name_; }
  /// "outer/dense/": what variables made in this module's scope are prefixed with.
  std::string scope_name() const { return scope_ + "/"; }
  /// Enters the module's scope while alive: `auto s = name_scope();`.
  [[nodiscard]] NameScope name_scope() const { return NameScope(scope_, /*absolute=*/true); }
  /// Runs `f` inside the module's scope (tf.Module.with_name_scope).
  template <typename F>
  auto with_name_scope(F&& f) const {
    NameScope s(scope_, /*absolute=*/true);
    return f();
  }

  /// Every variable of this module and its submodules: own attributes in
  /// name order, then each submodule's, as tf.Module does; no duplicates.
  std::vector<Variable> variables() const;
  std::vector<Variable> trainable_variables() const;
  /// Every module below this one, in tf.Module's order.
  std::vector<std::shared_ptr<Module>> submodules() const;

 private:
  std::string name_;
  std::string scope_;
};

}  // namespace ember
