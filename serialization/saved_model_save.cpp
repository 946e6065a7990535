// Saving a SavedModel: the object graph, the traces as FunctionDefs,
// signatures, the graph-mode saver, and the files (saved_model.h).
#include "serialization/saved_model.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "saved_model.pb.h"
#include "serialization/checkpoint.h"
#include "serialization/file_ops.h"
#include "serialization/graph_def.h"
#include "serialization/saved_model_internal.h"
#include "serialization/tf_proto.h"
#include "state/hash_table.h"

namespace ember::saved_model {
namespace {

using namespace detail;  // NOLINT: this module's shared vocabulary
namespace tf = tensorflow;
namespace fs = std::filesystem;
using ember::detail::CallArg;

using tfproto::arg_name;
using tfproto::set_shape;
tf::DataType tf_type(DType t) { return tfproto::data_type(t); }

// A FunctionDef name's part from a function's name: letters, digits, '_'.
std::string name_part(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// ---- StructuredValue ---------------------------------------------------------------------

tf::StructuredValue none_value() {
  tf::StructuredValue v;
  v.mutable_none_value();
  return v;
}

tf::StructuredValue spec_value(const TensorSpec& s) {
  tf::StructuredValue v;
  auto* t = v.mutable_tensor_spec_value();
  t->set_name(s.name);
  set_shape(t->mutable_shape(), s.shape);
  t->set_dtype(tf_type(s.dtype));
  return v;
}

tf::StructuredValue baked_value(const BakedValue& b, const std::string& what) {
  tf::StructuredValue v;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          v.mutable_none_value();
        } else if constexpr (std::is_same_v<T, bool>) {
          v.set_bool_value(x);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          v.set_int64_value(x);
        } else if constexpr (std::is_same_v<T, double>) {
          v.set_float64_value(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          v.set_string_value(x);
        } else if constexpr (std::is_same_v<T, BakedValue::List>) {
          auto* l = v.mutable_list_value();
          for (const BakedValue& e : x) *l->add_values() = baked_value(e, what);
        } else if constexpr (std::is_same_v<T, BakedValue::Map>) {
          auto* d = v.mutable_dict_value()->mutable_fields();
          for (const auto& [k, e] : x) (*d)[k] = baked_value(e, what);
        } else {
          throw Unimplemented(what + ": an argument of a C++ user type cannot be saved in a SavedModel");
        }
      },
      b.v);
  return v;
}

tf::StructuredValue string_list(const std::vector<std::string>& names) {
  tf::StructuredValue v;
  auto* l = v.mutable_list_value();
  for (const std::string& n : names) l->add_values()->set_string_value(n);
  return v;
}

// Python's inspect.FullArgSpec, as a SavedModel stores it.
tf::StructuredValue full_arg_spec(const std::vector<std::string>& args, const std::vector<std::string>& kwonly) {
  tf::StructuredValue v;
  auto* nt = v.mutable_named_tuple_value();
  nt->set_name("FullArgSpec");
  auto add = [&](const char* key, tf::StructuredValue value) {
    auto* p = nt->add_values();
    p->set_key(key);
    *p->mutable_value() = std::move(value);
  };
  add("args", string_list(args));
  add("varargs", none_value());
  add("varkw", none_value());
  add("defaults", none_value());
  add("kwonlyargs", string_list(kwonly));
  add("kwonlydefaults", none_value());
  tf::StructuredValue annotations;
  annotations.mutable_dict_value();
  add("annotations", annotations);
  return v;
}

// ember's result structure ('%' per tensor, [..] and (..)) as a StructuredValue.
tf::StructuredValue output_value(const std::string& structure, const std::vector<TensorSpec>& specs, size_t& pos,
                                 size_t& next) {
  auto skip_separator = [&] {
    if (pos < structure.size() && structure[pos] == ',') pos += (pos + 1 < structure.size() && structure[pos + 1] == ' ') ? 2 : 1;
  };
  if (structure.compare(pos, 4, "None") == 0) {
    pos += 4;
    return none_value();
  }
  char c = structure[pos];
  if (c == '%') {
    ++pos;
    return spec_value(specs[next++]);
  }
  tf::StructuredValue v;
  if (c == '{') {  // {'key': value, ...}
    auto* fields = v.mutable_dict_value()->mutable_fields();
    ++pos;
    while (pos < structure.size() && structure[pos] != '}') {
      size_t end = structure.find('\'', pos + 1);
      std::string key = structure.substr(pos + 1, end - pos - 1);
      pos = end + 3;
      (*fields)[key] = output_value(structure, specs, pos, next);
      skip_separator();
    }
    ++pos;
    return v;
  }
  const char close = c == '[' ? ']' : ')';
  auto* values = c == '[' ? v.mutable_list_value()->mutable_values() : v.mutable_tuple_value()->mutable_values();
  ++pos;
  while (pos < structure.size() && structure[pos] != close) {
    *values->Add() = output_value(structure, specs, pos, next);
    skip_separator();
  }
  ++pos;
  return v;
}

// ---- saving ----------------------------------------------------------------------------------

struct SaveNode {
  std::shared_ptr<Trackable> obj;
  std::string name;  // the local name it was first reached by
  std::string path;  // its checkpoint path (escaped names joined by '/'; a slot's: TensorFlow's .OPTIMIZER_SLOT path); empty for the root
  std::vector<std::pair<std::string, int>> children;
};

// A variable as the graph-mode saver sees it: its VarHandleOp node and checkpoint key.
struct GraphVariable {
  std::string node, key;
  Variable variable;
};

// A function node's traces and argument names.
struct SavedFunctionInfo {
  std::vector<ConcreteFunction> traces;
  std::optional<std::vector<TensorSpec>> input_signature;
  std::vector<std::string> arg_names;
};

std::optional<SavedFunctionInfo> function_info(const Trackable& obj) {
  if (const auto* f = dynamic_cast<const TrackedFunction*>(&obj))
    return SavedFunctionInfo{f->concrete_functions(), f->options().input_signature, f->options().arg_names};
  if (const auto* f = dynamic_cast<const LoadedFunction*>(&obj)) return SavedFunctionInfo{f->concrete_functions(), std::nullopt, {}};
  return std::nullopt;
}

__extension__ typedef unsigned __int128 Uint128;

std::string uuid_string() {
  std::random_device rd;
  Uint128 v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 32) | rd();
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return s;
}

