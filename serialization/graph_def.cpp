#include "serialization/graph_def.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "core/op_names.h"
#include "core/ops.h"
#include "core/variable.h"
#include "graph/control_flow.h"
#include "graph.pb.h"
#include "serialization/bundle.h"
#include "serialization/tf_proto.h"

namespace ember {
namespace {

namespace tf = tensorflow;

using tfproto::arg_name;
using tfproto::set_shape;
tf::DataType tf_type(DType t) { return tfproto::data_type(t); }

tf::AttrValue attr_value(const AttrValue& v) {
  tf::AttrValue a;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          a.set_b(x);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          a.set_i(x);
        } else if constexpr (std::is_same_v<T, double>) {
          a.set_f(static_cast<float>(x));
        } else if constexpr (std::is_same_v<T, DType>) {
          a.set_type(tf_type(x));
        } else if constexpr (std::is_same_v<T, std::string>) {
          a.set_s(x);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          auto* list = a.mutable_list();
          for (int64_t i : x) list->add_i(i);
        } else if constexpr (std::is_same_v<T, TensorShape>) {
          set_shape(a.mutable_shape(), x);
        } else {
          a.mutable_func()->set_name(x ? x->name() : std::string());
        }
      },
      v);
  return a;
}

tf::AttrValue type_attr(DType t) {
  tf::AttrValue a;
  a.set_type(tf_type(t));
  return a;
}

// What one ember node becomes: TensorFlow's op, its inputs (references to
// node outputs, or Const nodes made for attributes) and attributes.
struct TfNode {
  std::string op;
  std::vector<std::string> inputs;
  std::map<std::string, tf::AttrValue> attrs;
};

// Builds the nodes of a GraphDef or a FunctionDef body.
class Emitter {
 public:
  Emitter(const Graph& g, bool function) : g_(g), function_(function), refs_(g.nodes.size()) {}

  std::vector<tf::NodeDef> nodes;

