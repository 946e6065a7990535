// The collectives and the data-parallel strategy across ranks: ctest runs
// this under `mpirun -np 2` (tests/CMakeLists.txt). Every rank runs every
// test; each knows every rank's inputs (they are functions of the rank), so
// each checks its results against a reference it computes itself.
//
// `ember-distributed-tests --fault NAME DIR` runs one of the fault
// scenarios instead (tests/distributed/faults.sh checks how the job ends).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/indexed_slices.h"
#include "core/op_names.h"
#include "ember.h"

namespace ember::test {
namespace {

using collective::ReduceOp;

const std::vector<DType> kEveryDType = {float32, float64, float16, bfloat16, int32, int64, uint8, bool_};

// Element i of rank r's input: small integers, exact in every dtype (booleans: i + r odd).
double value(int r, int64_t i, DType t) {
  if (t == bool_) return static_cast<double>((i + r) % 2);
  if (t == uint8) return static_cast<double>((3 * i + 5 * r) % 40);
  return static_cast<double>(((7 * i + 3 * r) % 23) - 11);
}

Tensor input(int r, const TensorShape& shape, DType t) {
  std::vector<double> v(static_cast<size_t>(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = value(r, static_cast<int64_t>(i), t);
  return cast(constant(v, shape), t);
}

std::vector<double> as_doubles(const Tensor& t) { return cast(t, float64).to_vector<double>(); }

std::string label(DType t, int64_t n) { return detail::str_cat(dtype_name(t), " x ", n); }

TEST(Distributed, TwoRanks) {
  ASSERT_EQ(collective::size(), 2) << "run under mpirun -np 2";
  EXPECT_EQ(distribute::local_size(), 2);
  EXPECT_EQ(distribute::local_rank(), collective::rank());
}

// Each collective on every dtype, on empty, odd and larger sizes, against
// the reference each rank computes from both ranks' inputs.
TEST(Distributed, CollectivesMatchTheReference) {
  const int me = collective::rank(), n = collective::size();
  for (DType t : kEveryDType)
    for (int64_t len : {0, 1, 7, 1002}) {
      SCOPED_TRACE(label(t, len));
      const TensorShape shape{len};
      Tensor x = input(me, shape, t);
      auto at = [&](int r, int64_t i) { return value(r, i, t); };
      std::vector<double> sum(len), mx(len), mn(len), mean(len);
      for (int64_t i = 0; i < len; ++i) {
        double s = 0, hi = -1e300, lo = 1e300;
        for (int r = 0; r < n; ++r) {
          s += at(r, i);
          hi = std::max(hi, at(r, i));
          lo = std::min(lo, at(r, i));
        }
        sum[i] = t == bool_ ? (s > 0) : t == uint8 ? std::fmod(s, 256) : s;
        mx[i] = hi;
        mn[i] = lo;
        mean[i] = (t == int32 || t == int64) ? std::trunc(s / n) : s / n;
      }
      EXPECT_EQ(as_doubles(collective::all_reduce(x, ReduceOp::Sum)), sum);
      EXPECT_EQ(as_doubles(collective::all_reduce(x, ReduceOp::Max)), mx);
      EXPECT_EQ(as_doubles(collective::all_reduce(x, ReduceOp::Min)), mn);
      if (t != bool_ && t != uint8) {
        EXPECT_EQ(as_doubles(collective::all_reduce(x, ReduceOp::Mean)), mean);
      }
      for (int root = 0; root < n; ++root) {
        std::vector<double> want(len);
        for (int64_t i = 0; i < len; ++i) want[i] = at(root, i);
        Tensor b = collective::broadcast(x, root);
        EXPECT_EQ(b.dtype(), t);
        EXPECT_EQ(as_doubles(b), want);
      }
      std::vector<double> gathered;
      for (int r = 0; r < n; ++r)
        for (int64_t i = 0; i < len; ++i) gathered.push_back(at(r, i));
      Tensor g = collective::all_gather(x);
      EXPECT_EQ(g.shape(), (TensorShape{len * n}));
      EXPECT_EQ(as_doubles(g), gathered);
      if (len % n == 0 && t != bool_) {
        Tensor part = collective::reduce_scatter(x, ReduceOp::Sum);
        const int64_t each = len / n;
        EXPECT_EQ(as_doubles(part), std::vector<double>(sum.begin() + me * each, sum.begin() + (me + 1) * each));
      }
    }
}

TEST(Distributed, ReduceScatterAndGatherKeepTheOtherAxes) {
  const int me = collective::rank();
  Tensor x = input(me, TensorShape{4, 3}, float32);
  Tensor part = collective::reduce_scatter(x, ReduceOp::Mean);
  ASSERT_EQ(part.shape(), (TensorShape{2, 3}));
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_EQ(part.to_vector<float>()[i], (value(0, me * 6 + i, float32) + value(1, me * 6 + i, float32)) / 2);
  EXPECT_EQ(collective::all_gather(x).shape(), (TensorShape{8, 3}));
  // Axis 0 that does not divide: the same error on every rank.
  try {
    collective::reduce_scatter(input(me, TensorShape{3}, float32));
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("axis 0 (3) does not divide into 2 ranks' parts"), std::string::npos) << e.what();
  }
}

// The loss is the sum of the ranks' losses: each collective's gradient
// carries what the other ranks' outputs send back.
TEST(Distributed, GradientsFlowBetweenRanks) {
  const int me = collective::rank();
  const double w_of[2] = {2.0, -3.0};
  Tensor x = constant(std::vector<double>{1.0, 4.0, -2.0, 0.5});
  Tensor w = constant(w_of[me], float64);
  auto grad = [&](auto f) {
    GradientTape tape;
    tape.watch(x);
    Tensor loss = reduce_sum(w * f(x));
    return tape.gradient(loss, x).template to_vector<double>();
  };
  const double sum_w = w_of[0] + w_of[1];
  EXPECT_EQ(grad([](const Tensor& v) { return collective::all_reduce(v); }), std::vector<double>(4, sum_w));
  EXPECT_EQ(grad([](const Tensor& v) { return collective::all_reduce(v, ReduceOp::Mean); }),
            std::vector<double>(4, sum_w / 2));
  // all_gather: rank r's x is part r of every rank's output.
  EXPECT_EQ(grad([](const Tensor& v) { return collective::all_gather(v); }), std::vector<double>(4, sum_w));
  // broadcast from rank 1: its input reaches both ranks; rank 0's none.
  EXPECT_EQ(grad([](const Tensor& v) { return collective::broadcast(v, 1); }),
            std::vector<double>(4, me == 1 ? sum_w : 0.0));
  // reduce_scatter: each rank's part reaches one rank.
  std::vector<double> want = {w_of[0], w_of[0], w_of[1], w_of[1]};
  EXPECT_EQ(grad([](const Tensor& v) { return collective::reduce_scatter(v); }), want);
  // max: only the rank holding the larger value gets it.
  Tensor mine = constant(std::vector<double>{me == 0 ? 5.0 : 1.0, me == 0 ? -1.0 : 3.0});
  GradientTape tape;
  tape.watch(mine);
  Tensor loss = reduce_sum(w * collective::all_reduce(mine, ReduceOp::Max));
  std::vector<double> g = tape.gradient(loss, mine).to_vector<double>();
  EXPECT_EQ(g, me == 0 ? (std::vector<double>{sum_w, 0}) : (std::vector<double>{0, sum_w}));
}

// Ranks that call different collectives all get an error naming each
// rank's call, not a hang or garbage.
TEST(Distributed, RanksThatDisagreeAreToldWhatEachCalled) {
  const int me = collective::rank();
  Tensor x = me == 0 ? constant({1.f, 2.f, 3.f}) : constant({1.f, 2.f, 3.f, 4.f});
  try {
    collective::all_reduce(x, ReduceOp::Sum, {.label = me == 0 ? "dense/kernel:0" : "dense/bias:0"});
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank 0: all_reduce of 'dense/kernel:0' (float32 [3])"), std::string::npos) << what;
    EXPECT_NE(what.find("rank 1: all_reduce of 'dense/bias:0' (float32 [4])"), std::string::npos) << what;
  }
  // The ranks are still in step: the next collective works.
  EXPECT_EQ(collective::all_reduce(constant(1.f)).item<float>(), 2.f);
}

// ---- the strategy: 2 ranks with half a batch each take the steps 1 rank takes with the whole

struct Mlp {
  Variable w1, b1, w2, b2;
  Mlp(DType t, int seed) {
    auto draw = [&](TensorShape s, int k) {
      return cast(random::stateless_uniform(s, {seed, k}, -0.5, 0.5, float64), t);
    };
    w1 = Variable(draw({4, 6}, 1), {.name = "w1"});
    b1 = Variable(draw({6}, 2), {.name = "b1"});
    w2 = Variable(draw({6, 3}, 3), {.name = "w2"});
    b2 = Variable(draw({3}, 4), {.name = "b2"});
  }
  std::vector<Variable> variables() const { return {w1, b1, w2, b2}; }
  Tensor loss(const Tensor& x, const Tensor& y) const {
    Tensor h = relu(matmul(x, w1.read_value()) + b1.read_value());
    return reduce_mean(square(matmul(h, w2.read_value()) + b2.read_value() - y));
  }
};

data::Dataset examples(DType t) {
  Tensor x = cast(random::stateless_uniform({16, 4}, {7, 1}, -1, 1, float64), t);
  Tensor y = cast(random::stateless_uniform({16, 3}, {7, 2}, -1, 1, float64), t);
  return data::Dataset::from_tensor_slices({x, y});
}

void same_steps(DType t, bool traced, size_t bucket_bytes) {
  SCOPED_TRACE(detail::str_cat(dtype_name(t), traced ? " traced" : " eager", ", buckets of ", bucket_bytes, " bytes"));
  const int me = collective::rank();
  distribute::MultiWorkerMirroredStrategy strategy({.bucket_bytes = bucket_bytes});
  std::unique_ptr<Mlp> model;
  {
    auto scope = strategy.scope();
    model = std::make_unique<Mlp>(t, 100 + me);  // each rank draws its own; the scope makes them rank 0's
  }
  for (const Variable& v : model->variables()) {
    std::vector<Tensor> both = split(collective::all_gather(reshape(v.read_value(), TensorShape{1, -1})), 2, 0);
    EXPECT_EQ(as_doubles(both[0]), as_doubles(both[1])) << v.name() << " differs between the ranks";
  }
  // The reference: one rank's training on whole batches, from the same start.
  Mlp whole(t, 100);
  for (size_t k = 0; k < 4; ++k) whole.variables()[k].assign(model->variables()[k].read_value());

  optimizers::Adam opt(0.05), opt_whole(0.05);
  const std::vector<Variable> vars = model->variables(), whole_vars = whole.variables();
  auto step = [&](const Tensor& x, const Tensor& y) {
    GradientTape tape;
    Tensor loss = model->loss(x, y);
    opt.apply(strategy.gradient(tape, loss, vars), vars);
    return loss;
  };
  auto traced_step = function([&](Tensor x, Tensor y) { return step(x, y); });
  data::Dataset mine = strategy.distribute_dataset(examples(t), 8);
  data::Dataset all = examples(t).batch(8);
  auto it_mine = mine.iterator();
  auto it_all = all.iterator();
  int steps = 0;
  for (int pass = 0; pass < 3; ++pass) {
    it_mine = mine.iterator();
    it_all = all.iterator();
    while (auto part = it_mine.next()) {
      auto batch = it_all.next();
      ASSERT_TRUE(batch.has_value());
      ASSERT_EQ(part->at(0).dim(0), 4);
      if (traced) {
        traced_step(part->at(0), part->at(1));
      } else {
        step(part->at(0), part->at(1));
      }
      GradientTape tape;
      Tensor loss = whole.loss(batch->at(0), batch->at(1));
      opt_whole.apply(tape.gradient(loss, whole_vars), whole_vars);
      ++steps;
    }
    EXPECT_FALSE(it_all.next().has_value());
  }
  EXPECT_EQ(steps, 6);
  if (traced && bucket_bytes < 1024) {
    // Several buckets: each one's collective is a node right after its last
    // gradient, among the backward pass's nodes (the first layer's kernel
    // gradient, a matmul, comes after), and the executor ran later nodes
    // while collectives were in flight (plain calls and the arena's alike).
    const ConcreteFunction cf = traced_step.list_concrete_functions()[0];
    const std::vector<Node>& nodes = cf.graph().nodes;
    size_t first_collective = nodes.size(), last_matmul = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].kind != Node::Kind::Op) continue;
      if (nodes[i].op->name == op_name::CollectiveReduceV2) first_collective = std::min(first_collective, i);
      if (nodes[i].op->name == op_name::MatMul || nodes[i].op->name == op_name::BatchMatMulV2) last_matmul = i;
    }
    EXPECT_LT(first_collective, last_matmul) << cf.graph().to_string();
    const ExecutorStats stats = cf.run_stats();
    EXPECT_GT(stats.overlapped, 0);
    EXPECT_GT(stats.arena, 0);
  }
  const double tol = t == float64 ? 1e-12 : 1e-5;
  for (size_t k = 0; k < vars.size(); ++k) {
    std::vector<double> got = as_doubles(vars[k].read_value()), want = as_doubles(whole_vars[k].read_value());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << vars[k].name() << "[" << i << "]";
  }
}

