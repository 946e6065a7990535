// The text dump of a SavedModel (saved_model_cli show --all).
#include "serialization/saved_model.h"

#include <deque>
#include <map>
#include <sstream>

#include "saved_model.pb.h"
#include "serialization/bundle.h"
#include "serialization/saved_model_internal.h"
#include "serialization/tf_proto.h"

namespace ember::saved_model {

namespace tf = tensorflow;
using tfproto::shape_of;

namespace detail {

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

}  // namespace detail

using namespace detail;  // NOLINT

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
