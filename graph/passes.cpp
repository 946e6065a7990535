#include "graph/passes.h"

#include <cstring>
#include <map>

#include "core/op_names.h"

namespace ember::passes {
namespace {

// Every node kept: what a pass that only redirects starts from.
std::vector<bool> all(const Graph& g) { return std::vector<bool>(g.nodes.size(), true); }

}  // namespace

void remove_identities(Graph& g) {
  std::unordered_map<int64_t, NodeOutput> replace;
  std::vector<bool> keep = all(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.kind != Node::Kind::Op || n.op->name != op_name::Identity || !n.control_inputs.empty()) continue;
    replace[output_key({static_cast<int>(i), 0})] = n.inputs[0];
    keep[i] = false;
  }
  if (!replace.empty()) g.rebuild(keep, replace);
}

void fold_constants(Graph& g, int64_t max_elements) {
  InitScope eager;
  for (Node& n : g.nodes) {
    if (n.kind != Node::Kind::Op || n.op->stateful || n.outputs.size() != 1 || n.op->resource_inputs > 0 ||
        !is_computable(n.outputs[0].dtype))  // a list stays an op: a GraphDef has no constant of it
      continue;
    const TensorShape& shape = n.outputs[0].shape;
    if (!shape.is_fully_defined() || shape.num_elements() > max_elements) continue;
    bool constant_inputs = true;
    std::vector<Tensor> in;
    for (NodeOutput o : n.inputs) {
      const Node& src = g.nodes[static_cast<size_t>(o.node)];
      if (src.kind != Node::Kind::Const) {
        constant_inputs = false;
        break;
      }
      in.push_back(src.value);
    }
    if (!constant_inputs) continue;
    // A kernel error is the node's to raise when (if) it runs: an untaken
    // branch may hold an op that fails (TensorFlow leaves such a node alone).
    Tensor folded;
    try {
      folded = execute1(*n.op, in, n.attrs);
    } catch (const Error&) {
      continue;
    }
    n.value = std::move(folded);
    n.kind = Node::Kind::Const;
    n.op = nullptr;
    n.inputs.clear();
    n.attrs = Attrs{};
  }
}

void eliminate_common_subexpressions(Graph& g) {
  std::unordered_map<int64_t, NodeOutput> replace;
  std::vector<bool> keep = all(g);
  std::map<std::string, int> seen;
  auto current = [&](NodeOutput o) {
    auto it = replace.find(output_key(o));
    return it == replace.end() ? o : it->second;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    std::string key;
    if (n.kind == Node::Kind::Const) {
      if (!n.value.device().is_cpu() || n.value.num_elements() > kCaptureByValueLimit) continue;
      // (appended piece by piece: GCC 12 warns falsely on a chain of string +)
      key = "Const ";
      key.append(dtype_name(n.value.dtype()));
      key.append(n.value.shape().to_string());
      key.append(static_cast<const char*>(n.value.raw_data()), n.value.nbytes());
    } else if (n.kind == Node::Kind::Op && !n.op->stateful && n.op->resource_inputs == 0) {
      // (Reads of a variable are never merged: an assignment may come between.)
      key = n.op->name;
      n.attrs.append_key(key);
      for (NodeOutput& o : n.inputs) {
        o = current(o);
        key.append(" ").append(std::to_string(o.node)).append(":").append(std::to_string(o.index));
      }
    } else {
      for (NodeOutput& o : n.inputs) o = current(o);
      continue;
    }
    auto [it, fresh] = seen.try_emplace(key, static_cast<int>(i));
    if (fresh) continue;
    for (size_t k = 0; k < n.outputs.size(); ++k)
      replace[output_key({static_cast<int>(i), static_cast<int>(k)})] = {it->second, static_cast<int>(k)};
    keep[i] = false;
  }
  if (!replace.empty()) g.rebuild(keep, replace);
}

void remove_dead_nodes(Graph& g) {
  std::vector<bool> live(g.nodes.size(), false);
  std::vector<int> stack;
  for (NodeOutput o : g.outputs) stack.push_back(o.node);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].is_stateful()) stack.push_back(static_cast<int>(i));
  for (int a : g.arguments) live[static_cast<size_t>(a)] = true;
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (live[static_cast<size_t>(id)]) continue;
    live[static_cast<size_t>(id)] = true;
    const Node& n = g.nodes[static_cast<size_t>(id)];
    for (NodeOutput o : n.inputs)
      if (!live[static_cast<size_t>(o.node)]) stack.push_back(o.node);
    for (int c : n.control_inputs)
      if (!live[static_cast<size_t>(c)]) stack.push_back(c);
  }
  g.rebuild(live);
}

void optimize(Graph& g) {
  remove_identities(g);
  fold_constants(g);
  eliminate_common_subexpressions(g);
  remove_dead_nodes(g);
}

}  // namespace ember::passes
