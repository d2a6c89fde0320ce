#include "files/safe_path.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include "sync/sync_error.hpp"
#include "test_support.hpp"

using namespace mh::sync;
namespace files = mh::files;

TEST_SUITE("unit") {
  TEST_CASE("safe_path: keys that would leave the target are refused") {
    CHECK(files::validate_key("config.json").empty());
    CHECK(files::validate_key("weights/model-00001.safetensors").empty());
    CHECK(files::validate_key("dir with space/ü.txt").empty());
    CHECK(files::validate_key(".hidden/file..name").empty());
    CHECK(files::validate_key("../etc/passwd").find("\"..\"") != std::string::npos);
    CHECK(files::validate_key("a/../../b").find("\"a/../../b\"") != std::string::npos);
    CHECK(files::validate_key("a/..").find("..") != std::string::npos);
    CHECK(files::validate_key("/etc/passwd").find("absolute") != std::string::npos);
    CHECK(files::validate_key("a//b").find("empty path component") != std::string::npos);
    CHECK(files::validate_key("a/./b").find("\".\"") != std::string::npos);
    CHECK(files::validate_key("a/").find("empty path component") != std::string::npos);
    CHECK(!files::validate_key("").empty());
    CHECK(!files::validate_key(std::string("a\0b", 3)).empty());
    CHECK(files::validate_key(".modelhost-sync.json").find("reserved") != std::string::npos);
    CHECK(files::validate_key("x/.model.bin.partial-0123456789ab").find("partial") !=
          std::string::npos);
    CHECK(!files::validate_key(std::string(256, 'x')).empty());
  }

  TEST_CASE("safe_path: partial names") {
    const std::string name = files::partial_name("model.bin", "0123456789ab");
    CHECK(name == ".model.bin.partial-0123456789ab");
    CHECK(files::is_partial_of(name, "model.bin"));
    CHECK(!files::is_partial_of(name, "model"));
    CHECK(files::partial_name(std::string(255, 'a'), "0123456789ab").size() <= 255);
    CHECK(files::split_key("a/b/c").first == "a/b");
    CHECK(files::split_key("a/b/c").second == "c");
    CHECK(files::split_key("c").first.empty());
  }

  TEST_CASE("safe_path: files::TargetDir never follows a symlink") {
    test::TempDir tmp;
    std::filesystem::create_directories(tmp / "outside");
    files::TargetDir target(tmp / "target");
    std::filesystem::create_symlink(tmp / "outside", tmp / "target" / "link");
    CHECK_THROWS_AS(target.open_dir("link/sub", true), SyncError);
    CHECK(!std::filesystem::exists(tmp / "outside" / "sub"));
    files::UniqueFd made = target.open_dir("a/b", true);
    CHECK(made.valid());
    CHECK(std::filesystem::is_directory(tmp / "target" / "a" / "b"));
    CHECK(!target.open_dir("x/y", false).valid());
    CHECK(!target.stat_key("link/anything").has_value());
  }
}