// FNV-1a (TensorFlow's fingerprints use FarmHash; TensorFlow reads them without checking).
uint64_t fingerprint64(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A signature's output names: the keys of a result that is a map of
// tensors (flattened in key order), else "output_<i>" per tensor.
std::vector<std::string> output_keys(const ConcreteFunction& cf) {
  std::vector<TensorSpec> specs;
  for (NodeOutput o : cf.graph().outputs) specs.emplace_back(cf.graph().spec(o).shape, cf.graph().spec(o).dtype);
  size_t pos = 0, next = 0;
  tf::StructuredValue v = output_value(cf.output_structure(), specs, pos, next);
  std::vector<std::string> keys;
  if (v.has_dict_value()) {
    for (const auto& [k, e] : v.dict_value().fields())
      if (e.has_tensor_spec_value()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    if (keys.size() == cf.num_outputs()) return keys;
    keys.clear();
  }
  for (size_t i = 0; i < cf.num_outputs(); ++i) keys.push_back("output_" + std::to_string(i));
  return keys;
}

// TensorFlow's graph-mode save and restore functions of `vars` (what a
// SaverDef runs): `file_prefix`, then a resource per variable; SaveV2 or
// RestoreV2 of their checkpoint keys; the prefix returned.
tf::FunctionDef saver_function(const std::string& name, const std::vector<GraphVariable>& vars, bool save) {
  tf::FunctionDef f;
  auto* sig = f.mutable_signature();
  sig->set_name(name);
  sig->set_is_stateful(true);
  auto* prefix = sig->add_input_arg();
  prefix->set_name("file_prefix");
  prefix->set_type(tf::DT_STRING);
  std::vector<std::string> keys, slices(vars.size());
  tf::AttrValue dtypes;
  for (size_t k = 0; k < vars.size(); ++k) {
    auto* arg = sig->add_input_arg();
    arg->set_name("variable_" + std::to_string(k));
    arg->set_type(tf::DT_RESOURCE);
    auto* hd = arg->add_handle_data();
    hd->set_dtype(tf_type(vars[k].variable.dtype()));
    set_shape(hd->mutable_shape(), vars[k].variable.shape());
    keys.push_back(vars[k].key);
    dtypes.mutable_list()->add_type(tf_type(vars[k].variable.dtype()));
  }
  tf::NodeDef done;  // Identity(file_prefix), after the saves or restores
  done.set_name("Identity");
  done.set_op("Identity");
  done.add_input("file_prefix");
  (*done.mutable_attr())["T"].set_type(tf::DT_STRING);
  if (!vars.empty()) {
    const std::string op = save ? "SaveV2" : "RestoreV2";
    *f.add_node_def() = tfproto::string_const(op + "/tensor_names", keys);
    *f.add_node_def() = tfproto::string_const(op + "/shape_and_slices", slices);
    tf::NodeDef io;
    io.set_name(op);
    io.set_op(op);
    io.add_input("file_prefix");
    io.add_input(op + "/tensor_names:output:0");
    io.add_input(op + "/shape_and_slices:output:0");
    (*io.mutable_attr())["dtypes"] = dtypes;
    for (size_t k = 0; k < vars.size(); ++k) {
      tf::NodeDef v;
      v.set_name((save ? "ReadVariableOp_" : "AssignVariableOp_") + std::to_string(k));
      v.set_op(save ? "ReadVariableOp" : "AssignVariableOp");
      v.add_input("variable_" + std::to_string(k));
      if (!save) v.add_input("RestoreV2:tensors:" + std::to_string(k));
      (*v.mutable_attr())["dtype"].set_type(tf_type(vars[k].variable.dtype()));
      if (save) io.add_input(v.name() + ":value:0");
      else done.add_input("^" + v.name());
      *f.add_node_def() = v;
    }
    if (save) done.add_input("^SaveV2");
    *f.add_node_def() = io;
  }
  *f.add_node_def() = done;
  auto* out = sig->add_output_arg();
  out->set_name("identity");
  out->set_type(tf::DT_STRING);
  (*f.mutable_ret())["identity"] = "Identity:output:0";
  return f;
}

class Saver {
 public:
  Saver(const std::shared_ptr<Trackable>& root, const SaveOptions& options) : options_(options) { collect(root); }

  tf::SavedModel build();

 private:
  void collect(const std::shared_ptr<Trackable>& root);
  std::string save_trace(const ConcreteFunction& cf, const std::string& base);
  std::vector<int> bound_inputs(const ConcreteFunction& cf, const std::string& fname);
  void add_signature(const std::string& key, const ConcreteFunction& cf, int map_node);
  void add_saver(const std::vector<GraphVariable>& vars);

  const SaveOptions& options_;
  std::vector<SaveNode> nodes_;
  std::map<const Trackable*, int> ids_;
  std::map<const void*, int> variable_nodes_;  // VariableState -> node
  tf::MetaGraphDef meta_;
  std::unordered_set<std::string> library_done_;
  std::map<const void*, std::string> saved_traces_;  // ConcreteFunction impl -> FunctionDef name
  int next_uid_ = 0;
  std::map<const void*, std::string> var_handle_nodes_;  // VariableState -> VarHandleOp node in the graph
};

void Saver::collect(const std::shared_ptr<Trackable>& root) {
  nodes_.push_back({root, "", "", {}});
  ids_[root.get()] = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::shared_ptr<Trackable> obj = nodes_[i].obj;
    obj->check_saveable();
    if (dynamic_cast<const MutableHashTable*>(obj.get()))
      throw Unimplemented("[saved_model] a MutableHashTable cannot be saved in a SavedModel yet (checkpoints hold it)");
    // A function's children are its traces, which are written anew.
    if (dynamic_cast<const LoadedFunction*>(obj.get())) continue;
    for (const auto& [name, child] : obj->dependencies()) {
      // A loaded model's signature map: its signatures are saved anew (SaveOptions).
      if (auto* map = dynamic_cast<const LoadedObject*>(child.get()); i == 0 && map && map->identifier() == kSignatureMap)
        continue;
      auto it = ids_.find(child.get());
      int id;
      if (it != ids_.end()) {
        id = it->second;
      } else {
        id = static_cast<int>(nodes_.size());
        ids_[child.get()] = id;
        std::string esc = escape_checkpoint_name(name);
        nodes_.push_back({child, name, nodes_[i].path.empty() ? esc : nodes_[i].path + "/" + esc, {}});
      }
      nodes_[i].children.emplace_back(name, id);
    }
  }
  // Slot variables: nodes of their own, referenced from the optimizer only;
  // a slot whose variable is not saved is not saved (as in checkpoints).
  const size_t reached = nodes_.size();
  for (size_t i = 0; i < reached; ++i) {
    for (const SlotVariable& sv : nodes_[i].obj->slot_variables()) {
      auto original = ids_.find(trackable_of(sv.original).get());
      auto t = trackable_of(sv.slot);
      if (original == ids_.end() || ids_.count(t.get())) continue;
      ids_[t.get()] = static_cast<int>(nodes_.size());
      std::string key = nodes_[static_cast<size_t>(original->second)].path + "/.OPTIMIZER_SLOT/" + nodes_[i].path + "/" +
                        escape_checkpoint_name(sv.name);
      nodes_.push_back({t, sv.name, key, {}});
    }
  }
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (auto* v = dynamic_cast<const TrackableVariable*>(nodes_[i].obj.get()))
      variable_nodes_.emplace(v->variable().handle().impl()->resource.get(), static_cast<int>(i));
}

std::vector<int> Saver::bound_inputs(const ConcreteFunction& cf, const std::string& fname) {
  std::vector<int> out;
  for (const Tensor& t : cf.captured_inputs()) {
    if (t.dtype() != resource) continue;
    const void* state = t.impl()->resource.get();
    auto it = variable_nodes_.find(state);
    if (it == variable_nodes_.end()) {
      if (!std::dynamic_pointer_cast<VariableState>(t.impl()->resource))
        throw Unimplemented("[saved_model] function '" + fname + "' reads a resource that is not a variable");
      Variable v = Variable::from_handle(t);
      throw InvalidArgument("[saved_model] Tried to export a function which references an 'untracked' resource: "
                            "function '" + fname + "' reads variable '" + v.name() +
                            "', which the saved object does not track (track it, e.g. as a member)");
    }
    out.push_back(it->second);
  }
  return out;
}

std::string Saver::save_trace(const ConcreteFunction& cf, const std::string& base) {
  auto known = saved_traces_.find(&cf.graph());
  if (known != saved_traces_.end()) return known->second;
  std::string name = "__inference_" + name_part(base) + "_" + std::to_string(next_uid_++);
  add_saved_function(*meta_.mutable_graph_def()->mutable_library(), library_done_, cf.graph(), name);
  tf::SavedConcreteFunction saved;
  for (int id : bound_inputs(cf, base)) saved.add_bound_inputs(id);
  // ((positional...), {}): a spec per tensor, the value of each baked argument.
  tf::StructuredValue args;
  auto* pos = args.mutable_tuple_value()->add_values()->mutable_tuple_value();
  args.mutable_tuple_value()->add_values()->mutable_dict_value();
  std::vector<TensorSpec> specs = cf.input_specs();
  size_t next = 0;
  for (const CallArg& a : cf.arguments()) {
    if (a.kind == CallArg::Kind::Spec) {
      *pos->add_values() = spec_value(specs.at(next++));
    } else if (a.kind == CallArg::Kind::Value) {
      *pos->add_values() = baked_value(a.value, "[saved_model] function '" + base + "'");
    } else {
      throw Unimplemented("[saved_model] function '" + base + "' was traced with a Variable argument; "
                          "a SavedModel cannot hold that trace (read the variable inside the function)");
    }
  }
  *saved.mutable_canonicalized_input_signature() = args;
  std::vector<TensorSpec> out_specs;
  for (NodeOutput o : cf.graph().outputs) out_specs.emplace_back(cf.graph().spec(o).shape, cf.graph().spec(o).dtype, "output");
  size_t p = 0, k = 0;
  *saved.mutable_output_signature() = output_value(cf.output_structure(), out_specs, p, k);
  (*meta_.mutable_object_graph_def()->mutable_concrete_functions())[name] = saved;
  saved_traces_[&cf.graph()] = name;
  return name;
}

void Saver::add_signature(const std::string& key, const ConcreteFunction& cf, int map_node) {
  const std::string what = "[saved_model] signature '" + key + "'";
  for (const CallArg& a : cf.arguments())
    EMBER_CHECK(a.kind == CallArg::Kind::Spec, InvalidArgument, what,
                ": a signature's function takes tensors only; this trace has ", cf.structured_input_signature());
  std::string callee = save_trace(cf, cf.name());
  const tf::FunctionDef* callee_def = nullptr;
  for (const auto& f : meta_.graph_def().library().function())
    if (f.signature().name() == callee) callee_def = &f;
  EMBER_CHECK(callee_def != nullptr, Internal, what, ": no FunctionDef ", callee);

  // The wrapper: keyword inputs (its arguments' names), outputs "output_<i>" in sorted order.
  std::vector<TensorSpec> specs = cf.input_specs();
  std::vector<std::string> in_keys;
  std::set<std::string> used;
  for (const TensorSpec& s : specs) {
    std::string k = arg_name(s.name);
    for (int n = 1; !used.insert(k).second; ++n) k = arg_name(s.name) + "_" + std::to_string(n);
    in_keys.push_back(k);
  }
  // Output keys: a result that is a map of tensors keeps its keys; any
  // other result's tensors are "output_<i>".
  std::vector<std::string> out_keys = output_keys(cf);
  std::vector<size_t> sorted_out(out_keys.size());
  for (size_t i = 0; i < sorted_out.size(); ++i) sorted_out[i] = i;
  std::sort(sorted_out.begin(), sorted_out.end(), [&](size_t a, size_t b) { return out_keys[a] < out_keys[b]; });

  std::string wrapper = "__inference_signature_wrapper_" + name_part(key) + "_" + std::to_string(next_uid_++);
  tf::FunctionDef w;
  auto* sig = w.mutable_signature();
  sig->set_name(wrapper);
  sig->set_is_stateful(true);
  tf::NodeDef call;
  call.set_name("StatefulPartitionedCall");
  call.set_op("StatefulPartitionedCall");
  (*call.mutable_attr())["f"].mutable_func()->set_name(callee);
  auto* tin = (*call.mutable_attr())["Tin"].mutable_list();
  auto* tout = (*call.mutable_attr())["Tout"].mutable_list();
  // Its args: the keyword inputs in key order (as TensorFlow flattens a
  // dict), then the resources; the call passes them in the callee's order.
  std::vector<size_t> by_key(in_keys.size());
  for (size_t i = 0; i < by_key.size(); ++i) by_key[i] = i;
  std::sort(by_key.begin(), by_key.end(), [&](size_t a, size_t b) { return in_keys[a] < in_keys[b]; });
  for (size_t i : by_key) {
    auto* arg = sig->add_input_arg();
    *arg = callee_def->signature().input_arg(static_cast<int>(i));
    arg->set_name(in_keys[i]);
    auto& attrs = *(*w.mutable_arg_attr())[static_cast<uint32_t>(sig->input_arg_size() - 1)].mutable_attr();
    attrs["_user_specified_name"].set_s(in_keys[i]);
  }
  int resource_args = 0;
  for (int i = 0; i < callee_def->signature().input_arg_size(); ++i) {
    const auto& a = callee_def->signature().input_arg(i);
    if (a.type() == tf::DT_RESOURCE) {
      auto* arg = sig->add_input_arg();
      *arg = a;
      arg->set_name(resource_args ? "unknown_" + std::to_string(resource_args - 1) : "unknown");
      ++resource_args;
      call.add_input(arg->name());
    } else {
      call.add_input(in_keys.at(static_cast<size_t>(i)));
    }
    tin->add_type(a.type());
  }
  for (const auto& o : callee_def->signature().output_arg()) tout->add_type(o.type());
  *w.add_node_def() = call;
  std::set<std::string> out_args;
  for (size_t index : sorted_out) {
    std::string k = arg_name(out_keys[index]);  // a FunctionDef's names are lower case
    for (int n = 1; !out_args.insert(k).second; ++n) k = arg_name(out_keys[index]) + "_" + std::to_string(n);
    tf::NodeDef id;
    id.set_name("Identity_" + std::to_string(index));
    id.set_op("Identity");
    id.add_input("StatefulPartitionedCall:output:" + std::to_string(index));
    (*id.mutable_attr())["T"].set_type(callee_def->signature().output_arg(static_cast<int>(index)).type());
    *w.add_node_def() = id;
    auto* out = sig->add_output_arg();
    out->set_name(k);
    out->set_type(callee_def->signature().output_arg(static_cast<int>(index)).type());
    (*w.mutable_ret())[k] = id.name() + ":output:0";
  }
  *meta_.mutable_graph_def()->mutable_library()->add_function() = w;
  library_done_.insert(wrapper);

  tf::SavedConcreteFunction saved = meta_.object_graph_def().concrete_functions().at(callee);
  tf::StructuredValue args;
  args.mutable_tuple_value()->add_values()->mutable_tuple_value();
  auto* kw = args.mutable_tuple_value()->add_values()->mutable_dict_value()->mutable_fields();
  for (size_t i = 0; i < specs.size(); ++i) (*kw)[in_keys[i]] = spec_value(TensorSpec(specs[i].shape, specs[i].dtype, in_keys[i]));
  *saved.mutable_canonicalized_input_signature() = args;
  tf::StructuredValue outs;
  auto* of = outs.mutable_dict_value()->mutable_fields();
  for (size_t i = 0; i < out_keys.size(); ++i) {
    const OutputSpec& s = cf.graph().spec(cf.graph().outputs[i]);
    (*of)[out_keys[i]] = spec_value(TensorSpec(s.shape, s.dtype, out_keys[i]));
  }
  *saved.mutable_output_signature() = outs;
  (*meta_.mutable_object_graph_def()->mutable_concrete_functions())[wrapper] = saved;

  // The signature's node in the object graph: a bare concrete function.
  auto* objects = meta_.mutable_object_graph_def();
  int id = objects->nodes_size();
  auto* bare = objects->add_nodes()->mutable_bare_concrete_function();
  bare->set_concrete_function_name(wrapper);
  for (const std::string& k : in_keys) bare->add_argument_keywords(k);
  bare->set_allowed_positional_arguments(static_cast<int64_t>(in_keys.size()));
  *bare->mutable_function_spec()->mutable_fullargspec() = full_arg_spec({}, in_keys);
  *bare->mutable_function_spec()->mutable_input_signature() = none_value();
  auto* ref = objects->mutable_nodes(map_node)->add_children();
  ref->set_node_id(id);
  ref->set_local_name(key);

  // The graph: placeholders for the inputs, a call, the SignatureDef naming them.
  auto* graph = meta_.mutable_graph_def();
  int calls = 0;
  for (const auto& n : graph->node()) calls += n.op() == "StatefulPartitionedCall";
  std::string call_name = calls ? "StatefulPartitionedCall_" + std::to_string(calls) : "StatefulPartitionedCall";
  tf::NodeDef gcall = call;
  gcall.set_name(call_name);
  (*gcall.mutable_attr())["f"].mutable_func()->set_name(wrapper);
  gcall.clear_input();
  auto& tout_list = *(*gcall.mutable_attr())["Tout"].mutable_list();
  tout_list.clear_type();
  for (const auto& o : w.signature().output_arg()) tout_list.add_type(o.type());
  auto& tin_list = *(*gcall.mutable_attr())["Tin"].mutable_list();  // the wrapper's order, not the callee's
  tin_list.clear_type();
  for (const auto& a : w.signature().input_arg()) tin_list.add_type(a.type());
  tf::SignatureDef def;
  def.set_method_name("tensorflow/serving/predict");
  std::vector<Tensor> handles = cf.captured_inputs();
  size_t next_handle = 0;
  for (int i = 0; i < w.signature().input_arg_size(); ++i) {
    const auto& a = w.signature().input_arg(i);
    if (a.type() == tf::DT_RESOURCE) {
      while (handles.at(next_handle).dtype() != resource) ++next_handle;
      gcall.add_input(var_handle_nodes_.at(handles[next_handle++].impl()->resource.get()));
      continue;
    }
    const TensorSpec& s = specs.at(by_key.at(static_cast<size_t>(i)));
    std::string ph = arg_name(key) + "_" + a.name();
    tf::NodeDef p;
    p.set_name(ph);
    p.set_op("Placeholder");
    (*p.mutable_attr())["dtype"].set_type(a.type());
    set_shape((*p.mutable_attr())["shape"].mutable_shape(), s.shape);
    *graph->add_node() = p;
    gcall.add_input(ph);
    tf::TensorInfo info;
    info.set_name(ph + ":0");
    info.set_dtype(a.type());
    set_shape(info.mutable_tensor_shape(), s.shape);
    (*def.mutable_inputs())[a.name()] = info;
  }
  *graph->add_node() = gcall;
  for (int i = 0; i < w.signature().output_arg_size(); ++i) {
    size_t index = sorted_out[static_cast<size_t>(i)];
    const std::string& k = out_keys[index];
    const OutputSpec& s = cf.graph().spec(cf.graph().outputs[index]);
    tf::TensorInfo info;
    info.set_name(call_name + ":" + std::to_string(i));
    info.set_dtype(w.signature().output_arg(i).type());
    set_shape(info.mutable_tensor_shape(), s.shape);
    (*def.mutable_outputs())[k] = info;
  }
  (*meta_.mutable_signature_def())[key] = def;
}

void Saver::add_saver(const std::vector<GraphVariable>& vars) {
  auto* graph = meta_.mutable_graph_def();
  tf::NodeDef filename;
  filename.set_name("saver_filename");
  filename.set_op("Placeholder");
  (*filename.mutable_attr())["dtype"].set_type(tf::DT_STRING);
  (*filename.mutable_attr())["shape"].mutable_shape();
  *graph->add_node() = filename;
  for (bool save : {true, false}) {
    std::string fn = std::string(save ? "__inference__traced_save_" : "__inference__traced_restore_") + std::to_string(next_uid_++);
    *graph->mutable_library()->add_function() = saver_function(fn, vars, save);
    library_done_.insert(fn);
    tf::NodeDef call;
    call.set_name(save ? "saver_save" : "saver_restore");
    call.set_op("StatefulPartitionedCall");
    call.add_input("saver_filename");
    auto* tin = (*call.mutable_attr())["Tin"].mutable_list();
    tin->add_type(tf::DT_STRING);
    for (const GraphVariable& v : vars) {
      call.add_input(v.node);
      tin->add_type(tf::DT_RESOURCE);
    }
    (*call.mutable_attr())["Tout"].mutable_list()->add_type(tf::DT_STRING);
    (*call.mutable_attr())["f"].mutable_func()->set_name(fn);
    *graph->add_node() = call;
  }
  auto* saver = meta_.mutable_saver_def();
  saver->set_filename_tensor_name("saver_filename:0");
  saver->set_save_tensor_name("saver_save:0");
  saver->set_restore_op_name("saver_restore");
  saver->set_version(tf::SaverDef::V2);
}

tf::SavedModel Saver::build() {
  meta_.mutable_meta_info_def()->add_tags(kServe);
  // tensorflow_version stays empty: TensorFlow parses it as a version number;
  // the writer is named in tensorflow_git_version.
  meta_.mutable_meta_info_def()->set_tensorflow_git_version("ember " EMBER_VERSION);
  meta_.mutable_graph_def()->mutable_versions()->set_producer(1286);
  auto* objects = meta_.mutable_object_graph_def();

  // A VarHandleOp per variable, so the graph's signature calls are whole,
  // and a SaverDef whose functions restore them in graph mode.
  std::set<std::string> graph_names{"saver_filename", "saver_save", "saver_restore"};
  std::vector<GraphVariable> graph_variables;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto* v = dynamic_cast<const TrackableVariable*>(nodes_[i].obj.get());
    if (!v) continue;
    std::string base = v->variable().name();
    if (auto colon = base.rfind(':'); colon != std::string::npos) base = base.substr(0, colon);
    std::string name = base;
    for (int k = 1; !graph_names.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    tf::NodeDef h;
    h.set_name(name);
    h.set_op("VarHandleOp");
    (*h.mutable_attr())["shared_name"].set_s(name);
    (*h.mutable_attr())["dtype"].set_type(tf_type(v->variable().dtype()));
    set_shape((*h.mutable_attr())["shape"].mutable_shape(), v->variable().shape());
    *meta_.mutable_graph_def()->add_node() = h;
    var_handle_nodes_[v->variable().handle().impl()->resource.get()] = name;
    if (!nodes_[i].path.empty())
      graph_variables.push_back({name, nodes_[i].path + "/.ATTRIBUTES/VARIABLE_VALUE", v->variable()});
  }
  add_saver(graph_variables);

  // The objects, in the checkpoint's order.
  std::map<std::string, ConcreteFunction> signatures = options_.signatures;
  int root_functions = 0;
  ConcreteFunction only_trace;
  std::vector<std::tuple<int, int, std::string>> traces;  // function node, k, FunctionDef
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Trackable& obj = *nodes_[i].obj;
    tf::SavedObject* o = objects->add_nodes();
    for (const auto& [name, id] : nodes_[i].children) {
      auto* ref = o->add_children();
      ref->set_node_id(id);
      ref->set_local_name(name);
      *o->add_dependencies() = *ref;
    }
    // (No slot_variables references: TensorFlow's loader hands them to the
    // optimizer's add_slot, which a generic object lacks. The slots are in
    // the checkpoint, and in the graph-mode restore below.)
    if (auto* v = dynamic_cast<const TrackableVariable*>(&obj)) {
      auto* sv = o->mutable_variable();
      sv->set_dtype(tf_type(v->variable().dtype()));
      set_shape(sv->mutable_shape(), v->variable().shape());
      sv->set_trainable(v->variable().trainable());
      std::string name = v->variable().name();
      if (auto colon = name.rfind(':'); colon != std::string::npos) name = name.substr(0, colon);
      sv->set_name(name);
    } else if (auto info = function_info(obj)) {
      // A trace with a plain argument of a C++ user type cannot be written:
      // it is left out, the others saved (as TensorFlow leaves out what it
      // cannot serialize).
      std::erase_if(info->traces, [](const ConcreteFunction& cf) {
        std::function<bool(const BakedValue&)> opaque = [&](const BakedValue& b) {
          if (std::holds_alternative<BakedValue::Opaque>(b.v)) return true;
          if (const auto* l = std::get_if<BakedValue::List>(&b.v))
            return std::any_of(l->begin(), l->end(), opaque);
          if (const auto* m = std::get_if<BakedValue::Map>(&b.v))
            return std::any_of(m->begin(), m->end(), [&](const auto& e) { return opaque(e.second); });
          return false;
        };
        for (const CallArg& a : cf.arguments())
          if (a.kind == CallArg::Kind::Value && opaque(a.value)) return true;
        return false;
      });
      const std::string& fname = nodes_[i].name;
      auto* sf = o->mutable_function();
      for (const ConcreteFunction& cf : info->traces) sf->add_concrete_functions(save_trace(cf, fname));
      for (int t = 0; t < sf->concrete_functions_size(); ++t)
        traces.push_back({static_cast<int>(i), t, sf->concrete_functions(t)});
      std::vector<std::string> names;
      size_t arity = info->traces.empty() ? info->arg_names.size() : info->traces[0].arguments().size();
      std::vector<TensorSpec> first_specs = info->traces.empty() ? std::vector<TensorSpec>{} : info->traces[0].input_specs();
      for (size_t a = 0, t = 0; a < arity; ++a) {
        if (a < info->arg_names.size()) {
          names.push_back(info->arg_names[a]);
        } else if (!info->traces.empty() && info->traces[0].arguments()[a].kind == CallArg::Kind::Spec) {
          names.push_back(first_specs.at(t).name);
        } else {
          names.push_back("args_" + std::to_string(a));
        }
        if (!info->traces.empty() && info->traces[0].arguments()[a].kind == CallArg::Kind::Spec) ++t;
      }
      *sf->mutable_function_spec()->mutable_fullargspec() = full_arg_spec(names, {});
      if (info->input_signature) {
        tf::StructuredValue sigv;
        auto* tuple = sigv.mutable_tuple_value();
        for (const TensorSpec& s : *info->input_signature) *tuple->add_values() = spec_value(s);
        *sf->mutable_function_spec()->mutable_input_signature() = sigv;
      } else {
        *sf->mutable_function_spec()->mutable_input_signature() = none_value();
      }
      bool on_root = false;
      for (const auto& [name, id] : nodes_[0].children) on_root |= id == static_cast<int>(i);
      // Only a function with an input signature can be the default
      // signature (TensorFlow's find_function_to_export).
      if (on_root && info->input_signature && info->traces.size() == 1) {
        ++root_functions;
        only_trace = info->traces[0];
      }
    } else {
      auto* u = o->mutable_user_object();
      const auto* loaded = dynamic_cast<const LoadedObject*>(&obj);
      const std::string own = obj.saved_object_identifier();
      u->set_identifier(loaded ? loaded->identifier() : own.empty() ? kGeneric : own);
      u->mutable_version()->set_producer(1);
      u->mutable_version()->set_min_consumer(1);
    }
  }
  // A loaded model's signatures are saved again unless others are given.
  if (signatures.empty()) {
    auto map = std::dynamic_pointer_cast<LoadedObject>(nodes_[0].obj->lookup_dependency("signatures"));
    if (map && map->identifier() == kSignatureMap)
      for (const auto& [key, child] : map->dependencies())
        if (auto fn = std::dynamic_pointer_cast<LoadedFunction>(child); fn && fn->concrete_functions().size() == 1)
          signatures[key] = fn->concrete_functions()[0];
  }
  // Each trace as a child "trace_<k>" of its function (a bare concrete
  // function), as TensorFlow records them.
  for (const auto& [function_node, k, fdef] : traces) {
    int id = objects->nodes_size();
    auto* bare = objects->add_nodes()->mutable_bare_concrete_function();
    bare->set_concrete_function_name(fdef);
    auto* ref = objects->mutable_nodes(function_node)->add_children();
    ref->set_node_id(id);
    ref->set_local_name("trace_" + std::to_string(k));
    *objects->mutable_nodes(function_node)->add_dependencies() = *ref;
  }
  if (signatures.empty() && root_functions == 1 && only_trace.defined()) {
    bool tensors_only = true;
    for (const CallArg& a : only_trace.arguments()) tensors_only &= a.kind == CallArg::Kind::Spec;
    if (tensors_only) signatures["serving_default"] = only_trace;
  }
  {  // The signature map, empty or not: a loaded model always has `.signatures`.
    bool taken = false;
    for (const auto& [name, id] : nodes_[0].children) taken |= name == "signatures";
    EMBER_CHECK(!taken, InvalidArgument,
                "[saved_model] the root tracks a dependency named 'signatures', which a SavedModel keeps for its signatures");
    int map_node = objects->nodes_size();
    auto* m = objects->add_nodes()->mutable_user_object();
    m->set_identifier(kSignatureMap);
    m->mutable_version()->set_producer(1);
    m->mutable_version()->set_min_consumer(1);
    auto* ref = objects->mutable_nodes(0)->add_children();
    ref->set_node_id(map_node);
    ref->set_local_name("signatures");
    for (const auto& [key, cf] : signatures) {
      EMBER_CHECK(cf.defined(), InvalidArgument, "[saved_model] signature '", key, "' is an empty concrete function");
      add_signature(key, cf, map_node);
    }
  }
  tf::SavedModel model;
  model.set_saved_model_schema_version(1);
  *model.add_meta_graphs() = std::move(meta_);
  return model;
}

}  // namespace

