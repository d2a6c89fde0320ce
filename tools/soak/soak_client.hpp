#pragma once
// The soak's HTTP client: one keep-alive connection to hostd's public listener, or one request
// to its admin socket. Every operation is bounded by a timeout (Beast's stream expiry), so a
// hostd that stops answering fails the soak instead of hanging it.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace mh::soak {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

struct Answer {
  unsigned status = 0;  // 0: no answer (error says why)
  std::string body;     // empty when only the head was read
  std::string error;    // an I/O error or timeout; empty when the exchange completed
  bool ok() const { return error.empty(); }
};

// How a reply is read. The default reads it whole at once.
struct ReadPace {
  std::size_t bytes_per_read = 0;      // > 0: a slow reader, this many bytes at a time...
  std::chrono::milliseconds pause{0};  // ...with this pause between reads
  bool head_only = false;              // read the head, then abandon the connection
};

class Connection {
 public:
  Connection(std::string host, std::uint16_t port, std::chrono::milliseconds timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `request` (connecting first when needed) and reads the reply as `pace` says. The
  // connection stays open for the next request unless the reply or an error closed it.
  Answer exchange(const Request& request, const ReadPace& pace = {});
  // Writes `bytes` on a fresh connection, then drops it without reading (an abandoned request).
  void send_and_abandon(std::string_view bytes);
  // Writes `bytes` on a fresh connection, half-closes, and reads until the server closes.
  Answer send_raw(std::string_view bytes);
  // Drops the connection with a reset (no TIME_WAIT on the client's side).
  void reset();

 private:
  bool connect(std::string& error, int receive_buffer = 0);

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  bool slow_socket_ = false;  // connected with a small receive buffer
};

// One request to the admin socket (docs/admin-api.md), on a connection of its own.
Answer admin_request(const std::filesystem::path& socket, boost::beast::http::verb method,
                     std::string_view target, std::string body, std::chrono::milliseconds timeout);

}  // namespace mh::soak