  /// The reference to output `index` of ember node `node`.
  const std::string& ref(NodeOutput o) const { return refs_[static_cast<size_t>(o.node)][static_cast<size_t>(o.index)]; }
  void set_refs(int node, std::vector<std::string> refs) { refs_[static_cast<size_t>(node)] = std::move(refs); }
  std::string unique(const std::string& base) {
    std::string name = base;
    for (int k = 1; !names_.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    return name;
  }
  void reserve(const std::string& name) { names_.insert(name); }

  /// A reference to output `index` (of output arg `arg`) of the TensorFlow node `name`.
  std::string node_ref(const std::string& name, const std::string& arg, int index, int index_in_arg) const {
    if (function_) return name + ":" + arg + ":" + std::to_string(index_in_arg);
    return index == 0 ? name : name + ":" + std::to_string(index);
  }

  /// A Const node holding `value`; returns the reference to it.
  std::string add_const(const std::string& base, const Tensor& value) {
    tf::NodeDef n = tfproto::const_node(unique(base), value);
    nodes.push_back(n);
    return node_ref(n.name(), "output", 0, 0);
  }
  std::string add_ints(const std::string& base, const std::vector<int64_t>& v, const TensorShape& shape,
                       DType dtype = int32) {
    std::vector<double> d(v.begin(), v.end());
    return add_const(base, cast_values(d, shape, dtype));
  }
  std::string add_scalar(const std::string& base, double v, DType dtype) {
    return add_const(base, cast_values({v}, TensorShape{}, dtype));
  }

  void emit_op(int index);
  void emit_gelu(int index);
  /// The functions the emitted nodes call (control flow), each once.
  std::vector<FunctionRef> functions;
  /// The node being emitted passes attribute `name` as a tensor (it is known
  /// only when the graph runs): a reference to it, as `dtype`.
  std::optional<std::string> attr_input(const Node& n, const std::string& name, DType dtype) {
    auto it = attr_inputs_.find(name);
    if (it == attr_inputs_.end()) return std::nullopt;
    auto [ref, have] = it->second;
    return have == dtype ? ref : add_cast(n.name + "/" + name + "_cast", ref, have, dtype);
  }
  /// A Cast node of `ref` from `from` to `to`; returns the reference to it.
  std::string add_cast(const std::string& base, const std::string& ref, DType from, DType to) {
    tf::NodeDef cast;
    cast.set_name(unique(base));
    cast.set_op("Cast");
    cast.add_input(ref);
    (*cast.mutable_attr())["SrcT"] = type_attr(from);
    (*cast.mutable_attr())["DstT"] = type_attr(to);
    (*cast.mutable_attr())["Truncate"].set_b(false);
    nodes.push_back(cast);
    return node_ref(cast.name(), "y", 0, 0);
  }

 private:
  static Tensor cast_values(const std::vector<double>& v, const TensorShape& shape, DType dtype) {
    return cast(constant(v, shape, Device::cpu()), dtype);
  }
  const Graph& g_;
  bool function_;
  std::vector<std::vector<std::string>> refs_;
  std::unordered_set<std::string> names_;
  std::unordered_map<std::string, std::pair<std::string, DType>> attr_inputs_;  // of the node being emitted
};

// Output arg names of TensorFlow's ops (a FunctionDef names outputs by
// them). One name with `list` set: every output is an element of that list.
struct OutputArgs {
  std::vector<const char*> names;
  bool list = false;
};

const OutputArgs& output_args(const std::string& op_type) {
  static const std::unordered_map<std::string, OutputArgs> table = [] {
    std::unordered_map<std::string, OutputArgs> t;
    for (const char* op : {"Abs", "Ceil", "Cos", "Erf", "Exp", "Expm1", "Floor", "Log", "Log1p", "LogicalNot", "Neg",
                           "Reciprocal", "Round", "Rsqrt", "Sigmoid", "Sign", "Sin", "Sqrt", "Square", "Tanh", "Cast",
                           "Transpose", "ZerosLike", "OnesLike"})
      t[op] = {{"y"}};
    for (const char* op : {"AddV2", "Div", "Equal", "FloorDiv", "FloorMod", "Greater", "GreaterEqual", "Less",
                           "LessEqual", "LogicalAnd", "LogicalOr", "Maximum", "Minimum", "Mul", "NotEqual", "Pow",
                           "RealDiv", "Sub"})
      t[op] = {{"z"}};
    for (const char* op : {"Relu", "Elu", "Selu", "LeakyRelu", "Softplus"}) t[op] = {{"activations"}};
    t["ReluGrad"] = {{"backprops"}};
    t["MatMul"] = {{"product"}};
    t["Softmax"] = {{"softmax"}};
    t["LogSoftmax"] = {{"logsoftmax"}};
    t["ReadVariableOp"] = {{"value"}};
    t["InTopKV2"] = {{"precision"}};
    t["SoftmaxCrossEntropyWithLogits"] = {{"loss", "backprop"}};
    t["SparseSoftmaxCrossEntropyWithLogits"] = {{"loss", "backprop"}};
    t["TopKV2"] = {{"values", "indices"}};
    t["FusedBatchNormV3"] = {{"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3"}};
    t["FusedBatchNormGradV3"] = {{"x_backprop", "scale_backprop", "offset_backprop", "reserve_space_4", "reserve_space_5"}};
    t["SplitV"] = {{"output"}, true};
    for (const char* cf : {"If", "StatelessIf", "While", "StatelessWhile", "PartitionedCall", "StatefulPartitionedCall"})
      t[cf] = {{"output"}, true};
    t["Unpack"] = {{"output"}, true};
    t["AddN"] = {{"sum"}};
    t["TensorListReserve"] = {{"handle"}};
    for (const char* op : {"TensorListFromTensor", "TensorListSetItem", "TensorListScatterIntoExistingList",
                           "TensorListSplit", "TensorListResize", "TensorListPushBack"})
      t[op] = {{"output_handle"}};
    t["TensorListGetItem"] = {{"item"}};
    t["TensorListStack"] = {{"tensor"}};
    t["TensorListGather"] = {{"values"}};
    t["TensorListConcatV2"] = {{"tensor", "lengths"}};
    t["TensorListLength"] = {{"length"}};
    t["TensorListPopBack"] = {{"output_handle", "tensor"}};
    return t;
  }();
  static const OutputArgs fallback{{"output"}};
  auto it = table.find(op_type);
  return it == table.end() ? fallback : it->second;
}

// Ops without TensorFlow's "T" (their type attributes are named otherwise).
const std::unordered_set<std::string>& no_t() {
  static const std::unordered_set<std::string> s{
      "All", "Any", "Cast", "LogicalAnd", "LogicalOr", "LogicalNot", "ReadVariableOp", "AssignVariableOp",
      "AssignAddVariableOp", "AssignSubVariableOp", "GatherV2", "GatherNd", "Range", "RandomUniform",
      "RandomStandardNormal", "TruncatedNormal", "Fill", "TensorListReserve", "TensorListFromTensor",
      "TensorListSetItem", "TensorListGetItem", "TensorListStack", "TensorListGather",
      "TensorListScatterIntoExistingList", "TensorListSplit", "TensorListConcatV2", "TensorListLength",
      "TensorListResize", "TensorListPushBack", "TensorListPopBack"};
  return s;
}


// ember's list(int) attribute `name` as an int32 Const feeding an input.
std::string ints_input(Emitter& e, const Node& n, TfNode& t, const char* name, bool scalar = false) {
  if (auto dynamic = e.attr_input(n, name, int32)) return *dynamic;
  const auto& v = n.attrs.get<std::vector<int64_t>>(name);
  t.attrs.erase(name);
  return e.add_ints(n.name + "/" + name, v, scalar ? TensorShape{} : TensorShape{static_cast<int64_t>(v.size())});
}
std::string int_input(Emitter& e, const Node& n, TfNode& t, const char* name, DType dtype = int32) {
  if (auto dynamic = e.attr_input(n, name, dtype)) return *dynamic;
  int64_t v = n.attrs.get<int64_t>(name);
  t.attrs.erase(name);
  return e.add_ints(n.name + "/" + name, {v}, TensorShape{}, dtype);
}
// Paddings as ember keeps them (flat: before, after per dimension) -> [rank, 2].
std::string paddings_input(Emitter& e, const Node& n, TfNode& t) {
  const auto& v = n.attrs.get<std::vector<int64_t>>("paddings");
  t.attrs.erase("paddings");
  return e.add_ints(n.name + "/paddings", v, TensorShape{static_cast<int64_t>(v.size() / 2), 2});
}

// A list op's element shape as TensorFlow takes it: an int32 Const input
// (-1 for an unknown dimension, a scalar -1 for an unknown rank).
std::string element_shape_input(Emitter& e, const Node& n, TfNode& t) {
  const TensorShape& s = n.attrs.get<TensorShape>("element_shape");
  t.attrs.erase("element_shape");
  if (!s.rank_known()) return e.add_ints(n.name + "/element_shape", {-1}, TensorShape{});
  return e.add_ints(n.name + "/element_shape", s.as_vector(), TensorShape{s.rank()});
}

using Rewrite = std::function<void(Emitter&, const Node&, const Graph&, TfNode&)>;

const std::unordered_map<std::string, Rewrite>& rewrites() {
  static const std::unordered_map<std::string, Rewrite> table = [] {
    std::unordered_map<std::string, Rewrite> r;
    auto in_type = [](const Graph& g, const Node& n, size_t i) { return g.spec(n.inputs[i]).dtype; };
    for (const char* op : {"Sum", "Mean", "Max", "Min", "Prod", "All", "Any"})
      r[op] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
        t.inputs.push_back(ints_input(e, n, t, "axis"));
        t.attrs["Tidx"] = type_attr(int32);
      };
    for (const char* op : {"ArgMax", "ArgMin"})
      r[op] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
        t.inputs.push_back(int_input(e, n, t, "axis"));
        t.attrs["Tidx"] = type_attr(int32);
      };
    r["Reshape"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "shape"));
      t.attrs["Tshape"] = type_attr(int32);
    };
    r["ExpandDims"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(int_input(e, n, t, "dim"));
      t.attrs["Tdim"] = type_attr(int32);
    };
    r["Transpose"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "perm"));
      t.attrs["Tperm"] = type_attr(int32);
    };
    r["Tile"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "multiples"));
      t.attrs["Tmultiples"] = type_attr(int32);
    };
    r["BroadcastTo"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "shape"));
      t.attrs["Tidx"] = type_attr(int32);
    };
    r["Slice"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "begin"));
      t.inputs.push_back(ints_input(e, n, t, "size"));
      t.attrs["Index"] = type_attr(int32);
    };
    r["StridedSlice"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      for (const char* a : {"begin", "end", "strides"}) t.inputs.push_back(ints_input(e, n, t, a));
      t.attrs["Index"] = type_attr(int32);
    };
    r["StridedSliceGrad"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      std::vector<std::string> in;
      for (const char* a : {"shape", "begin", "end", "strides"}) in.push_back(ints_input(e, n, t, a));
      in.push_back(t.inputs[0]);
      t.inputs = in;
      t.attrs["Index"] = type_attr(int32);
    };
    r["ConcatV2"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.attrs["N"].set_i(static_cast<int64_t>(t.inputs.size()));
      t.inputs.push_back(int_input(e, n, t, "axis"));
      t.attrs["Tidx"] = type_attr(int32);
    };
    r["Unpack"] = [](Emitter&, const Node& n, const Graph&, TfNode& t) {
      t.attrs["num"].set_i(static_cast<int64_t>(n.outputs.size()));
    };
    r["SplitV"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "size_splits"));
      t.inputs.push_back(int_input(e, n, t, "axis"));
      t.attrs["Tlen"] = type_attr(int32);
      t.attrs["num_split"].set_i(static_cast<int64_t>(n.outputs.size()));
    };
    r["GatherV2"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.push_back(int_input(e, n, t, "axis"));
      t.attrs["Tparams"] = type_attr(in_type(g, n, 0));
      t.attrs["Tindices"] = type_attr(in_type(g, n, 1));
      t.attrs["Taxis"] = type_attr(int32);
    };
    r["GatherNd"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["Tparams"] = type_attr(in_type(g, n, 0));
      t.attrs["Tindices"] = type_attr(in_type(g, n, 1));
    };
    r["ScatterNd"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "shape"));
      t.attrs["T"] = type_attr(in_type(g, n, 1));
      t.attrs["Tindices"] = type_attr(in_type(g, n, 0));
    };
    r["TensorScatterAdd"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["Tindices"] = type_attr(in_type(g, n, 1));
    };
    r["UnsortedSegmentSum"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.push_back(int_input(e, n, t, "num_segments"));
      t.attrs["Tindices"] = type_attr(in_type(g, n, 1));
      t.attrs["Tnumsegments"] = type_attr(int32);
    };
    r["PadV2"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.push_back(paddings_input(e, n, t));
      t.inputs.push_back(e.add_scalar(n.name + "/constant_values", n.attrs.get<double>("constant_values"), in_type(g, n, 0)));
      t.attrs.erase("constant_values");
      t.attrs["Tpaddings"] = type_attr(int32);
    };
    for (const char* op : {"MirrorPad", "MirrorPadGrad"})
      r[op] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
        t.inputs.push_back(paddings_input(e, n, t));
        t.attrs["Tpaddings"] = type_attr(int32);
      };
    r["Fill"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.push_back(ints_input(e, n, t, "shape"));
      t.inputs.push_back(e.add_scalar(n.name + "/value", n.attrs.get<double>("value"), n.outputs[0].dtype));
      t.attrs.erase("value");
      t.attrs["index_type"] = type_attr(int32);
    };
    r["Range"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      DType d = n.outputs[0].dtype;
      for (const char* a : {"start", "limit", "delta"}) {
        auto dynamic = e.attr_input(n, a, d);
        t.inputs.push_back(dynamic ? *dynamic : e.add_scalar(n.name + "/" + a, n.attrs.get<double>(a), d));
        t.attrs.erase(a);
      }
    };
    r["OneHot"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      DType d = n.outputs[0].dtype;
      t.inputs.push_back(int_input(e, n, t, "depth"));
      for (const char* a : {"on_value", "off_value"}) {
        t.inputs.push_back(e.add_scalar(n.name + "/" + a, n.attrs.get<double>(a), d));
        t.attrs.erase(a);
      }
      t.attrs["TI"] = type_attr(in_type(g, n, 0));
      t.attrs["T"] = type_attr(d);
    };
    r["Cast"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["SrcT"] = type_attr(in_type(g, n, 0));
      t.attrs["Truncate"].set_b(false);
    };
    for (const char* op : {"RandomUniform", "RandomStandardNormal", "TruncatedNormal"})
      r[op] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
        t.inputs.push_back(ints_input(e, n, t, "shape"));
        t.attrs.erase("offset");  // ember's position in the stream: TensorFlow's kernels keep it themselves
        t.attrs["T"] = type_attr(int32);
      };
    r["StatelessRandomUniform"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.insert(t.inputs.begin(), ints_input(e, n, t, "shape"));  // TensorFlow's order: shape, seed
      t.attrs["T"] = type_attr(int32);
      t.attrs["Tseed"] = type_attr(in_type(g, n, 0));
    };
    r["TopKV2"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) { t.inputs.push_back(int_input(e, n, t, "k")); };
    r["InTopKV2"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.push_back(int_input(e, n, t, "k", in_type(g, n, 1)));
      t.attrs["T"] = type_attr(in_type(g, n, 1));
    };
    for (const char* op : {"Conv2DBackpropInput", "DepthwiseConv2dNativeBackpropInput"})
      r[op] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
        t.inputs.insert(t.inputs.begin(), ints_input(e, n, t, "input_sizes"));
      };
    for (const char* op : {"Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter"})
      r[op] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
        t.inputs.insert(t.inputs.begin() + 1, ints_input(e, n, t, "filter_sizes"));
      };
    r["AvgPoolGrad"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.insert(t.inputs.begin(), ints_input(e, n, t, "orig_input_shape"));
    };
    r["FusedBatchNormV3"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["U"] = type_attr(in_type(g, n, 1));
    };
    r["FusedBatchNormGradV3"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["U"] = type_attr(in_type(g, n, 2));
    };
    r["SelectV2"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["T"] = type_attr(in_type(g, n, 1));
    };
    r["SparseSoftmaxCrossEntropyWithLogits"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["Tlabels"] = type_attr(in_type(g, n, 1));
    };
    for (const char* op : {"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"})
      r[op] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
        t.attrs["dtype"] = type_attr(in_type(g, n, 1));
      };
    for (const char* op : {"ResourceApplyGradientDescent", "ResourceApplyKerasMomentum", "ResourceApplyAdam",
                           "ResourceApplyRMSProp", "ResourceApplyCenteredRMSProp", "ResourceApplyAdagradV2"})
      r[op] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
        t.attrs["T"] = type_attr(in_type(g, n, static_cast<size_t>(n.op->resource_inputs)));
        t.attrs["use_locking"].set_b(false);
      };
    for (const char* op : {"If", "StatelessIf"})
      r[op] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
        t.attrs["Tcond"] = type_attr(in_type(g, n, 0));
        auto* tin = t.attrs["Tin"].mutable_list();
        for (size_t i = 1; i < n.inputs.size(); ++i) tin->add_type(tf_type(in_type(g, n, i)));
        auto* tout = t.attrs["Tout"].mutable_list();
        auto* shapes = t.attrs["output_shapes"].mutable_list();
        for (const OutputSpec& o : n.outputs) {
          tout->add_type(tf_type(o.dtype));
          set_shape(shapes->add_shape(), o.shape);
        }
      };
    for (const char* op : {"PartitionedCall", "StatefulPartitionedCall"})
      r[op] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
        auto* tin = t.attrs["Tin"].mutable_list();
        for (size_t i = 0; i < n.inputs.size(); ++i) tin->add_type(tf_type(in_type(g, n, i)));
        auto* tout = t.attrs["Tout"].mutable_list();
        for (const OutputSpec& o : n.outputs) tout->add_type(tf_type(o.dtype));
        for (const char* empty : {"config", "config_proto", "executor_type"}) t.attrs[empty].set_s("");
      };
    for (const char* op : {"While", "StatelessWhile"})
      r[op] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
        auto* types = t.attrs["T"].mutable_list();
        auto* shapes = t.attrs["output_shapes"].mutable_list();
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          types->add_type(tf_type(in_type(g, n, i)));
          set_shape(shapes->add_shape(), n.outputs[i].shape);
        }
        t.attrs["parallel_iterations"].set_i(10);
      };
    // The list ops: ember's element_shape attribute -> an input; element dtypes from the values.
    r["TensorListReserve"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.insert(t.inputs.begin(), element_shape_input(e, n, t));
      t.attrs["shape_type"] = type_attr(int32);
    };
    r["TensorListFromTensor"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.push_back(element_shape_input(e, n, t));
      t.attrs["element_dtype"] = type_attr(in_type(g, n, 0));
      t.attrs["shape_type"] = type_attr(int32);
    };
    r["TensorListSplit"] = [in_type](Emitter& e, const Node& n, const Graph& g, TfNode& t) {
      t.inputs.insert(t.inputs.begin() + 1, element_shape_input(e, n, t));
      t.attrs["element_dtype"] = type_attr(in_type(g, n, 0));
      t.attrs["shape_type"] = type_attr(int32);
    };
    r["TensorListConcatV2"] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) {
      t.inputs.insert(t.inputs.begin() + 1, element_shape_input(e, n, t));
      t.attrs["shape_type"] = type_attr(int32);
    };
    for (const char* op : {"TensorListGetItem", "TensorListStack", "TensorListGather", "TensorListPopBack"})
      r[op] = [](Emitter& e, const Node& n, const Graph&, TfNode& t) { t.inputs.push_back(element_shape_input(e, n, t)); };
    r["TensorListSetItem"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      t.attrs["element_dtype"] = type_attr(in_type(g, n, 2));
    };
    for (const char* op : {"TensorListScatterIntoExistingList", "TensorListPushBack"})
      r[op] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
        t.attrs["element_dtype"] = type_attr(in_type(g, n, 1));
      };
    r["AddN"] = [](Emitter&, const Node&, const Graph&, TfNode& t) {
      t.attrs["N"].set_i(static_cast<int64_t>(t.inputs.size()));
    };
    r["Print"] = [in_type](Emitter&, const Node& n, const Graph& g, TfNode& t) {
      auto* u = t.attrs["U"].mutable_list();
      for (size_t i = 1; i < n.inputs.size(); ++i) u->add_type(tf_type(in_type(g, n, i)));
    };
    return r;
  }();
  return table;
}

