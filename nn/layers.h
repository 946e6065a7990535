// Layers: keras.layers as Modules. A layer builds its variables from the
// first input's shape, under its name scope (`dense/kernel:0`,
// `dense/bias:0`), and tracks them by attribute name, so checkpoints and
// Module::variables() see them. Unnamed layers take Keras's unique names:
// "dense", "dense_1", ... per process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "core/variable.h"
#include "nn/initializers.h"
#include "nn/mixed_precision.h"
#include "state/module.h"

namespace ember::layers {

/// An activation function.
using ActivationFn = std::function<Tensor(const Tensor&)>;
/// An activation by Keras's name: "linear" (or ""), "relu", "sigmoid",
/// "tanh", "softmax", "log_softmax", "gelu", "elu", "selu", "leaky_relu",
/// "softplus", "silu" (or "swish"), "exponential". An unknown name is
/// InvalidArgument listing the known ones.
ActivationFn activation(const std::string& name);

/// "base" the first time, then "base_1", "base_2", ... (Keras's get_uid).
std::string unique_name(const std::string& base);

class Layer : public Module {
 public:
  /// Builds from `x`'s shape on the first call, then runs the layer.
  /// `training` selects training behaviour (Dropout drops, BatchNormalization
  /// uses and updates batch statistics).
  Tensor operator()(const Tensor& x, bool training = false);
  /// Builds for `input_shape` (its last dimensions must be known) if not yet built.
  void build(const TensorShape& input_shape);
  bool built() const { return built_; }
  /// The last call's input shape and dtype, and its output's shape (what
  /// Model::summary and Model::save read); nothing before a call.
  const std::optional<TensorShape>& input_shape() const { return input_shape_; }
  DType input_dtype() const { return input_dtype_; }
  const std::optional<TensorShape>& output_shape() const { return output_shape_; }

  /// The dtype policy (nn/mixed_precision.h): the global one when the layer
  /// was made. A layer whose policy is not float32 casts its floating
  /// inputs to the compute dtype; a float32 layer casts 16-bit inputs up
  /// (Keras's float32 output layer under a mixed policy).
  const mixed_precision::Policy& dtype_policy() const { return policy_; }
  /// Keras's `dtype=` argument: before the layer builds.
  void set_dtype_policy(const mixed_precision::Policy& policy);
  void set_dtype_policy(const std::string& name) { set_dtype_policy(mixed_precision::Policy(name)); }

 protected:
  /// `v` as the call computes with it: a floating variable cast to the
  /// compute dtype (the cast's gradient reaches the variable in its own).
  Tensor read(const Variable& v) const;
  DType compute_dtype() const { return policy_.compute_dtype(); }
  /// `x` as the layer takes it (the autocast operator() applies).
  Tensor autocast(const Tensor& x) const;
  /// Normalisation statistics stay in float32 (as in Keras): a layer that
  /// says so gets a 16-bit input in float32 (and `read` its variables in
  /// float32) and its result cast back.
  virtual bool computes_in_float32() const { return false; }
  /// How such a layer takes a 16-bit `x`: by default call in float32 and
  /// cast the result back; a layer whose op takes the 16-bit x with float32
  /// parameters itself (LayerNormalization's fused op) calls it directly.
  virtual Tensor call_in_float32(const Tensor& x, bool training);
  /// `name` empty: unique_name(`base`).
  Layer(const std::string& name, const std::string& base);
  /// Creates the variables (inside the layer's name scope).
  virtual void build_variables(const TensorShape& input_shape) { (void)input_shape; }
  virtual Tensor call(const Tensor& x, bool training) = 0;
  /// A variable `name` of `shape`, from `init`, tracked under `tracked_as`
  /// (empty: `name`): Keras 3 tracks some as private attributes (Dense's
  /// and Conv2D's "_kernel", Embedding's "_embeddings").
  Variable add_weight(const std::string& name, const TensorShape& shape,
                      const initializers::InitializerPtr& init, bool trainable = true,
                      const std::string& tracked_as = {});

