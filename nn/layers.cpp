// Layers: keras/src/layers' arithmetic on ember's ops.
#include "nn/layers.h"

#include <cmath>
#include <map>
#include <mutex>

#include "core/context.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember::layers {

ActivationFn activation(const std::string& name) {
  static const std::map<std::string, ActivationFn> known = {
      {"linear", [](const Tensor& x) { return x; }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"softmax", [](const Tensor& x) { return softmax(x); }},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x, true); }},  // Keras 3's default: approximate
      {"elu", [](const Tensor& x) { return elu(x); }},
      {"selu", [](const Tensor& x) { return selu(x); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }},
      {"softplus", [](const Tensor& x) { return softplus(x); }},
      {"silu", [](const Tensor& x) { return x * sigmoid(x); }},
      {"swish", [](const Tensor& x) { return x * sigmoid(x); }},
      {"exponential", [](const Tensor& x) { return exp(x); }},
  };
  if (name.empty()) return known.at("linear");
  auto it = known.find(name);
  if (it == known.end()) {
    std::string names;
    for (const auto& [k, v] : known) names += (names.empty() ? "" : ", ") + k;
    throw InvalidArgument("[layers::activation] unknown activation '" + name + "'; known: " + names);
  }
  return it->second;
}

std::string unique_name(const std::string& base) {
  static std::mutex mu;
  static std::map<std::string, int> counts;
  std::lock_guard<std::mutex> lock(mu);
  int n = counts[base]++;
  return n == 0 ? base : base + "_" + std::to_string(n);
}

// ---- Layer -------------------------------------------------------------------------------

Layer::Layer(const std::string& name, const std::string& base)
    : Module(name.empty() ? unique_name(base) : name) {}

void Layer::build(const TensorShape& input_shape) {
  if (built_) return;
  auto scope = name_scope();
  build_variables(input_shape);
  built_ = true;
}


// Keras's autocast: floating inputs to the compute dtype under any policy
// but float32, and 16-bit ones up under float32 (ember leaves float64
// inputs of a float32 layer alone, as before policies).
Tensor Layer::autocast(const Tensor& x) const {
  const DType compute = policy_.compute_dtype();
  if (is_floating(x.dtype()) && x.dtype() != compute && (policy_.name() != "float32" || is_half(x.dtype())))
    return cast(x, compute);
  return x;
}

Tensor Layer::operator()(const Tensor& x, bool training) {
  input_shape_ = x.shape();
  input_dtype_ = x.dtype();
  Tensor in = autocast(x);
  if (!built_) build(in.shape());
  Tensor out = computes_in_float32() && is_half(in.dtype()) ? call_in_float32(in, training) : call(in, training);
  output_shape_ = out.shape();
  return out;
}

Tensor Layer::call_in_float32(const Tensor& x, bool training) {
  return cast(call(cast(x, float32), training), x.dtype());
}

void Layer::set_dtype_policy(const mixed_precision::Policy& policy) {
  EMBER_CHECK(!built_, FailedPrecondition, "[", name(), "] the dtype policy is set before the layer builds");
  policy_ = policy;
}

Tensor Layer::read(const Variable& v) const {
  const DType compute = computes_in_float32() && is_half(policy_.compute_dtype()) ? float32 : policy_.compute_dtype();
  return is_floating(v.dtype()) && v.dtype() != compute ? cast(v.read_value(), compute) : v.read_value();
}

Variable Layer::add_weight(const std::string& name, const TensorShape& shape,
                           const initializers::InitializerPtr& init, bool trainable,
                           const std::string& tracked_as) {
  Variable v((*init)(shape, policy_.variable_dtype()), {.name = name, .trainable = trainable});
  track(tracked_as.empty() ? name : tracked_as, v);
  return v;
}

namespace {
// y reshaped to `like`'s shape without its last axis, then `tail`: from
// the static shape when known, else from the run-time one (the dimensions
// known kept known by ensure_shape, for the ops that follow).
Tensor reshape_leading(const Tensor& y, const Tensor& like, const std::vector<int64_t>& tail) {
  std::vector<int64_t> dims = like.shape().as_vector();
  dims.pop_back();
  dims.insert(dims.end(), tail.begin(), tail.end());
  if (TensorShape(dims).is_fully_defined()) return reshape(y, TensorShape(dims));
  Tensor lead = slice(shape(like, int64), {0}, {like.rank() - 1});
  return ensure_shape(reshape(y, concat({lead, constant(tail)}, 0)), TensorShape(dims));
}

int64_t last_dim(const char* api, const TensorShape& s) {
  EMBER_CHECK(s.rank_known() && s.rank() >= 1 && s.dim(-1) >= 0, InvalidArgument, "[", api,
              "] the input's last dimension must be known, got shape ", s.to_string());
  return s.dim(-1);
}
}  // namespace

