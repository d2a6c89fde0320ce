#include "human_units.hpp"

#include <array>
#include <cmath>
#include <cstdio>

namespace hostctl {
namespace {

std::string two_digits(long long value) {
  char text[8];
  std::snprintf(text, sizeof text, "%02lld", value);
  return text;
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  static constexpr std::array<const char*, 7> kUnits = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  // Move up while the value would print as 1000 or more in this unit (999.6 rounds to 1000).
  while (unit + 1 < kUnits.size() && value >= 999.5) {
    value /= 1000.0;
    ++unit;
  }
  char text[32];
  if (value < 9.95) {
    std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  } else {
    std::snprintf(text, sizeof text, "%.0f %s", value, kUnits[unit]);
  }
  return text;
}

std::string format_rate(double bytes_per_second) {
  if (!std::isfinite(bytes_per_second) || bytes_per_second < 0) return "-";
  return format_bytes(static_cast<std::uint64_t>(std::llround(bytes_per_second))) + "/s";
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  if (seconds < 1) return std::to_string(std::lround(seconds * 1000)) + "ms";
  const long long total = std::llround(std::floor(seconds));
  if (total < 60) return std::to_string(total) + "s";
  if (total < 3600) return std::to_string(total / 60) + "m " + two_digits(total % 60) + "s";
  if (total < 86400) return std::to_string(total / 3600) + "h " + two_digits(total / 60 % 60) + "m";
  return std::to_string(total / 86400) + "d " + two_digits(total / 3600 % 24) + "h";
}

}  // namespace hostctl
