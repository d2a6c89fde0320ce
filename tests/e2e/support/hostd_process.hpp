#pragma once
// Starts a real hostd for an end-to-end test: a free loopback port, a temporary models
// directory, cache directory and admin socket, its log captured to a file. The constructor
// returns once GET /v2/health/live answers 200; stop() sends a signal and returns the exit
// code; the destructor kills a hostd that is still running and removes the temporary files.
//
//   mh::e2e::HostdProcess hostd;                       // empty models directory
//   mh::e2e::install_echo_model(hostd.models_dir(), "echo");
//   mh::e2e::AdminClient(hostd.admin()).reload();      // see admin_client.hpp
//   auto reply = mh::e2e::HttpClient(hostd.http()).post("/v1/models/echo/predict", "{}");
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mh::e2e {

// Paths of what the build made (compile definitions of the support library).
std::filesystem::path hostd_binary();      // MH_HOSTD_BINARY
std::filesystem::path echo_plugin();       // MH_ECHO_PLUGIN (libmh_echo.so, MODELHOST_VERSION)
std::filesystem::path echo_next_plugin();  // MH_ECHO_NEXT_PLUGIN (reports "2.0.0-next")

struct HostdOptions {
  std::filesystem::path binary = hostd_binary();
  // Empty: <temp>/models, created empty. Otherwise used as it is (not removed afterwards).
  std::filesystem::path models_dir;
  // Extra command-line arguments, e.g. {"--drain-timeout-ms", "2000"}.
  std::vector<std::string> extra_args;
  std::string log_level = "info";
  std::chrono::milliseconds start_timeout = std::chrono::seconds(15);
};

class HostdProcess {
 public:
  explicit HostdProcess(HostdOptions options = {});
  ~HostdProcess();
  HostdProcess(const HostdProcess&) = delete;
  HostdProcess& operator=(const HostdProcess&) = delete;

  Endpoint http() const { return Endpoint::tcp("127.0.0.1", port_); }
  Endpoint admin() const { return Endpoint::unix_path(admin_socket_); }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& models_dir() const { return models_dir_; }
  std::filesystem::path cache_dir() const { return temp_ / "cache"; }
  const std::filesystem::path& admin_socket() const { return admin_socket_; }
  const std::filesystem::path& log_path() const { return log_path_; }
  const std::filesystem::path& temp_dir() const { return temp_.path(); }

  // Everything hostd wrote to stdout and stderr so far.
  std::string log() const;
  // How many times `text` occurs in the log.
  std::size_t count_in_log(std::string_view text) const;
  // Waits until the log holds `text` at least `times` times; false on timeout.
  bool wait_for_log(std::string_view text, std::chrono::milliseconds timeout,
                    std::size_t times = 1) const;

  // Sends `signal` and waits for the exit. Returns the exit code, or 128 + signal number when
  // hostd died of a signal; throws when it did not exit within `timeout` (it is then killed).
  int stop(int signal = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits for hostd to exit by itself (after a signal sent earlier); returns as stop() does and
  // throws (after killing it) when it did not exit within `timeout`.
  int wait_for_exit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends a signal without waiting.
  void send_signal(int signal) const;
  // The exit status once hostd exited (as stop() reports it), nullopt while it runs.
  std::optional<int> poll_exit();
  bool running() { return !poll_exit().has_value(); }

 private:
  void launch(const HostdOptions& options);

  TempDir temp_;
  std::filesystem::path models_dir_;
  std::filesystem::path admin_socket_;
  std::filesystem::path log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// A loopback TCP port that was free a moment ago.
std::uint16_t find_free_port();

// Makes <models_dir>/<name>/ holding a copy of `plugin` (default: echo_plugin()) and
//   {"plugin": "<its file name>", "config": <config_json> <, extra_keys>}
// as model.json, both written atomically. `extra_keys` is JSON members without braces, e.g.
// "\"timeout_ms\": 200". Returns the model's directory.
std::filesystem::path install_echo_model(const std::filesystem::path& models_dir,
                                         const std::string& name,
                                         const std::string& config_json = "{}",
                                         const std::string& extra_keys = "",
                                         const std::filesystem::path& plugin = {});

// Writes `text` to `path` by a temporary file and a rename (what an operator's cp -a + mv
// does), so a reader never sees half of it.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);
void copy_file_atomically(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace mh::e2e