// ---- Dense -------------------------------------------------------------------------------

Dense::Dense(int64_t units, DenseOptions options)
    : Layer(options.name, "dense"), units_(units), o_(std::move(options)), act_(activation(o_.activation)) {
  EMBER_CHECK(units > 0, InvalidArgument, "[layers::Dense] units must be positive, got ", units);
  if (!o_.kernel_initializer) o_.kernel_initializer = std::make_shared<initializers::GlorotUniform>();
  if (!o_.bias_initializer) o_.bias_initializer = std::make_shared<initializers::Zeros>();
}

void Dense::build_variables(const TensorShape& input_shape) {
  int64_t in = last_dim("layers::Dense", input_shape);
  kernel = add_weight("kernel", {in, units_}, o_.kernel_initializer, true, "_kernel");
  if (o_.use_bias) bias = add_weight("bias", {units_}, o_.bias_initializer);
}

Tensor Dense::call(const Tensor& x, bool) {
  EMBER_CHECK(x.shape().rank_known() && x.rank() >= 2 && x.dim(-1) == kernel.shape().dim(0), InvalidArgument, "[",
              name(), "] expected inputs [..., ", kernel.shape().dim(0), "], got shape ",
              x.shape().to_string());
  Tensor y;
  if (x.rank() == 2) {
    y = matmul(x, read(kernel));
  } else {  // (leading dimensions a trace does not know come from the run-time shape)
    y = reshape_leading(matmul(reshape(x, {-1, x.dim(-1)}), read(kernel)), x, {units_});
  }
  if (o_.use_bias) y = bias_add(y, read(bias));
  return act_(y);
}

// ---- convolution and pooling ----------------------------------------------------------------------

namespace {
// Keras's "same"/"valid" as TensorFlow's "SAME"/"VALID".
std::string tf_padding(const std::string& p, const std::string& layer) {
  if (p == "same" || p == "SAME") return "SAME";
  if (p == "valid" || p == "VALID") return "VALID";
  throw InvalidArgument("[" + layer + "] padding must be 'valid' or 'same', got '" + p + "'");
}
std::vector<int64_t> pair_of(const std::vector<int64_t>& v, const char* what, const std::string& layer) {
  EMBER_CHECK((v.size() == 1 || v.size() == 2) && v[0] > 0 && v.back() > 0, InvalidArgument, "[",
              layer, "] ", what, " must be one or two positive values");
  return v.size() == 1 ? std::vector<int64_t>{v[0], v[0]} : v;
}
int64_t channels(const std::string& layer, const TensorShape& s) {
  EMBER_CHECK(s.rank_known() && s.rank() == 4 && s.dim(3) >= 0, InvalidArgument, "[", layer,
              "] expected NHWC inputs with known channels, got shape ", s.to_string());
  return s.dim(3);
}
}  // namespace

Conv2D::Conv2D(int64_t filters, std::vector<int64_t> kernel_size, Conv2DOptions options)
    : Layer(options.name, "conv2d"), filters_(filters), o_(std::move(options)), act_(activation(o_.activation)) {
  EMBER_CHECK(filters > 0, InvalidArgument, "[layers::Conv2D] filters must be positive, got ", filters);
  kernel_size_ = pair_of(kernel_size, "kernel_size", "layers::Conv2D");
  o_.padding = tf_padding(o_.padding, "layers::Conv2D");
  if (!o_.kernel_initializer) o_.kernel_initializer = std::make_shared<initializers::GlorotUniform>();
  if (!o_.bias_initializer) o_.bias_initializer = std::make_shared<initializers::Zeros>();
}

