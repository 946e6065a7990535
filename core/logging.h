// Logging through spdlog: quiet by default (warnings and errors only);
// EMBER_LOG_LEVEL=trace|debug|info|warn|error|off sets the level.
#pragma once

#include <spdlog/logger.h>

namespace ember {
/// ember's logger, configured from EMBER_LOG_LEVEL on first use.
spdlog::logger& logger();
}  // namespace ember

#define EMBER_LOG_TRACE(...) ::ember::logger().trace(__VA_ARGS__)
#define EMBER_LOG_DEBUG(...) ::ember::logger().debug(__VA_ARGS__)
#define EMBER_LOG_INFO(...) ::ember::logger().info(__VA_ARGS__)
#define EMBER_LOG_WARN(...) ::ember::logger().warn(__VA_ARGS__)
#define EMBER_LOG_ERROR(...) ::ember::logger().error(__VA_ARGS__)
