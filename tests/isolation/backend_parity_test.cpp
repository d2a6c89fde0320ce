// One PluginBackend seam, two modes: the same calls on the echo plugin give the same answers
// in hostd's process (InProcessBackend) and in a runner (ProcessBackend) — a plugin cannot
// tell them apart. Also InProcessBackend's own promises: load errors name the operator's file,
// and the library goes to the LibraryUnloader, never away on the spot.
#include "isolation_support.hpp"
#include "plugin/in_process_backend.hpp"
#include "plugin/library_unloader.hpp"

#include <fstream>
#include <set>

using namespace mh::test;
using mh::host::InProcessBackend;
using mh::host::PluginBackend;

namespace {

// What a host sees of one session with echo.
struct Transcript {
  std::string identity;
  std::string plain;
  std::vector<std::string> chunks;
  std::string streamed;
  mh_status cancelled = MH_OK;
  mh_status unknown_key = MH_OK;
  std::set<std::string> log_lines;
  int cleanup_calls = 0;

  bool operator==(const Transcript&) const = default;
};

Transcript exercise(PluginBackend& backend) {
  Transcript seen;
  seen.identity = backend.name() + " " + backend.version() + " " + backend.description() + " " +
                  std::to_string(backend.abi_version());
  RecordingHost host;
  InitOutcome init;
  mh_model_meta meta = meta_for("parity", R"({"stream_chunks": 2})");
  backend.init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  REQUIRE(init.status == MH_OK);

  RecordedCall plain(R"({"a": [1, 2]})", false);
  backend.predict(init.instance, &plain.request, &plain.response);
  REQUIRE(plain.wait());
  seen.plain = plain.final_body;

  RecordedCall streamed(R"({"delay_ms": 20})", true);
  backend.predict(init.instance, &streamed.request, &streamed.response);
  REQUIRE(streamed.wait());
  seen.chunks = streamed.chunks;
  seen.streamed = streamed.final_body;

  RecordedCall cancelled(R"({"delay_ms": 20000})", false);
  cancelled.cancellation.store(MH_CANCELLED);
  backend.predict(init.instance, &cancelled.request, &cancelled.response);
  REQUIRE(cancelled.wait());
  seen.cancelled = cancelled.status;

  RecordedCall refused(R"({"delay_ms": -1})", false);
  backend.predict(init.instance, &refused.request, &refused.response);
  REQUIRE(refused.wait());
  seen.unknown_key = refused.status;

  CleanupOutcome cleanup;
  backend.cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard lock(cleanup.mutex);
    seen.cleanup_calls = cleanup.calls;
  }
  // A request cancelled before it starts may never reach a plugin (whose log line telling so
  // is then missing): compare the lines of init and cleanup.
  std::lock_guard lock(host.mutex);
  for (const auto& line : host.log_lines) {
    if (line.find("stopped early") == std::string::npos) seen.log_lines.insert(line);
  }
  return seen;
}

}  // namespace

TEST_CASE("the echo plugin answers the same in-process and in a runner") {
  ScratchDir scratch("parity");
  auto settings = settings_for(MH_ECHO_PLUGIN, "parity", scratch);
  mh::host::LibraryUnloader unloader(std::chrono::milliseconds(10));
  auto in_process = InProcessBackend::load(settings.plugin_path, settings.shown_path, &unloader);
  auto process = mh::isolation::ProcessBackend::start(settings);

  const Transcript here = exercise(*in_process);
  const Transcript there = exercise(*process);
  CHECK(here.plain.find(R"("echo":{"a": [1, 2]})") != std::string::npos);
  CHECK(here.chunks.size() == 2);
  CHECK(here.cancelled == MH_CANCELLED);
  CHECK(here.unknown_key == MH_INVALID_ARGUMENT);
  CHECK(here.cleanup_calls == 1);
  CHECK(here.log_lines.count("echo cleanup done") == 1);
  CHECK(here == there);

  // The in-process library goes to the unloader, which drops it after its delay.
  in_process.reset();
  CHECK(unloader.pending() == 1);
  CHECK(eventually([&] { return unloader.pending() == 0; }));
}

TEST_CASE("InProcessBackend: load errors name the operator's file") {
  ScratchDir scratch("in-process-load");
  const std::filesystem::path stored = scratch.path() / "0123abcd.so";
  {
    std::ifstream in(MH_ECHO_PLUGIN, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(stored, std::ios::binary).write(bytes.data(), 1000);
  }
  try {
    InProcessBackend::load(stored, "/models/x/libx.so");
    FAIL("a half-copied plugin loaded");
  } catch (const mh::host::PluginLoadError& error) {
    const std::string message = error.what();
    CHECK(message.find("/models/x/libx.so: cannot load plugin library: truncated") == 0);
    CHECK(message.find(stored.string()) == std::string::npos);
  }
  CHECK(mh::host::name_shown_path("a /p/s.so b /p/s.so", "/p/s.so", "/m/x.so") ==
        "a /m/x.so b /m/x.so");
  CHECK(mh::host::name_shown_path("nothing here", "/p/s.so", "/m/x.so") == "nothing here");
}