TEST(Distributed, HalfBatchesOnTwoRanksTakeTheStepsOfOneRank) {
  for (bool traced : {false, true}) {
    same_steps(float64, traced, size_t{25} << 20);
    same_steps(float64, traced, 64);  // a bucket per variable or two: several collectives in flight
    same_steps(float32, traced, size_t{25} << 20);
  }
}

// An embedding's gradient is rows (core/indexed_slices.h): the strategy
// gathers every rank's rows (rank 0 looks up 3 ids, rank 1 five, row 4 on
// both) instead of reducing the dense [10, 3] value, and hands rows on, so
// the update reads rows; a dense gradient in the same bucket is reduced as
// before. Against each rank's reference: the mean of both ranks' dense
// gradients from plain tapes, and Adam steps taken with it. Eager and
// traced; and with gather_rows off, the same steps through the dense value.
TEST(Distributed, EmbeddingGradientsAreGatheredAsRows) {
  const int me = collective::rank();
  const std::vector<std::vector<int32_t>> ids_of = {{1, 4, 4}, {4, 7, 2, 9, 0}};
  auto loss_of = [](const Tensor& table, const Tensor& w, const Tensor& ids) {
    Tensor rows = gather(table, ids);
    const Tensor one = constant(int64_t{1});
    Tensor weights = cast(range(one, size(ids, int64) + one, one), float64);
    return reduce_sum(reshape(weights, TensorShape{-1, 1}) * square(matmul(rows, w)));
  };
  for (auto [traced, gather] : {std::pair{false, true}, std::pair{true, true}, std::pair{false, false}, std::pair{true, false}}) {
    SCOPED_TRACE(detail::str_cat(traced ? "traced" : "eager", gather ? "" : ", rows reduced densely"));
    distribute::MultiWorkerMirroredStrategy strategy({.gather_rows = gather});
    Variable table, w;
    {
      auto scope = strategy.scope();
      table = Variable(random::stateless_uniform({10, 3}, {3, me}, -1, 1, float64), {.name = "embedding"});
      w = Variable(random::stateless_uniform({3, 2}, {4, me}, -1, 1, float64), {.name = "w"});
    }
    // The reference: rank 0's start, each rank's dense gradient, their mean.
    Variable ref_table(table.read_value()), ref_w(w.read_value());
    std::vector<Tensor> mean_grads(2);
    for (const auto& ids : ids_of) {
      GradientTape tape;
      Tensor loss = loss_of(ref_table.read_value(), ref_w.read_value(), constant(ids));
      std::vector<Tensor> g = tape.gradient(loss, {ref_table, ref_w});
      for (size_t k = 0; k < 2; ++k) {
        Tensor half = dense_value(g[k]) * 0.5;
        mean_grads[k] = mean_grads[k].defined() ? mean_grads[k] + half : half;
      }
    }
    optimizers::Adam opt(0.1), ref_opt(0.1);
    const std::vector<Variable> vars = {table, w};
    bool were_rows = false;
    auto step = [&](const Tensor& ids) {
      GradientTape tape;
      Tensor loss = loss_of(table.read_value(), w.read_value(), ids);
      std::vector<Tensor> g = strategy.gradient(tape, loss, vars);
      were_rows = (as_indexed_slices(g[0]) != nullptr) == gather && as_indexed_slices(g[1]) == nullptr;
      opt.apply(g, vars);
      return std::vector<Tensor>{dense_value(g[0]), g[1]};
    };
    auto traced_step = function([&](Tensor ids) { return step(ids); });
    for (int s = 0; s < 3; ++s) {
      std::vector<Tensor> g = traced ? traced_step(constant(ids_of[static_cast<size_t>(me)]))
                                     : step(constant(ids_of[static_cast<size_t>(me)]));
      EXPECT_TRUE(were_rows);
      if (s == 0)
        for (size_t k = 0; k < 2; ++k) {
          std::vector<double> got = as_doubles(g[k]), want = as_doubles(mean_grads[k]);
          ASSERT_EQ(got.size(), want.size());
          for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "gradient " << k << "[" << i << "]";
        }
      // The reference's next step: the mean of both ranks' gradients at its weights.
      std::vector<Tensor> sum(2);
      for (const auto& ids : ids_of) {
        GradientTape tape;
        std::vector<Tensor> g1 = tape.gradient(loss_of(ref_table.read_value(), ref_w.read_value(), constant(ids)),
                                               {ref_table, ref_w});
        for (size_t k = 0; k < 2; ++k) sum[k] = sum[k].defined() ? sum[k] + dense_value(g1[k]) : dense_value(g1[k]);
      }
      ref_opt.apply({sum[0] * 0.5, sum[1] * 0.5}, {ref_table, ref_w});
    }
    for (auto [got, want] : {std::pair{table, ref_table}, std::pair{w, ref_w}}) {
      std::vector<double> a = as_doubles(got.read_value()), b = as_doubles(want.read_value());
      for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12) << got.name() << "[" << i << "]";
    }
    if (traced) {  // gathered, not all-reduced: the table's 30 elements never meet an all-reduce
      const ConcreteFunction cf = traced_step.list_concrete_functions()[0];
      int gathers = 0;
      for (const Node& n : cf.graph().nodes)
        if (n.kind == Node::Kind::Op && n.op->name == op_name::CollectiveGatherV2) ++gathers;
      EXPECT_EQ(gathers, gather ? 2 : 0) << cf.graph().to_string();
    }
  }
}

