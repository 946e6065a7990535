// The data-parallel strategy (strategy.h): rank 0's initial values, the
// dataset's parts, and the gradient buckets.
#include "distribute/strategy.h"

#include <exception>
#include <optional>
#include <type_traits>

#include "core/collective_transport.h"
#include "core/context.h"
#include "core/indexed_slices.h"
#include "core/ops.h"
#include "serialization/checkpoint.h"

namespace ember::distribute {
namespace {

Tensor rank0_value(const Tensor& value, const std::string& name) {
  return collective::broadcast(value, 0, {.label = "the initial value of " + name});
}

// Gradients reduced together: one dtype and device, about `bucket_bytes`.
struct Bucket {
  std::vector<size_t> members;  // indices into the variables, in the order they joined
  std::string label;
};

std::string label_of(const std::vector<size_t>& members, const std::vector<Variable>& variables) {
  const std::string& first = variables[members.front()].name();
  return members.size() == 1 ? "the gradient of " + first
                             : detail::str_cat("the gradients of ", first, " ... ", variables[members.back()].name(),
                                               " (", members.size(), " variables)");
}

std::vector<Bucket> make_buckets(const std::vector<Variable>& variables, size_t bucket_bytes) {
  std::vector<Bucket> buckets;
  size_t bytes = 0;
  for (size_t k = variables.size(); k-- > 0;) {
    const Variable& v = variables[k];
    const size_t size = static_cast<size_t>(std::max<int64_t>(v.shape().num_elements(), 0)) * dtype_size(v.dtype());
    bool fresh = buckets.empty() || bytes + size > bucket_bytes;
    if (!fresh) {
      const Variable& first = variables[buckets.back().members.front()];
      fresh = first.dtype() != v.dtype() || first.device() != v.device();
    }
    if (fresh) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().members.push_back(k);
    bytes += size;
  }
  for (Bucket& b : buckets) b.label = label_of(b.members, variables);
  return buckets;
}

// The bucket's members whose gradients are dense; `rows` gets the others
// (gradients held as rows, core/indexed_slices.h), which are gathered, not
// reduced.
Bucket dense_part(const Bucket& b, const std::vector<Tensor>& gradients, const std::vector<Variable>& variables,
                  bool gather_rows, std::vector<size_t>& rows) {
  if (!gather_rows) return b;
  Bucket dense;
  for (size_t k : b.members) (as_indexed_slices(gradients[k]) ? rows : dense.members).push_back(k);
  if (dense.members.size() == b.members.size()) return b;
  if (!dense.members.empty()) dense.label = label_of(dense.members, variables);
  return dense;
}

// A gradient held as rows, across ranks (tf.distribute all-gathers
// IndexedSlices rather than reducing their dense value): every rank's rows
// and row numbers, each rank's padded to the longest with zero rows at row
// 0 (which add nothing: an update reads rows as the dense gradient they
// stand for), gathered, and the values over the number of ranks (the mean).
// Rows named on several ranks are summed by whatever reads them.
Tensor gather_rows(const IndexedSlices& s, int ranks, const Variable& v) {
  DeviceScope on(s.values.device());
  const std::string label = "the gradient rows of " + v.name();
  Tensor n = reshape(size(s.indices, int64), TensorShape{1});
  Tensor missing = collective::all_reduce(n, collective::ReduceOp::Max, {.label = label + " (their number)"}) - n;
  Tensor row_shape = slice(shape(s.values, int64), {1}, {-1});
  Tensor values = concat({s.values, zeros(concat({missing, row_shape}, 0), s.values.dtype())}, 0);
  Tensor indices = concat({s.indices, zeros(missing, s.indices.dtype())}, 0);
  Tensor all_values = collective::all_gather(values, {.label = label});
  Tensor all_indices = collective::all_gather(indices, {.label = label + " (row numbers)"});
  Tensor scale = cast(constant(1.0 / ranks), all_values.dtype()).to(all_values.device());
  return indexed_slices(all_values * scale, all_indices, s.dense_shape);
}

Tensor flatten_bucket(const Bucket& b, const std::vector<Tensor>& gradients) {
  std::vector<Tensor> parts;
  parts.reserve(b.members.size());
  for (size_t k : b.members) parts.push_back(reshape(gradients[k], TensorShape{-1}));
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

// The bucket's mean back into each member's gradient.
void unflatten_bucket(const Bucket& b, const Tensor& mean, const std::vector<Variable>& variables,
                      std::vector<Tensor>& out) {
  if (b.members.size() == 1) {
    out[b.members[0]] = reshape(mean, variables[b.members[0]].shape());
    return;
  }
  std::vector<int64_t> sizes;
  for (size_t k : b.members) sizes.push_back(variables[k].shape().num_elements());
  std::vector<Tensor> parts = split(mean, sizes, 0);
  for (size_t i = 0; i < b.members.size(); ++i)
    out[b.members[i]] = reshape(parts[i], variables[b.members[i]].shape());
}

// The bucket's gradients times `scale` in one new buffer: one pass over
// them on the CPU (float32, float64), ops elsewhere.
Tensor flatten_scaled(const Bucket& b, const std::vector<Tensor>& gradients, double scale) {
  const Tensor& first = gradients[b.members.front()];
  const DType t = first.dtype();
  if (!first.device().is_cpu() || (t != float32 && t != float64))
    return mul(flatten_bucket(b, gradients), cast(constant(scale), t).to(first.device()));
  int64_t total = 0;
  for (size_t k : b.members) total += gradients[k].num_elements();
  Tensor flat = Tensor::empty(TensorShape{total}, t, Device::cpu());
  auto fill_from = [&](auto* dst) {
    using T = std::remove_pointer_t<decltype(dst)>;
    const T s = static_cast<T>(scale);
    for (size_t k : b.members) {
      const T* src = gradients[k].data<T>();
      const int64_t n = gradients[k].num_elements();
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * s;
      dst += n;
    }
  };
  if (t == float32) {
    fill_from(flat.data<float>());
  } else {
    fill_from(flat.data<double>());
  }
  return flat;
}

// Each member's gradient as a view of the bucket's buffer (no copy).
void view_bucket(const Bucket& b, const Tensor& flat, const std::vector<Variable>& variables,
                 std::vector<Tensor>& out) {
  size_t offset = flat.impl()->offset;
  for (size_t k : b.members) {
    auto v = TensorImpl::view_of(*flat.impl());
    v->shape = variables[k].shape();
    v->offset = offset;
    offset += static_cast<size_t>(v->shape.num_elements()) * dtype_size(flat.dtype());
    out[k] = Tensor(std::move(v));
  }
}

Tensor gradient_or_zeros(const Tensor& g, const Variable& v) {
  return g.defined() ? g : zeros(v.shape(), v.dtype(), v.device());
}

void check_lengths(const std::vector<Tensor>& gradients, const std::vector<Variable>& variables) {
  EMBER_CHECK(gradients.size() == variables.size(), InvalidArgument, "[MultiWorkerMirroredStrategy] ",
              gradients.size(), " gradients for ", variables.size(), " variables");
}

}  // namespace

MultiWorkerMirroredStrategy::MultiWorkerMirroredStrategy(StrategyOptions options) : options_(options) {
  EMBER_CHECK(options_.bucket_bytes > 0, InvalidArgument,
              "[MultiWorkerMirroredStrategy] bucket_bytes must be positive");
}

int MultiWorkerMirroredStrategy::num_replicas_in_sync() const { return collective::size(); }
int MultiWorkerMirroredStrategy::rank() const { return collective::rank(); }

MultiWorkerMirroredStrategy::Scope::Scope() : saved_(context().initial_value_hook) {
  if (collective::size() > 1) context().initial_value_hook = rank0_value;
}
MultiWorkerMirroredStrategy::Scope::~Scope() { context().initial_value_hook = saved_; }

void MultiWorkerMirroredStrategy::broadcast_variables(const std::vector<Variable>& variables) const {
  if (collective::size() == 1) return;
  for (Variable v : variables) v.assign(collective::broadcast(v.read_value(), 0, {.label = v.name()}));
}

data::Dataset MultiWorkerMirroredStrategy::distribute_dataset(const data::Dataset& examples, int64_t global_batch,
                                                              bool drop_remainder) const {
  const int64_t ranks = num_replicas_in_sync();
  EMBER_CHECK(global_batch > 0 && global_batch % ranks == 0, InvalidArgument,
              "[MultiWorkerMirroredStrategy.distribute_dataset] the global batch (", global_batch,
              ") must be a positive multiple of the number of ranks (", ranks, ")");
  const int64_t per_rank = global_batch / ranks;
  // Whole global batches first, so that every rank takes the same number of steps.
  data::Dataset whole = examples;
  if (drop_remainder && ranks > 1) {
    const int64_t n = examples.cardinality();
    if (n >= 0) whole = examples.take(n / global_batch * global_batch);
  }
  return whole.shard(ranks, rank()).batch(per_rank, drop_remainder);
}

void MultiWorkerMirroredStrategy::check_replicated(const std::vector<Variable>& variables) const {
  if (num_replicas_in_sync() == 1) return;
  std::vector<const Variable*> fresh;
  {
    std::lock_guard lock(checked_->mu);
    for (const Variable& v : variables)
      if (checked_->ids.insert(v.handle().id()).second) fresh.push_back(&v);
  }
  if (fresh.empty()) return;
  InitScope eager;  // once, when a trace first meets them: not a node of the step
  std::vector<int64_t> prints;
  for (const Variable* v : fresh) {
    Tensor value = v->read_value().to(Device::cpu());
    const auto* bytes = static_cast<const unsigned char*>(value.raw_data());
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < value.nbytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    prints.push_back(static_cast<int64_t>(h >> 1));
  }
  Tensor mine = constant(prints, TensorShape{static_cast<int64_t>(prints.size())});
  const collective::Options o{.label = "the fingerprints of the variables' values"};
  std::vector<int64_t> hi = collective::all_reduce(mine, collective::ReduceOp::Max, o).to_vector<int64_t>();
  std::vector<int64_t> lo = collective::all_reduce(mine, collective::ReduceOp::Min, o).to_vector<int64_t>();
  std::string differ;
  for (size_t i = 0; i < fresh.size(); ++i)
    if (hi[i] != lo[i]) differ += (differ.empty() ? "" : ", ") + fresh[i]->name();
  if (differ.empty()) return;
  std::lock_guard lock(checked_->mu);
  for (const Variable* v : fresh) checked_->ids.erase(v->handle().id());
  throw FailedPrecondition(detail::str_cat(
      "[MultiWorkerMirroredStrategy] the ranks hold different values of ", differ,
      ": make the variables inside strategy.scope() (a layer makes its variables on its first call: call the model "
      "once inside the scope), or call strategy.broadcast_variables() before the first step"));
}

std::vector<Tensor> MultiWorkerMirroredStrategy::all_reduce_gradients(const std::vector<Tensor>& gradients,
                                                                      const std::vector<Variable>& variables) const {
  check_lengths(gradients, variables);
  check_replicated(variables);
  std::vector<Tensor> grads(gradients.size());
  for (size_t k = 0; k < grads.size(); ++k) grads[k] = gradient_or_zeros(gradients[k], variables[k]);
  if (num_replicas_in_sync() == 1) return grads;
  std::vector<Tensor> out(grads.size());
  for (const Bucket& bucket : make_buckets(variables, options_.bucket_bytes)) {
    std::vector<size_t> rows;
    const Bucket b = dense_part(bucket, grads, variables, options_.gather_rows, rows);
    for (size_t k : rows) out[k] = gather_rows(*as_indexed_slices(grads[k]), num_replicas_in_sync(), variables[k]);
    if (!b.members.empty())
      unflatten_bucket(b, collective::all_reduce(flatten_bucket(b, grads), collective::ReduceOp::Mean, {.label = b.label}),
                       variables, out);
  }
  return out;
}

std::vector<Tensor> MultiWorkerMirroredStrategy::gradient(GradientTape& tape, const Tensor& loss,
                                                          const std::vector<Variable>& variables) const {
  const std::vector<Source> sources(variables.begin(), variables.end());
  check_replicated(variables);
  collective::Transport* transport = collective::transport();
  if (num_replicas_in_sync() == 1 || !transport)
    return all_reduce_gradients(tape.gradient(loss, sources, UnconnectedGradients::Zero), variables);
  const std::vector<Bucket> buckets = make_buckets(variables, options_.bucket_bytes);
  std::vector<size_t> bucket_of(variables.size()), waiting(buckets.size());
  for (size_t b = 0; b < buckets.size(); ++b) {
    waiting[b] = buckets[b].members.size();
    for (size_t k : buckets[b].members) bucket_of[k] = b;
  }
  std::vector<Tensor> grads(variables.size());
  // A bucket starts reducing once its last gradient is final. Eagerly on
  // the transport's thread; in a trace as a CollectiveReduceV2 node right
  // after that gradient's, which the executor starts and finishes when the
  // update reads it, running the rest of the backward pass meanwhile.
  const bool traced = context().tracer != nullptr;
  std::vector<std::optional<collective::Pending>> pending(buckets.size());
  std::vector<Tensor> reduced(buckets.size());
  std::vector<Bucket> dense(buckets.size());  // each bucket's dense gradients (rows are gathered at once)
  std::vector<bool> handed(buckets.size(), false);
  std::vector<Tensor> out(variables.size());
  tape.gradient(
      loss, sources,
      [&](size_t k, const Tensor& g) {
        grads[k] = gradient_or_zeros(g, variables[k]);
        const size_t b = bucket_of[k];
        if (--waiting[b] != 0) return;
        handed[b] = true;
        std::vector<size_t> rows;
        dense[b] = dense_part(buckets[b], grads, variables, options_.gather_rows, rows);
        for (size_t r : rows)
          out[r] = gather_rows(*as_indexed_slices(grads[r]), num_replicas_in_sync(), variables[r]);
        if (dense[b].members.empty()) return;
        if (traced) {
          reduced[b] = collective::all_reduce(flatten_bucket(dense[b], grads), collective::ReduceOp::Mean,
                                              {.label = dense[b].label});
        } else {
          // The sum of the ranks' gradients over their number: each scaled
          // first (as it is flattened), then summed.
          pending[b] = transport->all_reduce(flatten_scaled(dense[b], grads, 1.0 / num_replicas_in_sync()),
                                             collective::Reduction::Sum, {"all_reduce", dense[b].label, 0});
        }
      },
      UnconnectedGradients::Zero);
  for (size_t b = 0; b < buckets.size(); ++b) {
    EMBER_CHECK(handed[b], Internal, "[MultiWorkerMirroredStrategy.gradient] ", buckets[b].label,
                " was never handed over by the tape");
    if (dense[b].members.empty()) continue;
    if (traced)
      unflatten_bucket(dense[b], reduced[b], variables, out);
    else
      view_bucket(dense[b], pending[b]->wait(), variables, out);
  }
  return out;
}

Tensor MultiWorkerMirroredStrategy::reduce(collective::ReduceOp op, const Tensor& value,
                                           const std::string& label) const {
  return collective::all_reduce(value, op, {.label = label});
}

Tensor MultiWorkerMirroredStrategy::reduce(const metrics::Mean& metric) const {
  const std::string& name = metric.name();
  Tensor total = collective::all_reduce(metric.total().read_value(), collective::ReduceOp::Sum,
                                        {.label = name + " total"});
  Tensor count = collective::all_reduce(metric.count().read_value(), collective::ReduceOp::Sum,
                                        {.label = name + " count"});
  return where(greater(count, zeros_like(count)), div(total, maximum(count, ones_like(count))), zeros_like(total));
}

bool MultiWorkerMirroredStrategy::any(bool flag) const {
  if (collective::size() == 1) return flag;
  return collective::all_reduce(constant(int32_t{flag ? 1 : 0}, Device::cpu()), collective::ReduceOp::Max,
                                {.label = "any"})
             .item<int32_t>() != 0;
}

std::string MultiWorkerMirroredStrategy::save(CheckpointManager& manager) const {
  std::string path;
  std::exception_ptr failed;
  if (is_chief()) {
    try {
      path = manager.save();
      manager.checkpoint().sync();
    } catch (...) {
      failed = std::current_exception();
    }
  }
  // The others wait here, and learn whether the save succeeded and the
  // path it wrote: rank 0's bytes, sent. (They read the directory's state
  // file before, which rank 0, already saving again, could have moved on:
  // a rank was told ckpt-2 for the save of ckpt-1.)
  const std::string label = "the save of " + manager.directory();
  const std::vector<int32_t> state =
      collective::all_reduce(constant(std::vector<int32_t>{failed ? 1 : 0, static_cast<int32_t>(path.size())}),
                             collective::ReduceOp::Max, {.label = label})
          .to_vector<int32_t>();
  if (failed) std::rethrow_exception(failed);
  EMBER_CHECK(state[0] == 0, FailedPrecondition, "[MultiWorkerMirroredStrategy.save] rank 0 ",
              "could not save to ", manager.directory(), " (its error is rank 0's)");
  std::vector<int32_t> bytes(path.begin(), path.end());
  bytes.resize(static_cast<size_t>(state[1]));
  if (!bytes.empty())
    bytes = collective::broadcast(constant(bytes), 0, {.label = label + " (its path)"}).to_vector<int32_t>();
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace ember::distribute
