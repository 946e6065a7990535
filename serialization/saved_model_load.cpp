// Loading a SavedModel: the object graph revived as LoadedObjects, the
// traces imported as concrete functions, the variables restored.
#include "serialization/saved_model.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <set>

#include "saved_model.pb.h"
#include "serialization/bundle.h"
#include "serialization/checkpoint.h"
#include "serialization/graph_import.h"
#include "serialization/saved_model_internal.h"
#include "serialization/tf_proto.h"

namespace ember::saved_model {
namespace {

using namespace detail;  // NOLINT: this module's shared vocabulary
namespace tf = tensorflow;
namespace fs = std::filesystem;
using ember::detail::CallArg;

using tfproto::shape_of;

// ---- loading ---------------------------------------------------------------------------------

// Output structure ('%' per tensor) of a saved output signature; dicts flatten in key order.
void output_structure(const tf::StructuredValue& v, std::string& out, const std::string& what) {
  switch (v.kind_case()) {
    case tf::StructuredValue::kNoneValue: out += "None"; return;
    case tf::StructuredValue::kTensorSpecValue: out += "%"; return;
    case tf::StructuredValue::kListValue:
    case tf::StructuredValue::kTupleValue: {
      bool list = v.has_list_value();
      const auto& vals = list ? v.list_value().values() : v.tuple_value().values();
      out += list ? "[" : "(";
      for (int i = 0; i < vals.size(); ++i) {
        if (i) out += ", ";
        output_structure(vals[i], out, what);
      }
      out += list ? "]" : (vals.size() == 1 ? ",)" : ")");
      return;
    }
    case tf::StructuredValue::kDictValue: {
      // {'key': value, ...} in key order, as ember's map results; keys ember's
      // structures cannot spell make it a list in that order.
      std::map<std::string, const tf::StructuredValue*> sorted;
      bool plain = true;
      for (const auto& [k, e] : v.dict_value().fields()) {
        sorted[k] = &e;
        plain &= k.find_first_of("'%\\") == std::string::npos;
      }
      out += plain ? "{" : "[";
      bool first = true;
      for (const auto& [k, e] : sorted) {
        if (!first) out += ", ";
        first = false;
        if (plain) out += "'" + k + "': ";
        output_structure(*e, out, what);
      }
      out += plain ? "}" : "]";
      return;
    }
    default: throw Unimplemented(what + ": an output that is not a tensor, a sequence or a dict of them");
  }
}

// The tensor specs of a canonicalized input signature: positional, then keyword (by key).
struct InputSignature {
  std::vector<TensorSpec> specs;
  std::vector<std::string> keywords;  // the keyword arguments' names, in order
  std::vector<std::string> positional_repr;
};

void collect_specs(const tf::StructuredValue& v, std::vector<TensorSpec>& specs, const std::string& what) {
  switch (v.kind_case()) {
    case tf::StructuredValue::kTensorSpecValue: {
      DType d;
      if (!bundle::from_tf_dtype(v.tensor_spec_value().dtype(), d))
        throw Unimplemented(what + ": an argument of dtype " + bundle::tf_dtype_name(v.tensor_spec_value().dtype()));
      specs.emplace_back(shape_of(v.tensor_spec_value().shape()), d, v.tensor_spec_value().name());
      return;
    }
    case tf::StructuredValue::kListValue:
      for (const auto& e : v.list_value().values()) collect_specs(e, specs, what);
      return;
    case tf::StructuredValue::kTupleValue:
      for (const auto& e : v.tuple_value().values()) collect_specs(e, specs, what);
      return;
    case tf::StructuredValue::kDictValue: {
      std::map<std::string, const tf::StructuredValue*> sorted;
      for (const auto& [k, e] : v.dict_value().fields()) sorted[k] = &e;
      for (const auto& [k, e] : sorted) collect_specs(*e, specs, what);
      return;
    }
    case tf::StructuredValue::kTypeSpecValue:
      throw Unimplemented(what + ": an argument of a composite type (" + v.type_spec_value().type_spec_class_name() + ")");
    default: return;  // a Python value baked into the trace
  }
}

InputSignature input_signature(const tf::StructuredValue& v, const std::string& what) {
  InputSignature s;
  EMBER_CHECK(v.has_tuple_value() && v.tuple_value().values_size() == 2, DataLoss, what,
              ": its input signature is not (args, kwargs)");
  const auto& args = v.tuple_value().values(0);
  const auto& kwargs = v.tuple_value().values(1);
  collect_specs(args, s.specs, what);
  collect_specs(kwargs, s.specs, what);
  if (args.has_tuple_value())
    for (const auto& a : args.tuple_value().values()) s.positional_repr.push_back(python_repr(a));
  if (kwargs.has_dict_value()) {
    std::map<std::string, int> sorted;
    for (const auto& [k, e] : kwargs.dict_value().fields()) sorted[k] = 0;
    for (const auto& [k, e] : sorted) s.keywords.push_back(k);
  }
  return s;
}

}  // namespace

LoadedFunction::LoadedFunction(std::string name, std::vector<ConcreteFunction> traces, std::vector<std::string> descriptions)
    : name_(std::move(name)), traces_(std::move(traces)), descriptions_(std::move(descriptions)) {}

std::vector<Tensor> LoadedFunction::call(std::span<const Tensor> args) const {
  for (const ConcreteFunction& cf : traces_) {
    bool tensors_only = true;
    for (const CallArg& a : cf.arguments()) tensors_only &= a.kind == CallArg::Kind::Spec;
    if (!tensors_only) continue;
    std::vector<TensorSpec> specs = cf.input_specs();
    if (specs.size() != args.size()) continue;
    bool fits = true;
    for (size_t i = 0; i < specs.size() && fits; ++i) fits = args[i].defined() && specs[i].fits(args[i].dtype(), args[i].shape());
    if (fits) return cf.call(args);
  }
  std::vector<std::string> got;
  for (const Tensor& t : args)
    got.push_back(t.defined() ? "Tensor(shape=" + t.shape().to_string() + ", dtype=" + std::string(dtype_name(t.dtype())) + ")" : "None");
  std::string msg = "Could not find matching concrete function to call loaded from the SavedModel. Got:\n  " +
                    describe_spec_list(got) + "\n  Keyword arguments: {}\n\n Expected these arguments to match one of the following " +
                    std::to_string(traces_.size()) + " option(s):";
  for (size_t i = 0; i < descriptions_.size(); ++i) msg += "\n\nOption " + std::to_string(i + 1) + ":\n  " + descriptions_[i];
  throw InvalidArgument(msg);
}

std::map<std::string, Tensor> Signature::operator()(const std::map<std::string, Tensor>& inputs) const {
  std::vector<Tensor> flat;
  for (const auto& [key, spec] : inputs_) {
    auto it = inputs.find(key);
    EMBER_CHECK(it != inputs.end(), InvalidArgument, "[saved_model] signature ", f_.name(), ": missing input '", key,
                "' (", spec.to_string(), ")");
    const Tensor& t = it->second;
    EMBER_CHECK(t.defined() && spec.fits(t.dtype(), t.shape()), InvalidArgument, "[saved_model] signature ", f_.name(),
                ": input '", key, "' is ", t.defined() ? std::string(dtype_name(t.dtype())) + " " + t.shape().to_string() : "undefined",
                "; it takes ", spec.to_string());
    flat.push_back(t);
  }
  for (const auto& [key, t] : inputs) {
    bool known = false;
    for (const auto& [k, s] : inputs_) known |= k == key;
    if (!known) {
      std::string names;
      for (const auto& [k, s] : inputs_) names += (names.empty() ? "'" : ", '") + k + "'";
      throw InvalidArgument("[saved_model] signature " + f_.name() + ": unexpected input '" + key + "' (it takes " + names + ")");
    }
  }
  std::vector<Tensor> out = f_.call(flat);
  std::map<std::string, Tensor> result;
  for (size_t i = 0; i < outputs_.size(); ++i) result[outputs_[i].first] = out.at(i);
  return result;
}

std::shared_ptr<Trackable> LoadedObject::dependency(const std::string& name, const char* kind) const {
  auto d = lookup_dependency(name);
  if (!d) {
    std::string names;
    for (const auto& [n, c] : dependencies()) names += (names.empty() ? "'" : ", '") + n + "'";
    throw NotFound("[saved_model] the loaded object has no " + std::string(kind) + " '" + name + "' (its children: " +
                   (names.empty() ? "none" : names) + ")");
  }
  return d;
}

const LoadedFunction& LoadedObject::function(const std::string& name) const {
  auto f = std::dynamic_pointer_cast<LoadedFunction>(dependency(name, "function"));
  EMBER_CHECK(f != nullptr, InvalidArgument, "[saved_model] the loaded object's child '", name, "' is not a function");
  return *f;
}

std::shared_ptr<LoadedObject> LoadedObject::child(const std::string& name) const {
  auto c = std::dynamic_pointer_cast<LoadedObject>(dependency(name, "object"));
  EMBER_CHECK(c != nullptr, InvalidArgument, "[saved_model] the loaded object's child '", name, "' is not an object");
  return c;
}

Variable LoadedObject::variable(const std::string& name) const {
  auto v = std::dynamic_pointer_cast<TrackableVariable>(dependency(name, "variable"));
  EMBER_CHECK(v != nullptr, InvalidArgument, "[saved_model] the loaded object's child '", name, "' is not a variable");
  return v->variable();
}

std::vector<Variable> LoadedObject::variables() const {
  std::vector<Variable> out;
  std::set<const Trackable*> seen{this};
  std::deque<const Trackable*> q{this};
  while (!q.empty()) {
    const Trackable* t = q.front();
    q.pop_front();
    for (const auto& [name, c] : t->dependencies()) {
      if (!seen.insert(c.get()).second) continue;
      if (auto* v = dynamic_cast<const TrackableVariable*>(c.get())) out.push_back(v->variable());
      q.push_back(c.get());
    }
  }
  return out;
}

const Signature& Loaded::signature(const std::string& key) const {
  auto it = signatures_.find(key);
  if (it == signatures_.end()) {
    std::string keys;
    for (const auto& [k, s] : signatures_) keys += (keys.empty() ? "'" : ", '") + k + "'";
    throw NotFound("[saved_model] no signature '" + key + "' (the model has " + (keys.empty() ? "none" : keys) + ")");
  }
  return it->second;
}

Loaded load(const std::string& named) {
  const std::string dir = model_dir(named);
  ModelFile file = read_model(dir);
  const tf::MetaGraphDef& meta = *file.meta;
  const auto& objects = meta.object_graph_def();
  const std::string where = "[saved_model] " + dir;
  FunctionImporter importer(meta.graph_def().library(), where);

  // The objects, then their children.
  std::vector<std::shared_ptr<Trackable>> made(static_cast<size_t>(objects.nodes_size()));
  std::vector<Tensor> handles(static_cast<size_t>(objects.nodes_size()));
  NameScope top("", /*absolute=*/true);
  for (int i = 0; i < objects.nodes_size(); ++i) {
    const tf::SavedObject& o = objects.nodes(i);
    const std::string what = where + ": object " + std::to_string(i);
    switch (o.kind_case()) {
      case tf::SavedObject::kUserObject: made[static_cast<size_t>(i)] = std::make_shared<LoadedObject>(o.user_object().identifier()); break;
      case tf::SavedObject::kVariable: {
        const auto& sv = o.variable();
        DType d;
        EMBER_CHECK(bundle::from_tf_dtype(sv.dtype(), d) && d != resource && d != variant, Unimplemented, what,
                    ": a variable of dtype ", bundle::tf_dtype_name(sv.dtype()));
        TensorShape shape = shape_of(sv.shape());
        EMBER_CHECK(shape.is_fully_defined(), Unimplemented, what, ": variable '", sv.name(), "' has shape ",
                    shape.to_string(), "; ember's variables have known shapes");
        int64_t elements = 1;
        for (int64_t dim : shape.dims()) {
          constexpr int64_t kMax = int64_t{1} << 40;
          EMBER_CHECK(dim >= 0 && (dim == 0 || elements <= kMax / dim), DataLoss, what, ": variable '", sv.name(),
                      "' of shape ", shape.to_string(), " is too large");
          elements *= dim;
        }
        Variable v(zeros(shape, d), {.name = sv.name().empty() ? "Variable" : sv.name(), .trainable = sv.trainable()});
        made[static_cast<size_t>(i)] = trackable_of(v);
        handles[static_cast<size_t>(i)] = v.handle();
        break;
      }
      case tf::SavedObject::kFunction:
      case tf::SavedObject::kBareConcreteFunction: break;  // below, once the variables exist
      // A tensor one function captured from another's graph: Keras's swish
      // (tf.custom_gradient) writes them for its gradient function, which
      // no object names and ember never imports (it differentiates the ops).
      // No object: a function or an edge that needs one is refused below.
      case tf::SavedObject::kCapturedTensor: break;
      // A constant a function captures (Keras's Normalization with its mean
      // and variance given): the outer graph's Const node, bound to the
      // functions that capture it as their variables are.
      case tf::SavedObject::kConstant: {
        const std::string& op = o.constant().operation();
        const tf::NodeDef* node = nullptr;
        for (const tf::NodeDef& n : meta.graph_def().node())
          if (n.name() == op) node = &n;
        EMBER_CHECK(node != nullptr && node->op() == "Const" && node->attr().count("value"), DataLoss, what,
                    ": constant '", op, "' is no Const node of the graph");
        handles[static_cast<size_t>(i)] = tensor_from_proto(node->attr().at("value").tensor(), what + " ('" + op + "')");
        made[static_cast<size_t>(i)] = std::make_shared<LoadedObject>("constant");
        break;
      }
      default:
        throw Unimplemented(what + ": objects of this kind (" + std::to_string(o.kind_case()) +
                            ": an asset, a constant, a captured tensor or a resource) are not supported by ember's loader");
    }
  }

  // Every concrete function: imported once, bound to its variables.
  std::map<std::string, ConcreteFunction> imported;
  std::map<std::string, InputSignature> signatures_of;
  auto concrete = [&](const std::string& name) -> ConcreteFunction {
    auto done = imported.find(name);
    if (done != imported.end()) return done->second;
    auto it = objects.concrete_functions().find(name);
    EMBER_CHECK(it != objects.concrete_functions().end(), DataLoss, where, ": the object graph names concrete function '",
                name, "', which it does not describe");
    const tf::SavedConcreteFunction& saved = it->second;
    const std::string what = where + ": function '" + name + "'";
    importer.check(name);
    InputSignature sig = input_signature(saved.canonicalized_input_signature(), what);
    std::vector<Tensor> resources;
    for (int id : saved.bound_inputs()) {
      EMBER_CHECK(id < 0 || id >= objects.nodes_size() || !objects.nodes(id).has_captured_tensor(), Unimplemented, what,
                  ": bound input ", id, " is a tensor captured from another function's graph ('",
                  objects.nodes(id).captured_tensor().name(), "'), which ember's loader does not support");
      EMBER_CHECK(id >= 0 && id < objects.nodes_size() && handles[static_cast<size_t>(id)].defined(), DataLoss, what,
                  ": bound input ", id, " is not a variable or constant of the object graph");
      resources.push_back(handles[static_cast<size_t>(id)]);
    }
    std::string structure;
    output_structure(saved.output_signature(), structure, what);
    ConcreteFunction cf = importer.import(name, sig.specs, resources, structure);
    signatures_of[name] = sig;
    imported[name] = cf;
    return cf;
  };
  auto description = [&](const std::string& name) {
    const InputSignature& s = signatures_of.at(name);
    return describe_spec_list(s.positional_repr) + "\n  Keyword arguments: " +
           python_repr(objects.concrete_functions().at(name).canonicalized_input_signature().tuple_value().values(1));
  };
  for (int i = 0; i < objects.nodes_size(); ++i) {
    const tf::SavedObject& o = objects.nodes(i);
    std::vector<std::string> names;
    if (o.has_function()) names.assign(o.function().concrete_functions().begin(), o.function().concrete_functions().end());
    else if (o.has_bare_concrete_function()) names.push_back(o.bare_concrete_function().concrete_function_name());
    else continue;
    std::vector<ConcreteFunction> traces;
    std::vector<std::string> descriptions;
    for (const std::string& n : names) {
      traces.push_back(concrete(n));
      descriptions.push_back(description(n));
    }
    made[static_cast<size_t>(i)] = std::make_shared<LoadedFunction>(names.empty() ? "" : names[0], traces, descriptions);
  }
  // The object graph's edges. TensorFlow allows cycles (a child naming its
  // parent): an edge back to an object on the path from the root is a back
  // reference, so the objects are freed with the root. (Found depth first
  // from the root, without recursion: a graph may be deep.)
  {
    const size_t count = static_cast<size_t>(objects.nodes_size());
    enum class Mark : uint8_t { New, OnPath, Done };
    std::vector<Mark> mark(count, Mark::New);
    std::vector<std::pair<int, int>> stack = {{0, 0}};  // node, next child
    mark[0] = Mark::OnPath;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& children = objects.nodes(node).children();
      if (next == children.size()) {
        mark[static_cast<size_t>(node)] = Mark::Done;
        stack.pop_back();
        continue;
      }
      const auto& c = children.Get(next++);
      Trackable& parent = *made[static_cast<size_t>(node)];
      const size_t child = static_cast<size_t>(c.node_id());
      EMBER_CHECK(made[child] != nullptr, Unimplemented, where, ": object ", child, " ('", c.local_name(),
                  "' of object ", node, ") is a captured tensor, which ember's loader does not support as an object");
      if (mark[child] == Mark::OnPath) {
        parent.track_back_reference(c.local_name(), made[child]);
        continue;
      }
      parent.track(c.local_name(), made[child]);
      if (mark[child] == Mark::New) {
        mark[child] = Mark::OnPath;
        stack.emplace_back(static_cast<int>(child), 0);
      }
    }
    // (Objects the root does not reach are left unlinked: nothing can reach them.)
  }
  auto root = std::dynamic_pointer_cast<LoadedObject>(made[0]);
  EMBER_CHECK(root != nullptr, Unimplemented, where, ": the root object is not a user object");

