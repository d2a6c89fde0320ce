#pragma once
// What the isolation tests share: a scratch directory, a private copy of a plugin made by the
// real PluginStore (so the runner loads what hostd would give it), ProcessSettings for a
// fixture, and a recorder for crash reports. The fake host and responses are the SDK tests'
// (tests/sdk/recording_host.hpp).
#include "isolation/process_backend.hpp"
#include "plugin/plugin_store.hpp"
#include "sdk/recording_host.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace mh::test {

// A fresh directory under the system's temporary directory, removed with the object.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("mh-isolation-" + name + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Settings for running `plugin` (a built fixture) as model `model`, through hostd's private
// copy of it in `scratch`, with the runner this build made.
inline isolation::ProcessSettings settings_for(const std::string& plugin, const std::string& model,
                                               const ScratchDir& scratch) {
  host::PluginStore store(scratch.path() / ".plugins");
  isolation::ProcessSettings settings;
  settings.model = model;
  settings.log_name = model + "#1";
  settings.runner = MH_RUNNER_PATH;
  settings.plugin_path = store.store(plugin).path;
  settings.shown_path = plugin;
  return settings;
}

inline mh_model_meta meta_for(const std::string& name, const std::string& config) {
  static thread_local std::string kept_name;
  static thread_local std::string kept_config;
  kept_name = name;
  kept_config = config;
  mh_model_meta meta{};
  meta.struct_size = sizeof(meta);
  meta.name = kept_name.c_str();
  meta.files_dir = "/tmp";
  meta.manifest_dir = "/tmp";
  meta.config_json = kept_config.c_str();
  meta.config_json_size = kept_config.size();
  meta.generation = 1;
  return meta;
}

// Polls `condition` every 5 ms until it holds or `limit` passes (for state the fake host
// records without signalling, such as chunks and log lines); returns whether it held.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline bool has_chunk(RecordedCall& call) {
  return eventually([&] {
    std::lock_guard lock(call.mutex);
    return !call.chunks.empty();
  });
}

inline bool has_log_line(RecordingHost& host, const std::string& needle) {
  return eventually([&] {
    std::lock_guard lock(host.mutex);
    for (const auto& line : host.log_lines) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  });
}

// Crash reports, as the registry would receive them.
struct CrashRecorder {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<isolation::RunnerCrash> crashes;

  isolation::ProcessBackend::CrashCallback callback() {
    return [this](const isolation::RunnerCrash& crash) {
      std::lock_guard lock(mutex);
      crashes.push_back(crash);
      changed.notify_all();
    };
  }
  // Waits (bounded) for the first report.
  bool wait() {
    return wait_for(mutex, changed, [this] { return !crashes.empty(); });
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return crashes.size();
  }
  isolation::RunnerCrash first() {
    std::lock_guard lock(mutex);
    REQUIRE(!crashes.empty());
    return crashes.front();
  }
};

// Starts `settings`' runner and initialises its instance; requires that both worked.
inline std::shared_ptr<isolation::ProcessBackend> start_and_init(
    isolation::ProcessSettings settings, RecordingHost& host, InitOutcome& init,
    const std::string& config = "{}") {
  auto backend = isolation::ProcessBackend::start(std::move(settings));
  mh_model_meta meta = meta_for(backend->settings().model, config);
  backend->init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  REQUIRE_MESSAGE(init.status == MH_OK, init.message);
  REQUIRE(init.instance != nullptr);
  return backend;
}

}  // namespace mh::test
