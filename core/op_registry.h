// The op registry and the one dispatch point.
//
// Every op is described once by an OpDef: its TensorFlow name and attributes,
// its shape and dtype inference (which also validates the arguments, so an
// error names the op and what it got), one kernel per device kind
// (registered from kernels/), and its gradient (registered from autograd/).
// `execute` is the only way an op runs: it traces or runs, then offers the op
// to the active tapes, then returns without waiting for the device.
#pragma once

#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace ember {

/// What inference produces per output.
struct OutputSpec {
  DType dtype;
  TensorShape shape;
};

/// A traced function an op calls (the branches of If, the condition and
/// body of While): graph/'s ConcreteFunction behind an interface core can
/// hold, as TensorFlow's `func` attributes name a library function.
class FunctionBody {
 public:
  virtual ~FunctionBody() = default;
  virtual const std::string& name() const = 0;
  /// Runs it on its inputs (one per input spec).
  virtual std::vector<Tensor> call(std::span<const Tensor> inputs) const = 0;
  virtual std::vector<OutputSpec> input_specs() const = 0;
  virtual std::vector<OutputSpec> output_specs() const = 0;
  /// Whether it runs a stateful op (an assignment, a random draw, print).
  virtual bool stateful() const = 0;
  /// Its gradient as a function of (its inputs, a gradient per output) that
  /// returns a gradient per input (zeros where none flows; a float32 zero
  /// for an input that takes none). Built on first use, from `inputs` (a
  /// call's, whose variable handles give the variables' dtypes and shapes).
  virtual std::shared_ptr<const FunctionBody> gradient(std::span<const Tensor> inputs) const = 0;
  /// Runs `while cond(vars): vars = this(vars)` itself, faster than two
  /// calls per iteration (graph/'s traced bodies fuse the condition into
  /// the body's plan). False where it cannot: the caller then loops.
  virtual bool run_while(const FunctionBody& cond, std::vector<Tensor>& vars) const {
    (void)cond;
    (void)vars;
    return false;
  }
};
using FunctionRef = std::shared_ptr<const FunctionBody>;

using AttrValue = std::variant<bool, int64_t, double, DType, std::string, std::vector<int64_t>,
                               TensorShape, FunctionRef>;

/// Named attribute values of one op call (`transpose_a`, `keep_dims`, ...).
class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> init) : entries_(init) {}

  Attrs& set(std::string name, AttrValue value);
  Attrs& erase(std::string_view name);
  bool has(std::string_view name) const { return find(name) != nullptr; }
  template <typename T>
  const T& get(std::string_view name) const {
    const AttrValue* v = find(name);
    if (!v || !std::holds_alternative<T>(*v)) missing(name);
    return std::get<T>(*v);
  }
  template <typename T>
  T get_or(std::string_view name, T fallback) const {
    const AttrValue* v = find(name);
    return v && std::holds_alternative<T>(*v) ? std::get<T>(*v) : fallback;
  }
  const std::vector<std::pair<std::string, AttrValue>>& entries() const { return entries_; }
  std::string to_string() const;
  /// Appends a key equal for equal attributes only: doubles by their bits
  /// (two alphas equal to six digits are two keys), functions by identity.
  void append_key(std::string& out) const;

 private:
  const AttrValue* find(std::string_view name) const {
    for (const auto& [k, v] : entries_)
      if (k == name) return &v;
    return nullptr;
  }
  [[noreturn]] void missing(std::string_view name) const;
  std::vector<std::pair<std::string, AttrValue>> entries_;
};

struct OpDef;


/// Inference: reads the inputs' dtypes and (possibly partial) shapes and the
/// attributes, validates them, and appends one OutputSpec per output.
struct InferContext {
  const OpDef& op;
  std::span<const Tensor> inputs;
  const Attrs& attrs;
  std::vector<OutputSpec>& outputs;

  /// Throws InvalidArgument "[api_name] message".
  template <typename... Args>
  [[noreturn]] void fail(const Args&... args) const;
  const char* api() const;
};

