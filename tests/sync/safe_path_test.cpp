#include "sync/safe_path.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include "sync/sync_error.hpp"
#include "test_support.hpp"

using namespace mh::sync;

TEST_SUITE("unit") {
  TEST_CASE("safe_path: keys that would leave the target are refused") {
    CHECK(validate_key("config.json").empty());
    CHECK(validate_key("weights/model-00001.safetensors").empty());
    CHECK(validate_key("dir with space/ü.txt").empty());
    CHECK(validate_key(".hidden/file..name").empty());
    CHECK(validate_key("../etc/passwd").find("\"..\"") != std::string::npos);
    CHECK(validate_key("a/../../b").find("\"a/../../b\"") != std::string::npos);
    CHECK(validate_key("a/..").find("..") != std::string::npos);
    CHECK(validate_key("/etc/passwd").find("absolute") != std::string::npos);
    CHECK(validate_key("a//b").find("empty path component") != std::string::npos);
    CHECK(validate_key("a/./b").find("\".\"") != std::string::npos);
    CHECK(validate_key("a/").find("empty path component") != std::string::npos);
    CHECK(!validate_key("").empty());
    CHECK(!validate_key(std::string("a\0b", 3)).empty());
    CHECK(validate_key(".modelhost-sync.json").find("reserved") != std::string::npos);
    CHECK(validate_key("x/.model.bin.partial-0123456789ab").find("partial") != std::string::npos);
    CHECK(!validate_key(std::string(256, 'x')).empty());
  }

  TEST_CASE("safe_path: partial names") {
    const std::string name = partial_name("model.bin", "0123456789ab");
    CHECK(name == ".model.bin.partial-0123456789ab");
    CHECK(is_partial_of(name, "model.bin"));
    CHECK(!is_partial_of(name, "model"));
    CHECK(partial_name(std::string(255, 'a'), "0123456789ab").size() <= 255);
    CHECK(split_key("a/b/c").first == "a/b");
    CHECK(split_key("a/b/c").second == "c");
    CHECK(split_key("c").first.empty());
  }

  TEST_CASE("safe_path: TargetDir never follows a symlink") {
    test::TempDir tmp;
    std::filesystem::create_directories(tmp / "outside");
    TargetDir target(tmp / "target");
    std::filesystem::create_symlink(tmp / "outside", tmp / "target" / "link");
    CHECK_THROWS_AS(target.open_dir("link/sub", true), SyncError);
    CHECK(!std::filesystem::exists(tmp / "outside" / "sub"));
    UniqueFd made = target.open_dir("a/b", true);
    CHECK(made.valid());
    CHECK(std::filesystem::is_directory(tmp / "target" / "a" / "b"));
    CHECK(!target.open_dir("x/y", false).valid());
    CHECK(!target.stat_key("link/anything").has_value());
  }
}
