// `hostctl reload`'s output: the changes as a table, the scan's warnings on their own lines.
#include "reload_report.hpp"

#include <doctest/doctest.h>

#include "exit_codes.hpp"

using namespace hostctl;

TEST_SUITE("format") {
  TEST_CASE("parse_reload_reply reads the changes and their warnings") {
    const auto changes = parse_reload_reply(R"({"changes": [
      {"name": "echo", "action": "changed", "state": "ready", "error": null,
       "warnings": ["/m/echo/model.json: unknown key \"colour\" ignored"]},
      {"name": "broken", "action": "failed", "state": "failed",
       "error": "/m/broken/model.json: \"max_concurrency\" must be a positive integer",
       "warnings": []},
      {"name": "old-hostd", "action": "unchanged", "state": "ready"}]})");
    REQUIRE(changes.size() == 3);
    CHECK(changes[0].name == "echo");
    CHECK(changes[0].error.empty());
    REQUIRE(changes[0].warnings.size() == 1);
    CHECK(changes[0].warnings[0] == R"(/m/echo/model.json: unknown key "colour" ignored)");
    CHECK(changes[1].action == "failed");
    CHECK(changes[1].warnings.empty());
    CHECK(changes[2].warnings.empty());  // a hostd that sends none
    CHECK_THROWS_AS(parse_reload_reply("{}"), OperationFailed);
    CHECK_THROWS_AS(parse_reload_reply("not json"), OperationFailed);
  }

  TEST_CASE("format_reload: a row per change on stdout, warnings apart, failure noticed") {
    std::vector<ReloadChange> changes = {
        {"echo", "changed", "ready", "", {"/m/echo/model.json: unknown key \"colour\" ignored"}},
        {"demo", "added", "ready", "", {}}};
    ReloadOutput output = format_reload(changes, false);
    CHECK(output.table == "echo  changed  ready\ndemo  added    ready\n");
    CHECK(output.warnings == "warning: echo: /m/echo/model.json: unknown key \"colour\" ignored\n");
    CHECK_FALSE(output.failed);

    changes.push_back({"broken", "failed", "failed", "init failed:\nno weights", {}});
    output = format_reload(changes, false);
    CHECK(output.failed);
    CHECK(output.table.find("broken  failed   failed  init failed: no weights\n") !=
          std::string::npos);
  }

  TEST_CASE("format_reload with --wait: a change that has not settled fails the reload") {
    const ReloadOutput output = format_reload({{"big", "added", "loading", "", {}}}, true);
    CHECK(output.failed);
    CHECK(output.table.find("(still loading when the wait ended)") != std::string::npos);
    CHECK(output.warnings.empty());
  }
}
