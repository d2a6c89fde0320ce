#pragma once
// HTTP/1.1 on Boost.Beast: listeners on TCP and on a Unix socket, one session per connection
// on a strand of its own, keep-alive, bodies bounded before they are read (413 from
// Content-Length), chunked streaming, and a watch on the socket while a request runs so that a
// client that disconnects is noticed (its request is then cancelled in the plugin).
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

struct ServerSettings {
  std::uint64_t max_body_bytes = 1u << 20;
  std::chrono::seconds read_timeout{60};  // for a request's head and body, and keep-alive idle
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, ServerSettings settings);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on `address` and serves each request through `handler`. Returns the bound address
  // (a port of 0 picks a free one). Throws std::runtime_error naming the address.
  ListenAddress listen_tcp(const ListenAddress& address, Listener kind, RequestHandler handler);
  // Listens on a Unix socket (mode 0600). A stale socket file is replaced; a live one (another
  // hostd answers there) is refused. Throws std::runtime_error naming the path.
  void listen_unix(const std::filesystem::path& path, RequestHandler handler);

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