/// A kernel: reads `inputs`, writes the preallocated `outputs` (same device).
/// An op that `allocates_outputs` gets them undefined, with their inferred
/// `specs`, and sets them itself.
struct KernelContext {
  const OpDef& op;
  std::span<const Tensor> inputs;
  std::span<Tensor> outputs;
  const Attrs& attrs;
  Device device;
  std::span<const OutputSpec> specs;
};

/// Throws Unimplemented: the kernel has no instance for dtype `t` (the
/// fall-through of every EMBER_SWITCH_* in a kernel).
[[noreturn]] void unsupported_dtype(const KernelContext& c, DType t);

/// What a gradient function receives: the forward op's inputs, outputs and
/// attributes, and the gradient flowing into each output (undefined where no
/// gradient flows). It returns one gradient per input (undefined for none).
struct GradContext {
  const OpDef& op;
  std::span<const Tensor> inputs;
  std::span<const Tensor> outputs;
  std::span<const Tensor> output_grads;
  const Attrs& attrs;
  /// Per input, whether anything asked for depends on it (TensorFlow's
  /// skip_input_indices, inverted); null: every input. A gradient may skip
  /// computing what no one needs (a convolution's input gradient for the
  /// data), returning an undefined tensor there.
  const std::vector<bool>* needed = nullptr;
  bool needs_grad(size_t i) const { return !needed || (*needed)[i]; }
  /// The forward op's input `i`, its first input and first output, and the
  /// gradient flowing into its first output.
  const Tensor& in(size_t i) const { return inputs[i]; }
  const Tensor& x() const { return inputs[0]; }
  const Tensor& y() const { return outputs[0]; }
  const Tensor& grad() const { return output_grads[0]; }
};

/// The kinds of attribute value, in AttrValue's order.
enum class AttrKind : uint8_t { Bool, Int, Float, Type, String, Ints, Shape, Func };
/// "bool", "int", "float", "type", "string", "list(int)", "shape", "func" (TensorFlow's names).
const char* attr_kind_name(AttrKind k);

/// One attribute an op takes. Every declared attribute is required: the
/// dispatch point refuses a call that lacks one, has another kind of value,
/// or passes one the op does not declare.
///
/// An attribute that TensorFlow passes as a tensor (a reduction's axes, a
/// reshape's shape, a range's limit) may be `may_be_input`: a call may then
/// leave it out and pass a tensor holding it after the op's own inputs (one
/// per left-out attribute, in declaration order). Such a value is known only
/// when the op runs: a trace of `reduce_sum(x)` for x of unknown rank reduces
/// over `range(rank(x))`. The dispatch point reads a concrete one on the
/// host and runs the op with the attribute set, so inference, kernels and
/// gradients only ever see attributes; inside a trace an unresolved one
/// leaves the node's output shapes to `OpDef::infer_unresolved`.
struct AttrDecl {
  std::string name;
  AttrKind kind;
  bool may_be_input = false;
};

using InferFn = void (*)(InferContext&);
using KernelFn = void (*)(KernelContext&);
/// What finishes an op started asynchronously: waits for it and returns its
/// outputs (OpDef::start).
using FinishFn = std::function<std::vector<Tensor>()>;
/// Starts an op whose work runs elsewhere (a collective, on the transport's
/// thread) and returns what finishes it; it must not keep the context.
using StartFn = FinishFn (*)(const KernelContext&);
using GradFn = std::function<std::vector<Tensor>(const GradContext&)>;
/// An op written with other ops (TfMapping::composite): its inputs and
/// attributes to its outputs.
using DecomposeFn = std::vector<Tensor> (*)(std::span<const Tensor> inputs, const Attrs& attrs);

enum class Differentiability : uint8_t { Unknown, Differentiable, NotDifferentiable };

/// Which forward values an op's gradient reads, so a tape keeps only those
/// alive (it always keeps every tensor's id, dtype, shape and device).
enum GradUses : uint8_t {
  kGradUsesNothing = 0,
  kGradUsesInputs = 1,
  kGradUsesOutputs = 2,
  kGradUsesAll = 3
};