std::string shared_dir(const std::string& name);

// Model::fit under the strategy: each rank starts from its own draw (the
// fit's scope gives them rank 0's), takes half of each global batch of 8,
// and ends with the weights and History of one process fitting whole batches
// from rank 0's start; a ModelCheckpoint is written once, by rank 0.
TEST(Distributed, FitOnTwoRanksTakesTheStepsOfOneProcess) {
  const int me = collective::rank();
  Tensor x = random::stateless_uniform({32, 4}, {9, 1}, -1, 1);
  Tensor y = random::stateless_uniform({32, 3}, {9, 2}, -1, 1);
  auto make = [](int64_t seed) {
    random::set_seed(seed);
    auto m = std::make_shared<Sequential>(std::vector<std::shared_ptr<layers::Layer>>{
        std::make_shared<layers::Dense>(6, layers::DenseOptions{.activation = "relu"}), std::make_shared<layers::Dense>(3)});
    return m;
  };
  const std::string dir = shared_dir("fit_checkpoint");
  auto strategy = std::make_shared<distribute::MultiWorkerMirroredStrategy>();
  auto model = make(10 + me);
  model->compile({.optimizer = std::make_shared<optimizers::Adam>(0.05),
                  .loss = std::make_shared<losses::MeanSquaredError>(),
                  .metrics = {"mae"},
                  .distribute = strategy});
  auto ckpt = std::make_shared<callbacks::ModelCheckpoint>(dir + "/w-{epoch}", callbacks::ModelCheckpointOptions{.save_weights_only = true});
  auto h = model->fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0, .callbacks = {ckpt}});
  EXPECT_EQ(model->optimizer().iterations().read_value().item<int64_t>(), 12);

  // The reference: one process, rank 0's seed (its layers' draws, then the
  // shuffle's), whole batches.
  auto whole = make(10);
  whole->compile({.optimizer = std::make_shared<optimizers::Adam>(0.05),
                  .loss = std::make_shared<losses::MeanSquaredError>(),
                  .metrics = {"mae"}});
  auto hw = whole->fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0});
  const auto got = model->variables(), want = whole->variables();
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    std::vector<double> g = as_doubles(got[k].read_value()), w = as_doubles(want[k].read_value());
    for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], 1e-5) << got[k].name() << "[" << i << "]";
  }
  for (const char* key : {"loss", "mae"})
    for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(h->history.at(key)[e], hw->history.at(key)[e], 1e-5) << key << " " << e;
  collective::barrier();
  EXPECT_TRUE(std::filesystem::exists(dir + "/w-3.index"));
}

