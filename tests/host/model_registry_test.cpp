// The registry as the rest of hostd sees it: submit's outcomes (unknown, loading, busy,
// accepted), the deadline and cancellation it owns, plugin stats, the generations a status
// report lists while they drain, and the scan's warnings in a reload's changes. A real models
// directory with the echo and fixture plugins; every wait is bounded.
#include "model/model_registry.hpp"
#include "registry_harness.hpp"
#include "support/hostd_process.hpp"

#include <doctest/doctest.h>

#include <condition_variable>
#include <fstream>
#include <future>
#include <thread>

using namespace mh::host;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using mh::e2e::install_echo_model;
using mh::host::testing::RegistryHarness;

namespace {

struct RecordingSink : ReplySink {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::pair<mh_status, std::string>> finished;

  void chunk(std::string) override {}
  void finish(mh_status status, std::string body) override {
    std::lock_guard lock(mutex);
    finished.emplace(status, std::move(body));
    changed.notify_all();
  }
  // The finish, once it came (within 10 s).
  std::optional<std::pair<mh_status, std::string>> wait() {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 10s, [&] { return finished.has_value(); });
    return finished;
  }
  bool called() {
    std::lock_guard lock(mutex);
    return finished.has_value();
  }
};

InferenceRequest request(std::string body) {
  return InferenceRequest{"", "predict", std::move(body), false, 0};
}

// Polls `condition` every 10 ms for at most 10 s.
template <typename Condition>
bool eventually(Condition condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("registry: submit answers unknown, busy, accepted; cancel reaches the plugin") {
  RegistryHarness host;
  auto sink = std::make_shared<RecordingSink>();
  SubmitResult result = host.registry->submit("echo", request("{}"), sink);
  CHECK(result.outcome == ModelOutcome::unknown);
  CHECK(result.metrics_label.empty());
  CHECK(result.message == "model \"echo\" not found");

  install_echo_model(host.models(), "echo", "{}", R"("max_concurrency": 1, "max_queue": 0)");
  auto changes = host.reload();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].action == ReloadAction::added);
  CHECK(changes[0].state == ModelState::ready);
  CHECK(changes[0].warnings.empty());

  auto slow_sink = std::make_shared<RecordingSink>();
  SubmitResult slow = host.registry->submit("echo", request(R"({"delay_ms": 20000})"), slow_sink);
  REQUIRE(slow.outcome == ModelOutcome::accepted);
  CHECK(slow.metrics_label == "echo");
  CHECK(slow.handle.request_id().substr(0, 4) == "req-");

  SubmitResult busy = host.registry->submit("echo", request("{}"), sink);
  CHECK(busy.outcome == ModelOutcome::busy);
  CHECK(busy.metrics_label == "echo");
  CHECK(busy.retry_after == 1s);
  CHECK(busy.message.find("max_concurrency") != std::string::npos);
  CHECK_FALSE(sink->called());  // a refusal never reaches the sink

  slow.handle.cancel();
  auto cancelled = slow_sink->wait();
  REQUIRE(cancelled);
  CHECK(cancelled->first == MH_CANCELLED);

  SubmitResult fast = host.registry->submit("echo", request(R"({"a":1})"), sink);
  REQUIRE(fast.outcome == ModelOutcome::accepted);
  auto answer = sink->wait();
  REQUIRE(answer);
  CHECK(answer->first == MH_OK);
  CHECK(answer->second.find(R"("echo":{"a":1})") != std::string::npos);

  auto unloaded = host.registry->unload("echo");
  REQUIRE(unloaded);
  CHECK(unloaded->action == ReloadAction::unloaded);
  result = host.registry->submit("echo", request("{}"), std::make_shared<RecordingSink>());
  CHECK(result.outcome == ModelOutcome::unknown);
  CHECK(result.message.find("unloaded") != std::string::npos);
}