// ---- TensorFlow's form of an op -------------------------------------------------------------
// What serialization/graph_def.cpp (export) and graph_import.cpp (import)
// need to map an op onto TensorFlow's op of the same name, declared with the
// op (`OpDef::tf_*`). By default: TensorFlow's inputs are ember's, one
// output arg "output", attribute "T" is input 0's dtype, and every ember
// attribute is TensorFlow's of the same name.

/// Where a dtype written into TensorFlow's form comes from.
struct DTypeOf {
  enum class From : uint8_t { Fixed, Input, Output };
  From from = From::Fixed;
  DType fixed = DType::Int32;
  int index = 0;
};
inline DTypeOf dtype_fixed(DType d) { return {DTypeOf::From::Fixed, d, 0}; }
inline DTypeOf dtype_of_input(int i) { return {DTypeOf::From::Input, DType::Int32, i}; }
inline DTypeOf dtype_of_output(int i) { return {DTypeOf::From::Output, DType::Int32, i}; }

/// How an attribute ember keeps is the tensor TensorFlow takes as an input.
enum class TfInputForm : uint8_t {
  Ints,          // list(int): a vector
  Int,           // int: a scalar
  Float,         // float: a scalar of the declared dtype
  Paddings,      // list(int), before and after per dimension: a [rank, 2] matrix
  ElementShape,  // shape: a vector with -1 per unknown dimension, a scalar -1 for unknown rank
};
struct TfInputAttr {
  std::string attr;
  int position;  // among TensorFlow's inputs; negative counts from the end (-1: the last)
  TfInputForm form;
  DTypeOf dtype;
};
/// A list attribute of TensorFlow's op that ember derives from the node.
enum class TfListOf : uint8_t { InputTypes, OutputTypes, OutputShapes };
struct TfListAttr {
  std::string name;
  TfListOf of;
  int from = 0;  // the first input it covers
};
/// An int attribute of TensorFlow's op that counts ember's inputs or outputs.
enum class TfCountOf : uint8_t { Inputs, Outputs };

struct TfMapping {
  std::vector<std::string> outputs;  // output arg names, in order; empty: "output"
  bool output_list = false;          // every output is an element of the one list arg outputs[0]
  std::vector<TfInputAttr> input_attrs;
  std::vector<std::pair<std::string, DTypeOf>> type_attrs;
  bool t_from_input = true;  // "T" is input 0's dtype (unless type_attrs says otherwise)
  std::vector<TfListAttr> list_attrs;
  std::vector<std::pair<std::string, TfCountOf>> count_attrs;
  // Attributes TensorFlow's op has that ember's lacks, written on export.
  std::vector<std::pair<std::string, AttrValue>> fixed_attrs;
  // Ember's attributes TensorFlow's op lacks: left out on export, set to
  // this value on import. Where the op has a composite too, a node whose
  // value differs is exported as the composite.
  std::vector<std::pair<std::string, AttrValue>> dropped_attrs;
  // TensorFlow takes int32 where ember takes int64 too: int64 inputs are cast.
  bool int32_indices = false;
  // TensorFlow has no such op (or none for some values of dropped_attrs):
  // the export traces this function of ember's ops (its decomposition) and
  // writes what it traced.
  DecomposeFn composite = nullptr;
};

