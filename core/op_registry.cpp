#include "core/op_registry.h"

#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "core/context.h"
#include "core/indexed_slices.h"
#include "core/logging.h"
#include "core/ops.h"

namespace ember {

// ---- Attrs -----------------------------------------------------------------

Attrs& Attrs::set(std::string name, AttrValue value) {
  for (auto& [k, v] : entries_) {
    if (k == name) {
      v = std::move(value);
      return *this;
    }
  }
  entries_.emplace_back(std::move(name), std::move(value));
  return *this;
}

Attrs& Attrs::erase(std::string_view name) {
  std::erase_if(entries_, [&](const auto& e) { return e.first == name; });
  return *this;
}

void Attrs::missing(std::string_view name) const {
  throw Internal(detail::str_cat("[attrs] attribute '", name, "' missing or of another type in {",
                                 to_string(), "}"));
}

std::string Attrs::to_string() const {
  std::ostringstream os;
  bool first = true;
  for (const auto& [k, v] : entries_) {
    if (!first) os << ", ";
    first = false;
    os << k << '=';
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            os << '[';
            for (size_t i = 0; i < x.size(); ++i) os << (i ? "," : "") << x[i];
            os << ']';
          } else if constexpr (std::is_same_v<T, DType>) {
            os << dtype_name(x);
          } else if constexpr (std::is_same_v<T, bool>) {
            os << (x ? "true" : "false");
          } else if constexpr (std::is_same_v<T, FunctionRef>) {
            os << (x ? x->name() : std::string("<none>"));
          } else {
            os << x;
          }
        },
        v);
  }
  return os.str();
}

void Attrs::append_key(std::string& out) const {
  auto raw = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  for (const auto& [k, v] : entries_) {
    out.append(k).push_back('=');
    out.push_back(static_cast<char>('0' + v.index()));
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            int64_t n = static_cast<int64_t>(x.size());
            raw(&n, sizeof n);
            if (!x.empty()) raw(x.data(), x.size() * sizeof(int64_t));
          } else if constexpr (std::is_same_v<T, std::string>) {
            uint64_t n = x.size();
            raw(&n, sizeof n);
            out.append(x);
          } else if constexpr (std::is_same_v<T, TensorShape>) {
            out.append(x.to_string());
          } else if constexpr (std::is_same_v<T, FunctionRef>) {
            const void* id = x.get();
            raw(&id, sizeof id);
          } else {  // bool, int64_t, double, DType: their bytes
            raw(&x, sizeof x);
          }
        },
        v);
    out.push_back(';');
  }
}

// ---- registry --------------------------------------------------------------

namespace {
struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<OpDef>, std::less<>> ops;
};
Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: ops outlive static destructors
  return *r;
}
}  // namespace

const char* InferContext::api() const { return api_name_for(op); }

const char* api_name_for(const OpDef& op) {
  if (const char* outer = context().api) return outer;
  return op.api_name.empty() ? op.name.c_str() : op.api_name.c_str();
}

ApiScope::ApiScope(const char* name) : owner_(context().api == nullptr) {
  if (owner_) context().api = name;
}
ApiScope::~ApiScope() {
  if (owner_) context().api = nullptr;
}

const char* attr_kind_name(AttrKind k) {
  switch (k) {
    case AttrKind::Bool:
      return "bool";
    case AttrKind::Int:
      return "int";
    case AttrKind::Float:
      return "float";
    case AttrKind::Type:
      return "type";
    case AttrKind::String:
      return "string";
    case AttrKind::Ints:
      return "list(int)";
    case AttrKind::Shape:
      return "shape";
    case AttrKind::Func:
      return "func";
  }
  return "?";
}

int unresolved_attrs(const OpDef& op, const Attrs& attrs) {
  int n = 0;
  for (const AttrDecl& d : op.attr_decls)
    if (d.may_be_input && !attrs.has(d.name)) ++n;
  return n;
}

