#pragma once
// hostd's settings, parsed from the command line, the environment and the config file
// (command_line.cpp) into a plain struct that the rest of the daemon reads. Nothing here
// touches the network or plugins.
#include "config/setting_source.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mh::host {

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string to_string() const;
};

struct HostConfig {
  std::filesystem::path models_dir;
  ListenAddress listen;
  std::filesystem::path admin_socket;
  // The admin socket's directory is hostd's own (the default path, not --admin-socket or
  // $MODELHOST_ADMIN_SOCKET): it must be ours and private when it exists already.
  bool admin_socket_dir_is_default = false;
  std::optional<ListenAddress> admin_listen;  // optional TCP admin listener
  std::string admin_token;                    // required with admin_listen
  std::filesystem::path cache_dir = "/var/practicus/cache";
  std::string storage;  // root for relative download_files_from ("" = none)
  std::string log_level = "info";
  std::vector<std::filesystem::path> plugin_dirs;  // searched for a manifest's plugin
  std::uint64_t max_body_bytes = 1u << 20;
  // The HTTP layer's other bounds (docs/limits.md: flag, default, what happens at the bound).
  std::uint64_t max_header_bytes = 16 * 1024;
  std::uint64_t max_stream_buffer_bytes = 1u << 20;
  std::uint64_t max_connections = 1024;
  std::uint64_t max_concurrent_bodies = 64;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
  std::string api_key;  // when set, /v1/* needs "Authorization: Bearer <key>"
  std::chrono::milliseconds drain_timeout{30000};
  std::chrono::milliseconds load_timeout{600000};
  unsigned http_threads = 2;
  unsigned worker_threads = 4;
  // How a model runs its plugin when its model.json says nothing: "process" (a runner
  // process per model generation) or "none" (in hostd's own process).
  std::string default_isolation = "process";
  // Where each value came from (for --print-config and for errors that name the user's input).
  SettingOrigins origins;
};

// "HOST:PORT" (IPv6 as "[::1]:8080"); throws std::invalid_argument naming the bad part.
ListenAddress parse_listen_address(const std::string& text);

// The admin socket path when none is given: $MODELHOST_ADMIN_SOCKET, else
// $XDG_RUNTIME_DIR/modelhost/admin.sock, else /tmp/modelhost-$UID/admin.sock.
std::filesystem::path default_admin_socket();

}  // namespace mh::host
