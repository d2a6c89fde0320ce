// What a runner gives its plugin and how it starts: resource limits, environment, nothing but
// its channel open, the stats extension across the boundary; load errors that name the
// operator's file (never hostd's private copy); a handshake that is bounded; where hostd finds
// the runner executable.
#include "isolation/runner_locator.hpp"
#include "isolation_support.hpp"

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>

using namespace mh::test;
using mh::host::PluginLoadError;
using mh::isolation::ProcessBackend;

namespace {

std::string load_error(mh::isolation::ProcessSettings settings) {
  try {
    ProcessBackend::start(std::move(settings));
  } catch (const PluginLoadError& error) {
    return error.what();
  }
  return "";
}

// The state letter of /proc/<pid>/stat ('S', 'Z', ...), or '\0' when there is no such process.
char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() ? '\0' : text[close + 2];
}

// Sets an environment variable for the scope of the object.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value == nullptr) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value, 1);
    }
  }
  ~ScopedVariable() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedVariable(const ScopedVariable&) = delete;
  ScopedVariable& operator=(const ScopedVariable&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("the runner applies limits and environment, and holds only its channel open") {
  ScratchDir scratch("limits");
  auto settings = settings_for(MH_PROBE_PLUGIN, "probe", scratch);
  settings.limits.address_space_bytes = std::uint64_t{16} << 30;
  settings.limits.cpus = {0};
  settings.limits.environment = {{"MH_PROBE_VALUE", "hello"}, {"CUDA_VISIBLE_DEVICES", "1"}};
  RecordingHost host;
  InitOutcome init;
  auto backend = start_and_init(std::move(settings), host, init);

  RecordedCall probe("{}", false);
  backend->predict(init.instance, &probe.request, &probe.response);
  REQUIRE(probe.wait());
  REQUIRE(probe.status == MH_OK);
  const std::string& reply = probe.final_body;
  CHECK(reply.find(R"("value":"hello")") != std::string::npos);
  CHECK(reply.find(R"("cuda":"1")") != std::string::npos);
  CHECK(reply.find(R"("core_limit":0,)") != std::string::npos);  // core dumps off by default
  CHECK(reply.find(R"("as_limit":17179869184,)") != std::string::npos);
  CHECK(reply.find(R"("cpus":1,)") != std::string::npos);
  CHECK(reply.find(R"("fds":[0,1,2,3])") != std::string::npos);
  CHECK(reply.find("\"pid\":" + std::to_string(backend->pid()) + "}") != std::string::npos);

  // mh.plugin.stats/1 crosses: read asks the runner and hands the object on.
  const auto* stats =
      static_cast<const mh_plugin_stats*>(backend->get_extension(MH_PLUGIN_STATS_EXTENSION));
  REQUIRE(stats != nullptr);
  REQUIRE(MH_HAS_FIELD(stats, mh_plugin_stats, read));
  std::vector<std::string> written;
  auto collect = [](void* context, const char* json, std::size_t size) {
    static_cast<std::vector<std::string>*>(context)->emplace_back(json, size);
  };
  CHECK(stats->read(init.instance, collect, &written) == MH_OK);
  REQUIRE(written.size() == 1);
  CHECK(written[0] == R"({"requests":1})");
  CHECK(backend->get_extension("mh.plugin.unknown/1") == nullptr);

  CleanupOutcome cleanup;
  backend->cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
  // After cleanup began the plugin is not asked any more.
  CHECK(stats->read(init.instance, collect, &written) == MH_UNAVAILABLE);
  REQUIRE(backend->wait_for_exit(std::chrono::seconds(10)).has_value());
  CHECK(backend->exit_status()->clean());
}

TEST_CASE("with core dumps asked for, the runner keeps hostd's core limit") {
  // hostd's own limit, raised for this test where the hard limit allows (often it is 0).
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_CORE, &saved) == 0);
  rlimit raised = saved;
  raised.rlim_cur = saved.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : saved.rlim_max;
  REQUIRE(::setrlimit(RLIMIT_CORE, &raised) == 0);
  ScratchDir scratch("core");
  auto settings = settings_for(MH_PROBE_PLUGIN, "probe", scratch);
  settings.limits.core_dumps = true;
  RecordingHost host;
  InitOutcome init;
  auto backend = start_and_init(std::move(settings), host, init);
  RecordedCall probe("{}", false);
  backend->predict(init.instance, &probe.request, &probe.response);
  REQUIRE(probe.wait());
  ::setrlimit(RLIMIT_CORE, &saved);
  const std::string expected = raised.rlim_cur == RLIM_INFINITY
                                   ? R"("core_limit":-1,)"
                                   : "\"core_limit\":" + std::to_string(raised.rlim_cur) + ",";
  CHECK(probe.final_body.find(expected) != std::string::npos);
}

