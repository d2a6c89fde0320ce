#include "support/hostd_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace mh::e2e {

namespace fs = std::filesystem;

fs::path hostd_binary() {
  return MH_HOSTD_BINARY;
}
fs::path echo_plugin() {
  return MH_ECHO_PLUGIN;
}
fs::path echo_next_plugin() {
  return MH_ECHO_NEXT_PLUGIN;
}

std::uint16_t find_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int error = errno;
    ::close(fd);
    throw std::system_error(error, std::generic_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

void write_file_atomically(const fs::path& path, std::string_view text) {
  fs::path temporary = path;
  temporary += ".tmp-e2e";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  fs::rename(temporary, path);
}

void copy_file_atomically(const fs::path& from, const fs::path& to) {
  fs::path temporary = to;
  temporary += ".tmp-e2e";
  fs::copy_file(from, temporary, fs::copy_options::overwrite_existing);
  fs::rename(temporary, to);
}

fs::path install_echo_model(const fs::path& models_dir, const std::string& name,
                            const std::string& config_json, const std::string& extra_keys,
                            const fs::path& plugin) {
  const fs::path source = plugin.empty() ? echo_plugin() : plugin;
  const fs::path dir = models_dir / name;
  fs::create_directories(dir);
  // The file keeps the name the manifest gives, whatever the build called it.
  copy_file_atomically(source, dir / "libmh_echo.so");
  std::string manifest = "{\"plugin\": \"libmh_echo.so\", \"config\": " + config_json;
  if (!extra_keys.empty()) manifest += ", " + extra_keys;
  manifest += "}\n";
  write_file_atomically(dir / "model.json", manifest);
  return dir;
}

HostdProcess::HostdProcess(HostdOptions options) : temp_("mh-e2e") {
  models_dir_ = options.models_dir.empty() ? temp_ / "models" : options.models_dir;
  fs::create_directories(models_dir_);
  fs::create_directories(cache_dir());
  admin_socket_ = temp_ / "admin.sock";
  for (int attempt = 0;; ++attempt) {
    launch(options);
    const auto give_up = std::chrono::steady_clock::now() + options.start_timeout;
    bool live = false;
    while (std::chrono::steady_clock::now() < give_up) {
      if (poll_exit()) break;
      try {
        if (http_request(http(), "GET", "/v2/health/live", {}, {}, 1s).status == 200) {
          live = true;
          break;
        }
      } catch (const std::exception&) {
        // not listening yet
      }
      std::this_thread::sleep_for(20ms);
    }
    if (live) return;
    const bool exited = poll_exit().has_value();
    if (!exited) stop(SIGKILL);
    const std::string text = log();
    // Another process took the port between find_free_port() and hostd's bind: try another.
    if (exited && attempt < 3 && text.find("in use") != std::string::npos) continue;
    throw std::runtime_error("hostd did not become live on port " + std::to_string(port_) +
                             (exited ? " (it exited)" : " (timeout)") + "; its log:\n" + text);
  }
}

void HostdProcess::launch(const HostdOptions& options) {
  port_ = find_free_port();
  log_path_ = temp_ / "hostd.log";
  exit_status_.reset();
  std::vector<std::string> args = {options.binary.string(),
                                   "--models-dir",
                                   models_dir_.string(),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port_),
                                   "--admin-socket",
                                   admin_socket_.string(),
                                   "--cache-dir",
                                   cache_dir().string(),
                                   "--log-level",
                                   options.log_level};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    pid_ = -1;
    throw std::system_error(error, std::generic_category(), "posix_spawn " + args[0]);
  }
}

HostdProcess::~HostdProcess() {
  if (pid_ > 0 && !poll_exit()) {
    try {
      stop(SIGKILL, 10s);
    } catch (...) {
    }
  }
}

std::string HostdProcess::log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t HostdProcess::count_in_log(std::string_view text) const {
  const std::string all = log();
  std::size_t count = 0;
  for (std::size_t at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) {
    ++count;
  }
  return count;
}

bool HostdProcess::wait_for_log(std::string_view text, std::chrono::milliseconds timeout,
                                std::size_t times) const {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (count_in_log(text) >= times) return true;
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(20ms);
  }
}

void HostdProcess::send_signal(int signal) const {
  if (pid_ > 0) ::kill(pid_, signal);
}

std::optional<int> HostdProcess::poll_exit() {
  if (exit_status_ || pid_ <= 0) return exit_status_;
  int status = 0;
  pid_t result = ::waitpid(pid_, &status, WNOHANG);
  if (result == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return exit_status_;
}

int HostdProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (auto status = poll_exit()) return *status;
  send_signal(signal);
  return wait_for_exit(timeout);
}

int HostdProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < give_up) {
    if (auto status = poll_exit()) return *status;
    std::this_thread::sleep_for(10ms);
  }
  send_signal(SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_status_ = 128 + SIGKILL;
  throw std::runtime_error("hostd did not exit within " + std::to_string(timeout.count()) +
                           " ms; killed it");
}

}  // namespace mh::e2e
