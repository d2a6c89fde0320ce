// soak: a bounded mixed load against a running hostd on loopback (valid, invalid and abandoned
// requests, slow readers, reloads through the admin socket, Llama streams), printing hostd's
// RSS, open fds and threads at the start, after the warm-up and at the end. Exits nonzero when
// they grew beyond a tolerance after the warm-up, when a request got an answer hostd must not
// give, or when hostd died. Not a test of speed: a test that nothing accumulates.
#include "process_sample.hpp"
#include "soak_client.hpp"
#include "traffic.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using namespace mh::soak;
using Clock = std::chrono::steady_clock;
namespace http = boost::beast::http;
namespace json = boost::json;

struct Options {
  TrafficSettings traffic;
  std::filesystem::path admin_socket;
  long pid = 0;
  double minutes = 5;
  double warmup_seconds = 60;
  unsigned clients = 8;
  double reload_every_seconds = 15;
  std::filesystem::path reload_manifest;
  double rss_tolerance_mb = 32;
  unsigned fd_tolerance = 16;
  unsigned thread_tolerance = 4;
};

constexpr int kExitGrew = 1;
constexpr int kExitHostdGone = 3;

void print_sample(const char* when, const ProcessSample& sample) {
  std::printf("%-22s %s\n", when, to_string(sample).c_str());
  std::fflush(stdout);
}

// hostd's pid from GET /admin/status.
std::optional<long> pid_from_status(const Options& options) {
  const Answer answer = admin_request(options.admin_socket, http::verb::get, "/admin/status", "",
                                      std::chrono::seconds(10));
  if (!answer.ok() || answer.status != 200) {
    std::fprintf(
        stderr, "soak: GET /admin/status on %s: %s\n", options.admin_socket.c_str(),
        answer.ok() ? ("HTTP " + std::to_string(answer.status)).c_str() : answer.error.c_str());
    return std::nullopt;
  }
  boost::system::error_code error;
  const json::value status = json::parse(answer.body, error);
  if (error || !status.is_object()) return std::nullopt;
  const json::value* pid = status.as_object().if_contains("hostd");
  if (pid == nullptr || !pid->is_object()) return std::nullopt;
  pid = pid->as_object().if_contains("pid");
  if (pid == nullptr || !pid->is_int64()) return std::nullopt;
  return pid->as_int64();
}

bool model_ready(const Options& options, const std::string& name) {
  Connection connection(options.traffic.host, options.traffic.port, std::chrono::seconds(10));
  Request request(http::verb::get, "/v2/models/" + name + "/ready", 11);
  request.set(http::field::host, options.traffic.host);
  return connection.exchange(request).status == 200;
}

// Rewrites a comment key of the manifest, so the next reload makes a new generation of it.
bool touch_manifest(const std::filesystem::path& path, unsigned generation, std::string& error) {
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code code;
  json::value manifest = json::parse(text, code);
  if (code || !manifest.is_object()) {
    error = path.string() + ": not a JSON object";
    return false;
  }
  manifest.as_object()["_soak_generation"] = generation;
  const std::filesystem::path temporary = path.string() + ".soak-tmp";
  std::ofstream(temporary) << json::serialize(manifest) << "\n";
  std::filesystem::rename(temporary, path, code);
  if (code) error = path.string() + ": " + code.message();
  return !code;
}

