// model.json's keys about process isolation: "isolation", "restart", "limits" and
// "stuck_grace_ms" (docs/plugin-guide.md, "model.json"). Nested keys are named with a dot in
// messages ("limits.cpus"), so the operator finds the value at once.
#include "manifest_fields.hpp"

#include <boost/json/value.hpp>

#include <cctype>
#include <limits>
#include <optional>
#include <string>

namespace mh::host::manifest_fields {

namespace json = boost::json;

namespace {

// Below this a runner cannot even start its threads (each reserves its stack).
constexpr std::uint64_t kMinAddressSpace = std::uint64_t{64} << 20;
constexpr std::uint64_t kMaxAddressSpace = std::uint64_t{1} << 50;
constexpr std::string_view kMemoryShape =
    "a byte count of at least 64 MiB: an integer, or a string such as \"4GiB\" or \"512MB\"";

// "4GiB", "512MB", "1073741824": bytes, or nullopt when the text is none of those.
std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  const std::uint64_t number = std::stoull(std::string(text.substr(0, digits)));
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  struct Unit {
    std::string_view name;
    std::uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", std::uint64_t{1} << 10},
      {"MiB", std::uint64_t{1} << 20},
      {"GiB", std::uint64_t{1} << 30},
      {"TiB", std::uint64_t{1} << 40},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"TB", std::uint64_t{1000} * 1000 * 1000 * 1000},
  };
  for (const Unit& candidate : kUnits) {
    if (unit == candidate.name) {
      if (number > std::numeric_limits<std::uint64_t>::max() / candidate.factor)
        return std::nullopt;
      return number * candidate.factor;
    }
  }
  return std::nullopt;
}

std::uint64_t read_memory(std::string_view file, const std::string& key, const json::value& value) {
  if (value.is_string()) {
    const auto bytes = parse_byte_size(std::string_view(value.as_string()));
    if (!bytes || *bytes < kMinAddressSpace || *bytes > kMaxAddressSpace) {
      fail(file, key, kMemoryShape, value);
    }
    return *bytes;
  }
  return read_integer(file, key, value, kMinAddressSpace, kMaxAddressSpace, kMemoryShape);
}

void read_restart(std::string_view file, const json::value& value, ParsedManifest& parsed) {
  const json::object* object = value.if_object();
  if (object == nullptr) {
    fail(file, "restart", "an object such as {\"max_restarts\": 5, \"window_seconds\": 300}",
         value);
  }
  RestartPolicy& restart = parsed.manifest.restart;
  for (const auto& [name, item] : *object) {
    const std::string key = "restart." + std::string(name);
    if (!name.empty() && name.front() == '_') continue;
    if (name == "max_restarts") {
      restart.max_restarts = static_cast<std::uint32_t>(
          read_integer(file, key, item, 0, 1000, "an integer from 0 to 1000"));
    } else if (name == "window_seconds") {
      restart.window_seconds =
          read_integer(file, key, item, 1, std::uint64_t{1} << 32, "a positive integer (seconds)");
    } else {
      parsed.warnings.push_back(std::string(file) + ": unknown key \"" + key + "\" ignored");
    }
  }
}

void read_limits(std::string_view file, const json::value& value, ParsedManifest& parsed) {
  const json::object* object = value.if_object();
  if (object == nullptr) {
    fail(file, "limits",
         "an object with any of \"memory\", \"cpus\", \"environment\", \"core_dumps\"", value);
  }
  IsolationLimits& limits = parsed.manifest.limits;
  bool has_memory = false;
  for (const auto& [name, item] : *object) {
    const std::string key = "limits." + std::string(name);
    if (!name.empty() && name.front() == '_') continue;
    if (name == "memory" || name == "address_space_bytes") {
      if (has_memory) {
        throw ManifestError(std::string(file) +
                            ": give one of \"limits.memory\" and \"limits.address_space_bytes\"");
      }
      has_memory = true;
      limits.address_space_bytes = read_memory(file, key, item);
    } else if (name == "cpus") {
      constexpr std::string_view kCpusShape = "a non-empty list of CPU numbers such as [0, 1]";
      const json::array* cpus = item.if_array();
      if (cpus == nullptr || cpus->empty()) fail(file, key, kCpusShape, item);
      for (const auto& cpu : *cpus) {
        limits.cpus.push_back(
            static_cast<std::uint32_t>(read_integer(file, key, cpu, 0, 4095, kCpusShape)));
      }
    } else if (name == "environment") {
      constexpr std::string_view kEnvironmentShape =
          "an object of variable names and string values, such as {\"CUDA_VISIBLE_DEVICES\": "
          "\"1\"}";
      const json::object* variables = item.if_object();
      if (variables == nullptr) fail(file, key, kEnvironmentShape, item);
      for (const auto& [variable, setting] : *variables) {
        const std::string variable_key = key + "." + std::string(variable);
        if (variable.empty() || variable.find('=') != json::string_view::npos) {
          throw ManifestError(std::string(file) + ": \"" + variable_key +
                              "\": a variable name must be non-empty and hold no '='");
        }
        if (!setting.is_string()) fail(file, variable_key, "a string", setting);
        limits.environment.emplace_back(std::string(variable), std::string(setting.as_string()));
      }
    } else if (name == "core_dumps") {
      if (!item.is_bool()) fail(file, key, "true or false", item);
      limits.core_dumps = item.as_bool();
    } else {
      parsed.warnings.push_back(std::string(file) + ": unknown key \"" + key + "\" ignored");
    }
  }
}

}  // namespace

bool read_isolation_key(std::string_view file, const std::string& key, const json::value& value,
                        ParsedManifest& parsed) {
  if (key == "isolation") {
    if (value.is_string() && value.as_string() == "process") {
      parsed.manifest.isolation = Isolation::process;
    } else if (value.is_string() && value.as_string() == "none") {
      parsed.manifest.isolation = Isolation::none;
    } else {
      fail(file, key, "\"process\" or \"none\"", value);
    }
  } else if (key == "restart") {
    read_restart(file, value, parsed);
  } else if (key == "limits") {
    read_limits(file, value, parsed);
  } else if (key == "stuck_grace_ms") {
    parsed.manifest.stuck_grace_ms = read_integer(file, key, value, 0, std::uint64_t{1} << 40,
                                                  "a non-negative integer (milliseconds)");
  } else {
    return false;
  }
  return true;
}

void check_isolation_keys(std::string_view file, bool has_limits, ParsedManifest& parsed) {
  if (has_limits && parsed.manifest.isolation == Isolation::none) {
    parsed.warnings.push_back(std::string(file) +
                              ": \"limits\" apply to isolated models only; ignored with "
                              "\"isolation\": \"none\"");
  }
}

}  // namespace mh::host::manifest_fields
