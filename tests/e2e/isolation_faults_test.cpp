// Process isolation end to end (docs/architecture.md, "Fault containment"): a real hostd serves
// the echo model beside a deliberately bad one (tests/isolation/bad_plugins). For each fault,
// hostd stays up, echo answers at least 2,000 requests from 4 clients during the fault with no
// failure, the bad model's clients get the documented status, and the bad model recovers
// (restart) or is reported failed.
#include "hostd_e2e_helpers.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace mh::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

fs::path bad_plugin(const std::string& name) {
  return fs::path(MH_BAD_PLUGIN_DIR) / ("libmh_bad_" + name + ".so");
}

// 4 clients calling the echo model from start() until stop() (and at least 500 requests each,
// 2,000 in all), counting what did not answer 200.
class EchoLoad {
 public:
  explicit EchoLoad(const HostdProcess& hostd) {
    for (int c = 0; c < kClients; ++c) {
      clients_.emplace_back([this, c, endpoint = hostd.http()] {
        HttpClient client(endpoint);
        const auto give_up = std::chrono::steady_clock::now() + 90s;
        for (int i = 0;
             (i < kPerClient || !stop_.load()) && std::chrono::steady_clock::now() < give_up; ++i) {
          std::string problem;
          try {
            auto reply = predict(client, "echo", "{\"client\": " + std::to_string(c) + "}", 10s);
            if (reply.status != 200) problem = "HTTP " + std::to_string(reply.status) + reply.body;
          } catch (const std::exception& error) {
            problem = error.what();
          }
          ++answered_;
          if (!problem.empty()) {
            ++failures_;
            std::lock_guard lock(mutex_);
            if (first_failure_.empty()) first_failure_ = problem;
          }
        }
      });
    }
  }
  ~EchoLoad() { finish(); }

  // Stops the clients (once each made its share) and checks the count.
  void finish() {
    stop_.store(true);
    for (auto& client : clients_) {
      if (client.joinable()) client.join();
    }
  }
  void check() {
    finish();
    INFO("first echo failure: " << first_failure_);
    CHECK(failures_.load() == 0);
    CHECK(answered_.load() >= kClients * kPerClient);
  }

 private:
  static constexpr int kClients = 4;
  static constexpr int kPerClient = 500;
  std::vector<std::thread> clients_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::atomic<int> failures_{0};
  std::mutex mutex_;
  std::string first_failure_;
};

// A hostd serving "echo"; add_bad() adds "bad" (a bad plugin, with extra model.json keys).
struct FaultScene {
  HostdProcess hostd;
  AdminClient admin{hostd.admin()};
  HttpClient client{hostd.http()};

  explicit FaultScene(HostdOptions options = {}) : hostd(std::move(options)) {
    install_echo_model(hostd.models_dir(), "echo");
    reload_all(hostd);
    REQUIRE(admin.state("echo") == "ready");
  }
  void add_bad(const std::string& bad, const std::string& keys) {
    install_echo_model(hostd.models_dir(), "bad", "{}", keys, bad_plugin(bad));
    reload_all(hostd);
  }

  boost::json::object bad_status() { return admin.model("bad").value(); }
  // Waits (at most 20 s) until "bad" serves again after `restarts` restarts.
  bool wait_for_restart(std::int64_t restarts) {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    do {
      const auto status = bad_status();
      if (status.at("restarts") == restarts && status.at("state") == "ready") return true;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < give_up);
    return false;
  }
  std::string metrics() { return client.get("/metrics").body; }
};

}  // namespace

