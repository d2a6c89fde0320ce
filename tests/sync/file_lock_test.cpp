// Two syncs of one target directory at once, from two threads and from two processes: they
// serialise on the lock, so the second finds everything in place and fetches nothing.
#include "files/file_lock.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "sync/sync_error.hpp"
#include "sync/synchronizer.hpp"
#include "test_support.hpp"

using namespace mh::sync;
namespace files = mh::files;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kBig = 40'000'000;

void make_tree(const fs::path& root) {
  test::write_random_file(root / "weights" / "big.bin", kBig, 11);
  for (int i = 0; i < 5; ++i) {
    test::write_random_file(root / "shards" / ("part-" + std::to_string(i)), 500000, 20 + i);
  }
}

SyncResult sync_once(const fs::path& source, const fs::path& target) {
  SyncJob job;
  job.source = parse_source_uri(source.string());
  job.target = target;
  job.max_bytes_per_sec = 200'000'000;  // long enough for the two runs to overlap
  SyncProgress progress;
  return sync(job, progress);
}

}  // namespace

TEST_SUITE("local") {
  TEST_CASE("lock: a second holder waits; stop cancels the wait") {
    test::TempDir tmp;
    files::UniqueFd dir(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
    files::DirLock first = files::DirLock::acquire(dir.get(), {});
    std::stop_source stop;
    bool waited = false;
    std::jthread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      stop.request_stop();
    });
    CHECK_THROWS_AS(files::DirLock::acquire(dir.get(), stop.get_token(), [&] { waited = true; }),
                    SyncError);
    CHECK(waited);
  }

  TEST_CASE("lock: two threads syncing the same target do not clobber each other") {
    test::TempDir tmp;
    make_tree(tmp / "src");
    SyncResult a, b;
    {
      std::jthread one([&] { a = sync_once(tmp / "src", tmp / "dst"); });
      std::jthread two([&] { b = sync_once(tmp / "src", tmp / "dst"); });
    }
    REQUIRE_MESSAGE(a.ok, a.error);
    REQUIRE_MESSAGE(b.ok, b.error);
    const std::uint64_t total = kBig + 5 * 500000;
    CHECK(a.bytes_transferred + b.bytes_transferred == total);  // one fetched, one found it done
    CHECK(test::tree_digest(tmp / "dst") == test::tree_digest(tmp / "src"));
    CHECK(test::partial_files(tmp / "dst").empty());
  }

  TEST_CASE("lock: two processes syncing the same target do not clobber each other") {
    test::TempDir tmp;
    make_tree(tmp / "src");
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      const SyncResult r = sync_once(tmp / "src", tmp / "dst");
      ::_exit(r.ok ? (r.bytes_transferred > 0 ? 10 : 11) : 1);
    }
    const SyncResult mine = sync_once(tmp / "src", tmp / "dst");
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    const int code = WEXITSTATUS(status);
    REQUIRE_MESSAGE(mine.ok, mine.error);
    REQUIRE(code != 1);
    // Exactly one of the two transferred the files.
    CHECK((code == 10) != (mine.bytes_transferred > 0));
    CHECK(test::tree_digest(tmp / "dst") == test::tree_digest(tmp / "src"));
  }
}