struct OpDef {
  std::string name;      // TensorFlow's raw op name: "AddV2", "MatMul", "Sum" (core/op_names.h)
  std::string api_name;  // the ember function that calls it: "add", "matmul"
  // The signature, checked by the dispatch point before inference runs, so
  // inference may index inputs and read attributes freely: `num_inputs`
  // inputs (at least that many when `variadic`), every one a defined Tensor,
  // and exactly the attributes of `attr_decls`.
  int num_inputs = 0;
  bool variadic = false;
  // The first `resource_inputs` inputs are resource handles (variables: the
  // variable ops, the optimizer updates' variable and slots); no other input may be.
  int resource_inputs = 0;
  std::vector<AttrDecl> attr_decls;
  InferFn infer = nullptr;
  // Inference while some may_be_input attribute is a tensor whose value is
  // not known yet (its inputs: the op's own, then those tensors; its attrs:
  // the rest). Unset: one output of input 0's dtype and unknown shape.
  InferFn infer_unresolved = nullptr;
  KernelFn kernels[kNumDeviceKinds] = {};
  // Set for an op that can run asynchronously, on every device: a graph's
  // executor starts it and finishes it when a later node first reads its
  // outputs (or at the end of the call), running the nodes between meanwhile.
  StartFn start = nullptr;
  GradFn grad;
  Differentiability differentiability = Differentiability::Unknown;
  uint8_t grad_uses = kGradUsesAll;
  bool stateful = false;  // keeps program order when traced (random, assign, print)
  // The kernel makes its outputs itself (views such as Reshape): the dispatch
  // point passes them undefined instead of allocating.
  bool allocates_outputs = false;
  // Its resource inputs are variables it reads (ReadVariableOp, a traced
  // function's call): a tape that watches accessed variables watches them.
  bool reads_variables = false;
  // Resource handles may come at any input, and are variables it reads:
  // control flow passes the variables its functions use as inputs.
  bool passes_resources = false;
  // Its outputs' shapes may be known only once it runs (a cond whose
  // branches return different shapes): it allocates them, and inference may
  // leave dimensions unknown even for concrete inputs.
  bool data_dependent_shapes = false;
  // The gradient function gets an undefined output gradient where none
  // flows, instead of zeros (a traced call's: most of its outputs are
  // forward values kept for the backward function, which rarely get one).
  bool grad_sees_undefined = false;
  // How it maps onto TensorFlow's op (the tf_* setters below).
  TfMapping tf;

