#include "config/effective_config.hpp"

#include "config/installed_layout.hpp"

#include <cstdio>
#include <sstream>
#include <utility>
#include <vector>

namespace mh::host {

namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string secret(const std::string& value) {
  return value.empty() ? quoted("") : quoted("<set, not shown>");
}

std::string number(std::uint64_t value) {
  return std::to_string(value);
}

}  // namespace

std::string format_effective_config(const HostConfig& config) {
  std::string plugin_dirs = "[";
  for (const auto& dir : config.plugin_dirs) {
    plugin_dirs += (plugin_dirs.size() > 1 ? ", " : "") + quoted(dir.string());
  }
  plugin_dirs += "]";
  const std::vector<std::pair<const char*, std::string>> rows = {
      {"models-dir", quoted(config.models_dir.string())},
      {"listen", quoted(config.listen.to_string())},
      {"admin-socket", quoted(config.admin_socket.string())},
      {"admin-listen", quoted(config.admin_listen ? config.admin_listen->to_string() : "")},
      {"admin-token", secret(config.admin_token)},
      {"cache-dir", quoted(config.cache_dir.string())},
      {"storage", quoted(config.storage)},
      {"log-level", quoted(config.log_level)},
      {"plugin-dir", plugin_dirs},
      {"max-body-bytes", number(config.max_body_bytes)},
      {"max-header-bytes", number(config.max_header_bytes)},
      {"max-connections", number(config.max_connections)},
      {"max-concurrent-bodies", number(config.max_concurrent_bodies)},
      {"max-stream-buffer-bytes", number(config.max_stream_buffer_bytes)},
      {"header-timeout-ms", number(static_cast<std::uint64_t>(config.header_timeout.count()))},
      {"body-timeout-ms", number(static_cast<std::uint64_t>(config.body_timeout.count()))},
      {"write-timeout-ms", number(static_cast<std::uint64_t>(config.write_timeout.count()))},
      {"api-key", secret(config.api_key)},
      {"drain-timeout-ms", number(static_cast<std::uint64_t>(config.drain_timeout.count()))},
      {"load-timeout-ms", number(static_cast<std::uint64_t>(config.load_timeout.count()))},
      {"default-isolation", quoted(config.default_isolation)},
      {"http-threads", number(config.http_threads)},
      {"worker-threads", number(config.worker_threads)},
  };
  std::ostringstream out;
  out << "# hostd's effective configuration (precedence: flag > environment > file > default)\n";
  out << "# config file: "
      << (config.origins.config_file.empty() ? "none" : config.origins.config_file.string())
      << "\n";
  const auto installed = installed_plugin_dir();
  out << "# installed plugins (searched after plugin-dir): "
      << (installed ? installed->string() : "none") << "\n";
  for (const auto& [key, value] : rows) {
    const SettingSource source = config.origins.source_of(key);
    // An empty list is no value to CLI11 (`key = []` fails): print it as a comment.
    if (value == "[]") out << "# ";
    out << key << " = " << value << "  # " << to_string(source);
    if (source == SettingSource::environment) out << " $" << environment_variable_for(key);
    out << "\n";
  }
  return out.str();
}

}  // namespace mh::host