// TensorFlow has no Gelu op: tf.nn.gelu is written with its ops, and so is
// ember's node, as tf.nn.gelu writes it (the last Mul takes the node's name).
void Emitter::emit_gelu(int index) {
  const Node& n = g_.nodes[static_cast<size_t>(index)];
  const DType dtype = g_.spec(n.inputs[0]).dtype;
  auto node = [&](const std::string& name, const char* op, std::vector<std::string> inputs, const char* out) {
    tf::NodeDef def;
    def.set_name(name == n.name ? name : unique(name));
    def.set_op(op);
    for (const std::string& in : inputs) def.add_input(in);
    (*def.mutable_attr())["T"] = type_attr(dtype);
    nodes.push_back(def);
    return node_ref(def.name(), out, 0, 0);
  };
  const std::string x = ref(n.inputs[0]);
  const std::string base = n.name + "/";
  std::string inner;  // 1 + erf(x / √2), or 1 + tanh(√(2/π)·(x + 0.044715·x³))
  if (n.attrs.get<bool>("approximate")) {
    std::string cube = node(base + "Pow", "Pow", {x, add_scalar(base + "three", 3, dtype)}, "z");
    std::string term = node(base + "mul", "Mul", {add_scalar(base + "coefficient", 0.044715, dtype), cube}, "z");
    std::string sum = node(base + "add", "AddV2", {x, term}, "z");
    std::string scaled = node(base + "mul_1", "Mul", {add_scalar(base + "sqrt_2_over_pi", 0.7978845608028654, dtype), sum}, "z");
    inner = node(base + "Tanh", "Tanh", {scaled}, "y");
  } else {
    std::string quotient = node(base + "truediv", "RealDiv", {x, add_scalar(base + "sqrt_2", 1.4142135623730951, dtype)}, "z");
    inner = node(base + "Erf", "Erf", {quotient}, "y");
  }
  std::string one_plus = node(base + "add_1", "AddV2", {add_scalar(base + "one", 1, dtype), inner}, "z");
  std::string half_x = node(base + "mul_2", "Mul", {add_scalar(base + "half", 0.5, dtype), x}, "z");
  set_refs(index, {node(n.name, "Mul", {half_x, one_plus}, "z")});
}