void Conv2D::build_variables(const TensorShape& input_shape) {
  int64_t in = channels("layers::Conv2D", input_shape);
  kernel = add_weight("kernel", {kernel_size_[0], kernel_size_[1], in, filters_}, o_.kernel_initializer, true,
                      "_kernel");
  if (o_.use_bias) bias = add_weight("bias", {filters_}, o_.bias_initializer);
}

Tensor Conv2D::call(const Tensor& x, bool) {
  Tensor y = conv2d(x, read(kernel),
                    {.strides = o_.strides, .padding = o_.padding, .dilations = o_.dilation_rate});
  if (o_.use_bias) y = bias_add(y, read(bias));
  return act_(y);
}

DepthwiseConv2D::DepthwiseConv2D(std::vector<int64_t> kernel_size, int64_t depth_multiplier,
                                 Conv2DOptions options)
    : Layer(options.name, "depthwise_conv2d"), multiplier_(depth_multiplier), o_(std::move(options)),
      act_(activation(o_.activation)) {
  EMBER_CHECK(depth_multiplier > 0, InvalidArgument,
              "[layers::DepthwiseConv2D] depth_multiplier must be positive, got ", depth_multiplier);
  kernel_size_ = pair_of(kernel_size, "kernel_size", "layers::DepthwiseConv2D");
  o_.padding = tf_padding(o_.padding, "layers::DepthwiseConv2D");
  if (!o_.kernel_initializer) o_.kernel_initializer = std::make_shared<initializers::GlorotUniform>();
  if (!o_.bias_initializer) o_.bias_initializer = std::make_shared<initializers::Zeros>();
}

void DepthwiseConv2D::build_variables(const TensorShape& input_shape) {
  int64_t in = channels("layers::DepthwiseConv2D", input_shape);
  depthwise_kernel = add_weight("kernel", {kernel_size_[0], kernel_size_[1], in, multiplier_},
                                o_.kernel_initializer);
  if (o_.use_bias) bias = add_weight("bias", {in * multiplier_}, o_.bias_initializer);
}

Tensor DepthwiseConv2D::call(const Tensor& x, bool) {
  Tensor y = depthwise_conv2d(x, read(depthwise_kernel),
                              {.strides = o_.strides, .padding = o_.padding, .dilations = o_.dilation_rate});
  if (o_.use_bias) y = bias_add(y, read(bias));
  return act_(y);
}

MaxPool2D::MaxPool2D(std::vector<int64_t> pool_size, std::vector<int64_t> strides, std::string padding,
                     std::string name)
    : Layer(name, "max_pooling2d"),
      pool_(pair_of(pool_size, "pool_size", "layers::MaxPool2D")),
      strides_(strides.empty() ? pool_ : pair_of(strides, "strides", "layers::MaxPool2D")),
      padding_(tf_padding(padding, "layers::MaxPool2D")) {}

Tensor MaxPool2D::call(const Tensor& x, bool) { return max_pool2d(x, pool_, strides_, padding_); }

AveragePooling2D::AveragePooling2D(std::vector<int64_t> pool_size, std::vector<int64_t> strides,
                                   std::string padding, std::string name)
    : Layer(name, "average_pooling2d"),
      pool_(pair_of(pool_size, "pool_size", "layers::AveragePooling2D")),
      strides_(strides.empty() ? pool_ : pair_of(strides, "strides", "layers::AveragePooling2D")),
      padding_(tf_padding(padding, "layers::AveragePooling2D")) {}

Tensor AveragePooling2D::call(const Tensor& x, bool) { return avg_pool2d(x, pool_, strides_, padding_); }

// ---- Flatten, Activation -----------------------------------------------------------------------

Tensor Flatten::call(const Tensor& x, bool) {
  EMBER_CHECK(x.shape().rank_known() && x.rank() >= 1, InvalidArgument, "[", name(), "] expected a batch, got shape ",
              x.shape().to_string());
  if (x.dim(0) >= 0) return reshape(x, {x.dim(0), x.dim(0) == 0 ? 0 : -1});
  // A batch of unknown size (a trace): the rest's size, known now or when it runs.
  TensorShape rest(Dims(x.shape().dims().begin() + 1, x.shape().dims().end()));
  if (rest.is_fully_defined()) return reshape(x, {-1, rest.num_elements()});
  Tensor batch = strided_slice(shape(x), {0}, {1}, {1});
  return reshape(x, concat({batch, constant(std::vector<int32_t>{-1}, Device::cpu())}, 0));
}

