#include "core/device.h"

#include <atomic>
#include <cctype>
#include <charconv>

#include "core/context.h"
#include "core/error.h"

namespace ember {

Device Device::parse(std::string_view spec) {
  std::string s;
  for (char c : spec)
    if (c != '/') s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (s.rfind("device:", 0) == 0) s = s.substr(7);
  std::string kind = s, idx;
  if (auto colon = s.find(':'); colon != std::string::npos) {
    kind = s.substr(0, colon);
    idx = s.substr(colon + 1);
  }
  int index = 0;
  if (!idx.empty()) {
    auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), index);
    EMBER_CHECK(ec == std::errc() && p == idx.data() + idx.size() && index >= 0, InvalidArgument,
                "[Device] bad device index in '", spec, "'");
  }
  if (kind == "cpu") return {DeviceKind::CPU, index};
  if (kind == "cuda" || kind == "gpu") return {DeviceKind::CUDA, index};
  throw InvalidArgument(detail::str_cat("[Device] unknown device '", spec,
                                        "': expected cpu, cuda:N, /CPU:0 or /GPU:N"));
}

std::string Device::to_string() const {
  if (is_cpu()) return "cpu";
  return "cuda:" + std::to_string(index_);
}

std::ostream& operator<<(std::ostream& os, Device d) { return os << d.to_string(); }

std::string_view device_kind_name(DeviceKind k) { return k == DeviceKind::CPU ? "CPU" : "CUDA"; }

namespace {
std::atomic<bool> allow_tf32{false};
}
void enable_tensor_float_32_execution(bool enabled) { allow_tf32.store(enabled); }
bool tensor_float_32_execution_enabled() { return allow_tf32.load(); }

Device default_device() {
  const auto& ctx = context();
  if (ctx.has_device_scope) return ctx.device_scope;
  static const Device fallback = cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu();
  return fallback;
}

DeviceScope::DeviceScope(Device device) {
  auto& ctx = context();
  had_previous_ = ctx.has_device_scope;
  previous_ = ctx.device_scope;
  if (device.is_cuda()) {
    EMBER_CHECK(device.index() < cuda_device_count(), InvalidArgument, "[DeviceScope] ",
                device.to_string(), " is not available: ",
                cuda_device_count() == 0 ? cuda_unavailable_reason()
                                         : std::to_string(cuda_device_count()) + " GPU(s) found");
  }
  ctx.has_device_scope = true;
  ctx.device_scope = device;
}

DeviceScope::~DeviceScope() {
  auto& ctx = context();
  ctx.has_device_scope = had_previous_;
  ctx.device_scope = previous_;
}

}  // namespace ember