// Loss scaling under the strategy: the ranks average the scaled gradients,
// so every rank makes the same skip-or-apply choice, and 2 ranks with half
// batches take the steps (and keep the scale) of 1 rank with whole ones.
TEST(Distributed, LossScalingTakesTheStepsOfOneRank) {
  const int me = collective::rank();
  distribute::MultiWorkerMirroredStrategy strategy;
  std::unique_ptr<Mlp> model;
  {
    auto scope = strategy.scope();
    model = std::make_unique<Mlp>(float32, 300 + me);
  }
  Mlp whole(float32, 300);
  for (size_t k = 0; k < 4; ++k) whole.variables()[k].assign(model->variables()[k].read_value());
  const optimizers::LossScaleParams params{.initial_scale = std::ldexp(1.0, 127), .dynamic_growth_steps = 2};
  optimizers::LossScaleOptimizer opt(std::make_shared<optimizers::SGD>(0.05), params);
  optimizers::LossScaleOptimizer opt_whole(std::make_shared<optimizers::SGD>(0.05), params);
  const std::vector<Variable> vars = model->variables(), whole_vars = whole.variables();
  const data::Dataset mine_passes = strategy.distribute_dataset(examples(float32), 8).repeat(6);
  auto mine = mine_passes.iterator();
  auto all = examples(float32).batch(8).repeat(6).iterator();
  int steps = 0;
  while (auto part = mine.next()) {
    auto batch = all.next();
    ASSERT_TRUE(batch.has_value());
    GradientTape tape;
    opt.apply(strategy.gradient(tape, opt.scale_loss(model->loss(part->at(0), part->at(1))), vars), vars);
    GradientTape tape_whole;
    opt_whole.apply(tape_whole.gradient(opt_whole.scale_loss(whole.loss(batch->at(0), batch->at(1))), whole_vars),
                    whole_vars);
    EXPECT_EQ(opt.dynamic_scale().read_value().item<float>(), opt_whole.dynamic_scale().read_value().item<float>())
        << "step " << steps;
    ++steps;
  }
  EXPECT_EQ(steps, 12);
  // Some steps overflowed and were skipped, the others applied.
  const int64_t applied = opt.iterations().read_value().item<int64_t>();
  EXPECT_GT(applied, 0);
  EXPECT_LT(applied, 12);
  EXPECT_EQ(applied, opt_whole.iterations().read_value().item<int64_t>());
  for (size_t k = 0; k < vars.size(); ++k) {
    std::vector<double> got = as_doubles(vars[k].read_value()), want = as_doubles(whole_vars[k].read_value());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << vars[k].name() << "[" << i << "]";
  }
}

