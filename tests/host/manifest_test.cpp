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
