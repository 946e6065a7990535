#include "core/device.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdlib>

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

namespace {
// This process's rank on its machine when a launcher started it (mpirun,
// srun), else 0: each local rank takes its own GPU by default.
int launcher_local_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "PMI_LOCAL_RANK"})
    if (const char* v = std::getenv(var)) return std::max(0, std::atoi(v));
  return 0;
}
}  // namespace

Device default_device() {
  const auto& ctx = context();
  if (ctx.has_device_scope) return ctx.device_scope;
  static const Device fallback = [] {
    const int gpus = cuda_device_count();
    return gpus > 0 ? Device::cuda(launcher_local_rank() % gpus) : Device::cpu();
  }();
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