Activation::Activation(const std::string& act, std::string name)
    : Layer(name, "activation"), fn_(activation(act)) {}

Tensor Activation::call(const Tensor& x, bool) { return fn_(x); }

// ---- Dropout -----------------------------------------------------------------------------

Dropout::Dropout(double rate, std::optional<int64_t> seed, std::string name)
    : Layer(name, "dropout"), rate_(rate) {
  EMBER_CHECK(rate >= 0 && rate < 1, InvalidArgument,
              "[layers::Dropout] rate must be in [0, 1), got ", rate);
  int64_t s = seed ? *seed : random::next_seed();
  auto scope = name_scope();
  DeviceScope cpu(Device::cpu());
  seed_state = Variable(constant(std::vector<int64_t>{s, 0}),
                        {.name = "seed_generator_state", .trainable = false});
  track("seed_generator_state", seed_state);
}

Tensor Dropout::next_seed() {
  // Keras's SeedGenerator.next(): this call's seed is the state, then [s, n + 1].
  // With ops, not host reads, so a traced step draws a new mask at every call.
  Tensor st = seed_state.read_value();
  seed_state.assign_add(constant(std::vector<int64_t>{0, 1}, Device::cpu()));
  return floormod(st, constant(int64_t{2147483646}, Device::cpu()));  // Keras's _cast_seed
}

Tensor Dropout::call(const Tensor& x, bool training) {
  if (!training || rate_ == 0) return x;
  Tensor seed = next_seed();
  DeviceScope on(x.device());  // drawn where x lives (the seed is read on the host)
  // tf.nn.experimental.stateless_dropout (Keras's TensorFlow backend), one op
  // forward and one backward.
  return stateless_dropout(x, rate_, seed);
}

// ---- normalization -------------------------------------------------------------------------

namespace {
int normalized_axis(const char* api, int axis, const TensorShape& s) {
  int r = s.rank_known() ? s.rank() : 0;
  EMBER_CHECK(s.rank_known() && axis >= -r && axis < r, InvalidArgument, "[", api, "] axis ",
              axis, " is out of range for inputs of shape ", s.to_string());
  return axis < 0 ? axis + r : axis;
}
// The shape a per-channel vector takes to broadcast against rank-r inputs.
std::vector<int64_t> channel_shape(int r, int axis, int64_t n) {
  std::vector<int64_t> d(static_cast<size_t>(r), 1);
  d[static_cast<size_t>(axis)] = n;
  return d;
}
}  // namespace

BatchNormalization::BatchNormalization(NormalizationOptions options)
    : Layer(options.name, "batch_normalization"), o_(std::move(options)) {}

void BatchNormalization::build_variables(const TensorShape& input_shape) {
  int axis = normalized_axis("layers::BatchNormalization", o_.axis, input_shape);
  int64_t n = input_shape.dim(axis);
  EMBER_CHECK(n >= 0, InvalidArgument, "[layers::BatchNormalization] the axis must be known");
  auto ones = std::make_shared<initializers::Ones>();
  auto zeros = std::make_shared<initializers::Zeros>();
  if (o_.scale) gamma = add_weight("gamma", {n}, ones);
  if (o_.center) beta = add_weight("beta", {n}, zeros);
  moving_mean = add_weight("moving_mean", {n}, zeros, false);
  moving_variance = add_weight("moving_variance", {n}, ones, false);
}

Tensor BatchNormalization::call(const Tensor& x, bool training) {
  int axis = normalized_axis(name().c_str(), o_.axis, x.shape());
  int r = x.rank();
  TensorShape cs(channel_shape(r, axis, x.dim(axis)));
  Tensor mean, variance;
  if (training) {
    std::vector<int64_t> axes;
    for (int i = 0; i < r; ++i)
      if (i != axis) axes.push_back(i);
    mean = reduce_mean(x, axes);
    variance = reduce_mean(square(x - reshape(mean, cs)), axes);
    Tensor m = constant(o_.momentum, x.dtype(), x.device());
    Tensor one_m = constant(1.0 - o_.momentum, x.dtype(), x.device());
    moving_mean.assign(moving_mean.read_value() * m + mean * one_m);
    moving_variance.assign(moving_variance.read_value() * m + variance * one_m);
  } else {
    mean = moving_mean.read_value();
    variance = moving_variance.read_value();
  }
  // tf.nn.batch_normalization: x·inv + (beta - mean·inv), inv = gamma / √(var + ε).
  Tensor inv = rsqrt(variance + constant(o_.epsilon, x.dtype(), x.device()));
  if (o_.scale) inv = inv * gamma.read_value();
  Tensor shift = -mean * inv;
  if (o_.center) shift = shift + beta.read_value();
  return x * reshape(inv, cs) + reshape(shift, cs);
}

