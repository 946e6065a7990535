// core/: dtypes, shapes, devices, tensors, printing, the allocator, the op
// registry and the hooks the dispatch point offers to tracing and tapes.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace ember::test {
namespace {

// fill/zeros/ones, checked against the values asked for.
const CoveredOps covered{op_name::Fill};

TEST(DType, NamesAndSizes) {
  EXPECT_EQ(dtype_name(float32), "float32");
  EXPECT_EQ(dtype_name(bool_), "bool");
  EXPECT_EQ(dtype_name(bfloat16), "bfloat16");
  EXPECT_EQ(dtype_size(float64), 8u);
  EXPECT_EQ(dtype_size(uint8), 1u);
  EXPECT_EQ(dtype_size(float16), 2u);
  EXPECT_TRUE(is_floating(float16));
  EXPECT_FALSE(is_floating(int32));
}

TEST(TensorShape, PrintsLikeTensorFlow) {
  EXPECT_EQ(TensorShape({2, -1, 3}).to_string(), "(2, None, 3)");
  EXPECT_EQ(TensorShape({3}).to_string(), "(3,)");
  EXPECT_EQ(TensorShape().to_string(), "()");
  EXPECT_EQ(TensorShape::unknown_rank().to_string(), "<unknown>");
  EXPECT_EQ(TensorShape({2, -1}).num_elements(), -1);
  EXPECT_FALSE(TensorShape({2, -1}).is_fully_defined());
  EXPECT_TRUE(TensorShape({2, -1}).is_compatible_with({2, 5}));
  EXPECT_FALSE(TensorShape({2, -1}).is_compatible_with({3, 5}));
  EXPECT_TRUE(TensorShape::unknown_rank().is_compatible_with({1, 2, 3}));
  std::ostringstream os;
  os << TensorShape({4, 5});
  EXPECT_EQ(os.str(), "(4, 5)");
}

TEST(Device, ParsesEveryForm) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda:1"), Device::cuda(1));
  EXPECT_EQ(Device::parse("/GPU:0"), Device::cuda(0));
  EXPECT_EQ(Device::parse("/device:CPU:0"), Device::cpu());
  EXPECT_EQ(Device::parse("gpu"), Device::cuda(0));
  EXPECT_EQ(Device::cuda(2).to_string(), "cuda:2");
  EXPECT_THROW(Device::parse("tpu:0"), InvalidArgument);
  EXPECT_THROW(Device::parse("cuda:x"), InvalidArgument);
}

TEST(Device, DefaultDeviceAndScopes) {
  if (cuda_device_count() == 0) {
    EXPECT_EQ(default_device(), Device::cpu());
    EXPECT_FALSE(cuda_unavailable_reason().empty());
    try {
      DeviceScope s(Device::cuda(0));
      FAIL() << "a scope on a missing GPU must be an error";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("cuda:0 is not available"), std::string::npos)
          << e.what();
    }
  } else {
    EXPECT_EQ(default_device(), Device::cuda(0));
  }
  {
    DeviceScope s("/CPU:0");
    EXPECT_EQ(default_device(), Device::cpu());
    EXPECT_EQ(ones({2}).device(), Device::cpu());
  }
}

