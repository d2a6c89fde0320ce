#include "http_connection.hpp"

#include "connection_exchange.hpp"
#include "http/error_mapping.hpp"
#include "http/replies.hpp"
#include "http_wire_format.hpp"
#include "request_head.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>

namespace mh::host {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

template <typename Socket>
Connection<Socket>::Connection(Socket socket, std::shared_ptr<HttpServer::Shared> shared,
                               Listener kind, std::shared_ptr<const ListenerHandlers> handlers)
    : socket_(std::move(socket)),
      shared_(std::move(shared)),
      kind_(kind),
      handlers_(std::move(handlers)),
      timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      buffer_(shared_->settings.max_header_bytes + kReadChunkBytes),
      budget_(std::make_shared<StreamBudget>(shared_->settings.max_stream_buffer_bytes)) {}

template <typename Socket>
Connection<Socket>::~Connection() {
  shared_->remove(id_);
  if (holds_body_slot_) shared_->bodies_in_flight.fetch_sub(1);
  (kind_ == Listener::admin_socket ? shared_->admin_connections : shared_->tcp_connections)
      .fetch_sub(1);
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
  // HTTP/1.0 has no chunked encoding: the stream is the rest of the connection.
  close_delimited_ = http10_;
  if (close_delimited_) keep_alive_ = false;
  queue(
      stream_head_bytes(status, content_type, headers, keep_alive_for_reply(), !close_delimited_));
}

template <typename Socket>
void Connection<Socket>::write(std::uint64_t seq, std::string data, std::size_t reserved) {
  if (closed_ || seq != seq_ || !streaming_ || reply_done_ || data.empty()) {
    if (seq == seq_) budget_->release(reserved);
    return;
  }
  queue(close_delimited_ ? std::move(data) : chunk_bytes(data), reserved);
}

template <typename Socket>
void Connection<Socket>::end_stream(std::uint64_t seq) {
  if (closed_ || seq != seq_ || !streaming_ || reply_done_) return;
  reply_done_ = true;
  if (close_delimited_) {
    if (!writing_ && outbox_.empty()) finish_exchange();  // else on_write finishes
    return;
  }
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
  read_timed_out_ = false;
  parser_.emplace();
  parser_->body_limit(shared_->settings.max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(shared_->settings.max_header_bytes));
  arm_timer(shared_->settings.header_timeout, OnTimeout::answer_408);
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
    const auto limit = std::to_string(shared_->settings.max_header_bytes);
    if (error == asio::error::operation_aborted && read_timed_out_) {
      // Part of a head came (slowloris): 408. Nothing at all: an idle keep-alive, closed.
      if (parser_->got_some() || buffer_.size() > 0) {
        fail_request(408, "the request head did not arrive within " +
                              std::to_string(shared_->settings.header_timeout.count()) +
                              " ms (--header-timeout-ms)");
      } else {
        close();
      }
    } else if (error == http::error::header_limit || error == http::error::buffer_overflow) {
      fail_request(
          431, "request header fields too large: over " + limit + " bytes (--max-header-bytes)");
    } else if (error == http::error::end_of_stream || error == asio::error::eof ||
               error == asio::error::connection_reset || error == asio::error::operation_aborted) {
      close();
    } else {
      fail_request(400, "malformed HTTP request: " + error.message());
    }
    return;
  }
  busy_ = true;
  cancel_timer();
  const auto& message = parser_->get();
  keep_alive_ = message.keep_alive();
  http10_ = message.version() < 11;
  if (refused_at_head()) return;
  // A large body (or a chunked one, which may grow) takes one of the --max-concurrent-bodies
  // slots until it was read; small ones (the usual request) never wait for a slot, so clients
  // that announce large bodies and send nothing cannot keep others out.
  const auto length = parser_->content_length();
  if (!parser_->is_done() && (!length || *length > kSmallBodyBytes)) {
    const std::size_t limit = shared_->settings.max_concurrent_bodies;
    if (shared_->bodies_in_flight.fetch_add(1) >= limit) {
      shared_->bodies_in_flight.fetch_sub(1);
      answer_early(error_reply(503,
                               "too many request bodies are being received at once (" +
                                   std::to_string(limit) + ", --max-concurrent-bodies); retry",
                               {{"Retry-After", "1"}}),
                   true);
      return;
    }
    holds_body_slot_ = true;
  }
  if (!parser_->is_done() && boost::beast::iequals(message[http::field::expect], "100-continue")) {
    queue(std::string(kContinue));
  }
  arm_timer(shared_->settings.body_timeout, OnTimeout::answer_408);
  http::async_read(
      socket_, buffer_, *parser_,
      [self = this->shared_from_this()](error_code error, std::size_t) { self->on_body(error); });
}

