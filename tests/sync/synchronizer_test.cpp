// The synchronizer against an in-memory source: key safety, retries and resume, permanent
// errors, checksum verification, cancellation, deletion rules, fingerprints, progress.
#include "sync/synchronizer.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "files/hashing.hpp"
#include "files/unique_fd.hpp"
#include "sync/retry.hpp"
#include "sync/sync_error.hpp"
#include "sync/sync_state.hpp"
#include "test_support.hpp"

using namespace mh::sync;
namespace files = mh::files;
namespace fs = std::filesystem;

namespace {

class FakeSource final : public Source {
 public:
  struct Object {
    std::string content;
    std::string version;
    bool with_md5 = false;
    std::string wrong_md5;  // advertise this MD5 instead of the real one
  };

  void set(const std::string& key, std::string content, std::string version = "v1") {
    std::lock_guard lock(mutex_);
    objects_[key] = Object{std::move(content), std::move(version), false, {}};
  }
  void erase(const std::string& key) {
    std::lock_guard lock(mutex_);
    objects_.erase(key);
  }
  Object& at(const std::string& key) { return objects_.at(key); }

  // The next `count` fetches of `key` deliver half of what is left and then fail with `kind`.
  void fail(const std::string& key, int count, ErrorKind kind) {
    std::lock_guard lock(mutex_);
    failures_[key] = {count, kind};
  }
  // fetch() of `key` blocks until the stop token fires, after delivering a few bytes.
  void block(const std::string& key) { blocked_ = key; }

  std::vector<RemoteObject> list(const std::stop_token&) override {
    std::lock_guard lock(mutex_);
    std::vector<RemoteObject> out;
    for (const auto& [key, object] : objects_) {
      RemoteObject r;
      r.key = key;
      r.size = object.content.size();
      r.version = object.version;
      if (object.with_md5) {
        files::Hasher md5(files::HashAlgorithm::md5);
        md5.update(object.content.data(), object.content.size());
        r.md5 = object.wrong_md5.empty() ? md5.hex_digest() : object.wrong_md5;
      }
      out.push_back(r);
    }
    return out;
  }

  void fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) override {
    std::string content;
    std::pair<int, ErrorKind> failure{0, ErrorKind::transient};
    {
      std::lock_guard lock(mutex_);
      ++fetches[object.key];
      offsets[object.key].push_back(sink.offset());
      content = objects_.at(object.key).content;
      if (auto it = failures_.find(object.key); it != failures_.end() && it->second.first > 0) {
        --it->second.first;
        failure = {1, it->second.second};
      }
    }
    const std::size_t from = sink.offset();
    if (failure.first > 0) {
      const std::size_t half = (content.size() - from) / 2;
      sink.write(content.data() + from, half);
      if (failure.second == ErrorKind::transient) throw transient_error("connection reset (fake)");
      throw permanent_error("HTTP 403 AccessDenied (fake)");
    }
    if (object.key == blocked_) {
      sink.write(content.data() + from, 10);
      // Until the test stops the sync; bounded so that a broken stop cannot hang the suite.
      test::wait_until([&] { return stop.stop_requested(); }, std::chrono::seconds(30));
      throw cancelled_error();
    }
    sink.write(content.data() + from, content.size() - from);
  }

  std::map<std::string, int> fetches;
  std::map<std::string, std::vector<std::uint64_t>> offsets;

 private:
  std::mutex mutex_;
  std::map<std::string, Object> objects_;
  std::map<std::string, std::pair<int, ErrorKind>> failures_;
  std::string blocked_;
};

SyncJob job_for(const fs::path& target) {
  SyncJob job;
  job.source = parse_source_uri("/fake/source");
  job.target = target;
  job.retry = RetryPolicy{5, std::chrono::milliseconds(5), std::chrono::milliseconds(20)};
  return job;
}

SyncResult run(FakeSource& source, const SyncJob& job) {
  SyncProgress progress;
  return sync_from(source, job, progress);
}

}  // namespace

