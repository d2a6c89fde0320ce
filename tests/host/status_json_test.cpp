// The JSON edge of the model layer's reports: enums spelled as the admin API's strings, the
// draining generations, a reload change's warnings.
#include "http/status_json.hpp"

#include <doctest/doctest.h>
#include <boost/json/serialize.hpp>

using namespace mh::host;
namespace json = boost::json;

TEST_CASE("status json: a model with a pending and a draining generation") {
  ModelStatus status;
  status.name = "echo";
  status.state = ModelState::ready;
  status.generation = 4;
  status.error = "init failed: no weights";
  status.pending = ModelStatus::Pending{5, ModelState::loading, std::nullopt};
  status.draining = {{2, ModelState::draining, 1}, {3, ModelState::draining, 2}};
  status.in_flight = 3;
  status.load_ms = 12.5;
  status.sync.state = ModelSyncState::running;
  status.sync.bytes_done = 10;
  status.sync.current_file = "weights.bin";
  const json::object object = model_status_json(status);
  CHECK(object.at("name") == "echo");
  CHECK(object.at("state") == "ready");
  CHECK(object.at("generation") == 4);
  CHECK(object.at("error") == "init failed: no weights");
  CHECK(object.at("pending").at("generation") == 5);
  CHECK(object.at("pending").at("state") == "loading");
  CHECK(object.at("pending").at("error").is_null());
  const json::array& draining = object.at("draining").as_array();
  REQUIRE(draining.size() == 2);
  CHECK(draining[0].at("generation") == 2);
  CHECK(draining[0].at("in_flight") == 1);
  CHECK(draining[0].at("state") == "draining");
  CHECK(draining[1].at("generation") == 3);
  CHECK(draining[1].at("in_flight") == 2);
  CHECK(object.at("in_flight") == 3);
  CHECK(object.at("load_ms") == 12.5);
  CHECK(object.at("sync").at("state") == "running");
  CHECK(object.at("sync").at("bytes_done") == 10);
  CHECK(object.at("sync").at("current_file") == "weights.bin");
  CHECK(object.at("sync").at("error").is_null());
}

TEST_CASE("status json: nothing pending, nothing draining, a failed sync") {
  ModelStatus status;
  status.name = "m";
  status.state = ModelState::failed;
  status.sync.state = ModelSyncState::failed;
  status.sync.error = "s3://bucket/x: 403";
  const json::object object = model_status_json(status);
  CHECK(object.at("pending").is_null());
  CHECK(object.at("draining").as_array().empty());
  CHECK(object.at("load_ms").is_null());
  CHECK(object.at("state") == "failed");
  CHECK(object.at("sync").at("state") == "failed");
  CHECK(object.at("sync").at("error") == "s3://bucket/x: 403");
}

TEST_CASE("status json: a reload change with its warnings") {
  ReloadChange change{"echo",
                      ReloadAction::changed,
                      ModelState::loading,
                      std::nullopt,
                      {"models/echo/model.json: unknown key \"colour\" ignored"}};
  json::object object = reload_change_json(change);
  CHECK(json::serialize(object) ==
        R"({"name":"echo","action":"changed","state":"loading","error":null,)"
        R"("warnings":["models/echo/model.json: unknown key \"colour\" ignored"]})");
  change.action = ReloadAction::failed;
  change.error = "bad";
  change.warnings.clear();
  object = reload_change_json(change);
  CHECK(object.at("action") == "failed");
  CHECK(object.at("error") == "bad");
  CHECK(object.at("warnings").as_array().empty());
}

TEST_CASE("status json: isolation fields") {
  ModelStatus status;
  status.name = "bad";
  status.state = ModelState::crashed;
  status.isolation = Isolation::process;
  status.restarts = 1;
  status.stuck = 2;
  CrashReport crash;
  crash.reason = "model \"bad\" crashed: its runner was killed by signal 11 (SIGSEGV)";
  crash.signal = 11;
  crash.signal_name = "SIGSEGV";
  crash.at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'776'504'123));
  status.crash = crash;
  json::object object = model_status_json(status);
  CHECK(object.at("state") == "crashed");
  CHECK(object.at("mode") == "process");
  CHECK(object.at("pid").is_null());
  CHECK(object.at("restarts") == 1);
  CHECK(object.at("stuck") == 2);
  CHECK(object.at("crash").at("reason").as_string() == crash.reason);
  CHECK(object.at("crash").at("signal") == "SIGSEGV");
  CHECK(object.at("crash").at("signal_number") == 11);
  CHECK(object.at("crash").at("exit_code").is_null());
  CHECK(object.at("crash").at("at") == "2025-12-03T15:41:44.123Z");

  status.isolation = Isolation::none;
  status.crash.reset();
  status.pid = 77;
  object = model_status_json(status);
  CHECK(object.at("mode") == "none");
  CHECK(object.at("pid") == 77);
  CHECK(object.at("crash").is_null());
}
