#include "model_hostd.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mh::bench {

namespace fs = std::filesystem;
namespace http = boost::beast::http;

namespace {

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

unsigned get_status(std::uint16_t port, const std::string& target) {
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    boost::asio::ip::tcp::resolver resolver(io);
    boost::asio::connect(socket, resolver.resolve("127.0.0.1", std::to_string(port)));
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response.result_int();
  } catch (const std::exception&) {
    return 0;
  }
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts `args` with stdout and stderr in `log`.
pid_t spawn_logged(std::vector<std::string> args, const fs::path& log) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw std::runtime_error("cannot start " + args[0]);
  return pid;
}

}  // namespace

void run_to_completion(const std::vector<std::string>& argv, const fs::path& log) {
  const pid_t pid = spawn_logged(argv, log);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed; its output:\n" + read_text(log));
  }
}

ModelHostd::ModelHostd(const ModelHostdSpec& spec) {
  char pattern[] = "/tmp/mh-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  const fs::path model_dir = dir_ / "models" / spec.model;
  fs::create_directories(model_dir);
  fs::copy_file(spec.plugin, model_dir / spec.plugin.filename());
  std::ofstream(model_dir / "model.json") << spec.manifest_json;
  port_ = free_port();
  std::vector<std::string> args = {spec.hostd.string(),
                                   "--models-dir",
                                   (dir_ / "models").string(),
                                   "--cache-dir",
                                   (dir_ / "cache").string(),
                                   "--admin-socket",
                                   (dir_ / "admin.sock").string(),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port_),
                                   "--log-level",
                                   "warn"};
  args.insert(args.end(), spec.extra_args.begin(), spec.extra_args.end());
  const fs::path log = dir_ / "hostd.log";
  pid_ = spawn_logged(args, log);
  const auto give_up = std::chrono::steady_clock::now() + spec.ready_timeout;
  while (get_status(port_, "/v2/models/" + spec.model + "/ready") != 200) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("hostd exited; its log:\n" + read_text(log));
    }
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      throw std::runtime_error("hostd did not serve " + spec.model + " within " +
                               std::to_string(spec.ready_timeout.count()) + " s; its log:\n" +
                               read_text(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ModelHostd::~ModelHostd() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

}  // namespace mh::bench