TEST(Tensor, ConstantsOfEveryKind) {
  EXPECT_EQ(constant(3).dtype(), int32);
  EXPECT_EQ(constant(3.0f).dtype(), float32);
  // Floating literals are float32, as in TensorFlow; float64 when asked for,
  // or from typed data (a std::vector<double>, as a NumPy array).
  EXPECT_EQ(constant(3.0).dtype(), float32);
  EXPECT_EQ(constant({1., 2.}).dtype(), float32);
  EXPECT_EQ(constant({{1., 2.}, {3., 4.}}).dtype(), float32);
  EXPECT_EQ(constant(3.0, float64).dtype(), float64);
  EXPECT_EQ(constant(0.1, float64).item<double>(), 0.1);
  EXPECT_EQ(constant({1., 2.}, float64).to_vector<double>(), (std::vector<double>{1., 2.}));
  EXPECT_EQ(constant({1, 2}, float32).to_vector<float>(), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(constant(std::vector<double>{1., 2.}).dtype(), float64);
  EXPECT_EQ(Variable(1.0).dtype(), float32);
  EXPECT_EQ(Variable(1.0).read_value().item<float>(), 1.f);
  Variable lv({1.f, 2.f});
  lv.assign_add({1.f, 1.f});
  lv.assign_sub({0.5, 0.5});
  EXPECT_EQ(lv.read_value().to_vector<float>(), (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ(constant(int64_t{3}).dtype(), int64);
  EXPECT_EQ(constant(true).dtype(), bool_);
  EXPECT_EQ(constant(3.5f).item<float>(), 3.5f);
  Tensor v = constant({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  EXPECT_EQ(v.shape(), (TensorShape{2, 3}));
  EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  Tensor m = constant({{1, 2}, {3, 4}});
  EXPECT_EQ(m.shape(), (TensorShape{2, 2}));
  EXPECT_EQ(m.dtype(), int32);
  EXPECT_THROW(constant({1.f, 2.f}, {3}), InvalidArgument);
  EXPECT_THROW((constant({{1, 2}, {3}})), InvalidArgument);
  EXPECT_THROW(v.to_vector<double>(), InvalidArgument);
  EXPECT_THROW(v.item<float>(), InvalidArgument);
}

TEST(Tensor, FillZerosOnes) {
  for (DType dt : {float32, float64, int32, int64, uint8, bool_}) {
    EXPECT_EQ(values(zeros({2, 2}, dt)), std::vector<double>(4, 0.0));
    EXPECT_EQ(values(ones({3}, dt)), std::vector<double>(3, 1.0));
  }
  EXPECT_EQ(values(fill({2}, 7.5, float64)), (std::vector<double>{7.5, 7.5}));
  Tensor x = constant({1, 2, 3});
  EXPECT_EQ(zeros_like(x).dtype(), int32);
  EXPECT_EQ(ones_like(x).shape(), x.shape());
  EXPECT_THROW(zeros({-1}), InvalidArgument);
  EXPECT_THROW(zeros({2}, resource), InvalidArgument);
}

TEST(Tensor, HandleSemanticsCloneAndCopy) {
  Tensor a = constant({1.f, 2.f});
  Tensor b = a;  // a handle: same tensor
  EXPECT_EQ(a.raw_data(), b.raw_data());
  EXPECT_EQ(a.id(), b.id());
  Tensor c = a.clone();
  EXPECT_NE(c.raw_data(), a.raw_data());
  EXPECT_EQ(c.to_vector<float>(), a.to_vector<float>());
  EXPECT_EQ(a.to(Device::cpu()).raw_data(), a.raw_data());
  Tensor u;
  EXPECT_FALSE(u.defined());
  EXPECT_EQ(u.to_string(), "ember.Tensor(<undefined>)");
}

TEST(Tensor, BuffersAre64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000, 100000, 3000000}) {
    Tensor t = zeros({n}, uint8);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << n;
  }
}

TEST(Tensor, PrintsAsTensorFlowDoes) {
  EXPECT_EQ(constant({1.f, 2.f, 3.f}).to_string(),
            "ember.Tensor([1. 2. 3.], shape=(3,), dtype=float32)");
  EXPECT_EQ(constant(3.0f).to_string(), "ember.Tensor(3.0, shape=(), dtype=float32)");
  EXPECT_EQ(constant(0.1f).to_string(), "ember.Tensor(0.1, shape=(), dtype=float32)");
  EXPECT_EQ(constant(7).to_string(), "ember.Tensor(7, shape=(), dtype=int32)");
  EXPECT_EQ(constant({{1, 2}, {3, 4}}).to_string(),
            "ember.Tensor(\n[[1 2]\n [3 4]], shape=(2, 2), dtype=int32)");
  EXPECT_EQ(constant({1.5, 2.25, -3.0}, float64).to_string(),
            "ember.Tensor([ 1.5   2.25 -3.  ], shape=(3,), dtype=float64)");
  EXPECT_EQ(constant(std::vector<bool>{true, false}).to_string(),
            "ember.Tensor([ True False], shape=(2,), dtype=bool)");
  EXPECT_EQ(constant({1, -10, 100}).to_string(),
            "ember.Tensor([  1 -10 100], shape=(3,), dtype=int32)");
  EXPECT_EQ(zeros({0}).to_string(), "ember.Tensor([], shape=(0,), dtype=float32)");
  EXPECT_EQ(constant({1e-5f, 1.f}).to_string(),
            "ember.Tensor([1.e-05 1.e+00], shape=(2,), dtype=float32)");
  EXPECT_EQ(
      reshape(range(8), {2, 2, 2}).to_string(),
      "ember.Tensor(\n[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]], shape=(2, 2, 2), dtype=int64)");
  EXPECT_EQ(range(2000).to_string(),
            "ember.Tensor([   0    1    2 ... 1997 1998 1999], shape=(2000,), dtype=int64)");
}

// Expected strings from NumPy 2 (np.array_str), as TensorFlow prints values.
TEST(Tensor, WrapsAndSummarisesAsNumPy) {
  EXPECT_EQ(format_values(range(30)),
            "[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n 24 25 26 27 28 29]");
  EXPECT_EQ(format_values(reshape(cast(range(24), float32), {2, 12}) / 7.0f),
            "[[0.         0.14285715 0.2857143  0.42857143 0.5714286  0.71428573\n"
            "  0.85714287 1.         1.1428572  1.2857143  1.4285715  1.5714285 ]\n"
            " [1.7142857  1.8571428  2.         2.142857   2.2857144  2.4285715\n"
            "  2.5714285  2.7142856  2.857143   3.         3.142857   3.2857144 ]]");
  EXPECT_EQ(format_values(reshape(range(3000), {3, 1000})),
            "[[   0    1    2 ...  997  998  999]\n [1000 1001 1002 ... 1997 1998 1999]\n"
            " [2000 2001 2002 ... 2997 2998 2999]]");
  std::vector<bool> flags;
  for (int i = 0; i < 40; ++i) flags.push_back(i % 2 == 0);
  EXPECT_EQ(format_values(constant(flags)),
            "[ True False  True False  True False  True False  True False  True False\n"
            "  True False  True False  True False  True False  True False  True False\n"
            "  True False  True False  True False  True False  True False  True False\n"
            "  True False  True False]");
  EXPECT_EQ(format_values(reshape(cast(range(4000), float32), {2, 1000, 2}) / 4.0f),
            "[[[0.0000e+00 2.5000e-01]\n  [5.0000e-01 7.5000e-01]\n  [1.0000e+00 1.2500e+00]\n  ...\n"
            "  [4.9850e+02 4.9875e+02]\n  [4.9900e+02 4.9925e+02]\n  [4.9950e+02 4.9975e+02]]\n\n"
            " [[5.0000e+02 5.0025e+02]\n  [5.0050e+02 5.0075e+02]\n  [5.0100e+02 5.0125e+02]\n  ...\n"
            "  [9.9850e+02 9.9875e+02]\n  [9.9900e+02 9.9925e+02]\n  [9.9950e+02 9.9975e+02]]]");
  EXPECT_EQ(format_values(zeros({2, 0})), "[]");
}

// Float arrays print as NumPy's str() does, value for value: the cases in
// tests/data/numpy_print.txt were printed by NumPy (tests/tf/make_print_fixtures.py).
// Strings print as Python's bytes repr (what NumPy shows for a bytes array;
// the expected texts are Python's own).
// Python 3's repr of each value (printed by python3 -c "print(repr(x))").
TEST(Tensor, FloatsPrintAsPythonsRepr) {
  const std::vector<std::pair<double, std::string>> cases = {
      {123456789.0, "123456789.0"}, {1e-05, "1e-05"},  {1e16, "1e+16"},
      {1e15, "1000000000000000.0"}, {0.1, "0.1"},      {-2.5, "-2.5"},
      {1e-4, "0.0001"},             {1.5e300, "1.5e+300"}, {0.0, "0.0"},
      {-0.0, "-0.0"},               {1.0 / 3, "0.3333333333333333"}, {0x1p60, "1.152921504606847e+18"}};
  for (const auto& [x, want] : cases) EXPECT_EQ(float_repr(x), want);
  EXPECT_EQ(float_repr(std::nan("")), "nan");
  EXPECT_EQ(float_repr(-HUGE_VAL), "-inf");
}

TEST(Tensor, BytesPrintAsPythonsRepr) {
  EXPECT_EQ(bytes_repr("apple"), "b'apple'");
  EXPECT_EQ(bytes_repr("caf\xc3\xa9"), "b'caf\\xc3\\xa9'");
  EXPECT_EQ(bytes_repr("a'b\n"), "b\"a'b\\n\"");
  EXPECT_EQ(bytes_repr("both'\""), "b'both\\'\"'");
  EXPECT_EQ(bytes_repr(std::string("\0\t\x7f\\", 4)), "b'\\x00\\t\\x7f\\\\'");
}

TEST(Tensor, PrintsFloatsAsNumpyFixtures) {
  std::ifstream in(data_dir() + "/numpy_print.txt");
  ASSERT_TRUE(in) << "missing tests/data/numpy_print.txt";
  std::string dtype, hex_values, want;
  std::getline(in, dtype);  // the header comment
  int cases = 0;
  while (std::getline(in, dtype) && std::getline(in, hex_values) && std::getline(in, want)) {
    std::vector<double> vals;
    std::istringstream hs(hex_values);
    for (std::string h; hs >> h;) vals.push_back(std::strtod(h.c_str(), nullptr));
    Tensor t = dtype == "float32"
                   ? constant(std::vector<float>(vals.begin(), vals.end()), Device::cpu())
                   : constant(vals, Device::cpu());
    std::string got = format_values(t);
    for (size_t at; (at = got.find('\n')) != std::string::npos;) got.replace(at, 1, "\\n");
    EXPECT_EQ(got, want) << dtype << " " << hex_values;
    ++cases;
  }
  EXPECT_GE(cases, 15);
}

// Installs a hook into this thread's context for the scope's lifetime, so an
// exception or a failed assertion cannot leave it installed for later tests.
template <typename Hook, Hook* Context::*Slot>
struct HookScope {
  explicit HookScope(Hook* hook) : saved(context().*Slot) { context().*Slot = hook; }
  ~HookScope() { context().*Slot = saved; }
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;
  Hook* saved;
};
using TapeHookScope = HookScope<TapeHook, &Context::tapes>;
using TraceHookScope = HookScope<TraceHook, &Context::tracer>;

// A tape hook sees every executed op with its inputs and outputs, and nothing
// a kernel runs internally.
struct RecordingTape : TapeHook {
  std::vector<std::string> ops;
  void record(const OpDef& op, std::span<const Tensor> in, std::span<const Tensor> out, const Attrs&,
              std::shared_ptr<const void>) override {
    ops.push_back(op.name + "/" + std::to_string(in.size()) + "/" + std::to_string(out.size()));
  }
  bool would_record(const OpDef&, std::span<const Tensor>) const override { return true; }
};

TEST(Dispatch, TapesSeeEveryOpOnce) {
  RecordingTape tape;
  Tensor y;
  {
    TapeHookScope hook(&tape);
    Tensor x = ones({2, 3, 4});
    y = reduce_sum(x * 2.0f, std::vector<int64_t>{0, 2});  // the kernel transposes internally
    auto parts = split(y, int64_t{3});
  }
  EXPECT_EQ(context().tapes, nullptr);
  EXPECT_EQ(tape.ops, (std::vector<std::string>{"Fill/0/1", "Mul/2/1", "Sum/1/1", "SplitV/1/3"}));
  EXPECT_EQ(values(y), (std::vector<double>{16, 16, 16}));
}

// A trace hook receives ops instead of kernels running: here it hands back
// placeholders of the inferred shape, as graph/ will.
struct SymbolicTrace : TraceHook {
  std::vector<std::string> nodes;
  std::vector<Tensor> add_node(const OpDef& op, std::span<const Tensor>, const Attrs&,
                               std::span<const OutputSpec> specs) override {
    nodes.push_back(op.name);
    std::vector<Tensor> out;
    for (const auto& s : specs) {
      auto impl = std::make_shared<TensorImpl>();
      impl->dtype = s.dtype;
      impl->shape = s.shape;
      out.emplace_back(std::move(impl));
    }
    return out;
  }
  Tensor variable_created(const Tensor& initial_value) override { return initial_value; }
  int64_t next_op_seed() override { return seeds++; }
  int64_t seeds = 0;
};

TEST(Dispatch, TracingReceivesOpsWithInferredShapes) {
  Tensor a = ones({2, 3}), b = ones({3, 4});
  SymbolicTrace trace;
  Tensor d;
  {
    TraceHookScope hook(&trace);
    d = relu(matmul(a, b));
  }
  EXPECT_EQ(context().tracer, nullptr);
  EXPECT_EQ(trace.nodes, (std::vector<std::string>{"MatMul", "Relu"}));
  EXPECT_EQ(d.shape(), (TensorShape{2, 4}));
  // Inference copes with unknown dimensions.
  auto t = std::make_shared<TensorImpl>();
  t->shape = TensorShape({-1, 3});
  Tensor sym(t);
  auto specs = infer_outputs(op_def("MatMul"), std::vector<Tensor>{sym, b},
                             {{"transpose_a", false}, {"transpose_b", false}});
  EXPECT_EQ(specs[0].shape.to_string(), "(None, 4)");
  auto bspecs = infer_outputs(op_def("AddV2"), std::vector<Tensor>{sym, ones({5, 1, 3})}, {});
  EXPECT_EQ(bspecs[0].shape.to_string(), "(5, None, 3)");
}

TEST(Errors, AreOneHierarchy) {
  try {
    throw DataLoss("x");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "x");
  }
  EXPECT_THROW(throw ResourceExhausted("oom"), std::runtime_error);
}

}  // namespace
}  // namespace ember::test

