// The transport behind the collective ops: core defines it, distribute/
// fills it (its MPI process group, distribute/process_group.cpp), so the
// collective kernels (kernels/any_device/collective.cpp) and the
// data-parallel strategy's gradient buckets share one transport with no
// include running upward. Without a transport the process is a world of one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/tensor.h"

namespace ember::collective {

/// The reduction a transport applies (Mean is a Sum the caller divides).
enum class Reduction : uint8_t { Sum, Max, Min };

/// One collective call, as every rank must make it: ranks compare these
/// (the kind, dtype, shape and root; the label only names it) before they exchange data, and
/// an error names each rank's.
struct Call {
  const char* kind = "all_reduce";  // all_reduce, broadcast, all_gather, reduce_scatter
  std::string label;
  double timeout_seconds = 0;  // 0: the transport's default
};

/// A collective started and not yet waited for. `wait` returns its result
/// (on the input's device), rethrows its error, and throws DeadlineExceeded
/// when the other ranks do not answer within the call's timeout, or
/// Unavailable as soon as a rank that never took part ends its program.
class Pending {
 public:
  Pending() = default;
  explicit Pending(std::function<Tensor()> wait) : wait_(std::move(wait)) {}
  Tensor wait() {
    EMBER_CHECK(wait_ != nullptr, FailedPrecondition, "[collective] a Pending waited for twice");
    return std::exchange(wait_, nullptr)();
  }

 private:
  std::function<Tensor()> wait_;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Each starts the collective and returns at once; the transport keeps
  // `in` alive until it is done.
  /// Every rank's `in` reduced elementwise.
  virtual Pending all_reduce(const Tensor& in, Reduction op, Call call) = 0;
  /// Rank `root`'s `in`.
  virtual Pending broadcast(const Tensor& in, int root, Call call) = 0;
  /// Every rank's `in` (one shape), concatenated along axis 0 in rank order.
  virtual Pending all_gather(const Tensor& in, Call call) = 0;
  /// This rank's part (axis 0 split evenly) of the reduction of `in`.
  virtual Pending reduce_scatter(const Tensor& in, Reduction op, Call call) = 0;
};

/// This process's transport: made on first use by the factory distribute/
/// installs (null: a world of one, or a build without MPI).
Transport* transport();
void set_transport_factory(Transport* (*factory)());

}  // namespace ember::collective
