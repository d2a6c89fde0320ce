#include "support/http_client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <cctype>
#include <stdexcept>

namespace mh::e2e {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

constexpr std::uint64_t kBodyLimit = 512ull << 20;

HttpResponse to_response(const http::response<http::string_body>& message) {
  HttpResponse response;
  response.status = message.result_int();
  for (const auto& field : message) {
    response.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
  }
  response.body = message.body();
  return response;
}

}  // namespace

std::string Endpoint::describe() const {
  if (!unix_socket.empty()) return "unix:" + unix_socket.string();
  return host + ":" + std::to_string(port);
}

std::string HttpResponse::header(std::string_view name) const {
  const std::string wanted = lowercase(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return {};
}

boost::json::value HttpResponse::json() const {
  error_code error;
  auto value = boost::json::parse(body, error);
  if (error) {
    throw std::runtime_error("response (HTTP " + std::to_string(status) +
                             ") is not JSON: " + body.substr(0, 400));
  }
  return value;
}

struct HttpClient::Impl {
  Endpoint endpoint;
  asio::io_context io;
  std::optional<asio::ip::tcp::socket> tcp;
  std::optional<asio::local::stream_protocol::socket> local;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> stream;
  std::size_t stream_consumed = 0;
  bool stream_failed = false;

  explicit Impl(Endpoint e) : endpoint(std::move(e)) {}

  bool open() const { return (tcp && tcp->is_open()) || (local && local->is_open()); }

  template <typename F>
  decltype(auto) with_socket(F&& f) {
    if (local) return f(*local);
    return f(*tcp);
  }

  void close() {
    error_code ignored;
    if (tcp) tcp->close(ignored);
    if (local) local->close(ignored);
    tcp.reset();
    local.reset();
    buffer.clear();
    stream.reset();
  }

  // Runs the io_context until its work is done; past `timeout` closes the connection, lets
  // the aborted handlers run, and throws.
  void run(std::chrono::milliseconds timeout, std::string_view what) {
    io.restart();
    io.run_for(timeout);
    if (!io.stopped()) {
      close();
      io.restart();
      io.run();
      throw std::runtime_error(std::string(what) + " to " + endpoint.describe() +
                               ": timed out after " + std::to_string(timeout.count()) + " ms");
    }
  }

  void connect(std::chrono::milliseconds timeout) {
    if (open()) return;
    close();
    error_code result = asio::error::would_block;
    if (!endpoint.unix_socket.empty()) {
      local.emplace(io);
      local->async_connect(asio::local::stream_protocol::endpoint(endpoint.unix_socket.string()),
                           [&](error_code e) { result = e; });
    } else {
      tcp.emplace(io);
      asio::ip::tcp::resolver resolver(io);
      auto endpoints = resolver.resolve(endpoint.host, std::to_string(endpoint.port), result);
      if (result)
        throw std::runtime_error("resolve " + endpoint.describe() + ": " + result.message());
      result = asio::error::would_block;
      asio::async_connect(*tcp, endpoints, [&](error_code e, const auto&) { result = e; });
    }
    run(timeout, "connect");
    if (result) {
      close();
      throw std::runtime_error("connect to " + endpoint.describe() + ": " + result.message());
    }
  }

  http::request<http::string_body> make_request(std::string_view method, std::string_view target,
                                                std::string_view body, const Headers& headers) {
    http::request<http::string_body> request;
    request.method_string(method);
    request.target(target);
    request.version(11);
    request.set(http::field::host,
                endpoint.unix_socket.empty() ? endpoint.describe() : "localhost");
    request.set(http::field::user_agent, "modelhost-e2e");
    bool has_content_type = false;
    for (const auto& [name, value] : headers) {
      request.set(name, value);
      if (lowercase(name) == "content-type") has_content_type = true;
    }
    if (!body.empty() && !has_content_type)
      request.set(http::field::content_type, "application/json");
    request.body() = std::string(body);
    if (!body.empty() || method == "POST" || method == "PUT") request.prepare_payload();
    return request;
  }

  // Writes `request` while reading the response (header only when `header_only`).
  // Returns the read's error; the write's error matters only when nothing was read.
  error_code exchange(http::request<http::string_body>& request,
                      http::response_parser<http::string_body>& parser, bool header_only,
                      std::chrono::milliseconds timeout, bool& wrote_all) {
    error_code write_error = asio::error::would_block;
    error_code read_error = asio::error::would_block;
    bool read_done = false;
    with_socket([&](auto& socket) {
      http::async_write(socket, request, [&](error_code e, std::size_t) {
        write_error = e;
        // The server closed its side before taking the whole request: the read reports what
        // it answered, if anything.
      });
      auto on_read = [&, s = &socket](error_code e, std::size_t) {
        read_error = e;
        read_done = true;
        if (write_error == asio::error::would_block) {
          error_code ignored;
          s->cancel(ignored);  // the server answered early; stop sending the rest
        }
      };
      if (header_only) {
        http::async_read_header(socket, buffer, parser, on_read);
      } else {
        http::async_read(socket, buffer, parser, on_read);
      }
    });
    run(timeout, "HTTP exchange");
    wrote_all = !write_error;
    if (!read_done) return asio::error::operation_aborted;
    return read_error;
  }

  HttpResponse request(std::string_view method, std::string_view target, std::string_view body,
                       const Headers& headers, std::chrono::milliseconds timeout,
                       bool header_only) {
    for (int attempt = 0;; ++attempt) {
      const bool reused = open();
      connect(timeout);
      auto message = make_request(method, target, body, headers);
      stream.reset();
      stream.emplace();
      stream->body_limit(kBodyLimit);
      bool wrote_all = false;
      error_code error = exchange(message, *stream, header_only, timeout, wrote_all);
      if (error && reused && attempt == 0 && !stream->got_some()) {
        close();  // the server had closed the idle keep-alive connection: try a fresh one
        continue;
      }
      if (error) {
        close();
        throw std::runtime_error(std::string(method) + " " + std::string(target) + " on " +
                                 endpoint.describe() + ": " + error.message());
      }
      HttpResponse response = to_response(stream->get());
      if (!header_only) {
        if (!stream->get().keep_alive() || !wrote_all) close();
        stream.reset();
      } else {
        stream_consumed = 0;
        stream_failed = false;
      }
      return response;
    }
  }

  // Reads more of the streamed body; false when it ended or failed.
  bool read_more(std::chrono::milliseconds timeout) {
    if (!stream || stream->is_done() || stream_failed) return false;
    error_code result = asio::error::would_block;
    with_socket([&](auto& socket) {
      http::async_read_some(socket, buffer, *stream,
                            [&](error_code e, std::size_t) { result = e; });
    });
    run(timeout, "reading a stream");
    if (result) {
      stream_failed = true;
      return false;
    }
    return true;
  }
};

HttpClient::HttpClient(Endpoint endpoint) : impl_(std::make_unique<Impl>(std::move(endpoint))) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 std::string_view body, const Headers& headers,
                                 std::chrono::milliseconds timeout) {
  return impl_->request(method, target, body, headers, timeout, false);
}

