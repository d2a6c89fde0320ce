// The host's plugin loader (host/plugin): loads real plugin .so files and drives them through
// the C ABI: init → predict (plain and streamed) → cleanup, every callback exactly once;
// refusals of plugins built for another ABI major, of plugins that refuse the host's version,
// of libraries that export nothing, of half-copied files.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "plugin/plugin_library.hpp"
#include "sdk/recording_host.hpp"

namespace fs = std::filesystem;
using mh::host::PluginLibrary;
using mh::host::PluginLoadError;
using mh::test::CleanupOutcome;
using mh::test::InitOutcome;
using mh::test::RecordedCall;
using mh::test::RecordingHost;

namespace {

mh_model_meta make_meta(const std::string& config) {
  static std::string stored_config;
  stored_config = config;
  mh_model_meta meta{};
  meta.struct_size = sizeof(meta);
  meta.name = "echo-under-test";
  meta.files_dir = "/tmp";
  meta.manifest_dir = "/tmp";
  meta.config_json = stored_config.c_str();
  meta.config_json_size = stored_config.size();
  meta.generation = 1;
  return meta;
}

std::string load_error(const fs::path& path) {
  try {
    PluginLibrary::load(path);
  } catch (const PluginLoadError& error) {
    return error.what();
  }
  return "";
}

// Initialises an instance of `plugin` with `config`; requires that init succeeded once.
void init_ok(const mh_plugin& plugin, RecordingHost& host, InitOutcome& init,
             const std::string& config) {
  mh_model_meta meta = make_meta(config);
  plugin.init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  REQUIRE_MESSAGE(init.status == MH_OK, init.message);
  REQUIRE(init.instance != nullptr);
}

// Cleans `instance` up; requires that done fired, and exactly once.
void cleanup_ok(const mh_plugin& plugin, mh_instance* instance) {
  CleanupOutcome cleanup;
  plugin.cleanup(instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard lock(cleanup.mutex);
  CHECK(cleanup.calls == 1);
}

// Runs init, a plain and a streamed predict, and cleanup on `path`; checks callback counts.
void exercise_plugin(const fs::path& path, const std::string& expected_name) {
  auto library = PluginLibrary::load(path);
  CHECK(library->name() == expected_name);
  const mh_plugin& plugin = library->table();

  RecordingHost host;
  InitOutcome init;
  init_ok(plugin, host, init, R"({"stream_chunks": 4})");

  RecordedCall plain(R"({"hello": "world"})", false);
  plugin.predict(init.instance, &plain.request, &plain.response);
  REQUIRE(plain.wait());
  CHECK(plain.status == MH_OK);
  CHECK(plain.final_body.find(R"("hello": "world")") != std::string::npos);
  CHECK(plain.chunks.empty());
  CHECK(plain.finish_calls_after_settling() == 1);

  RecordedCall streamed(R"({"n": 1})", true);
  plugin.predict(init.instance, &streamed.request, &streamed.response);
  REQUIRE(streamed.wait());
  CHECK(streamed.status == MH_OK);
  CHECK(streamed.chunks.size() >= 1);
  CHECK(streamed.finish_calls_after_settling() == 1);

  cleanup_ok(plugin, init.instance);
  CHECK(init.calls == 1);
}

}  // namespace

TEST_CASE("echo: init, plain and streamed predict, cleanup, each callback exactly once") {
  exercise_plugin(MH_ECHO_PLUGIN, "echo");
}

TEST_CASE("echo: streamed reply arrives in the configured number of chunks, then one finish") {
  auto library = PluginLibrary::load(MH_ECHO_PLUGIN);
  RecordingHost host;
  InitOutcome init;
  init_ok(library->table(), host, init, R"({"stream_chunks": 5, "delay_ms": 0})");

  RecordedCall streamed(R"({"delay_ms": 25})", true);
  library->table().predict(init.instance, &streamed.request, &streamed.response);
  REQUIRE(streamed.wait());
  CHECK(streamed.status == MH_OK);
  CHECK(streamed.chunks.size() == 5);
  CHECK(streamed.chunks.back() == R"({"chunk":5,"of":5})");
  CHECK(streamed.finish_calls_after_settling() == 1);

  cleanup_ok(library->table(), init.instance);
}

TEST_CASE("echo: a cancelled request stops early and finishes once with MH_CANCELLED") {
  auto library = PluginLibrary::load(MH_ECHO_PLUGIN);
  RecordingHost host;
  InitOutcome init;
  init_ok(library->table(), host, init, "{}");

  RecordedCall slow(R"({"delay_ms": 5000})", false);
  const auto started = std::chrono::steady_clock::now();
  library->table().predict(init.instance, &slow.request, &slow.response);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  slow.cancellation = MH_CANCELLED;
  REQUIRE(slow.wait());
  CHECK(slow.status == MH_CANCELLED);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(4));
  CHECK(slow.finish_calls_after_settling() == 1);

