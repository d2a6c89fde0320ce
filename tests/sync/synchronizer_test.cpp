// The synchronizer against an in-memory source: key safety, retries and resume, permanent
// errors, checksum verification, cancellation, deletion rules, fingerprints, progress.
#include "sync/synchronizer.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

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
    std::string wrong_md5;    // advertise this MD5 instead of the real one
    std::uint64_t extra = 0;  // fetch() sends this many bytes more than list() announces
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
    std::uint64_t extra = 0;
    {
      std::lock_guard lock(mutex_);
      extra = objects_.at(object.key).extra;
    }
    // A hostile source: more than it listed, in 64 KiB pieces, counting what the sink takes.
    const std::string piece(64 * 1024, 'X');
    for (std::uint64_t sent = 0; sent < extra; sent += piece.size()) {
      sink.write(piece.data(), piece.size());
      std::lock_guard lock(mutex_);
      extra_accepted[object.key] += piece.size();
    }
  }

  std::map<std::string, int> fetches;
  std::map<std::string, std::uint64_t> extra_accepted;  // bytes past the listed size the sink took
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

  TEST_CASE("synchronizer: a transfer stops as soon as it exceeds the listed size") {
    test::TempDir tmp;
    FakeSource source;
    source.set("ok.txt", "fine");
    source.set("weights.bin", std::string(1000, 'w'));
    source.at("weights.bin").extra = 50ULL << 20;  // 50 MiB more than listed
    const SyncResult result = run(source, job_for(tmp / "t"));
    CHECK(!result.ok);
    CHECK(!result.cancelled);
    CHECK(result.error.find("\"weights.bin\"") != std::string::npos);
    CHECK(result.error.find("more than the 1000 bytes listed") != std::string::npos);
    CHECK(source.extra_accepted["weights.bin"] == 0);
    CHECK(source.fetches["weights.bin"] == 1);  // permanent: not retried
    CHECK(result.bytes_transferred <= 1000 + 4);
    CHECK(!fs::exists(tmp / "t" / "weights.bin"));
    CHECK(test::partial_files(tmp / "t").empty());
  }

  TEST_CASE("synchronizer: a file pinned by SHA-256 is verified; a mismatch is permanent") {
    test::TempDir tmp;
    FakeSource source;
    source.set("config.json", "{}");
    source.set("model.bin", "the real bytes");
    SyncJob job = job_for(tmp / "t");
    job.source = parse_source_uri(
        "/fake/source", {},
        std::vector<SourceFile>{{"config.json", files::sha256_hex("{}")},
                                {"model.bin", files::sha256_hex("the expected bytes")}});
    const SyncResult wrong = run(source, job);
    CHECK(!wrong.ok);
    CHECK(!wrong.cancelled);
    CHECK(wrong.error.find("\"model.bin\"") != std::string::npos);
    CHECK(wrong.error.find("SHA-256 mismatch") != std::string::npos);
    CHECK(source.fetches["model.bin"] == 1);  // not retried
    CHECK(!fs::exists(tmp / "t" / "model.bin"));
    CHECK(test::partial_files(tmp / "t").empty());  // discarded
    CHECK(read_sync_state(tmp / "t")->partials.empty());

    source.set("model.bin", "the expected bytes");
    const SyncResult right = run(source, job);
    REQUIRE_MESSAGE(right.ok, right.error);
    CHECK(test::read_file(tmp / "t" / "model.bin") == "the expected bytes");
    CHECK(run(source, job).files_unchanged == 2);

    // A new pin for the same remote version: the local copy no longer qualifies.
    job.source.files[1].sha256 = files::sha256_hex("a third content");
    const SyncResult repinned = run(source, job);
    CHECK(!repinned.ok);
    CHECK(repinned.error.find("SHA-256 mismatch") != std::string::npos);
  }

  TEST_CASE("synchronizer: a listed size over max_file_size fails before any transfer") {
    test::TempDir tmp;
    FakeSource source;
    source.set("small.txt", "fine");
    source.set("huge.bin", std::string(5000, 'h'));
    SyncJob job = job_for(tmp / "t");
    job.max_file_size = 4096;
    const SyncResult result = run(source, job);
    CHECK(!result.ok);
    CHECK(result.error.find("\"huge.bin\"") != std::string::npos);
    CHECK(result.error.find("max_file_size") != std::string::npos);
    CHECK(source.fetches.empty());
    job.max_file_size = 5000;
    CHECK(run(source, job).ok);
  }

  TEST_CASE("synchronizer: modes are configurable, and older copies are made private in place") {
    test::TempDir tmp;
    FakeSource source;
    source.set("dir/model.bin", "weights");
    SyncJob job = job_for(tmp / "t");
    job.file_mode = 0600;
    job.dir_mode = 0700;
    REQUIRE(run(source, job).ok);
    const auto perms = [](const fs::path& p) {
      return fs::status(p).permissions() & fs::perms::all;
    };
    CHECK(perms(tmp / "t") == fs::perms::owner_all);
    CHECK(perms(tmp / "t" / "dir") == fs::perms::owner_all);
    CHECK(perms(tmp / "t" / "dir" / "model.bin") ==
          (fs::perms::owner_read | fs::perms::owner_write));

    // As an older version left it: world-readable. The next sync fixes the mode, fetches nothing,
    // and the one after still trusts the copy's stat.
    fs::permissions(tmp / "t" / "dir" / "model.bin", static_cast<fs::perms>(0644));
    const SyncResult fixed = run(source, job_for(tmp / "t"));
    REQUIRE(fixed.ok);
    CHECK(fixed.files_unchanged == 1);
    CHECK(fixed.bytes_transferred == 0);
    CHECK(perms(tmp / "t" / "dir" / "model.bin") == static_cast<fs::perms>(0640));
    const SyncState state = *read_sync_state(tmp / "t");
    struct stat st {};
    REQUIRE(::stat((tmp / "t" / "dir" / "model.bin").c_str(), &st) == 0);
    CHECK(state.files.at("dir/model.bin").ctime_ns ==
          static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec);
  }

  TEST_CASE("synchronizer: keys read back from the state file are validated before use") {
    test::TempDir tmp;
    const fs::path target = tmp / "box" / "t";
    test::write_text_file(tmp / "box" / "outside.txt", "not the sync's");
    test::write_text_file(tmp / "box" / ".outside.txt.partial-0123456789ab",
                          "not the sync's either");
    FakeSource source;
    source.set("a.txt", "alpha");
    REQUIRE(run(source, job_for(target)).ok);
    // A tampered state file claims files outside the target as the sync's own.
    SyncState state = *read_sync_state(target);
    state.files["../outside.txt"] = FileRecord{14, "v1", std::string(64, '0'), 1, 1};
    state.files["/etc/hostname"] = FileRecord{1, "v1", std::string(64, '0'), 1, 1};
    state.partials["../outside"] = PartialRecord{"../.outside.txt.partial-0123456789ab", "v1", 100};
    {
      files::UniqueFd dir(::open(target.c_str(), O_RDONLY | O_DIRECTORY));
      save_state(dir.get(), state);
    }
    const SyncResult result = run(source, job_for(target));
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(result.files_deleted == 0);
    CHECK(test::read_file(tmp / "box" / "outside.txt") == "not the sync's");
    CHECK(fs::exists(tmp / "box" / ".outside.txt.partial-0123456789ab"));
    const SyncState after = *read_sync_state(target);
    CHECK(after.files.size() == 1);
    CHECK(after.files.contains("a.txt"));
    CHECK(after.partials.empty());
    // The parser drops them too, for every reader of the state file.
    CHECK(state_from_json(state_to_json(state)).files.size() == 1);
  }

  TEST_CASE("synchronizer: a partial download is private from its first byte") {
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
    const auto partials = test::partial_files(tmp / "t");
    REQUIRE(partials.size() == 1);
    CHECK((fs::status(tmp / "t" / partials[0]).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
    stop.request_stop();
    syncing.join();
    CHECK(result.cancelled);
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
    job.source = parse_source_uri("/fake/source", {},
                                  std::vector<std::string>{"config.json", "missing.bin"});
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