TEST_CASE("a runner leaves nothing behind: processes its plugin started end with it") {
  ScratchDir scratch("leftovers");
  RecordingHost host;
  InitOutcome init;
  auto backend = start_and_init(settings_for(MH_PROBE_PLUGIN, "probe", scratch), host, init);
  RecordedCall spawn("spawn", false);
  backend->predict(init.instance, &spawn.request, &spawn.response);
  REQUIRE(spawn.wait());
  REQUIRE(spawn.status == MH_OK);
  const pid_t child = std::stoi(spawn.final_body.substr(spawn.final_body.find(':') + 1));
  REQUIRE(child > 0);
  const char running = process_state(child);  // in the runner's process group
  CHECK(running != '\0');
  CHECK(running != 'Z');

  CleanupOutcome cleanup;
  backend->cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
  REQUIRE(backend->wait_for_exit(std::chrono::seconds(10)).has_value());
  CHECK(backend->exit_status()->clean());
  // Killed with the runner: gone, or a zombie left to whoever adopted it.
  CHECK(eventually([&] {
    const char state = process_state(child);
    return state == '\0' || state == 'Z';
  }));
}

TEST_CASE("load errors name the operator's plugin file, never the private copy") {
  ScratchDir scratch("load");
  // A half-copied plugin, stored the way hostd stores plugins.
  const std::filesystem::path half = scratch.path() / "libhalf.so";
  {
    std::ifstream in(MH_ECHO_PLUGIN, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(half, std::ios::binary).write(bytes.data(), bytes.size() / 2);
  }
  auto settings = settings_for(half.string(), "half", scratch);
  settings.shown_path = "/models/half/libhalf.so";
  const std::string private_copy = settings.plugin_path.string();
  const std::string error = load_error(settings);
  CHECK(error.find("/models/half/libhalf.so: cannot load plugin library: truncated") == 0);
  CHECK(error.find(private_copy) == std::string::npos);
  CHECK(error.find(".plugins") == std::string::npos);

  settings.plugin_path = scratch.path() / ".plugins" / "missing.so";
  CHECK(load_error(settings) == "/models/half/libhalf.so: plugin file not found");

  settings = settings_for(MH_ECHO_PLUGIN, "echo", scratch);
  settings.runner = scratch.path() / "no-such-runner";
  CHECK(load_error(settings).find("cannot start the runner " + settings.runner.string() +
                                  ": No such file or directory") != std::string::npos);

  settings.runner = "/bin/false";  // starts, answers nothing, exits 1
  CHECK(load_error(settings) ==
        std::string(MH_ECHO_PLUGIN) +
            ": cannot load plugin library: the runner exited with code 1 while loading it");
}

TEST_CASE("the load handshake is bounded: a runner that never answers is killed") {
  ScratchDir scratch("handshake");
  const std::filesystem::path silent = scratch.path() / "silent-runner";
  std::ofstream(silent) << "#!/bin/sh\nexec sleep 60\n";
  std::filesystem::permissions(silent, std::filesystem::perms::owner_all);
  auto settings = settings_for(MH_ECHO_PLUGIN, "echo", scratch);
  settings.runner = silent;
  settings.handshake_timeout = std::chrono::milliseconds(300);
  CHECK(load_error(settings) ==
        std::string(MH_ECHO_PLUGIN) + ": the runner did not load the plugin within 300 ms");
}

TEST_CASE("hostd finds the runner through MODELHOST_RUNNER, else beside its own executable") {
  {
    ScopedVariable variable("MODELHOST_RUNNER", MH_RUNNER_PATH);
    CHECK(mh::isolation::find_runner_executable() == MH_RUNNER_PATH);
    // An empty runner path in the settings means: look it up.
    ScratchDir scratch("locate");
    auto settings = settings_for(MH_ECHO_PLUGIN, "echo", scratch);
    settings.runner.clear();
    auto backend = ProcessBackend::start(std::move(settings));
    CHECK(backend->name() == "echo");
  }
  {
    ScopedVariable variable("MODELHOST_RUNNER", "/nonexistent/mh-runner");
    CHECK_THROWS_WITH(mh::isolation::find_runner_executable(),
                      "MODELHOST_RUNNER=/nonexistent/mh-runner: not an executable file");
  }
  {
    // This test binary's folder has no mh-runner beside it.
    ScopedVariable variable("MODELHOST_RUNNER", nullptr);
    CHECK_THROWS_WITH(mh::isolation::find_runner_executable(),
                      doctest::Contains("(install mh-runner beside isolation_test, or set "
                                        "MODELHOST_RUNNER)"));
  }
}
