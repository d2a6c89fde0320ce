// A generation driven through the C ABI: init, predict, cleanup with the echo plugin; the
// response's promises (check_cancelled, write on a non-stream); a plugin that finishes twice;
// the deadline timer and cancellation; the plugin stats extension.
#include "model/model_instance.hpp"
#include "plugin/in_process_backend.hpp"
#include "support/hostd_process.hpp"

#include <doctest/doctest.h>
#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <future>

using namespace mh::host;
using namespace std::chrono_literals;

namespace {

struct RecordingSink : ReplySink {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> chunks;
  std::vector<std::pair<mh_status, std::string>> finishes;

  void chunk(std::string data) override {
    std::lock_guard lock(mutex);
    chunks.push_back(std::move(data));
  }
  void finish(mh_status status, std::string body) override {
    std::lock_guard lock(mutex);
    finishes.emplace_back(status, std::move(body));
    changed.notify_all();
  }
  bool wait_finished() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return !finishes.empty(); });
  }
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Harness {
  LibraryUnloader unloader{100ms};
  boost::asio::thread_pool pool{2};
  ~Harness() {
    pool.stop();
    pool.join();
  }

  std::shared_ptr<ModelInstance> load(const std::filesystem::path& plugin,
                                      std::string config = "{}", std::uint64_t timeout_ms = 0,
                                      std::size_t max_concurrency = 2) {
    InstanceSpec spec;
    spec.name = "test";
    spec.config_json = std::move(config);
    spec.max_concurrency = max_concurrency;
    spec.max_queue = 2;
    spec.timeout_ms = timeout_ms;
    return ModelInstance::create(
        spec, std::make_shared<InProcessBackend>(PluginLibrary::load(plugin), &unloader),
        pool.get_executor(), pool.get_executor());
  }

  static std::pair<mh_status, std::string> init(const std::shared_ptr<ModelInstance>& instance,
                                                std::chrono::milliseconds timeout = 5s) {
    std::promise<std::pair<mh_status, std::string>> result;
    instance->init(timeout, [&](mh_status status, std::string message) {
      result.set_value({status, std::move(message)});
    });
    return result.get_future().get();
  }

  static void cleanup(const std::shared_ptr<ModelInstance>& instance) {
    std::promise<void> done;
    instance->cleanup([&] { done.set_value(); });
    REQUIRE(done.get_future().wait_for(10s) == std::future_status::ready);
  }
};

}  // namespace

TEST_CASE("instance: init, predict, cleanup through the C ABI") {
  Harness harness;
  auto instance = harness.load(mh::e2e::echo_plugin());
  CHECK(instance->log_name() == "test#1");
  REQUIRE(Harness::init(instance).first == MH_OK);

  auto sink = std::make_shared<RecordingSink>();
  auto call = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", R"({"a":1})", false, 0}, sink);
  CHECK(instance->submit(call) == Admission::Outcome::started);
  REQUIRE(sink->wait_finished());
  CHECK(sink->finishes[0].first == MH_OK);
  CHECK(sink->finishes[0].second.find(R"("echo":{"a":1})") != std::string::npos);
  CHECK(instance->requests_total() == 1);
  CHECK(instance->in_flight() == 0);

  // A stream: chunks, then the reply.
  auto stream_sink = std::make_shared<RecordingSink>();
  auto stream = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", R"({"chunks":2})", true, 0}, stream_sink);
  instance->submit(stream);
  REQUIRE(stream_sink->wait_finished());
  CHECK(stream_sink->chunks.size() == 2);

  // The deadline passed while it ran: the plugin stops and says so.
  auto late_sink = std::make_shared<RecordingSink>();
  auto late = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", R"({"delay_ms":3000})", false, now_ms() + 50},
      late_sink);
  instance->submit(late);
  REQUIRE(late_sink->wait_finished());
  CHECK(late_sink->finishes[0].first == MH_DEADLINE_EXCEEDED);

  Harness::cleanup(instance);
  // Cleanup started: new calls are not handed to the plugin.
  auto after_sink = std::make_shared<RecordingSink>();
  auto after = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", "{}", false, 0}, after_sink);
  instance->submit(after);
  REQUIRE(after_sink->wait_finished());
  CHECK(after_sink->finishes[0].first == MH_UNAVAILABLE);
}