  cleanup_ok(library->table(), init.instance);
  std::lock_guard lock(host.mutex);
  bool logged = false;
  for (const auto& line : host.log_lines) logged |= line.find("cancelled") != std::string::npos;
  CHECK(logged);
}

TEST_CASE("echo: a failing init reports its message once and gives no instance") {
  auto library = PluginLibrary::load(MH_ECHO_PLUGIN);
  RecordingHost host;
  InitOutcome init;
  mh_model_meta meta = make_meta(R"({"fail_init": "weights are missing"})");
  library->table().init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  CHECK(init.status != MH_OK);
  CHECK(init.message == "weights are missing");
  CHECK(init.instance == nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(init.calls == 1);
}

TEST_CASE("a plugin built for ABI major 2 is refused with both versions named") {
  const std::string message = load_error(MH_ABI2_PLUGIN);
  CHECK(message.find("plugin ABI 2.0") != std::string::npos);
  CHECK(message.find("host ABI 1.0") != std::string::npos);
}

TEST_CASE("a plugin whose mh_plugin_get returns NULL is refused with the host's version") {
  const std::string message = load_error(MH_REFUSING_PLUGIN);
  CHECK(message.find("refused") != std::string::npos);
  CHECK(message.find("host ABI 1.0") != std::string::npos);
}

TEST_CASE("a library that exports no entry point is refused clearly") {
  const std::string message = load_error(MH_NO_ENTRY_PLUGIN);
  CHECK(message.find("not a modelhost plugin") != std::string::npos);
  CHECK(message.find("mh_plugin_get") != std::string::npos);
}

TEST_CASE("a half-copied plugin file and a missing one are refused, naming the file") {
  const fs::path half = fs::temp_directory_path() / "mh-half-copied-echo.so";
  {
    std::ifstream in(MH_ECHO_PLUGIN, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(half, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  const std::string message = load_error(half);
  CHECK(message.find(half.string()) != std::string::npos);
  CHECK(message.find("cannot load plugin library") != std::string::npos);
  fs::remove(half);

  CHECK(load_error("/nonexistent/libnothing.so").find("plugin file not found") !=
        std::string::npos);
}

// Run by the sdk.out_of_tree test (tests/sdk) with MODELHOST_OUT_OF_TREE_PLUGIN set to a plugin
// built against the installed SDK; excluded from the plain run.
TEST_CASE("out-of-tree: a plugin built against the installed SDK loads and answers") {
  const char* path = std::getenv("MODELHOST_OUT_OF_TREE_PLUGIN");
  REQUIRE_MESSAGE(path != nullptr, "MODELHOST_OUT_OF_TREE_PLUGIN is not set");
  exercise_plugin(path, "out-of-tree-example");

  // The C++ helper turns exceptions into status codes.
  auto library = PluginLibrary::load(path);
  RecordingHost host;
  InitOutcome init;
  init_ok(library->table(), host, init, "{}");
  RecordedCall bad(R"({"fail": "invalid"})", false);
  library->table().predict(init.instance, &bad.request, &bad.response);
  REQUIRE(bad.wait());
  CHECK(bad.status == MH_INVALID_ARGUMENT);
  CHECK(bad.final_body == "asked to fail");
  RecordedCall crash(R"({"fail": "crash"})", false);
  library->table().predict(init.instance, &crash.request, &crash.response);
  REQUIRE(crash.wait());
  CHECK(crash.status == MH_INTERNAL);
  CHECK(crash.final_body == "std::runtime_error from the model");

  // Its stats() member became the mh.plugin.stats/1 extension.
  // (( )): doctest compares a function pointer but cannot print one.
  REQUIRE((library->table().get_extension != nullptr));
  const auto* stats = static_cast<const mh_plugin_stats*>(
      library->table().get_extension(MH_PLUGIN_STATS_EXTENSION));
  REQUIRE(stats != nullptr);
  std::string json;
  CHECK(stats->read(
            init.instance,
            [](void* context, const char* data, size_t size) {
              static_cast<std::string*>(context)->assign(data, size);
            },
            &json) == MH_OK);
  CHECK(json == R"({"requests": 2})");  // the two predicts above
  cleanup_ok(library->table(), init.instance);
}