LayerNormalization::LayerNormalization(NormalizationOptions options)
    : Layer(options.name, "layer_normalization"), o_(std::move(options)) {}

void LayerNormalization::build_variables(const TensorShape& input_shape) {
  int axis = normalized_axis("layers::LayerNormalization", o_.axis, input_shape);
  int64_t n = input_shape.dim(axis);
  if (o_.scale) gamma = add_weight("gamma", {n}, std::make_shared<initializers::Ones>());
  if (o_.center) beta = add_weight("beta", {n}, std::make_shared<initializers::Zeros>());
}

bool LayerNormalization::fused(const Tensor& x, int axis) const {
  return axis == x.rank() - 1 && ((o_.scale && o_.center) || x.dim(axis) >= 0);
}

// A 16-bit x under a mixed policy: the fused op takes it with the float32
// gamma and beta and computes in float32, rounding y once (what casting x
// up and y back gives, without the two casts each way).
Tensor LayerNormalization::call_in_float32(const Tensor& x, bool training) {
  if (!fused(x, normalized_axis(name().c_str(), o_.axis, x.shape()))) return Layer::call_in_float32(x, training);
  const int64_t n = x.dim(-1);
  Tensor g = o_.scale ? read(gamma) : ones({n}, float32, x.device());
  Tensor b = o_.center ? read(beta) : zeros({n}, float32, x.device());
  return layer_norm(x, g, b, o_.epsilon);
}

Tensor LayerNormalization::call(const Tensor& x, bool) {
  int axis = normalized_axis(name().c_str(), o_.axis, x.shape());
  // The last axis: the fused op (a missing gamma or beta: ones or zeros).
  if (fused(x, axis)) {
    const int64_t n = x.dim(axis);
    Tensor g = o_.scale ? gamma.read_value() : ones({n}, x.dtype(), x.device());
    Tensor b = o_.center ? beta.read_value() : zeros({n}, x.dtype(), x.device());
    return layer_norm(x, g.dtype() == x.dtype() ? g : cast(g, x.dtype()),
                      b.dtype() == x.dtype() ? b : cast(b, x.dtype()), o_.epsilon);
  }
  TensorShape cs(channel_shape(x.rank(), axis, x.dim(axis)));
  Tensor mean = reduce_mean(x, axis, true);
  Tensor variance = reduce_mean(square(x - mean), axis, true);
  Tensor inv = rsqrt(variance + constant(o_.epsilon, x.dtype(), x.device()));
  if (o_.scale) inv = inv * reshape(gamma.read_value(), cs);
  Tensor res = -mean * inv;
  if (o_.center) res = res + reshape(beta.read_value(), cs);
  return x * inv + res;
}

// ---- Embedding -----------------------------------------------------------------------------

Embedding::Embedding(int64_t input_dim, int64_t output_dim,
                     initializers::InitializerPtr embeddings_initializer, std::string name)
    : Layer(name, "embedding"),
      input_dim_(input_dim),
      output_dim_(output_dim),
      init_(embeddings_initializer ? std::move(embeddings_initializer)
                                   : std::make_shared<initializers::RandomUniform>()) {
  EMBER_CHECK(input_dim > 0 && output_dim > 0, InvalidArgument,
              "[layers::Embedding] input_dim and output_dim must be positive, got ", input_dim,
              " and ", output_dim);
}

void Embedding::build_variables(const TensorShape&) {
  embeddings = add_weight("embeddings", {input_dim_, output_dim_}, init_, true, "_embeddings");
}

Tensor Embedding::call(const Tensor& x, bool) {
  Tensor ids = x.dtype() == int32 || x.dtype() == int64 ? x : cast(x, int64);
  Tensor rows = gather(embeddings.read_value(), ids);  // the rows, then the cast: not the whole table
  return is_floating(rows.dtype()) && rows.dtype() != compute_dtype() ? cast(rows, compute_dtype()) : rows;
}