  // Builder-style setters, for registration.
  OpDef& api(std::string n) {
    api_name = std::move(n);
    return *this;
  }
  OpDef& inputs(int n) {
    num_inputs = n;
    return *this;
  }
  OpDef& variadic_inputs(int at_least) {
    num_inputs = at_least;
    variadic = true;
    return *this;
  }
  OpDef& takes_resource(int n = 1) {
    resource_inputs = n;
    return *this;
  }
  OpDef& attr(std::string n, AttrKind kind) {
    attr_decls.push_back({std::move(n), kind});
    return *this;
  }
  /// An attribute TensorFlow passes as a tensor, which a call may too
  /// (AttrDecl::may_be_input): Int, Ints, Float or Shape.
  OpDef& attr_or_input(std::string n, AttrKind kind) {
    attr_decls.push_back({std::move(n), kind, true});
    return *this;
  }
  OpDef& set_infer_unresolved(InferFn f) {
    infer_unresolved = f;
    return *this;
  }
  OpDef& set_infer(InferFn f) {
    infer = f;
    return *this;
  }
  OpDef& set_stateful(bool s = true) {
    stateful = s;
    return *this;
  }
  OpDef& set_allocates_outputs() {
    allocates_outputs = true;
    return *this;
  }
  OpDef& set_reads_variables() {
    reads_variables = true;
    return *this;
  }
  OpDef& set_data_dependent_shapes() {
    data_dependent_shapes = true;
    allocates_outputs = true;
    return *this;
  }
  OpDef& set_passes_resources() {
    passes_resources = true;
    reads_variables = true;
    return *this;
  }
  OpDef& set_grad_sees_undefined() {
    grad_sees_undefined = true;
    return *this;
  }
  OpDef& not_differentiable() {
    differentiability = Differentiability::NotDifferentiable;
    return *this;
  }
  // TensorFlow's form (TfMapping).
  /// TensorFlow's output arg names, one per output.
  OpDef& tf_outputs(std::initializer_list<const char*> names) {
    tf.outputs.assign(names.begin(), names.end());
    return *this;
  }
  /// Every output is an element of TensorFlow's one list output arg `arg`.
  OpDef& tf_output_list(const char* arg) {
    tf.outputs = {arg};
    tf.output_list = true;
    return *this;
  }
  /// Attribute `attr` is TensorFlow's input at `position` (negative: from the end).
  OpDef& tf_input(std::string attr, int position, TfInputForm form, DTypeOf dtype = {}) {
    tf.input_attrs.push_back({std::move(attr), position, form, dtype});
    return *this;
  }
  /// TensorFlow's type attribute `name` (setting "T" overrides input 0's dtype).
  OpDef& tf_type(std::string n, DTypeOf dtype) {
    tf.type_attrs.emplace_back(std::move(n), dtype);
    return *this;
  }
  /// TensorFlow's op has no "T" of input 0's dtype.
  OpDef& tf_no_t() {
    tf.t_from_input = false;
    return *this;
  }
  OpDef& tf_list(std::string n, TfListOf of, int from = 0) {
    tf.list_attrs.push_back({std::move(n), of, from});
    return *this;
  }
  OpDef& tf_count(std::string n, TfCountOf of) {
    tf.count_attrs.emplace_back(std::move(n), of);
    return *this;
  }
  OpDef& tf_fixed(std::string n, AttrValue v) {
    tf.fixed_attrs.emplace_back(std::move(n), std::move(v));
    return *this;
  }
  OpDef& tf_dropped(std::string n, AttrValue on_import) {
    tf.dropped_attrs.emplace_back(std::move(n), std::move(on_import));
    return *this;
  }
  OpDef& tf_int32_indices() {
    tf.int32_indices = true;
    return *this;
  }
  /// TensorFlow lacks the op (or, with tf_dropped, the values of an attribute
  /// other than its import value): it is exported as `decomposition` written with
  /// ember's ops (each TensorFlow's, or a composite itself), traced with the
  /// node's inputs and attributes; it must give the op's outputs.
  OpDef& tf_composite(DecomposeFn decomposition) {
    tf.composite = decomposition;
    return *this;
  }
  bool has_kernel(DeviceKind k) const { return kernels[static_cast<int>(k)] != nullptr; }
};

/// The registry slot for `name`, created empty on first mention: kernels and
/// gradients may be registered before the definition itself.
OpDef& op_registry_slot(std::string_view name);
/// Declares an op: `define_op(op_name::AddV2).api("add").set_infer(...)`.
OpDef& define_op(std::string_view name);
/// A defined op; NotFound when no op of that name was defined.
const OpDef& op_def(std::string_view name);
/// Every defined op, sorted by name.
std::vector<const OpDef*> registered_ops();
/// Every registry slot, defined or not: a slot without inference is an
/// orphan (a kernel or gradient registered under a name no op defines).
std::vector<const OpDef*> registry_slots();
void register_kernel(std::string_view op, DeviceKind kind, KernelFn fn);
/// Declares that `op` can be started and finished later (OpDef::start).
void register_start(std::string_view op, StartFn fn);
void register_gradient(std::string_view op, GradFn fn);
/// Declares which forward values the gradient of `op` reads (GradUses flags).
void register_gradient_uses(std::string_view op, uint8_t uses);
/// Declares from autograd/ that an op has no gradient (TensorFlow's NotDifferentiable).
void register_not_differentiable(std::string_view op);

/// The one dispatch point. Runs (or traces) `op` on `inputs`.
std::vector<Tensor> execute(const OpDef& op, std::span<const Tensor> inputs,
                            const Attrs& attrs = {});
/// The run half of the dispatch point, for an executor that has checked the
/// call and inferred `specs` (fully known) once: places the op, moves inputs
/// to its device, allocates the outputs, runs the kernel. Neither traced nor
/// recorded.
std::vector<Tensor> run_op(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs,
                           std::span<const OutputSpec> specs);
