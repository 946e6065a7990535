// Collectives across the processes of a distributed run: all-reduce,
// broadcast, all-gather, reduce-scatter and a barrier, as ops (tapes record
// them, traces hold them: core/ops/collective.cpp).
//
// A process launched by `mpirun` or `srun` is one rank of a world; any other
// is a world of one, where every collective is the identity, so a program
// runs unchanged with and without a launcher. The transport (MPI between
// CPU buffers, NCCL between GPU buffers) is distribute/'s
// (distribute/process_group.h); every rank must call the same collectives
// in the same order, and one that does not gets an error naming what each
// rank called, never garbage.
#pragma once

#include <string>

#include "core/tensor.h"

namespace ember::collective {

/// How values from every rank combine (tf.distribute.ReduceOp, with Max and Min).
enum class ReduceOp : uint8_t { Sum, Mean, Max, Min };

struct Options {
  /// What the collective carries ("gradients of dense/kernel:0"): named by
  /// the error when ranks disagree or one stops answering.
  std::string label = {};
  /// Seconds to wait for the other ranks before DeadlineExceeded (a rank
  /// that ends its program without taking part: Unavailable at once); 0: the
  /// process group's (60 s unless set: distribute::set_timeout, or the
  /// environment's EMBER_COLLECTIVE_TIMEOUT).
  double timeout_seconds = 0;
};

/// This process's rank, and the number of ranks (1 without a launcher).
int rank();
int size();

/// Every rank's `x` combined elementwise; each rank gets the result. Every
/// dtype (Sum, Max and Min of booleans are or, or, and); Mean of integers
/// truncates as TensorFlow's Div does, and takes no booleans.
Tensor all_reduce(const Tensor& x, ReduceOp op = ReduceOp::Sum, const Options& options = {});
/// Rank `root`'s `x` on every rank (each passes a tensor of the same dtype and shape).
Tensor broadcast(const Tensor& x, int root = 0, const Options& options = {});
/// Every rank's `x` (one shape on all ranks) concatenated along axis 0, in rank order.
Tensor all_gather(const Tensor& x, const Options& options = {});
/// The all-reduce (Sum or Mean) of `x` split along axis 0 into one part per
/// rank; each rank gets its own part (axis 0 must divide by the rank count).
Tensor reduce_scatter(const Tensor& x, ReduceOp op = ReduceOp::Sum, const Options& options = {});
/// Returns once every rank has called it.
void barrier(const Options& options = {});

}  // namespace ember::collective
