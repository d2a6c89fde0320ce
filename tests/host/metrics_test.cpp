#include "metrics/metrics.hpp"

#include <doctest/doctest.h>

using namespace mh::host;

namespace {
bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}
}  // namespace

TEST_CASE("metrics: Prometheus text with cumulative buckets") {
  Metrics metrics;
  metrics.observe_request("echo", 200, 0.0007);
  metrics.observe_request("echo", 200, 0.003);
  metrics.observe_request("echo", 504, 400.0);
  ModelStatus model;
  model.name = "echo";
  model.state = ModelState::ready;
  model.in_flight = 2;
  model.load_ms = 1500;
  model.generation = 3;
  model.sync_bytes_total = 10;
  model.syncs_total = 2;
  model.sync_failures_total = 1;
  const std::string text = metrics.render({model});

  CHECK(has(text, "# TYPE modelhost_requests_total counter"));
  CHECK(has(text, "modelhost_requests_total{model=\"echo\",code=\"200\"} 2"));
  CHECK(has(text, "modelhost_requests_total{model=\"echo\",code=\"504\"} 1"));
  CHECK(has(text, "# TYPE modelhost_request_duration_seconds histogram"));
  CHECK(has(text, "modelhost_request_duration_seconds_bucket{model=\"echo\",le=\"0.0005\"} 0"));
  CHECK(has(text, "modelhost_request_duration_seconds_bucket{model=\"echo\",le=\"0.001\"} 1"));
  CHECK(has(text, "modelhost_request_duration_seconds_bucket{model=\"echo\",le=\"0.005\"} 2"));
  CHECK(has(text, "modelhost_request_duration_seconds_bucket{model=\"echo\",le=\"300\"} 2"));
  CHECK(has(text, "modelhost_request_duration_seconds_bucket{model=\"echo\",le=\"+Inf\"} 3"));
  CHECK(has(text, "modelhost_request_duration_seconds_count{model=\"echo\"} 3"));
  CHECK(has(text, "modelhost_requests_in_flight{model=\"echo\"} 2"));
  CHECK(has(text, "modelhost_model_state{model=\"echo\",state=\"ready\"} 1"));
  CHECK(has(text, "modelhost_model_state{model=\"echo\",state=\"loading\"} 0"));
  CHECK(has(text, "modelhost_model_generation{model=\"echo\"} 3"));
  CHECK(has(text, "modelhost_model_load_duration_seconds{model=\"echo\"} 1.5"));
  CHECK(has(text, "modelhost_sync_bytes_total{model=\"echo\"} 10"));
  CHECK(has(text, "modelhost_syncs_total{model=\"echo\",result=\"failed\"} 1"));
  // Every line is a comment or "name{labels} value".
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    REQUIRE(end != std::string::npos);
    const std::string line = text.substr(start, end - start);
    CHECK((line.rfind("# ", 0) == 0 || line.find("} ") != std::string::npos));
    start = end + 1;
  }
}

TEST_CASE("metrics: label values are escaped") {
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

TEST_CASE("metrics: isolation mode, crashes by signal, restarts and stuck requests") {
  Metrics metrics;
  ModelStatus model;
  model.name = "bad";
  model.state = ModelState::crashed;
  model.isolation = Isolation::process;
  model.restarts = 2;
  model.crashes_by_signal = {{"SIGSEGV", 2}, {"exit", 1}};
  model.stuck = 1;
  model.stuck_total = 3;
  const std::string text = metrics.render({model});
  CHECK(has(text, "modelhost_model_state{model=\"bad\",state=\"crashed\"} 1"));
  CHECK(has(text, "modelhost_model_isolation{model=\"bad\",mode=\"process\"} 1"));
  CHECK(has(text, "modelhost_model_isolation{model=\"bad\",mode=\"none\"} 0"));
  CHECK(has(text, "# TYPE modelhost_model_crashes_total counter"));
  CHECK(has(text, "modelhost_model_crashes_total{model=\"bad\",signal=\"SIGSEGV\"} 2"));
  CHECK(has(text, "modelhost_model_crashes_total{model=\"bad\",signal=\"exit\"} 1"));
  CHECK(has(text, "modelhost_model_restarts_total{model=\"bad\"} 2"));
  CHECK(has(text, "modelhost_requests_stuck_total{model=\"bad\"} 3"));
  CHECK(has(text, "modelhost_requests_stuck{model=\"bad\"} 1"));
}
