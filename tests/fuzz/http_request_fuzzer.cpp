// Fuzzes hostd's HTTP request path up to the plugin call: the real HttpServer, Router and
// ModelRegistry run in this process on loopback, serving the echo plugin as model "echo". Each
// input is written as raw bytes to a fresh TCP connection, which is then half-closed; the reply
// is read until the server closes (bounded by a receive timeout). Whatever the bytes, hostd must
// not crash, trip a sanitizer, or keep the connection open once the client has finished sending.
#include "http/admin_api.hpp"
#include "http/http_routes.hpp"
#include "http/http_server.hpp"
#include "metrics/metrics.hpp"
#include "model/model_registry.hpp"
#include "plugin/library_unloader.hpp"
#include "plugin/plugin_store.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

namespace {

using namespace mh::host;
namespace asio = boost::asio;

// How long one input may keep its connection open after the client half-closed: the echo
// model's timeout_ms (below) plus slack. Exceeding it is counted, and reported at exit.
constexpr int kReceiveTimeoutMs = 2000;

// hostd assembled as daemon.cpp assembles it, minus signals and the admin socket. Created once
// and never destroyed: its threads serve until the process exits.
struct InProcessHostd {
  std::filesystem::path root;
  LibraryUnloader unloader{std::chrono::milliseconds(100)};
  asio::thread_pool lifecycle{2};
  asio::thread_pool workers{2};
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<PluginStore> store;
  std::shared_ptr<ModelRegistry> registry;
  Metrics metrics;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<AdminApi> admin;
  std::unique_ptr<Router> router;
  std::thread io_thread;
  std::uint16_t port = 0;

  explicit InProcessHostd(std::filesystem::path dir) : root(std::move(dir)) {
    const std::filesystem::path echo_plugin = MH_ECHO_PLUGIN;
    std::filesystem::create_directories(root / "models" / "echo");
    std::ofstream(root / "models" / "echo" / "model.json")
        << R"({"plugin": ")" << echo_plugin.filename().string()
        << R"(", "config": {"stream_chunks": 2}, "max_concurrency": 4, "max_queue": 4,
             "timeout_ms": 200})";
    store = std::make_unique<PluginStore>(root / "cache" / ".plugins");
    RegistrySettings settings;
    settings.scan = ScanSettings{root / "models", {echo_plugin.parent_path()}, root / "cache", ""};
    settings.drain_timeout = std::chrono::seconds(1);
    registry = ModelRegistry::create(
        settings,
        LoaderServices{*store, unloader, lifecycle.get_executor(), workers.get_executor()});
    server = std::make_unique<HttpServer>(io, ServerSettings{1u << 16, std::chrono::seconds(5)});
    HostIdentity identity;
    identity.pid = static_cast<long>(::getpid());
    admin = std::make_unique<AdminApi>(registry, identity);
    router = std::make_unique<Router>(registry, metrics, *admin, RouterSettings{});
    auto handler = [this](HttpRequest request, std::shared_ptr<Exchange> exchange) {
      router->handle(std::move(request), exchange);
    };
    port = server->listen_tcp(ListenAddress{"127.0.0.1", 0}, Listener::public_api, handler).port;
    io_thread = std::thread([this] { io.run(); });

    auto loaded = std::make_shared<std::promise<std::vector<ReloadChange>>>();
    registry->reload(std::nullopt, true, std::chrono::seconds(20),
                     [loaded](std::vector<ReloadChange> changes) { loaded->set_value(changes); });
    auto future = loaded->get_future();
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      std::fprintf(stderr, "http_request_fuzzer: the echo model did not load in 30 s\n");
      std::abort();
    }
    for (const auto& change : future.get()) {
      if (change.error) {
        std::fprintf(stderr, "http_request_fuzzer: echo model: %s\n", change.error->c_str());
        std::abort();
      }
    }
  }
};

InProcessHostd* hostd = nullptr;
std::atomic<std::uint64_t> timeouts{0};

void report_timeouts() {
  if (timeouts.load() != 0) {
    std::fprintf(stderr, "http_request_fuzzer: %llu inputs kept their connection open > %d ms\n",
                 static_cast<unsigned long long>(timeouts.load()), kReceiveTimeoutMs);
  }
}

// A connected loopback socket with send and receive timeouts; -1 when connect failed.
int connect_to_hostd() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{kReceiveTimeoutMs / 1000, (kReceiveTimeoutMs % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(hostd->port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
  // A signal (libFuzzer's timers, ^C) may interrupt it. The connection then goes on being made
  // (calling connect again would fail with EALREADY or EISCONN): wait for it, then ask how it
  // ended.
  if (errno == EINTR) {
    pollfd writable{fd, POLLOUT, 0};
    int ready;
    do {
      ready = ::poll(&writable, 1, kReceiveTimeoutMs);
    } while (ready < 0 && errno == EINTR);
    int error = 0;
    socklen_t length = sizeof error;
    if (ready == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0)
      return fd;
    errno = ready == 1 ? error : ETIMEDOUT;
  }
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  char pattern[] = "/tmp/mh-fuzz-http-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) std::abort();
  hostd = new InProcessHostd(pattern);
  std::atexit(report_timeouts);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int fd = connect_to_hostd();
  if (fd < 0) {
    std::perror("http_request_fuzzer: connect");
    std::abort();
  }
  std::size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer early and close (413, 400)
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++timeouts;
    break;
  }
  // Reset rather than close: no TIME_WAIT left behind by a million connections.
  linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
  return 0;
}
