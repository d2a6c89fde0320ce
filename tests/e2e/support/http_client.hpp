#pragma once
// A small blocking HTTP/1.1 client for end-to-end tests (Boost.Beast), over TCP or a Unix
// socket, as a user's client would talk to hostd. One HttpClient is one keep-alive connection;
// it reconnects when the server closed it. Every call is bounded by a timeout and throws
// std::runtime_error on an I/O failure or a timeout.
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mh::e2e {

using namespace std::chrono_literals;

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::filesystem::path unix_socket;  // when set, the connection goes there instead

  static Endpoint tcp(std::string host, std::uint16_t port) { return {std::move(host), port, {}}; }
  static Endpoint unix_path(std::filesystem::path socket) { return {{}, 0, std::move(socket)}; }
  std::string describe() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  unsigned status = 0;
  Headers headers;  // as received; names lowercase
  std::string body;

  // The value of the first header called `name` (any case), "" when absent.
  std::string header(std::string_view name) const;
  // The body parsed as JSON; throws std::runtime_error (quoting the body) when it is not.
  boost::json::value json() const;
};

class HttpClient {
 public:
  explicit HttpClient(Endpoint endpoint);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // One request and its whole response. A body without a Content-Type header in `headers` is
  // sent as application/json. The request is written while the response is read, so a server
  // that answers early (413 from Content-Length) is seen even when it stops reading.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       const Headers& headers = {}, std::chrono::milliseconds timeout = 30s);
  HttpResponse get(std::string_view target, std::chrono::milliseconds timeout = 30s) {
    return request("GET", target, {}, {}, timeout);
  }
  HttpResponse post(std::string_view target, std::string_view json_body,
                    std::chrono::milliseconds timeout = 30s) {
    return request("POST", target, json_body, {}, timeout);
  }

  // Streaming: sends the request and reads the response header (returned with an empty body);
  // then next_event() yields the payload of each Server-Sent Event ("data: ..." lines) as it
  // arrives, and nullopt once the response ended. read_rest() reads what is left of the body.
  HttpResponse start_stream(std::string_view method, std::string_view target, std::string_view body,
                            const Headers& headers = {}, std::chrono::milliseconds timeout = 30s);
  std::optional<std::string> next_event(std::chrono::milliseconds timeout = 30s);
  std::string read_rest(std::chrono::milliseconds timeout = 30s);

  // Drops the connection (e.g. to play a client that goes away mid-request).
  void close();
  bool is_open() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A one-shot request on a fresh connection.
HttpResponse http_request(const Endpoint& endpoint, std::string_view method,
                          std::string_view target, std::string_view body = {},
                          const Headers& headers = {}, std::chrono::milliseconds timeout = 30s);

}  // namespace mh::e2e
