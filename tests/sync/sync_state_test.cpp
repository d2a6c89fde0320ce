#include "sync/sync_state.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>

#include "files/unique_fd.hpp"
#include "test_support.hpp"

using namespace mh::sync;
namespace files = mh::files;

TEST_SUITE("unit") {
  TEST_CASE("sync_state: JSON round trip, atomic save, tolerant load") {
    SyncState state;
    state.source = "s3://bucket/models/";
    state.files["a/b.bin"] = FileRecord{12, "etag1", std::string(64, 'a'), 123, 456};
    state.files["c.json"] = FileRecord{3, "mtime:9", std::string(64, 'b'), 7, 8};
    state.partials["big.bin"] = PartialRecord{".big.bin.partial-0123456789ab", "etag2", 1000};
    state.fingerprint = content_fingerprint(state.files);

    SyncState back = state_from_json(state_to_json(state));
    CHECK(back.source == state.source);
    CHECK(back.fingerprint == state.fingerprint);
    REQUIRE(back.files.size() == 2);
    CHECK(back.files["a/b.bin"].size == 12);
    CHECK(back.files["a/b.bin"].ctime_ns == 456);
    CHECK(back.partials["big.bin"].size == 1000);

    test::TempDir tmp;
    files::UniqueFd dir(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
    CHECK(load_state(dir.get()).files.empty());
    save_state(dir.get(), state);
    CHECK(load_state(dir.get()).files.size() == 2);
    CHECK(read_sync_state(tmp.path())->source == state.source);
    test::write_text_file(tmp / ".modelhost-sync.json", "{not json");
    CHECK(load_state(dir.get()).files.empty());
    CHECK_THROWS(state_from_json("{\"format\": 99}"));
  }

  TEST_CASE("sync_state: the fingerprint depends on content only") {
    std::map<std::string, FileRecord> a{{"x", {1, "v1", "h1", 1, 1}}, {"y", {2, "v2", "h2", 2, 2}}};
    std::map<std::string, FileRecord> b{{"y", {2, "other", "h2", 9, 9}},
                                        {"x", {1, "v", "h1", 5, 5}}};
    CHECK(content_fingerprint(a) == content_fingerprint(b));
    b["x"].sha256 = "h3";
    CHECK(content_fingerprint(a) != content_fingerprint(b));
    std::map<std::string, FileRecord> renamed{{"z", {1, "v1", "h1", 1, 1}},
                                              {"y", {2, "v2", "h2", 2, 2}}};
    CHECK(content_fingerprint(a) != content_fingerprint(renamed));
  }
}
