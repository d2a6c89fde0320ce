#include "model/manifest.hpp"

#include <doctest/doctest.h>

using namespace mh::host;

namespace {
std::string failure_of(std::string_view text) {
  try {
    parse_manifest(text, "/m/echo/model.json");
  } catch (const ManifestError& error) {
    return error.what();
  }
  return "";
}
}  // namespace

TEST_CASE("manifest: every documented key, with defaults") {
  auto parsed = parse_manifest(R"({
    "download_files_from": "cache/llama-1b-instruct/",
    "download_files_to": "/var/practicus/cache",
    "plugin": "libmh_llama.so",
    "config": {"device": "auto", "max_batch": 32},
    "max_concurrency": 8,
    "timeout_ms": 120000,
    "files": ["a.json", "b.safetensors"]
  })",
                               "model.json");
  const Manifest& m = parsed.manifest;
  CHECK(*m.download_files_from == "cache/llama-1b-instruct/");
  CHECK(*m.download_files_to == "/var/practicus/cache");
  CHECK(*m.plugin == "libmh_llama.so");
  CHECK(m.config_json == R"({"device":"auto","max_batch":32})");
  CHECK(m.max_concurrency == 8);
  CHECK(m.max_queue == 16);  // 2 x max_concurrency unless given
  CHECK(m.timeout_ms == 120000);
  CHECK(m.files == std::vector<mh::sync::SourceFile>{{"a.json", ""}, {"b.safetensors", ""}});
  CHECK(parsed.warnings.empty());

  auto empty = parse_manifest("{}", "model.json");
  CHECK(!empty.manifest.plugin);
  CHECK(empty.manifest.config_json == "{}");
  CHECK(empty.manifest.max_concurrency == 64);
  CHECK(empty.manifest.timeout_ms == 300000);
  CHECK(!empty.manifest.load_timeout_ms);
}

TEST_CASE("manifest: _ keys are comments, unknown keys warn") {
  auto parsed = parse_manifest(R"({"_comment": 1, "_x": {"y": 2}, "plugn": "typo.so",
                                   "max_queue": 0, "load_timeout_ms": 5000.0})",
                               "/m/echo/model.json");
  REQUIRE(parsed.warnings.size() == 1);
  CHECK(parsed.warnings[0].find("/m/echo/model.json") != std::string::npos);
  CHECK(parsed.warnings[0].find("\"plugn\"") != std::string::npos);
  CHECK(parsed.manifest.max_queue == 0);
  CHECK(*parsed.manifest.load_timeout_ms == 5000);
}

TEST_CASE("manifest: wrong types fail naming the file, the key and the value") {
  CHECK(failure_of(R"({"max_concurrency": "ten"})") ==
        "/m/echo/model.json: \"max_concurrency\" must be a positive integer, got \"ten\"");
  CHECK(failure_of(R"({"max_concurrency": 0})").find("got 0") != std::string::npos);
  CHECK(failure_of(R"({"max_concurrency": 2.5})").find("got 2.5") != std::string::npos);
  CHECK(failure_of(R"({"timeout_ms": -1})").find("\"timeout_ms\"") != std::string::npos);
  CHECK(failure_of(R"({"plugin": 42})") ==
        "/m/echo/model.json: \"plugin\" must be a non-empty string, got 42");
  CHECK(failure_of(R"({"plugin": ""})").find("\"plugin\"") != std::string::npos);
  CHECK(failure_of(R"({"config": [1]})") ==
        "/m/echo/model.json: \"config\" must be an object, got [1]");
  CHECK(failure_of(R"({"files": ["a", 3]})").find("got 3") != std::string::npos);
  CHECK(failure_of(R"({"files": [{"sha256": "ab"}]})").find("\"files\"") != std::string::npos);
  CHECK(failure_of(R"({"files": [{"path": "a", "md5": "x"}]})").find("md5") != std::string::npos);
  const std::string digest(64, 'a');
  auto pinned = parse_manifest(R"({"download_files_from": "https://h/m/", "files": ["a.json",
                                   {"path": "w.bin", "sha256": ")" +
                                   digest + R"("}]})",
                               "model.json");
  CHECK(pinned.manifest.files ==
        std::vector<mh::sync::SourceFile>{{"a.json", ""}, {"w.bin", digest}});
  CHECK(failure_of(R"({"download_files_from": true})").find("got true") != std::string::npos);
  CHECK(failure_of("[1, 2]").find("must hold a JSON object") != std::string::npos);
  CHECK(failure_of("{ nope").find("/m/echo/model.json: not valid JSON") == 0);
}