AttrValue attr_from_tensor(const OpDef& op, const AttrDecl& decl, const Tensor& t) {
  const bool scalar = decl.kind == AttrKind::Int || decl.kind == AttrKind::Float;
  const bool integral = t.dtype() == int32 || t.dtype() == int64;
  if (!(integral || (decl.kind == AttrKind::Float && is_floating(t.dtype()))) || t.impl()->symbolic ||
      (scalar ? t.rank() != 0 : t.rank() > 1)) [[unlikely]]
    throw InvalidArgument(detail::str_cat("[", api_name_for(op), "] ", decl.name, " must be ",
                                          scalar ? "a scalar" : "a vector", " of ",
                                          decl.kind == AttrKind::Float ? "numbers" : "int32 or int64",
                                          ", got a ", dtype_name(t.dtype()), " tensor of shape ",
                                          t.shape().to_debug_string()));
  // Read eagerly and unrecorded, whatever traces or tapes are active.
  Context& ctx = context();
  TraceHook* tracer = std::exchange(ctx.tracer, nullptr);
  TapeHook* tapes = std::exchange(ctx.tapes, nullptr);
  struct Restore {
    Context& c;
    TraceHook* tracer;
    TapeHook* tapes;
    ~Restore() { c.tracer = tracer, c.tapes = tapes; }
  } restore{ctx, tracer, tapes};
  Tensor host = t.to(Device::cpu());
  if (decl.kind == AttrKind::Float) return cast(host, float64).item<double>();
  std::vector<int64_t> ints = host.dtype() == int64 ? host.to_vector<int64_t>() : cast(host, int64).to_vector<int64_t>();
  if (decl.kind == AttrKind::Int) return ints[0];
  if (decl.kind == AttrKind::Shape) return TensorShape(ints);
  return ints;
}

void check_signature(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs) {
  // The op's own inputs, then a tensor per may_be_input attribute left out.
  const int unresolved = unresolved_attrs(op, attrs);
  const int n = static_cast<int>(inputs.size()) - unresolved;
  if (unresolved > 0 && (op.variadic ? n < op.num_inputs : n != op.num_inputs)) [[unlikely]] {
    std::string missing;
    for (const AttrDecl& d : op.attr_decls)
      if (d.may_be_input && !attrs.has(d.name))
        missing += detail::str_cat(missing.empty() ? "" : ", ", "'", d.name, "' (", attr_kind_name(d.kind), ")");
    throw InvalidArgument(detail::str_cat("[", api_name_for(op), "] op ", op.name, " needs attribute ", missing,
                                          ", or a tensor holding it after its ", op.variadic ? "at least " : "",
                                          op.num_inputs, " input", op.num_inputs == 1 ? "" : "s", "; got ",
                                          inputs.size(), " input", inputs.size() == 1 ? "" : "s"));
  }
  if (op.variadic ? n < op.num_inputs : n != op.num_inputs) [[unlikely]]
    throw InvalidArgument(detail::str_cat("[", api_name_for(op), "] op ", op.name, " takes ",
                                          op.variadic ? "at least " : "", op.num_inputs,
                                          " input", op.num_inputs == 1 ? "" : "s", ", got ", n));
  for (int i = 0; i < static_cast<int>(inputs.size()); ++i) {
    const Tensor& t = inputs[static_cast<size_t>(i)];
    if (!t.defined()) [[unlikely]]
      throw InvalidArgument(detail::str_cat("[", api_name_for(op), "] input ", i,
                                            " is an empty Tensor handle"));
    if (!op.passes_resources && (t.dtype() == resource) != (i < op.resource_inputs)) [[unlikely]]
      throw InvalidArgument(detail::str_cat(
          "[", api_name_for(op), "] input ", i,
          t.dtype() == resource ? " is a resource handle; read the variable's value first"
                                : " must be a resource handle (a variable), got ",
          t.dtype() == resource ? "" : dtype_name(t.dtype())));
  }
  if (!op.attr_decls.empty() || !attrs.entries().empty()) {
    for (const AttrDecl& d : op.attr_decls) {
      const AttrValue* v = nullptr;
      for (const auto& [k, val] : attrs.entries())
        if (k == d.name) v = &val;
      if (!v && d.may_be_input) continue;  // passed as a tensor
      if (!v)
        throw InvalidArgument(detail::str_cat("[", api_name_for(op), "] op ", op.name,
                                              " needs attribute '", d.name, "' (",
                                              attr_kind_name(d.kind), ")"));
      if (v->index() != static_cast<size_t>(d.kind))
        throw InvalidArgument(detail::str_cat(
            "[", api_name_for(op), "] attribute '", d.name, "' of op ", op.name, " must be ",
            attr_kind_name(d.kind), ", got ", attr_kind_name(static_cast<AttrKind>(v->index()))));
    }
    for (const auto& [k, val] : attrs.entries()) {
      bool declared = false;
      for (const AttrDecl& d : op.attr_decls) declared = declared || d.name == k;
      if (!declared)
        throw InvalidArgument(detail::str_cat("[", api_name_for(op), "] op ", op.name,
                                              " has no attribute '", k, "'"));
    }
  }
}

