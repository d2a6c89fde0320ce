#include "hardening_raw_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace mh::e2e {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
namespace fs = std::filesystem;

RawConnection::RawConnection(std::uint16_t port, bool read, int receive_buffer)
    : socket_(io_), scratch_(64 * 1024) {
  socket_.open(tcp::v4());
  if (receive_buffer > 0)
    socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
  socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  if (read) start_reading();
}

RawConnection::~RawConnection() {
  close();
}

void RawConnection::close() {
  error_code ignored;
  socket_.close(ignored);
  closed_ = true;
}

void RawConnection::start_reading() {
  if (reading_) return;
  reading_ = true;
  read_more();
}

void RawConnection::read_more() {
  socket_.async_read_some(asio::buffer(scratch_), [this](error_code error, std::size_t bytes) {
    received_.append(scratch_.data(), bytes);
    if (error) {
      closed_ = true;
      return;
    }
    read_more();
  });
}

template <typename Done>
bool RawConnection::run_until(Done done, std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  io_.restart();
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= give_up) return false;
    if (io_.run_one_for(std::min<std::chrono::steady_clock::duration>(
            give_up - now, std::chrono::milliseconds(50))) == 0) {
      io_.restart();  // nothing pending (or nothing happened): do not spin
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return true;
}

bool RawConnection::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (closed_) return false;
  bool written = false;
  bool failed = false;
  asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                    [&](error_code error, std::size_t) {
                      written = true;
                      failed = static_cast<bool>(error);
                    });
  if (!run_until([&] { return written; }, timeout)) {
    // Not taken in time: give up on it (the handler must run before `bytes` goes away).
    error_code ignored;
    socket_.cancel(ignored);
    run_until([&] { return written; }, std::chrono::seconds(5));
    return false;
  }
  return !failed;
}

std::size_t RawConnection::flood(char filler, std::size_t total,
                                 std::chrono::milliseconds timeout) {
  const std::string piece(64 * 1024, filler);
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  std::size_t sent = 0;
  while (sent < total && !closed_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (!send(piece, left)) break;
    sent += piece.size();
  }
  return sent;
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  start_reading();
  return run_until([&] { return closed_; }, timeout);
}

bool RawConnection::wait_for(std::string_view text, std::chrono::milliseconds timeout) {
  start_reading();
  return run_until([&] { return received_.find(text) != std::string::npos || closed_; }, timeout) &&
         received_.find(text) != std::string::npos;
}

std::size_t count_responses(std::string_view bytes) {
  std::size_t count = 0;
  for (std::size_t at = bytes.find("HTTP/1."); at != std::string_view::npos;
       at = bytes.find("HTTP/1.", at + 1)) {
    if (at == 0 || bytes[at - 1] == '\n') ++count;
  }
  return count;
}

std::size_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

int open_fds(pid_t pid) {
  std::error_code error;
  int count = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", error), end;
       !error && it != end; it.increment(error)) {
    ++count;
  }
  return error ? -1 : count;
}

ExitResult run_to_exit(const fs::path& binary, const std::vector<std::string>& args,
                       const std::vector<std::string>& env, const std::vector<std::string>& unset,
                       std::chrono::milliseconds timeout) {
  const fs::path out =
      fs::temp_directory_path() /
      ("mh-hardening-" + std::to_string(::getpid()) + "-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::vector<std::string> argv_text = {binary.string()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    bool drop = false;
    for (const auto& name : unset) drop = drop || text.rfind(name + "=", 0) == 0;
    for (const auto& added : env) {
      drop = drop || text.rfind(added.substr(0, added.find('=') + 1), 0) == 0;
    }
    if (!drop) env_text.emplace_back(text);
  }
  env_text.insert(env_text.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& entry : env_text) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ExitResult result;
  if (error != 0) return result;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream in(out);
  std::ostringstream text;
  text << in.rdbuf();
  result.output = text.str();
  std::error_code ignored;
  fs::remove(out, ignored);
  return result;
}

}  // namespace mh::e2e
