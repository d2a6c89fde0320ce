#pragma once
// HTTP/1.1 on Boost.Beast: listeners on TCP and on a Unix socket, one session per connection
// on a strand of its own, keep-alive, bodies bounded before they are read (413 from
// Content-Length), chunked streaming with back-pressure, and a watch on the socket while a
// request runs so that a client that disconnects is noticed (its request is then cancelled in
// the plugin). Every buffer, wait and count is bounded (ServerSettings).
#include "config/host_config.hpp"
#include "http/http_exchange.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

namespace mh::host {

// Every bound of the HTTP layer (docs/limits.md lists each with its flag, its default and what
// happens at the bound). The first two members keep their places for aggregate initialisation.
struct ServerSettings {
  std::uint64_t max_body_bytes = 1u << 20;  // --max-body-bytes: 413
  // --header-timeout-ms: from the connection's start (or the previous reply) until the request
  // head is complete: idle keep-alive and slow heads (slowloris). 408 when part of a head came.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{60000};   // --body-timeout-ms: the whole body; 408
  std::chrono::milliseconds write_timeout{30000};  // --write-timeout-ms: no byte taken: closed
  std::size_t max_header_bytes = 16 * 1024;        // --max-header-bytes: 431 (chunk lines: 400)
  std::size_t max_stream_buffer_bytes = 1u << 20;  // --max-stream-buffer-bytes: write refused
  std::size_t max_connections = 1024;              // --max-connections: TCP, 503 and close
  std::size_t max_concurrent_bodies = 64;          // --max-concurrent-bodies (> 64 KiB): 503, close
};

// Connections of the admin Unix socket are counted apart (at most this many), so that hostctl
// still gets in while the TCP listeners are full.
inline constexpr std::size_t kMaxAdminSocketConnections = 64;

// What a connection's read buffer may hold beyond --max-header-bytes: one read's worth.
inline constexpr std::size_t kReadChunkBytes = 4096;
// After an error reply that leaves a body unread, the connection reads and drops at most this
// much (for at most kLingerTime) before closing, so that the close does not reset the reply away.
inline constexpr std::size_t kMaxLingerBytes = 1u << 20;
inline constexpr std::chrono::seconds kLingerTime{2};
// A request body up to this size is read without a --max-concurrent-bodies slot.
inline constexpr std::size_t kSmallBodyBytes = 64 * 1024;
// A connection's write buffer keeps at most this much capacity between replies (a stream's
// backlog or a large reply grows it for a while).
inline constexpr std::size_t kRetainedWriteBytes = 16 * 1024;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, ServerSettings settings);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on `address` and serves each request through `handler`. Returns the bound address
  // (a port of 0 picks a free one). Throws std::runtime_error naming the address.
  // `check` (optional) refuses requests at head time, before their bodies are read.
  ListenAddress listen_tcp(const ListenAddress& address, Listener kind, RequestHandler handler,
                           HeadCheck check = {});
  // Listens on a Unix socket (mode 0600). A stale socket (a socket file nobody listens on) is
  // replaced; a live one (another hostd answers there), and anything that is not a socket, is
  // refused. Throws std::runtime_error naming the path.
  void listen_unix(const std::filesystem::path& path, RequestHandler handler, HeadCheck check = {});

  // Shutdown, step one: closes the listeners and every idle connection; requests in progress
  // finish and their replies say "Connection: close". [thread: any]
  void stop_accepting();
  bool stopping() const noexcept;
  // Connections still open (after stop_accepting they close once their reply is out).
  std::size_t open_connections() const;
  // Closes every connection now (the end of shutdown). [thread: any]
  void close_all();

  // What the server shares with its connections (defined in http_connection.hpp).
  struct Shared;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::filesystem::path> unix_paths_;
};

}  // namespace mh::host
