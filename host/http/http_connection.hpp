#pragma once
// One HTTP/1.1 connection, on a strand of its own: reads a request (its head and body bounded
// in time by --read timeout and in size by --max-body-bytes, 413 from Content-Length before the
// body is read), hands it to the listener's handler, writes the reply (whole, or a chunked
// stream) and then reads the next one (keep-alive). While a request runs it watches the socket,
// so that a client that disconnects is noticed (the route's on_client_gone callbacks run).
// Private to the server (http_server.cpp accepts, connection_exchange.hpp is a route's handle).
#include "http/http_exchange.hpp"
#include "http/http_server.hpp"

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

// What the server and its connections share: the settings, whether shutdown began, the open
// connections and how to close the listeners.
struct HttpServer::Shared {
  ServerSettings settings;
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // guards what follows
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
  Connection(Socket socket, std::shared_ptr<HttpServer::Shared> shared, Listener kind,
             std::shared_ptr<RequestHandler> handler);
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
  void write(std::uint64_t seq, std::string data);
  void end_stream(std::uint64_t seq);
  void on_client_gone(std::uint64_t seq, std::function<void()> callback);
  void on_complete(std::uint64_t seq, std::function<void(unsigned)> callback);

  boost::asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  bool keep_alive_for_reply();
  void read_request();
  void on_header(boost::system::error_code error);
  void reject_body_too_large();
  void on_body(boost::system::error_code error);
  void begin_exchange();
  void fail_request(unsigned status, const std::string& message);
  void start_watch();
  void on_watch(boost::system::error_code error, std::size_t bytes);
  void queue(std::string data);
  void do_write();
  void on_write(boost::system::error_code error);
  void finish_exchange();
  void graceful_close();
  void drain();
  void arm_timer(std::chrono::steady_clock::duration duration);
  void cancel_timer();
  void close();

  Socket socket_;
  std::shared_ptr<HttpServer::Shared> shared_;
  const Listener kind_;
  std::shared_ptr<RequestHandler> handler_;
  boost::asio::steady_timer timer_;
  std::uint64_t timer_seq_ = 0;
  std::uint64_t id_ = 0;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
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

}  // namespace mh::host
