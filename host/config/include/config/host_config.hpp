#pragma once
// hostd's settings, parsed from the command line (command_line.cpp) into a plain struct that
// the rest of the daemon reads. Nothing here touches the network or plugins.
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
  std::optional<ListenAddress> admin_listen;  // optional TCP admin listener
  std::string admin_token;                    // required with admin_listen
  std::filesystem::path cache_dir = "/var/practicus/cache";
  std::string storage;  // root for relative download_files_from ("" = none)
  std::string log_level = "info";
  std::vector<std::filesystem::path> plugin_dirs;  // searched for a manifest's plugin
  std::uint64_t max_body_bytes = 1u << 20;
  std::string api_key;  // when set, /v1/* needs "Authorization: Bearer <key>"
  std::chrono::milliseconds drain_timeout{30000};
  std::chrono::milliseconds load_timeout{600000};
  unsigned http_threads = 2;
  unsigned worker_threads = 4;
};

// "HOST:PORT" (IPv6 as "[::1]:8080"); throws std::invalid_argument naming the bad part.
ListenAddress parse_listen_address(const std::string& text);

// The admin socket path when none is given: $MODELHOST_ADMIN_SOCKET, else
// $XDG_RUNTIME_DIR/modelhost/admin.sock, else /tmp/modelhost-$UID/admin.sock.
std::filesystem::path default_admin_socket();

}  // namespace mh::host
