// The S3 source against a real s3rver on loopback (SigV4 verified by the launcher): a nested
// prefix with a file over 100 MB, incremental re-syncs, repairs, hostile keys, injected 5xx and
// 403 answers, wrong credentials, and the server killed in the middle of the big file.
#include "sync/sources/source_s3.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <thread>

#include "sync/synchronizer.hpp"
#include "test_support.hpp"

using namespace mh::sync;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kBigSize = 105ULL * 1000 * 1000 + 4321;  // "over 100 MB"
const std::string kBucket = "models";
const std::string kPrefix = "cache/llama-test/";
const std::string kBigKey = "weights/model-00001-of-00002.safetensors";

// One s3rver for the whole suite, holding:
//   cache/llama-test/...            the model (also kept as a local tree in `source` to compare)
//   cache/llama-test-2/x.bin        a sibling prefix that must not leak into the sync
//   hostile/ok.txt, hostile/__DOTDOT__/__DOTDOT__/escape.txt   listed as ".." by the launcher
struct S3Env {
  test::TempDir tmp;
  fs::path source = tmp / "source";
  test::S3rverProcess server{tmp / "s3rver-data", {kBucket}};

  S3Env() {
    test::write_text_file(source / "config.json", R"({"hidden_size": 64})");
    test::write_text_file(source / "generation_config.json", R"({"eos": 1})");
    test::write_random_file(source / "tokenizer" / "tokenizer.json", 300000, 5);
    test::write_random_file(source / kBigKey, kBigSize, 6);
    test::write_random_file(source / "weights" / "model-00002-of-00002.safetensors", 4000000, 7);
    test::write_text_file(source / "odd names" / "a+b=c ü.txt", "odd");
    server.start();
    for (const auto& [key, digest] : test::tree_digest(source)) {
      server.put(kBucket, kPrefix + key, source / key);
    }
    test::write_text_file(tmp / "sibling.bin", "not part of the model");
    server.put(kBucket, "cache/llama-test-2/x.bin", tmp / "sibling.bin");
    server.put(kBucket, "hostile/ok.txt", tmp / "sibling.bin");
    server.put(kBucket, "hostile/__DOTDOT__/__DOTDOT__/escape.txt", tmp / "sibling.bin");
  }

  SyncJob job(const fs::path& target, const std::string& prefix = kPrefix) {
    SyncJob j;
    j.source = parse_source_uri("s3://" + kBucket + "/" + prefix);
    j.target = target;
    j.source_settings.s3 = server.settings();
    j.retry = RetryPolicy{5, std::chrono::milliseconds(50), std::chrono::milliseconds(400)};
    return j;
  }
};

S3Env& env() {
  static auto instance = std::make_unique<S3Env>();
  if (!instance->server.running()) instance->server.start();  // a test killed it
  return *instance;
}

SyncResult run(const SyncJob& job) {
  SyncProgress progress;
  return sync(job, progress);
}

void flip_bytes(const fs::path& path, std::uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(~c));
}

// Runs `job` throttled; kills s3rver once `kill_after` bytes are done, and restarts it
// `restart_after` later if set. Returns the sync's result.
SyncResult sync_and_kill(S3Env& e, SyncJob job, std::uint64_t kill_after,
                         std::optional<std::chrono::milliseconds> restart_after,
                         bool* saw_partial_name) {
  SyncProgress progress;
  SyncResult result;
  std::jthread syncing([&] { result = sync(job, progress); });
  const bool reached = test::wait_until([&] {
    return progress.bytes_done() >= kill_after || progress.phase() == SyncPhase::failed ||
           progress.phase() == SyncPhase::done;
  });
  CHECK(reached);
  REQUIRE(progress.phase() == SyncPhase::transferring);
  e.server.kill();
  // While it is down, the big file's real name must not exist (first sync into this target).
  *saw_partial_name = fs::exists(job.target / kBigKey);
  if (restart_after) {
    std::this_thread::sleep_for(*restart_after);
    e.server.start();
  }
  syncing.join();
  return result;
}

}  // namespace

