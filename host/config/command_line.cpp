#include "config/command_line.hpp"

#include "config/effective_config.hpp"
#include "config_file_reader.hpp"

#include <unistd.h>

#include <modelhost/version.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

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

namespace {

constexpr const char* kConfigVariable = "MODELHOST_CONFIG";

bool environment_set(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr && *value != '\0';
}

// Whether argv holds `--flag VALUE` or `--flag=VALUE` (hostd has long options only).
bool given_on_command_line(int argc, const char* const* argv, const std::string& flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == flag || (arg.size() > flag.size() && arg.compare(0, flag.size(), flag) == 0 &&
                        arg[flag.size()] == '=')) {
      return true;
    }
  }
  return false;
}

// Every setting's key: the long name of each option that a file may set.
std::vector<std::string> setting_keys(const CLI::App& app) {
  std::vector<std::string> keys;
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_configurable() && !option->get_lnames().empty()) {
      keys.push_back(option->get_lnames().front());
    }
  }
  return keys;
}

SettingOrigins find_origins(const CLI::App& app, int argc, const char* const* argv,
                            const ConfigFileReader& reader) {
  SettingOrigins origins;
  if (reader.was_read()) origins.config_file = reader.file_name();
  for (const std::string& key : setting_keys(app)) {
    if (given_on_command_line(argc, argv, "--" + key)) {
      origins.by_key[key] = SettingSource::flag;
    } else if (environment_set(environment_variable_for(key))) {
      origins.by_key[key] = SettingSource::environment;
    } else if (reader.keys_read().count(key) != 0) {
      origins.by_key[key] = SettingSource::file;
    }
  }
  return origins;
}

// The setting a CLI11 error is about ("--log-level: Value loud not in ...", "Could not
// convert: --max-body-bytes = ten"); empty when it names none.
std::string key_in_message(const CLI::App& app, const std::string& message) {
  std::string best;
  for (const std::string& key : setting_keys(app)) {
    const std::string flag = "--" + key;
    for (auto at = message.find(flag); at != std::string::npos; at = message.find(flag, at + 1)) {
      const std::size_t end = at + flag.size();
      const bool whole =
          end == message.size() ||
          !(std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-');
      if (whole && key.size() > best.size()) best = key;
    }
  }
  return best;
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv) {
  HostConfig config;
  CLI::App app{
      "hostd: hosts ML models as native plugins and serves them over HTTP.\n"
      "Each subdirectory of --models-dir holding a model.json is a model; `hostctl reload`\n"
      "rescans it (new, changed and removed models load, swap and unload without downtime).\n"
      "Every flag can also be set in the environment (MODELHOST_<FLAG>, e.g.\n"
      "MODELHOST_CACHE_DIR) and in the --config file (TOML: cache-dir = \"/srv/cache\");\n"
      "a flag wins over the environment, which wins over the file."};
  app.set_version_flag("--version", "hostd " MODELHOST_VERSION)->configurable(false);
  app.set_help_flag("-h,--help", "Print this help message and exit")->configurable(false);
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
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "Print the effective settings (as a config file, each with where it came\n"
               "from: flag, environment, file or default) and exit; parsing errors fail.")
      ->configurable(false);
  const char* config_from_environment = std::getenv(kConfigVariable);
  const std::string default_config_file =
      config_from_environment != nullptr ? config_from_environment : "";
  auto reader = std::make_shared<ConfigFileReader>(app);
  app.config_formatter(reader);
  app.set_config("--config", default_config_file,
                 "Read settings from this TOML file (or $MODELHOST_CONFIG): `key = value`,\n"
                 "the keys being the flags without \"--\", e.g. models-dir = \"/srv/models\".")
      ->type_name("FILE");
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

  // Every setting has its variable: MODELHOST_<FLAG> (MODELHOST_ADMIN_SOCKET, MODELHOST_API_KEY
  // ... as before). CLI11 reads it when neither the flag nor the file set the value; the reader
  // drops file keys whose variable is set, so the environment wins over the file.
  for (CLI::Option* option : app.get_options()) {
    if (option->get_configurable() && !option->get_lnames().empty()) {
      option->envname(environment_variable_for(option->get_lnames().front()));
    }
  }

  // CLI11 skips a default config file that is missing; one named by $MODELHOST_CONFIG must be
  // there, as one named by --config must.
  if (!default_config_file.empty() && !given_on_command_line(argc, argv, "--config")) {
    std::error_code error;
    if (!fs::is_regular_file(default_config_file, error)) {
      std::cerr << "hostd: $" << kConfigVariable << "=" << default_config_file
                << ": no such file\n";
      return ExitNow{2};
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (print_routes) return PrintRoutes{};
    const std::string key = error.get_exit_code() == 0 ? "" : key_in_message(app, error.what());
    const SettingOrigins origins = find_origins(app, argc, argv, *reader);
    const SettingSource source = key.empty() ? SettingSource::flag : origins.source_of(key);
    if (source != SettingSource::environment && source != SettingSource::file) {
      return ExitNow{app.exit(error)};
    }
    // A value from the environment or the file: say which, not only which flag.
    std::string reason = error.what();
    if (reason.rfind("--" + key + ": ", 0) == 0) reason.erase(0, key.size() + 4);
    std::cerr << "hostd: " << origins.describe(key) << ": " << reason << "\n";
    return ExitNow{error.get_exit_code()};
  }
  config.origins = find_origins(app, argc, argv, *reader);
  try {
    config.listen = parse_listen_address(listen);
  } catch (const std::invalid_argument& error) {
    std::cerr << "hostd: " << config.origins.describe("listen") << ": " << error.what() << "\n";
    return ExitNow{2};
  }
  if (!admin_listen.empty()) {
    try {
      config.admin_listen = parse_listen_address(admin_listen);
    } catch (const std::invalid_argument& error) {
      std::cerr << "hostd: " << config.origins.describe("admin-listen") << ": " << error.what()
                << "\n";
      return ExitNow{2};
    }
    if (config.admin_token.empty()) {
      std::cerr << "hostd: " << config.origins.describe("admin-listen")
                << ": needs --admin-token (or $MODELHOST_ADMIN_TOKEN)\n";
      return ExitNow{2};
    }
  }
  config.admin_socket = admin_socket.empty() ? default_admin_socket() : fs::path(admin_socket);
  config.admin_socket_dir_is_default =
      admin_socket.empty() &&
      config.origins.source_of("admin-socket") == SettingSource::default_value;
  config.header_timeout = std::chrono::milliseconds(header_ms);
  config.body_timeout = std::chrono::milliseconds(body_ms);
  config.write_timeout = std::chrono::milliseconds(write_ms);
  config.drain_timeout = std::chrono::milliseconds(drain_ms);
  config.load_timeout = std::chrono::milliseconds(load_ms);
  if (print_config) return PrintConfig{format_effective_config(config)};
  return config;
}

}  // namespace mh::host
