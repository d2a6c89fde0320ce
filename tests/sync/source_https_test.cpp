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
    job.source = parse_source_uri("llama", server.endpoint() + "/public/",
                                  {"config.json", "weights/model.safetensors"});
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