void Emitter::emit_op(int index) {
  const Node& n = g_.nodes[static_cast<size_t>(index)];
  const std::string& op = n.op->name;
  if (op == op_name::Gelu) return emit_gelu(index);
  TfNode t;
  t.op = op;
  // The op's own inputs; then a tensor per attribute known only when it runs, which the rewrite places.
  const size_t own = n.inputs.size() - static_cast<size_t>(unresolved_attrs(*n.op, n.attrs));
  for (size_t i = 0; i < own; ++i) {
    // TensorFlow's list ops take int32 indices and sizes, where ember takes int64 too.
    static const std::unordered_set<std::string> int32_indices{
        "TensorListReserve", "TensorListSetItem", "TensorListGetItem", "TensorListGather",
        "TensorListScatterIntoExistingList", "TensorListResize"};
    DType dt = g_.spec(n.inputs[i]).dtype;
    bool narrow = dt == int64 && int32_indices.count(op);
    t.inputs.push_back(narrow ? add_cast(n.name + "/index_cast", ref(n.inputs[i]), int64, int32) : ref(n.inputs[i]));
  }
  attr_inputs_.clear();
  for (size_t i = own; const AttrDecl& d : n.op->attr_decls)
    if (d.may_be_input && !n.attrs.has(d.name)) {
      attr_inputs_[d.name] = {ref(n.inputs[i]), g_.spec(n.inputs[i]).dtype};
      ++i;
    }
  for (const auto& [name, value] : n.attrs.entries()) t.attrs[name] = attr_value(value);
  if (own > 0 && !no_t().count(op) && !n.op->passes_resources)
    t.attrs["T"] = type_attr(g_.spec(n.inputs[0]).dtype);
  auto it = rewrites().find(op);
  if (it != rewrites().end()) it->second(*this, n, g_, t);

  tf::NodeDef def;
  def.set_name(n.name);
  def.set_op(t.op);
  for (const std::string& in : t.inputs) def.add_input(in);
  for (int c : n.control_inputs) def.add_input("^" + g_.nodes[static_cast<size_t>(c)].name);
  for (auto& [k, v] : t.attrs) (*def.mutable_attr())[k] = v;
  nodes.push_back(def);

  for (const auto& [name, value] : n.attrs.entries())
    if (const auto* f = std::get_if<FunctionRef>(&value); f && *f) functions.push_back(*f);

  const OutputArgs& args = output_args(op);
  std::vector<std::string> refs;
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    EMBER_CHECK(args.list || i < args.names.size(), Internal, "[graph_def] op ", op, " has more outputs than names");
    const char* arg = args.list ? args.names[0] : args.names[i];
    int in_arg = args.list ? static_cast<int>(i) : 0;
    refs.push_back(node_ref(n.name, arg, static_cast<int>(i), in_arg));
  }
  set_refs(index, std::move(refs));
}

