// Local directory and file:// sources: the same checks as against S3 where they apply.
#include "sync/sources/source_local.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

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

}  // namespace

TEST_SUITE("local") {
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
