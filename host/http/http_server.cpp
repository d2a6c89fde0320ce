// The listeners and their accept loops (TCP and the admin Unix socket) with their connection
// limits and back-off, and shutdown: stop accepting, close idle connections, close the rest at
// the end. Connections are http_connection.hpp's.
#include "http/http_server.hpp"

#include "http/replies.hpp"
#include "http_connection.hpp"
#include "http_wire_format.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <chrono>
#include <type_traits>

namespace mh::host {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

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

namespace {

constexpr auto kFirstBackoff = std::chrono::milliseconds(50);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
// Repeated accept failures and refusals are logged at most once per this interval.
constexpr auto kLogInterval = std::chrono::seconds(10);

std::string_view listener_name(Listener kind) {
  switch (kind) {
    case Listener::public_api:
      return "--listen";
    case Listener::admin_socket:
      return "--admin-socket";
    case Listener::admin_tcp:
      return "--admin-listen";
  }
  return "";
}

// One listener's accept loop. A failing accept (EMFILE, ENFILE: no file descriptors left)
// fails again at once until descriptors free up, so the loop backs off (50 ms doubling to 1 s)
// and logs once per interval instead of spinning. Past the listener's connection limit a new
// connection is accepted, told 503 (without waiting) and closed at once: the kernel's backlog
// does not fill with clients that would wait in vain, and the descriptor is free again.
template <typename Acceptor>
class AcceptLoop : public std::enable_shared_from_this<AcceptLoop<Acceptor>> {
  using Socket = typename Acceptor::protocol_type::socket;

 public:
  AcceptLoop(asio::io_context& io, std::shared_ptr<Acceptor> acceptor,
             std::shared_ptr<HttpServer::Shared> shared, Listener kind,
             std::shared_ptr<const ListenerHandlers> handlers)
      : io_(io),
        acceptor_(std::move(acceptor)),
        shared_(std::move(shared)),
        kind_(kind),
        handlers_(std::move(handlers)),
        timer_(acceptor_->get_executor()) {}

  void accept() {
    acceptor_->async_accept(asio::make_strand(io_),
                            [self = this->shared_from_this()](error_code error, Socket socket) {
                              self->on_accept(error, std::move(socket));
                            });
  }

 private:
  void on_accept(error_code error, Socket socket) {
    if (error == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (shared_->stopping.load()) return;
    if (error) {
      back_off(error);
      return;
    }
    backoff_ = std::chrono::milliseconds(0);
    admit(std::move(socket));
    accept();
  }

  void back_off(error_code error) {
    backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    ++failures_;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_failure_log_) {
      spdlog::warn(
          "accept on {}: {} ({} times since the last report); retrying with back-off "
          "(at most 1 s)",
          listener_name(kind_), error.message(), failures_);
      failures_ = 0;
      next_failure_log_ = now + kLogInterval;
    }
    timer_.expires_after(backoff_);
    timer_.async_wait([self = this->shared_from_this()](error_code wait_error) {
      if (!wait_error && !self->shared_->stopping.load()) self->accept();
    });
  }

  void admit(Socket socket) {
    const bool admin = kind_ == Listener::admin_socket;
    auto& count = admin ? shared_->admin_connections : shared_->tcp_connections;
    const std::size_t limit =
        admin ? kMaxAdminSocketConnections : shared_->settings.max_connections;
    if (count.fetch_add(1) >= limit) {
      count.fetch_sub(1);
      refuse(std::move(socket), limit);
      return;
    }
    if constexpr (std::is_same_v<Socket, tcp::socket>) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
    }
    // The connection gives the count back when it is destroyed.
    std::make_shared<Connection<Socket>>(std::move(socket), shared_, kind_, handlers_)->start();
  }

