// The collectives and the data-parallel strategy in a world of one (no
// launcher): each collective is the identity, the strategy changes
// nothing, and bad calls fail with errors naming the call; the watchdog of
// queued GPU collectives, with stand-in probes. Across ranks,
// against references: tests/distributed/distributed_test.cpp (ctest runs it
// under `mpirun -np 2`).
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "core/collective.h"
#include "distribute/process_group.h"
#include "distribute/strategy.h"
#include "distribute/watchdog.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "test_util.h"

namespace ember::test {
namespace {

// Checked here against the identity (a world of one) and in
// distributed_test.cpp against references across 2 ranks.
const CoveredOps covered{op_name::CollectiveReduceV2, op_name::CollectiveGatherV2,
                         op_name::CollectiveReduceScatterV2, op_name::CollectiveBroadcast};

using collective::ReduceOp;

// `f` throws an E whose message holds `text`.
template <typename E>
void expect_error(const std::function<void()>& f, const std::string& text) {
  const std::string what = error_of<E>(f);
  EXPECT_NE(what.find(text), std::string::npos) << what;
}

TEST(Collective, AWorldOfOneIsTheIdentity) {
  EXPECT_EQ(collective::rank(), 0);
  EXPECT_EQ(collective::size(), 1);
  EXPECT_EQ(distribute::local_rank(), 0);
  EXPECT_EQ(distribute::local_size(), 1);
  Tensor x = constant({1.5f, -2.f, 3.f, 0.25f}, TensorShape{2, 2});
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min})
    EXPECT_EQ(collective::all_reduce(x, op).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(collective::broadcast(x, 0).to_vector<float>(), x.to_vector<float>());
  Tensor gathered = collective::all_gather(x);
  EXPECT_EQ(gathered.shape(), (TensorShape{2, 2}));
  EXPECT_EQ(collective::reduce_scatter(x).to_vector<float>(), x.to_vector<float>());
  Tensor ints = constant(std::vector<int64_t>{7, -3}, TensorShape{2});
  EXPECT_EQ(collective::all_reduce(ints, ReduceOp::Mean).to_vector<int64_t>(), (std::vector<int64_t>{7, -3}));
  Tensor empty = zeros(TensorShape{0, 3});
  EXPECT_EQ(collective::all_reduce(empty).shape(), (TensorShape{0, 3}));
  collective::barrier();
}

TEST(Collective, BadCallsNameTheCollective) {
  Tensor x = constant({1.f, 2.f, 3.f});
  expect_error<InvalidArgument>([&] { collective::broadcast(x, 1); },
                                "[collective::broadcast] root 1 is not a rank of a group of 1");
  expect_error<InvalidArgument>([&] { collective::all_gather(constant(1.f)); },
                                "[collective::all_gather] needs a tensor of rank 1 or more");
  expect_error<InvalidArgument>([&] { collective::all_reduce(greater(x, zeros_like(x)), ReduceOp::Mean); },
                                "[collective::all_reduce] a mean of booleans is not defined");
  expect_error<InvalidArgument>([&] { collective::reduce_scatter(x, ReduceOp::Max); },
                                "[collective::reduce_scatter] reduces by Sum or Mean only");
  expect_error<InvalidArgument>([&] { collective::all_reduce(x, ReduceOp::Sum, {.timeout_seconds = -1}); },
                                "timeout_seconds must not be negative");
  // A call made for a group of 2 (a trace from a 2-rank run) in a world of one.
  Attrs attrs{{"group_size", int64_t{2}},          {"group_key", int64_t{1}},
              {"instance_key", int64_t{1}},        {"communication_hint", std::string("auto")},
              {"timeout_seconds", 0.0},            {"label", std::string("x")},
              {"merge_op", std::string("Add")},    {"final_op", std::string("Id")}};
  expect_error<FailedPrecondition>([&] { execute1(op_def(op_name::CollectiveReduceV2), {x}, attrs); },
                                   "made for a group of 2 ranks, running in a world of 1");
  attrs.set("group_size", int64_t{2});
  expect_error<InvalidArgument>([&] { execute1(op_def(op_name::CollectiveReduceScatterV2), {x}, attrs); },
                                "axis 0 (3) does not divide into 2 ranks' parts");
  attrs.set("merge_op", std::string("Mul"));
  expect_error<InvalidArgument>([&] { execute1(op_def(op_name::CollectiveReduceV2), {x}, attrs); },
                                "merge_op must be Add, Min or Max, got 'Mul'");
}

// Without a launcher the strategy is one rank: its gradients are the tape's,
// its dataset the whole of each batch.
TEST(Strategy, OneRankChangesNothing) {
  distribute::MultiWorkerMirroredStrategy strategy;
  EXPECT_EQ(strategy.num_replicas_in_sync(), 1);
  EXPECT_TRUE(strategy.is_chief());
  Variable w(constant({0.5f, -1.f, 2.f}), {.name = "w"});
  {
    auto scope = strategy.scope();
    Variable made(constant({3.f}));
    EXPECT_EQ(made.read_value().to_vector<float>(), std::vector<float>{3.f});
  }
  Tensor x = constant({1.f, 2.f, 3.f});
  GradientTape tape;
  Tensor loss = reduce_sum(w.read_value() * w.read_value() * x);
  std::vector<Tensor> g = strategy.gradient(tape, loss, std::vector<Variable>{w});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{1.f, -4.f, 12.f}));

  data::Dataset d = strategy.distribute_dataset(data::Dataset::from_tensor_slices({constant(std::vector<float>{1, 2, 3, 4, 5})}), 2);
  int64_t batches = 0;
  for (auto it = d.iterator(); auto e = it.next();) {
    EXPECT_EQ(e->at(0).dim(0), 2);
    ++batches;
  }
  EXPECT_EQ(batches, 2);  // the short last batch dropped
  expect_error<InvalidArgument>([&] { strategy.distribute_dataset(d, 0); }, "must be a positive multiple");
}