TEST_CASE("isolation_segfault_in_predict_crashes_restarts_then_fails") {
  FaultScene scene;
  scene.add_bad("segfault_in_predict",
                "\"restart\": {\"max_restarts\": 1, \"window_seconds\": 600}");
  REQUIRE(scene.admin.state("bad") == "ready");
  const auto first = scene.bad_status();
  CHECK(first.at("mode") == "process");
  REQUIRE(first.at("pid").is_int64());
  const std::int64_t first_pid = first.at("pid").as_int64();
  CHECK(first_pid != scene.hostd.pid());

  EchoLoad load(scene.hostd);
  // One request held in the plugin, then one that crashes it: both end with 500 naming the
  // model and the signal.
  HttpResponse held;
  std::thread holder([&] {
    HttpClient own(scene.hostd.http());
    held = predict(own, "bad", "{\"hold\": 1}", 20s);
  });
  // The held request reaches the runner first.
  for (int i = 0; i < 400 && scene.bad_status().at("in_flight") != 1; ++i) {
    std::this_thread::sleep_for(25ms);
  }
  const auto crashed = predict(scene.client, "bad", "{\"crash\": 1}", 20s);
  holder.join();
  for (const HttpResponse* reply : std::vector<const HttpResponse*>{&crashed, &held}) {
    CHECK(reply->status == 500);
    CHECK(contains(error_message(*reply), "model \"bad\" crashed"));
    CHECK(contains(error_message(*reply), "SIGSEGV"));
  }
  // Until the restart (1 s backoff) is ready: 503 with Retry-After.
  const auto meanwhile = predict(scene.client, "bad", "{}");
  if (meanwhile.status != 200) {  // the restart may have been quicker than this request
    CHECK(meanwhile.status == 503);
    CHECK(!meanwhile.header("retry-after").empty());
  }
  REQUIRE(scene.wait_for_restart(1));
  const auto after = scene.bad_status();
  CHECK(after.at("restarts") == 1);
  CHECK(after.at("crash").at("signal") == "SIGSEGV");
  CHECK(after.at("pid").as_int64() != first_pid);
  CHECK(predict(scene.client, "bad", "{\"hello\": 1}").status == 200);
  CHECK(contains(scene.metrics(),
                 "modelhost_model_crashes_total{model=\"bad\",signal=\"SIGSEGV\"} 1"));
  CHECK(contains(scene.metrics(), "modelhost_model_restarts_total{model=\"bad\"} 1"));

  // A second crash within the window is one more than restart.max_restarts: failed.
  CHECK(predict(scene.client, "bad", "{\"crash\": 2}", 20s).status == 500);
  REQUIRE(scene.admin.wait_for_state("bad", "failed", 20s));
  CHECK(contains(scene.bad_status().at("error").as_string(), "restart.max_restarts"));
  const auto refused = predict(scene.client, "bad", "{}");
  CHECK(refused.status == 503);
  load.check();
  CHECK(scene.hostd.running());
}

TEST_CASE("isolation_abort_in_init_is_reported_failed") {
  FaultScene scene;
  EchoLoad load(scene.hostd);  // from before the fault
  scene.add_bad("abort_in_init", "");
  // The first load failed (an init that crashes is not restarted; a reload tries again).
  CHECK(scene.admin.state("bad") == "failed");
  CHECK(contains(scene.bad_status().at("error").as_string(), "SIGABRT"));
  const auto refused = predict(scene.client, "bad", "{}");
  CHECK(refused.status == 503);
  CHECK(contains(error_message(refused), "SIGABRT"));
  // The operator's file is named, never hostd's private copy.
  CHECK(!contains(scene.bad_status().at("plugin_path").as_string(), ".plugins"));
  load.check();
  CHECK(scene.hostd.running());
}

TEST_CASE("isolation_exit_in_cleanup_still_unloads") {
  FaultScene scene;
  scene.add_bad("exit_in_cleanup", "");
  REQUIRE(scene.admin.state("bad") == "ready");
  CHECK(predict(scene.client, "bad", "{\"x\": 1}").status == 200);
  EchoLoad load(scene.hostd);
  // A new generation (changed model.json): the old one's cleanup exits 42 instead of answering.
  install_echo_model(scene.hostd.models_dir(), "bad", "{}", "\"max_queue\": 9",
                     bad_plugin("exit_in_cleanup"));
  reload_all(scene.hostd);
  CHECK(scene.hostd.wait_for_log("exited with code 42", 20s));
  CHECK(scene.hostd.wait_for_log("model bad: generation 1 unloaded", 20s));
  CHECK(scene.admin.state("bad") == "ready");
  CHECK(scene.bad_status().at("generation") == 2);
  CHECK(predict(scene.client, "bad", "{\"x\": 2}").status == 200);
  load.check();
  CHECK(scene.hostd.running());
}

TEST_CASE("isolation_predict_never_finishes_is_stuck_and_replaced") {
  FaultScene scene;
  scene.add_bad("predict_never_finishes",
                "\"timeout_ms\": 300, \"stuck_grace_ms\": 300, \"max_concurrency\": 1, "
                "\"max_queue\": 0");
  REQUIRE(scene.admin.state("bad") == "ready");
  EchoLoad load(scene.hostd);
  const auto late = predict(scene.client, "bad", "{}");
  CHECK(late.status == 504);
  // Stuck after the grace: counted, its slot back, a new runner takes over and the old one is
  // killed once drained.
  CHECK(scene.hostd.wait_for_log("is stuck", 10s));
  CHECK(scene.hostd.wait_for_log("stuck past their deadline", 20s));
  REQUIRE(scene.admin.wait_for_state("bad", "ready", 20s));
  CHECK(contains(scene.metrics(), "modelhost_requests_stuck_total{model=\"bad\"} 1"));
  // The replaced generation drained (its stuck request gave its slot back) and is gone; the
  // successor takes requests.
  CHECK(scene.hostd.wait_for_log("model bad: generation 1 unloaded", 20s));
  CHECK(scene.bad_status().at("generation") == 2);
  CHECK(predict(scene.client, "bad", "{}").status == 504);
  load.check();
  CHECK(scene.hostd.running());
}

