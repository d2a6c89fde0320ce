// bench_isolation: what process isolation costs, in one run.
//
//   bench_isolation                      # hostd from this build, 4 connections, 3 rounds
//   bench_isolation -n 10000 --rounds 5
//   bench_isolation --no-llama           # echo only
//
// Echo: each round starts a hostd with --default-isolation none (the plugin inside hostd),
// measures echo requests/s, stops it, then does the same with --default-isolation process (the
// plugin in a runner process); rounds alternate so that a noisy machine hurts both alike.
// Llama-tiny: the same with the Llama plugin on the tiny random-weight checkpoint (the shape of
// tests/fixtures/tiny-llama3 with the real Llama 3 vocabulary, as tools/llama_checkpoint
// --preset tiny writes it and the Llama e2e tests use it), on the CPU: closed-loop streaming
// clients, generated tokens/s and time to the first event. Reports each mode's best round and
// the ratio process / none. Without the Llama plugin in this build, that part is skipped.
#include "hostd_launcher.hpp"
#include "load_generator.hpp"
#include "model_hostd.hpp"
#include "stream_load.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using mh::bench::LoadResult;
using mh::bench::StreamResult;

#ifdef MH_LLAMA_PLUGIN
constexpr const char* kLlamaPlugin = MH_LLAMA_PLUGIN;
#else
constexpr const char* kLlamaPlugin = "";
#endif

const std::vector<std::string> kModes = {"none", "process"};

struct LlamaSettings {
  std::string plugin = kLlamaPlugin;
  std::string model_dir;  // empty: written by llama_checkpoint into a temporary folder
  unsigned rounds = 3;
  unsigned connections = 4;
  std::uint64_t streams = 32;
  unsigned tokens = 64;
};

// Echo requests/s per mode; false when a request failed.
bool bench_echo(const std::string& hostd, const std::string& echo_plugin,
                mh::bench::LoadSettings settings, unsigned rounds) {
  std::vector<LoadResult> best(kModes.size());
  std::uint64_t failed = 0;
  for (unsigned round = 1; round <= rounds; ++round) {
    for (std::size_t m = 0; m < kModes.size(); ++m) {
      mh::bench::HostdLauncher launched(hostd, echo_plugin, {"--default-isolation", kModes[m]});
      settings.port = launched.port();
      const LoadResult result = mh::bench::run_load(settings);
      failed += result.failed;
      std::printf(
          "round %u  echo   isolation %-8s %8.0f requests/s  p50 %.3f ms  p99 %.3f ms%s%s\n", round,
          kModes[m].c_str(), result.requests_per_second(), result.percentile_ms(50),
          result.percentile_ms(99),
          result.failed == 0 ? "" : "  FAILED: ", result.first_error.c_str());
      std::fflush(stdout);
      if (result.requests_per_second() > best[m].requests_per_second()) best[m] = result;
    }
  }
  std::printf("\necho: best of %u rounds, %u connections, %llu requests each:\n", rounds,
              settings.connections, static_cast<unsigned long long>(settings.requests));
  for (std::size_t m = 0; m < kModes.size(); ++m) {
    std::printf("  isolation %-8s %8.0f requests/s  p50 %.3f ms  p99 %.3f ms\n", kModes[m].c_str(),
                best[m].requests_per_second(), best[m].percentile_ms(50),
                best[m].percentile_ms(99));
  }
  const double none = best[0].requests_per_second();
  std::printf("  process / none: %.2fx requests/s (target >= 0.80x)\n\n",
              none > 0 ? best[1].requests_per_second() / none : 0.0);
  return failed == 0;
}

std::string llama_manifest(const LlamaSettings& llama, const std::string& mode) {
  return R"({"plugin": "libmh_llama.so", "isolation": ")" + mode +
         R"(", "config": {"device": "cpu", "dtype": "float32", "max_batch": )" +
         std::to_string(llama.connections) + R"(, "max_new_tokens_limit": 4096, "model_dir": ")" +
         llama.model_dir + R"("}, "max_concurrency": 64, "timeout_ms": 600000})";
}

