// The listeners and their accept loops (TCP and the admin Unix socket), and shutdown: stop
// accepting, close idle connections, close the rest at the end. Connections are
// http_connection.hpp's.
#include "http/http_server.hpp"

#include "http_connection.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <type_traits>

namespace mh::host {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

namespace {

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
      std::make_shared<Connection<Socket>>(std::move(socket), shared, kind, handler)->start();
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
