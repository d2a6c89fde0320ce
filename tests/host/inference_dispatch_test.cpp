// InferenceDispatch as pure translation: body checks, the model layer's outcomes as HTTP
// statuses and headers, JSON and SSE framing, the client leaving, and the stats route. A real
// registry (registry_harness.hpp) and an Exchange that records what would go to the client.
#include "http/inference_dispatch.hpp"
#include "registry_harness.hpp"
#include "support/hostd_process.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include <condition_variable>
#include <mutex>

using namespace mh::host;
using namespace std::chrono_literals;
using mh::e2e::install_echo_model;
using mh::host::testing::RegistryHarness;

namespace {

// Runs posted tasks at once, under its lock (so it serialises them as a strand would).
class RecordingExchange final : public Exchange {
 public:
  void reply(HttpReply reply) override {
    std::lock_guard lock(mutex_);
    status_ = reply.status;
    body_ = std::move(reply.body);
    headers_ = std::move(reply.headers);
    complete_locked();
  }
  void start_stream(unsigned status, std::string content_type, HttpHeaders) override {
    std::lock_guard lock(mutex_);
    status_ = status;
    content_type_ = std::move(content_type);
  }
  void write(std::string data) override {
    std::lock_guard lock(mutex_);
    body_ += data;
  }
  void end_stream() override {
    std::lock_guard lock(mutex_);
    complete_locked();
  }
  void post(std::function<void()> task) override {
    std::lock_guard lock(mutex_);
    task();
  }
  boost::asio::any_io_executor executor() override { return io_.get_executor(); }
  void on_client_gone(std::function<void()> callback) override {
    std::lock_guard lock(mutex_);
    client_gone_ = std::move(callback);
  }
  void on_complete(std::function<void(unsigned)> callback) override {
    std::lock_guard lock(mutex_);
    on_complete_ = std::move(callback);
  }

  // The client disconnects.
  void leave() {
    std::function<void()> callback;
    {
      std::lock_guard lock(mutex_);
      callback = std::move(client_gone_);
    }
    if (callback) callback();
  }
  bool wait_complete() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return complete_; });
  }
  unsigned status() {
    std::lock_guard lock(mutex_);
    return status_;
  }
  std::string body() {
    std::lock_guard lock(mutex_);
    return body_;
  }
  std::string header(std::string_view name) {
    std::lock_guard lock(mutex_);
    for (const auto& [key, value] : headers_) {
      if (key == name) return value;
    }
    return "";
  }
  std::string content_type() {
    std::lock_guard lock(mutex_);
    return content_type_;
  }

 private:
  void complete_locked() {
    complete_ = true;
    if (on_complete_) std::exchange(on_complete_, nullptr)(status_);
    changed_.notify_all();
  }

  boost::asio::io_context io_;
  std::recursive_mutex mutex_;  // a posted task calls back into write/reply
  std::condition_variable_any changed_;
  unsigned status_ = 0;
  std::string body_;
  std::string content_type_;
  HttpHeaders headers_;
  bool complete_ = false;
  std::function<void()> client_gone_;
  std::function<void(unsigned)> on_complete_;
};

constexpr InferenceRoute kPredict{"predict", false, false};
constexpr InferenceRoute kCompletions{"completions", true, true};

HttpRequest post(std::string body, std::string content_type = "application/json") {
  HttpRequest request;
  request.method = "POST";
  request.body = std::move(body);
  request.content_type = std::move(content_type);
  return request;
}

struct Dispatch {
  RegistryHarness host{200ms};  // the hold plugin keeps its request until cleanup
  Metrics metrics;
  InferenceDispatch dispatch{host.registry, metrics};

  std::shared_ptr<RecordingExchange> call(const InferenceRoute& route, std::string model,
                                          HttpRequest request) {
    auto exchange = std::make_shared<RecordingExchange>();
    dispatch.handle(route, std::move(model), std::move(request), exchange);
    return exchange;
  }
  std::shared_ptr<RecordingExchange> stats(std::string model) {
    auto exchange = std::make_shared<RecordingExchange>();
    dispatch.handle_stats(std::move(model), exchange);
    return exchange;
  }
};

