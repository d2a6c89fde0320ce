// bench_http: requests per second and p50/p99 latency of echo predict over loopback.
//
//   bench_http --port 8080                       # against a running hostd serving "echo"
//   bench_http --hostd build/host/daemon/hostd   # starts one of its own
//
// Closed loop: N keep-alive connections, each sending its next request when the previous
// answer arrived; bounded by a request count and/or a duration.
#include "hostd_launcher.hpp"
#include "load_generator.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <optional>

int main(int argc, char** argv) {
  mh::bench::LoadSettings settings;
  std::string hostd;
  std::string echo_plugin = MH_ECHO_PLUGIN;
  std::string model = "echo";
  unsigned duration_s = 0;
  std::vector<std::string> hostd_args;

  CLI::App app{"bench_http: requests/s and p50/p99 latency of a model's predict over HTTP"};
  app.add_option("--host", settings.host, "hostd's address")->capture_default_str();
  app.add_option("--port", settings.port, "hostd's port")->capture_default_str();
  app.add_option("--model", model, "the model to call")->capture_default_str();
  app.add_option("--body", settings.body, "the JSON request body")->capture_default_str();
  app.add_option("-c,--connections", settings.connections, "concurrent keep-alive connections")
      ->capture_default_str();
  app.add_option("-n,--requests", settings.requests, "requests in all (0: no bound)")
      ->capture_default_str();
  app.add_option("-d,--duration-s", duration_s, "stop after this many seconds (0: no bound)")
      ->capture_default_str();
  app.add_option("--warmup", settings.warmup, "unmeasured requests per connection first")
      ->capture_default_str();
  app.add_option("--hostd", hostd, "start this hostd binary (serving echo) instead of --port");
  app.add_option("--echo-plugin", echo_plugin, "the echo plugin the started hostd serves")
      ->capture_default_str();
  app.add_option("--hostd-arg", hostd_args, "extra argument for the started hostd (repeatable)");
  CLI11_PARSE(app, argc, argv);
  if (settings.requests == 0 && duration_s == 0) {
    std::fprintf(stderr, "bench_http: give --requests or --duration-s\n");
    return 2;
  }
  settings.duration = std::chrono::seconds(duration_s);
  settings.target = "/v1/models/" + model + "/predict";

  std::unique_ptr<mh::bench::HostdLauncher> launched;
  try {
    if (!hostd.empty()) {
      launched = std::make_unique<mh::bench::HostdLauncher>(hostd, echo_plugin, hostd_args);
      settings.host = "127.0.0.1";
      settings.port = launched->port();
    }
    const auto result = mh::bench::run_load(settings);
    std::printf("bench_http: POST %s on %s:%u, %u connections, %llu requests in %.2f s\n",
                settings.target.c_str(), settings.host.c_str(), settings.port, settings.connections,
                static_cast<unsigned long long>(result.ok + result.failed), result.seconds);
    std::printf("  requests/s  %.0f\n", result.requests_per_second());
    std::printf("  latency ms  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", result.percentile_ms(50),
                result.percentile_ms(90), result.percentile_ms(99), result.percentile_ms(100));
    std::printf("  ok %llu  failed %llu%s%s\n", static_cast<unsigned long long>(result.ok),
                static_cast<unsigned long long>(result.failed),
                result.first_error.empty() ? "" : "  first error: ", result.first_error.c_str());
    return result.failed == 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_http: %s\n", error.what());
    return 1;
  }
}
