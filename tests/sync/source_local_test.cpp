// Local directory and file:// sources: the same checks as against S3 where they apply.
#include "sync/sources/source_local.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "sync/sync_error.hpp"
#include "sync/synchronizer.hpp"
#include "test_support.hpp"

using namespace mh::sync;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kBigSize = 105ULL * 1000 * 1000 + 12345;  // "over 100 MB"

// A model-like tree: nested directories, a big file, small ones, a name with a space.
void make_source_tree(const fs::path& root) {
  test::write_text_file(root / "config.json", R"({"hidden_size": 64})");
  test::write_random_file(root / "tokenizer" / "tokenizer.json", 200000, 1);
  test::write_random_file(root / "weights" / "model-00001-of-00002.safetensors", kBigSize, 2);
  test::write_random_file(root / "weights" / "model-00002-of-00002.safetensors", 3000000, 3);
  test::write_text_file(root / "docs" / "read me.txt", "hello");
}

SyncResult sync_dir(const std::string& source, const fs::path& target,
                    std::uint64_t max_bytes_per_sec = 0, const std::stop_token& stop = {},
                    SyncProgress* progress = nullptr) {
  SyncJob job;
  job.source = parse_source_uri(source);
  job.target = target;
  job.max_bytes_per_sec = max_bytes_per_sec;
  SyncProgress local;
  return sync(job, progress != nullptr ? *progress : local, stop);
}

void flip_bytes(const fs::path& path, std::uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(~c));
}

// The checks shared by the plain-path and file:// forms.
void check_incremental_and_repair(const std::string& source_text, const fs::path& source,
                                  const fs::path& target) {
  const SyncResult first = sync_dir(source_text, target);
  REQUIRE_MESSAGE(first.ok, first.error);
  CHECK(first.files_transferred == 5);
  CHECK(test::tree_digest(target) == test::tree_digest(source));
  CHECK(first.changed);

  const SyncResult again = sync_dir(source_text, target);
  REQUIRE(again.ok);
  CHECK(again.bytes_transferred == 0);
  CHECK(again.files_unchanged == 5);
  CHECK(!again.changed);

  // One changed source file: exactly that one is fetched.
  test::write_random_file(source / "weights" / "model-00002-of-00002.safetensors", 3000001, 33);
  const SyncResult changed = sync_dir(source_text, target);
  REQUIRE(changed.ok);
  CHECK(changed.files_transferred == 1);
  CHECK(changed.bytes_transferred == 3000001);
  CHECK(changed.changed);
  CHECK(test::tree_digest(target) == test::tree_digest(source));

  // A corrupted local copy (same size) and a truncated one are detected and repaired.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a new mtime tick
  flip_bytes(target / "weights" / "model-00001-of-00002.safetensors", 50000000);
  fs::resize_file(target / "tokenizer" / "tokenizer.json", 1000);
  const SyncResult repaired = sync_dir(source_text, target);
  REQUIRE(repaired.ok);
  CHECK(repaired.files_transferred == 2);
  CHECK(repaired.bytes_transferred == kBigSize + 200000);
  CHECK(!repaired.changed);
  CHECK(test::tree_digest(target) == test::tree_digest(source));
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Collects what a Source streams.
class StringSink final : public ByteSink {
 public:
  void write(const char* data, std::size_t size) override { bytes.append(data, size); }
  void restart() override { bytes.clear(); }
  std::uint64_t offset() const override { return bytes.size(); }
  std::string bytes;
};

}  // namespace

