// Gradients held as rows (IndexedSlices, core/indexed_slices.h): what the
// tape returns for a lookup along axis 0, checked against float64 scatter
// references written here; its dense value wherever it is used as a tensor
// (ops, reads, traced functions, a second tape); two such gradients summed;
// the optimizers' updates from it against the same updates from the dense
// gradient; and a traced training step whose function keeps no dense
// gradient of the table.
#include <algorithm>
#include <cmath>

#include "core/indexed_slices.h"
#include "graph/function.h"
#include "nn/layers.h"
#include "nn/optimizers.h"
#include "test_util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace ember::test {
namespace {

class IndexedSlicesTest : public DeviceTest {};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using Vec = std::vector<double>;

int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.kind == Node::Kind::Op && node.op->name == op;
  return n;
}

// The dense tensor that rows `values` ([n, width]) at `rows` stand for.
Vec scatter_reference(const Vec& values, const std::vector<int64_t>& rows, int64_t num_rows, int64_t width) {
  Vec out(static_cast<size_t>(num_rows * width), 0.0);
  for (size_t k = 0; k < rows.size(); ++k)
    for (int64_t j = 0; j < width; ++j)
      out[static_cast<size_t>(rows[k] * width + j)] += values[k * static_cast<size_t>(width) + static_cast<size_t>(j)];
  return out;
}

TEST_P(IndexedSlicesTest, TheGradientOfALookupIsItsRows) {
  Vec table_values, w_values;
  Variable table(random_tensor({6, 3}, float64, -1, 1, 1, &table_values));
  Tensor w = random_tensor({2, 2, 3}, float64, -1, 1, 2, &w_values);
  const std::vector<int64_t> ids{4, 1, 4, 0};
  GradientTape tape;
  Tensor loss = reduce_sum(gather(table, constant(ids, {2, 2})) * w);
  Tensor g = tape.gradient(loss, table);

  const IndexedSlices* rows = as_indexed_slices(g);
  ASSERT_NE(rows, nullptr);
  EXPECT_EQ(rows->dense_shape, (TensorShape{6, 3}));
  EXPECT_EQ(rows->indices.index_values(), ids);
  EXPECT_EQ(rows->values.shape(), (TensorShape{4, 3}));
  EXPECT_EQ(values(rows->values), w_values);  // d loss / d row k = w's row k
  // As a tensor it is the dense gradient: shape, dtype, device, values.
  EXPECT_EQ(g.shape(), (TensorShape{6, 3}));
  EXPECT_EQ(g.dtype(), float64);
  EXPECT_EQ(g.device(), device());
  EXPECT_FALSE(g.is_symbolic());
  const Vec dense = scatter_reference(w_values, ids, 6, 3);
  EXPECT_EQ(values(g), dense);  // a read of its buffer
  Vec plus_one = dense;
  for (double& x : plus_one) x += 1;
  EXPECT_EQ(values(g + 1.0), plus_one);  // an op that takes it
  EXPECT_EQ(values(dense_value(g)), dense);
  EXPECT_EQ(values(reshape(g, {18})), dense);
  // A traced function called with it gets the dense value.
  auto doubled = function([](Tensor x) { return x * 2.0; });
  Vec twice = dense;
  for (double& x : twice) x *= 2;
  EXPECT_EQ(values(doubled(g)), twice);
  // A lookup along another axis, or in batches, stays dense.
  GradientTape tape2;
  Tensor other = reduce_sum(gather(table, constant(std::vector<int64_t>{2, 0}), 1));
  EXPECT_EQ(as_indexed_slices(tape2.gradient(other, table)), nullptr);
}

// In a trace that does not know how many ids there are, the lookup's
// gradient is still its rows (the table's shape is what they need).
TEST_P(IndexedSlicesTest, RowsInATraceOfAnUnknownNumberOfIds) {
  Variable table(random_tensor({6, 3}, float64, -1, 1, 1));
  bool rows = false;
  auto f = function([&](Tensor ids) {
    GradientTape tape;
    Tensor g = tape.gradient(reduce_sum(gather(table, ids)), table);
    rows = as_indexed_slices(g) != nullptr;
    return dense_value(g);
  });
  ConcreteFunction cf = f.get_concrete_function(TensorSpec({-1}, int64));
  EXPECT_TRUE(rows);
  const Vec got = values(cf(constant(std::vector<int64_t>{4, 1, 4}))[0]);
  EXPECT_EQ(got, scatter_reference(Vec(9, 1.0), {4, 1, 4}, 6, 3));
}