// A model made outside the scope starts from each rank's own values: the
// first step says which variables differ instead of training apart; after
// broadcast_variables the step runs.
TEST(Distributed, VariablesMadeOutsideTheScopeAreCaught) {
  const int me = collective::rank();
  distribute::MultiWorkerMirroredStrategy strategy;
  Variable same(constant({1.0f, 2.0f}), {.name = "same"});
  Variable own(constant({static_cast<float>(me), 2.0f}), {.name = "own"});
  const std::vector<Variable> vars{same, own};
  auto step = [&] {
    GradientTape tape;
    Tensor loss = reduce_sum(same.read_value() * own.read_value());
    return strategy.gradient(tape, loss, vars);
  };
  try {
    step();
    ADD_FAILURE() << "no error";
  } catch (const FailedPrecondition& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the ranks hold different values of own:0:"), std::string::npos) << what;
    EXPECT_EQ(what.find("same:0"), std::string::npos) << what;
  }
  strategy.broadcast_variables(vars);
  std::vector<Tensor> g = step();
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{0.f, 2.f}));  // own, rank 0's
}

TEST(Distributed, MetricsAreReducedAcrossRanks) {
  const int me = collective::rank();
  distribute::MultiWorkerMirroredStrategy strategy;
  metrics::Mean m;
  m.update_state(me == 0 ? constant({1.f, 2.f, 3.f}) : constant({10.f}));
  EXPECT_FLOAT_EQ(strategy.reduce(m).item<float>(), 16.f / 4);
  EXPECT_EQ(strategy.reduce(ReduceOp::Sum, constant(static_cast<float>(me + 1))).item<float>(), 3.f);
}

