// hostctl's HTTP client against a fake hostd: one thread that accepts connections on a Unix
// socket (or loopback TCP) and answers each request with a scripted handler.
#include "admin_client.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "exit_codes.hpp"

using namespace hostctl;
namespace fs = std::filesystem;
namespace net = boost::asio;
namespace http = boost::beast::http;
using Request = http::request<http::string_body>;

namespace {

template <typename Protocol>
class FakeHostd {
 public:
  using Socket = typename Protocol::socket;
  using Handler = std::function<void(const Request&, Socket&)>;

  FakeHostd(typename Protocol::endpoint endpoint, Handler handler)
      : acceptor_(io_, endpoint), handler_(std::move(handler)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeHostd() {
    stopping_ = true;
    boost::system::error_code ec;
    Socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes the blocking accept
    thread_.join();
  }
  typename Protocol::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (true) {
      Socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      boost::beast::flat_buffer buffer;
      Request request;
      http::read(socket, buffer, request, ec);
      if (ec) continue;
      ++requests_;
      handler_(request, socket);
    }
  }

  net::io_context io_;
  typename Protocol::acceptor acceptor_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

using UnixHostd = FakeHostd<net::local::stream_protocol>;

void reply(net::local::stream_protocol::socket& socket, unsigned status, std::string body) {
  http::response<http::string_body> response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  http::write(socket, response);
}

struct SocketDir {
  fs::path dir;
  SocketDir() {
    std::string pattern = (fs::temp_directory_path() / "hostctl-client-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~SocketDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path socket() const { return dir / "admin.sock"; }
};

AdminClient client_for(const fs::path& socket) {
  AdminEndpoint endpoint;
  endpoint.socket_path = socket.string();
  endpoint.source = "--admin-socket";
  return AdminClient(endpoint);
}

}  // namespace

TEST_SUITE("client") {
  TEST_CASE("GET and POST over the Unix socket") {
    SocketDir dir;
    UnixHostd hostd(dir.socket().string(), [](const Request& request, auto& socket) {
      if (request.method() == http::verb::get && request.target() == "/admin/status") {
        reply(socket, 200, R"({"models": []})");
      } else if (request.method() == http::verb::post && request.target() == "/admin/reload" &&
                 request[http::field::content_type] == "application/json") {
        reply(socket, 200, R"({"echo": )" + request.body() + "}");
      } else {
        reply(socket, 400, "unexpected " + std::string(request.target()));
      }
    });
    AdminClient client = client_for(dir.socket());
    const HttpReply status = client.get("/admin/status", std::chrono::seconds(5));
    CHECK(status.ok());
    CHECK(status.status == 200);
    CHECK(status.content_type == "application/json");
    CHECK(status.body == R"({"models": []})");
    const HttpReply reload =
        client.post_json("/admin/reload", R"({"wait": true})", std::chrono::seconds(5));
    CHECK(reload.body == R"({"echo": {"wait": true}})");
  }

  TEST_CASE("error_message reads hostd's error object, or shows the body") {
    HttpReply reply;
    reply.status = 404;
    reply.body = R"({"error": {"code": 404, "message": "no model \"x\"", "type": "not_found"}})";
    CHECK(error_message(reply) == "no model \"x\" (HTTP 404, not_found)");
    reply.status = 502;
    reply.body = "Bad Gateway\n";
    CHECK(error_message(reply) == "Bad Gateway (HTTP 502)");
    reply.body.clear();
    CHECK(error_message(reply) == "HTTP 502");
  }