void save(const std::shared_ptr<Trackable>& root, const std::string& dir, const SaveOptions& options) {
  EMBER_CHECK(root != nullptr, InvalidArgument, "[saved_model] save: the root is null");
  EMBER_CHECK(!dir.empty(), InvalidArgument, "[saved_model] save: an empty directory name");
  std::string target = fs::path(dir).lexically_normal().string();
  if (!target.empty() && target.back() == '/') target.pop_back();
  Saver saver(root, options);
  tf::SavedModel model = saver.build();

  const std::string parent = files::dirname(target);
  files::create_dirs(parent);
  recover_aside(target);
  sweep_temporaries(target);
  std::string tmp = target + files::temp_suffix(".tmp");
  try {
    files::create_dirs(tmp + "/variables");
    files::create_dirs(tmp + "/assets");
    Checkpoint::of_object(root).write(tmp + "/variables/variables");
    std::string pb = model.SerializeAsString();
    files::write_atomically(tmp + "/saved_model.pb", pb);
    tf::FingerprintDef fp;
    const auto& meta = model.meta_graphs(0);
    fp.set_saved_model_checksum(fingerprint64(pb));
    fp.set_graph_def_program_hash(fingerprint64(meta.graph_def().SerializeAsString()));
    std::string sigs;
    for (const auto& [k, v] : std::map<std::string, tf::SignatureDef>(meta.signature_def().begin(), meta.signature_def().end()))
      sigs += k + v.SerializeAsString();
    fp.set_signature_def_hash(fingerprint64(sigs));
    fp.set_saved_object_graph_hash(fingerprint64(meta.object_graph_def().SerializeAsString()));
    fp.set_checkpoint_hash(fingerprint64(files::read_file(tmp + "/variables/variables.index")));
    fp.mutable_version()->set_producer(1);
    fp.set_uuid(uuid_string());
    files::write_atomically(tmp + "/fingerprint.pb", fp.SerializeAsString());
    files::sync_dir(tmp + "/variables");
    files::sync_dir(tmp);
    swap_in(tmp, target);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace ember::saved_model