// A directory both ranks name: rank 0's, broadcast as bytes.
// The directories shared_dir made, removed by rank 0 when its process ends
// (a test that fails midway leaves nothing in the temporary directory either).
struct SharedDirs {
  std::vector<std::string> dirs;
  ~SharedDirs() {
    for (const std::string& dir : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

std::string shared_dir(const std::string& name) {
  static SharedDirs made;
  std::string dir = collective::rank() == 0 ? ::testing::TempDir() + "ember_distributed_" + name + "_" +
                                                  std::to_string(getpid())
                                            : std::string(200, ' ');
  dir.resize(200, ' ');
  std::vector<int32_t> bytes(dir.begin(), dir.end());
  std::vector<int32_t> got = collective::broadcast(constant(bytes), 0).to_vector<int32_t>();
  std::string out(got.begin(), got.end());
  out.erase(out.find_last_not_of(' ') + 1);
  if (collective::rank() == 0) {
    std::filesystem::remove_all(out);
    std::filesystem::create_directories(out);
    made.dirs.push_back(out);
  }
  collective::barrier();
  return out;
}

// A first save under the strategy's scope (as fit's BackupAndRestore makes
// it): rank 0 alone makes the checkpoint's save counter, which must not
// wait for the others in a broadcast of its initial value. It did: the
// Fashion-MNIST samples with --distributed --checkpoint-dir ended at their
// first backup with "the ranks called different collectives".
TEST(Distributed, AFirstSaveInTheScopeMakesTheCounterOnRankZeroAlone) {
  const int me = collective::rank();
  distribute::MultiWorkerMirroredStrategy strategy;
  const std::string dir = shared_dir("ckpt_in_scope");
  auto scope = strategy.scope();
  auto model = std::make_shared<Module>();
  model->track("w", Variable(constant({1.f * (me + 1), 2.f})));  // rank 0's on both
  Checkpoint ckpt({{"model", model}});
  CheckpointManager manager(ckpt, dir, 3);
  EXPECT_EQ(strategy.save(manager), dir + "/ckpt-1");
  EXPECT_EQ(strategy.save(manager), dir + "/ckpt-2");
  auto restored = std::make_shared<Module>();
  Variable w = restored->track("w", Variable(zeros({2})));
  Checkpoint back({{"model", restored}});
  back.restore(dir + "/ckpt-2").assert_consumed();
  EXPECT_EQ(w.read_value().to_vector<float>(), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(back.save_counter().read_value().item<int64_t>(), 2);  // every rank's, from the file
  collective::barrier();
}

// Rank 0 writes while the other waits; a run of one rank (here, rank 0 on
// its own, with no collective) restores it; and what one rank wrote, two restore.
TEST(Distributed, CheckpointsMoveBetweenRankCounts) {
  const int me = collective::rank();
  distribute::MultiWorkerMirroredStrategy strategy;
  const std::string dir = shared_dir("ckpt");
  auto model = std::make_shared<Module>();
  {
    auto scope = strategy.scope();
    model->track("w", Variable(constant({1.f * (me + 1), 2.f, 3.f})));
  }
  Checkpoint ckpt({{"model", model}});
  CheckpointManager manager(ckpt, dir, 3);
  const std::string path = strategy.save(manager);
  EXPECT_EQ(path, dir + "/ckpt-1");
  EXPECT_TRUE(std::filesystem::exists(path + ".index"));
  if (me == 0) {  // one rank alone
    auto alone = std::make_shared<Module>();
    Variable w = alone->track("w", Variable(zeros({3})));
    Checkpoint({{"model", alone}}).restore(path);
    EXPECT_EQ(w.read_value().to_vector<float>(), (std::vector<float>{1.f, 2.f, 3.f}));
  }
  collective::barrier();
  // Written by one rank (rank 0, with no collective), restored by both.
  const std::string one = dir + "/by_one";
  if (me == 0) {
    auto written = std::make_shared<Module>();
    written->track("w", Variable(constant({7.f, 8.f, 9.f})));
    Checkpoint({{"model", written}}).write(one);
  }
  collective::barrier();
  auto restored = std::make_shared<Module>();
  Variable w = restored->track("w", Variable(zeros({3})));
  Checkpoint({{"model", restored}}).restore(one);
  EXPECT_EQ(w.read_value().to_vector<float>(), (std::vector<float>{7.f, 8.f, 9.f}));
}

// ---- fault scenarios (faults.sh): how a job ends when a rank does not take part

int fault(const std::string& name, const std::string& dir) {
  const int me = collective::rank();
  distribute::set_timeout(3);
  auto model = std::make_shared<Module>();
  Variable w = model->track("w", Variable(constant({1.f, 2.f})));
  Checkpoint ckpt({{"model", model}});
  CheckpointManager manager(ckpt, dir, 2);
  if (name == "resume") {  // after the job died: one process picks up its last checkpoint
    w.assign(zeros({2}));
    const std::string from = manager.restore_or_initialize();
    const std::vector<float> got = w.read_value().to_vector<float>();
    const bool ok = !from.empty() && got == std::vector<float>{1.f, 2.f};
    std::printf("%s from %s: w = [%g, %g]\n", ok ? "resumed" : "NOT resumed", from.c_str(), got[0], got[1]);
    return ok ? 0 : 1;
  }
  distribute::MultiWorkerMirroredStrategy strategy;
  strategy.save(manager);  // ckpt-1: complete
  if (name == "timeout") {
    if (me == 1) {
      std::this_thread::sleep_for(std::chrono::seconds(60));  // never joins the next collective
      return 0;
    }
    collective::all_reduce(constant(1.f), ReduceOp::Sum, {.label = "step 2"});
  } else if (name == "throw") {
    if (me == 1) throw std::runtime_error("rank 1's step failed");
    collective::all_reduce(constant(1.f), ReduceOp::Sum, {.label = "step 2"});
  } else if (name == "caught") {
    // Rank 1's step fails and its program catches that and ends (returns
    // from main); rank 0 waits with a timeout far past the test's bound.
    distribute::set_timeout(120);
    if (me == 1) {
      try {
        throw std::runtime_error("rank 1's step failed");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank 1 caught: %s; ending its program\n", e.what());
        return 1;
      }
    }
    collective::all_reduce(constant(1.f), ReduceOp::Sum, {.label = "step 2"});
  } else if (name == "die") {
    if (me == 1) raise(SIGKILL);
    collective::all_reduce(constant(1.f), ReduceOp::Sum, {.label = "step 2"});
  }
  std::fprintf(stderr, "fault scenario %s: rank %d ended normally\n", name.c_str(), me);
  return 0;
}

}  // namespace
}  // namespace ember::test

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--fault") == 0) return ember::test::fault(argv[2], argv[3]);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