  void refuse(Socket socket, std::size_t limit) {
    ++refused_;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_refusal_log_) {
      spdlog::warn(
          "{}: {} connections open, the limit{}; refused {} new connection(s) since the "
          "last report",
          listener_name(kind_), limit,
          kind_ == Listener::admin_socket ? "" : " (--max-connections)", refused_);
      refused_ = 0;
      next_refusal_log_ = now + kLogInterval;
    }
    const std::string bytes = whole_reply_bytes(
        error_reply(503,
                    "too many connections: " + std::to_string(limit) + " are open" +
                        (kind_ == Listener::admin_socket ? "" : " (--max-connections)") + "; retry",
                    {{"Retry-After", "1"}}),
        false);
    error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(bytes), ignored);  // a fresh socket's buffer takes it
    socket.shutdown(Socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  asio::io_context& io_;
  std::shared_ptr<Acceptor> acceptor_;
  std::shared_ptr<HttpServer::Shared> shared_;
  const Listener kind_;
  std::shared_ptr<const ListenerHandlers> handlers_;
  asio::steady_timer timer_;
  std::chrono::milliseconds backoff_{0};
  std::uint64_t failures_ = 0;
  std::uint64_t refused_ = 0;
  std::chrono::steady_clock::time_point next_failure_log_{};
  std::chrono::steady_clock::time_point next_refusal_log_{};
};

template <typename Acceptor>
void start_accepting(asio::io_context& io, std::shared_ptr<Acceptor> acceptor,
                     std::shared_ptr<HttpServer::Shared> shared, Listener kind,
                     RequestHandler handler, HeadCheck check) {
  auto handlers = std::make_shared<const ListenerHandlers>(
      ListenerHandlers{std::move(handler), std::move(check)});
  std::make_shared<AcceptLoop<Acceptor>>(io, std::move(acceptor), std::move(shared), kind,
                                         std::move(handlers))
      ->accept();
}

// Whatever is at the admin socket's path: nothing, a stale socket (removed), or a refusal.
void clear_socket_path(asio::io_context& io, const fs::path& path) {
  std::error_code status_error;
  const fs::file_status status = fs::symlink_status(path, status_error);
  if (!fs::exists(status)) return;
  if (status.type() != fs::file_type::socket) {
    throw std::runtime_error("cannot listen on " + path.string() +
                             ": something that is not a socket is there (hostd replaces only a "
                             "stale socket); remove it or choose another --admin-socket");
  }
  unix_stream::socket probe(io);
  error_code error;
  probe.connect(unix_stream::endpoint(path.string()), error);
  if (!error) {
    throw std::runtime_error("cannot listen on " + path.string() +
                             ": another process (another hostd?) is listening there");
  }
  if (error != asio::error::connection_refused) {
    throw std::runtime_error(
        "cannot listen on " + path.string() +
        ": cannot tell whether the socket there is in use: " + error.message());
  }
  std::error_code remove_error;
  fs::remove(path, remove_error);  // stale: nobody listens
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
                                     RequestHandler handler, HeadCheck check) {
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
  start_accepting(io_, acceptor, shared_, kind, std::move(handler), std::move(check));
  return bound;
}

void HttpServer::listen_unix(const fs::path& path, RequestHandler handler, HeadCheck check) {
  std::error_code exists_error;
  clear_socket_path(io_, path);
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
  start_accepting(io_, acceptor, shared_, Listener::admin_socket, std::move(handler),
                  std::move(check));
}

void HttpServer::stop_accepting() {
  if (shared_->stopping.exchange(true)) return;
  std::vector<std::function<void()>> closers;
  {
    std::lock_guard lock(shared_->mutex);
    closers = shared_->close_listeners;
  }
  for (auto& close : closers) close();
  for (auto& connection : shared_->live()) connection->close_if_idle();
}

bool HttpServer::stopping() const noexcept {
  return shared_->stopping.load();
}

std::size_t HttpServer::open_connections() const {
  return shared_->live().size();
}

void HttpServer::close_all() {
  for (auto& connection : shared_->live()) connection->close_now();
}

}  // namespace mh::host