// Llama-tiny streaming tokens/s per mode; false when a stream failed.
bool bench_llama(const std::string& hostd, LlamaSettings llama) {
  if (llama.plugin.empty()) {
    std::printf("llama: skipped (this build has no Llama plugin: MODELHOST_BUILD_LLAMA=OFF)\n");
    return true;
  }
  fs::path scratch;
  if (llama.model_dir.empty()) {
    char pattern[] = "/tmp/mh-bench-llama-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    scratch = pattern;
    llama.model_dir = (scratch / "tiny").string();
    mh::bench::run_to_completion(
        {MH_LLAMA_CHECKPOINT_TOOL, "--preset", "tiny", "--out", llama.model_dir, "--seed", "7",
         "--tokenizer-dir", MH_LLAMA3_TOKENIZER_DIR},
        scratch / "llama_checkpoint.log");
  }
  mh::bench::StreamSettings settings;
  settings.connections = llama.connections;
  settings.requests = llama.streams;
  settings.body = R"({"prompt": "Once upon a time", "max_new_tokens": )" +
                  std::to_string(llama.tokens) +
                  R"(, "ignore_eos": true, "temperature": 0, "stream": true})";
  std::vector<StreamResult> best(kModes.size());
  std::uint64_t failed = 0;
  for (unsigned round = 1; round <= llama.rounds; ++round) {
    for (std::size_t m = 0; m < kModes.size(); ++m) {
      mh::bench::ModelHostdSpec spec;
      spec.hostd = hostd;
      spec.model = "tiny";
      spec.plugin = llama.plugin;
      spec.manifest_json = llama_manifest(llama, kModes[m]);
      mh::bench::ModelHostd launched(spec);
      settings.port = launched.port();
      const StreamResult result = mh::bench::run_stream_load(settings);
      failed += result.failed;
      std::printf(
          "round %u  llama  isolation %-8s %8.0f tokens/s    TTFT p50 %.2f ms  p99 %.2f ms%s%s\n",
          round, kModes[m].c_str(), result.tokens_per_second(), result.ttft_percentile_ms(50),
          result.ttft_percentile_ms(99),
          result.failed == 0 ? "" : "  FAILED: ", result.first_error.c_str());
      std::fflush(stdout);
      if (result.tokens_per_second() > best[m].tokens_per_second()) best[m] = result;
    }
  }
  std::printf(
      "\nllama-tiny (CPU, greedy): best of %u rounds, %u streaming connections, %llu streams "
      "of %u tokens each:\n",
      llama.rounds, llama.connections, static_cast<unsigned long long>(llama.streams),
      llama.tokens);
  for (std::size_t m = 0; m < kModes.size(); ++m) {
    std::printf("  isolation %-8s %8.0f tokens/s    TTFT p50 %.2f ms  p99 %.2f ms\n",
                kModes[m].c_str(), best[m].tokens_per_second(), best[m].ttft_percentile_ms(50),
                best[m].ttft_percentile_ms(99));
  }
  const double none = best[0].tokens_per_second();
  std::printf("  process / none: %.2fx tokens/s (target: no measurable loss)\n",
              none > 0 ? best[1].tokens_per_second() / none : 0.0);
  if (!scratch.empty()) {
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
  }
  return failed == 0;
}

}  // namespace

int main(int argc, char** argv) {
  mh::bench::LoadSettings settings;
  settings.requests = 20000;
  std::string hostd = MH_HOSTD_BINARY;
  std::string echo_plugin = MH_ECHO_PLUGIN;
  unsigned rounds = 3;
  bool no_echo = false;
  bool no_llama = false;
  LlamaSettings llama;

  CLI::App app{"bench_isolation: echo and Llama-tiny over HTTP with isolation none vs process"};
  app.add_option("--hostd", hostd, "the hostd binary (mh-runner beside it)")->capture_default_str();
  app.add_option("--echo-plugin", echo_plugin, "the echo plugin")->capture_default_str();
  app.add_option("-c,--connections", settings.connections, "echo: keep-alive connections")
      ->capture_default_str();
  app.add_option("-n,--requests", settings.requests, "echo: measured requests per round and mode")
      ->capture_default_str();
  app.add_option("--warmup", settings.warmup, "echo: unmeasured requests per connection first")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "echo: rounds per mode (the best is reported)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100u));
  app.add_option("--body", settings.body, "echo: the JSON request body")->capture_default_str();
  app.add_flag("--no-echo", no_echo, "skip the echo part");
  app.add_flag("--no-llama", no_llama, "skip the Llama part");
  app.add_option("--llama-plugin", llama.plugin, "the Llama plugin (empty: skip that part)")
      ->capture_default_str();
  app.add_option("--llama-model-dir", llama.model_dir,
                 "a Llama checkpoint folder (default: tools/llama_checkpoint --preset tiny)");
  app.add_option("--llama-rounds", llama.rounds, "llama: rounds per mode (the best is reported)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100u));
  app.add_option("--llama-connections", llama.connections,
                 "llama: concurrent streams (also the plugin's max_batch)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_option("--llama-streams", llama.streams, "llama: measured streams per round and mode")
      ->capture_default_str();
  app.add_option("--llama-tokens", llama.tokens, "llama: tokens generated per stream")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  CLI11_PARSE(app, argc, argv);

  bool ok = true;
  try {
    if (!no_echo) ok = bench_echo(hostd, echo_plugin, settings, rounds) && ok;
    if (!no_llama) ok = bench_llama(hostd, llama) && ok;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_isolation: %s\n", error.what());
    return 1;
  }
  return ok ? 0 : 1;
}