 private:
  bool built_ = false;
  std::optional<TensorShape> input_shape_, output_shape_;
  DType input_dtype_ = float32;
  mixed_precision::Policy policy_ = mixed_precision::global_policy();
};

struct DenseOptions {
  std::string activation = "linear";
  bool use_bias = true;
  initializers::InitializerPtr kernel_initializer = nullptr;  // default: GlorotUniform
  initializers::InitializerPtr bias_initializer = nullptr;    // default: Zeros
  std::string name = {};
};

/// activation(x·kernel + bias); inputs of rank > 2 apply it to the last axis.
class Dense : public Layer {
 public:
  explicit Dense(int64_t units, DenseOptions options = {});
  Variable kernel, bias;

 protected:
  void build_variables(const TensorShape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;

 private:
  int64_t units_;
  DenseOptions o_;
  ActivationFn act_;
};

struct Conv2DOptions {
  std::vector<int64_t> strides = {1};
  std::string padding = "valid";  // "valid" or "same" (Keras spells them in lower case)
  std::vector<int64_t> dilation_rate = {1};
  std::string activation = "linear";
  bool use_bias = true;
  initializers::InitializerPtr kernel_initializer = nullptr;  // default: GlorotUniform
  initializers::InitializerPtr bias_initializer = nullptr;    // default: Zeros
  std::string name = {};
};

/// A 2-D convolution over NHWC inputs: kernel [kh, kw, in, filters].
class Conv2D : public Layer {
 public:
  Conv2D(int64_t filters, std::vector<int64_t> kernel_size, Conv2DOptions options = {});
  Variable kernel, bias;

 protected:
  void build_variables(const TensorShape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_;
  Conv2DOptions o_;
  ActivationFn act_;
};

/// A depthwise convolution: depthwise_kernel [kh, kw, in, depth_multiplier], named and
/// tracked "kernel" as Keras 3 does.
class DepthwiseConv2D : public Layer {
 public:
  DepthwiseConv2D(std::vector<int64_t> kernel_size, int64_t depth_multiplier = 1,
                  Conv2DOptions options = {});
  Variable depthwise_kernel, bias;

 protected:
  void build_variables(const TensorShape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::vector<int64_t> kernel_size_;
  int64_t multiplier_;
  Conv2DOptions o_;
  ActivationFn act_;
};

/// Max or average pooling over NHWC inputs; strides default to the pool size.
class MaxPool2D : public Layer {
 public:
  explicit MaxPool2D(std::vector<int64_t> pool_size = {2}, std::vector<int64_t> strides = {},
                     std::string padding = "valid", std::string name = {});

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::vector<int64_t> pool_, strides_;
  std::string padding_;
};
class AveragePooling2D : public Layer {
 public:
  explicit AveragePooling2D(std::vector<int64_t> pool_size = {2}, std::vector<int64_t> strides = {},
                            std::string padding = "valid", std::string name = {});

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  std::vector<int64_t> pool_, strides_;
  std::string padding_;
};

/// [batch, ...] -> [batch, product of the rest].
class Flatten : public Layer {
 public:
  explicit Flatten(std::string name = {}) : Layer(name, "flatten") {}

 protected:
  Tensor call(const Tensor& x, bool training) override;
};

/// An activation as a layer.
class Activation : public Layer {
 public:
  explicit Activation(const std::string& activation, std::string name = {});

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  ActivationFn fn_;
};

/// In training, zeroes each element with probability `rate` and scales the
/// rest by 1/(1 - rate); otherwise the identity. Draws as Keras 3 does: a
/// stateless uniform draw per call, seeded by a generator whose state
/// ([seed, calls], int64 on the CPU) is a non-trainable variable, so a
/// checkpoint resumes the same masks.
class Dropout : public Layer {
 public:
  explicit Dropout(double rate, std::optional<int64_t> seed = std::nullopt, std::string name = {});
  Variable seed_state;
  /// This call's stateless seed (int64 [2]), advancing the generator
  /// (Keras's SeedGenerator.next), with ops, so a traced step draws anew.
  Tensor next_seed();

 protected:
  Tensor call(const Tensor& x, bool training) override;

 private:
  double rate_;
};

struct NormalizationOptions {
  int axis = -1;
  double epsilon = 1e-3;
  bool center = true;  // learn beta
  bool scale = true;   // learn gamma
  double momentum = 0.99;  // BatchNormalization's moving averages
  std::string name = {};
};

/// Normalises over the batch (and every axis but `axis`) in training, with
/// the moving statistics otherwise; the moving mean and variance are
/// non-trainable variables updated by each training call.
class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(NormalizationOptions options = {});
  Variable gamma, beta, moving_mean, moving_variance;

