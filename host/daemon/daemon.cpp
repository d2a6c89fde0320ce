#include "daemon/daemon.hpp"

#include "config/installed_layout.hpp"
#include "daemon/service_notifier.hpp"
#include "http/admin_api.hpp"
#include "http/http_routes.hpp"
#include "http/http_server.hpp"
#include "isolation/process_backend.hpp"
#include "metrics/metrics.hpp"
#include "model/model_registry.hpp"
#include "plugin/library_unloader.hpp"
#include "plugin/plugin_store.hpp"

#include <modelhost/version.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

namespace mh::host {

namespace asio = boost::asio;

namespace {

// Beyond the drain timeout, how long cleanups may take before hostd gives up on them.
constexpr auto kCleanupGrace = std::chrono::seconds(20);
// Threads for sync, load, init and cleanup (each may block on a slow plugin or storage).
constexpr unsigned kLifecycleThreads = 4;

// Beyond cleanup, how long the last replies may take to reach their clients.
constexpr auto kReplyGrace = std::chrono::seconds(5);

// The last step of shutdown: the plugins are done, but the final bytes of their replies may
// still be on their way out; connections close by themselves once theirs went.
void wait_for_replies(asio::io_context& io, HttpServer& server,
                      std::chrono::steady_clock::time_point give_up) {
  if (server.open_connections() == 0 || std::chrono::steady_clock::now() >= give_up) {
    server.close_all();
    spdlog::info("bye");
    io.stop();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(10));
  timer->async_wait([&io, &server, give_up, timer](const boost::system::error_code&) {
    wait_for_replies(io, server, give_up);
  });
}

void log_changes(const std::vector<ReloadChange>& changes) {
  for (const auto& change : changes) {
    if (change.error) {
      spdlog::warn("model {}: {} ({}): {}", change.name, to_string(change.action),
                   to_string(change.state), *change.error);
    } else {
      spdlog::info("model {}: {} ({})", change.name, to_string(change.action),
                   to_string(change.state));
    }
  }
}

}  // namespace

int run_daemon(const HostConfig& config) {
  // Declared first, so it goes last: everything made from a plugin library is gone by then.
  LibraryUnloader unloader;
  asio::thread_pool lifecycle(kLifecycleThreads);
  asio::thread_pool workers(config.worker_threads);
  asio::io_context io(static_cast<int>(config.http_threads));

  PluginStore store(plugin_store_dir(config.cache_dir));
  RegistrySettings settings;
  // A manifest's "plugin" is looked for beside it, in every --plugin-dir, then among the
  // plugins installed with hostd.
  std::vector<std::filesystem::path> plugin_dirs = config.plugin_dirs;
  if (auto installed = installed_plugin_dir()) plugin_dirs.push_back(*installed);
  settings.scan = ScanSettings{config.models_dir, plugin_dirs, config.cache_dir, config.storage};
  settings.load_timeout = config.load_timeout;
  settings.drain_timeout = config.drain_timeout;
  settings.isolation.isolation =
      config.default_isolation == "none" ? Isolation::none : Isolation::process;
  settings.isolation.max_body_bytes = config.max_body_bytes;
  auto registry = ModelRegistry::create(
      settings, LoaderServices{store, unloader, lifecycle.get_executor(), workers.get_executor()});

  Metrics metrics;
  HostIdentity identity;
  identity.pid = static_cast<long>(::getpid());
  identity.models_dir = config.models_dir.string();
  identity.listen = config.listen.to_string();

  ServerSettings limits;
  limits.max_body_bytes = config.max_body_bytes;
  limits.header_timeout = config.header_timeout;
  limits.body_timeout = config.body_timeout;
  limits.write_timeout = config.write_timeout;
  limits.max_header_bytes = config.max_header_bytes;
  limits.max_stream_buffer_bytes = config.max_stream_buffer_bytes;
  limits.max_connections = config.max_connections;
  limits.max_concurrent_bodies = config.max_concurrent_bodies;
  HttpServer server(io, limits);
  std::unique_ptr<AdminApi> admin;
  std::unique_ptr<Router> router;
  auto handler = [&router](HttpRequest request, std::shared_ptr<Exchange> exchange) {
    router->handle(std::move(request), exchange);
  };
  // Auth and route from the head alone, before a body is read.
  auto check = [&router](const HttpRequest& head) { return router->check_head(head); };
  try {
    // Bind first (port 0 picks one), so that status shows the real address.
    const ListenAddress bound =
        server.listen_tcp(config.listen, Listener::public_api, handler, check);
    identity.listen = bound.to_string();
    admin = std::make_unique<AdminApi>(registry, identity);
    router = std::make_unique<Router>(registry, metrics, *admin,
                                      RouterSettings{config.api_key, config.admin_token});
    server.listen_unix(config.admin_socket, handler, check);
    if (config.admin_listen) {
      server.listen_tcp(*config.admin_listen, Listener::admin_tcp, handler, check);
    }
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return 1;
  }
  spdlog::info("hostd {} (pid {}) listening on http://{}; admin socket {}{}", MODELHOST_VERSION,
               identity.pid, identity.listen, config.admin_socket.string(),
               config.admin_listen ? "; admin TCP " + config.admin_listen->to_string() : "");
  spdlog::info("models directory {}; cache {}", config.models_dir.string(),
               config.cache_dir.string());

  registry->reload(std::nullopt, false, std::chrono::milliseconds(0), log_changes);
  notify_ready("listening on http://" + identity.listen + "; models load in the background");

  std::atomic<int> exit_code{0};
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer watchdog(io);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info(
        "{}: shutting down: no new connections; in-flight requests finish (at most {} ms), "
        "then every model cleans up",
        signal == SIGINT ? "SIGINT" : "SIGTERM", config.drain_timeout.count());
    notify_stopping("draining: in-flight requests finish, then every model cleans up");
    router->set_shutting_down();
    server.stop_accepting();
    // A second signal: stop now.
    signals.async_wait([&](const boost::system::error_code& again, int) {
      if (again) return;
      spdlog::warn("second signal: exiting without waiting for cleanup");
      exit_code = 1;
      io.stop();
    });
    registry->shutdown([&] {
      asio::post(io, [&] {
        spdlog::info("every model is unloaded");
        wait_for_replies(io, server, std::chrono::steady_clock::now() + kReplyGrace);
      });
    });
    watchdog.expires_after(config.drain_timeout + kCleanupGrace);
    watchdog.async_wait([&](const boost::system::error_code& expired) {
      if (expired) return;
      spdlog::error("shutdown: cleanup did not finish in time; exiting anyway");
      exit_code = 1;
      io.stop();
    });
  });

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < config.http_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();
  // A late signal must not kill the exit half-way (clear() restores the default action first).
  boost::system::error_code ignored;
  signals.clear(ignored);
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);

  // A runner's I/O thread may still be on its way out of a callback that posts to the pools
  // (an unload's done): let it end before the pools go.
  if (!mh::isolation::wait_for_runner_io_threads(std::chrono::seconds(5))) {
    spdlog::warn("shutdown: a runner's I/O thread has not ended after 5 s; exiting anyway");
  }
  // Plugins called every done; what may still be queued for them (timers, late callbacks)
  // is dropped.
  lifecycle.stop();
  workers.stop();
  lifecycle.join();
  workers.join();
  return exit_code.load();
}

}  // namespace mh::host
