#pragma once
// Raw sockets for hostd's hardening tests (Boost.Asio): a client that writes exactly the bytes
// an attacker would (malformed heads, floods, pipelined bytes) and reads whatever comes back,
// every wait bounded; plus a look at a process's memory and a way to run hostd to its exit.
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mh::e2e {

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; `receive_buffer` > 0 shrinks the socket's receive buffer (a
  // client that reads slowly, or not at all). Reading starts at once unless `read` is false.
  explicit RawConnection(std::uint16_t port, bool read = true, int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes `bytes` (reading meanwhile); false when the server closed or reset the connection,
  // or `timeout` passed first.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Writes `total` bytes of `filler` in 64 KiB pieces until the server closes, an error, or
  // `timeout`; returns how many bytes went.
  std::size_t flood(char filler, std::size_t total, std::chrono::milliseconds timeout);
  // Starts reading (for a connection made with read = false).
  void start_reading();
  // Waits until the server closed the connection (true) or `timeout` passed (false).
  bool wait_closed(std::chrono::milliseconds timeout);
  // Waits until what was received contains `text`.
  bool wait_for(std::string_view text, std::chrono::milliseconds timeout);
  // Everything received so far.
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }
  // Drops the connection at once.
  void close();

 private:
  void read_more();
  template <typename Done>
  bool run_until(Done done, std::chrono::milliseconds timeout);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::vector<char> scratch_;
  std::string received_;
  bool reading_ = false;
  bool closed_ = false;
};

// How many status lines ("HTTP/1.x NNN ") are in `bytes`.
std::size_t count_responses(std::string_view bytes);

// A process's resident memory in KiB (VmRSS), 0 when it is gone.
std::size_t rss_kib(pid_t pid);
// How many file descriptors a process has open (-1 when it is gone).
int open_fds(pid_t pid);

struct ExitResult {
  int exit_code = -1;  // -1: it did not exit within the wait (it was killed)
  std::string output;
};
// Runs `binary args...` with `env` added to (and `unset` removed from) this environment, and
// waits at most `timeout` for it to exit.
ExitResult run_to_exit(const std::filesystem::path& binary, const std::vector<std::string>& args,
                       const std::vector<std::string>& env, const std::vector<std::string>& unset,
                       std::chrono::milliseconds timeout);

}  // namespace mh::e2e
