#include "sync/source_uri.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using mh::sync::parse_source_uri;
using mh::sync::SourceUri;

namespace {

std::string error_of(std::string_view value, std::string_view root = {},
                     std::vector<std::string> files = {}) {
  try {
    parse_source_uri(value, root, std::move(files));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("unit") {
  TEST_CASE("source_uri: local paths and file:// URIs") {
    auto plain = parse_source_uri("/srv/models/llama/");
    CHECK(plain.kind == SourceUri::Kind::local);
    CHECK(plain.path == "/srv/models/llama");
    CHECK(plain.to_string() == "/srv/models/llama/");
    CHECK(parse_source_uri("/srv/models/./x/../llama").path == "/srv/models/llama");
    CHECK(parse_source_uri("file:///srv/models/llama").path == "/srv/models/llama");
    CHECK(parse_source_uri("file://localhost/srv/my%20models").path == "/srv/my models");
    CHECK(error_of("file://otherhost/x").find("otherhost") != std::string::npos);
  }

  TEST_CASE("source_uri: s3") {
    auto uri = parse_source_uri("s3://bucket/models/llama");
    CHECK(uri.kind == SourceUri::Kind::s3);
    CHECK(uri.bucket == "bucket");
    CHECK(uri.prefix == "models/llama/");
    CHECK(uri.to_string() == "s3://bucket/models/llama/");
    CHECK(parse_source_uri("s3://bucket").prefix == "");
    CHECK(parse_source_uri("s3://bucket/").prefix == "");
    CHECK(parse_source_uri("S3://bucket/p/").prefix == "p/");
    CHECK(error_of("s3:///models").find("missing bucket name") != std::string::npos);
    CHECK(error_of("s3://b/a//c").find("empty path component") != std::string::npos);
  }

  TEST_CASE("source_uri: http(s) needs a files list") {
    auto uri = parse_source_uri("https://example.org/models/llama", {},
                                std::vector<std::string>{"config.json", "a/b.bin"});
    CHECK(uri.kind == SourceUri::Kind::http);
    CHECK(uri.base_url == "https://example.org/models/llama/");
    CHECK(uri.files.size() == 2);
    CHECK(error_of("https://example.org/m/").find("\"files\"") != std::string::npos);
    CHECK(error_of("https://example.org/m/?x=1", {}, {"a"}).find("query") != std::string::npos);
    CHECK(error_of("https://example.org/m/", {}, {"../etc/passwd"}).find("files[0]") !=
          std::string::npos);
  }

  TEST_CASE("source_uri: files entries may pin a SHA-256") {
    const std::string digest(64, 'A');
    auto uri =
        parse_source_uri("https://example.org/m/", {},
                         std::vector<mh::sync::SourceFile>{{"a.bin", digest}, {"b.json", ""}});
    REQUIRE(uri.files.size() == 2);
    CHECK(uri.files[0].sha256 == std::string(64, 'a'));  // lowered
    CHECK(uri.files[1].sha256.empty());
    CHECK(uri.keys() == std::vector<std::string>{"a.bin", "b.json"});
    const auto bad = [](std::string sha256) {
      try {
        parse_source_uri("https://example.org/m/", {},
                         std::vector<mh::sync::SourceFile>{{"ok.bin", ""}, {"a.bin", sha256}});
      } catch (const std::invalid_argument& e) {
        return std::string(e.what());
      }
      return std::string();
    };
    const std::string short_one = bad("abc");
    CHECK(short_one.find("files[1]") != std::string::npos);
    CHECK(short_one.find("\"a.bin\"") != std::string::npos);
    CHECK(short_one.find("\"abc\"") != std::string::npos);
    CHECK(!bad(std::string(63, 'a') + "g").empty());
    CHECK(!bad(std::string(65, 'a')).empty());
  }

  TEST_CASE("source_uri: relative values resolve against the storage root") {
    auto s3 = parse_source_uri("cache/llama-1b-instruct/", "s3://bucket/");
    CHECK(s3.to_string() == "s3://bucket/cache/llama-1b-instruct/");
    auto s3_no_slash = parse_source_uri("llama", "s3://bucket/root");
    CHECK(s3_no_slash.to_string() == "s3://bucket/root/llama/");
    auto file = parse_source_uri("./cache/llama", "file:///srv/models/");
    CHECK(file.to_string() == "/srv/models/cache/llama/");
    auto path = parse_source_uri("llama", "/srv/models");
    CHECK(path.path == "/srv/models/llama");
    auto https = parse_source_uri("llama/", "https://cdn.example.org/models/", {"config.json"});
    CHECK(https.base_url == "https://cdn.example.org/models/llama/");

    const std::string no_root = error_of("cache/llama");
    CHECK(no_root.find("\"cache/llama\"") != std::string::npos);
    CHECK(no_root.find("--storage") != std::string::npos);
    CHECK(error_of("../escape", "s3://bucket/").find("\"..\"") != std::string::npos);
  }

  TEST_CASE("source_uri: errors quote the bad value") {
    const std::string e = error_of("ftp://host/x");
    CHECK(e.find("download_files_from") != std::string::npos);
    CHECK(e.find("\"ftp://host/x\"") != std::string::npos);
    CHECK(e.find("unsupported scheme") != std::string::npos);
    CHECK(!error_of("").empty());
  }
}