TEST_SUITE("local") {
  TEST_CASE("local: a file symlink that leaves the source root is refused, naming the key") {
    for (const bool relative : {false, true}) {
      CAPTURE(relative);
      test::TempDir tmp;
      test::write_text_file(tmp / "secret.txt", "top secret");
      test::write_text_file(tmp / "src" / "config.json", "{}");
      fs::create_directories(tmp / "src" / "weights");
      fs::create_symlink(relative ? fs::path("../../secret.txt") : tmp / "secret.txt",
                         tmp / "src" / "weights" / "model.bin");
      const SyncResult result = sync_dir((tmp / "src").string(), tmp / "dst");
      CHECK(!result.ok);
      CHECK(result.error.find("\"weights/model.bin\"") != std::string::npos);
      CHECK(result.error.find("outside the source") != std::string::npos);
      CHECK(result.error.find("secret") == std::string::npos);  // the link's target stays private
      CHECK(!fs::exists(tmp / "dst" / "weights" / "model.bin"));
      for (const auto& [key, digest] : test::tree_digest(tmp / "dst", true)) {
        CHECK(digest != test::sha256_file(tmp / "secret.txt"));
      }
    }
  }

  TEST_CASE("local: a file symlink inside the source root is followed and copied as a file") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "blobs" / "0123abcd", R"({"hidden_size": 64})");
    fs::create_directories(tmp / "src" / "snapshot");
    fs::create_symlink("../blobs/0123abcd", tmp / "src" / "snapshot" / "config.json");
    fs::create_symlink(tmp / "src" / "blobs" / "0123abcd", tmp / "src" / "absolute.json");
    const SyncResult result = sync_dir((tmp / "src").string(), tmp / "dst");
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(!fs::is_symlink(tmp / "dst" / "snapshot" / "config.json"));
    CHECK(test::read_file(tmp / "dst" / "snapshot" / "config.json") == R"({"hidden_size": 64})");
    CHECK(test::read_file(tmp / "dst" / "absolute.json") == R"({"hidden_size": 64})");
  }

  TEST_CASE("local: a link swapped to leave the root between listing and fetch is refused") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "config.json", "0123456789");
    test::write_text_file(tmp / "secret.txt", "SECRET6789");  // same size
    fs::create_symlink("config.json", tmp / "src" / "alias.json");
    LocalSource source(tmp / "src");
    const auto objects = source.list({});
    const auto alias = std::find_if(objects.begin(), objects.end(),
                                    [](const RemoteObject& o) { return o.key == "alias.json"; });
    REQUIRE(alias != objects.end());
    // Now the link points outside, at a file with the same size and mtime: the listed version
    // still matches, only the containment check can notice.
    fs::last_write_time(tmp / "secret.txt", fs::last_write_time(tmp / "src" / "config.json"));
    fs::remove(tmp / "src" / "alias.json");
    fs::create_symlink(tmp / "secret.txt", tmp / "src" / "alias.json");
    StringSink sink;
    CHECK_THROWS_WITH_AS(source.fetch(*alias, sink, {}), doctest::Contains("outside the source"),
                         SyncError);
    CHECK(sink.bytes.find("SECRET") == std::string::npos);
  }

  TEST_CASE("local: copies, directories, partials and the sync's own files are private") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "config.json", "{}");
    test::write_random_file(tmp / "src" / "weights" / "model.bin", 100000, 4);
    ::chmod((tmp / "src" / "config.json").c_str(), 0644);
    const SyncResult result = sync_dir((tmp / "src").string(), tmp / "cache" / "dst");
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(mode_of(tmp / "cache" / "dst") == 0750);
    CHECK(mode_of(tmp / "cache" / "dst" / "weights") == 0750);
    CHECK(mode_of(tmp / "cache" / "dst" / "config.json") == 0640);
    CHECK(mode_of(tmp / "cache" / "dst" / "weights" / "model.bin") == 0640);
    CHECK(mode_of(tmp / "cache" / "dst" / ".modelhost-sync.json") == 0640);
    CHECK((mode_of(tmp / "cache" / "dst" / ".modelhost-sync.lock") & 0007) == 0);  // umask applies
  }

  TEST_CASE("local: a nested directory syncs byte-identical, incrementally, and is repaired") {
    test::TempDir tmp;
    make_source_tree(tmp / "src");
    check_incremental_and_repair((tmp / "src").string(), tmp / "src", tmp / "dst");
  }

  TEST_CASE("local: file:// URIs pass the same checks") {
    test::TempDir tmp;
    make_source_tree(tmp / "src");
    check_incremental_and_repair("file://" + (tmp / "src").string(), tmp / "src", tmp / "dst");
  }

  TEST_CASE("local: a source file that vanished is deleted only if the sync put it there") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "a" / "one.txt", "1");
    test::write_text_file(tmp / "src" / "two.txt", "2");
    REQUIRE(sync_dir((tmp / "src").string(), tmp / "dst").ok);
    test::write_text_file(tmp / "dst" / "a" / "mine.txt", "user file");
    fs::remove(tmp / "src" / "a" / "one.txt");
    const SyncResult result = sync_dir((tmp / "src").string(), tmp / "dst");
    REQUIRE(result.ok);
    CHECK(result.files_deleted == 1);
    CHECK(!fs::exists(tmp / "dst" / "a" / "one.txt"));
    CHECK(fs::exists(tmp / "dst" / "a" / "mine.txt"));
    CHECK(fs::exists(tmp / "dst" / "two.txt"));
  }

  TEST_CASE("local: a symlink inside the target never redirects a write outside it") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "weights" / "model.bin", "weights");
    fs::create_directories(tmp / "dst");
    fs::create_directories(tmp / "elsewhere");
    fs::create_directory_symlink(tmp / "elsewhere", tmp / "dst" / "weights");
    const SyncResult result = sync_dir((tmp / "src").string(), tmp / "dst");
    CHECK(!result.ok);
    CHECK(result.error.find("symlink") != std::string::npos);
    CHECK(fs::is_empty(tmp / "elsewhere"));
  }

  TEST_CASE("local: a target inside the source (or the other way round) is refused") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "a.txt", "a");
    SyncResult result = sync_dir((tmp / "src").string(), tmp / "src" / "copy");
    CHECK(!result.ok);
    CHECK(result.error.find("overlap") != std::string::npos);
    result = sync_dir((tmp / "src").string(), tmp.path());
    CHECK(!result.ok);
    CHECK(!fs::exists(tmp / "src" / "copy"));
  }

  TEST_CASE("local: a directory with more files than the listing limit is refused") {
    test::TempDir tmp;
    for (int i = 0; i < 4; ++i) test::write_text_file(tmp / "src" / std::to_string(i), "x");
    SyncJob job;
    job.source = parse_source_uri((tmp / "src").string());
    job.target = tmp / "dst";
    job.source_settings.listing.max_objects = 3;
    SyncProgress progress;
    const SyncResult result = sync(job, progress);
    CHECK(!result.ok);
    CHECK(result.error.find("more than 3 files") != std::string::npos);
    job.source_settings.listing.max_objects = 4;
    CHECK(sync(job, progress).ok);
  }

  TEST_CASE("local: a missing source directory is a clear error") {
    test::TempDir tmp;
    const SyncResult result = sync_dir((tmp / "nope").string(), tmp / "dst");
    CHECK(!result.ok);
    CHECK(result.error.find((tmp / "nope").string()) != std::string::npos);
  }

  TEST_CASE("local: cancelled mid-transfer, no partial file under a real name; resumed later") {
    test::TempDir tmp;
    make_source_tree(tmp / "src");
    SyncProgress progress;
    std::stop_source stop;
    SyncResult result;
    std::jthread syncing([&] {
      result =
          sync_dir((tmp / "src").string(), tmp / "dst", 100'000'000, stop.get_token(), &progress);
    });
    CHECK(test::wait_until([&] {
      return progress.bytes_done() >= 20'000'000 || progress.phase() == SyncPhase::failed;
    }));
    stop.request_stop();
    syncing.join();
    CHECK(result.cancelled);
    CHECK(!fs::exists(tmp / "dst" / "weights" / "model-00001-of-00002.safetensors"));
    CHECK(test::partial_files(tmp / "dst").size() >= 1);

    const SyncResult resumed = sync_dir((tmp / "src").string(), tmp / "dst");
    REQUIRE(resumed.ok);
    CHECK(resumed.bytes_transferred < kBigSize);  // the big file went on where it stopped
    CHECK(test::tree_digest(tmp / "dst") == test::tree_digest(tmp / "src"));
    CHECK(test::partial_files(tmp / "dst").empty());
  }

  TEST_CASE("local: stray partial files of managed names are cleaned up, others left alone") {
    test::TempDir tmp;
    test::write_text_file(tmp / "src" / "model.bin", "weights");
    test::write_text_file(tmp / "dst" / ".model.bin.partial-0123456789ab", "leftover");
    test::write_text_file(tmp / "dst" / ".other.bin.partial-0123456789ab", "not ours");
    REQUIRE(sync_dir((tmp / "src").string(), tmp / "dst").ok);
    CHECK(!fs::exists(tmp / "dst" / ".model.bin.partial-0123456789ab"));
    CHECK(fs::exists(tmp / "dst" / ".other.bin.partial-0123456789ab"));
  }
}
