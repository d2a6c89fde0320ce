#include "admin_client.hpp"

#include <modelhost/version.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/system/errc.hpp>
#include <cstdint>
#include <utility>

#include "exit_codes.hpp"

namespace hostctl {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace errc = boost::system::errc;
using LocalStream = beast::basic_stream<net::local::stream_protocol>;

constexpr std::uint64_t kBodyLimit = std::uint64_t{1} << 30;
constexpr std::chrono::seconds kConnectTimeout{10};

// Runs one asynchronous operation on `ioc` to its end and returns its error. The stream's
// expiry (expires_after) turns a stall into beast::error::timeout, which is why the operations
// are asynchronous although hostctl waits for each.
template <typename Initiate>
beast::error_code run_to_completion(net::io_context& ioc, Initiate&& initiate) {
  beast::error_code result;
  std::forward<Initiate>(initiate)([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

std::string how_to_point(const AdminEndpoint& endpoint) {
  const std::string origin = endpoint.source == "the default"
                                 ? "hint: that is hostctl's default path"
                                 : std::string("hint: that ") +
                                       (endpoint.is_tcp() ? "URL" : "path") + " came from " +
                                       endpoint.source;
  return origin +
         ". Start hostd, or give hostctl the admin socket hostd uses: --admin-socket PATH or "
         "MODELHOST_ADMIN_SOCKET=PATH (for a TCP admin listener: --admin-url URL --admin-token "
         "TOKEN).";
}

[[noreturn]] void throw_unreachable(const AdminEndpoint& endpoint, beast::error_code ec) {
  std::string reason;
  if (ec == beast::error::timeout) {
    reason = "hostd did not answer at " + endpoint.describe() + " within " +
             std::to_string(kConnectTimeout.count()) + " s";
  } else if (endpoint.is_tcp()) {
    if (ec == errc::connection_refused) {
      reason = "hostd is not running: nothing listens at " + endpoint.describe();
    } else {
      reason = "cannot reach hostd at " + endpoint.describe() + ": " + ec.message();
    }
  } else if (ec == errc::no_such_file_or_directory) {
    reason = "hostd is not running: there is no admin socket at " + endpoint.socket_path;
  } else if (ec == errc::connection_refused) {
    reason = "hostd is not running: nothing accepts connections on " + endpoint.socket_path +
             " (a socket file left behind by a hostd that stopped)";
  } else if (ec == errc::permission_denied) {
    reason = "cannot reach hostd: permission denied on " + endpoint.socket_path +
             " (the admin socket is mode 0600: run hostctl as the user that runs hostd)";
  } else {
    reason = "cannot reach hostd at " + endpoint.describe() + ": " + ec.message();
  }
  throw HostdUnreachable(reason + "\n" + how_to_point(endpoint));
}

[[noreturn]] void throw_broken(const AdminEndpoint& endpoint, const char* during,
                               std::chrono::seconds timeout, beast::error_code ec) {
  if (ec == beast::error::timeout) {
    throw OperationFailed("no reply from hostd at " + endpoint.describe() + " within " +
                          std::to_string(timeout.count()) + " s while " + during);
  }
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset) {
    throw OperationFailed("hostd at " + endpoint.describe() + " closed the connection while " +
                          during + " (did it stop?)");
  }
  throw OperationFailed("the connection to hostd at " + endpoint.describe() + " broke while " +
                        during + ": " + ec.message());
}

http::request<http::string_body> make_request(const AdminEndpoint& endpoint, http::verb verb,
                                              std::string_view target, std::string body,
                                              std::string_view accept) {
  http::request<http::string_body> request{verb, target, 11};
  request.set(http::field::host,
              endpoint.is_tcp() ? endpoint.host + ":" + endpoint.port : std::string("localhost"));
  request.set(http::field::user_agent, "hostctl/" MODELHOST_VERSION);
  request.set(http::field::accept, accept);
  if (!endpoint.token.empty()) request.set(http::field::authorization, "Bearer " + endpoint.token);
  if (verb == http::verb::post) request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

// Writes the request and reads the reply. With `on_chunk`, a 2xx body goes to it as it
// arrives and `timeout` bounds each wait; otherwise `timeout` bounds the whole exchange.
template <typename Stream>
HttpReply exchange(net::io_context& ioc, Stream& stream, const AdminEndpoint& endpoint,
                   http::request<http::string_body>& request, std::chrono::seconds timeout,
                   const BodyChunkHandler* on_chunk) {
  stream.expires_after(timeout);
  if (auto ec = run_to_completion(
          ioc, [&](auto handler) { http::async_write(stream, request, std::move(handler)); })) {
    throw_broken(endpoint, "sending the request", timeout, ec);
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  if (auto ec = run_to_completion(ioc, [&](auto handler) {
        http::async_read_header(stream, buffer, parser, std::move(handler));
      })) {
    throw_broken(endpoint, "waiting for the reply", timeout, ec);
  }
  HttpReply reply;
  reply.status = parser.get().result_int();
  reply.content_type = std::string(parser.get()[http::field::content_type]);
  const bool streaming = on_chunk != nullptr && reply.ok();
  auto& body = parser.get().body();
  while (!parser.is_done()) {
    if (streaming) stream.expires_after(timeout);
    auto ec = run_to_completion(ioc, [&](auto handler) {
      http::async_read_some(stream, buffer, parser, std::move(handler));
    });
    if (ec) throw_broken(endpoint, "reading the reply", timeout, ec);
    // string_body appends at body.size(), so handing out and clearing between reads is safe.
    if (streaming && !body.empty()) {
      (*on_chunk)(reply, body);
      body.clear();
    }
  }
  if (!streaming) reply.body = std::move(body);
  beast::error_code ignored;
  stream.socket().shutdown(net::socket_base::shutdown_both, ignored);
  return reply;
}

HttpReply perform(const AdminEndpoint& endpoint, http::verb verb, std::string_view target,
                  std::string body, std::string_view accept, std::chrono::seconds timeout,
                  const BodyChunkHandler* on_chunk) {
  net::io_context ioc;
  auto request = make_request(endpoint, verb, target, std::move(body), accept);
  if (endpoint.is_tcp()) {
    net::ip::tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto addresses = resolver.resolve(endpoint.host, endpoint.port, ec);
    if (ec) throw_unreachable(endpoint, ec);
    beast::tcp_stream stream(ioc);
    stream.expires_after(kConnectTimeout);
    ec = run_to_completion(
        ioc, [&](auto handler) { stream.async_connect(addresses, std::move(handler)); });
    if (ec) throw_unreachable(endpoint, ec);
    return exchange(ioc, stream, endpoint, request, timeout, on_chunk);
  }
  net::local::stream_protocol::endpoint address;
  try {
    address = net::local::stream_protocol::endpoint(endpoint.socket_path);
  } catch (const boost::system::system_error& error) {  // e.g. a path over sun_path's 108 bytes
    throw_unreachable(endpoint, error.code());
  }
  LocalStream stream(ioc);
  stream.expires_after(kConnectTimeout);
  auto ec = run_to_completion(
      ioc, [&](auto handler) { stream.async_connect(address, std::move(handler)); });
  if (ec) throw_unreachable(endpoint, ec);
  return exchange(ioc, stream, endpoint, request, timeout, on_chunk);
}

}  // namespace

HttpReply AdminClient::get(std::string_view target, std::chrono::seconds timeout) {
  return perform(endpoint_, http::verb::get, target, {}, "application/json", timeout, nullptr);
}

HttpReply AdminClient::post_json(std::string_view target, std::string body,
                                 std::chrono::seconds timeout) {
  return perform(endpoint_, http::verb::post, target, std::move(body), "application/json", timeout,
                 nullptr);
}

HttpReply AdminClient::post_streaming(std::string_view target, std::string body,
                                      std::chrono::seconds idle_timeout,
                                      const BodyChunkHandler& on_chunk) {
  return perform(endpoint_, http::verb::post, target, std::move(body), "text/event-stream",
                 idle_timeout, &on_chunk);
}

std::string error_message(const HttpReply& reply) {
  const std::string status = "HTTP " + std::to_string(reply.status);
  boost::system::error_code ec;
  auto parsed = boost::json::parse(reply.body, ec);
  if (!ec && parsed.is_object()) {
    if (const auto* error = parsed.as_object().if_contains("error");
        error != nullptr && error->is_object()) {
      const auto& fields = error->as_object();
      std::string message = "(no message)";
      if (const auto* text = fields.if_contains("message"); text != nullptr && text->is_string())
        message = std::string(text->as_string());
      std::string suffix = status;
      if (const auto* type = fields.if_contains("type"); type != nullptr && type->is_string())
        suffix += ", " + std::string(type->as_string());
      return message + " (" + suffix + ")";
    }
  }
  std::string text = reply.body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  constexpr std::size_t kMaxShown = 500;
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text.empty() ? status : text + " (" + status + ")";
}

std::string encode_path_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace hostctl