  // The variables' values.
  const std::string prefix = (fs::path(dir) / "variables" / "variables").string();
  Checkpoint::of_object(root).restore(prefix).assert_existing_objects_matched();

  // Signatures: the signature map's functions, with the SignatureDefs' names.
  std::map<std::string, Signature> signatures;
  if (auto map = std::dynamic_pointer_cast<LoadedObject>(root->lookup_dependency("signatures"));
      map && map->identifier() == kSignatureMap) {
    for (const auto& [key, child] : map->dependencies()) {
      auto fn = std::dynamic_pointer_cast<LoadedFunction>(child);
      if (!fn || fn->concrete_functions().size() != 1) continue;
      const ConcreteFunction& cf = fn->concrete_functions()[0];
      const InputSignature& sig = signatures_of.at(fn->name());
      std::vector<std::pair<std::string, TensorSpec>> ins, outs;
      std::vector<TensorSpec> specs = cf.input_specs();
      for (size_t i = 0; i < specs.size(); ++i)
        ins.emplace_back(i < sig.keywords.size() ? sig.keywords[i] : specs[i].name, specs[i]);
      const auto& out_sig = objects.concrete_functions().at(fn->name()).output_signature();
      std::vector<std::string> out_keys;
      if (out_sig.has_dict_value()) {
        for (const auto& [k, v] : out_sig.dict_value().fields()) out_keys.push_back(k);
        std::sort(out_keys.begin(), out_keys.end());
      }
      for (size_t i = 0; i < cf.num_outputs(); ++i) {
        const OutputSpec& s = cf.graph().spec(cf.graph().outputs[i]);
        std::string k = i < out_keys.size() ? out_keys[i] : "output_" + std::to_string(i);
        outs.emplace_back(k, TensorSpec(s.shape, s.dtype, k));
      }
      signatures.emplace(key, Signature(cf, ins, outs));
    }
  }
  return Loaded(root, std::move(signatures));
}

}  // namespace ember::saved_model
