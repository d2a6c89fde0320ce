#include "http_connection.hpp"

#include "connection_exchange.hpp"
#include "http/error_mapping.hpp"
#include "http_wire_format.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>

namespace mh::host {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

std::uint64_t HttpServer::Shared::add(std::weak_ptr<ConnectionBase> connection) {
  std::lock_guard lock(mutex);
  connections.emplace(++next_id, std::move(connection));
  return next_id;
}

void HttpServer::Shared::remove(std::uint64_t id) {
  std::lock_guard lock(mutex);
  connections.erase(id);
}

std::vector<std::shared_ptr<ConnectionBase>> HttpServer::Shared::live() {
  std::vector<std::shared_ptr<ConnectionBase>> result;
  std::lock_guard lock(mutex);
  for (auto& [id, weak] : connections) {
    if (auto connection = weak.lock()) result.push_back(std::move(connection));
  }
  return result;
}

template <typename Socket>
Connection<Socket>::Connection(Socket socket, std::shared_ptr<HttpServer::Shared> shared,
                               Listener kind, std::shared_ptr<RequestHandler> handler)
    : socket_(std::move(socket)),
      shared_(std::move(shared)),
      kind_(kind),
      handler_(std::move(handler)),
      timer_(socket_.get_executor()) {}

template <typename Socket>
Connection<Socket>::~Connection() {
  shared_->remove(id_);
}

template <typename Socket>
void Connection<Socket>::start() {
  id_ = shared_->add(this->weak_from_this());
  asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->read_request(); });
}

template <typename Socket>
void Connection<Socket>::close_if_idle() {
  asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
    if (!self->busy_) {
      self->close();
    } else {
      self->keep_alive_ = false;
    }
  });
}

template <typename Socket>
void Connection<Socket>::close_now() {
  asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->close(); });
}

// --- the Exchange's operations ---

template <typename Socket>
void Connection<Socket>::reply(std::uint64_t seq, HttpReply reply) {
  if (closed_ || seq != seq_ || reply_started_) return;
  reply_started_ = true;
  reply_done_ = true;
  status_sent_ = reply.status;
  queue(whole_reply_bytes(reply, keep_alive_for_reply()));
}

template <typename Socket>
void Connection<Socket>::start_stream(std::uint64_t seq, unsigned status, std::string content_type,
                                      HttpHeaders headers) {
  if (closed_ || seq != seq_ || reply_started_) return;
  reply_started_ = true;
  streaming_ = true;
  status_sent_ = status;
  queue(stream_head_bytes(status, content_type, headers, keep_alive_for_reply()));
}

template <typename Socket>
void Connection<Socket>::write(std::uint64_t seq, std::string data) {
  if (closed_ || seq != seq_ || !streaming_ || reply_done_ || data.empty()) return;
  queue(chunk_bytes(data));
}

template <typename Socket>
void Connection<Socket>::end_stream(std::uint64_t seq) {
  if (closed_ || seq != seq_ || !streaming_ || reply_done_) return;
  reply_done_ = true;
  queue(std::string(kLastChunk));
}

template <typename Socket>
void Connection<Socket>::on_client_gone(std::uint64_t seq, std::function<void()> callback) {
  if (seq != seq_) return;
  if (closed_ && !reply_done_) {
    callback();  // it left before the route asked
    return;
  }
  if (exchange_finished_) return;
  gone_callbacks_.push_back(std::move(callback));
}

template <typename Socket>
void Connection<Socket>::on_complete(std::uint64_t seq, std::function<void(unsigned)> callback) {
  if (seq != seq_) return;
  if (exchange_finished_ || closed_) {
    callback(reply_done_ ? status_sent_ : 0);
    return;
  }
  complete_callbacks_.push_back(std::move(callback));
}

// Whether the reply about to go out keeps the connection open (not once shutdown began).
template <typename Socket>
bool Connection<Socket>::keep_alive_for_reply() {
  if (shared_->stopping.load()) keep_alive_ = false;
  return keep_alive_;
}

// --- reading requests ---

template <typename Socket>
void Connection<Socket>::read_request() {
  if (closed_) return;
  if (shared_->stopping.load()) {
    close();
    return;
  }
  busy_ = false;
  parser_.emplace();
  parser_->body_limit(shared_->settings.max_body_bytes);
  parser_->header_limit(64 * 1024);
  arm_timer(shared_->settings.read_timeout);
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = this->shared_from_this()](error_code error, std::size_t) { self->on_header(error); });
}

template <typename Socket>
void Connection<Socket>::on_header(error_code error) {
  if (closed_) return;
  if (error == http::error::body_limit) {
    // Beast compares Content-Length with the limit as soon as the head is parsed, so a body
    // that is too large is refused before a byte of it is read.
    reject_body_too_large();
    return;
  }
  if (error) {
    if (error == http::error::header_limit) {
      fail_request(431, "request header fields too large");
    } else if (error == http::error::end_of_stream || error == asio::error::eof ||
               error == asio::error::connection_reset || error == asio::error::operation_aborted) {
      close();
    } else {
      fail_request(400, "malformed HTTP request: " + error.message());
    }
    return;
  }
  busy_ = true;
  const auto& message = parser_->get();
  keep_alive_ = message.keep_alive();
  if (boost::beast::iequals(message[http::field::expect], "100-continue")) {
    queue(std::string(kContinue));
  }
  http::async_read(
      socket_, buffer_, *parser_,
      [self = this->shared_from_this()](error_code error, std::size_t) { self->on_body(error); });
}

// 413, then the connection closes (after lingering: the rest of the body is unread).
template <typename Socket>
void Connection<Socket>::reject_body_too_large() {
  linger_ = true;
  fail_request(413, "the request body is over the limit of " +
                        std::to_string(shared_->settings.max_body_bytes) +
                        " bytes (--max-body-bytes)");
}

