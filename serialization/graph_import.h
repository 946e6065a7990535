// TensorFlow FunctionDefs as ember concrete functions: the other half of
// graph_def.h, used by saved_model::load.
//
// A function is imported by replaying it under a tracer, node by node in
// dependency order, as if C++ code made the same calls: each node runs the
// ember op of the same name through the dispatch point (so shapes and dtypes
// are inferred and checked as in any trace), with TensorFlow's attributes
// (defaults put back where TensorFlow stripped them) and, where ember keeps
// as an attribute what TensorFlow feeds as a constant input (a reduction's
// axes, a reshape's shape...), the constant's value. A call node
// (StatefulPartitionedCall, PartitionedCall) is inlined; If and While become
// ember's cond and while_loop, their branches and bodies replayed in turn.
// Resource arguments are bound to live variables' handles, so the imported
// graph captures them as a trace of C++ code would.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/function.h"

namespace tensorflow {
class FunctionDefLibrary;
class FunctionDef;
class NodeDef;
class TensorProto;
}  // namespace tensorflow

namespace ember {

/// A TensorProto's value (a Const node's), on the host; `what` names it in errors.
Tensor tensor_from_proto(const tensorflow::TensorProto& p, const std::string& what);

class FunctionImporter {
 public:
  /// `where` names the source in messages (the SavedModel's path).
  FunctionImporter(const tensorflow::FunctionDefLibrary& library, std::string where);
  ~FunctionImporter();

  /// Checks that function `name`, and every function it calls, exists and
  /// holds only ops ember has: NotFound naming a missing function,
  /// Unimplemented naming the op, the node and the function otherwise.
  void check(const std::string& name) const;

  /// Function `name` as a concrete function. Its last `bound.size()` input
  /// args are its captures, bound in order to `bound` (variables' handles,
  /// or the values of captured constants); the others, in order, become
  /// argument placeholders of `specs` (their dtypes must match). Its outputs
  /// are returned in `output_structure` ('%' per tensor; empty: a flat list).
  ConcreteFunction import(const std::string& name, const std::vector<TensorSpec>& specs,
                          const std::vector<Tensor>& bound, const std::string& output_structure) const;

  /// The FunctionDef called `name` (NotFound naming it).
  const tensorflow::FunctionDef& function(const std::string& name) const;

 private:
  /// Runs function `name` on `inputs` on this thread (under a tracer), node by node.
  std::vector<Tensor> replay(const std::string& name, const std::vector<Tensor>& inputs, int depth) const;
  /// One node, its data inputs given: `what` names it in errors; `depth` counts nested calls.
  std::vector<Tensor> run_node(const tensorflow::NodeDef& n, const std::vector<Tensor>& in, const std::string& what,
                               int depth) const;
  std::vector<Tensor> run_if(const tensorflow::NodeDef& n, const std::vector<Tensor>& in, const std::string& what,
                             int depth) const;
  std::vector<Tensor> run_case(const tensorflow::NodeDef& n, const std::vector<Tensor>& in, const std::string& what,
                               int depth) const;
  std::vector<Tensor> run_while(const tensorflow::NodeDef& n, const std::vector<Tensor>& in, const std::string& what,
                                int depth) const;
  /// A call of function `fn` (a PartitionedCall node): one call op, the
  /// callee imported once per kind of input (a library whose calls fan out
  /// is imported in time linear in its functions, as TensorFlow keeps them).
  std::vector<Tensor> run_call(const std::string& fn, const std::vector<Tensor>& in, int depth) const;
  /// StatelessRandomGetKeyCounter and the V2 draws from its key and counter
  /// (TensorFlow's uint64 tensors, which ember lacks): imported together as
  /// ember's draws from the seed.
  std::vector<Tensor> key_and_counter(const std::vector<Tensor>& in, const std::string& what) const;
  std::vector<Tensor> draw_from_key(const tensorflow::NodeDef& n, const std::vector<Tensor>& in,
                                    const std::string& what) const;
  /// tf.random.Generator's draws as TensorFlow 2.21 traces them:
  /// RngReadAndSkip reads the state variable and advances it, two
  /// StridedSlices bitcast to uint64 make the counter and the key, and a V2
  /// draw takes them. Imported together as ember's Stateful* draw on the
  /// variable at the V2 draw (it reads and advances the state itself); the
  /// read's value is the variable's value before it.
  std::vector<Tensor> read_and_skip(const std::vector<Tensor>& in, const std::string& what) const;
  std::vector<Tensor> generator_draw(const tensorflow::NodeDef& n, const std::vector<Tensor>& in,
                                     const std::string& what) const;
  std::map<std::string, const tensorflow::FunctionDef*> functions_;
  std::string where_;
  // The callees imported so far, by name and the kinds of their inputs.
  mutable std::map<std::string, std::shared_ptr<const FunctionBody>> callees_;
  // The keys key_and_counter made, each with the seed it stands for.
  struct SeedKey {
    Tensor key, seed;
  };
  mutable std::map<const void*, SeedKey> seed_keys_;
  // The reads read_and_skip made (by their output), in order, and the
  // counter and key cut from them (by the slice's output). Each entry holds
  // its tensor, so no other tensor takes its address while the map knows it.
  struct GeneratorRead {
    Tensor state, state_handle, delta;
    bool drawn = false;
  };
  mutable std::map<const void*, GeneratorRead> generator_reads_;
  mutable std::vector<const void*> generator_read_order_;
  struct GeneratorPart {
    Tensor part;
    const void* read;
    bool key;
  };
  mutable std::map<const void*, GeneratorPart> generator_parts_;
  // Casts to uint64 held as int64: only RngReadAndSkip may take them.
  mutable std::map<const void*, Tensor> uint64_counts_;
};

}  // namespace ember
