#include "graph/executor.h"

#include "core/random.h"

namespace ember {
namespace {

// Rethrows the error being handled with `where` in front, keeping its kind.
[[noreturn]] void rethrow_at(const std::string& where) {
  try {
    throw;
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(where + e.what());
  } catch (const NotFound& e) {
    throw NotFound(where + e.what());
  } catch (const FailedPrecondition& e) {
    throw FailedPrecondition(where + e.what());
  } catch (const OutOfRange& e) {
    throw OutOfRange(where + e.what());
  } catch (const DataLoss& e) {
    throw DataLoss(where + e.what());
  } catch (const ResourceExhausted& e) {
    throw ResourceExhausted(where + e.what());
  } catch (const Unimplemented& e) {
    throw Unimplemented(where + e.what());
  } catch (const Internal& e) {
    throw Internal(where + e.what());
  }
}

}  // namespace

Executor::Executor(const Graph& graph) : graph_(graph) {
  const auto& nodes = graph.nodes;
  slot_base_.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    slot_base_[i] = num_slots_;
    num_slots_ += static_cast<int>(nodes[i].outputs.size());
  }
  auto slot = [&](NodeOutput o) { return slot_base_[static_cast<size_t>(o.node)] + o.index; };
  // Last use of each slot, by step; outputs of the function are never released.
  std::vector<int> last_use(static_cast<size_t>(num_slots_), -1);
  std::vector<bool> pinned(static_cast<size_t>(num_slots_), false);
  for (NodeOutput o : graph.outputs) {
    output_slots_.push_back(slot(o));
    pinned[static_cast<size_t>(slot(o))] = true;
  }
  random_attrs_.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.kind != Node::Kind::Op) {
      if (n.value.defined()) preset_.push_back({slot_base_[i], static_cast<int>(i)});
      continue;
    }
    Step s;
    s.node = static_cast<int>(i);
    for (NodeOutput o : n.inputs) s.in_slots.push_back(slot(o));
    s.out_slot = slot_base_[i];
    s.static_specs = true;
    for (const OutputSpec& spec : n.outputs) s.static_specs = s.static_specs && spec.shape.is_fully_defined();
    s.random = n.op->stateful && n.attrs.has("offset");
    if (s.random) random_attrs_[i] = n.attrs;
    int step = static_cast<int>(steps_.size());
    for (int in : s.in_slots) last_use[static_cast<size_t>(in)] = step;
    // An output nothing reads is released at once; a later reader moves this on.
    for (size_t k = 0; k < n.outputs.size(); ++k) last_use[static_cast<size_t>(s.out_slot) + k] = step;
    steps_.push_back(std::move(s));
  }
  for (int sl = 0; sl < num_slots_; ++sl)
    if (last_use[static_cast<size_t>(sl)] >= 0 && !pinned[static_cast<size_t>(sl)])
      steps_[static_cast<size_t>(last_use[static_cast<size_t>(sl)])].release.push_back(sl);
}

std::vector<Tensor> Executor::run(std::span<const Tensor> arguments) {
  std::vector<Tensor> slots(static_cast<size_t>(num_slots_));
  for (size_t i = 0; i < graph_.arguments.size(); ++i)
    slots[static_cast<size_t>(slot_base_[static_cast<size_t>(graph_.arguments[i])])] = arguments[i];
  for (auto [sl, node] : preset_) slots[static_cast<size_t>(sl)] = graph_.nodes[static_cast<size_t>(node)].value;
  const Context& ctx = context();
  return run_steps(slots, ctx.tracer == nullptr && ctx.tapes == nullptr);
}

std::vector<Tensor> Executor::run_steps(std::vector<Tensor>& slots, bool direct) {
  std::vector<Tensor> in;
  for (const Step& s : steps_) {
    const Node& n = graph_.nodes[static_cast<size_t>(s.node)];
    in.clear();
    for (int sl : s.in_slots) in.push_back(slots[static_cast<size_t>(sl)]);
    try {
      std::vector<Tensor> out;
      if (s.random) {
        // The node's stream continues from its last draw, whichever thread calls.
        std::lock_guard<std::mutex> lock(random_mu_);
        Attrs& attrs = random_attrs_[static_cast<size_t>(s.node)];
        out = direct && s.static_specs ? run_op(*n.op, in, attrs, n.outputs) : execute(*n.op, in, attrs);
        random::advance_stream(attrs, out[0].num_elements());
      } else if (direct && s.static_specs) {
        out = run_op(*n.op, in, n.attrs, n.outputs);
      } else {
        out = execute(*n.op, in, n.attrs);
      }
      for (size_t k = 0; k < out.size(); ++k) slots[static_cast<size_t>(s.out_slot) + k] = std::move(out[k]);
    } catch (const Error&) {
      rethrow_at("[function] node '" + n.name + "' (" + n.op->name + "): ");
    }
    for (int sl : s.release) slots[static_cast<size_t>(sl)] = Tensor();
  }
  std::vector<Tensor> outputs;
  outputs.reserve(output_slots_.size());
  for (int sl : output_slots_) outputs.push_back(slots[static_cast<size_t>(sl)]);
  return outputs;
}

}  // namespace ember