TEST_P(IndexedSlicesTest, TheRowsOfAnEmbeddingLayerOfAnyRank) {
  layers::Embedding emb(7, 2, std::make_shared<initializers::RandomUniform>(-1.0, 1.0, 3));
  Tensor ids = constant(std::vector<int32_t>{6, 6, 2}, {3, 1});
  GradientTape tape;
  Tensor out = emb(ids);  // [3, 1, 2]
  Tensor loss = reduce_sum(out * out);
  Tensor g = tape.gradient(loss, emb.embeddings);
  const IndexedSlices* rows = as_indexed_slices(g);
  ASSERT_NE(rows, nullptr);
  EXPECT_EQ(rows->indices.dtype(), int32);
  EXPECT_EQ(rows->indices.index_values(), (std::vector<int64_t>{6, 6, 2}));
  Vec table = values(emb.embeddings.read_value());
  Vec want(14, 0.0);
  for (int64_t r : {6, 6, 2})
    for (int j = 0; j < 2; ++j) want[static_cast<size_t>(r * 2 + j)] += 2 * table[static_cast<size_t>(r * 2 + j)];
  EXPECT_TRUE(all_close(g, want, {7, 2}, 1e-6, 1e-7));

  // A three-dimensional table: rows are [n, 2, 2].
  Variable cube(random_tensor({4, 2, 2}, float64, -1, 1, 4));
  GradientTape tape3;
  Tensor l3 = reduce_sum(gather(cube, constant(std::vector<int64_t>{3, 1, 3})));
  Tensor g3 = tape3.gradient(l3, cube);
  ASSERT_NE(as_indexed_slices(g3), nullptr);
  EXPECT_EQ(as_indexed_slices(g3)->values.shape(), (TensorShape{3, 2, 2}));
  EXPECT_EQ(values(g3), (Vec{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2}));
}

TEST_P(IndexedSlicesTest, TwoGradientsOfOneTableSum) {
  Vec t_values;
  Variable table(random_tensor({5, 2}, float64, -1, 1, 5, &t_values));
  // Two lookups: their rows concatenate, no dense value made.
  GradientTape tape;
  Tensor loss = reduce_sum(gather(table, constant(std::vector<int64_t>{1, 3}))) +
                3.0 * reduce_sum(gather(table, constant(std::vector<int32_t>{3})));
  Tensor g = tape.gradient(loss, table);
  const IndexedSlices* rows = as_indexed_slices(g);
  ASSERT_NE(rows, nullptr);
  EXPECT_EQ(rows->values.shape(), (TensorShape{3, 2}));
  Vec got_indices;
  for (int64_t i : rows->indices.index_values()) got_indices.push_back(static_cast<double>(i));
  std::sort(got_indices.begin(), got_indices.end());
  EXPECT_EQ(got_indices, (Vec{1, 3, 3}));
  EXPECT_EQ(values(g), (Vec{0, 0, 1, 1, 0, 0, 4, 4, 0, 0}));
  // A lookup and a dense use (a tied output projection): the dense sum.
  Tensor x = cast(constant({1.0, -2.0}, {1, 2}), float64);
  GradientTape tape2;
  Tensor l2 = reduce_sum(gather(table, constant(std::vector<int64_t>{0, 0}))) +
              reduce_sum(matmul(x, table, false, true));  // x · tableᵀ: d/dtable[r] = x
  Tensor g2 = tape2.gradient(l2, table);
  EXPECT_EQ(as_indexed_slices(g2), nullptr);
  EXPECT_EQ(values(g2), (Vec{3, 0, 1, -2, 1, -2, 1, -2, 1, -2}));
}