OpDef& op_registry_slot(std::string_view name) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.ops.find(name);
  if (it == r.ops.end()) {
    auto def = std::make_unique<OpDef>();
    def->name = std::string(name);
    it = r.ops.emplace(std::string(name), std::move(def)).first;
  }
  return *it->second;
}

OpDef& define_op(std::string_view name) {
  OpDef& def = op_registry_slot(name);
  EMBER_CHECK(def.infer == nullptr, Internal, "[registry] op ", name, " defined twice");
  return def;
}

const OpDef& op_def(std::string_view name) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.ops.find(name);
  EMBER_CHECK(it != r.ops.end() && it->second->infer, NotFound, "[registry] no op named '", name,
              "'");
  return *it->second;
}

std::vector<const OpDef*> registered_ops() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<const OpDef*> out;
  for (auto& [name, def] : r.ops)
    if (def->infer) out.push_back(def.get());
  return out;
}

std::vector<const OpDef*> registry_slots() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<const OpDef*> out;
  for (auto& [name, def] : r.ops) out.push_back(def.get());
  return out;
}

void register_kernel(std::string_view op, DeviceKind kind, KernelFn fn) {
  OpDef& def = op_registry_slot(op);
  EMBER_CHECK(def.kernels[static_cast<int>(kind)] == nullptr, Internal, "[registry] two ",
              device_kind_name(kind), " kernels for op ", op);
  def.kernels[static_cast<int>(kind)] = fn;
}

void register_start(std::string_view op, StartFn fn) {
  OpDef& def = op_registry_slot(op);
  EMBER_CHECK(def.start == nullptr, Internal, "[registry] two start functions for op ", op);
  def.start = fn;
}

void register_gradient(std::string_view op, GradFn fn) {
  OpDef& def = op_registry_slot(op);
  def.grad = std::move(fn);
  def.differentiability = Differentiability::Differentiable;
}

void register_gradient_uses(std::string_view op, uint8_t uses) {
  op_registry_slot(op).grad_uses = uses;
}

void register_not_differentiable(std::string_view op) {
  op_registry_slot(op).differentiability = Differentiability::NotDifferentiable;
}

// ---- dispatch --------------------------------------------------------------

namespace {
// Inference of a checked call; with a may_be_input attribute still a tensor
// (only in a trace), the shapes wait for its value.
void infer_checked(InferContext& c) {
  if (unresolved_attrs(c.op, c.attrs) == 0)
    c.op.infer(c);
  else if (c.op.infer_unresolved)
    c.op.infer_unresolved(c);
  else
    c.outputs.push_back({c.inputs[0].dtype(), TensorShape::unknown_rank()});
}
}  // namespace

std::vector<OutputSpec> infer_outputs(const OpDef& op, std::span<const Tensor> inputs,
                                      const Attrs& attrs) {
  check_signature(op, inputs, attrs);
  std::vector<OutputSpec> specs;
  InferContext ictx{op, inputs, attrs, specs};
  infer_checked(ictx);
  return specs;
}

