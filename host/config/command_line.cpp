#include "config/command_line.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <modelhost/version.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <system_error>
#include <thread>

namespace mh::host {

namespace fs = std::filesystem;

std::string ListenAddress::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

ListenAddress parse_listen_address(const std::string& text) {
  ListenAddress address;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("\"" + text + "\" is not [IPV6]:PORT");
    }
    address.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      throw std::invalid_argument("\"" + text + "\" is not HOST:PORT");
    address.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (address.host.empty()) throw std::invalid_argument("\"" + text + "\" has no host");
  char* end = nullptr;
  errno = 0;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
    throw std::invalid_argument("\"" + text + "\": the port must be a number from 0 to 65535");
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

fs::path default_admin_socket() {
  if (const char* env = std::getenv("MODELHOST_ADMIN_SOCKET"); env && *env) return env;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return fs::path(runtime) / "modelhost" / "admin.sock";
  }
  return fs::path("/tmp") / ("modelhost-" + std::to_string(::getuid())) / "admin.sock";
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  HostConfig config;
  CLI::App app{
      "hostd: hosts ML models as native plugins and serves them over HTTP.\n"
      "Each subdirectory of --models-dir holding a model.json is a model; `hostctl reload`\n"
      "rescans it (new, changed and removed models load, swap and unload without downtime)."};
  app.set_version_flag("--version", "hostd " MODELHOST_VERSION);
  // Handled like --version: before the checks of the other flags (--models-dir is not needed).
  bool print_routes = false;
  app.add_flag_callback(
         "--print-routes",
         [&print_routes] {
           print_routes = true;
           throw CLI::Success();
         },
         "Print the HTTP routes as Markdown tables (the public API, then the admin\n"
         "API), as README.md lists them, and exit.")
      ->configurable(false);
  app.get_formatter()->column_width(34);

  std::string listen = config.listen.to_string();
  std::string admin_listen;
  std::string admin_socket;
  std::uint64_t drain_ms = static_cast<std::uint64_t>(config.drain_timeout.count());
  std::uint64_t load_ms = static_cast<std::uint64_t>(config.load_timeout.count());
  std::uint64_t header_ms = static_cast<std::uint64_t>(config.header_timeout.count());
  std::uint64_t body_ms = static_cast<std::uint64_t>(config.body_timeout.count());
  std::uint64_t write_ms = static_cast<std::uint64_t>(config.write_timeout.count());
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  config.http_threads = std::clamp(cores, 1u, 4u);
  config.worker_threads = std::clamp(cores, 2u, 16u);