 protected:
  void build_variables(const TensorShape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;
  bool computes_in_float32() const override { return true; }

 private:
  NormalizationOptions o_;
};

/// Normalises each example over `axis` (the last by default).
class LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(NormalizationOptions options = {});
  Variable gamma, beta;

 protected:
  void build_variables(const TensorShape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;
  bool computes_in_float32() const override { return true; }
  Tensor call_in_float32(const Tensor& x, bool training) override;

 private:
  /// Whether the fused op normalises x (its last axis: gamma and beta of a
  /// known size, or both present).
  bool fused(const Tensor& x, int axis) const;
  NormalizationOptions o_;
};

/// Rows of an [input_dim, output_dim] table looked up by integer ids.
class Embedding : public Layer {
 public:
  Embedding(int64_t input_dim, int64_t output_dim,
            initializers::InitializerPtr embeddings_initializer = nullptr, std::string name = {});
  Variable embeddings;

 protected:
  void build_variables(const TensorShape& input_shape) override;
  Tensor call(const Tensor& x, bool training) override;

 private:
  int64_t input_dim_, output_dim_;
  initializers::InitializerPtr init_;
};

struct MultiHeadAttentionOptions {
  int64_t value_dim = 0;   // 0: key_dim
  double dropout = 0;      // on the attention probabilities, in training
  bool use_bias = true;
  int64_t output_dim = 0;  // 0: the query's last dimension (Keras's output_shape)
  initializers::InitializerPtr kernel_initializer = nullptr;  // default: GlorotUniform
  initializers::InitializerPtr bias_initializer = nullptr;    // default: Zeros
  std::optional<int64_t> seed = std::nullopt;                 // the dropout's
  std::string name = {};
};

/// What keras.layers.MultiHeadAttention.call takes beside query and value.
struct AttentionCall {
  Tensor key = {};             // default: value
  Tensor attention_mask = {};  // [batch, T, S], true (or non-zero) where a query attends to a key
  bool use_causal_mask = false;  // query i attends to keys 0..i as well
  bool training = false;         // dropout
};

/// keras.layers.MultiHeadAttention: queries [batch, T, dim] attend over
/// values [batch, S, dim_v] (keys default to the values) in num_heads heads
/// of key_dim, through the fused scaled_dot_product_attention; the result
/// projected back to [batch, T, output_dim]. Projections as Keras's
/// EinsumDense layers, tracked as _query_dense, _key_dense, _value_dense and
/// _output_dense with their _kernel ([dim, heads, key_dim]; the output's
/// [heads, value_dim, output_dim]) and bias, so Keras 3's checkpoints
/// restore into it and TensorFlow reads its own. A query that attends to no
/// key gets zeros (Keras's -1e9 mask gives it the values' average).
class MultiHeadAttention : public Layer {
 public:
  MultiHeadAttention(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options = {});
  /// Attention of `query` over `value` (builds on the first call).
  Tensor operator()(const Tensor& query, const Tensor& value, const AttentionCall& call = {});
  /// The same attention and its weights, [batch, heads, T, S] (Keras's
  /// `return_attention_scores=True`): the softmax of the scaled q·k over
  /// the keys each query may attend to, before dropout, computed in float32
  /// and given in the compute dtype; 0 where the mask or the causal triangle
  /// forbids, so a query that attends to no key has a row of zeros (as its
  /// output is zeros).
  std::pair<Tensor, Tensor> with_attention_scores(const Tensor& query, const Tensor& value,
                                                  const AttentionCall& call = {});
  /// Self-attention: query, key and value all `x`.
  using Layer::operator();
  /// The projections' variables (undefined until built; biases without use_bias).
  Variable query_kernel, query_bias, key_kernel, key_bias, value_kernel, value_bias, output_kernel, output_bias;

 protected:
  void build_variables(const TensorShape& query_shape) override;
  Tensor call(const Tensor& x, bool training) override;

 private:
  Tensor attend(const Tensor& query, const Tensor& value, const AttentionCall& call, Tensor* scores);

  int64_t num_heads_, key_dim_, value_dim_;
  MultiHeadAttentionOptions o_;
  int64_t value_in_ = -1, key_in_ = -1;  // the value's and key's last dimensions, for build
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace ember::layers

// Sequential is a Model (nn/model.h), which is a Layer.
#include "nn/model.h"