/// run_op's start for an op with OpDef::start: places the op, moves the
/// inputs, starts it; the FinishFn (called later, on this thread) waits and
/// gives the outputs, each step on the op's device with errors naming it.
FinishFn start_op(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs,
                  std::span<const OutputSpec> specs);
/// For single-output ops.
Tensor execute1(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs = {});
inline Tensor execute1(const OpDef& op, std::initializer_list<Tensor> inputs,
                       const Attrs& attrs = {}) {
  return execute1(op, std::span<const Tensor>(inputs.begin(), inputs.size()), attrs);
}
inline std::vector<Tensor> execute(const OpDef& op, std::initializer_list<Tensor> inputs,
                                   const Attrs& attrs = {}) {
  return execute(op, std::span<const Tensor>(inputs.begin(), inputs.size()), attrs);
}

/// Checks a call against `op`'s signature (input count, defined inputs,
/// declared attributes and their kinds); InvalidArgument naming the op.
void check_signature(const OpDef& op, std::span<const Tensor> inputs, const Attrs& attrs);

/// How many of `op`'s may_be_input attributes `attrs` leaves out: the call's
/// last that many inputs hold them (AttrDecl::may_be_input).
int unresolved_attrs(const OpDef& op, const Attrs& attrs);
/// The attribute value a tensor passed for `decl` holds (read on the host):
/// InvalidArgument naming the op when it is not an integer (or, for a Float
/// attribute, a number) tensor of the right rank.
AttrValue attr_from_tensor(const OpDef& op, const AttrDecl& decl, const Tensor& t);

/// The name errors give for the op being called: the outermost ApiScope's
/// (a composite such as reduce_logsumexp names itself, not the ops it calls),
/// else the op's api_name, else its raw name.
const char* api_name_for(const OpDef& op);

/// Names the user-facing function for errors raised by the ops it calls,
/// while alive. Scopes nest; the outermost one names the call.
class ApiScope {
 public:
  explicit ApiScope(const char* name);
  ~ApiScope();
  ApiScope(const ApiScope&) = delete;
  ApiScope& operator=(const ApiScope&) = delete;

 private:
  bool owner_;
};

/// Runs inference alone (what tracing and tests use).
std::vector<OutputSpec> infer_outputs(const OpDef& op, std::span<const Tensor> inputs,
                                      const Attrs& attrs);

template <typename... Args>
void InferContext::fail(const Args&... args) const {
  throw InvalidArgument(detail::str_cat("[", api(), "] ", args...));
}

}  // namespace ember

#define EMBER_CONCAT_INNER(a, b) a##b
#define EMBER_CONCAT(a, b) EMBER_CONCAT_INNER(a, b)
/// Registers a kernel from kernels/: EMBER_REGISTER_KERNEL(op_name::AddV2, CPU, add_kernel);
#define EMBER_REGISTER_KERNEL(OP, KIND, FN)                                         \
  [[maybe_unused]] static const bool EMBER_CONCAT(ember_kernel_reg_, __COUNTER__) = \
      (::ember::register_kernel(OP, ::ember::DeviceKind::KIND, FN), true)
/// Registers one kernel for every device kind (a kernel written once over
/// ember's own ops or device-neutral helpers).
#define EMBER_REGISTER_EVERYWHERE(OP, FN) \
  EMBER_REGISTER_KERNEL(OP, CPU, FN);     \
  EMBER_REGISTER_KERNEL(OP, CUDA, FN)
/// Defines an op: EMBER_DEFINE_OP(op_name::AddV2).api("add").set_infer(infer_binary);
#define EMBER_DEFINE_OP(OP)                                                                \
  [[maybe_unused]] static const ::ember::OpDef& EMBER_CONCAT(ember_op_def_, __COUNTER__) = \
      ::ember::define_op(OP)
/// The OpDef named NAME, looked up once per call site.
#define EMBER_OP(NAME)                                               \
  ([]() -> const ::ember::OpDef& {                                   \
    static const ::ember::OpDef& ember_def_ = ::ember::op_def(NAME); \
    return ember_def_;                                               \
  }())