// Refusals that need only the head, before a byte of the body is read: ambiguous framing
// (request smuggling) and what the listener's HeadCheck refuses (401, 404, 405).
template <typename Socket>
bool Connection<Socket>::refused_at_head() {
  const auto& message = parser_->get();
  if (auto problem = framing_problem(message)) {
    fail_request(400, *problem);
    linger_ = true;
    return true;
  }
  if (!handlers_->check) return false;
  std::optional<HttpReply> refusal = handlers_->check(request_from_head(message, kind_));
  if (!refusal) return false;
  answer_early(std::move(*refusal), !parser_->is_done());
  return true;
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
  if (holds_body_slot_) {
    holds_body_slot_ = false;
    shared_->bodies_in_flight.fetch_sub(1);
  }
  if (error == http::error::body_limit) {  // a chunked body grew past the limit
    reject_body_too_large();
    return;
  }
  if (error) {
    linger_ = true;
    if (error == asio::error::operation_aborted && read_timed_out_) {
      fail_request(408, "the request body did not arrive within " +
                            std::to_string(shared_->settings.body_timeout.count()) +
                            " ms (--body-timeout-ms)");
    } else if (error == http::error::buffer_overflow) {
      // A chunk's size line (with its extensions) or a trailer that does not fit the buffer.
      fail_request(400, "malformed chunked body: a chunk header or trailer is over " +
                            std::to_string(shared_->settings.max_header_bytes) +
                            " bytes (--max-header-bytes)");
    } else if (error == http::error::partial_message || error == http::error::end_of_stream ||
               error == asio::error::eof || error == asio::error::connection_reset ||
               error == asio::error::operation_aborted) {
      close();  // the client left mid-body: nobody to answer
    } else {
      fail_request(400, "malformed request body: " + error.message());
    }
    return;
  }
  HttpRequest request = request_from_head(parser_->get(), kind_);
  request.body = std::move(parser_->release().body());
  dispatch(std::move(request));
}

// Hands the request to the listener's handler. hostd's own exceptions become a 500 whose text
// says nothing of them (they may name private paths); the log has the details.
template <typename Socket>
void Connection<Socket>::dispatch(HttpRequest request) {
  begin_exchange();
  start_watch();
  const std::string method = request.method;
  const std::string path = request.path;
  try {
    handlers_->handle(std::move(request),
                      std::make_shared<ConnectionExchange<Socket>>(this->shared_from_this(), seq_));
  } catch (const std::exception& error) {
    spdlog::error("{} {}: internal error: {}", method, path, error.what());
    reply(seq_, error_reply(500, "internal error in hostd (details are in its log)"));
  }
}

template <typename Socket>
void Connection<Socket>::begin_exchange() {
  ++seq_;
  reply_started_ = reply_done_ = streaming_ = close_delimited_ = exchange_finished_ = false;
  status_sent_ = 0;
  gone_callbacks_.clear();
  complete_callbacks_.clear();
  budget_ = std::make_shared<StreamBudget>(shared_->settings.max_stream_buffer_bytes);
}

// An error found before the request could be handed to a route: answer and close.
template <typename Socket>
void Connection<Socket>::fail_request(unsigned status, const std::string& message) {
  answer_early(HttpReply{status, "application/json", error_json(status, message), {}}, true);
}

// A reply decided before the handler saw the request. When its body is unread, the connection
// closes after the reply (lingering, so that the unread rest does not reset the reply away).
template <typename Socket>
void Connection<Socket>::answer_early(HttpReply reply, bool body_unread) {
  begin_exchange();
  busy_ = true;
  if (body_unread) {
    keep_alive_ = false;
    linger_ = true;
  }
  this->reply(seq_, std::move(reply));
}

// --- the watch on the socket while a request runs: EOF or an error means the client left ---

template <typename Socket>
void Connection<Socket>::start_watch() {
  if (watching_ || closed_) return;
  // Pipelined bytes wait in the buffer; once it is full the socket is no longer watched (the
  // client's next bytes can only be read after this request).
  const std::size_t room = buffer_.max_size() - buffer_.size();
  if (room == 0) return;
  watching_ = true;
  socket_.async_read_some(buffer_.prepare(std::min(room, kReadChunkBytes)),
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
    if (exchange_finished_) {
      read_request();
    } else {
      start_watch();  // still running: keep noticing a client that leaves
    }
    return;
  }
  if (error == asio::error::operation_aborted) {
    if (exchange_finished_) read_request();
    return;
  }
  close();  // the client is gone
}

template <typename Socket>
void Connection<Socket>::finish_exchange() {
  exchange_finished_ = true;
  gone_callbacks_.clear();
  auto callbacks = std::move(complete_callbacks_);
  complete_callbacks_.clear();
  for (auto& callback : callbacks) callback(status_sent_);
  if (!keep_alive_ || close_delimited_ || shared_->stopping.load()) {
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
  lingered_bytes_ = 0;
  arm_timer(kLingerTime, OnTimeout::close);
  drain();
}

template <typename Socket>
void Connection<Socket>::drain() {
  if (closed_) return;
  buffer_.clear();
  socket_.async_read_some(buffer_.prepare(std::min(buffer_.max_size(), 64 * kReadChunkBytes)),
                          [self = this->shared_from_this()](error_code error, std::size_t n) {
                            self->lingered_bytes_ += n;
                            if (error || self->lingered_bytes_ >= kMaxLingerBytes) {
                              self->close();
                            } else {
                              self->drain();
                            }
                          });
}

template <typename Socket>
void Connection<Socket>::arm_timer(std::chrono::steady_clock::duration duration, OnTimeout action) {
  const std::uint64_t seq = ++timer_seq_;
  read_timed_out_ = false;
  timer_.expires_after(duration);
  timer_.async_wait([self = this->shared_from_this(), seq, action](error_code error) {
    if (error || seq != self->timer_seq_ || self->closed_) return;
    if (action == OnTimeout::close) {
      self->close();  // lingering ran out
      return;
    }
    // A client that sends its request too slowly: the read ends with operation_aborted, and
    // its handler answers 408 (or closes an idle connection).
    self->read_timed_out_ = true;
    error_code ignored;
    self->socket_.cancel(ignored);
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
  write_timer_.cancel();
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
