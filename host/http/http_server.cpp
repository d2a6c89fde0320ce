#include "http/http_server.hpp"

#include "http/error_mapping.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <deque>
#include <optional>
#include <unordered_map>

namespace mh::host {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

namespace {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close_if_idle() = 0;
  virtual void close_now() = 0;
};

std::string reason_phrase(unsigned status) {
  if (status == 499) return "Client Closed Request";
  auto reason = http::obsolete_reason(http::int_to_status(status));
  return reason.empty() ? "Unknown" : std::string(reason);
}

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(a, b);
}

}  // namespace

struct HttpServer::Shared {
  ServerSettings settings;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::uint64_t next_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;
  std::vector<std::function<void()>> close_listeners;

  std::uint64_t add(std::weak_ptr<SessionBase> session) {
    std::lock_guard lock(mutex);
    sessions.emplace(++next_id, std::move(session));
    return next_id;
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(mutex);
    sessions.erase(id);
  }
  std::vector<std::shared_ptr<SessionBase>> live() {
    std::vector<std::shared_ptr<SessionBase>> result;
    std::lock_guard lock(mutex);
    for (auto& [id, weak] : sessions) {
      if (auto session = weak.lock()) result.push_back(std::move(session));
    }
    return result;
  }
};

namespace {

template <typename Socket>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Socket>> {
 public:
  Session(Socket socket, std::shared_ptr<HttpServer::Shared> shared, Listener kind,
          std::shared_ptr<RequestHandler> handler)
      : socket_(std::move(socket)),
        shared_(std::move(shared)),
        kind_(kind),
        handler_(std::move(handler)),
        timer_(socket_.get_executor()) {}

  ~Session() override { shared_->remove(id_); }

  void start() {
    id_ = shared_->add(this->weak_from_this());
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->read_request(); });
  }

  void close_if_idle() override {
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) {
        self->close();
      } else {
        self->keep_alive_ = false;
      }
    });
  }
  void close_now() override {
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->close(); });
  }

  // --- the Exchange's operations, on the strand; `seq` names the request they belong to ---

  void reply(std::uint64_t seq, HttpReply reply) {
    if (closed_ || seq != seq_ || reply_started_) return;
    reply_started_ = true;
    reply_done_ = true;
    status_sent_ = reply.status;
    std::string head = status_line(reply.status);
    head += "Content-Type: " + reply.content_type + "\r\n";
    head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
    head += connection_header();
    head += "\r\n";
    head += reply.body;
    queue(std::move(head));
  }

  void start_stream(std::uint64_t seq, unsigned status, std::string content_type,
                    HttpHeaders headers) {
    if (closed_ || seq != seq_ || reply_started_) return;
    reply_started_ = true;
    streaming_ = true;
    status_sent_ = status;
    std::string head = status_line(status);
    head += "Content-Type: " + content_type + "\r\n";
    head += "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
    for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
    head += connection_header();
    head += "\r\n";
    queue(std::move(head));
  }

  void write(std::uint64_t seq, std::string data) {
    if (closed_ || seq != seq_ || !streaming_ || reply_done_ || data.empty()) return;
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string chunk = size;
    chunk += data;
    chunk += "\r\n";
    queue(std::move(chunk));
  }

  void end_stream(std::uint64_t seq) {
    if (closed_ || seq != seq_ || !streaming_ || reply_done_) return;
    reply_done_ = true;
    queue("0\r\n\r\n");
  }

  void on_client_gone(std::uint64_t seq, std::function<void()> callback) {
    if (seq != seq_) return;
    if (closed_ && !reply_done_) {
      callback();  // it left before the route asked
      return;
    }
    if (exchange_finished_) return;
    gone_callbacks_.push_back(std::move(callback));
  }

  void on_complete(std::uint64_t seq, std::function<void(unsigned)> callback) {
    if (seq != seq_) return;
    if (exchange_finished_ || closed_) {
      callback(reply_done_ ? status_sent_ : 0);
      return;
    }
    complete_callbacks_.push_back(std::move(callback));
  }

  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  std::string status_line(unsigned status) {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  }
  std::string connection_header() {
    if (!keep_alive_ || shared_->stopping.load()) {
      keep_alive_ = false;
      return "Connection: close\r\n";
    }
    return "Connection: keep-alive\r\n";
  }

  void read_request() {
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
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = this->shared_from_this()](error_code error, std::size_t) {
                              self->on_header(error);
                            });
  }

  void on_header(error_code error) {
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
                 error == asio::error::connection_reset ||
                 error == asio::error::operation_aborted) {
        close();
      } else {
        fail_request(400, "malformed HTTP request: " + error.message());
      }
      return;
    }
    busy_ = true;
    const auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    if (iequals(message[http::field::expect], "100-continue")) {
      queue("HTTP/1.1 100 Continue\r\n\r\n");
    }
    http::async_read(
        socket_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code error, std::size_t) { self->on_body(error); });
  }

  // 413, then the connection closes (after lingering: the rest of the body is unread).
  void reject_body_too_large() {
    linger_ = true;
    fail_request(413, "the request body is over the limit of " +
                          std::to_string(shared_->settings.max_body_bytes) +
                          " bytes (--max-body-bytes)");
  }

  void on_body(error_code error) {
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
    if (question != std::string_view::npos)
      request.query = std::string(target.substr(question + 1));
    request.content_type = std::string(message[http::field::content_type]);
    request.accept = std::string(message[http::field::accept]);
    request.authorization = std::string(message[http::field::authorization]);
    request.body = std::move(message.body());
    request.listener = kind_;
    begin_exchange();
    start_watch();
    (*handler_)(std::move(request), make_exchange());
  }

  void begin_exchange() {
    ++seq_;
    reply_started_ = reply_done_ = streaming_ = exchange_finished_ = false;
    status_sent_ = 0;
    gone_callbacks_.clear();
    complete_callbacks_.clear();
  }

  std::shared_ptr<Exchange> make_exchange();

  // An error found before the request could be handed to a route: answer and close.
  void fail_request(unsigned status, const std::string& message) {
    begin_exchange();
    busy_ = true;
    keep_alive_ = false;
    reply(seq_, HttpReply{status, "application/json", error_json(status, message), {}});
  }

  // Watches the socket while a request runs: EOF or an error means the client left.
  void start_watch() {
    if (watching_ || closed_) return;
    watching_ = true;
    socket_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](error_code error, std::size_t bytes) {
                              self->on_watch(error, bytes);
                            });
  }

  void on_watch(error_code error, std::size_t bytes) {
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

  void queue(std::string data) {
    outbox_.push_back(std::move(data));
    do_write();
  }

  void do_write() {
    if (writing_ || outbox_.empty() || closed_) return;
    writing_ = true;
    current_.clear();
    for (auto& piece : outbox_) current_ += piece;
    outbox_.clear();
    asio::async_write(socket_, asio::buffer(current_),
                      [self = this->shared_from_this()](error_code error, std::size_t) {
                        self->on_write(error);
                      });
  }

  void on_write(error_code error) {
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

  void finish_exchange() {
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

  // Closes after the reply went out. When the request's body was left unread, the rest is
  // read and dropped for a moment first: closing with unread data makes the kernel send a
  // reset, which can destroy the reply before the client read it.
  void graceful_close() {
    error_code ignored;
    socket_.shutdown(Socket::shutdown_send, ignored);
    if (!linger_) {
      close();
      return;
    }
    arm_timer(std::chrono::seconds(2));
    drain();
  }

  void drain() {
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

  void arm_timer(std::chrono::steady_clock::duration duration) {
    const std::uint64_t seq = ++timer_seq_;
    timer_.expires_after(duration);
    timer_.async_wait([self = this->shared_from_this(), seq](error_code error) {
      if (error || seq != self->timer_seq_ || self->closed_) return;
      self->close();  // a client that sends nothing (or too slowly), or lingering ran out
    });
  }

  void cancel_timer() {
    ++timer_seq_;
    timer_.cancel();
  }

  void close() {
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

  Socket socket_;
  std::shared_ptr<HttpServer::Shared> shared_;
  const Listener kind_;
  std::shared_ptr<RequestHandler> handler_;
  asio::steady_timer timer_;
  std::uint64_t timer_seq_ = 0;
  std::uint64_t id_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> outbox_;
  std::string current_;
  bool writing_ = false;
  bool closed_ = false;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool linger_ = false;
  bool watching_ = false;
  // The current request.
  std::uint64_t seq_ = 0;
  bool reply_started_ = false;
  bool reply_done_ = false;
  bool streaming_ = false;
  bool exchange_finished_ = false;
  unsigned status_sent_ = 0;
  std::vector<std::function<void()>> gone_callbacks_;
  std::vector<std::function<void(unsigned)>> complete_callbacks_;
};

template <typename Socket>
class SessionExchange final : public Exchange {
 public:
  SessionExchange(std::shared_ptr<Session<Socket>> session, std::uint64_t seq)
      : session_(std::move(session)), seq_(seq) {}

  void reply(HttpReply reply) override {
    run([reply = std::move(reply)](Session<Socket>& session, std::uint64_t seq) mutable {
      session.reply(seq, std::move(reply));
    });
  }
  void start_stream(unsigned status, std::string content_type, HttpHeaders headers) override {
    run([=](Session<Socket>& session, std::uint64_t seq) mutable {
      session.start_stream(seq, status, std::move(content_type), std::move(headers));
    });
  }
  void write(std::string data) override {
    run([data = std::move(data)](Session<Socket>& session, std::uint64_t seq) mutable {
      session.write(seq, std::move(data));
    });
  }
  void end_stream() override {
    run([](Session<Socket>& session, std::uint64_t seq) { session.end_stream(seq); });
  }
  void post(std::function<void()> task) override {
    asio::post(session_->executor(), std::move(task));
  }
  asio::any_io_executor executor() override { return session_->executor(); }
  void on_client_gone(std::function<void()> callback) override {
    run([callback = std::move(callback)](Session<Socket>& session, std::uint64_t seq) mutable {
      session.on_client_gone(seq, std::move(callback));
    });
  }
  void on_complete(std::function<void(unsigned)> callback) override {
    run([callback = std::move(callback)](Session<Socket>& session, std::uint64_t seq) mutable {
      session.on_complete(seq, std::move(callback));
    });
  }

 private:
  template <typename F>
  void run(F&& f) {
    auto executor = session_->executor();
    const auto* strand = executor.template target<asio::strand<asio::io_context::executor_type>>();
    if (strand != nullptr && strand->running_in_this_thread()) {
      f(*session_, seq_);
      return;
    }
    asio::post(executor, [session = session_, seq = seq_, f = std::forward<F>(f)]() mutable {
      f(*session, seq);
    });
  }

  std::shared_ptr<Session<Socket>> session_;
  const std::uint64_t seq_;
};

template <typename Socket>
std::shared_ptr<Exchange> Session<Socket>::make_exchange() {
  return std::make_shared<SessionExchange<Socket>>(this->shared_from_this(), seq_);
}

template <typename Acceptor>
void accept_loop(asio::io_context& io, std::shared_ptr<Acceptor> acceptor,
                 std::shared_ptr<HttpServer::Shared> shared, Listener kind,
                 std::shared_ptr<RequestHandler> handler) {
  using Socket = typename Acceptor::protocol_type::socket;
  acceptor->async_accept(asio::make_strand(io), [&io, acceptor, shared, kind, handler](
                                                    error_code error, Socket socket) {
    if (error) {
      if (error == asio::error::operation_aborted || !acceptor->is_open()) return;
      spdlog::warn("accept: {}", error.message());
    } else {
      if constexpr (std::is_same_v<Socket, tcp::socket>) {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
      }
      std::make_shared<Session<Socket>>(std::move(socket), shared, kind, handler)->start();
    }
    if (!shared->stopping.load()) accept_loop(io, acceptor, shared, kind, handler);
  });
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, ServerSettings settings)
    : io_(io), shared_(std::make_shared<Shared>()) {
  shared_->settings = settings;
}

HttpServer::~HttpServer() {
  for (const auto& path : unix_paths_) {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
}

ListenAddress HttpServer::listen_tcp(const ListenAddress& address, Listener kind,
                                     RequestHandler handler) {
  error_code error;
  auto ip = asio::ip::make_address(address.host, error);
  if (error) {
    // A host name: resolve it.
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(address.host, std::to_string(address.port), error);
    if (error || results.empty()) {
      throw std::runtime_error("cannot resolve " + address.to_string() + ": " + error.message());
    }
    ip = results.begin()->endpoint().address();
  }
  auto acceptor = std::make_shared<tcp::acceptor>(io_);
  const tcp::endpoint endpoint(ip, address.port);
  acceptor->open(endpoint.protocol(), error);
  if (!error) acceptor->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor->bind(endpoint, error);
  if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
  if (error)
    throw std::runtime_error("cannot listen on " + address.to_string() + ": " + error.message());
  ListenAddress bound = address;
  bound.port = acceptor->local_endpoint().port();
  {
    std::lock_guard lock(shared_->mutex);
    shared_->close_listeners.push_back([acceptor] {
      asio::post(acceptor->get_executor(), [acceptor] {
        error_code ignored;
        acceptor->close(ignored);
      });
    });
  }
  accept_loop(io_, acceptor, shared_, kind, std::make_shared<RequestHandler>(std::move(handler)));
  return bound;
}

void HttpServer::listen_unix(const fs::path& path, RequestHandler handler) {
  std::error_code exists_error;
  if (fs::exists(fs::symlink_status(path, exists_error))) {
    unix_stream::socket probe(io_);
    error_code error;
    probe.connect(unix_stream::endpoint(path.string()), error);
    if (!error) {
      throw std::runtime_error("cannot listen on " + path.string() +
                               ": another process (another hostd?) is listening there");
    }
    fs::remove(path, exists_error);
  }
  auto acceptor = std::make_shared<unix_stream::acceptor>(io_);
  error_code error;
  acceptor->open(unix_stream(), error);
  // Created with mode 0600 from the start: no moment in which others could connect.
  const mode_t old_mask = ::umask(0177);
  if (!error) acceptor->bind(unix_stream::endpoint(path.string()), error);
  ::umask(old_mask);
  if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
  if (error) throw std::runtime_error("cannot listen on " + path.string() + ": " + error.message());
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, exists_error);
  unix_paths_.push_back(path);
  {
    std::lock_guard lock(shared_->mutex);
    shared_->close_listeners.push_back([acceptor] {
      asio::post(acceptor->get_executor(), [acceptor] {
        error_code ignored;
        acceptor->close(ignored);
      });
    });
  }
  accept_loop(io_, acceptor, shared_, Listener::admin_socket,
              std::make_shared<RequestHandler>(std::move(handler)));
}

void HttpServer::stop_accepting() {
  if (shared_->stopping.exchange(true)) return;
  std::vector<std::function<void()>> closers;
  {
    std::lock_guard lock(shared_->mutex);
    closers = shared_->close_listeners;
  }
  for (auto& close : closers) close();
  for (auto& session : shared_->live()) session->close_if_idle();
}

bool HttpServer::stopping() const noexcept {
  return shared_->stopping.load();
}

std::size_t HttpServer::open_connections() const {
  return shared_->live().size();
}

void HttpServer::close_all() {
  for (auto& session : shared_->live()) session->close_now();
}

}  // namespace mh::host