TEST_P(IndexedSlicesTest, ASecondTapeDifferentiatesThroughTheRows) {
  Variable table(fill({4, 2}, 0.5, float64));
  Vec x_values;
  Tensor x = random_tensor({3, 2}, float64, -1, 1, 6, &x_values);
  GradientTape outer;
  outer.watch(x);
  Tensor g;
  {
    GradientTape inner;
    Tensor loss = reduce_sum(gather(table, constant(std::vector<int64_t>{2, 0, 2})) * x);
    g = inner.gradient(loss, table);  // rows x, at 2, 0, 2
  }
  ASSERT_NE(as_indexed_slices(g), nullptr);
  Tensor penalty = reduce_sum(g * g);  // Σ over dense rows: (x0 + x2)² + x1²
  Tensor dx = outer.gradient(penalty, x);
  ASSERT_TRUE(dx.defined());
  Vec want(6);
  for (int j = 0; j < 2; ++j) {
    const double row2 = x_values[static_cast<size_t>(j)] + x_values[static_cast<size_t>(4 + j)];
    want[static_cast<size_t>(j)] = 2 * row2;
    want[static_cast<size_t>(2 + j)] = 2 * x_values[static_cast<size_t>(2 + j)];
    want[static_cast<size_t>(4 + j)] = 2 * row2;
  }
  EXPECT_TRUE(all_close(dx, want, {3, 2}, 1e-12, 1e-12));
}

TEST_P(IndexedSlicesTest, BadRowsAreAClearError) {
  Tensor v = constant({1.f, 2.f}, {1, 2});
  auto message = [](const std::function<void()>& f) { return error_of<InvalidArgument>(f); };
  EXPECT_PRED2(contains, message([&] { indexed_slices(v, constant(std::vector<int32_t>{0}), {3, 3}); }),
               "[indexed_slices] values of shape [1,2] and indices of shape [1] are not the rows of a tensor of "
               "shape [3,3]");
  EXPECT_PRED2(contains, message([&] { indexed_slices(v, constant(std::vector<int32_t>{0, 1}), {3, 2}); }),
               "are not the rows");
  EXPECT_PRED2(contains, message([&] { indexed_slices(v, constant({0.f}), {3, 2}); }),
               "indices must be int32 or int64, got float32");
  Tensor out_of_range = indexed_slices(v, constant(std::vector<int32_t>{5}), {3, 2});
  EXPECT_PRED2(contains, message([&] { values(out_of_range); }), "is not in [0, 3)");
}