template <typename Socket>
void Connection<Socket>::on_body(error_code error) {
  if (closed_) return;
  cancel_timer();
  if (error == http::error::body_limit) {  // a chunked body grew past the limit
    reject_body_too_large();
    return;
  }
  if (error) {
    close();
    return;
  }
  auto message = parser_->release();
  HttpRequest request;
  request.method = std::string(message.method_string());
  const std::string_view target = message.target();
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  request.content_type = std::string(message[http::field::content_type]);
  request.accept = std::string(message[http::field::accept]);
  request.authorization = std::string(message[http::field::authorization]);
  request.body = std::move(message.body());
  request.listener = kind_;
  begin_exchange();
  start_watch();
  (*handler_)(std::move(request),
              std::make_shared<ConnectionExchange<Socket>>(this->shared_from_this(), seq_));
}

template <typename Socket>
void Connection<Socket>::begin_exchange() {
  ++seq_;
  reply_started_ = reply_done_ = streaming_ = exchange_finished_ = false;
  status_sent_ = 0;
  gone_callbacks_.clear();
  complete_callbacks_.clear();
}

// An error found before the request could be handed to a route: answer and close.
template <typename Socket>
void Connection<Socket>::fail_request(unsigned status, const std::string& message) {
  begin_exchange();
  busy_ = true;
  keep_alive_ = false;
  reply(seq_, HttpReply{status, "application/json", error_json(status, message), {}});
}

// --- the watch on the socket while a request runs: EOF or an error means the client left ---

template <typename Socket>
void Connection<Socket>::start_watch() {
  if (watching_ || closed_) return;
  watching_ = true;
  socket_.async_read_some(buffer_.prepare(4096),
                          [self = this->shared_from_this()](error_code error, std::size_t bytes) {
                            self->on_watch(error, bytes);
                          });
}

template <typename Socket>
void Connection<Socket>::on_watch(error_code error, std::size_t bytes) {
  watching_ = false;
  if (closed_) return;
  if (!error) {
    buffer_.commit(bytes);  // the next (pipelined) request: parsed after this one
    if (exchange_finished_) read_request();
    return;
  }
  if (error == asio::error::operation_aborted) {
    if (exchange_finished_) read_request();
    return;
  }
  close();  // the client is gone
}

// --- writing ---

template <typename Socket>
void Connection<Socket>::queue(std::string data) {
  outbox_.push_back(std::move(data));
  do_write();
}

template <typename Socket>
void Connection<Socket>::do_write() {
  if (writing_ || outbox_.empty() || closed_) return;
  writing_ = true;
  current_.clear();
  for (auto& piece : outbox_) current_ += piece;
  outbox_.clear();
  asio::async_write(
      socket_, asio::buffer(current_),
      [self = this->shared_from_this()](error_code error, std::size_t) { self->on_write(error); });
}

template <typename Socket>
void Connection<Socket>::on_write(error_code error) {
  writing_ = false;
  if (closed_) return;
  if (error) {
    close();
    return;
  }
  if (!outbox_.empty()) {
    do_write();
    return;
  }
  if (reply_done_ && !exchange_finished_) finish_exchange();
}

template <typename Socket>
void Connection<Socket>::finish_exchange() {
  exchange_finished_ = true;
  gone_callbacks_.clear();
  auto callbacks = std::move(complete_callbacks_);
  complete_callbacks_.clear();
  for (auto& callback : callbacks) callback(status_sent_);
  if (!keep_alive_ || shared_->stopping.load()) {
    graceful_close();
    return;
  }
  if (watching_) {
    error_code ignored;
    socket_.cancel(ignored);  // on_watch reads the next request
    return;
  }
  read_request();
}

// --- closing ---

// Closes after the reply went out. When the request's body was left unread, the rest is read
// and dropped for a moment first: closing with unread data makes the kernel send a reset, which
// can destroy the reply before the client read it.
template <typename Socket>
void Connection<Socket>::graceful_close() {
  error_code ignored;
  socket_.shutdown(Socket::shutdown_send, ignored);
  if (!linger_) {
    close();
    return;
  }
  arm_timer(std::chrono::seconds(2));
  drain();
}

template <typename Socket>
void Connection<Socket>::drain() {
  if (closed_) return;
  buffer_.clear();
  socket_.async_read_some(buffer_.prepare(64 * 1024),
                          [self = this->shared_from_this()](error_code error, std::size_t) {
                            if (error) {
                              self->close();
                            } else {
                              self->drain();
                            }
                          });
}

template <typename Socket>
void Connection<Socket>::arm_timer(std::chrono::steady_clock::duration duration) {
  const std::uint64_t seq = ++timer_seq_;
  timer_.expires_after(duration);
  timer_.async_wait([self = this->shared_from_this(), seq](error_code error) {
    if (error || seq != self->timer_seq_ || self->closed_) return;
    self->close();  // a client that sends nothing (or too slowly), or lingering ran out
  });
}

template <typename Socket>
void Connection<Socket>::cancel_timer() {
  ++timer_seq_;
  timer_.cancel();
}

template <typename Socket>
void Connection<Socket>::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  timer_.cancel();
  if (busy_ && !exchange_finished_) {
    auto gone = std::move(gone_callbacks_);
    gone_callbacks_.clear();
    for (auto& callback : gone) callback();
    auto complete = std::move(complete_callbacks_);
    complete_callbacks_.clear();
    for (auto& callback : complete) callback(reply_done_ ? status_sent_ : 0);
    exchange_finished_ = true;
  }
}

// The two socket types the server listens with.
template class Connection<asio::ip::tcp::socket>;
template class Connection<asio::local::stream_protocol::socket>;

}  // namespace mh::host
