#include "soak_client.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <thread>

namespace mh::soak {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;

namespace {

// Runs one asynchronous operation to its end on `io` (the stream's expiry bounds it).
template <class Start>
error_code run(asio::io_context& io, Start start) {
  error_code result = asio::error::would_block;
  start([&result](error_code error, auto&&...) { result = error; });
  io.restart();
  io.run();
  return result;
}

template <class Stream>
Answer read_reply(asio::io_context& io, Stream& stream, beast::flat_buffer& buffer,
                  std::chrono::milliseconds timeout, const ReadPace& pace) {
  Answer answer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  stream.expires_after(timeout);
  error_code error = run(io, [&](auto handler) {
    http::async_read_header(stream, buffer, parser, std::move(handler));
  });
  if (error) {
    answer.error = "reading the head: " + error.message();
    return answer;
  }
  answer.status = parser.get().result_int();
  if (pace.head_only) return answer;
  while (!parser.is_done()) {
    stream.expires_after(timeout);
    if (pace.bytes_per_read > 0) {  // `buffer` is small: each read takes little
      error = run(io, [&](auto handler) {
        http::async_read_some(stream, buffer, parser, std::move(handler));
      });
      std::this_thread::sleep_for(pace.pause);
    } else {
      error = run(
          io, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
    }
    if (error) break;
  }
  if (error) {
    answer.error = "reading the body: " + error.message();
    return answer;
  }
  answer.body = std::move(parser.get().body());
  return answer;
}

}  // namespace

Connection::Connection(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout), stream_(io_) {}

Connection::~Connection() {
  reset();
}

bool Connection::connect(std::string& error, int receive_buffer) {
  reset();
  error_code code;
  const auto address = asio::ip::make_address(host_, code);
  if (code) {
    error = "bad address " + host_;
    return false;
  }
  stream_.socket().open(address.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), code);
  if (!code && receive_buffer > 0) {
    stream_.socket().set_option(asio::socket_base::receive_buffer_size(receive_buffer), code);
  }
  if (code) {
    error = "socket: " + code.message();
    return false;
  }
  stream_.expires_after(timeout_);
  code = run(io_, [&](auto handler) {
    stream_.async_connect(asio::ip::tcp::endpoint(address, port_), std::move(handler));
  });
  if (code) {
    error = "connect: " + code.message();
    return false;
  }
  connected_ = true;
  slow_socket_ = receive_buffer > 0;
  return true;
}

void Connection::reset() {
  if (!stream_.socket().is_open()) return;
  error_code ignored;
  stream_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
  stream_.socket().close(ignored);
  buffer_.clear();
  connected_ = false;
}

Answer Connection::exchange(const Request& request, const ReadPace& pace) {
  Answer answer;
  // A slow reader gets a connection with a small receive buffer, so hostd's writes back up.
  const bool slow = pace.bytes_per_read > 0;
  if (!connected_ || slow != slow_socket_) {
    if (!connect(answer.error, slow ? 4096 : 0)) return answer;
  }
  stream_.expires_after(timeout_);
  error_code error = run(io_, [&](auto handler) {
    http::async_write(stream_, const_cast<Request&>(request), std::move(handler));
  });
  if (error) {
    answer.error = "writing: " + error.message();
    reset();
    return answer;
  }
  if (slow) {
    beast::flat_buffer small(std::max<std::size_t>(pace.bytes_per_read, 2048));
    answer = read_reply(io_, stream_, small, timeout_, pace);
  } else {
    answer = read_reply(io_, stream_, buffer_, timeout_, pace);
  }
  if (!answer.ok() || pace.head_only || slow) reset();
  return answer;
}

void Connection::send_and_abandon(std::string_view bytes) {
  std::string error;
  if (!connect(error)) return;
  stream_.expires_after(timeout_);
  run(io_, [&](auto handler) {
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
  });
  reset();
}

Answer Connection::send_raw(std::string_view bytes) {
  Answer answer;
  if (!connect(answer.error)) return answer;
  stream_.expires_after(timeout_);
  error_code error = run(io_, [&](auto handler) {
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
  });
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, error);
  answer = read_reply(io_, stream_, buffer_, timeout_, ReadPace{});
  reset();
  return answer;
}

Answer admin_request(const std::filesystem::path& socket, http::verb method,
                     std::string_view target, std::string body, std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::basic_stream<asio::local::stream_protocol> stream(io);
  beast::flat_buffer buffer;
  Answer answer;
  stream.expires_after(timeout);
  error_code error = run(io, [&](auto handler) {
    stream.async_connect(asio::local::stream_protocol::endpoint(socket.string()),
                         std::move(handler));
  });
  if (error) {
    answer.error = "connecting to " + socket.string() + ": " + error.message();
    return answer;
  }
  Request request(method, std::string(target), 11);
  request.set(http::field::host, "localhost");
  request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  stream.expires_after(timeout);
  error = run(io, [&](auto handler) { http::async_write(stream, request, std::move(handler)); });
  if (error) {
    answer.error = "writing to " + socket.string() + ": " + error.message();
    return answer;
  }
  return read_reply(io, stream, buffer, timeout, ReadPace{});
}

}  // namespace mh::soak
