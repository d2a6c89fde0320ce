// The HTTP(S) source: a base URL and an explicit file list, here served by s3rver's anonymous
// GET/HEAD over plain HTTP on loopback (the code path is the same as for HTTPS).
#include "sync/sources/source_https.hpp"

#include <doctest/doctest.h>

#include <thread>

#include "sync/synchronizer.hpp"
#include "test_support.hpp"

using namespace mh::sync;
namespace fs = std::filesystem;

TEST_SUITE("https") {
  TEST_CASE("https: an explicit file list syncs, re-syncs for free, and resumes") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "config.json", R"({"a": 1})");
    test::write_random_file(tmp / "src" / "weights" / "model.safetensors", 30'000'000, 9);
    test::S3rverProcess server(tmp / "data", {"public"});
    server.start();
    server.put("public", "llama/config.json", tmp / "src" / "config.json");
    server.put("public", "llama/weights/model.safetensors",
               tmp / "src" / "weights" / "model.safetensors");

    SyncJob job;
    job.source =
        parse_source_uri("llama", server.endpoint() + "/public/",
                         std::vector<std::string>{"config.json", "weights/model.safetensors"});
    job.target = tmp / "dst";
    SyncProgress progress;
    const SyncResult first = sync(job, progress);
    REQUIRE_MESSAGE(first.ok, first.error);
    CHECK(first.files_transferred == 2);
    CHECK(test::tree_digest(tmp / "dst") == test::tree_digest(tmp / "src"));

    const SyncResult again = sync(job, progress);
    REQUIRE(again.ok);
    CHECK(again.bytes_transferred == 0);

    // Interrupted and resumed with Range + If-Range.
    fs::remove(tmp / "dst" / "weights" / "model.safetensors");
    std::stop_source stop;
    SyncProgress watched;
    job.max_bytes_per_sec = 50'000'000;
    SyncResult cancelled;
    {
      std::jthread syncing([&] { cancelled = sync(job, watched, stop.get_token()); });
      CHECK(test::wait_until([&] {
        return watched.bytes_done() >= 10'000'000 || watched.phase() == SyncPhase::failed;
      }));
      stop.request_stop();
    }
    CHECK(cancelled.cancelled);
    job.max_bytes_per_sec = 0;
    const SyncResult resumed = sync(job, progress);
    REQUIRE_MESSAGE(resumed.ok, resumed.error);
    CHECK(resumed.bytes_transferred < 25'000'000);
    CHECK(test::tree_digest(tmp / "dst") == test::tree_digest(tmp / "src"));
  }

  TEST_CASE("https: redirects stay on the same host; a cross-host one is refused") {
    test::TempDir tmp;
    test::write_text_file(tmp / "a.bin", "mirrored bytes");
    test::S3rverProcess server(tmp / "data", {"public"});
    server.start();
    server.put("public", "mirror/a.bin", tmp / "a.bin");
    const std::string port = std::to_string(server.port());
    SyncJob job;
    job.source = parse_source_uri(server.endpoint() + "/public/llama/", {}, {"a.bin"});
    job.target = tmp / "dst";
    SyncProgress progress;

    // "localhost" is another host name than "127.0.0.1", though the same server answers.
    server.redirect("llama/a.bin", "http://localhost:" + port + "/public/mirror/a.bin");
    const SyncResult refused = sync(job, progress);
    CHECK(!refused.ok);
    CHECK(refused.error.find("/public/llama/a.bin") != std::string::npos);
    CHECK(refused.error.find("redirect") != std::string::npos);
    CHECK(refused.error.find("\"localhost\"") != std::string::npos);
    CHECK(!fs::exists(tmp / "dst" / "a.bin"));

    server.redirect("llama/a.bin", "http://127.0.0.1:" + port + "/public/mirror/a.bin");
    const SyncResult same_host = sync(job, progress);
    REQUIRE_MESSAGE(same_host.ok, same_host.error);
    CHECK(test::read_file(tmp / "dst" / "a.bin") == "mirrored bytes");

    // A loop ends after a bounded number of hops.
    server.redirect("llama/a.bin", server.endpoint() + "/public/llama/a.bin");
    fs::remove_all(tmp / "dst");
    const SyncResult looped = sync(job, progress);
    CHECK(!looped.ok);
    CHECK(looped.error.find("redirects") != std::string::npos);
  }

  TEST_CASE("https: a cross-host redirect to an allowed host is followed") {
    test::TempDir tmp;
    test::write_text_file(tmp / "a.bin", "mirrored bytes");
    test::S3rverProcess server(tmp / "data", {"public"});
    server.start();
    server.put("public", "mirror/a.bin", tmp / "a.bin");
    const std::string port = std::to_string(server.port());
    server.redirect("llama/a.bin", "http://localhost:" + port + "/public/mirror/a.bin", 307);
    SyncJob job;
    job.source = parse_source_uri(server.endpoint() + "/public/llama/", {}, {"a.bin"});
    job.target = tmp / "dst";
    job.source_settings.https_redirects.allowed_hosts = {"LocalHost"};  // case-insensitive
    SyncProgress progress;
    const SyncResult result = sync(job, progress);
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(test::read_file(tmp / "dst" / "a.bin") == "mirrored bytes");

    job.source_settings.https_redirects.max_redirects = 0;  // redirects off
    fs::remove_all(tmp / "dst");
    const SyncResult off = sync(job, progress);
    CHECK(!off.ok);
    CHECK(off.error.find("redirects are not followed") != std::string::npos);
  }

  TEST_CASE("https: a pinned sha256 is verified; a mismatch names the file and keeps nothing") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "config.json", R"({"a": 1})");
    test::write_random_file(tmp / "src" / "model.bin", 3'000'000, 10);
    test::S3rverProcess server(tmp / "data", {"public"});
    server.start();
    server.put("public", "llama/config.json", tmp / "src" / "config.json");
    server.put("public", "llama/model.bin", tmp / "src" / "model.bin");
    SyncJob job;
    job.target = tmp / "dst";
    job.source = parse_source_uri(
        server.endpoint() + "/public/llama/", {},
        std::vector<SourceFile>{{"config.json", test::sha256_file(tmp / "src" / "config.json")},
                                {"model.bin", std::string(64, 'e')}});
    SyncProgress progress;
    const SyncResult wrong = sync(job, progress);
    CHECK(!wrong.ok);
    CHECK(wrong.error.find("\"model.bin\"") != std::string::npos);
    CHECK(wrong.error.find("SHA-256 mismatch") != std::string::npos);
    CHECK(!fs::exists(tmp / "dst" / "model.bin"));
    CHECK(test::partial_files(tmp / "dst").empty());

    job.source.files[1].sha256 = test::sha256_file(tmp / "src" / "model.bin");
    const SyncResult right = sync(job, progress);
    REQUIRE_MESSAGE(right.ok, right.error);
    CHECK(test::tree_digest(tmp / "dst") == test::tree_digest(tmp / "src"));
  }

  TEST_CASE("https: a missing file is a permanent error naming the URL") {
    test::TempDir tmp;
    test::S3rverProcess server(tmp / "data", {"public"});
    server.start();
    SyncJob job;
    job.source = parse_source_uri(server.endpoint() + "/public/llama/", {}, {"nope.bin"});
    job.target = tmp / "dst";
    SyncProgress progress;
    const SyncResult result = sync(job, progress);
    CHECK(!result.ok);
    CHECK(result.error.find("/public/llama/nope.bin") != std::string::npos);
    CHECK(result.error.find("HTTP 404") != std::string::npos);
  }
}