TEST_SUITE("unit") {
  TEST_CASE("synchronizer: a key with ../ is refused and nothing is written outside the target") {
    for (const std::string bad : {"../outside.txt", "a/../../outside.txt", "/tmp/abs.txt"}) {
      CAPTURE(bad);
      test::TempDir tmp;
      FakeSource source;
      source.set("good.txt", "fine");
      source.set(bad, "evil");
      const SyncResult result = run(source, job_for(tmp / "target"));
      CHECK(!result.ok);
      CHECK(result.error.find("\"" + bad + "\"") != std::string::npos);
      CHECK(result.error.find("refusing") != std::string::npos);
      CHECK(source.fetches.empty());
      // Only the target directory (holding nothing but the sync's lock and state) exists.
      std::vector<std::string> top;
      for (const auto& entry : fs::directory_iterator(tmp.path())) {
        top.push_back(entry.path().filename().string());
      }
      CHECK(top == std::vector<std::string>{"target"});
      CHECK(test::tree_digest(tmp / "target").empty());
    }
  }

  TEST_CASE("synchronizer: transient failures are retried and resume where they stopped") {
    test::TempDir tmp;
    FakeSource source;
    std::string content(100000, 'x');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7);
    source.set("model.bin", content);
    source.at("model.bin").with_md5 = true;
    source.fail("model.bin", 2, ErrorKind::transient);
    const SyncResult result = run(source, job_for(tmp / "t"));
    REQUIRE(result.ok);
    CHECK(source.fetches["model.bin"] == 3);
    CHECK(source.offsets["model.bin"] == std::vector<std::uint64_t>{0, 50000, 75000});
    CHECK(result.bytes_transferred == content.size());  // nothing fetched twice
    CHECK(test::read_file(tmp / "t" / "model.bin") == content);
  }

  TEST_CASE("synchronizer: a permanent error fails at once with the key and the reason") {
    test::TempDir tmp;
    FakeSource source;
    source.set("ok.txt", "fine");
    source.set("secret/weights.bin", std::string(1000, 'w'));
    source.fail("secret/weights.bin", 1, ErrorKind::permanent);
    SyncJob job = job_for(tmp / "t");
    job.retry.initial_backoff = std::chrono::milliseconds(1000);  // would show as a slow test
    const SyncResult result = run(source, job);
    CHECK(!result.ok);
    CHECK(!result.cancelled);
    CHECK(source.fetches["secret/weights.bin"] == 1);
    CHECK(result.error.find("\"secret/weights.bin\"") != std::string::npos);
    CHECK(result.error.find("403") != std::string::npos);
    CHECK(!fs::exists(tmp / "t" / "secret" / "weights.bin"));
    CHECK(test::partial_files(tmp / "t").empty());
  }

  TEST_CASE("synchronizer: retries are bounded") {
    test::TempDir tmp;
    FakeSource source;
    source.set("flaky.bin", std::string(1000, 'f'));
    source.fail("flaky.bin", 100, ErrorKind::transient);
    const SyncResult result = run(source, job_for(tmp / "t"));
    CHECK(!result.ok);
    CHECK(source.fetches["flaky.bin"] == 5);
    CHECK(result.error.find("after 5 attempts") != std::string::npos);
    CHECK(!fs::exists(tmp / "t" / "flaky.bin"));
  }

  TEST_CASE("synchronizer: a checksum mismatch is never renamed into place") {
    test::TempDir tmp;
    FakeSource source;
    source.set("model.bin", "the real bytes");
    source.at("model.bin").with_md5 = true;
    source.at("model.bin").wrong_md5 = "0123456789abcdef0123456789abcdef";
    const SyncResult result = run(source, job_for(tmp / "t"));
    CHECK(!result.ok);
    CHECK(result.error.find("MD5 mismatch") != std::string::npos);
    CHECK(!fs::exists(tmp / "t" / "model.bin"));
  }

  TEST_CASE("synchronizer: cancellation leaves no file under its real name") {
    test::TempDir tmp;
    FakeSource source;
    source.set("slow.bin", std::string(100000, 's'));
    source.block("slow.bin");
    SyncProgress progress;
    std::stop_source stop;
    SyncResult result;
    std::jthread syncing(
        [&] { result = sync_from(source, job_for(tmp / "t"), progress, stop.get_token()); });
    REQUIRE(test::wait_until([&] { return progress.bytes_done() >= 10; }));
    auto snapshot = progress.snapshot();
    CHECK(snapshot.phase == SyncPhase::transferring);
    CHECK(snapshot.current == std::vector<std::string>{"slow.bin"});
    CHECK(snapshot.bytes_total == 100000);
    stop.request_stop();
    syncing.join();
    CHECK(!result.ok);
    CHECK(result.cancelled);
    CHECK(!fs::exists(tmp / "t" / "slow.bin"));
    // The partial is kept for a resume, and the next sync resumes it.
    CHECK(test::partial_files(tmp / "t").size() == 1);
    source.block("");
    const SyncResult again = run(source, job_for(tmp / "t"));
    REQUIRE(again.ok);
    CHECK(source.offsets["slow.bin"].back() == 10);
    CHECK(again.bytes_transferred == 100000 - 10);
    CHECK(test::partial_files(tmp / "t").empty());
  }

  TEST_CASE("synchronizer: incremental, deletions only of files it put there, fingerprints") {
    test::TempDir tmp;
    const fs::path target = tmp / "t";
    FakeSource source;
    source.set("a.txt", "alpha");
    source.set("dir/sub/b.txt", "bravo");
    source.set("c.txt", "charlie");
    SyncProgress progress;
    const SyncResult first = sync_from(source, job_for(target), progress);
    REQUIRE(first.ok);
    CHECK(first.files_transferred == 3);
    CHECK(first.changed);
    CHECK(first.files_total == 3);
    CHECK(progress.snapshot().phase == SyncPhase::done);
    CHECK(progress.files_done() == 3);
    CHECK(progress.bytes_done() == progress.bytes_total());

    const SyncResult second = run(source, job_for(target));
    REQUIRE(second.ok);
    CHECK(second.bytes_transferred == 0);
    CHECK(second.files_unchanged == 3);
    CHECK(!second.changed);
    CHECK(second.fingerprint == first.fingerprint);

    // A new version with the same bytes is fetched, but the content fingerprint stays.
    source.set("a.txt", "alpha", "v2");
    const SyncResult touched = run(source, job_for(target));
    CHECK(touched.files_transferred == 1);
    CHECK(!touched.changed);

    // A user file is never deleted; a vanished synced file is, with its emptied directories.
    test::write_text_file(target / "dir" / "notes.txt", "mine");
    test::write_text_file(target / "user.txt", "mine too");
    source.erase("dir/sub/b.txt");
    source.set("c.txt", "charlie 2", "v2");
    const SyncResult third = run(source, job_for(target));
    REQUIRE(third.ok);
    CHECK(third.files_deleted == 1);
    CHECK(third.files_transferred == 1);
    CHECK(third.changed);
    CHECK(!fs::exists(target / "dir" / "sub"));
    CHECK(fs::exists(target / "dir" / "notes.txt"));
    CHECK(fs::exists(target / "user.txt"));
    CHECK(test::read_file(target / "c.txt") == "charlie 2");
  }

  TEST_CASE("synchronizer: verify_all re-hashes files whose stat still matches the record") {
    test::TempDir tmp;
    FakeSource source;
    source.set("model.bin", "original bytes");
    REQUIRE(run(source, job_for(tmp / "t")).ok);
    // Make the record disagree with the content while size, mtime and ctime still match it: only
    // a full verification can notice.
    SyncState state = *read_sync_state(tmp / "t");
    state.files["model.bin"].sha256 = std::string(64, '0');
    files::UniqueFd dir(::open((tmp / "t").c_str(), O_RDONLY | O_DIRECTORY));
    save_state(dir.get(), state);
    CHECK(run(source, job_for(tmp / "t")).files_unchanged == 1);
    SyncJob job = job_for(tmp / "t");
    job.verify_all = true;
    const SyncResult verified = run(source, job);
    CHECK(verified.files_transferred == 1);
    CHECK(read_sync_state(tmp / "t")->files["model.bin"].sha256 ==
          files::sha256_hex("original bytes"));
  }

  TEST_CASE("synchronizer: empty files") {
    test::TempDir tmp;
    FakeSource source;
    source.set("empty.txt", "");
    source.at("empty.txt").with_md5 = true;
    const SyncResult result = run(source, job_for(tmp / "t"));
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(fs::exists(tmp / "t" / "empty.txt"));
    CHECK(fs::file_size(tmp / "t" / "empty.txt") == 0);
    CHECK(run(source, job_for(tmp / "t")).files_unchanged == 1);
  }

  TEST_CASE("synchronizer: conflicting and missing keys") {
    test::TempDir tmp;
    FakeSource source;
    source.set("a", "file");
    source.set("a/b", "below a file");
    SyncResult result = run(source, job_for(tmp / "t"));
    CHECK(!result.ok);
    CHECK(result.error.find("\"a/b\"") != std::string::npos);

    FakeSource filtered;
    filtered.set("config.json", "{}");
    filtered.set("extra.bin", "not wanted");
    SyncJob job = job_for(tmp / "u");
    job.source = parse_source_uri("/fake/source", {}, {"config.json"});
    result = run(filtered, job);
    CHECK(result.ok);
    CHECK(!fs::exists(tmp / "u" / "extra.bin"));
    job.source = parse_source_uri("/fake/source", {}, {"config.json", "missing.bin"});
    result = run(filtered, job);
    CHECK(!result.ok);
    CHECK(result.error.find("\"missing.bin\"") != std::string::npos);
  }

  TEST_CASE("retry: backoff grows, is capped and jittered") {
    RetryPolicy policy{5, std::chrono::milliseconds(100), std::chrono::milliseconds(1000)};
    CHECK(backoff_delay(policy, 1).count() >= 80);
    CHECK(backoff_delay(policy, 1).count() <= 100);
    CHECK(backoff_delay(policy, 3).count() >= 320);
    CHECK(backoff_delay(policy, 3).count() <= 400);
    CHECK(backoff_delay(policy, 10).count() <= 1000);
    std::stop_source stop;
    stop.request_stop();
    CHECK(!sleep_unless_stopped(std::chrono::seconds(10), stop.get_token()));
    CHECK(sleep_unless_stopped(std::chrono::milliseconds(1), std::stop_token{}));
  }
}