std::string error_type(const std::string& body) {
  return std::string(boost::json::parse(body).at("error").at("type").as_string());
}

}  // namespace

TEST_CASE("dispatch: body checks and refusals become statuses with headers") {
  Dispatch d;
  install_echo_model(d.host.models(), "echo", "{}", R"("max_concurrency": 1, "max_queue": 0)");
  d.host.reload();

  CHECK(d.call(kPredict, "echo", post("{}", "text/plain"))->status() == 415);
  CHECK(d.call(kPredict, "echo", post(""))->status() == 400);
  CHECK(d.call(kPredict, "echo", post("{"))->status() == 400);
  CHECK(d.call(kCompletions, "", post("{}"))->status() == 400);  // no "model"
  auto unknown = d.call(kPredict, "nope", post("{}"));
  CHECK(unknown->status() == 404);
  CHECK(unknown->body().find("model \\\"nope\\\" not found") != std::string::npos);

  auto slow = d.call(kPredict, "echo", post(R"({"delay_ms": 20000})"));
  auto busy = d.call(kPredict, "echo", post("{}"));
  CHECK(busy->status() == 429);
  CHECK(busy->header("Retry-After") == "1");
  CHECK(error_type(busy->body()) == "rate_limit_error");

  // The client leaves: the plugin stops; the metrics count the request as 499.
  slow->leave();
  for (int i = 0; i < 1000 && d.host.status("echo")->in_flight != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(d.host.status("echo")->in_flight == 0);
  CHECK(d.metrics.render({}).find(R"(modelhost_requests_total{model="echo",code="429"} 1)") !=
        std::string::npos);
  CHECK(d.metrics.render({}).find(R"(modelhost_requests_total{model="",code="404"} 1)") !=
        std::string::npos);
}

TEST_CASE("dispatch: JSON, SSE with [DONE], and 504 past timeout_ms") {
  Dispatch d;
  install_echo_model(d.host.models(), "echo", R"({"stream_chunks": 2})");
  install_echo_model(d.host.models(), "held", "{}", R"("timeout_ms": 100)", MH_HOLD_PLUGIN);
  d.host.reload();

  auto json = d.call(kPredict, "echo", post(R"({"x":1})"));
  REQUIRE(json->wait_complete());
  CHECK(json->status() == 200);
  CHECK(json->body().find(R"("echo":{"x":1})") != std::string::npos);

  auto stream = d.call(kCompletions, "", post(R"({"model": "echo", "stream": true})"));
  REQUIRE(stream->wait_complete());
  CHECK(stream->status() == 200);
  CHECK(stream->content_type() == "text/event-stream");
  CHECK(stream->body().find(R"(data: {"chunk":1,"of":2})") != std::string::npos);
  REQUIRE(stream->body().size() >= 14);
  CHECK(stream->body().substr(stream->body().size() - 14) == "data: [DONE]\n\n");

  auto late = d.call(kPredict, "held", post("{}"));
  REQUIRE(late->wait_complete());
  CHECK(late->status() == 504);
  CHECK(error_type(late->body()) == "timeout_error");
  CHECK(late->body().find("took longer than the model's timeout_ms (100 ms)") != std::string::npos);
}

TEST_CASE("dispatch: the stats route answers 200, 404, 503 while loading, 501 without stats") {
  Dispatch d;
  install_echo_model(d.host.models(), "counted", "{}", "", MH_STATS_PLUGIN);
  install_echo_model(d.host.models(), "echo");
  d.host.reload();
  install_echo_model(d.host.models(), "slow", R"({"init_delay_ms": 3000})");
  d.host.reload(false);

  auto ok = d.stats("counted");
  CHECK(ok->status() == 200);
  CHECK(boost::json::parse(ok->body()).at("reads") == 1);
  CHECK(d.stats("nope")->status() == 404);
  auto none = d.stats("echo");
  CHECK(none->status() == 501);
  CHECK(error_type(none->body()) == "not_implemented_error");
  auto loading = d.stats("slow");
  CHECK(loading->status() == 503);
  CHECK(loading->header("Retry-After") == "2");
}