// The body of `g`: every node but the arguments and captures, whose
// references `emitter` already knows.
void emit_body(Emitter& e, const Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.kind == Node::Kind::Const) {
      e.reserve(n.name);
      e.nodes.push_back(tfproto::const_node(n.name, n.value));
      e.set_refs(static_cast<int>(i), {e.node_ref(n.name, "output", 0, 0)});
    } else if (n.kind == Node::Kind::Op) {
      e.reserve(n.name);
      e.emit_op(static_cast<int>(i));
    }
  }
}

std::vector<int> inputs_of(const Graph& g) {
  std::vector<int> in = g.arguments;
  in.insert(in.end(), g.captures.begin(), g.captures.end());
  return in;
}

// `g` as FunctionDef `name`. Its input args are the arguments, then the
// captures; `for_saved_model`: a captured tensor that is not a resource
// handle becomes a Const of its value instead, and resource args carry their
// variable's dtype and shape (handle data). `calls` gets the functions its
// control-flow nodes call.
tf::FunctionDef make_function(const Graph& g, const std::string& name, std::vector<FunctionRef>* calls,
                              bool for_saved_model = false) {
  tf::FunctionDef f;
  auto* sig = f.mutable_signature();
  sig->set_name(name);
  Emitter e(g, true);
  for (const Node& n : g.nodes) e.reserve(n.name);
  std::unordered_set<std::string> arg_names;
  for (int id : inputs_of(g)) {
    const Node& n = g.nodes[static_cast<size_t>(id)];
    DType dtype = n.outputs[0].dtype;
    bool capture = std::find(g.captures.begin(), g.captures.end(), id) != g.captures.end();
    if (for_saved_model && capture && dtype != resource) {
      e.nodes.push_back(tfproto::const_node(n.name, n.value));
      e.set_refs(id, {e.node_ref(n.name, "output", 0, 0)});
      continue;
    }
    std::string a = arg_name(n.name);
    for (int k = 1; !arg_names.insert(a).second; ++k) a = arg_name(n.name) + "_" + std::to_string(k);
    int index = sig->input_arg_size();
    auto* arg = sig->add_input_arg();
    arg->set_name(a);
    arg->set_type(tf_type(dtype));
    if (for_saved_model) {
      auto& attrs = *(*f.mutable_arg_attr())[static_cast<uint32_t>(index)].mutable_attr();
      attrs["_user_specified_name"].set_s(capture ? "resource" : n.name);
      if (!capture) set_shape(attrs["_output_shapes"].mutable_list()->add_shape(), n.outputs[0].shape);
      if (capture && n.value.defined() && std::dynamic_pointer_cast<VariableState>(n.value.impl()->resource)) {
        Variable v = Variable::from_handle(n.value);
        auto* hd = arg->add_handle_data();
        hd->set_dtype(tf_type(v.dtype()));
        set_shape(hd->mutable_shape(), v.shape());
      }
    }
    e.set_refs(id, {a});
  }
  emit_body(e, g);
  if (calls) calls->insert(calls->end(), e.functions.begin(), e.functions.end());
  for (auto& node : e.nodes) *f.add_node_def() = std::move(node);
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    std::string out = "output_" + std::to_string(i);
    auto* arg = sig->add_output_arg();
    arg->set_name(out);
    arg->set_type(tf_type(g.spec(g.outputs[i]).dtype));
    (*f.mutable_ret())[out] = e.ref(g.outputs[i]);
  }
  for (const Node& n : g.nodes)
    if (n.is_stateful()) sig->set_is_stateful(true);
  return f;
}