namespace {

// The device an op runs on: a resource's (variable ops run where the variable
// lives), else the innermost DeviceScope's, else its first input's, else the
// default device.
Device placement(std::span<const Tensor> inputs) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.dtype() == resource) return t.device();
  const Context& ctx = context();
  if (ctx.has_device_scope) return ctx.device_scope;
  for (const Tensor& t : inputs)
    if (t.defined()) return t.device();
  return default_device();
}

// What every concrete output must be, whatever its inference computed: a
// known shape with no negative dimension whose element count and byte size
// fit in 64 bits. Inference should have said why first; this is the net.
void check_concrete_outputs(const InferContext& c, std::span<const OutputSpec> specs) {
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorShape& s = specs[i].shape;
    if (!s.is_fully_defined()) [[unlikely]]
      c.fail("output ", i, " would have shape ", s.to_debug_string(),
             ", which has an unknown or negative dimension");
    if (!byte_size(s, specs[i].dtype)) [[unlikely]]
      c.fail("output ", i, " of shape ", s.to_debug_string(), " and dtype ",
             dtype_name(specs[i].dtype), " is too large: its size overflows 64 bits");
  }
}

}  // namespace

namespace {

// Inputs on another device than the op's are copied over, as TensorFlow's
// eager mode does: `inputs` itself, or `moved` holding the copies.
std::span<const Tensor> on_device(const OpDef& op, std::span<const Tensor> inputs, Device device,
                                  std::vector<Tensor>& moved) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].defined() && !(inputs[i].device() == device) && is_computable(inputs[i].dtype())) {
      if (moved.empty()) moved.assign(inputs.begin(), inputs.end());
      EMBER_LOG_DEBUG("[{}] copying input {} from {} to {}", api_name_for(op), i,
                      inputs[i].device().to_string(), device.to_string());
      moved[i] = detail::copy_to_device(inputs[i], device);
    }
  }
  return moved.empty() ? inputs : std::span<const Tensor>(moved);
}

}  // namespace

FinishFn start_op(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs,
                  std::span<const OutputSpec> specs) {
  Context& ctx = context();
  const Device device = placement(inputs);
  std::vector<Tensor> moved;
  std::span<const Tensor> kin = on_device(op, inputs, device, moved);
  std::vector<Tensor> no_outputs;
  FinishFn finish;
  {
    KernelScope scope(ctx, device, api_name_for(op));
    KernelContext kctx{op, kin, no_outputs, attrs, device, specs};
    finish = op.start(kctx);
  }
  return [&op, device, finish = std::move(finish)] {
    KernelScope scope(context(), device, api_name_for(op));
    return finish();
  };
}

std::vector<Tensor> run_op(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs,
                           std::span<const OutputSpec> specs) {
  Context& ctx = context();
  std::vector<Tensor> outputs;
  Device device = placement(inputs);
  KernelFn kernel = op.kernels[static_cast<int>(device.kind())];
  EMBER_CHECK(kernel != nullptr, Unimplemented, "[", api_name_for(op), "] op ", op.name, " has no ",
              device_kind_name(device.kind()), " kernel");
  std::vector<Tensor> moved;
  std::span<const Tensor> kin = on_device(op, inputs, device, moved);
  // A kernel may call other ops (a reduction transposes first): those are
  // implementation details, not recorded, and they run on the kernel's
  // device whatever scope the caller is in.
  // Errors they raise name the op the user called.
  KernelScope scope(ctx, device, api_name_for(op));
  // Allocators name ctx.api when they fail.
  if (op.allocates_outputs) {
    outputs.resize(specs.size());
  } else {
    outputs.reserve(specs.size());
    for (const auto& s : specs) outputs.push_back(Tensor::empty(s.shape, s.dtype, device));
  }
  KernelContext kctx{op, kin, outputs, attrs, device, specs};
  kernel(kctx);
  if (op.data_dependent_shapes)
    for (size_t i = 0; i < outputs.size(); ++i)
      EMBER_CHECK(outputs[i].defined() && outputs[i].dtype() == specs[i].dtype &&
                      outputs[i].shape().is_compatible_with(specs[i].shape),
                  Internal, "[", api_name_for(op), "] output ", i, " is ",
                  outputs[i].defined() ? dtype_name(outputs[i].dtype()) : "undefined", " ",
                  outputs[i].defined() ? outputs[i].shape().to_string() : "", ", inferred as ",
                  dtype_name(specs[i].dtype), " ", specs[i].shape.to_string());
  return outputs;
}