TEST_CASE("response: check_cancelled reports the client, the unloading host and the deadline") {
  auto sink = std::make_shared<RecordingSink>();
  PredictCall call(InferenceRequest{"req-1", "predict", "{}", false, 0}, sink);
  std::atomic<bool> unloading{false};
  call.bind(nullptr, &unloading);
  mh_response* response = call.c_response();
  CHECK(response->check_cancelled(response) == MH_OK);
  CHECK(response->write(response, "{}", 2) == MH_FAILED_PRECONDITION);  // not a stream
  unloading = true;
  CHECK(response->check_cancelled(response) == MH_CANCELLED);
  unloading = false;
  call.cancel();
  CHECK(response->check_cancelled(response) == MH_CANCELLED);

  PredictCall expired(InferenceRequest{"req-2", "predict", "{}", true, now_ms() - 1}, sink);
  expired.bind(nullptr, &unloading);
  mh_response* expired_response = expired.c_response();
  CHECK(expired_response->check_cancelled(expired_response) == MH_DEADLINE_EXCEEDED);
  CHECK(expired_response->write(expired_response, "{}", 2) == MH_DEADLINE_EXCEEDED);
  CHECK(sink->chunks.empty());
}

TEST_CASE("instance: a second finish is ignored, the slot freed once") {
  Harness harness;
  auto instance = harness.load(MH_DOUBLE_FINISH_PLUGIN);
  REQUIRE(Harness::init(instance).first == MH_OK);
  for (int i = 0; i < 3; ++i) {
    auto sink = std::make_shared<RecordingSink>();
    auto call = std::make_shared<PredictCall>(
        InferenceRequest{make_request_id(), "predict", "{}", true, 0}, sink);
    CHECK(instance->submit(call) == Admission::Outcome::started);
    REQUIRE(sink->wait_finished());
    std::this_thread::sleep_for(20ms);
    std::lock_guard lock(sink->mutex);
    CHECK(sink->finishes.size() == 1);
    CHECK(sink->finishes[0].second == R"({"first":true})");
    CHECK(sink->chunks.empty());
  }
  CHECK(instance->in_flight() == 0);
  CHECK(instance->requests_total() == 3);
  Harness::cleanup(instance);
}

TEST_CASE("instance: init past the load timeout fails; the late instance is cleaned up") {
  Harness harness;
  auto instance = harness.load(mh::e2e::echo_plugin(), R"({"init_delay_ms": 300})");
  auto [status, message] = Harness::init(instance, 50ms);
  CHECK(status == MH_DEADLINE_EXCEEDED);
  CHECK(message.find("load timeout") != std::string::npos);
  // The plugin answers later; the host cleans that instance up by itself.
  std::this_thread::sleep_for(600ms);
  CHECK(instance->unloading());
}