TEST_CASE("isolation_none_predict_never_finishes_is_reported_and_frees_its_slot") {
  FaultScene scene;
  scene.add_bad("predict_never_finishes",
                "\"isolation\": \"none\", \"timeout_ms\": 300, \"stuck_grace_ms\": 300, "
                "\"max_concurrency\": 1, \"max_queue\": 0");
  REQUIRE(scene.admin.state("bad") == "ready");
  CHECK(scene.bad_status().at("mode") == "none");
  CHECK(scene.bad_status().at("pid").is_null());
  EchoLoad load(scene.hostd);
  CHECK(predict(scene.client, "bad", "{}").status == 504);
  CHECK(scene.hostd.wait_for_log("is stuck", 10s));
  CHECK(scene.bad_status().at("stuck") == 1);
  CHECK(scene.bad_status().at("generation") == 1);          // in-process: reported only
  CHECK(predict(scene.client, "bad", "{}").status == 504);  // not 429: the slot came back
  load.check();
  CHECK(scene.hostd.running());
}

TEST_CASE("isolation_init_loops_forever_is_killed_at_the_load_timeout") {
  FaultScene scene;
  EchoLoad load(scene.hostd);  // from before the fault
  scene.add_bad("init_loops_forever", "\"load_timeout_ms\": 1000");
  REQUIRE(scene.admin.wait_for_state("bad", "failed", 20s));
  const auto status = scene.bad_status();
  CHECK(contains(status.at("error").as_string(), "init did not finish within 1000 ms"));
  CHECK(status.at("pid").is_null());  // the runner was killed: its CPU and memory returned
  CHECK(scene.hostd.wait_for_log("was stopped by hostd", 10s));
  CHECK(predict(scene.client, "bad", "{}").status == 503);
  load.check();
  CHECK(scene.hostd.running());
}

TEST_CASE("isolation_memory_leak_hits_the_limit_and_restarts") {
  FaultScene scene;
  scene.add_bad("leaks_memory_per_request", "\"limits\": {\"memory\": \"512MiB\"}");
  REQUIRE(scene.admin.state("bad") == "ready");
  EchoLoad load(scene.hostd);
  // 32 MiB a request: the runner's address-space limit ends it within a few dozen requests.
  HttpResponse reply;
  int requests = 0;
  for (; requests < 100; ++requests) {
    reply = predict(scene.client, "bad", "{\"n\": " + std::to_string(requests) + "}", 20s);
    if (reply.status != 200) break;
  }
  INFO("after " << requests << " requests: " << reply.body);
  CHECK(reply.status == 500);
  CHECK(contains(error_message(reply), "model \"bad\" crashed"));
  REQUIRE(scene.wait_for_restart(1));
  CHECK(predict(scene.client, "bad", "{\"again\": 1}").status == 200);
  load.check();
  CHECK(scene.hostd.running());
}

// A request the plugin never finishes, still in it when a reload's drain times out: told to
// stop, then stuck after the grace like a request past its deadline — counted, its client
// answered 503 — and the old generation unloads (an isolated one's runner is killed first).
static void drain_timeout_cuts_a_stuck_request(const std::string& isolation) {
  HostdOptions options;
  options.extra_args = {"--drain-timeout-ms", "300"};
  FaultScene scene(std::move(options));
  const std::string keys = "\"isolation\": \"" + isolation + "\", \"stuck_grace_ms\": 300";
  scene.add_bad("predict_never_finishes", keys);
  REQUIRE(scene.admin.state("bad") == "ready");
  EchoLoad load(scene.hostd);
  HttpResponse held;
  std::thread holder([&] {
    HttpClient own(scene.hostd.http());
    held = predict(own, "bad", "{}", 30s);
  });
  for (int i = 0; i < 400 && scene.bad_status().at("in_flight") != 1; ++i) {
    std::this_thread::sleep_for(25ms);
  }
  // A new generation (changed model.json): the old one drains, and its drain times out.
  install_echo_model(scene.hostd.models_dir(), "bad", "{}", keys + ", \"max_queue\": 9",
                     bad_plugin("predict_never_finishes"));
  reload_all(scene.hostd);
  holder.join();
  CHECK(held.status == 503);
  CHECK(contains(error_message(held), "unloaded before the request finished"));
  CHECK(scene.hostd.wait_for_log("after its unload (the drain timeout passed)", 10s));
  CHECK(scene.hostd.wait_for_log("model bad: generation 1 unloaded", 20s));
  if (isolation == "process") CHECK(scene.hostd.wait_for_log("stuck past their deadline", 10s));
  CHECK(contains(scene.metrics(), "modelhost_requests_stuck_total{model=\"bad\"} 1"));
  CHECK(scene.bad_status().at("generation") == 2);
  load.check();
  CHECK(scene.hostd.running());
}

TEST_CASE("isolation_drain_timeout_request_is_stuck_and_its_runner_killed") {
  drain_timeout_cuts_a_stuck_request("process");
}

TEST_CASE("isolation_none_drain_timeout_request_is_stuck_and_answered") {
  drain_timeout_cuts_a_stuck_request("none");
}
