// A walk through what ember can do today: tensors, devices, ops, random numbers, tapes,
// traced functions with control flow and TensorArray, checkpoints, SavedModel.
#include <filesystem>
#include <iostream>

#include "ember.h"

int main() {
  using namespace ember;
  std::cout << "default device: " << default_device() << "\n";
  auto a = constant({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  auto b = constant({10.f, 20.f, 30.f});
  std::cout << "a = " << a << "\n";
  std::cout << "a + b (broadcast) = " << a + b << "\n";
  std::cout << "matmul(a, a^T) = " << matmul(a, a, false, true) << "\n";
  std::cout << "reduce_sum(a, axis 1) = " << reduce_sum(a, std::vector<int64_t>{1}) << "\n";
  std::cout << "log_softmax(a) = " << log_softmax(a) << "\n";
  random::set_seed(42);
  std::cout << "random::normal({2, 2}) = " << random::normal({2, 2}) << "\n";
  std::cout << "argmax(a, 1) = " << argmax(a, 1) << "\n";
  std::cout << "gather(b, [2, 0]) = " << gather(b, constant({2, 0})) << "\n";
  // 16-bit floats: stored in 16 bits, computed in float32, rounded once.
  Tensor h = cast(a, bfloat16);
  std::cout << "matmul(bf16 a, bf16 a^T) = " << matmul(h, h, false, true) << "\n";
  // Autograd: trainable variables read under a tape are watched.
  Variable w(random::normal({3, 2}, 0, 0.1), {.name = "w"});
  Tensor x = constant({{1.f, 2.f, 3.f}});
  GradientTape tape;
  Tensor loss = reduce_sum(square(matmul(x, w)));
  std::cout << w.name() << " gradient = " << tape.gradient(loss, w) << "\n";
  // Tapes nest: the gradient of a gradient.
  Variable v(1.0f);
  GradientTape outer;
  Tensor dy;
  {
    GradientTape inner;
    dy = inner.gradient(v * v * v, v);
  }
  std::cout << "d(v^3)/dv = " << dy.item<float>()
            << ", d2(v^3)/dv2 = " << outer.gradient(dy, v).item<float>() << " at v = 1\n";
  // A small training loop: fit y = 3x + 2 by gradient descent.
  Tensor xs = random::uniform({256, 1}, -1, 1);
  Tensor ys = xs * 3.0f + 2.0f;
  Variable slope(constant(0.f), {.name = "slope"}), bias(constant(0.f), {.name = "bias"});
  float final_loss = 0;
  for (int step = 0; step < 300; ++step) {
    GradientTape t;
    Tensor loss_step = reduce_mean(square(xs * Tensor(slope) + Tensor(bias) - ys));
    auto grads = t.gradient(loss_step, {slope, bias});
    slope.assign_sub(grads[0] * 0.1f);
    bias.assign_sub(grads[1] * 0.1f);
    final_loss = loss_step.item<float>();
  }
  std::cout << "fit y = 3x + 2: slope " << slope.read_value().item<float>() << ", bias "
            << bias.read_value().item<float>() << ", loss " << final_loss << "\n";

  // Traced functions with control flow: one graph however many iterations
  // run; a TensorArray collects the running products, and the gradient
  // flows back through the loop and the array.
  auto products = function([](Tensor values) {
    GradientTape t;
    t.watch(values);
    TensorArray ta(float32, values.dim(0));
    auto [last, filled] = for_range(
        int64_t{0}, values.dim(0), int64_t{1},
        [&](const Tensor& i, const std::pair<Tensor, TensorArray>& s) {
          Tensor p = s.first * gather(values, i, 0);
          return std::pair<Tensor, TensorArray>{p, s.second.write(cast(i, int32), p)};
        },
        std::pair<Tensor, TensorArray>{constant(1.f), ta});
    Tensor all = filled.stack();
    Tensor signed_sum = cond(greater(last, constant(0.f)), [&] { return reduce_sum(all); }, [&] { return -reduce_sum(all); });
    return std::make_tuple(all, signed_sum, t.gradient(signed_sum, values));
  });
  auto [running, total, d_total] = products(constant({1.f, 2.f, 3.f, 4.f}));
  std::cout << "running products " << running << ", their sum " << total.item<float>()
            << ", d(sum)/d(values) " << d_total << " (" << products.tracing_count() << " trace)\n";

  // Checkpoints in TensorFlow's format, restored into objects made later.
  auto dir = std::filesystem::temp_directory_path() / "ember_tour";
  std::filesystem::remove_all(dir);
  auto model = std::make_shared<Module>("model");
  model->track("w", w);
  std::string path = Checkpoint({{"model", model}}).save((dir / "ckpt").string());
  auto fresh = std::make_shared<Module>("model");
  Checkpoint({{"model", fresh}}).restore(latest_checkpoint(dir.string()));
  Variable w2(zeros({3, 2}), {.name = "w"});
  fresh->track("w", w2);  // created after the restore: takes the saved value now
  std::cout << "saved " << path << "; restored w equals the original: "
            << (reduce_all(equal(w2.read_value(), w.read_value())).item<bool>() ? "yes" : "no")
            << "\n";

  // SavedModel: the module with a traced function, loaded back without its
  // code (TensorFlow's tf.saved_model.load reads the same directory).
  auto predict = function([w](Tensor in) { return matmul(in, w.read_value()); },
                          {.name = "predict", .input_signature = std::vector<TensorSpec>{TensorSpec({-1, 3}, float32, "x")}});
  model->track("predict", predict);
  saved_model::save(model, (dir / "saved").string());
  auto loaded = saved_model::load((dir / "saved").string());
  Tensor row = constant({{1.f, 0.f, 2.f}});
  std::cout << "loaded predict(x) = " << loaded.function("predict")(row)[0] << ", signature "
            << loaded.signature("serving_default").inputs()[0].second.to_string() << "\n";
  try {
    matmul(a, a);
  } catch (const InvalidArgument& e) {
    std::cout << "bad input is an error: " << e.what() << "\n";
  }
  return 0;
}