// The tape hands each gradient over as soon as it is final: a variable used
// only near the output is handed over before one used at the input.
TEST(Strategy, TheTapeHandsGradientsOverWhenFinal) {
  Variable first(constant({2.f}), {.name = "first"}), last(constant({3.f}), {.name = "last"}),
      unused(constant({1.f}), {.name = "unused"});
  Tensor x = constant({1.5f});
  GradientTape tape;
  Tensor h = x * first.read_value();
  Tensor y = reduce_sum(h * last.read_value());
  std::vector<size_t> order;
  std::vector<Tensor> handed(3);
  std::vector<Tensor> g = tape.gradient(y, {first, last, unused}, [&](size_t k, const Tensor& t) {
    order.push_back(k);
    handed[k] = t;
  });
  EXPECT_EQ(order, (std::vector<size_t>{1, 0, 2}));
  EXPECT_EQ(handed[1].to_vector<float>(), std::vector<float>{3.f});  // d/d last = x * first
  EXPECT_EQ(handed[0].to_vector<float>(), std::vector<float>{4.5f});  // d/d first = x * last
  EXPECT_FALSE(handed[2].defined());
  EXPECT_EQ(g[0].to_vector<float>(), std::vector<float>{4.5f});
}

// ---- the watchdog of queued (NCCL) collectives, with probes standing in for CUDA events

// Waits up to `seconds` for `ready()`.
bool eventually(const std::function<bool()>& ready, double seconds = 5) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (!ready()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

struct Failures {
  std::mutex mu;
  std::vector<std::string> seen;
  void add(const std::string& s) {
    std::lock_guard lock(mu);
    seen.push_back(s);
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mu);
    return seen;
  }
};