// One reload through the admin API; "" when it applied without errors.
std::string reload_once(const Options& options, unsigned generation) {
  std::string error;
  if (!options.reload_manifest.empty() &&
      !touch_manifest(options.reload_manifest, generation, error)) {
    return error;
  }
  const Answer answer =
      admin_request(options.admin_socket, http::verb::post, "/admin/reload",
                    R"({"wait": true, "timeout_ms": 60000})", std::chrono::seconds(90));
  if (!answer.ok()) return "POST /admin/reload: " + answer.error;
  const std::string shown = "POST /admin/reload: HTTP " + std::to_string(answer.status) + " " +
                            answer.body.substr(0, 300);
  if (answer.status != 200) return shown;
  boost::system::error_code code;
  const json::value body = json::parse(answer.body, code);
  const json::value* changes =
      code || !body.is_object() ? nullptr : body.as_object().if_contains("changes");
  if (changes == nullptr || !changes->is_array()) return shown;
  for (const json::value& change : changes->as_array()) {
    const json::value* change_error =
        change.is_object() ? change.as_object().if_contains("error") : nullptr;
    if (change_error != nullptr && !change_error->is_null()) return shown;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{
      "soak: a bounded mixed load against a running hostd on loopback.\n"
      "Client threads send valid echo requests and streams, invalid ones (bad JSON, unknown "
      "model, wrong method, over the body limit, not HTTP), requests abandoned mid-head, "
      "mid-body and mid-stream, slow readers of long streams, and (with --llama-model) OpenAI "
      "chat streams; a reloader posts /admin/reload to the admin socket every "
      "--reload-every-s (with --reload-manifest, after rewriting that model.json's "
      "\"_soak_generation\" key, so each reload swaps in a new generation).\n"
      "hostd's RSS, open fds and threads (from /proc/PID) are printed at the start, after the "
      "warm-up, each minute, and at the end (after the load stopped and hostd settled for 3 s).\n"
      "Exit status: 0 when nothing grew beyond the tolerances after the warm-up and every "
      "answer was one hostd may give; 1 otherwise; 3 when hostd died; 2 on a usage error.\n"
      "Example (hostd started by tools/serve.sh):\n"
      "  soak --port 8080 --admin-socket /tmp/modelhost-$UID/admin.sock --minutes 5 \\\n"
      "       --llama-model llama-tiny --reload-manifest manifests/echo/model.json"};
  app.add_option("--host", options.traffic.host, "hostd's public listener address")
      ->capture_default_str();
  app.add_option("--port", options.traffic.port, "hostd's public listener port")->required();
  app.add_option("--admin-socket", options.admin_socket,
                 "hostd's admin socket: for reloads, and for hostd's pid (GET /admin/status)")
      ->required();
  app.add_option("--pid", options.pid, "hostd's pid (default: from GET /admin/status)");
  app.add_option("--minutes", options.minutes, "how long the load runs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup-seconds", options.warmup_seconds,
                 "load before the reference sample (at most a third of the run)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--clients", options.clients, "concurrent client threads")
      ->capture_default_str()
      ->check(CLI::Range(1u, 512u));
  app.add_option("--echo-model", options.traffic.echo_model, "the echo model's name")
      ->capture_default_str();
  app.add_option("--llama-model", options.traffic.llama_model,
                 "a Llama model to stream chat completions from (skipped unless it is ready)");
  app.add_option("--reload-every-s", options.reload_every_seconds,
                 "seconds between reloads (0: no reloads)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--reload-manifest", options.reload_manifest,
                 "a model.json in hostd's models directory to change before each reload")
      ->check(CLI::ExistingFile);
  app.add_option("--rss-tolerance-mb", options.rss_tolerance_mb,
                 "RSS growth allowed after the warm-up")
      ->capture_default_str();
  app.add_option("--fd-tolerance", options.fd_tolerance, "fd growth allowed after the warm-up")
      ->capture_default_str();
  app.add_option("--thread-tolerance", options.thread_tolerance,
                 "thread growth allowed after the warm-up")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (options.pid == 0) {
    const auto pid = pid_from_status(options);
    if (!pid) return 2;
    options.pid = *pid;
  }
  if (options.traffic.llama_model && !model_ready(options, *options.traffic.llama_model)) {
    std::printf("soak: %s is not ready: no Llama streams\n", options.traffic.llama_model->c_str());
    options.traffic.llama_model.reset();
  }
  const auto run_time = std::chrono::duration<double>(options.minutes * 60);
  const auto warmup =
      std::chrono::duration<double>(std::min(options.warmup_seconds, options.minutes * 20));
  std::printf(
      "soak: hostd pid %ld, %u clients, %.1f min (warm-up %.0f s), reloads every %.0f s%s%s\n",
      options.pid, options.clients, options.minutes, warmup.count(), options.reload_every_seconds,
      options.traffic.llama_model ? ", Llama streams from " : "",
      options.traffic.llama_model ? options.traffic.llama_model->c_str() : "");

  const pid_t pid = static_cast<pid_t>(options.pid);
  const auto start_sample = sample_process(pid);
  if (!start_sample) {
    std::fprintf(stderr, "soak: cannot read /proc/%ld\n", options.pid);
    return kExitHostdGone;
  }
  print_sample("start", *start_sample);

  Tally tally;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (unsigned i = 0; i < options.clients; ++i) {
    clients.emplace_back([&, i] {
      Client client(options.traffic, 0x50a4u + i);
      while (!stop.load()) client.run_one(tally);
    });
  }
  std::atomic<unsigned> reloads{0};
  std::vector<std::string> reload_errors;
  std::thread reloader([&] {
    if (options.reload_every_seconds <= 0) return;
    auto next = Clock::now();
    while (!stop.load()) {
      next += std::chrono::milliseconds(static_cast<long>(options.reload_every_seconds * 1000));
      while (!stop.load() && Clock::now() < next) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (stop.load()) break;
      const std::string error = reload_once(options, reloads.load() + 1);
      ++reloads;
      if (!error.empty()) reload_errors.push_back(error);
    }
  });

  const auto began = Clock::now();
  std::optional<ProcessSample> warm_sample;
  std::optional<ProcessSample> loaded_sample;
  bool hostd_gone = false;
  auto next_report = began + std::chrono::minutes(1);
  while (Clock::now() - began < run_time) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const auto sample = sample_process(pid);
    if (!sample) {
      hostd_gone = true;
      break;
    }
    loaded_sample = sample;
    if (!warm_sample && Clock::now() - began >= warmup) {
      warm_sample = sample;
      print_sample("after warm-up", *sample);
    }
    if (Clock::now() >= next_report) {
      const auto minutes =
          std::chrono::duration_cast<std::chrono::minutes>(Clock::now() - began).count();
      print_sample(("minute " + std::to_string(minutes)).c_str(), *sample);
      next_report += std::chrono::minutes(1);
    }
  }
  if (loaded_sample) print_sample("end of load", *loaded_sample);
  stop = true;
  for (auto& client : clients) client.join();
  reloader.join();

  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto end_sample = sample_process(pid);
  if (hostd_gone || !end_sample) {
    std::printf("soak: FAILED: hostd (pid %ld) is gone\n", options.pid);
    return kExitHostdGone;
  }
  print_sample("end (settled)", *end_sample);
  if (!warm_sample) warm_sample = start_sample;

  std::printf("\n%-14s %10s %10s\n", "exchange", "count", "unexpected");
  for (std::size_t i = 0; i < kKinds; ++i) {
    const auto kind = static_cast<Kind>(i);
    std::printf("%-14s %10llu %10llu\n", to_string(kind),
                static_cast<unsigned long long>(tally.total(kind)),
                static_cast<unsigned long long>(tally.unexpected(kind)));
  }
  std::printf("%-14s %10u %10zu\n", "reloads", reloads.load(), reload_errors.size());

  bool failed = false;
  const double rss_growth_mb =
      (static_cast<double>(end_sample->rss_kb) - static_cast<double>(warm_sample->rss_kb)) / 1024.0;
  const long fd_growth = static_cast<long>(end_sample->fds) - static_cast<long>(warm_sample->fds);
  const long thread_growth =
      static_cast<long>(end_sample->threads) - static_cast<long>(warm_sample->threads);
  std::printf(
      "\ngrowth after warm-up: rss %+.1f MB (tolerance %.0f), fds %+ld (%u), threads %+ld (%u)\n",
      rss_growth_mb, options.rss_tolerance_mb, fd_growth, options.fd_tolerance, thread_growth,
      options.thread_tolerance);
  if (rss_growth_mb > options.rss_tolerance_mb || fd_growth > options.fd_tolerance ||
      thread_growth > options.thread_tolerance) {
    std::printf("soak: FAILED: hostd grew beyond the tolerance after the warm-up\n");
    failed = true;
  }
  if (tally.unexpected_total() != 0) {
    std::printf("soak: FAILED: %llu unexpected answers, e.g.\n%s",
                static_cast<unsigned long long>(tally.unexpected_total()),
                tally.examples().c_str());
    failed = true;
  }
  if (!reload_errors.empty()) {
    std::printf("soak: FAILED: %zu reloads failed, e.g. %s\n", reload_errors.size(),
                reload_errors.front().c_str());
    failed = true;
  }
  if (!failed) std::printf("soak: ok\n");
  return failed ? kExitGrew : 0;
}
