// Device: where a tensor's buffer lives and where its ops run.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace ember {

enum class DeviceKind : uint8_t { CPU = 0, CUDA = 1 };
inline constexpr int kNumDeviceKinds = 2;

class Device {
 public:
  constexpr Device() = default;
  constexpr Device(DeviceKind kind, int index) : kind_(kind), index_(index) {}
  static constexpr Device cpu() { return {DeviceKind::CPU, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceKind::CUDA, index}; }
  /// Parses "cpu", "cuda", "cuda:1", "gpu:0", and TensorFlow's "/CPU:0", "/GPU:1".
  static Device parse(std::string_view spec);

  constexpr DeviceKind kind() const { return kind_; }
  constexpr int index() const { return index_; }
  constexpr bool is_cpu() const { return kind_ == DeviceKind::CPU; }
  constexpr bool is_cuda() const { return kind_ == DeviceKind::CUDA; }
  /// "cpu" or "cuda:N".
  std::string to_string() const;

  friend constexpr bool operator==(Device a, Device b) {
    return a.kind_ == b.kind_ && a.index_ == b.index_;
  }

 private:
  DeviceKind kind_ = DeviceKind::CPU;
  int index_ = 0;
};

std::ostream& operator<<(std::ostream& os, Device d);
std::string_view device_kind_name(DeviceKind k);

/// Number of usable CUDA devices: 0 when ember was built without CUDA or no
/// GPU (or no driver) is present.
int cuda_device_count();
/// Why there is no GPU, for messages: empty when there is one.
std::string cuda_unavailable_reason();

/// Lets float32 matmuls on GPUs use TF32 tensor cores (10-bit mantissa
/// products), as tf.config.experimental.enable_tensor_float_32_execution.
/// Off by default: float32 means float32.
void enable_tensor_float_32_execution(bool enabled);
bool tensor_float_32_execution_enabled();

/// The device an op with no inputs runs on: the innermost DeviceScope's, else
/// a GPU if there is one (the first; in a process a launcher started, the
/// one of its local rank, modulo the GPUs: one GPU per rank), else the CPU.
Device default_device();

/// Places ops (and new tensors) on `device` while alive, like `tf.device`.
class DeviceScope {
 public:
  explicit DeviceScope(Device device);
  explicit DeviceScope(std::string_view spec) : DeviceScope(Device::parse(spec)) {}
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  bool had_previous_;
  Device previous_;
};

}  // namespace ember
