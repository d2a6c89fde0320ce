#pragma once
// One HTTP/1.1 connection, on a strand of its own: reads a request's head (bounded by
// --header-timeout-ms and --max-header-bytes), refuses it at head time when the listener's
// HeadCheck says so (401/404/405) or its framing is ambiguous (400), reads its body (bounded by
// --body-timeout-ms, --max-body-bytes, 413 from Content-Length before the body is read, and
// --max-concurrent-bodies), hands it to the listener's handler, writes the reply (whole, or a
// stream: chunked, close-delimited for HTTP/1.0, its unsent bytes bounded by
// --max-stream-buffer-bytes) and then reads the next one (keep-alive). A client that takes no
// byte for --write-timeout-ms is cut. While a request runs it watches the socket, so that a
// client that disconnects is noticed (the route's on_client_gone callbacks run).
// Private to the server (http_server.cpp accepts, connection_exchange.hpp is a route's handle).
#include "http/http_exchange.hpp"
#include "http/http_server.hpp"
#include "stream_budget.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mh::host {

// What the server asks of every connection, whatever its socket type. [thread: any]
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Closes the connection when no request runs; otherwise its reply says "Connection: close".
  virtual void close_if_idle() = 0;
  virtual void close_now() = 0;
};

// What a listener does with its requests.
struct ListenerHandlers {
  RequestHandler handle;
  HeadCheck check;  // may be empty
};

// What the server and its connections share: the settings, whether shutdown began, the open
// connections (and their counts against the limits) and how to close the listeners.
struct HttpServer::Shared {
  ServerSettings settings;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> tcp_connections{0};    // against settings.max_connections
  std::atomic<std::size_t> admin_connections{0};  // against kMaxAdminSocketConnections
  std::atomic<std::size_t> bodies_in_flight{0};   // against settings.max_concurrent_bodies
  std::mutex mutex;                               // guards what follows
  std::uint64_t next_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<ConnectionBase>> connections;
  std::vector<std::function<void()>> close_listeners;

  std::uint64_t add(std::weak_ptr<ConnectionBase> connection);
  void remove(std::uint64_t id);
  std::vector<std::shared_ptr<ConnectionBase>> live();
};

// Socket: boost::asio::ip::tcp::socket or boost::asio::local::stream_protocol::socket, with a
// strand as its executor. Every member below runs on that strand.
template <typename Socket>
class Connection : public ConnectionBase, public std::enable_shared_from_this<Connection<Socket>> {
 public:
  // The connection was counted already in shared's count for `kind` (the accept loop counts
  // before it admits); the destructor gives the count back.
  Connection(Socket socket, std::shared_ptr<HttpServer::Shared> shared, Listener kind,
             std::shared_ptr<const ListenerHandlers> handlers);
  ~Connection() override;

  // Registers with the server and reads the first request.
  void start();

  void close_if_idle() override;
  void close_now() override;

  // The Exchange's operations; `seq` names the request they belong to, so that calls for a
  // request that is over are ignored.
  void reply(std::uint64_t seq, HttpReply reply);
  void start_stream(std::uint64_t seq, unsigned status, std::string content_type,
                    HttpHeaders headers);
  // `reserved`: bytes of the request's stream budget this write holds (given back once sent).
  void write(std::uint64_t seq, std::string data, std::size_t reserved = 0);
  // The current request's stream budget (a fresh one per request).
  std::shared_ptr<StreamBudget> stream_budget() const { return budget_; }
  void end_stream(std::uint64_t seq);
  void on_client_gone(std::uint64_t seq, std::function<void()> callback);
  void on_complete(std::uint64_t seq, std::function<void(unsigned)> callback);

  boost::asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  // What the read timer does when it fires.
  enum class OnTimeout { answer_408, close };

  bool keep_alive_for_reply();
  void read_request();
  void on_header(boost::system::error_code error);
  bool refused_at_head();
  void reject_body_too_large();
  void on_body(boost::system::error_code error);
  void dispatch(HttpRequest request);
  void begin_exchange();
  void fail_request(unsigned status, const std::string& message);
  void answer_early(HttpReply reply, bool body_unread);
  void start_watch();
  void on_watch(boost::system::error_code error, std::size_t bytes);
  void queue(std::string data, std::size_t reserved = 0);
  void do_write();
  void write_some();
  void on_write(boost::system::error_code error, std::size_t bytes);
  void finish_exchange();
  void graceful_close();
  void drain();
  void arm_timer(std::chrono::steady_clock::duration duration, OnTimeout action);
  void cancel_timer();
  void on_write_timeout();
  void close();

  Socket socket_;
  std::shared_ptr<HttpServer::Shared> shared_;
  const Listener kind_;
  std::shared_ptr<const ListenerHandlers> handlers_;
  boost::asio::steady_timer timer_;  // reads (head, body) and lingering
  std::uint64_t timer_seq_ = 0;
  bool read_timed_out_ = false;  // the read timer cancelled the read: answer 408
  boost::asio::steady_timer write_timer_;
  std::uint64_t write_timer_seq_ = 0;
  std::uint64_t id_ = 0;
  boost::beast::flat_buffer buffer_;  // at most --max-header-bytes + kReadChunkBytes
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool holds_body_slot_ = false;  // counted in shared_->bodies_in_flight
  std::deque<std::string> outbox_;
  std::size_t outbox_reserved_ = 0;  // stream budget held by what is in outbox_
  std::string current_;              // being written
  std::size_t current_sent_ = 0;
  std::size_t current_reserved_ = 0;
  std::shared_ptr<StreamBudget> budget_;
  bool writing_ = false;
  bool closed_ = false;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool linger_ = false;
  std::size_t lingered_bytes_ = 0;  // read and dropped while lingering (kMaxLingerBytes)
  bool watching_ = false;
  // The current request.
  std::uint64_t seq_ = 0;
  bool reply_started_ = false;
  bool reply_done_ = false;
  bool streaming_ = false;
  bool close_delimited_ = false;  // a stream to an HTTP/1.0 client: no chunks, ends by closing
  bool http10_ = false;           // the request was HTTP/1.0
  bool exchange_finished_ = false;
  unsigned status_sent_ = 0;
  std::vector<std::function<void()>> gone_callbacks_;
  std::vector<std::function<void(unsigned)>> complete_callbacks_;
};

}  // namespace mh::host
