#include "serialization/saved_model.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/stubs/logging.h>

#include "core/context.h"
#include "saved_model.pb.h"
#include "serialization/bundle.h"
#include "serialization/checkpoint.h"
#include "serialization/file_ops.h"
#include "serialization/graph_def.h"
#include "serialization/graph_import.h"
#include "serialization/tf_proto.h"
#include "state/hash_table.h"

namespace ember::saved_model {
namespace {

namespace tf = tensorflow;
namespace fs = std::filesystem;
using detail::CallArg;

const char* const kServe = "serve";
const char* const kGeneric = "_generic_user_object";
const char* const kSignatureMap = "signature_map";

using tfproto::arg_name;
using tfproto::set_shape;
using tfproto::shape_of;
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

// A DT_STRING Const node holding `values` (a vector).
tf::NodeDef string_const(const std::string& name, const std::vector<std::string>& values) {
  tf::NodeDef n;
  n.set_name(name);
  n.set_op("Const");
  (*n.mutable_attr())["dtype"].set_type(tf::DT_STRING);
  auto* t = (*n.mutable_attr())["value"].mutable_tensor();
  t->set_dtype(tf::DT_STRING);
  t->mutable_tensor_shape()->add_dim()->set_size(static_cast<int64_t>(values.size()));
  for (const std::string& v : values) t->add_string_val(v);
  return n;
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
    *f.add_node_def() = string_const(op + "/tensor_names", keys);
    *f.add_node_def() = string_const(op + "/shape_and_slices", slices);
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

// Where a save on a file system without an atomic exchange keeps the old
// model while it moves the new one in (a name the sweep of temporaries
// leaves alone, and unlikely to be a user's): a crash between the two
// renames leaves the model there.
std::string aside_of(const std::string& dir) { return dir + ".ember-previous"; }

// The directory that holds the model `dir` names: `dir`, or the model a
// crashed save left aside.
std::string model_dir(const std::string& dir) {
  if (!files::exists(dir) && files::exists(aside_of(dir) + "/saved_model.pb")) return aside_of(dir);
  return dir;
}

// Puts back a model a crashed save left aside (no model at `dir`), or
// removes it (the new model is in place).
void recover_aside(const std::string& dir) {
  const std::string aside = aside_of(dir);
  if (!files::exists(aside + "/saved_model.pb")) return;  // (only a model is ours to move or remove)
  if (files::exists(dir)) {
    fs::remove_all(aside);
    return;
  }
  files::rename_file(aside, dir);
}

// Whether renameat2's RENAME_EXCHANGE is to be tried. EMBER_NO_RENAME_EXCHANGE=1
// takes the fallback, as on a file system without it (tests force it so).
bool try_exchange() {
  static const bool yes = [] {
    const char* e = std::getenv("EMBER_NO_RENAME_EXCHANGE");
    return !(e && std::string_view(e) == "1");
  }();
  return yes;
}

// Replaces `dir` by `tmp` in one step where the system allows (renameat2's
// RENAME_EXCHANGE), then removes the old contents.
void swap_in(const std::string& tmp, const std::string& dir) {
  if (!files::exists(dir)) {
    files::rename_file(tmp, dir);
    return;
  }
  EMBER_CHECK(fs::is_directory(dir), InvalidArgument, "[saved_model] ", dir, " exists and is not a directory");
  files::crash_point("rename", dir);
  if (!try_exchange() || ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
    // No atomic exchange here: move the old model aside first, where
    // loading and the next save find it if this process dies before the
    // new one is in place.
    const std::string old = aside_of(dir);
    files::rename_file(dir, old);
    files::rename_file(tmp, dir);
    files::crash_point("unlink", old);
    fs::remove_all(old);
    return;
  }
  files::sync_dir(files::dirname(dir));
  std::error_code ec;
  fs::remove_all(tmp, ec);
}

// Removes what killed saves of `target` left beside it: `target.tmp-PID-*`
// directories whose process is gone.
void sweep_temporaries(const std::string& target) {
  const fs::path t(target);
  const std::string prefix = t.filename().string() + ".tmp-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(t.has_parent_path() ? t.parent_path() : fs::path("."), ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    long pid = std::atol(name.c_str() + prefix.size());
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) fs::remove_all(e.path(), ec);
  }
}

// ---- loading ---------------------------------------------------------------------------------

std::string describe_spec_list(const std::vector<std::string>& items) {
  std::string s = "Positional arguments (" + std::to_string(items.size()) + " total):";
  for (const std::string& i : items) s += "\n    * " + i;
  return s;
}

// A StructuredValue as Python prints it (for the trace descriptions).
std::string python_repr(const tf::StructuredValue& v) {
  switch (v.kind_case()) {
    case tf::StructuredValue::kNoneValue: return "None";
    case tf::StructuredValue::kBoolValue: return v.bool_value() ? "True" : "False";
    case tf::StructuredValue::kInt64Value: return std::to_string(v.int64_value());
    case tf::StructuredValue::kFloat64Value: return float_repr(v.float64_value());
    case tf::StructuredValue::kStringValue: return "'" + v.string_value() + "'";
    case tf::StructuredValue::kTensorSpecValue: {
      DType d = float32;
      bundle::from_tf_dtype(v.tensor_spec_value().dtype(), d);
      return TensorSpec(shape_of(v.tensor_spec_value().shape()), d, v.tensor_spec_value().name()).to_string();
    }
    case tf::StructuredValue::kListValue:
    case tf::StructuredValue::kTupleValue: {
      const auto& vals = v.has_list_value() ? v.list_value().values() : v.tuple_value().values();
      std::string s = v.has_list_value() ? "[" : "(";
      for (int i = 0; i < vals.size(); ++i) s += (i ? ", " : "") + python_repr(vals[i]);
      if (!v.has_list_value() && vals.size() == 1) s += ",";
      return s + (v.has_list_value() ? "]" : ")");
    }
    case tf::StructuredValue::kDictValue: {
      std::map<std::string, std::string> sorted;
      for (const auto& [k, e] : v.dict_value().fields()) sorted[k] = python_repr(e);
      std::string s = "{";
      bool first = true;
      for (const auto& [k, e] : sorted) {
        s += (first ? "'" : ", '") + k + "': " + e;
        first = false;
      }
      return s + "}";
    }
    default: return "<value>";
  }
}

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

struct ModelFile {
  tf::SavedModel model;
  const tf::MetaGraphDef* meta = nullptr;
};

ModelFile read_model(const std::string& dir) {
  ModelFile f;
  const std::string path = (fs::path(dir) / "saved_model.pb").string();
  if (!files::exists(path)) {
    EMBER_CHECK(!files::exists((fs::path(dir) / "saved_model.pbtxt").string()), Unimplemented, "[saved_model] ", dir,
                ": a text saved_model.pbtxt; ember reads the binary saved_model.pb");
    throw NotFound("[saved_model] " + dir + ": no saved_model.pb (is it a SavedModel directory?)");
  }
  std::string bytes = files::read_file(path);
  bool parsed;
  {
    google::protobuf::LogSilencer quiet;  // a corrupt file is our error to report, not protobuf's to log
    parsed = f.model.ParseFromString(bytes);
  }
  if (!parsed)
    throw DataLoss("[saved_model] " + path + ": does not parse as a SavedModel (truncated or corrupt)");
  std::vector<std::string> tags;
  for (const auto& m : f.model.meta_graphs()) {
    for (const auto& t : m.meta_info_def().tags()) {
      tags.push_back(t);
      if (t == kServe && !f.meta) f.meta = &m;
    }
  }
  if (!f.meta) {
    std::string all;
    for (const auto& t : tags) all += (all.empty() ? "'" : ", '") + t + "'";
    throw NotFound("[saved_model] " + path + ": no MetaGraphDef tagged 'serve' (tags: " + (all.empty() ? "none" : all) + ")");
  }
  EMBER_CHECK(f.meta->has_object_graph_def() && f.meta->object_graph_def().nodes_size() > 0, DataLoss, "[saved_model] ",
              path, ": the MetaGraphDef has no object graph (a TensorFlow 1 SavedModel?)");
  const auto& objects = f.meta->object_graph_def();
  for (int i = 0; i < objects.nodes_size(); ++i)
    for (const auto& c : objects.nodes(i).children())
      EMBER_CHECK(c.node_id() >= 0 && c.node_id() < objects.nodes_size(), DataLoss, "[saved_model] ", path,
                  ": object ", i, " refers to object ", c.node_id(), " of ", objects.nodes_size());
  return f;
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
  std::string tmp = target + ".tmp-" + std::to_string(::getpid()) + "-" + uuid_string().substr(0, 8);
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
      EMBER_CHECK(id >= 0 && id < objects.nodes_size() && handles[static_cast<size_t>(id)].defined(), DataLoss, what,
                  ": bound input ", id, " is not a variable of the object graph");
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

std::string describe(const std::string& named) {
  const std::string dir = model_dir(named);
  ModelFile file = read_model(dir);
  std::ostringstream os;
  auto dtype = [](int t) {
    std::string n = tf::DataType_IsValid(t) ? tf::DataType_Name(static_cast<tf::DataType>(t)) : std::string();
    return n.empty() ? "DataType(" + std::to_string(t) + ")" : n;
  };
  auto shape = [](const tf::TensorShapeProto& p) {
    if (p.unknown_rank()) return std::string("unknown_rank");
    std::string s = "(";
    for (int i = 0; i < p.dim_size(); ++i) s += (i ? ", " : "") + std::to_string(p.dim(i).size());
    return s + (p.dim_size() == 1 ? ",)" : ")");
  };
  for (const auto& m : file.model.meta_graphs()) {
    std::string tags;
    for (const auto& t : m.meta_info_def().tags()) tags += (tags.empty() ? "" : ", ") + t;
    os << "MetaGraphDef with tag-set: '" << tags << "' contains the following SignatureDefs:\n";
    std::map<std::string, tf::SignatureDef> sigs(m.signature_def().begin(), m.signature_def().end());
    for (const auto& [key, def] : sigs) {
      os << "\nsignature_def['" << key << "']:\n";
      for (int pass = 0; pass < 2; ++pass) {
        const auto& infos = pass == 0 ? def.inputs() : def.outputs();
        os << "  The given SavedModel SignatureDef contains the following " << (pass == 0 ? "input(s)" : "output(s)") << ":\n";
        std::map<std::string, tf::TensorInfo> sorted(infos.begin(), infos.end());
        for (const auto& [k, info] : sorted) {
          os << "    " << (pass == 0 ? "inputs" : "outputs") << "['" << k << "'] tensor_info:\n";
          os << "        dtype: " << dtype(info.dtype()) << "\n";
          os << "        shape: " << shape(info.tensor_shape()) << "\n";
          os << "        name: " << info.name() << "\n";
        }
      }
      os << "  Method name is: " << def.method_name() << "\n";
    }
    if (!m.has_object_graph_def()) continue;
    const auto& objects = m.object_graph_def();
    os << "\nConcrete Functions:";
    // Functions and the object tree, breadth first from the root.
    std::vector<std::string> path(static_cast<size_t>(objects.nodes_size()));
    std::vector<bool> seen(static_cast<size_t>(objects.nodes_size()), false);
    std::deque<int> q{0};
    seen[0] = true;
    std::ostringstream tree;
    while (!q.empty()) {
      int i = q.front();
      q.pop_front();
      const auto& o = objects.nodes(i);
      std::string kind = o.has_user_object() ? "object (" + o.user_object().identifier() + ")"
                         : o.has_variable()  ? "variable " + dtype(o.variable().dtype()) + " " + shape(o.variable().shape())
                         : o.has_function()  ? "function"
                         : o.has_bare_concrete_function() ? "concrete function " + o.bare_concrete_function().concrete_function_name()
                                                          : "other";
      tree << "  " << (i == 0 ? "(root)" : path[static_cast<size_t>(i)]) << ": " << kind << "\n";
      if (o.has_function() && i != 0) {
        os << "\n  Function Name: '" << path[static_cast<size_t>(i)] << "'";
        int option = 1;
        for (const auto& name : o.function().concrete_functions()) {
          auto it = objects.concrete_functions().find(name);
          if (it == objects.concrete_functions().end()) continue;
          const auto& args = it->second.canonicalized_input_signature();
          os << "\n    Option #" << option++ << "\n      Callable with:";
          if (args.has_tuple_value() && args.tuple_value().values_size() == 2) {
            const auto& pos = args.tuple_value().values(0);
            int a = 1;
            if (pos.has_tuple_value())
              for (const auto& v : pos.tuple_value().values())
                os << "\n        Argument #" << a++ << "\n          " << python_repr(v);
          }
        }
        os << "\n";
      }
      for (const auto& c : o.children()) {
        if (c.node_id() < 0 || c.node_id() >= objects.nodes_size() || seen[static_cast<size_t>(c.node_id())]) continue;
        seen[static_cast<size_t>(c.node_id())] = true;
        path[static_cast<size_t>(c.node_id())] = (i == 0 ? "" : path[static_cast<size_t>(i)] + ".") + c.local_name();
        q.push_back(c.node_id());
      }
    }
    os << "\nObjects:\n" << tree.str();
  }
  return os.str();
}

}  // namespace ember::saved_model
