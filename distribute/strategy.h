// Data-parallel training across the ranks of a distributed run, in the
// spirit of tf.distribute.MultiWorkerMirroredStrategy (and PyTorch's DDP):
// every rank holds the whole model, reads its own part of each global
// batch, computes the gradients of its loss, and applies their mean across
// ranks, so every rank takes the same step.
//
//   distribute::MultiWorkerMirroredStrategy strategy;
//   std::shared_ptr<Mlp> model;
//   { auto scope = strategy.scope(); model = std::make_shared<Mlp>(); model->build(...); }
//   auto batches = strategy.distribute_dataset(examples.shuffle(n, seed), global_batch);
//   for (auto& batch : batches) {
//     GradientTape tape;
//     Tensor loss = loss_fn(batch[1], (*model)(batch[0]));
//     optimizer.apply(strategy.gradient(tape, loss, vars), vars);
//   }
//
// Without a launcher the strategy is one rank and changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "autograd/tape.h"
#include "core/collective.h"
#include "core/tensor.h"
#include "core/variable.h"
#include "nn/data.h"
#include "nn/metrics.h"
#include "nn/model.h"

namespace ember {
class CheckpointManager;
}

namespace ember::distribute {

struct StrategyOptions {
  /// Gradients are reduced in buckets of about this many bytes (PyTorch's
  /// DDP default), taken in the reverse of the variables' order, which is
  /// about the order the backward pass finishes them.
  size_t bucket_bytes = size_t{25} << 20;
  /// Gradients held as rows (an embedding's) are all-gathered as rows, as
  /// tf.distribute does: each rank receives ranks × rows, where a reduction
  /// of the dense value moves about twice the table; false reduces the
  /// dense value (the cheaper once ranks × rows per rank pass about twice
  /// the table's rows: docs/DISTRIBUTED.md).
  bool gather_rows = true;
};

/// Also what Model::fit takes to train data-parallel:
/// `model->compile({..., .distribute = std::make_shared<MultiWorkerMirroredStrategy>()})`.
class MultiWorkerMirroredStrategy : public DataParallel {
 public:
  explicit MultiWorkerMirroredStrategy(StrategyOptions options = {});

  /// The number of ranks, and this one.
  int num_replicas_in_sync() const;
  int rank() const;
  bool is_chief() const override { return rank() == 0; }

  /// While alive (on this thread), every variable made starts with rank 0's
  /// value: the model's weights, the optimizer's slots, and what a
  /// checkpoint restores into them on creation.
  class Scope {
   public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Tensor (*saved_)(const Tensor&, const std::string&);
  };
  Scope scope() const { return {}; }
  std::shared_ptr<void> enter_scope() const override { return std::make_shared<Scope>(); }

  /// Rank 0's values in every rank's variables (a model made outside the scope).
  void broadcast_variables(const std::vector<Variable>& variables) const;

  /// This rank's part of each global batch: `examples` (unbatched; shuffle
  /// them first, with one seed on every rank) sharded by rank and batched by
  /// global_batch / ranks (which must divide). A short last global batch is
  /// dropped unless `drop_remainder` is false (its parts may then differ in
  /// size, and a rank may get none).
  data::Dataset distribute_dataset(const data::Dataset& examples, int64_t global_batch,
                                   bool drop_remainder = true) const override;

  /// The gradients of this rank's `loss` with respect to `variables`,
  /// averaged across ranks. The first time it meets a variable it checks
  /// that every rank holds the same value (FailedPrecondition naming those
  /// that differ: a model made outside the scope). Each bucket is reduced as soon as the backward
  /// pass has finished its last gradient, while the pass goes on (in a
  /// trace, the buckets' collectives are nodes after the gradients). A
  /// variable no gradient reaches gets zeros (every rank reduces the same
  /// buckets). A gradient held as rows (an embedding's) is all-gathered, not
  /// reduced, and stays rows (the mean: every rank's rows over the ranks).
  std::vector<Tensor> gradient(GradientTape& tape, const Tensor& loss,
                               const std::vector<Variable>& variables) const override;
  /// Gradients averaged across ranks, bucket by bucket (`variables` name
  /// them in errors and set the buckets).
  std::vector<Tensor> all_reduce_gradients(const std::vector<Tensor>& gradients,
                                           const std::vector<Variable>& variables) const;

  /// A value reduced across ranks (tf.distribute.Strategy.reduce).
  Tensor reduce(collective::ReduceOp op, const Tensor& value, const std::string& label = "") const;
  /// A Mean metric (or accuracy) over every rank's values: the ranks' totals
  /// over their counts.
  Tensor reduce(const metrics::Mean& metric) const override;
  /// Whether `flag` is true on any rank (every rank calls it).
  bool any(bool flag) const override;

  /// Saves on rank 0 while the others wait for it, then every rank returns
  /// the path written.
  std::string save(CheckpointManager& manager) const override;

 private:
  // FailedPrecondition naming the variables whose values differ between
  // ranks, for those not checked before (once each, eagerly even in a trace).
  void check_replicated(const std::vector<Variable>& variables) const;

  StrategyOptions options_;
  struct Checked {
    std::mutex mu;
    std::unordered_set<uint64_t> ids;  // the variables' handles
  };
  std::shared_ptr<Checked> checked_ = std::make_shared<Checked>();
};

}  // namespace ember::distribute
