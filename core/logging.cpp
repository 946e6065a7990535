#include "core/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace ember {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> log = [] {
    auto l = std::make_shared<spdlog::logger>(
        "ember", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    l->set_pattern("[ember] [%l] %v");
    l->set_level(spdlog::level::warn);
    if (const char* env = std::getenv("EMBER_LOG_LEVEL")) {
      auto level = spdlog::level::from_str(env);
      // from_str maps unknown names to off; only an explicit "off" means off.
      if (level != spdlog::level::off || std::string_view(env) == "off") l->set_level(level);
    }
    return l;
  }();
  return *log;
}

}  // namespace ember