  TEST_CASE("a streamed body reaches the caller piece by piece, as it arrives") {
    SocketDir dir;
    std::promise<void> first_seen;
    auto first_seen_future = first_seen.get_future();
    UnixHostd hostd(dir.socket().string(), [&](const Request& request, auto& socket) {
      CHECK(request[http::field::accept] == "text/event-stream");
      net::write(socket,
                 net::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                         "Transfer-Encoding: chunked\r\n\r\n"
                                         "10\r\ndata: {\"n\": 1}\n\n\r\n")));
      // The second event is only sent once the client has shown it got the first.
      CHECK(first_seen_future.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
      net::write(socket, net::buffer(std::string("10\r\ndata: {\"n\": 2}\n\n\r\n0\r\n\r\n")));
    });
    AdminClient client = client_for(dir.socket());
    std::string received;
    bool signalled = false;
    const HttpReply reply =
        client.post_streaming("/v1/models/echo/predict", "{}", std::chrono::seconds(10),
                              [&](const HttpReply& head, std::string_view chunk) {
                                CHECK(head.content_type == "text/event-stream");
                                received += chunk;
                                if (!signalled && received.find("\"n\": 1") != std::string::npos) {
                                  signalled = true;
                                  first_seen.set_value();
                                }
                              });
    CHECK(reply.ok());
    CHECK(reply.body.empty());
    CHECK(received == "data: {\"n\": 1}\n\ndata: {\"n\": 2}\n\n");
  }

  TEST_CASE("a non-2xx reply to a streaming request is collected, not streamed") {
    SocketDir dir;
    UnixHostd hostd(dir.socket().string(), [](const Request&, auto& socket) {
      reply(socket, 404, R"({"error": {"message": "unknown model", "type": "not_found"}})");
    });
    AdminClient client = client_for(dir.socket());
    bool called = false;
    const HttpReply reply =
        client.post_streaming("/v1/models/nope/predict", "{}", std::chrono::seconds(5),
                              [&](const HttpReply&, std::string_view) { called = true; });
    CHECK_FALSE(called);
    CHECK(reply.status == 404);
    CHECK(error_message(reply) == "unknown model (HTTP 404, not_found)");
  }

  TEST_CASE("no hostd: a missing socket and a stale one both say hostd is not running") {
    SocketDir dir;
    AdminClient missing = client_for(dir.socket());
    CHECK_THROWS_WITH_AS(
        missing.get("/admin/status", std::chrono::seconds(5)),
        doctest::Contains(
            ("hostd is not running: there is no admin socket at " + dir.socket().string()).c_str()),
        HostdUnreachable);
    CHECK_THROWS_WITH_AS(missing.get("/admin/status", std::chrono::seconds(5)),
                         doctest::Contains("--admin-socket PATH or MODELHOST_ADMIN_SOCKET"),
                         HostdUnreachable);
    {
      // A socket file nobody listens on: what a killed hostd leaves behind.
      net::io_context io;
      net::local::stream_protocol::acceptor stale(io, dir.socket().string());
    }
    REQUIRE(fs::exists(dir.socket()));
    CHECK_THROWS_WITH_AS(missing.get("/admin/status", std::chrono::seconds(5)),
                         doctest::Contains("nothing accepts connections on"), HostdUnreachable);
  }

  TEST_CASE("a hostd that never answers: the timeout, as an operation failure") {
    SocketDir dir;
    std::promise<void> release;
    auto released = release.get_future().share();
    UnixHostd hostd(dir.socket().string(), [released](const Request&, auto&) { released.wait(); });
    AdminClient client = client_for(dir.socket());
    CHECK_THROWS_WITH_AS(client.get("/admin/status", std::chrono::seconds(1)),
                         doctest::Contains("no reply from hostd at unix socket"), OperationFailed);
    release.set_value();
  }

  TEST_CASE("over TCP: the bearer token goes with every request") {
    FakeHostd<net::ip::tcp> hostd(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                                  [](const Request& request, net::ip::tcp::socket& socket) {
                                    http::response<http::string_body> response{
                                        request[http::field::authorization] == "Bearer t0ken"
                                            ? http::status::ok
                                            : http::status::unauthorized,
                                        11};
                                    response.prepare_payload();
                                    http::write(socket, response);
                                  });
    AdminEndpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = std::to_string(hostd.endpoint().port());
    endpoint.token = "t0ken";
    endpoint.source = "--admin-url";
    CHECK(AdminClient(endpoint).get("/admin/status", std::chrono::seconds(5)).status == 200);
    endpoint.token = "wrong";
    CHECK(AdminClient(endpoint).get("/admin/status", std::chrono::seconds(5)).status == 401);
  }

  TEST_CASE("encode_path_segment") {
    CHECK(encode_path_segment("my-model_2.v1~x") == "my-model_2.v1~x");
    CHECK(encode_path_segment("a b/c?d") == "a%20b%2Fc%3Fd");
  }
}
