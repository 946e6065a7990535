// Mixed precision: Keras 3's dtype policies (keras.mixed_precision).
//
//   mixed_precision::set_global_policy("mixed_bfloat16");
//   auto model = std::make_shared<layers::Sequential>(...);  // layers take the global policy when made
//
// Under "mixed_float16" or "mixed_bfloat16" a layer keeps float32 variables
// and computes in the 16-bit type: its floating inputs are cast to it, and
// its variables are cast when read inside its call (their gradients flow
// back to the float32 variables through the casts). Normalisation
// statistics and the losses stay in float32, as in Keras; float16 training
// wants optimizers::LossScaleOptimizer (its gradients would underflow).
#pragma once

#include <string>

#include "core/dtype.h"

namespace ember::mixed_precision {

/// A dtype policy: Keras 3's names "float32", "float64", "float16",
/// "bfloat16", "mixed_float16", "mixed_bfloat16".
class Policy {
 public:
  Policy() = default;  // float32
  explicit Policy(const std::string& name);
  const std::string& name() const { return name_; }
  /// The dtype the layer computes in, and the one its variables hold.
  DType compute_dtype() const { return compute_; }
  DType variable_dtype() const { return variable_; }
  bool operator==(const Policy& other) const { return name_ == other.name_; }

 private:
  std::string name_ = "float32";
  DType compute_ = DType::Float32, variable_ = DType::Float32;
};

/// The policy layers made from now on take (Keras's global policy).
void set_global_policy(const std::string& name);
void set_global_policy(const Policy& policy);
Policy global_policy();

/// Sets the global policy while alive, then restores the one before.
class PolicyScope {
 public:
  explicit PolicyScope(const std::string& name);
  ~PolicyScope();
  PolicyScope(const PolicyScope&) = delete;
  PolicyScope& operator=(const PolicyScope&) = delete;

 private:
  Policy saved_;
};

}  // namespace ember::mixed_precision
