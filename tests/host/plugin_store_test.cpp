// hostd's private content-addressed plugin copies, and unloading no sooner than a delay.
#include "plugin/plugin_store.hpp"
#include "files/hashing.hpp"
#include "plugin/library_unloader.hpp"
#include "support/hostd_process.hpp"
#include "support/temp_dir.hpp"

#include <dlfcn.h>

#include <doctest/doctest.h>

#include <fstream>
#include <thread>

using namespace mh::host;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string sha256_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return mh::files::sha256_hex(bytes);
}

}  // namespace

TEST_CASE("plugin store: named by content, reused, immune to the source changing") {
  mh::e2e::TempDir temp("mh-store");
  PluginStore store(temp / "store");
  fs::copy_file(mh::e2e::echo_plugin(), temp / "libmh_echo.so");
  const StoredPlugin first = store.store(temp / "libmh_echo.so");
  CHECK(first.path == temp / "store" / (first.sha256 + ".so"));
  CHECK(fs::file_size(first.path) == fs::file_size(mh::e2e::echo_plugin()));
  CHECK(store.store(temp / "libmh_echo.so").path == first.path);

  fs::copy_file(mh::e2e::echo_next_plugin(), temp / "libmh_echo.so",
                fs::copy_options::overwrite_existing);
  const StoredPlugin second = store.store(temp / "libmh_echo.so");
  CHECK(second.path != first.path);
  CHECK(fs::exists(first.path));  // the copy a running model uses stays
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(temp / "store")) ++files;
  CHECK(files == 2);  // no temporary left behind
  CHECK_THROWS(store.store(temp / "nope.so"));
}

TEST_CASE("plugin store: a planted or corrupted <sha>.so is re-hashed and replaced, not loaded") {
  mh::e2e::TempDir temp("mh-store");
  fs::copy_file(mh::e2e::echo_plugin(), temp / "libmh_echo.so");
  const std::string sha = sha256_of(temp / "libmh_echo.so");
  for (const std::string planted : {"corrupt", "truncated", "symlink"}) {
    CAPTURE(planted);
    PluginStore store(temp / ("store-" + planted));
    const fs::path slot = temp / ("store-" + planted) / (sha + ".so");
    if (planted == "corrupt") {
      fs::copy_file(mh::e2e::echo_next_plugin(), slot);  // a valid library, but other bytes
    } else if (planted == "truncated") {
      std::ofstream(slot, std::ios::binary) << "\x7f"
                                               "ELF";
    } else {
      fs::create_symlink(mh::e2e::echo_next_plugin(), slot);
    }
    const StoredPlugin stored = store.store(temp / "libmh_echo.so");
    CHECK(stored.path == slot);
    CHECK(stored.sha256 == sha);
    CHECK_FALSE(fs::is_symlink(stored.path));
    CHECK(sha256_of(stored.path) == sha);
    CHECK(PluginLibrary::load(stored.path) != nullptr);
  }
}

TEST_CASE("plugin store: the directory and its copies are private to hostd's user") {
  mh::e2e::TempDir temp("mh-store");
  fs::create_directories(temp / "store");
  fs::permissions(temp / "store", fs::perms::all);  // as if someone had opened it up
  PluginStore store(temp / "store");
  fs::copy_file(mh::e2e::echo_plugin(), temp / "libmh_echo.so");
  const StoredPlugin stored = store.store(temp / "libmh_echo.so");
  CHECK((fs::status(temp / "store").permissions() & fs::perms::all) == fs::perms::owner_all);
  CHECK((fs::status(stored.path).permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
        fs::perms::none);
}

TEST_CASE("library unloader: drops a library no sooner than its delay") {
  mh::e2e::TempDir temp("mh-unload");
  fs::copy_file(mh::e2e::echo_plugin(), temp / "lib.so");
  auto loaded = [&] {
    void* handle = ::dlopen((temp / "lib.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (handle) ::dlclose(handle);
    return handle != nullptr;
  };
  {
    LibraryUnloader unloader(300ms);
    auto library = PluginLibrary::load(temp / "lib.so");
    CHECK(loaded());
    const auto released = std::chrono::steady_clock::now();
    unloader.release_later(std::move(library));
    std::this_thread::sleep_for(100ms);
    CHECK(loaded());
    CHECK(unloader.pending() == 1);
    while (loaded() && std::chrono::steady_clock::now() - released < 5s) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK(std::chrono::steady_clock::now() - released >= 300ms);
    CHECK_FALSE(loaded());
  }
  {
    // The destructor waits for what is still due.
    auto library = PluginLibrary::load(temp / "lib.so");
    {
      LibraryUnloader unloader(100ms);
      unloader.release_later(std::move(library));
    }
    CHECK_FALSE(loaded());
  }
}

TEST_CASE("plugin store: copies no live generation uses are removed, nothing else") {
  mh::e2e::TempDir temp("mh-store-sweep");
  PluginStore store(temp / "store");
  const StoredPlugin echo = store.store(mh::e2e::echo_plugin());
  const StoredPlugin next = store.store(mh::e2e::echo_next_plugin());
  std::ofstream(temp / "store" / ".incoming-1-0.so") << "in progress";
  std::ofstream(temp / "store" / "notes.txt") << "not a copy";
  CHECK(store.remove_unused({echo.path}) == 1);
  CHECK(fs::exists(echo.path));
  CHECK_FALSE(fs::exists(next.path));
  CHECK(fs::exists(temp / "store" / ".incoming-1-0.so"));
  CHECK(fs::exists(temp / "store" / "notes.txt"));
  CHECK(store.remove_unused({}) == 1);
  CHECK_FALSE(fs::exists(echo.path));
}