TEST_SUITE("s3") {
  TEST_CASE(
      "s3: a nested prefix syncs byte-identical; a re-sync moves 0 bytes; one change, one fetch") {
    S3Env& e = env();
    const fs::path target = e.tmp / "t-basic";
    const SyncResult first = run(e.job(target));
    REQUIRE_MESSAGE(first.ok, first.error);
    CHECK(first.files_transferred == 6);
    CHECK(first.bytes_transferred == first.bytes_total);
    CHECK(first.bytes_total > kBigSize);
    CHECK(test::tree_digest(target) == test::tree_digest(e.source));
    CHECK(!fs::exists(target / "x.bin"));  // the sibling prefix stays out

    const int big_gets = e.server.requests(kBigKey);
    const SyncResult second = run(e.job(target));
    REQUIRE(second.ok);
    CHECK(second.bytes_transferred == 0);
    CHECK(second.files_transferred == 0);
    CHECK(second.files_unchanged == 6);
    CHECK(!second.changed);
    CHECK(e.server.requests(kBigKey) == big_gets);

    // Change one object: exactly that one is fetched again.
    test::write_text_file(e.tmp / "config-v2.json", R"({"hidden_size": 128})");
    e.server.put(kBucket, kPrefix + "config.json", e.tmp / "config-v2.json");
    const SyncResult third = run(e.job(target));
    REQUIRE(third.ok);
    CHECK(third.files_transferred == 1);
    CHECK(third.bytes_transferred == fs::file_size(e.tmp / "config-v2.json"));
    CHECK(third.changed);
    CHECK(test::read_file(target / "config.json") == test::read_file(e.tmp / "config-v2.json"));
    e.server.put(kBucket, kPrefix + "config.json", e.source / "config.json");
  }

  TEST_CASE("s3: a corrupted or truncated local copy is detected and repaired") {
    S3Env& e = env();
    const fs::path target = e.tmp / "t-repair";
    REQUIRE(run(e.job(target)).ok);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    flip_bytes(target / kBigKey, 12345678);
    fs::resize_file(target / "tokenizer" / "tokenizer.json", 17);
    const SyncResult repaired = run(e.job(target));
    REQUIRE(repaired.ok);
    CHECK(repaired.files_transferred == 2);
    CHECK(repaired.bytes_transferred == kBigSize + 300000);
    CHECK(test::tree_digest(target) == test::tree_digest(e.source));

    // A lost state file: the copies are verified against the ETag MD5s, not fetched again.
    fs::remove(target / ".modelhost-sync.json");
    const SyncResult adopted = run(e.job(target));
    REQUIRE(adopted.ok);
    CHECK(adopted.bytes_transferred == 0);
  }

  TEST_CASE("s3: ListObjectsV2 pagination") {
    S3Env& e = env();
    SyncJob job = e.job(e.tmp / "t-pages");
    job.source_settings.s3->list_page_size = 2;
    const SyncResult result = run(job);
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(result.files_total == 6);
    CHECK(test::tree_digest(job.target) == test::tree_digest(e.source));
  }

  TEST_CASE("s3: a key containing ../ is refused and nothing is written outside the target") {
    S3Env& e = env();
    const fs::path box = e.tmp / "hostile-box";
    fs::create_directories(box);
    const SyncResult result = run(e.job(box / "target", "hostile/"));
    CHECK(!result.ok);
    CHECK(result.error.find("\"../../escape.txt\"") != std::string::npos);
    std::vector<std::string> top;
    for (const auto& entry : fs::directory_iterator(box)) {
      top.push_back(entry.path().filename().string());
    }
    CHECK(top == std::vector<std::string>{"target"});
    CHECK(test::tree_digest(box / "target").empty());
    CHECK(!fs::exists(e.tmp / "escape.txt"));
  }

  TEST_CASE("s3: an object larger than listed is refused before its bytes are written") {
    S3Env& e = env();
    test::write_random_file(e.tmp / "oversize.bin", 4'000'000, 11);
    e.server.put(kBucket, "oversize/big.bin", e.tmp / "oversize.bin");
    e.server.understate("oversize/big.bin", 1000);
    const SyncResult result = run(e.job(e.tmp / "t-oversize", "oversize/"));
    CHECK(!result.ok);
    CHECK(result.error.find("\"big.bin\"") != std::string::npos);
    CHECK(result.error.find("1000 bytes listed") != std::string::npos);
    CHECK(result.bytes_transferred <= 1000);
    CHECK(!fs::exists(e.tmp / "t-oversize" / "big.bin"));
    CHECK(test::partial_files(e.tmp / "t-oversize").empty());
  }

  TEST_CASE("s3: a listing answer over the size cap is refused") {
    S3Env& e = env();
    e.server.put(kBucket, "padded/a.txt", e.tmp / "sibling.bin");
    e.server.pad_listings(17ULL << 20);  // one page of 17 MiB; the default cap is 16 MiB
    const SyncResult result = run(e.job(e.tmp / "t-padded", "padded/"));
    e.server.pad_listings(0);
    CHECK(!result.ok);
    CHECK(result.error.find("s3://models/padded/") != std::string::npos);
    CHECK(result.error.find("16 MiB") != std::string::npos);
    CHECK(!fs::exists(e.tmp / "t-padded" / "a.txt"));
  }

  TEST_CASE("s3: a listing with more objects than the limit is refused") {
    S3Env& e = env();
    SyncJob job = e.job(e.tmp / "t-many");
    job.source_settings.listing.max_objects = 5;  // the model has 6
    job.source_settings.s3->list_page_size = 2;
    const SyncResult result = run(job);
    CHECK(!result.ok);
    CHECK(result.error.find("more than 5 objects") != std::string::npos);
    CHECK(test::tree_digest(job.target).empty());
  }

  TEST_CASE("s3: a resumed transfer answered from the wrong offset is refused, then restarts") {
    S3Env& e = env();
    test::write_random_file(e.tmp / "misrange.bin", 20'000'000, 12);
    e.server.put(kBucket, "misrange/big.bin", e.tmp / "misrange.bin");
    SyncJob job = e.job(e.tmp / "t-misrange", "misrange/");
    job.max_bytes_per_sec = 20'000'000;
    SyncProgress progress;
    std::stop_source stop;
    SyncResult cancelled;
    {
      std::jthread syncing([&] { cancelled = sync(job, progress, stop.get_token()); });
      CHECK(test::wait_until([&] {
        return progress.bytes_done() >= 4'000'000 || progress.phase() == SyncPhase::failed;
      }));
      stop.request_stop();
    }
    REQUIRE(cancelled.cancelled);
    REQUIRE(test::partial_files(job.target).size() == 1);

    e.server.misrange("misrange/big.bin");  // the resume's Range is answered from byte 0
    job.max_bytes_per_sec = 0;
    const SyncResult refused = run(job);
    CHECK(!refused.ok);
    CHECK(refused.error.find("\"big.bin\"") != std::string::npos);
    CHECK(refused.error.find("with bytes from 0") != std::string::npos);
    CHECK(!fs::exists(job.target / "big.bin"));
    CHECK(test::partial_files(job.target).empty());  // discarded: the next sync starts over

    const SyncResult fresh = run(job);  // no Range this time
    REQUIRE_MESSAGE(fresh.ok, fresh.error);
    CHECK(test::sha256_file(job.target / "big.bin") == test::sha256_file(e.tmp / "misrange.bin"));
  }

  TEST_CASE("s3: 5xx answers are retried") {
    S3Env& e = env();
    const std::string key = "weights/model-00002-of-00002.safetensors";
    const int before = e.server.requests(key);
    e.server.fault(key, 503, 2);
    const SyncResult result = run(e.job(e.tmp / "t-503"));
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(e.server.requests(key) - before == 3);
    CHECK(test::tree_digest(e.tmp / "t-503") == test::tree_digest(e.source));
  }

  TEST_CASE("s3: a 403 fails at once, naming the key and the reason") {
    S3Env& e = env();
    const std::string key = "tokenizer/tokenizer.json";
    const int before = e.server.requests(key);
    e.server.fault(key, 403, 1);
    SyncJob job = e.job(e.tmp / "t-403");
    job.retry.initial_backoff = std::chrono::milliseconds(2000);  // a retry would be slow, too
    const SyncResult result = run(job);
    CHECK(!result.ok);
    CHECK(e.server.requests(key) - before == 1);
    CHECK(result.error.find("\"" + key + "\"") != std::string::npos);
    CHECK(result.error.find("HTTP 403 AccessDenied") != std::string::npos);
    CHECK(!fs::exists(e.tmp / "t-403" / key));
  }

  TEST_CASE("s3: a missing object is a permanent 404") {
    S3Env& e = env();
    const fs::path lone = e.tmp / "lone.txt";
    test::write_text_file(lone, "soon gone");
    e.server.put(kBucket, "gone/a.txt", lone);
    e.server.fault("gone/a.txt", 404, 1);
    const SyncResult result = run(e.job(e.tmp / "t-404", "gone/"));
    CHECK(!result.ok);
    CHECK(result.error.find("\"a.txt\"") != std::string::npos);
    CHECK(result.error.find("HTTP 404") != std::string::npos);
  }

  TEST_CASE("s3: wrong credentials fail with the server's reason") {
    S3Env& e = env();
    SyncJob job = e.job(e.tmp / "t-creds");
    job.source_settings.s3->secret_access_key = "not-the-secret";
    SyncResult result = run(job);
    CHECK(!result.ok);
    CHECK(result.error.find("HTTP 403 SignatureDoesNotMatch") != std::string::npos);
    job.source_settings.s3 = e.server.settings();
    job.source_settings.s3->region = "us-east-1";  // the launcher expects kRegion
    result = run(job);
    CHECK(!result.ok);
    CHECK(result.error.find("region") != std::string::npos);
  }

  TEST_CASE("s3: settings from the AWS_* variables") {
    S3Env& e = env();
    ::setenv("AWS_ENDPOINT_URL", (e.server.endpoint() + "/").c_str(), 1);
    ::setenv("AWS_REGION", test::S3rverProcess::kRegion, 1);
    ::setenv("AWS_ACCESS_KEY_ID", test::S3rverProcess::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", test::S3rverProcess::kSecret, 1);
    ::setenv("AWS_SESSION_TOKEN", "session-token-value", 1);
    SyncJob job = e.job(e.tmp / "t-env");
    job.source_settings.s3.reset();
    job.source = parse_source_uri("llama-test/", "s3://" + kBucket + "/cache/");
    const SyncResult result = run(job);
    for (const char* name : {"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}) {
      ::unsetenv(name);
    }
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(test::tree_digest(job.target) == test::tree_digest(e.source));
  }

  TEST_CASE(
      "s3: s3rver killed mid-file: no partial under the real name, a clear failure, resumed "
      "later") {
    S3Env& e = env();
    SyncJob job = e.job(e.tmp / "t-kill");
    job.max_bytes_per_sec = 60'000'000;
    job.retry = RetryPolicy{3, std::chrono::milliseconds(50), std::chrono::milliseconds(100)};
    bool real_name_seen = true;
    const SyncResult result = sync_and_kill(e, job, 30'000'000, std::nullopt, &real_name_seen);
    CHECK(!real_name_seen);
    CHECK(!result.ok);
    CHECK(!result.cancelled);
    CHECK(result.error.find("\"" + kBigKey + "\"") != std::string::npos);
    CHECK(result.error.find("after 3 attempts") != std::string::npos);
    CHECK(result.error.find("Couldn't connect") != std::string::npos);
    CHECK(!fs::exists(job.target / kBigKey));
    CHECK(test::partial_files(job.target).size() == 1);

    e.server.start();
    job.max_bytes_per_sec = 0;
    const SyncResult resumed = run(job);
    REQUIRE_MESSAGE(resumed.ok, resumed.error);
    CHECK(resumed.bytes_transferred < kBigSize);  // continued with a Range request
    CHECK(test::tree_digest(job.target) == test::tree_digest(e.source));
    CHECK(test::partial_files(job.target).empty());
  }

  TEST_CASE("s3: s3rver killed mid-file and back within the retry window: the sync completes") {
    S3Env& e = env();
    SyncJob job = e.job(e.tmp / "t-restart");
    job.max_bytes_per_sec = 60'000'000;
    job.retry = RetryPolicy{6, std::chrono::milliseconds(250), std::chrono::milliseconds(2000)};
    bool real_name_seen = true;
    const SyncResult result =
        sync_and_kill(e, job, 30'000'000, std::chrono::milliseconds(300), &real_name_seen);
    CHECK(!real_name_seen);
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(result.bytes_transferred < result.bytes_total + 10'000'000);  // resumed, not restarted
    CHECK(test::tree_digest(job.target) == test::tree_digest(e.source));
    CHECK(test::partial_files(job.target).empty());
  }
}