// Adds the functions `fns` name (and every function they call) to `lib`, once each.
void add_library(tf::FunctionDefLibrary* lib, std::unordered_set<std::string>& done, const std::vector<FunctionRef>& fns) {
  for (const FunctionRef& f : fns) {
    if (!done.insert(f->name()).second) continue;
    const auto* body = dynamic_cast<const TracedBody*>(f.get());
    EMBER_CHECK(body != nullptr, Unimplemented, "[graph_def] function ", f->name(), " is not a traced function");
    std::vector<FunctionRef> inner;
    *lib->add_function() = make_function(body->function().graph(), f->name(), &inner);
    add_library(lib, done, inner);
  }
}

void set_versions(tf::GraphDef& def) {
  def.mutable_versions()->set_producer(1286);
  def.mutable_versions()->set_min_consumer(0);
}

tf::NodeDef placeholder(const std::string& name, DType dtype, const TensorShape& shape) {
  tf::NodeDef p;
  p.set_name(name);
  p.set_op("Placeholder");
  (*p.mutable_attr())["dtype"] = type_attr(dtype);
  set_shape((*p.mutable_attr())["shape"].mutable_shape(), shape);
  return p;
}

tf::NodeDef identity(const std::string& name, const std::string& input, DType dtype) {
  tf::NodeDef n;
  n.set_name(name);
  n.set_op("Identity");
  n.add_input(input);
  (*n.mutable_attr())["T"] = type_attr(dtype);
  return n;
}

}  // namespace