namespace {

// A call passing may_be_input attributes as tensors: those whose values are
// known (every one, eagerly) become attributes again. True when it changed
// the call.
bool resolve_attr_inputs(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs,
                         std::vector<Tensor>& resolved_inputs, Attrs& resolved_attrs) {
  const int unresolved = unresolved_attrs(op, attrs);
  if (unresolved == 0) return false;
  check_signature(op, inputs, attrs);
  const size_t own = inputs.size() - static_cast<size_t>(unresolved);
  resolved_inputs.assign(inputs.begin(), inputs.begin() + static_cast<std::ptrdiff_t>(own));
  resolved_attrs = attrs;
  bool changed = false;
  size_t next = own;
  std::vector<Tensor> still;
  for (const AttrDecl& d : op.attr_decls) {
    if (!d.may_be_input || attrs.has(d.name)) continue;
    const Tensor& t = inputs[next++];
    if (t.impl()->symbolic) {
      still.push_back(t);
      continue;
    }
    resolved_attrs.set(d.name, attr_from_tensor(op, d, t));
    changed = true;
  }
  resolved_inputs.insert(resolved_inputs.end(), still.begin(), still.end());
  return changed;
}

}  // namespace

std::vector<Tensor> execute(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs) {
  // A gradient held as rows (core/indexed_slices.h) is its dense value to every op.
  for (const Tensor& t : inputs)
    if (detail::is_unmade_rows(t)) [[unlikely]] {
      std::vector<Tensor> dense(inputs.begin(), inputs.end());
      for (Tensor& d : dense) d = dense_value(d);
      return execute(op, dense, attrs);
    }
  if (!op.attr_decls.empty()) {
    std::vector<Tensor> resolved_inputs;
    Attrs resolved_attrs;
    if (resolve_attr_inputs(op, inputs, attrs, resolved_inputs, resolved_attrs))
      return execute(op, resolved_inputs, resolved_attrs);
  }
  check_signature(op, inputs, attrs);
  std::vector<OutputSpec> specs;
  specs.reserve(1);
  InferContext ictx{op, inputs, attrs, specs};
  infer_checked(ictx);  // (unresolved attributes only in a trace: concrete ones were resolved above)

  Context& ctx = context();
  std::vector<Tensor> outputs;
  // 1. Trace or run.
  if (ctx.tracer) {
    outputs = ctx.tracer->add_node(op, inputs, attrs, specs);
  } else {
    if (!op.data_dependent_shapes) check_concrete_outputs(ictx, specs);
    for (const Tensor& t : inputs)
      if (t.impl()->symbolic) [[unlikely]]
        ictx.fail("an input is a symbolic tensor of a traced function, used outside its trace");
    outputs = run_op(op, inputs, attrs, specs);
  }
  // 2. Record.
  if (ctx.tapes) ctx.tapes->record(op, inputs, outputs, attrs);
  // 3. Return: no synchronisation.
  return outputs;
}

void unsupported_dtype(const KernelContext& c, DType t) {
  throw Unimplemented(detail::str_cat("[", api_name_for(c.op), "] op ", c.op.name, " has no ",
                                      device_kind_name(c.device.kind()), " kernel for dtype ",
                                      dtype_name(t)));
}

Tensor execute1(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs) {
  auto outs = execute(op, inputs, attrs);
  return std::move(outs[0]);
}

}  // namespace ember
