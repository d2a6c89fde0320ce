// bench_isolation: what process isolation costs on the echo model, in one run.
//
//   bench_isolation                      # hostd from this build, 4 connections, 3 rounds
//   bench_isolation -c 16 -n 40000 --rounds 5
//
// Each round starts a hostd with --default-isolation none (the plugin inside hostd), measures
// echo, stops it, then does the same with --default-isolation process (the plugin in a runner
// process); rounds alternate so that a noisy machine hurts both alike. Reports each mode's
// best round (requests/s, p50, p99) and the ratio process / none. Llama streaming tokens/s:
// tools/bench_llama against a hostd started with either --default-isolation.
#include "hostd_launcher.hpp"
#include "load_generator.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct ModeResult {
  std::string mode;
  mh::bench::LoadResult best;
  bool measured = false;
};

}  // namespace

int main(int argc, char** argv) {
  mh::bench::LoadSettings settings;
  settings.requests = 20000;
  std::string hostd = MH_HOSTD_BINARY;
  std::string echo_plugin = MH_ECHO_PLUGIN;
  unsigned rounds = 3;

  CLI::App app{"bench_isolation: echo over HTTP with isolation none vs process"};
  app.add_option("--hostd", hostd, "the hostd binary (mh-runner beside it)")->capture_default_str();
  app.add_option("--echo-plugin", echo_plugin, "the echo plugin")->capture_default_str();
  app.add_option("-c,--connections", settings.connections, "concurrent keep-alive connections")
      ->capture_default_str();
  app.add_option("-n,--requests", settings.requests, "measured requests per round and mode")
      ->capture_default_str();
  app.add_option("--warmup", settings.warmup, "unmeasured requests per connection first")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "rounds per mode (the best is reported)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100u));
  app.add_option("--body", settings.body, "the JSON request body")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<ModeResult> modes = {{"none", {}, false}, {"process", {}, false}};
  std::uint64_t failed = 0;
  try {
    for (unsigned round = 1; round <= rounds; ++round) {
      for (ModeResult& mode : modes) {
        mh::bench::HostdLauncher launched(hostd, echo_plugin, {"--default-isolation", mode.mode});
        settings.port = launched.port();
        const auto result = mh::bench::run_load(settings);
        failed += result.failed;
        std::printf("round %u  isolation %-8s %8.0f requests/s  p50 %.3f ms  p99 %.3f ms%s%s\n",
                    round, mode.mode.c_str(), result.requests_per_second(),
                    result.percentile_ms(50), result.percentile_ms(99),
                    result.failed == 0 ? "" : "  FAILED: ", result.first_error.c_str());
        if (!mode.measured || result.requests_per_second() > mode.best.requests_per_second()) {
          mode.best = result;
          mode.measured = true;
        }
      }
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_isolation: %s\n", error.what());
    return 1;
  }
  std::printf("\nbest of %u rounds, %u connections, %llu requests each:\n", rounds,
              settings.connections, static_cast<unsigned long long>(settings.requests));
  for (const ModeResult& mode : modes) {
    std::printf("  isolation %-8s %8.0f requests/s  p50 %.3f ms  p99 %.3f ms\n", mode.mode.c_str(),
                mode.best.requests_per_second(), mode.best.percentile_ms(50),
                mode.best.percentile_ms(99));
  }
  const double none = modes[0].best.requests_per_second();
  const double process = modes[1].best.requests_per_second();
  std::printf("  process / none: %.2fx requests/s (target >= 0.80x)\n",
              none > 0 ? process / none : 0.0);
  return failed == 0 ? 0 : 1;
}