HttpResponse HttpClient::start_stream(std::string_view method, std::string_view target,
                                      std::string_view body, const Headers& headers,
                                      std::chrono::milliseconds timeout) {
  return impl_->request(method, target, body, headers, timeout, true);
}

std::optional<std::string> HttpClient::next_event(std::chrono::milliseconds timeout) {
  if (!impl_->stream) return std::nullopt;
  for (;;) {
    const std::string& body = impl_->stream->get().body();
    // Events end with a blank line; accept both \n\n and \r\n\r\n.
    std::size_t end = body.find("\n\n", impl_->stream_consumed);
    std::size_t crlf = body.find("\r\n\r\n", impl_->stream_consumed);
    std::size_t separator = 2;
    if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
      end = crlf;
      separator = 4;
    }
    if (end != std::string::npos) {
      std::string block = body.substr(impl_->stream_consumed, end - impl_->stream_consumed);
      impl_->stream_consumed = end + separator;
      std::string data;
      bool has_data = false;
      std::size_t start = 0;
      while (start <= block.size()) {
        std::size_t line_end = block.find('\n', start);
        if (line_end == std::string::npos) line_end = block.size();
        std::string line = block.substr(start, line_end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("data:", 0) == 0) {
          std::string value = line.substr(5);
          if (!value.empty() && value.front() == ' ') value.erase(0, 1);
          if (has_data) data += '\n';
          data += value;
          has_data = true;
        }
        start = line_end + 1;
      }
      if (has_data) return data;
      continue;  // a comment or an event without data
    }
    if (!impl_->read_more(timeout)) {
      if (impl_->stream && impl_->stream->is_done() && !impl_->stream->get().keep_alive()) {
        impl_->close();
      }
      return std::nullopt;
    }
  }
}

std::string HttpClient::read_rest(std::chrono::milliseconds timeout) {
  if (!impl_->stream) return {};
  while (impl_->read_more(timeout)) {
  }
  std::string rest = impl_->stream->get().body().substr(
      std::min(impl_->stream_consumed, impl_->stream->get().body().size()));
  impl_->stream_consumed = impl_->stream->get().body().size();
  return rest;
}

void HttpClient::close() {
  impl_->close();
}
bool HttpClient::is_open() const {
  return impl_->open();
}

HttpResponse http_request(const Endpoint& endpoint, std::string_view method,
                          std::string_view target, std::string_view body, const Headers& headers,
                          std::chrono::milliseconds timeout) {
  HttpClient client(endpoint);
  return client.request(method, target, body, headers, timeout);
}

}  // namespace mh::e2e
