// The MPI process group (process_group.h): the transport behind the
// collective ops (core/collective_transport.h), installed when the library
// loads and started on first use.
#include "distribute/process_group.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/collective.h"
#include "core/collective_transport.h"
#include "core/error.h"
#include "core/half.h"
#include "core/ops.h"
#include "core/tensor.h"
#include "distribute/watchdog.h"

#ifdef EMBER_WITH_MPI
#include <mpi.h>
#endif
#ifdef EMBER_WITH_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>

#include "core/cuda_runtime.h"
#endif

namespace ember::distribute {
namespace {

std::atomic<double> g_timeout{[] {
  const char* env = std::getenv("EMBER_COLLECTIVE_TIMEOUT");
  const double v = env ? std::atof(env) : 0;
  return v > 0 ? v : 60.0;
}()};
std::atomic<bool> g_check{true};

// Launched by mpirun (OpenMPI, MPICH's hydra) or srun: the launcher's
// variables say so. EMBER_DISTRIBUTED=0 makes a launched process a world of one.
bool turned_off() {
  const char* off = std::getenv("EMBER_DISTRIBUTED");
  return off && std::string(off) == "0";
}

bool launched() {
  if (turned_off()) return false;
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

// A task of a several-task srun step whose environment names no MPI
// process-management interface: MPI would make it a world of one, and each
// task would train alone (and write the same checkpoints). Refused.
// The tasks of the srun step this process is one of (0: not srun's).
int srun_tasks() {
  const char* tasks = std::getenv("SLURM_STEP_NUM_TASKS");
  return tasks ? std::atoi(tasks) : 0;
}

void refuse_srun_without_pmi() {
  if (turned_off() || srun_tasks() < 2) return;
  const char* id = std::getenv("SLURM_PROCID");
  throw FailedPrecondition(detail::str_cat(
      "[distribute] srun started this process as task ", id ? id : "?", " of ", srun_tasks(),
      " with no MPI process-management interface in its environment (PMIx or PMI2), so it cannot join the "
      "other tasks: launch it with srun --mpi=pmix (or --mpi=pmi2, whichever the cluster's MPI supports) or "
      "with mpirun; EMBER_DISTRIBUTED=0 runs each task alone on purpose"));
}

}  // namespace

void set_timeout(double seconds) {
  EMBER_CHECK(seconds > 0, InvalidArgument, "[distribute::set_timeout] the timeout must be positive, got ", seconds);
  g_timeout = seconds;
}
double timeout() { return g_timeout; }
void set_check_consistency(bool check) { g_check = check; }

#ifdef EMBER_WITH_MPI
bool built_with_mpi() { return true; }

namespace {

using collective::Call;
using collective::Pending;
using collective::Reduction;

[[noreturn]] void mpi_failed(const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw Internal(detail::str_cat("[distribute] ", call, " failed: ", std::string(text, static_cast<size_t>(len))));
}
#define EMBER_MPI(CALL)                                   \
  do {                                                    \
    if (int rc_ = (CALL); rc_ != MPI_SUCCESS) [[unlikely]] \
      mpi_failed(#CALL, rc_);                             \
  } while (0)

// How MPI carries a dtype: 16-bit floats are reduced in float32 (MPI has no
// such type) and moved as 16-bit integers; booleans are bytes whose sum is or.
MPI_Datatype wire_type(DType t) {
  switch (t) {
    case float32: return MPI_FLOAT;
    case float64: return MPI_DOUBLE;
    case int32: return MPI_INT32_T;
    case int64: return MPI_INT64_T;
    case uint8:
    case bool_: return MPI_UINT8_T;
    case float16:
    case bfloat16: return MPI_UINT16_T;
    default: throw InvalidArgument(detail::str_cat("[collective] a ", dtype_name(t), " tensor cannot be carried"));
  }
}

MPI_Op mpi_op(Reduction r, DType t) {
  if (t == bool_) return r == Reduction::Min ? MPI_MIN : MPI_MAX;  // and; or, or
  switch (r) {
    case Reduction::Sum: return MPI_SUM;
    case Reduction::Max: return MPI_MAX;
    case Reduction::Min: return MPI_MIN;
  }
  return MPI_SUM;
}

#ifdef EMBER_WITH_NCCL
#define EMBER_NCCL(CALL)                                                                                    \
  do {                                                                                                      \
    if (ncclResult_t rc_ = (CALL); rc_ != ncclSuccess) [[unlikely]]                                         \
      throw Internal(detail::str_cat("[distribute] ", #CALL, " failed: ", ncclGetErrorString(rc_)));        \
  } while (0)
#define EMBER_CUDA_CALL(CALL)                                                                               \
  do {                                                                                                      \
    if (cudaError_t rc_ = (CALL); rc_ != cudaSuccess) [[unlikely]]                                          \
      throw Internal(detail::str_cat("[distribute] ", #CALL, " failed: ", cudaGetErrorString(rc_)));        \
  } while (0)

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case float32: return ncclFloat32;
    case float64: return ncclFloat64;
    case float16: return ncclFloat16;
    case bfloat16: return ncclBfloat16;
    case int32: return ncclInt32;
    case int64: return ncclInt64;
    case uint8:
    case bool_: return ncclUint8;
    default: throw InvalidArgument(detail::str_cat("[collective] a ", dtype_name(t), " tensor cannot be carried"));
  }
}

ncclRedOp_t nccl_op(Reduction r, DType t) {
  if (t == bool_) return r == Reduction::Min ? ncclMin : ncclMax;
  return r == Reduction::Max ? ncclMax : r == Reduction::Min ? ncclMin : ncclSum;
}
#endif

// What ranks must agree on: the kind, dtype, shape and root. Labels may
// differ (a layer's unique name depends on what else the rank made), so
// they are not compared; the error shows them.
std::string signature(const Call& call, const Tensor& t, int root) {
  std::string s = detail::str_cat(call.kind, " (", dtype_name(t.dtype()), " ", t.shape().to_debug_string());
  if (root >= 0) s += detail::str_cat(", root ", root);
  return s + ")";
}

std::string describe(const Call& call, const Tensor& t, int root) {
  std::string s = detail::str_cat(call.kind, " of ");
  s += call.label.empty() ? "an unlabelled tensor" : "'" + call.label + "'";
  s += detail::str_cat(" (", dtype_name(t.dtype()), " ", t.shape().to_debug_string());
  if (root >= 0) s += detail::str_cat(", root ", root);
  return s + ")";
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

// MPI counts are ints: larger buffers go in parts of at most this many elements.
constexpr int64_t kMaxCount = int64_t{1} << 30;

class MpiTransport final : public collective::Transport {
 public:
  MpiTransport() {
    std::promise<void> started;
    auto ready = started.get_future();
    worker_ = std::thread([this, &started] {
      try {
        start();
        started.set_value();
      } catch (...) {
        started.set_exception(std::current_exception());
        return;
      }
      serve();
    });
    try {
      ready.get();
    } catch (...) {
      worker_.join();
      throw;
    }
    std::atexit([] { instance()->shutdown(); });
    std::set_terminate(on_terminate);
  }

  static MpiTransport*& instance() {
    static MpiTransport* t = nullptr;
    return t;
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

  // Each method prepares the buffers on the caller's thread (casts, the
  // output's allocation: the caller's allocator cache reuses them), and the
  // MPI thread moves the data.
  Pending all_reduce(const Tensor& in, Reduction op, Call call) override {
    const DType t = in.dtype();
#ifdef EMBER_WITH_NCCL
    if (in.device().is_cuda()) {
      Tensor out = Tensor::empty(in.shape(), t, in.device());
      return submit_nccl(in, out, std::move(call), -1, [op, t](const Tensor& x, const Tensor& y, ncclComm_t comm, cudaStream_t s) {
        EMBER_NCCL(ncclAllReduce(x.raw_data(), y.raw_data(), static_cast<size_t>(x.num_elements()), nccl_type(t),
                                 nccl_op(op, t), comm, s));
      });
    }
#endif
    Tensor src = is_half(t) ? cast(in.to(Device::cpu()), float32) : in.to(Device::cpu());
    Tensor out = Tensor::empty(src.shape(), src.dtype(), Device::cpu());
    return submit(in, src, out, std::move(call), -1, [op, t](const Tensor& x, const Tensor& y) {
      const size_t elem = dtype_size(x.dtype());
      for (int64_t at = 0, n = x.num_elements(); at < n; at += kMaxCount) {
        const int count = static_cast<int>(std::min(kMaxCount, n - at));
        EMBER_MPI(MPI_Allreduce(static_cast<const char*>(x.raw_data()) + at * elem,
                                static_cast<char*>(y.raw_data()) + at * elem, count, wire_type(x.dtype()),
                                mpi_op(op, t), MPI_COMM_WORLD));
      }
    });
  }

  Pending broadcast(const Tensor& in, int root, Call call) override {
    EMBER_CHECK(root >= 0 && root < size_, InvalidArgument, "[collective::broadcast] root ", root,
                " is not a rank of ", size_);
#ifdef EMBER_WITH_NCCL
    if (in.device().is_cuda()) {
      Tensor out = Tensor::empty(in.shape(), in.dtype(), in.device());
      return submit_nccl(in, out, std::move(call), root, [root](const Tensor& x, const Tensor& y, ncclComm_t comm, cudaStream_t s) {
        EMBER_NCCL(ncclBroadcast(x.raw_data(), y.raw_data(), static_cast<size_t>(x.num_elements()),
                                 nccl_type(x.dtype()), root, comm, s));
      });
    }
#endif
    Tensor out = in.to(Device::cpu()).clone();
    return submit(in, out, out, std::move(call), root, [root](const Tensor&, const Tensor& y) {
      const size_t elem = dtype_size(y.dtype());
      for (int64_t at = 0, n = y.num_elements(); at < n; at += kMaxCount) {
        const int count = static_cast<int>(std::min(kMaxCount, n - at));
        EMBER_MPI(MPI_Bcast(static_cast<char*>(y.raw_data()) + at * elem, count, wire_type(y.dtype()), root,
                            MPI_COMM_WORLD));
      }
    });
  }

  Pending all_gather(const Tensor& in, Call call) override {
#ifdef EMBER_WITH_NCCL
    if (in.device().is_cuda()) {
      std::vector<int64_t> dims = in.shape().as_vector();
      dims[0] *= size_;
      Tensor out = Tensor::empty(TensorShape(dims), in.dtype(), in.device());
      return submit_nccl(in, out, std::move(call), -1, [](const Tensor& x, const Tensor& y, ncclComm_t comm, cudaStream_t s) {
        EMBER_NCCL(ncclAllGather(x.raw_data(), y.raw_data(), static_cast<size_t>(x.num_elements()),
                                 nccl_type(x.dtype()), comm, s));
      });
    }
#endif
    EMBER_CHECK(in.num_elements() <= std::numeric_limits<int>::max(), Unimplemented,
                "[collective::all_gather] more than 2^31 - 1 elements per rank");
    Tensor src = in.to(Device::cpu());
    std::vector<int64_t> dims = in.shape().as_vector();
    dims[0] *= size_;
    Tensor out = Tensor::empty(TensorShape(dims), in.dtype(), Device::cpu());
    return submit(in, src, out, std::move(call), -1, [](const Tensor& x, const Tensor& y) {
      const int count = static_cast<int>(x.num_elements());
      EMBER_MPI(MPI_Allgather(x.raw_data(), count, wire_type(x.dtype()), y.raw_data(), count, wire_type(x.dtype()),
                              MPI_COMM_WORLD));
    });
  }

  Pending reduce_scatter(const Tensor& in, Reduction op, Call call) override {
    const DType t = in.dtype();
#ifdef EMBER_WITH_NCCL
    if (in.device().is_cuda()) {
      std::vector<int64_t> dims = in.shape().as_vector();
      dims[0] /= size_;
      Tensor out = Tensor::empty(TensorShape(dims), t, in.device());
      return submit_nccl(in, out, std::move(call), -1, [op, t](const Tensor& x, const Tensor& y, ncclComm_t comm, cudaStream_t s) {
        EMBER_NCCL(ncclReduceScatter(x.raw_data(), y.raw_data(), static_cast<size_t>(y.num_elements()), nccl_type(t),
                                     nccl_op(op, t), comm, s));
      });
    }
#endif
    Tensor src = is_half(t) ? cast(in.to(Device::cpu()), float32) : in.to(Device::cpu());
    std::vector<int64_t> dims = in.shape().as_vector();
    dims[0] /= size_;
    Tensor out = Tensor::empty(TensorShape(dims), src.dtype(), Device::cpu());
    EMBER_CHECK(out.num_elements() <= std::numeric_limits<int>::max(), Unimplemented,
                "[collective::reduce_scatter] more than 2^31 - 1 elements per rank");
    return submit(in, src, out, std::move(call), -1, [op, t](const Tensor& x, const Tensor& y) {
      EMBER_MPI(MPI_Reduce_scatter_block(x.raw_data(), y.raw_data(), static_cast<int>(y.num_elements()),
                                         wire_type(x.dtype()), mpi_op(op, t), MPI_COMM_WORLD));
    });
  }

 private:
  struct Job {
    std::function<void()> run;
    std::promise<void> done;
  };

  // On the worker thread, first: MPI itself.
  void start() {
    // ember calls MPI from this thread alone (FUNNELED would do); MULTIPLE
    // where the library has it lets a program call MPI itself beside it.
    int provided = 0;
    EMBER_MPI(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided));
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    EMBER_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    EMBER_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
    MPI_Comm local;
    EMBER_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
    EMBER_MPI(MPI_Comm_rank(local, &local_rank_));
    EMBER_MPI(MPI_Comm_size(local, &local_size_));
    MPI_Comm_free(&local);
    // Where MPI lets two threads call it, a second communicator carries each
    // rank's notice that its program ended, which a rank waiting on a
    // collective reads between slices of its wait.
    if (provided == MPI_THREAD_MULTIPLE) {
      EMBER_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &notices_));
      MPI_Comm_set_errhandler(notices_, MPI_ERRORS_RETURN);
      ended_.assign(static_cast<size_t>(size_), -1);
    }
  }

  // The first rank (and how many collectives it completed) that ended its
  // program before completing collective number seq + 1, which so never
  // completes here; -1 when none did (or the notices are off).
  std::pair<int, int64_t> ended_before(int64_t seq) {
    if (notices_ == MPI_COMM_NULL) return {-1, 0};
    std::lock_guard lock(notice_mu_);
    for (;;) {
      int flag = 0;
      MPI_Status st;
      if (MPI_Iprobe(MPI_ANY_SOURCE, kEndedTag, notices_, &flag, &st) != MPI_SUCCESS || !flag) break;
      int64_t completed = 0;
      if (MPI_Recv(&completed, 1, MPI_INT64_T, st.MPI_SOURCE, kEndedTag, notices_, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        break;
      ended_[static_cast<size_t>(st.MPI_SOURCE)] = completed;
    }
    for (int r = 0; r < size_; ++r) {
      const int64_t completed = ended_[static_cast<size_t>(r)];
      if (r != rank_ && completed >= 0 && completed <= seq) return {r, completed};
    }
    return {-1, 0};
  }

  // At the program's end: tell every other rank how many collectives this
  // one completed (each send given a second; a rank gone already is skipped).
  // The count lives in the transport, which outlives a send given up on.
  void send_ended_notices() {
    if (notices_ == MPI_COMM_NULL || size_ < 2) return;
    ended_notice_ = completed_.load();
    std::vector<MPI_Request> sent;
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      MPI_Request q;
      if (MPI_Isend(&ended_notice_, 1, MPI_INT64_T, r, kEndedTag, notices_, &q) == MPI_SUCCESS) sent.push_back(q);
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (MPI_Request& q : sent) {
      int flag = 0;
      while (MPI_Test(&q, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && !flag &&
             std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (!flag) {
        MPI_Cancel(&q);
        MPI_Request_free(&q);
      }
    }
  }

  void serve() {
    for (;;) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) break;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      try {
        job->run();
        ++completed_;
        job->done.set_value();
      } catch (...) {
        ++completed_;
        job->done.set_exception(std::current_exception());
      }
    }
    send_ended_notices();  // after the queued collectives: what this rank completed is final
#ifdef EMBER_WITH_NCCL
    // The GPU collectives still queued complete (or the watchdog aborts the
    // job at their deadline) before MPI ends, and the watchdog with it.
    if (nccl_watchdog_) nccl_watchdog_->drain();
    nccl_watchdog_.reset();
#endif
    MPI_Finalize();
  }

  // Queues `move(src, out)` (host buffers) behind a comparison of every
  // rank's call; the Pending gives `out` back as `in`'s dtype on its device.
  Pending submit(const Tensor& in, Tensor src, Tensor out, Call call, int root,
                 std::function<void(const Tensor&, const Tensor&)> move) {
    EMBER_CHECK(!broken_, FailedPrecondition, "[collective::", call.kind, "] rank ", rank_,
                ": an earlier collective timed out, so the ranks are out of step; the run cannot go on");
    const std::string what = describe(call, in, root), sig = signature(call, in, root);
    const bool check = g_check;
    auto job = std::make_unique<Job>();
    job->run = [this, src, out, sig, what, check, move = std::move(move)] {
      if (check) agree(sig, what);
      move(src, out);
    };
    std::shared_future<void> done = job->done.get_future().share();
    int64_t seq = 0;  // this job's place in the order every rank runs its collectives in
    {
      std::lock_guard lock(mu_);
      seq = submitted_++;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    const double seconds = call.timeout_seconds > 0 ? call.timeout_seconds : g_timeout.load();
    return Pending([this, done, out, what, seconds, seq, dtype = in.dtype(), device = in.device()] {
      using Clock = std::chrono::steady_clock;
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
      // Waits in slices, between which it looks for a rank that ended its
      // program without taking part (a caught exception, a return from main).
      while (done.wait_for(std::min<Clock::duration>(deadline - Clock::now(), std::chrono::milliseconds(100))) !=
             std::future_status::ready) {
        if (auto [ended, after] = ended_before(seq); ended >= 0) {
          broken_ = true;
          throw Unavailable(detail::str_cat("[collective] rank ", rank_, " of ", size_, ": rank ", ended,
                                            " ended its program after ", after, " collective(s), while this rank waits in the ",
                                            what, " (its collective number ", seq + 1, "): the job cannot go on"));
        }
        if (Clock::now() >= deadline) {
          broken_ = true;
          throw DeadlineExceeded(detail::str_cat(
              "[collective] rank ", rank_, " of ", size_, ": no answer from the other ranks in ", seconds, " s to the ",
              what, ": a rank has failed, exited or called another collective"));
        }
      }
      done.get();
      Tensor result = out.dtype() == dtype ? out : cast(out, dtype);
      return result.device() == device ? result : result.to(device);
    });
  }

#ifdef EMBER_WITH_NCCL
  // A GPU tensor's collective: NCCL, on the device's compute stream (after
  // the kernels that made `in`, before those that read `out`), issued from
  // the MPI thread so that every rank issues its collectives in one order.
  // The Pending is ready once the call is queued on the stream; from then
  // the watchdog holds it to the timeout (an event recorded after it).
  Pending submit_nccl(const Tensor& in, Tensor out, Call call, int root,
                      std::function<void(const Tensor&, const Tensor&, ncclComm_t, cudaStream_t)> issue) {
    const int device = in.device().index();
    const double seconds = call.timeout_seconds > 0 ? call.timeout_seconds : g_timeout.load();
    std::string what = describe(call, in, root);
    return submit(in, in, out, std::move(call), root,
                  [this, device, seconds, what = std::move(what), issue = std::move(issue)](const Tensor& x, const Tensor& y) {
                    EMBER_CUDA_CALL(cudaSetDevice(device));
                    const auto stream = reinterpret_cast<cudaStream_t>(cuda::stream(device));
                    issue(x, y, nccl_comm(device), stream);
                    cudaEvent_t queued = nullptr;
                    EMBER_CUDA_CALL(cudaEventCreateWithFlags(&queued, cudaEventDisableTiming));
                    EMBER_CUDA_CALL(cudaEventRecord(queued, stream));
                    nccl_watchdog_->watch(
                        detail::str_cat(what, " (NCCL, on cuda:", device, ")"), seconds,
                        [queued, device] {
                          EMBER_CUDA_CALL(cudaSetDevice(device));
                          const cudaError_t e = cudaEventQuery(queued);
                          if (e == cudaErrorNotReady) return false;
                          EMBER_CUDA_CALL(e);  // (a failed kernel: the watchdog reports it)
                          return true;
                        },
                        [queued] { cudaEventDestroy(queued); });
                  });
  }

  // On the MPI thread: the NCCL communicator of every rank's GPU, made by the
  // first GPU collective (rank 0's unique id broadcast over MPI), and its
  // watchdog: a collective still queued past its timeout, or an error NCCL
  // reports on its own, aborts the communicator (which frees the kernels
  // spinning in it) and the job, the reason printed with the rank.
  ncclComm_t nccl_comm(int device) {
    if (!nccl_) {
      ncclUniqueId id;
      if (rank_ == 0) EMBER_NCCL(ncclGetUniqueId(&id));
      EMBER_MPI(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD));
      EMBER_NCCL(ncclCommInitRank(&nccl_, size_, id, rank_));
      nccl_device_ = device;
      nccl_watchdog_ = std::make_unique<Watchdog>(
          [comm = nccl_]() -> std::optional<std::string> {
            ncclResult_t state = ncclSuccess;
            if (ncclCommGetAsyncError(comm, &state) != ncclSuccess) return "ncclCommGetAsyncError failed";
            if (state == ncclSuccess || state == ncclInProgress) return std::nullopt;
            return detail::str_cat(ncclGetErrorString(state), ": ", ncclGetLastError(comm));
          },
          [this](const std::string& failure) {
            std::fprintf(stderr, "ember: rank %d of %d: %s; aborting the NCCL communicator and the job\n", rank_,
                         size_, failure.c_str());
            std::fflush(stderr);
            ncclCommAbort(nccl_);
            MPI_Abort(MPI_COMM_WORLD, 1);
          });
    }
    EMBER_CHECK(device == nccl_device_, Unimplemented, "[collective] rank ", rank_, "'s collectives ran on cuda:",
                nccl_device_, ", this one is on cuda:", device, ": one GPU per rank");
    return nccl_;
  }
  ncclComm_t nccl_ = nullptr;
  int nccl_device_ = -1;
  std::unique_ptr<Watchdog> nccl_watchdog_;
#endif

  // Every rank's call must have this signature: one small all-reduce
  // compares them (the largest hash and the largest complement agree only
  // when all hashes do); where they differ, every rank learns what each called.
  void agree(const std::string& sig, const std::string& what) {
    const uint64_t h = fnv1a(sig);
    uint64_t mine[2] = {h, ~h}, all[2] = {0, 0};
    EMBER_MPI(MPI_Allreduce(mine, all, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD));
    if (all[0] == ~all[1]) return;
    constexpr int kLen = 256;
    std::vector<char> text(static_cast<size_t>(kLen) * static_cast<size_t>(size_ + 1), 0);
    std::strncpy(text.data(), what.c_str(), kLen - 1);
    EMBER_MPI(MPI_Allgather(text.data(), kLen, MPI_CHAR, text.data() + kLen, kLen, MPI_CHAR, MPI_COMM_WORLD));
    std::string each;
    for (int r = 0; r < size_; ++r)
      each += detail::str_cat(r ? "; " : "", "rank ", r, ": ", std::string(text.data() + (r + 1) * kLen));
    throw InvalidArgument(detail::str_cat("[collective] the ranks called different collectives (", each,
                                          "): every rank must reduce the same tensors in the same order"));
  }

  void shutdown() {
    if (broken_) {
      std::fprintf(stderr, "ember: rank %d of %d: a collective failed (timed out, or a rank ended); aborting the job\n",
                   rank_, size_);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (worker_.joinable()) worker_.join();
  }

  // An uncaught exception on any rank: print it with the rank, and end every
  // rank now rather than leave them waiting for this one.
  [[noreturn]] static void on_terminate() {
    MpiTransport* t = instance();
    std::string what = "terminate called without an active exception";
    if (std::exception_ptr e = std::current_exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      } catch (...) {
        what = "a non-standard exception";
      }
    }
    std::fprintf(stderr, "ember: rank %d of %d terminated: %s\n", t ? t->rank_ : -1, t ? t->size_ : -1, what.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
  }

  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> jobs_;
  bool stopping_ = false;
  std::atomic<bool> broken_{false};
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  int64_t submitted_ = 0;              // collectives queued (under mu_)
  std::atomic<int64_t> completed_{0};  // collectives the worker finished
  static constexpr int kEndedTag = 1;
  MPI_Comm notices_ = MPI_COMM_NULL;
  std::mutex notice_mu_;
  std::vector<int64_t> ended_;  // per rank: collectives completed when its program ended, or -1
  int64_t ended_notice_ = 0;    // what this rank sends at its end
};

MpiTransport* mpi() {
  collective::Transport* t = collective::transport();
  return static_cast<MpiTransport*>(t);
}

[[maybe_unused]] const bool installed = (collective::set_transport_factory([]() -> collective::Transport* {
                                           if (!launched()) {
                                             refuse_srun_without_pmi();
                                             return nullptr;
                                           }
                                           auto* t = new MpiTransport();  // lives until the process ends
                                           MpiTransport::instance() = t;
                                           return t;
                                         }),
                                         true);

}  // namespace

int local_rank() {
  MpiTransport* t = mpi();
  return t ? t->local_rank() : 0;
}
int local_size() {
  MpiTransport* t = mpi();
  return t ? t->local_size() : 1;
}

#else  // a build without MPI: always a world of one

bool built_with_mpi() { return false; }
int local_rank() { return 0; }
int local_size() { return 1; }

[[maybe_unused]] const bool warned = [] {
  if (launched() || (!turned_off() && srun_tasks() > 1))
    std::fprintf(stderr, "ember: launched as one of several processes, but built without MPI: running as a world of one\n");
  return true;
}();

#endif

int rank() { return collective::rank(); }
int size() { return collective::size(); }

}  // namespace ember::distribute