TEST_CASE("registry: a model on its first load answers loading with a retry hint") {
  RegistryHarness host;
  install_echo_model(host.models(), "slow", R"({"init_delay_ms": 1500})");
  host.reload(false);
  auto sink = std::make_shared<RecordingSink>();
  SubmitResult result = host.registry->submit("slow", request("{}"), sink);
  CHECK(result.outcome == ModelOutcome::loading);
  CHECK(result.retry_after == 2s);
  CHECK(result.metrics_label == "slow");
  CHECK(host.registry->plugin_stats("slow").outcome == ModelOutcome::loading);
  CHECK(host.registry->route("slow").kind == RouteResult::Kind::loading);
  CHECK_FALSE(host.registry->ready());
  CHECK(eventually([&] { return host.registry->ready(); }));
  CHECK(host.registry->submit("slow", request("{}"), sink).outcome == ModelOutcome::accepted);
  REQUIRE(sink->wait());
}

TEST_CASE("registry: past timeout_ms the sink hears MH_DEADLINE_EXCEEDED with the timeout") {
  RegistryHarness host{200ms};  // the hold plugin keeps its request until cleanup
  install_echo_model(host.models(), "held", "{}", R"("timeout_ms": 200)", MH_HOLD_PLUGIN);
  host.reload();
  auto sink = std::make_shared<RecordingSink>();
  REQUIRE(host.registry->submit("held", request("{}"), sink).outcome == ModelOutcome::accepted);
  auto answer = sink->wait();
  REQUIRE(answer);
  CHECK(answer->first == MH_DEADLINE_EXCEEDED);
  CHECK(answer->second == "the request took longer than the model's timeout_ms (200 ms)");
  // The plugin still holds it (it never checks): it counts until the plugin lets go.
  CHECK(host.status("held")->in_flight == 1);
}

TEST_CASE("registry: plugin stats, or why there are none") {
  RegistryHarness host;
  install_echo_model(host.models(), "counted", "{}", "", MH_STATS_PLUGIN);
  install_echo_model(host.models(), "echo");
  host.reload();
  auto sink = std::make_shared<RecordingSink>();
  REQUIRE(host.registry->submit("counted", request("{}"), sink).outcome == ModelOutcome::accepted);
  REQUIRE(sink->wait());
  PluginStatsResult stats = host.registry->plugin_stats("counted");
  CHECK(stats.outcome == ModelOutcome::accepted);
  CHECK(stats.json == R"({"requests":1,"reads":1})");
  stats = host.registry->plugin_stats("echo");
  CHECK(stats.outcome == ModelOutcome::unimplemented);
  stats = host.registry->plugin_stats("nope");
  CHECK(stats.outcome == ModelOutcome::unknown);
  CHECK(stats.message == "model \"nope\" not found");
}

TEST_CASE("registry: status lists a replaced generation while it drains; reloads carry warnings") {
  RegistryHarness host;
  const fs::path dir = install_echo_model(host.models(), "echo");
  host.reload();
  auto sink = std::make_shared<RecordingSink>();
  SubmitResult slow = host.registry->submit("echo", request(R"({"delay_ms": 20000})"), sink);
  REQUIRE(slow.outcome == ModelOutcome::accepted);
  CHECK(host.status("echo")->draining.empty());

  // A changed manifest, with a key hostd does not know.
  std::ofstream(dir / "model.json", std::ios::trunc)
      << R"({"plugin": "libmh_echo.so", "config": {}, "colour": "blue"})";
  auto changes = host.reload();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].action == ReloadAction::changed);
  REQUIRE(changes[0].warnings.size() == 1);
  CHECK(changes[0].warnings[0].find("unknown key \"colour\"") != std::string::npos);

  auto status = host.status("echo");
  REQUIRE(status);
  CHECK(status->state == ModelState::ready);
  CHECK(status->generation == 2);
  REQUIRE(status->draining.size() == 1);
  CHECK(status->draining[0].generation == 1);
  CHECK(status->draining[0].state == ModelState::draining);
  CHECK(status->draining[0].in_flight == 1);
  CHECK(status->in_flight == 1);

  // Its request ends (the client left): the old generation unloads, the list empties.
  slow.handle.cancel();
  REQUIRE(sink->wait());
  CHECK(eventually([&] { return host.status("echo")->draining.empty(); }));
  CHECK(host.reload()[0].action == ReloadAction::unchanged);
}