namespace ember::test {
namespace {

// Ops, tapes and random draws on several threads at once: each thread has its
// own context, tapes and allocator cache; results must not interfere.
// A tensor a thread-local object holds dies after the allocator's thread
// cache on that thread (made before it, destroyed after), and that object's
// destructor allocates: the destroyed cache must not be used. (It handed
// out the blocks it had given back to malloc, which malloc handed out again:
// two live tensors on one buffer.)
TEST(Allocator, TensorsThatOutliveTheThreadCache) {
  struct Holder {
    Tensor t;
    ~Holder() {
      t = Tensor();
      std::vector<Tensor> live;
      for (int k = 0; k < 40; ++k) live.push_back(fill({16}, static_cast<double>(k), float32));
      for (int k = 0; k < 40; ++k)
        EXPECT_EQ(live[static_cast<size_t>(k)].to_vector<float>(), std::vector<float>(16, static_cast<float>(k)))
            << "tensor " << k << " shares its buffer";
    }
  };
  std::thread([] {
    thread_local Holder holder;  // constructed before this thread's first allocation
    {
      std::vector<Tensor> some;  // freed together: they fill the thread cache
      for (int k = 0; k < 8; ++k) some.push_back(fill({16}, 1.0, float32));
    }
    holder.t = fill({16}, 1.0, float32);
  }).join();
}

TEST(Concurrency, OpsAndTapesOnSeveralThreads) {
  std::vector<std::thread> threads;
  std::vector<double> results(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &results] {
      random::Generator gen(static_cast<uint64_t>(t));
      double total = 0;
      for (int step = 0; step < 50; ++step) {
        Tensor x = gen.normal({64, 64}, 0, 1, float64);
        GradientTape tape;
        tape.watch(x);
        Tensor y = reduce_sum(square(matmul(x, x)));
        Tensor g = tape.gradient(y, x);
        // d/dx sum((xx)^2) = 2 (xx) x^T + 2 x^T (xx): check against the formula.
        Tensor xx = matmul(x, x);
        Tensor want = 2.0 * matmul(xx, x, false, true) + 2.0 * matmul(x, xx, true, false);
        total += reduce_max(abs(g - want)).item<double>();
      }
      results[static_cast<size_t>(t)] = total;
    });
  }
  for (auto& th : threads) th.join();
  for (double r : results) EXPECT_LT(r, 1e-8);
}

