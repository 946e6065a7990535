// SavedModel: tf.saved_model.save and load, in TensorFlow's format both
// ways (FUNCTIONS.md "SavedModel").
//
// A saved model is a directory: `saved_model.pb` (a SavedModel with one
// MetaGraphDef tagged "serve": every saved concrete function as a
// FunctionDef, the signature defs, the object graph), `variables/` (a
// checkpoint of the root), `assets/` and `fingerprint.pb`. `save` writes it
// in a temporary directory beside the target and swaps it in with one
// rename, so a crash leaves the old model or the new one, never a mix.
//
// `load` needs none of the saving program's classes: it rebuilds the object
// tree as LoadedObjects (variables and functions as children), restores the
// variables, and imports every saved function into an ember graph
// (serialization/graph_import.h), so it runs through the executor on any
// device. An op ember lacks is Unimplemented at load time, naming the op and
// the function.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graph/function.h"
#include "state/trackable.h"

namespace ember::saved_model {

struct SaveOptions {
  /// Signature defs by key ("serving_default"): concrete functions whose
  /// arguments are all tensors. Empty: where the root tracks exactly one
  /// function with exactly one trace, that trace is "serving_default".
  std::map<std::string, ConcreteFunction> signatures = {};
};

/// Writes `root` (its variables and every traced function it tracks,
/// Trackable::track(name, function)) to directory `dir`, replacing what is
/// there. A function with an input signature is traced now if it has not
/// been; one without contributes each trace it has. InvalidArgument when a
/// function reads a variable that `root` does not track, Unimplemented for
/// what the format cannot hold here (a baked argument of a user type, a
/// variable argument, a hash table).
void save(const std::shared_ptr<Trackable>& root, const std::string& dir, const SaveOptions& options = {});

/// A saved function: its concrete functions, tried in order.
class LoadedFunction : public Trackable {
 public:
  LoadedFunction(std::string name, std::vector<ConcreteFunction> traces, std::vector<std::string> descriptions);
  bool saved_model_only() const override { return true; }
  /// Calls the first trace whose tensor arguments the tensors fit (dtype and
  /// every known dimension); InvalidArgument listing the traces otherwise.
  std::vector<Tensor> call(std::span<const Tensor> args) const;
  template <typename... T>
  std::vector<Tensor> operator()(const T&... args) const {
    std::vector<Tensor> v{Tensor(args)...};
    return call(v);
  }
  const std::vector<ConcreteFunction>& concrete_functions() const { return traces_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<ConcreteFunction> traces_;
  std::vector<std::string> descriptions_;  // each trace's positional arguments, as TensorFlow prints them
};

/// A signature: named tensors in, named tensors out.
class Signature {
 public:
  Signature() = default;
  Signature(ConcreteFunction f, std::vector<std::pair<std::string, TensorSpec>> inputs,
            std::vector<std::pair<std::string, TensorSpec>> outputs)
      : f_(std::move(f)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {}
  /// InvalidArgument for a missing or unexpected input, or one that does not fit its spec.
  std::map<std::string, Tensor> operator()(const std::map<std::string, Tensor>& inputs) const;
  const std::vector<std::pair<std::string, TensorSpec>>& inputs() const { return inputs_; }
  const std::vector<std::pair<std::string, TensorSpec>>& outputs() const { return outputs_; }
  const ConcreteFunction& function() const { return f_; }

 private:
  ConcreteFunction f_;
  std::vector<std::pair<std::string, TensorSpec>> inputs_, outputs_;
};

/// An object of a loaded model (TensorFlow's _UserObject): its children are
/// its dependencies as saved.
class LoadedObject : public AutoTrackable {
 public:
  explicit LoadedObject(std::string identifier) : identifier_(std::move(identifier)) {}
  /// The function child `name` (NotFound listing the children).
  const LoadedFunction& function(const std::string& name) const;
  /// The object child `name`.
  std::shared_ptr<LoadedObject> child(const std::string& name) const;
  /// The variable child `name`.
  Variable variable(const std::string& name) const;
  /// Every variable reachable from this object, each once, breadth first.
  std::vector<Variable> variables() const;
  /// Calls the child `__call__`, as a loaded Python object is called.
  template <typename... T>
  std::vector<Tensor> operator()(const T&... args) const {
    return function("__call__")(args...);
  }
  /// "_generic_user_object" for a user's object.
  const std::string& identifier() const { return identifier_; }

 private:
  std::shared_ptr<Trackable> dependency(const std::string& name, const char* kind) const;
  std::string identifier_;
};

/// What `load` returns: the root object and the signatures.
class Loaded {
 public:
  Loaded(std::shared_ptr<LoadedObject> root, std::map<std::string, Signature> signatures)
      : root_(std::move(root)), signatures_(std::move(signatures)) {}
  const LoadedObject& operator*() const { return *root_; }
  const LoadedObject* operator->() const { return root_.get(); }
  std::shared_ptr<LoadedObject> root() const { return root_; }
  const LoadedFunction& function(const std::string& name) const { return root_->function(name); }
  /// The signature `key` (NotFound listing the keys).
  const Signature& signature(const std::string& key) const;
  const std::map<std::string, Signature>& signatures() const { return signatures_; }
  std::vector<Variable> variables() const { return root_->variables(); }
  template <typename... T>
  std::vector<Tensor> operator()(const T&... args) const {
    return (*root_)(args...);
  }

 private:
  std::shared_ptr<LoadedObject> root_;
  std::map<std::string, Signature> signatures_;
};

/// Loads the SavedModel in `dir` (its "serve" meta graph). Each load makes
/// its own variables. NotFound for a missing file, DataLoss for one that
/// does not parse, Unimplemented for an op or object ember cannot run.
Loaded load(const std::string& dir);

/// `saved_model_cli show --all`: the tags, each signature with its inputs
/// and outputs, the saved functions with their traces, the object tree.
std::string describe(const std::string& dir);

}  // namespace ember::saved_model