// ---- MultiHeadAttention --------------------------------------------------------------------

namespace {

// One of MultiHeadAttention's projections (Keras's EinsumDense): a module
// named as Keras names the sublayer, holding _kernel and bias.
struct Projection : Module {
  Projection(const std::string& name, const TensorShape& kernel_shape, const TensorShape& bias_shape, bool use_bias,
             const initializers::InitializerPtr& init, const initializers::InitializerPtr& bias_init)
      : Module(name) {
    auto scope = name_scope();
    kernel = Variable((*init)(kernel_shape, float32), {.name = "kernel"});
    track("_kernel", kernel);
    if (use_bias) {
      bias = Variable((*bias_init)(bias_shape, float32), {.name = "bias"});
      track("bias", bias);
    }
  }
  Variable kernel, bias;
};

Tensor as_dtype(const Tensor& t, DType d) { return t.dtype() == d ? t : cast(t, d); }

// x [..., in] · kernel [in, a, b] + bias [a, b] -> [..., a, b].
Tensor project_in(const Tensor& x, const Variable& kernel, const Variable& bias) {
  const TensorShape& k = kernel.shape();
  Tensor y = matmul(reshape(x, {-1, k.dim(0)}), reshape(as_dtype(kernel.read_value(), x.dtype()), {k.dim(0), k.dim(1) * k.dim(2)}));
  if (bias.defined()) y = y + reshape(as_dtype(bias.read_value(), x.dtype()), {k.dim(1) * k.dim(2)});
  return reshape_leading(y, x, {k.dim(1), k.dim(2)});
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options)
    : Layer(options.name, "multi_head_attention"),
      num_heads_(num_heads),
      key_dim_(key_dim),
      value_dim_(options.value_dim > 0 ? options.value_dim : key_dim),
      o_(std::move(options)) {
  const char* api = "layers::MultiHeadAttention";
  EMBER_CHECK(num_heads > 0 && key_dim > 0, InvalidArgument, "[", api, "] num_heads and key_dim must be positive, got ",
              num_heads, " and ", key_dim);
  EMBER_CHECK(o_.value_dim >= 0 && o_.output_dim >= 0, InvalidArgument, "[", api,
              "] value_dim and output_dim must be positive (or 0 for the default)");
  EMBER_CHECK(o_.dropout >= 0 && o_.dropout < 1, InvalidArgument, "[", api, "] dropout must be in [0, 1), got ",
              o_.dropout);
  if (!o_.kernel_initializer) o_.kernel_initializer = std::make_shared<initializers::GlorotUniform>();
  if (!o_.bias_initializer) o_.bias_initializer = std::make_shared<initializers::Zeros>();
  if (o_.dropout > 0) {  // (Keras 3's Dropout has a seed generator only with a rate)
    auto scope = name_scope();
    dropout_ = track("_dropout_layer", std::make_shared<Dropout>(o_.dropout, o_.seed, "dropout"));
  }
}

void MultiHeadAttention::build_variables(const TensorShape& query_shape) {
  const char* api = "layers::MultiHeadAttention";
  EMBER_CHECK(query_shape.rank_known() && query_shape.rank() == 3 && query_shape.dim(-1) >= 0, InvalidArgument, "[",
              api, "] query must be [batch, T, dim] with dim known, got ", query_shape.to_string());
  const int64_t dim = query_shape.dim(-1);
  const int64_t value_in = value_in_ >= 0 ? value_in_ : dim, key_in = key_in_ >= 0 ? key_in_ : value_in;
  const int64_t out = o_.output_dim > 0 ? o_.output_dim : dim;
  auto make = [&](const char* name, const char* key, TensorShape kernel_shape, TensorShape bias_shape) {
    auto p = std::make_shared<Projection>(name, kernel_shape, bias_shape, o_.use_bias, o_.kernel_initializer,
                                          o_.bias_initializer);
    track(key, p);
    return p;
  };
  auto q = make("query", "_query_dense", {dim, num_heads_, key_dim_}, {num_heads_, key_dim_});
  auto k = make("key", "_key_dense", {key_in, num_heads_, key_dim_}, {num_heads_, key_dim_});
  auto v = make("value", "_value_dense", {value_in, num_heads_, value_dim_}, {num_heads_, value_dim_});
  auto o = make("attention_output", "_output_dense", {num_heads_, value_dim_, out}, {out});
  query_kernel = q->kernel, query_bias = q->bias, key_kernel = k->kernel, key_bias = k->bias;
  value_kernel = v->kernel, value_bias = v->bias, output_kernel = o->kernel, output_bias = o->bias;
}

Tensor MultiHeadAttention::operator()(const Tensor& query, const Tensor& value, const AttentionCall& call) {
  return attend(query, value, call, nullptr);
}

std::pair<Tensor, Tensor> MultiHeadAttention::with_attention_scores(const Tensor& query, const Tensor& value,
                                                                    const AttentionCall& call) {
  Tensor scores;
  Tensor y = attend(query, value, call, &scores);
  return {y, scores};
}

Tensor MultiHeadAttention::attend(const Tensor& query_in, const Tensor& value_in, const AttentionCall& c,
                                  Tensor* scores) {
  const Tensor query = autocast(query_in), value = autocast(value_in);
  const Tensor key = c.key.defined() ? autocast(c.key) : value;
  const std::string api = "layers::MultiHeadAttention " + name();
  for (const auto& [t, what] : {std::pair{&query, "query"}, std::pair{&value, "value"}, std::pair{&key, "key"}})
    EMBER_CHECK(t->shape().rank_known() && t->rank() == 3 && t->dim(-1) >= 0, InvalidArgument, "[", api, "] ", what,
                " must be [batch, length, dim] with dim known, got ", t->shape().to_string());
  if (!built()) {
    value_in_ = value.dim(-1);
    key_in_ = key.dim(-1);
    build(query.shape());
  }
  EMBER_CHECK(query.dim(-1) == query_kernel.shape().dim(0) && value.dim(-1) == value_kernel.shape().dim(0) &&
                  key.dim(-1) == key_kernel.shape().dim(0),
              InvalidArgument, "[", api, "] built for query, value and key dims ", query_kernel.shape().dim(0), ", ",
              value_kernel.shape().dim(0), " and ", key_kernel.shape().dim(0), ", got ", query.dim(-1), ", ",
              value.dim(-1), " and ", key.dim(-1));
  const std::vector<int64_t> heads_first{0, 2, 1, 3};  // [batch, length, heads, dim] <-> [batch, heads, length, dim]
  Tensor q = transpose(project_in(query, query_kernel, query_bias), heads_first);
  Tensor k = transpose(project_in(key, key_kernel, key_bias), heads_first);
  Tensor v = transpose(project_in(value, value_kernel, value_bias), heads_first);
  AttentionOptions a{.causal = c.use_causal_mask, .scale = 1 / std::sqrt(static_cast<double>(key_dim_))};
  if (c.attention_mask.defined()) {
    Tensor m = c.attention_mask.dtype() == bool_ ? c.attention_mask : not_equal(c.attention_mask, zeros_like(c.attention_mask));
    EMBER_CHECK(m.shape().rank_known() && m.rank() == 3, InvalidArgument, "[", api,
                "] attention_mask must be [batch, T, S], got shape ", m.shape().to_string());
    a.mask = expand_dims(m, 1);  // the same for every head
  }
  if (c.training && o_.dropout > 0) {
    a.dropout_rate = o_.dropout;
    a.dropout_seed = dropout_->next_seed();
  }
  Tensor o;
  {
    ApiScope scope(api.c_str());
    o = transpose(scaled_dot_product_attention(q, k, v, a), heads_first);  // [batch, T, heads, value_dim]
    if (scores) *scores = attention_weights(q, k, a);  // (before dropout, as Keras returns them)
  }
  const TensorShape& ok = output_kernel.shape();
  Tensor y = matmul(reshape(o, {-1, ok.dim(0) * ok.dim(1)}),
                    reshape(as_dtype(output_kernel.read_value(), o.dtype()), {ok.dim(0) * ok.dim(1), ok.dim(2)}));
  if (output_bias.defined()) y = y + as_dtype(output_bias.read_value(), o.dtype());
  return reshape_leading(y, query, {ok.dim(2)});
}

Tensor MultiHeadAttention::call(const Tensor& x, bool training) { return (*this)(x, x, {.training = training}); }

}  // namespace ember::layers
