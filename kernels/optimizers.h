// The optimizer updates' arithmetic, shared by the CPU and CUDA kernels:
// TensorFlow's training_ops formulas, one element at a time. Each update
// names where its inputs are (kSlots slot variables after the variable,
// the scalar inputs kScalars, the gradient kGrad), the boolean attribute it
// reads (kFlag, or none), `prepare` (derived scalars, computed once per
// call) and `step` (one element of the variable and its slots). The 16-bit
// floats are updated in float32 (`compute_t`, core/half.h): each element and
// its slots are widened, stepped, and rounded once when stored.
#pragma once

#include <cmath>

#include "core/half.h"
#include "core/host_device.h"

namespace ember::optim {

/// var -= alpha·delta
struct GradientDescent {
  static constexpr int kSlots = 0, kGrad = 2, kNumScalars = 1;
  static constexpr int kScalars[] = {1};  // alpha
  static constexpr const char* kFlag = nullptr;
  template <typename T>
  EMBER_HOST_DEVICE static void prepare(T*) {}
  template <typename T>
  EMBER_HOST_DEVICE static void step(const T* k, bool, T& var, T*, T g) {
    var -= k[0] * g;
  }
};

/// accum = accum·momentum - lr·grad; var += accum (Nesterov: var +=
/// accum·momentum - lr·grad).
struct KerasMomentum {
  static constexpr int kSlots = 1, kGrad = 3, kNumScalars = 2;
  static constexpr int kScalars[] = {2, 4};  // lr, momentum
  static constexpr const char* kFlag = "use_nesterov";
  template <typename T>
  EMBER_HOST_DEVICE static void prepare(T*) {}
  template <typename T>
  EMBER_HOST_DEVICE static void step(const T* k, bool nesterov, T& var, T* s, T g) {
    T lr = k[0], momentum = k[1];
    s[0] = s[0] * momentum - lr * g;
    var += nesterov ? s[0] * momentum - lr * g : s[0];
  }
};

/// m += (g - m)(1 - β1); v += (g² - v)(1 - β2);
/// var -= m·α / (√v + ε) with α = lr·√(1 - β2^t) / (1 - β1^t)
/// (Nesterov: (g(1 - β1) + β1·m) in place of m).
struct Adam {
  static constexpr int kSlots = 2, kGrad = 9, kNumScalars = 6;
  // beta1_power, beta2_power, lr, beta1, beta2, epsilon; prepare adds α.
  static constexpr int kScalars[] = {3, 4, 5, 6, 7, 8};
  static constexpr const char* kFlag = "use_nesterov";
  template <typename T>
  EMBER_HOST_DEVICE static void prepare(T* k) {
    k[6] = k[2] * std::sqrt(T(1) - k[1]) / (T(1) - k[0]);
  }
  template <typename T>
  EMBER_HOST_DEVICE static void step(const T* k, bool nesterov, T& var, T* s, T g) {
    T beta1 = k[3], beta2 = k[4], eps = k[5], alpha = k[6];
    s[0] += (g - s[0]) * (T(1) - beta1);
    s[1] += (g * g - s[1]) * (T(1) - beta2);
    T m = nesterov ? g * (T(1) - beta1) + beta1 * s[0] : s[0];
    var -= (m * alpha) / (std::sqrt(s[1]) + eps);
  }
};

/// ms += (g² - ms)(1 - ρ); mom = mom·momentum + lr·g / √(ms + ε); var -= mom.
struct RMSProp {
  static constexpr int kSlots = 2, kGrad = 7, kNumScalars = 4;
  static constexpr int kScalars[] = {3, 4, 5, 6};  // lr, rho, momentum, epsilon
  static constexpr const char* kFlag = nullptr;
  template <typename T>
  EMBER_HOST_DEVICE static void prepare(T*) {}
  template <typename T>
  EMBER_HOST_DEVICE static void step(const T* k, bool, T& var, T* s, T g) {
    T lr = k[0], rho = k[1], momentum = k[2], eps = k[3];
    s[0] += (g * g - s[0]) * (T(1) - rho);
    s[1] = s[1] * momentum + (g * lr) / std::sqrt(s[0] + eps);
    var -= s[1];
  }
};

/// RMSProp normalised by the centred second moment: mg += (g - mg)(1 - ρ),
/// denominator √(ms - mg² + ε).
struct CenteredRMSProp {
  static constexpr int kSlots = 3, kGrad = 8, kNumScalars = 4;
  static constexpr int kScalars[] = {4, 5, 6, 7};  // lr, rho, momentum, epsilon
  static constexpr const char* kFlag = nullptr;
  template <typename T>
  EMBER_HOST_DEVICE static void prepare(T*) {}
  template <typename T>
  EMBER_HOST_DEVICE static void step(const T* k, bool, T& var, T* s, T g) {
    T lr = k[0], rho = k[1], momentum = k[2], eps = k[3];
    s[1] += (g * g - s[1]) * (T(1) - rho);
    s[0] += (g - s[0]) * (T(1) - rho);
    T denom = (s[1] - s[0] * s[0]) + eps;
    s[2] = s[2] * momentum + (g * lr) / std::sqrt(denom);
    var -= s[2];
  }
};

/// accum += g² (when update_slots); var -= lr·g / (√accum + ε).
struct AdagradV2 {
  static constexpr int kSlots = 1, kGrad = 4, kNumScalars = 2;
  static constexpr int kScalars[] = {2, 3};  // lr, epsilon
  static constexpr const char* kFlag = "update_slots";
  template <typename T>
  EMBER_HOST_DEVICE static void prepare(T*) {}
  template <typename T>
  EMBER_HOST_DEVICE static void step(const T* k, bool update_slots, T& var, T* s, T g) {
    if (update_slots) s[0] += g * g;
    var -= g * k[0] / (std::sqrt(s[0]) + k[1]);
  }
};

/// Room for every update's scalars and what `prepare` derives.
inline constexpr int kMaxScalars = 8;
inline constexpr int kMaxSlots = 3;

}  // namespace ember::optim