// Threads sharing one variable and one tensor: two train it (assign_add),
// one saves checkpoints of it, one reads it, and tapes on every thread record
// ops on the shared tensor. Reads and saves see whole values (every element
// equal: no torn value), and no update is lost.
TEST(Concurrency, SharedVariableAndTensorAcrossThreads) {
  DeviceScope cpu(Device::cpu());
  Variable v(zeros({4096}));
  const Tensor shared = constant(std::vector<float>(256, 2.f));
  auto root = std::make_shared<Trackable>();
  root->track("v", v);
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("ember_concurrency_" + std::to_string(::getpid())))
                        .string();
  std::atomic<bool> torn{false}, bad_grad{false};
  std::atomic<int> done{0};
  auto uniform = [](const std::vector<float>& xs) {
    for (float x : xs)
      if (x != xs[0]) return false;
    return true;
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w)
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        v.assign_add(ones({4096}));
        GradientTape tape;
        tape.watch(shared);
        Tensor g = tape.gradient(reduce_sum(shared * shared), shared);
        if (g.to_vector<float>() != std::vector<float>(256, 4.f)) bad_grad = true;
      }
      ++done;
    });
  threads.emplace_back([&] {
    Checkpoint ckpt({{"root", root}});
    while (done < 2) {
      std::string path = ckpt.write(dir + "/ckpt");
      Variable back(zeros({4096}));
      auto r = std::make_shared<Trackable>();
      r->track("v", back);
      Checkpoint({{"root", r}}).read(path);
      if (!uniform(back.read_value().to_vector<float>())) torn = true;
    }
  });
  threads.emplace_back([&] {
    while (done < 2)
      if (!uniform(v.read_value().to_vector<float>())) torn = true;
  });
  for (auto& th : threads) th.join();
  EXPECT_FALSE(torn) << "a read or a save saw a torn value";
  EXPECT_FALSE(bad_grad);
  EXPECT_EQ(v.read_value().to_vector<float>(), std::vector<float>(4096, 600.f)) << "lost updates";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ember::test