// The optimizers update from the rows: the same values as from the dense
// gradient (float64, reference-free: bit-equal on the CPU, where the rows
// kernels sum as the dense gradient does), a traced step equal to the eager
// one, and a trace that keeps no dense gradient of the table.
TEST_P(IndexedSlicesTest, OptimizersUpdateFromTheRows) {
  using Make = std::function<std::shared_ptr<optimizers::Optimizer>()>;
  const std::vector<std::pair<std::string, Make>> makers = {
      {"SGD", [] { return std::make_shared<optimizers::SGD>(0.1); }},
      {"SGD momentum", [] { return std::make_shared<optimizers::SGD>(0.1, optimizers::SGDParams{.momentum = 0.9}); }},
      {"Adam", [] { return std::make_shared<optimizers::Adam>(0.01); }},
      {"AdamW clipped", [] {
         return std::make_shared<optimizers::AdamW>(0.01, optimizers::AdamParams{},
                                                    optimizers::Options{.global_clipnorm = 0.5});
       }},
      {"RMSprop centered", [] {
         return std::make_shared<optimizers::RMSprop>(
             0.01, optimizers::RMSpropParams{.rho = 0.9, .momentum = 0.5, .epsilon = 1e-7, .centered = true});
       }},
      {"Adagrad clipnorm", [] {
         return std::make_shared<optimizers::Adagrad>(0.1, optimizers::AdagradParams{},
                                                      optimizers::Options{.clipnorm = 0.3});
       }},
  };
  const Tensor ids = constant(std::vector<int64_t>{2, 5, 2, 0}, {2, 2});
  Tensor init = random_tensor({6, 3}, float64, -1, 1, 7);
  Tensor target = random_tensor({2, 2, 3}, float64, -1, 1, 8);
  auto loss_of = [&](const Variable& table) { return reduce_sum(square(gather(table, ids) - target)); };
  for (const auto& [name, make] : makers) {
    SCOPED_TRACE(name);
    Variable with_rows(init), with_dense(init), traced(init);
    auto opt_rows = make(), opt_dense = make(), opt_traced = make();
    for (int step = 0; step < 3; ++step) {
      {
        GradientTape tape;
        Tensor g = tape.gradient(loss_of(with_rows), with_rows);
        ASSERT_NE(as_indexed_slices(g), nullptr);
        opt_rows->apply({g}, {with_rows});
      }
      {
        GradientTape tape;
        Tensor g = dense_value(tape.gradient(loss_of(with_dense), with_dense));
        Tensor copy = g * 1.0;  // a tensor held densely
        ASSERT_EQ(as_indexed_slices(copy), nullptr);
        opt_dense->apply({copy}, {with_dense});
      }
    }
    if (device().is_cpu() && name.rfind("SGD", 0) == 0) {
      EXPECT_EQ(values(with_rows.read_value()), values(with_dense.read_value()));
    } else {  // clipping and Adam's norms sum in another order: rounding apart
      EXPECT_TRUE(all_close(with_rows.read_value(), values(with_dense.read_value()), {6, 3}, 1e-12, 1e-13));
    }
    if (name == "SGD") {  // and plain SGD against its float64 reference, written out
      std::vector<double> w = values(init), t = values(target);
      const int64_t rows[4] = {2, 5, 2, 0};
      for (int step = 0; step < 3; ++step) {
        std::vector<double> g(18, 0.0);
        for (int k = 0; k < 4; ++k)
          for (int j = 0; j < 3; ++j)
            g[static_cast<size_t>(rows[k] * 3 + j)] +=
                2 * (w[static_cast<size_t>(rows[k] * 3 + j)] - t[static_cast<size_t>(k * 3 + j)]);
        for (size_t i = 0; i < w.size(); ++i) w[i] -= static_cast<double>(0.1f) * g[i];  // (the rate is a float32 variable, as Keras's)
      }
      EXPECT_TRUE(all_close(with_rows.read_value(), w, {6, 3}, 1e-12, 1e-13));
    }
    EXPECT_NE(values(with_rows.read_value()), values(init));
    // Traced: the step's function holds the rows update, not the dense gradient.
    auto step_fn = function([&] {
      GradientTape tape;
      Tensor loss = loss_of(traced);
      opt_traced->apply({tape.gradient(loss, traced)}, {traced});
      return loss;
    });
    for (int step = 0; step < 3; ++step) step_fn();
    EXPECT_TRUE(all_close(traced.read_value(), values(with_rows.read_value()), {6, 3}, 1e-12, 1e-13));
    const Graph& graph = step_fn.list_concrete_functions()[0].graph();
    const bool clipped_by_norm = name.find("clip") != std::string::npos;  // the norm reads the dense value
    EXPECT_EQ(count_ops(graph, op_name::UnsortedSegmentSum), clipped_by_norm ? 1 : 0) << graph.to_string();
  }
}

TEST_P(IndexedSlicesTest, MixedPrecisionAndLossScalingKeepTheRows) {
  // A float32 table looked up, cast to bfloat16 (the Embedding layer under
  // mixed_bfloat16): the rows are float32, and LossScaleOptimizer unscales them.
  Variable table(random_tensor({4, 2}, float32, -1, 1, 9));
  Tensor before = table.read_value();
  optimizers::LossScaleOptimizer opt(std::make_shared<optimizers::SGD>(0.5),
                                     optimizers::LossScaleParams{.initial_scale = 8, .dynamic_growth_steps = 2000});
  GradientTape tape;
  Tensor rows = cast(gather(table, constant(std::vector<int64_t>{3, 3})), bfloat16);
  Tensor loss = opt.scale_loss(cast(reduce_sum(rows), float32));
  Tensor g = tape.gradient(loss, table);
  ASSERT_NE(as_indexed_slices(g), nullptr);
  EXPECT_EQ(g.dtype(), float32);
  opt.apply({g}, {table});
  Vec want = values(before);
  for (int j = 0; j < 2; ++j) want[static_cast<size_t>(6 + j)] -= 0.5 * 2;  // row 3 twice, unscaled
  EXPECT_TRUE(all_close(table.read_value(), want, {4, 2}, 1e-6, 1e-6));
}

EMBER_INSTANTIATE_DEVICE_TESTS(IndexedSlicesTest);

}  // namespace
}  // namespace ember::test