TEST_CASE(
    "instance: past timeout_ms the client hears 504 at once, the plugin is told, the queue "
    "lets go") {
  Harness harness;
  // The hold plugin never looks at check_cancelled: only the host's timer can answer.
  auto instance = harness.load(MH_HOLD_PLUGIN, "{}", 200, 1);
  REQUIRE(Harness::init(instance).first == MH_OK);
  auto running_sink = std::make_shared<RecordingSink>();
  auto running = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", "{}", false, 0}, running_sink);
  auto queued_sink = std::make_shared<RecordingSink>();
  auto queued = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", "{}", false, 0}, queued_sink);
  REQUIRE(instance->submit(running) == Admission::Outcome::started);
  REQUIRE(instance->submit(queued) == Admission::Outcome::queued);
  CHECK(running->deadline_unix_ms() > 0);
  for (int i = 0; i < 1000 && instance->requests_total() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(instance->in_flight() == 2);

  REQUIRE(running_sink->wait_finished());
  REQUIRE(queued_sink->wait_finished());
  const std::pair<mh_status, std::string> expected{
      MH_DEADLINE_EXCEEDED, "the request took longer than the model's timeout_ms (200 ms)"};
  CHECK(running_sink->finishes[0] == expected);
  CHECK(queued_sink->finishes[0] == expected);
  // The running call's plugin hears it; it still holds its slot. The queued one left.
  CHECK(running->c_response()->check_cancelled(running->c_response()) == MH_DEADLINE_EXCEEDED);
  CHECK_FALSE(running->finished());
  CHECK(queued->finished());
  CHECK(instance->in_flight() == 1);

  // The plugin's finish comes at cleanup: it frees the slot, the client heard once.
  Harness::cleanup(instance);
  CHECK(running->finished());
  CHECK(instance->in_flight() == 0);
  CHECK(running_sink->finishes.size() == 1);
  CHECK(instance->requests_total() == 1);  // the queued one never reached the plugin
}

TEST_CASE("instance: a request handle cancels a queued call and a running one") {
  Harness harness;
  auto instance = harness.load(mh::e2e::echo_plugin(), "{}", 0, 1);
  REQUIRE(Harness::init(instance).first == MH_OK);
  auto running_sink = std::make_shared<RecordingSink>();
  auto running = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", R"({"delay_ms":5000})", false, 0},
      running_sink);
  auto queued_sink = std::make_shared<RecordingSink>();
  auto queued = std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", "{}", false, 0}, queued_sink);
  REQUIRE(instance->submit(running) == Admission::Outcome::started);
  REQUIRE(instance->submit(queued) == Admission::Outcome::queued);
  // The running one reaches the plugin (on a worker) before it is cancelled.
  for (int i = 0; i < 1000 && instance->requests_total() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  REQUIRE(instance->requests_total() == 1);

  RequestHandle(queued, instance).cancel();
  REQUIRE(queued_sink->wait_finished());
  CHECK(queued_sink->finishes[0].first == MH_CANCELLED);
  CHECK(instance->in_flight() == 1);

  const RequestHandle handle(running, instance);
  CHECK(handle.request_id() == running->id());
  handle.cancel();
  REQUIRE(running_sink->wait_finished());
  CHECK(running_sink->finishes[0].first == MH_CANCELLED);
  handle.cancel();           // idempotent
  RequestHandle().cancel();  // an empty handle does nothing
  CHECK(instance->requests_total() == 1);
  Harness::cleanup(instance);
}

TEST_CASE("instance: plugin stats through mh.plugin.stats/1, never after cleanup began") {
  Harness harness;
  auto instance = harness.load(MH_STATS_PLUGIN);
  REQUIRE(Harness::init(instance).first == MH_OK);
  auto sink = std::make_shared<RecordingSink>();
  instance->submit(std::make_shared<PredictCall>(
      InferenceRequest{make_request_id(), "predict", "{}", false, 0}, sink));
  REQUIRE(sink->wait_finished());
  PluginStatsResult stats = instance->read_stats();
  CHECK(stats.outcome == ModelOutcome::accepted);
  CHECK(stats.json == R"({"requests":1,"reads":1})");
  Harness::cleanup(instance);
  stats = instance->read_stats();
  CHECK(stats.outcome == ModelOutcome::unavailable);
  CHECK(stats.message.find("unloading") != std::string::npos);

  auto failing = harness.load(MH_STATS_PLUGIN, R"({"stats_error": true})");
  REQUIRE(Harness::init(failing).first == MH_OK);
  stats = failing->read_stats();
  CHECK(stats.outcome == ModelOutcome::plugin_error);
  CHECK(stats.plugin_status == MH_UNAVAILABLE);
  Harness::cleanup(failing);

  auto echo = harness.load(mh::e2e::echo_plugin());
  REQUIRE(Harness::init(echo).first == MH_OK);
  stats = echo->read_stats();
  CHECK(stats.outcome == ModelOutcome::unimplemented);
  CHECK(stats.message.find(MH_PLUGIN_STATS_EXTENSION) != std::string::npos);
  Harness::cleanup(echo);
}