TensorFlowOutputArgs tensorflow_output_args(const std::string& op) {
  const OutputArgs& a = output_args(op);
  return {std::vector<std::string>(a.names.begin(), a.names.end()), a.list};
}

std::string graph_def(const Graph& g) {
  tf::GraphDef def;
  set_versions(def);
  Emitter e(g, false);
  for (const Node& n : g.nodes) e.reserve(n.name);
  for (int id : inputs_of(g)) {
    const Node& n = g.nodes[static_cast<size_t>(id)];
    *def.add_node() = placeholder(n.name, n.outputs[0].dtype, n.outputs[0].shape);
    e.set_refs(id, {n.name});
  }
  emit_body(e, g);
  for (auto& node : e.nodes) *def.add_node() = std::move(node);
  for (size_t i = 0; i < g.outputs.size(); ++i)
    *def.add_node() = identity(e.unique("output_" + std::to_string(i)), e.ref(g.outputs[i]), g.spec(g.outputs[i]).dtype);
  std::unordered_set<std::string> done;
  add_library(def.mutable_library(), done, e.functions);
  return def.SerializeAsString();
}

void add_saved_function(tensorflow::FunctionDefLibrary& library, std::unordered_set<std::string>& done,
                        const Graph& g, const std::string& name) {
  if (!done.insert(name).second) return;
  std::vector<FunctionRef> calls;
  *library.add_function() = make_function(g, name, &calls, /*for_saved_model=*/true);
  add_library(&library, done, calls);
}

