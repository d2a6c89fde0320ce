#include "status_table.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <stdexcept>
#include <tuple>

#include "status_report.hpp"

using namespace hostctl;

namespace {

// The shape of GET /admin/status (docs/admin-api.md).
constexpr const char* kStatus = R"({
  "hostd": {"version": "1.0.0", "pid": 4242, "uptime_s": 184.2, "listen": "127.0.0.1:8080",
            "models_dir": "/srv/models"},
  "models": [
    {"name": "echo", "state": "ready", "generation": 3, "plugin": "echo",
     "plugin_version": "1.0.0", "plugin_path": "/cache/x.so", "manifest_dir": "/srv/models/echo",
     "files_dir": "/srv/models/echo", "error": null, "pending": null, "in_flight": 2,
     "requests_total": 10, "load_ms": 12.3,
     "sync": {"state": "idle", "bytes_done": 0, "bytes_total": 0, "files_done": 0,
              "files_total": 0, "current_file": "", "error": null}},
    {"name": "llama-1b", "state": "syncing", "generation": 1, "plugin": "llama",
     "plugin_version": "0.3.0", "error": null, "pending": null, "in_flight": 0,
     "sync": {"state": "running", "bytes_done": 512000000, "bytes_total": 2000000000,
              "files_done": 1, "files_total": 4, "current_file": "model.safetensors",
              "error": null}},
    {"name": "demo", "state": "ready", "generation": 1, "plugin": "demo",
     "plugin_version": "0.1.0", "error": "init failed:\nno weights",
     "pending": {"generation": 2, "state": "failed", "error": "init failed:\nno weights"},
     "in_flight": 0, "sync": null}
  ]
})";

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_SUITE("format") {
  TEST_CASE("parse_status_report reads every field hostctl shows") {
    const StatusReport report = parse_status_report(kStatus);
    CHECK(report.hostd.version == "1.0.0");
    CHECK(report.hostd.pid == 4242);
    CHECK(report.hostd.uptime_s == doctest::Approx(184.2));
    REQUIRE(report.models.size() == 3);
    const ModelStatus* llama = report.find("llama-1b");
    REQUIRE(llama != nullptr);
    CHECK(llama->sync.state == "running");
    CHECK(llama->sync.bytes_done == 512000000);
    CHECK(llama->sync.bytes_total == 2000000000);
    CHECK(llama->sync.files_total == 4);
    CHECK(llama->sync.current_file == "model.safetensors");
    CHECK_FALSE(llama->error.has_value());
    const ModelStatus* demo = report.find("demo");
    REQUIRE(demo != nullptr);
    REQUIRE(demo->pending.has_value());
    CHECK(demo->pending->generation == 2);
    CHECK(demo->pending->state == "failed");
    CHECK(demo->sync.state == "idle");  // "sync": null keeps the default
    CHECK(report.find("nope") == nullptr);
  }

  TEST_CASE("parse_status_report tolerates missing fields and refuses what is not a status") {
    const StatusReport sparse = parse_status_report(R"({"models": [{"name": "x"}]})");
    REQUIRE(sparse.models.size() == 1);
    CHECK(sparse.models[0].generation == 0);
    CHECK(sparse.models[0].sync.state == "idle");
    // A wrong type is ignored rather than fatal: an older or newer hostd still reads.
    const StatusReport odd = parse_status_report(R"({"models": [{"name": "x", "generation": -1,
                                                     "in_flight": "two"}]})");
    CHECK(odd.models[0].generation == 0);
    CHECK(odd.models[0].in_flight == 0);
    CHECK_THROWS_AS(parse_status_report("not json"), std::runtime_error);
    CHECK_THROWS_AS(parse_status_report("[]"), std::runtime_error);
    CHECK_THROWS_AS(parse_status_report(R"({"hostd": {}})"), std::runtime_error);
  }

  TEST_CASE("the status table: a hostd line, a header, one aligned row per model") {
    const std::string text = format_status(parse_status_report(kStatus));
    const auto rows = lines(text);
    REQUIRE(rows.size() == 6);
    CHECK(rows[0] ==
          "hostd 1.0.0, pid 4242, up 3m 04s, serving http://127.0.0.1:8080, models from "
          "/srv/models");
    CHECK(rows[1].empty());
    CHECK(rows[2].rfind("NAME", 0) == 0);
    // Every column starts at the same offset in every row.
    for (const char* column : {"STATE", "GEN", "PLUGIN", "VERSION", "IN-FLIGHT", "SYNC", "ERROR"}) {
      CAPTURE(column);
      const auto offset = rows[2].find(column);
      REQUIRE(offset != std::string::npos);
      for (std::size_t i = 3; i < rows.size(); ++i) {
        CAPTURE(rows[i]);
        CHECK(rows[i][offset - 1] == ' ');
        CHECK(rows[i][offset - 2] == ' ');
        CHECK(rows[i][offset] != ' ');
      }
    }
    CHECK(rows[3].find("echo") == 0);
    CHECK(rows[3].find("ready") != std::string::npos);
    CHECK(rows[4].find("512 MB/2.0 GB") != std::string::npos);
    // A failed new generation: shown beside the serving one, its error on one line.
    CHECK(rows[5].find("1 (+2 failed)") != std::string::npos);
    CHECK(rows[5].find("init failed: no weights") != std::string::npos);
    CHECK(text.find("\t") == std::string::npos);
  }

  TEST_CASE("status_row cells") {
    ModelStatus model;
    model.name = "m";
    model.state = "loading";
    model.generation = 4;
    model.in_flight = 7;
    auto row = status_row(model);
    REQUIRE(row.size() == 12);
    CHECK(row[1] == "loading");
    CHECK(row[2] == "4");
    CHECK(row[3] == "-");  // no plugin known yet
    CHECK(row[5] == "7");
    CHECK(row[6] == "-");
    CHECK(row[7] == "-");  // mode: not known from an older hostd
    CHECK(row[8] == "-");  // no runner
    CHECK(row[9] == "0");
    CHECK(row[10] == "0");
    CHECK(row[11] == "-");
    model.sync.state = "failed";
    model.sync.bytes_done = 1'500'000;
    model.sync.bytes_total = 3'000'000;
    model.sync.error = "403 Forbidden: models/x.bin";
    row = status_row(model);
    CHECK(row[6] == "1.5 MB/3.0 MB failed");
    CHECK(row[11] == "sync: 403 Forbidden: models/x.bin");
  }

  TEST_CASE("sync_cell") {
    SyncProgress sync;
    CHECK(sync_cell(sync) == "-");
    sync.state = "done";
    sync.bytes_done = sync.bytes_total = 2'000'000'000;
    CHECK(sync_cell(sync) == "2.0 GB/2.0 GB");
    // A sync that found nothing to transfer says so, rather than "0 B/0 B"; one word each, so
    // a row still splits into its columns on blanks.
    SyncProgress noop;
    noop.state = "done";
    CHECK(sync_cell(noop) == "up-to-date");
    noop.state = "running";  // listing and comparing: totals not known yet
    CHECK(sync_cell(noop) == "checking");
    noop.state = "failed";
    CHECK(sync_cell(noop) == "failed");
  }

  TEST_CASE("draining generations: parsed, and a line each under their model") {
    const StatusReport report = parse_status_report(R"({"models": [
      {"name": "echo", "state": "ready", "generation": 5, "plugin": "echo",
       "plugin_version": "1.0.0", "in_flight": 3,
       "draining": [{"generation": 3, "in_flight": 1}, {"generation": 4, "in_flight": 2}]},
      {"name": "idle", "state": "ready", "generation": 1, "draining": []},
      {"name": "old-hostd", "state": "ready", "generation": 2}]})");
    REQUIRE(report.models.size() == 3);
    REQUIRE(report.models[0].draining.size() == 2);
    CHECK(report.models[0].draining[0].generation == 3);
    CHECK(report.models[0].draining[0].in_flight == 1);
    CHECK(report.models[0].draining[1].generation == 4);
    CHECK(report.models[0].draining[1].in_flight == 2);
    CHECK(report.models[1].draining.empty());
    CHECK(report.models[2].draining.empty());  // a hostd that does not report it

    const auto rows = lines(format_status(report));
    REQUIRE(rows.size() == 8);  // hostd line, blank, header, echo + 2 draining, idle, old-hostd
    CHECK(rows[3].rfind("echo", 0) == 0);
    // The draining lines: no name, STATE "draining", GEN and IN-FLIGHT in their columns.
    for (const auto& [row, generation, in_flight] :
         {std::tuple{rows[4], "3", "1"}, std::tuple{rows[5], "4", "2"}}) {
      CAPTURE(row);
      CHECK(row.substr(rows[2].find("STATE"), 8) == "draining");
      CHECK(row.substr(rows[2].find("GEN"), 1) == generation);
      CHECK(row.substr(rows[2].find("IN-FLIGHT"), 1) == in_flight);
      CHECK(row.find_first_not_of(' ') == rows[2].find("STATE"));
    }
    CHECK(rows[6].rfind("idle", 0) == 0);
    CHECK(rows[7].rfind("old-hostd", 0) == 0);
  }

  TEST_CASE("an empty models directory says what to do") {
    const std::string text =
        format_status(parse_status_report(R"({"hostd": {"version": "1.0.0", "uptime_s": 1,
                                              "models_dir": "/m"}, "models": []})"));
    CHECK(text.find("no models: put a folder with a model.json into /m and run `hostctl reload`") !=
          std::string::npos);
    CHECK(text.find("NAME") == std::string::npos);
  }

  TEST_CASE("format_table pads by characters, not bytes, and does not pad the last column") {
    const std::string table = format_table({{"A", "B", "C"}, {"é", "xx", "last  "}});
    CHECK(table == "A  B   C\né  xx  last\n");
  }

  TEST_CASE("isolation columns: MODE, PID, RESTARTS and STUCK") {
    const StatusReport report = parse_status_report(R"({"models": [
      {"name": "bad", "state": "crashed", "generation": 3, "mode": "process", "pid": null,
       "restarts": 2, "stuck": 0, "error": "model \"bad\" crashed: its runner was killed"},
      {"name": "echo", "state": "ready", "generation": 1, "mode": "process", "pid": 4242,
       "restarts": 0, "stuck": 1},
      {"name": "fast", "state": "ready", "generation": 1, "mode": "none", "pid": null}]})");
    REQUIRE(report.models.size() == 3);
    CHECK(report.models[1].pid == 4242);
    auto bad = status_row(report.models[0]);
    CHECK(bad[1] == "crashed");
    CHECK(bad[7] == "process");
    CHECK(bad[8] == "-");  // no runner while it restarts
    CHECK(bad[9] == "2");
    CHECK(bad[11].find("crashed") != std::string::npos);
    auto echo = status_row(report.models[1]);
    CHECK(echo[8] == "4242");
    CHECK(echo[10] == "1");
    auto fast = status_row(report.models[2]);
    CHECK(fast[7] == "none");
    CHECK(fast[8] == "-");
    const std::string text = format_status(report);
    for (const char* column : {"MODE", "PID", "RESTARTS", "STUCK"}) {
      CHECK(text.find(column) != std::string::npos);
    }
  }
}