// Work that completes is released and forgotten, in whatever order it
// completes; nothing fails.
TEST(Watchdog, ReleasesWhatCompletes) {
  Failures failures;
  std::atomic<bool> first_done{false}, second_done{false};
  std::atomic<int> released{0};
  distribute::Watchdog dog(nullptr, [&](const std::string& s) { failures.add(s); }, std::chrono::milliseconds(1));
  dog.watch("all-reduce a", 10, [&] { return first_done.load(); }, [&] { ++released; });
  dog.watch("all-reduce b", 10, [&] { return second_done.load(); }, [&] { ++released; });
  second_done = true;
  EXPECT_TRUE(eventually([&] { return dog.pending() == 1; }));
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    first_done = true;
  });
  EXPECT_TRUE(dog.drain());  // (returns once the last completes)
  later.join();
  EXPECT_EQ(dog.pending(), 0u);
  EXPECT_EQ(released.load(), 2);
  EXPECT_FALSE(dog.failed());
  EXPECT_TRUE(failures.get().empty());
}

// Work still queued past its timeout fails once, naming it and the
// timeout; it is not released (the job is going down), nor is what follows.
TEST(Watchdog, WorkPastItsTimeoutFailsOnceNamingIt) {
  Failures failures;
  std::atomic<int> released{0};
  distribute::Watchdog dog(nullptr, [&](const std::string& s) { failures.add(s); }, std::chrono::milliseconds(1));
  dog.watch("all-reduce of 'dense/kernel' (float32 [4, 3])", 0.05, [] { return false; }, [&] { ++released; });
  dog.watch("broadcast of 'x'", 0.05, [] { return false; }, [&] { ++released; });
  EXPECT_FALSE(dog.drain());  // (returns at the failure)
  EXPECT_TRUE(dog.failed());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::vector<std::string> seen = failures.get();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0],
            "the all-reduce of 'dense/kernel' (float32 [4, 3]) did not complete in 0.05 s: a rank has failed, exited "
            "or called another collective");
  EXPECT_EQ(released.load(), 0);
}

// An error the transport reports on its own, or a probe that throws (the
// work failed), fails at once with its text.
TEST(Watchdog, AsynchronousErrorsFailAtOnce) {
  {
    Failures failures;
    std::atomic<bool> broken{false};
    distribute::Watchdog dog(
        [&]() -> std::optional<std::string> {
          if (broken) return std::string("unhandled system error: remote process exited");
          return std::nullopt;
        },
        [&](const std::string& s) { failures.add(s); }, std::chrono::milliseconds(1));
    dog.watch("all-gather of 'x'", 60, [] { return false; });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(dog.failed());
    broken = true;
    ASSERT_TRUE(eventually([&] { return dog.failed(); }));
    EXPECT_EQ(failures.get(),
              std::vector<std::string>{"the transport reported an error: unhandled system error: remote process exited"});
  }
  Failures failures;
  distribute::Watchdog dog(nullptr, [&](const std::string& s) { failures.add(s); }, std::chrono::milliseconds(1));
  dog.watch("reduce-scatter of 'g'", 60, []() -> bool { throw Internal("cudaEventQuery: an illegal memory access"); });
  ASSERT_TRUE(eventually([&] { return dog.failed(); }));
  EXPECT_EQ(failures.get(),
            std::vector<std::string>{"the reduce-scatter of 'g' failed: cudaEventQuery: an illegal memory access"});
}

// A clean exit releases what is still queued (CUDA frees an event that is
// destroyed before it completes once it does).
TEST(Watchdog, DestructionReleasesWhatIsStillQueued) {
  std::atomic<int> released{0};
  {
    distribute::Watchdog dog(nullptr, [](const std::string&) { FAIL() << "no failure expected"; });
    dog.watch("all-reduce of 'x'", 60, [] { return false; }, [&] { ++released; });
  }
  EXPECT_EQ(released.load(), 1);
}

}  // namespace
}  // namespace ember::test