std::string function_def(const Graph& g, const std::string& name) {
  return make_function(g, name, nullptr).SerializeAsString();
}

std::string graph_def_calling(const Graph& g, const std::string& name) {
  tf::GraphDef def;
  set_versions(def);
  std::vector<FunctionRef> calls;
  *def.mutable_library()->add_function() = make_function(g, name, &calls);
  std::unordered_set<std::string> done{name};
  add_library(def.mutable_library(), done, calls);
  tf::NodeDef call;
  call.set_name("call");
  call.set_op("StatefulPartitionedCall");
  auto* tin = (*call.mutable_attr())["Tin"].mutable_list();
  auto* tout = (*call.mutable_attr())["Tout"].mutable_list();
  (*call.mutable_attr())["f"].mutable_func()->set_name(name);
  for (int id : inputs_of(g)) {
    const Node& n = g.nodes[static_cast<size_t>(id)];
    *def.add_node() = placeholder(n.name, n.outputs[0].dtype, n.outputs[0].shape);
    call.add_input(n.name);
    tin->add_type(tf_type(n.outputs[0].dtype));
  }
  for (NodeOutput o : g.outputs) tout->add_type(tf_type(g.spec(o).dtype));
  *def.add_node() = call;
  for (size_t i = 0; i < g.outputs.size(); ++i)
    *def.add_node() = identity("output_" + std::to_string(i), i == 0 ? "call" : "call:" + std::to_string(i),
                               g.spec(g.outputs[i]).dtype);
  return def.SerializeAsString();
}

}  // namespace ember
