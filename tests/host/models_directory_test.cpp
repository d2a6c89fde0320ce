// Scanning --models-dir: content hashes, plugin resolution, names, shared targets.
#include "model/models_directory.hpp"
#include "support/hostd_process.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace mh::host;
namespace fs = std::filesystem;
using mh::e2e::echo_next_plugin;
using mh::e2e::echo_plugin;
using mh::e2e::TempDir;

namespace {

void write(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

const ModelSource& find(const std::vector<ModelSource>& models, std::string_view name) {
  for (const auto& model : models) {
    if (model.name == name) return model;
  }
  FAIL("no model " << name);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("scan: content hashes follow manifest and plugin bytes") {
  TempDir temp("mh-scan");
  ScanSettings settings{temp / "models", {}, temp / "cache", ""};
  write(settings.models_dir / "echo" / "model.json", R"({"plugin": "libmh_echo.so"})");
  fs::copy_file(echo_plugin(), settings.models_dir / "echo" / "libmh_echo.so");

  auto first = scan_models_directory(settings);
  REQUIRE(first.size() == 1);
  CHECK(first[0].error.empty());
  CHECK(first[0].content_hash.size() == 64);
  CHECK(first[0].plugin_path == settings.models_dir / "echo" / "libmh_echo.so");
  CHECK(!first[0].files_source);
  CHECK(scan_models_directory(settings)[0].content_hash == first[0].content_hash);

  fs::copy_file(echo_next_plugin(), settings.models_dir / "echo" / "libmh_echo.so",
                fs::copy_options::overwrite_existing);
  const auto plugin_changed = scan_models_directory(settings)[0].content_hash;
  CHECK(plugin_changed != first[0].content_hash);

  write(settings.models_dir / "echo" / "model.json", R"({"plugin": "libmh_echo.so", "_c": 1})");
  CHECK(scan_models_directory(settings)[0].content_hash != plugin_changed);

  // Touching a file without changing it changes nothing.
  fs::last_write_time(settings.models_dir / "echo" / "libmh_echo.so",
                      fs::file_time_type::clock::now());
  CHECK(scan_models_directory(settings)[0].content_hash ==
        scan_models_directory(settings)[0].content_hash);
}

TEST_CASE("scan: plugin resolution, names and what is not a model") {
  TempDir temp("mh-scan");
  ScanSettings settings{temp / "models", {temp / "plugins"}, temp / "cache", ""};
  fs::create_directories(temp / "plugins");
  fs::copy_file(echo_plugin(), temp / "plugins" / "libmh_echo.so");
  // Found in --plugin-dir.
  write(settings.models_dir / "fromdir" / "model.json", R"({"plugin": "libmh_echo.so"})");
  // No "plugin": the only .so next to it.
  write(settings.models_dir / "implicit" / "model.json", "{}");
  fs::copy_file(echo_plugin(), settings.models_dir / "implicit" / "any.so");
  // Two candidates.
  write(settings.models_dir / "ambiguous" / "model.json", "{}");
  fs::copy_file(echo_plugin(), settings.models_dir / "ambiguous" / "a.so");
  fs::copy_file(echo_plugin(), settings.models_dir / "ambiguous" / "b.so");
  // Nowhere.
  write(settings.models_dir / "missing" / "model.json", R"({"plugin": "libnope.so"})");
  // Not models.
  write(settings.models_dir / ".hidden" / "model.json", "{}");
  fs::create_directories(settings.models_dir / "empty");
  write(settings.models_dir / "bad name" / "model.json", "{}");

  auto models = scan_models_directory(settings);
  REQUIRE(models.size() == 5);  // sorted; .hidden and empty are no models
  CHECK(models[0].name == "ambiguous");
  CHECK(find(models, "fromdir").error.empty());
  CHECK(find(models, "fromdir").plugin_path == temp / "plugins" / "libmh_echo.so");
  CHECK(find(models, "implicit").plugin_path.filename() == "any.so");
  CHECK(find(models, "ambiguous").error.find("several .so files (a.so, b.so)") !=
        std::string::npos);
  const std::string missing = find(models, "missing").error;
  CHECK(missing.find("\"plugin\": \"libnope.so\" not found") != std::string::npos);
  CHECK(missing.find((temp / "plugins").string()) != std::string::npos);
  CHECK(find(models, "bad name").error.find("not a valid model name") != std::string::npos);
  CHECK(is_valid_model_name("llama-3.2_1b"));
  CHECK_FALSE(is_valid_model_name("-x"));
  CHECK_FALSE(is_valid_model_name("a/b"));
}

TEST_CASE("scan: files source and target; two sources cannot share a directory") {
  TempDir temp("mh-scan");
  ScanSettings settings{temp / "models", {}, temp / "cache", "file://" + (temp / "store").string()};
  auto model_json = [](std::string from, std::string to) {
    std::string text = "{\"plugin\": \"libmh_echo.so\", \"download_files_from\": \"" + from + "\"";
    if (!to.empty()) text += ", \"download_files_to\": \"" + to + "\"";
    return text + "}";
  };
  write(settings.models_dir / "a" / "model.json", model_json("llama/", ""));
  write(settings.models_dir / "b" / "model.json", model_json("other/", (temp / "shared").string()));
  write(settings.models_dir / "c" / "model.json", model_json("third/", (temp / "shared").string()));
  write(settings.models_dir / "d" / "model.json", model_json("other/", (temp / "shared").string()));
  for (const char* name : {"a", "b", "c", "d"}) {
    fs::copy_file(echo_plugin(), settings.models_dir / name / "libmh_echo.so");
  }
  auto models = scan_models_directory(settings);
  const auto& a = find(models, "a");
  REQUIRE(a.error.empty());
  REQUIRE(a.files_source);
  CHECK(a.files_source->path == temp / "store" / "llama");
  CHECK(a.files_target == temp / "cache" / "a");  // default: <cache-dir>/<name>
  CHECK(find(models, "b").error.empty());
  CHECK(find(models, "b").files_target == temp / "shared");
  CHECK(find(models, "c").error.find("already the target of model \"b\"") != std::string::npos);
  CHECK(find(models, "d").error.empty());  // the same source may share it
}