TEST_CASE("manifest: isolation, restart, limits and stuck_grace_ms") {
  auto parsed = parse_manifest(R"({
    "isolation": "process",
    "restart": {"max_restarts": 3, "window_seconds": 60},
    "limits": {"memory": "2GiB", "cpus": [0, 2], "environment": {"CUDA_VISIBLE_DEVICES": "1"},
               "core_dumps": true},
    "stuck_grace_ms": 5000
  })",
                               "model.json");
  const Manifest& m = parsed.manifest;
  CHECK(m.isolation == Isolation::process);
  CHECK(m.restart.max_restarts == 3);
  CHECK(m.restart.window_seconds == 60);
  CHECK(m.limits.address_space_bytes == (std::uint64_t{2} << 30));
  CHECK(m.limits.cpus == std::vector<std::uint32_t>{0, 2});
  REQUIRE(m.limits.environment.size() == 1);
  CHECK(m.limits.environment[0].first == "CUDA_VISIBLE_DEVICES");
  CHECK(m.limits.environment[0].second == "1");
  CHECK(m.limits.core_dumps);
  CHECK(*m.stuck_grace_ms == 5000);
  CHECK(parsed.warnings.empty());

  auto defaults = parse_manifest("{}", "model.json").manifest;
  CHECK(!defaults.isolation);  // hostd's --default-isolation decides
  CHECK(defaults.restart.max_restarts == 5);
  CHECK(defaults.limits.address_space_bytes == 0);
  CHECK(!defaults.limits.core_dumps);
  CHECK(parse_manifest(R"({"isolation": "none"})", "m").manifest.isolation == Isolation::none);
  CHECK(parse_manifest(R"({"limits": {"address_space_bytes": 1073741824}})", "m")
            .manifest.limits.address_space_bytes == (std::uint64_t{1} << 30));
  CHECK(parse_manifest(R"({"limits": {"memory": "512MB"}})", "m")
            .manifest.limits.address_space_bytes == 512'000'000);
}

TEST_CASE("manifest: isolation keys fail naming the key and the value") {
  CHECK(failure_of(R"({"isolation": "docker"})") ==
        R"(/m/echo/model.json: "isolation" must be "process" or "none", got "docker")");
  CHECK(failure_of(R"({"restart": {"max_restarts": -1}})")
            .find(R"("restart.max_restarts" must be an integer from 0 to 1000, got -1)") !=
        std::string::npos);
  CHECK(failure_of(R"({"restart": 3})").find(R"("restart" must be an object)") !=
        std::string::npos);
  CHECK(failure_of(R"({"limits": {"memory": "lots"}})").find(R"("limits.memory" must be)") !=
        std::string::npos);
  CHECK(failure_of(R"({"limits": {"memory": 1024}})").find("at least 64 MiB") != std::string::npos);
  CHECK(failure_of(R"({"limits": {"cpus": [0, "one"]}})")
            .find(R"("limits.cpus" must be a non-empty list of CPU numbers)") != std::string::npos);
  CHECK(failure_of(R"({"limits": {"environment": {"A": 1}}})")
            .find(R"("limits.environment.A" must be a string, got 1)") != std::string::npos);
  CHECK(failure_of(R"({"limits": {"core_dumps": "yes"}})")
            .find(R"("limits.core_dumps" must be true or false)") != std::string::npos);
  CHECK(failure_of(R"({"limits": {"memory": "1GiB", "address_space_bytes": 1073741824}})")
            .find("give one of") != std::string::npos);
  CHECK(failure_of(R"({"stuck_grace_ms": "ten"})").find(R"("stuck_grace_ms" must be)") !=
        std::string::npos);
}

TEST_CASE("manifest: unknown isolation keys warn, limits without isolation warn") {
  auto parsed = parse_manifest(
      R"({"restart": {"max_restart": 2}, "limits": {"gpu": 1}, "isolation": "none"})", "m.json");
  REQUIRE(parsed.warnings.size() == 3);
  CHECK(parsed.warnings[0] == R"(m.json: unknown key "restart.max_restart" ignored)");
  CHECK(parsed.warnings[1] == R"(m.json: unknown key "limits.gpu" ignored)");
  CHECK(parsed.warnings[2].find(R"("limits" apply to isolated models only)") != std::string::npos);
}