  app.add_option("--models-dir", config.models_dir,
                 "Directory of models: one subdirectory per model, each holding model.json\n"
                 "and (usually) its plugin .so. Scanned at start and on `hostctl reload`.")
      ->required()
      ->type_name("DIR");
  app.add_option("--listen", listen,
                 "Address of the public HTTP API (HOST:PORT; port 0 picks one).")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  app.add_option("--admin-socket", admin_socket,
                 "Unix socket of the admin API used by hostctl (mode 0600). Default:\n"
                 "$MODELHOST_ADMIN_SOCKET, else $XDG_RUNTIME_DIR/modelhost/admin.sock,\n"
                 "else /tmp/modelhost-$UID/admin.sock.")
      ->type_name("PATH");
  app.add_option("--admin-listen", admin_listen,
                 "Also serve the admin API over TCP here; needs --admin-token.")
      ->type_name("HOST:PORT");
  app.add_option("--admin-token", config.admin_token,
                 "Bearer token the TCP admin listener requires (or $MODELHOST_ADMIN_TOKEN).")
      ->envname("MODELHOST_ADMIN_TOKEN")
      ->type_name("TOKEN");
  app.add_option("--cache-dir", config.cache_dir,
                 "Where model files are synced to (<cache-dir>/<model name> unless the\n"
                 "manifest says download_files_to) and where hostd keeps its private,\n"
                 "content-addressed copies of plugin libraries (<cache-dir>/.plugins).\n"
                 "Created when missing; must be writable.")
      ->capture_default_str()
      ->type_name("DIR");
  app.add_option("--storage", config.storage,
                 "Root that relative download_files_from values resolve against, e.g.\n"
                 "s3://bucket/models/ or file:///srv/models/ (default: none).")
      ->type_name("URI");
  app.add_option("--log-level", config.log_level, "Log verbosity.")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--plugin-dir", config.plugin_dirs,
                 "Extra directory searched for a manifest's \"plugin\" when it is not next to\n"
                 "model.json (repeatable; e.g. --plugin-dir build/plugins).")
      ->type_name("DIR");
  app.add_option("--max-body-bytes", config.max_body_bytes,
                 "Largest request body accepted; larger ones get 413.")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 34));
  app.add_option("--max-header-bytes", config.max_header_bytes,
                 "Largest request head (request line and headers; also a chunk's size\n"
                 "line with its extensions); larger ones get 431 (400 for a chunk line).")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{1} << 24));
  app.add_option("--max-connections", config.max_connections,
                 "Most TCP connections open at once; beyond it a new connection gets 503\n"
                 "and is closed (the admin socket has 64 of its own).")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  app.add_option("--max-concurrent-bodies", config.max_concurrent_bodies,
                 "Most request bodies over 64 KiB (or chunked) being received at once;\n"
                 "beyond it 503 and close. Smaller bodies need no slot.")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  app.add_option("--max-stream-buffer-bytes", config.max_stream_buffer_bytes,
                 "Most bytes of one streamed reply queued but not yet taken by its client;\n"
                 "beyond it the plugin's write is refused (MH_RESOURCE_EXHAUSTED).")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{1} << 34));
  app.add_option("--header-timeout-ms", header_ms,
                 "How long a connection may take to send a request head (also the idle\n"
                 "keep-alive time); a partial head then gets 408, an idle connection closes.")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  app.add_option("--body-timeout-ms", body_ms,
                 "How long a request body may take to arrive; then 408 and close.")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  app.add_option("--write-timeout-ms", write_ms,
                 "How long a client may take no bytes of its reply; then its connection\n"
                 "closes and its request is cancelled.")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  app.add_option("--api-key", config.api_key,
                 "When set, /v1/* requests need \"Authorization: Bearer KEY\" (or\n"
                 "$MODELHOST_API_KEY); probes and /metrics stay open.")
      ->envname("MODELHOST_API_KEY")
      ->type_name("KEY");
  app.add_option("--drain-timeout-ms", drain_ms,
                 "How long in-flight requests may run on after a model is replaced or\n"
                 "removed, or after SIGTERM, before the plugin is told to stop.")
      ->capture_default_str();
  app.add_option("--load-timeout-ms", load_ms,
                 "How long a plugin's init may take before the model is marked failed\n"
                 "(a manifest's load_timeout_ms overrides it).")
      ->capture_default_str();
  app.add_option("--default-isolation", config.default_isolation,
                 "How a model runs its plugin unless its model.json says (\"isolation\"):\n"
                 "process (a runner process per model; a crash ends only that model) or\n"
                 "none (inside hostd; fastest). Also $MODELHOST_DEFAULT_ISOLATION.")
      ->envname("MODELHOST_DEFAULT_ISOLATION")
      ->capture_default_str()
      ->check(CLI::IsMember({"process", "none"}));
  app.add_option("--http-threads", config.http_threads, "Threads serving HTTP connections.")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  app.add_option("--worker-threads", config.worker_threads,
                 "Threads that call into plugins (predict); init, cleanup and sync run on a\n"
                 "pool of their own.")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));

  try {
    app.parse(argc, argv);
    config.listen = parse_listen_address(listen);
    if (!admin_listen.empty()) {
      config.admin_listen = parse_listen_address(admin_listen);
      if (config.admin_token.empty()) {
        throw CLI::ValidationError("--admin-listen",
                                   "needs --admin-token (or $MODELHOST_ADMIN_TOKEN)");
      }
    }
  } catch (const CLI::ParseError& error) {
    if (print_routes) return PrintRoutes{};
    return ExitNow{app.exit(error)};
  } catch (const std::invalid_argument& error) {
    std::cerr << "hostd: " << (admin_listen.empty() ? "--listen" : "--listen/--admin-listen")
              << ": " << error.what() << "\n";
    return ExitNow{2};
  }
  config.admin_socket = admin_socket.empty() ? default_admin_socket() : fs::path(admin_socket);
  const char* socket_env = std::getenv("MODELHOST_ADMIN_SOCKET");
  config.admin_socket_dir_is_default =
      admin_socket.empty() && (socket_env == nullptr || !*socket_env);
  config.header_timeout = std::chrono::milliseconds(header_ms);
  config.body_timeout = std::chrono::milliseconds(body_ms);
  config.write_timeout = std::chrono::milliseconds(write_ms);
  config.drain_timeout = std::chrono::milliseconds(drain_ms);
  config.load_timeout = std::chrono::milliseconds(load_ms);
  return config;
}

namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

// A directory hostd treats as its own (the default admin socket's, e.g. /tmp/modelhost-$UID):
// one that someone else made, or that others may write to, could let them replace the socket.
void require_private_dir(const fs::path& dir, const std::string& flag) {
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) {
    throw ConfigError(flag + " " + dir.string() + ": cannot inspect it: " + errno_text(errno));
  }
  if (!S_ISDIR(info.st_mode)) {
    throw ConfigError(flag + " " + dir.string() + ": not a directory (a symbolic link?)");
  }
  if (info.st_uid != ::geteuid()) {
    throw ConfigError(flag + " " + dir.string() + ": owned by uid " + std::to_string(info.st_uid) +
                      ", not by this user (uid " + std::to_string(::geteuid()) +
                      "); remove it or pass --admin-socket");
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    throw ConfigError(flag + " " + dir.string() + ": writable by group or others (mode " + mode +
                      "); make it 0700 (chmod 700) or pass --admin-socket");
  }
}

// `private_dir`: created with mode 0700; `must_be_ours`: when it exists already, it must be
// ours and private (require_private_dir).
void require_writable_dir(const fs::path& dir, const std::string& flag, bool private_dir,
                          bool must_be_ours = false) {
  std::error_code error;
  if (!fs::exists(dir, error)) {
    fs::create_directories(dir, error);
    if (error) {
      throw ConfigError(flag + " " + dir.string() + ": cannot create it: " + error.message());
    }
    if (private_dir) fs::permissions(dir, fs::perms::owner_all, error);
  } else if (!fs::is_directory(dir, error)) {
    throw ConfigError(flag + " " + dir.string() + ": not a directory");
  } else if (must_be_ours) {
    require_private_dir(dir, flag);
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw ConfigError(flag + " " + dir.string() + ": not writable: " + errno_text(errno));
  }
}

}  // namespace

void prepare_directories(HostConfig& config) {
  std::error_code error;
  if (!fs::is_directory(config.models_dir, error)) {
    throw ConfigError(
        "--models-dir " + config.models_dir.string() +
        (fs::exists(config.models_dir, error) ? ": not a directory" : ": no such directory"));
  }
  if (::access(config.models_dir.c_str(), R_OK | X_OK) != 0) {
    throw ConfigError("--models-dir " + config.models_dir.string() +
                      ": not readable: " + errno_text(errno));
  }
  config.models_dir = fs::absolute(config.models_dir);
  require_writable_dir(config.cache_dir, "--cache-dir", false);
  config.cache_dir = fs::absolute(config.cache_dir);
  for (auto& dir : config.plugin_dirs) {
    if (!fs::is_directory(dir, error)) {
      throw ConfigError("--plugin-dir " + dir.string() + ": no such directory");
    }
    dir = fs::absolute(dir);
  }
  const fs::path socket_dir =
      config.admin_socket.parent_path().empty() ? fs::path(".") : config.admin_socket.parent_path();
  require_writable_dir(socket_dir, "--admin-socket", true, config.admin_socket_dir_is_default);
  // sockaddr_un holds 108 bytes with the terminating NUL.
  if (config.admin_socket.string().size() >= 108) {
    throw ConfigError("--admin-socket " + config.admin_socket.string() +
                      ": path too long for a Unix socket (107 bytes at most)");
  }
}

}  // namespace mh::host
