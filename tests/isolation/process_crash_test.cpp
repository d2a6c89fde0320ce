// Deliberately bad plugins in a runner: a segfault in predict, abort in init, exit in cleanup,
// a predict that never finishes, an infinite loop in init. In each case the test process lives
// on, every request in flight ends at once with a message naming the model and the signal, a
// pending init or cleanup is answered, and the crash callback reports what happened.
#include "isolation_support.hpp"

#include <csignal>

using namespace mh::test;
using mh::isolation::ProcessBackend;
using mh::isolation::RunnerPhase;

namespace {

// Gives a plugin the chance to answer (it must not) before checking that it did not.
bool still_open(RecordedCall& call) {
  return call.finish_calls_after_settling() == 0;
}

}  // namespace

TEST_CASE("a segfault in predict ends every in-flight request at once and reports SIGSEGV") {
  ScratchDir scratch("segv");
  RecordingHost host;
  InitOutcome init;
  CrashRecorder crashes;
  auto backend = start_and_init(settings_for(MH_SEGFAULT_PLUGIN, "bad", scratch), host, init);
  backend->set_crash_callback(crashes.callback());

  RecordedCall fine(R"({"fine": 1})", false);
  backend->predict(init.instance, &fine.request, &fine.response);
  REQUIRE(fine.wait());
  CHECK(fine.status == MH_OK);

  RecordedCall held1(R"({"hold": 1})", false);
  RecordedCall held2(R"({"hold": 2})", true);
  backend->predict(init.instance, &held1.request, &held1.response);
  backend->predict(init.instance, &held2.request, &held2.response);
  REQUIRE(still_open(held1));
  RecordedCall crashing(R"({"crash": true})", false);
  backend->predict(init.instance, &crashing.request, &crashing.response);

  const std::string expected =
      "model \"bad\" crashed: its runner was killed by signal 11 (SIGSEGV)";
  for (RecordedCall* call : {&held1, &held2, &crashing}) {
    REQUIRE(call->wait());
    CHECK(call->status == MH_INTERNAL);
    CHECK(call->final_body == expected);
    CHECK(call->finish_calls_after_settling() == 1);
  }
  REQUIRE(crashes.wait());
  const auto crash = crashes.first();
  CHECK(crash.model == "bad");
  CHECK(crash.phase == RunnerPhase::serving);
  CHECK(crash.exit.killed_by(SIGSEGV));
  CHECK(!crash.stopped_by_host);
  CHECK(crash.reason == expected);
  CHECK(crashes.count() == 1);

  // Afterwards: new requests are answered at once, cleanup's done comes at once.
  RecordedCall after(R"({})", false);
  backend->predict(init.instance, &after.request, &after.response);
  REQUIRE(after.wait());
  CHECK(after.final_body == expected);
  CleanupOutcome cleanup;
  backend->cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
  REQUIRE(backend->exit_status().has_value());
  CHECK(backend->exit_status()->killed_by(SIGSEGV));

  // A callback set after the crash hears of it at once.
  CrashRecorder late;
  backend->set_crash_callback(late.callback());
  CHECK(late.count() == 1);
}

TEST_CASE("abort in init answers init with the crash, and the callback reports SIGABRT") {
  ScratchDir scratch("abort");
  RecordingHost host;
  CrashRecorder crashes;
  auto backend = ProcessBackend::start(settings_for(MH_ABORT_PLUGIN, "bad", scratch));
  backend->set_crash_callback(crashes.callback());
  InitOutcome init;
  mh_model_meta meta = meta_for("bad", "{}");
  backend->init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  CHECK(init.status == MH_INTERNAL);
  CHECK(init.message == "model \"bad\" crashed: its runner was killed by signal 6 (SIGABRT)");
  CHECK(init.instance == nullptr);
  REQUIRE(crashes.wait());
  CHECK(crashes.first().phase == RunnerPhase::initializing);
  CHECK(crashes.first().exit.killed_by(SIGABRT));
  // What the plugin logged before it died still reached the host.
  std::lock_guard lock(host.mutex);
  REQUIRE(!host.log_lines.empty());
  CHECK(host.log_lines.front() == "about to abort in init");
}

TEST_CASE("exit in cleanup: cleanup's done is still called, the exit code is reported") {
  ScratchDir scratch("exit");
  RecordingHost host;
  InitOutcome init;
  CrashRecorder crashes;
  auto backend = start_and_init(settings_for(MH_EXIT_PLUGIN, "bad", scratch), host, init);
  backend->set_crash_callback(crashes.callback());
  CleanupOutcome cleanup;
  backend->cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
  REQUIRE(crashes.wait());
  const auto crash = crashes.first();
  CHECK(crash.phase == RunnerPhase::cleaning_up);
  CHECK(crash.exit.how == mh::isolation::RunnerExit::How::exited);
  CHECK(crash.exit.code == 42);
  CHECK(crash.reason == "model \"bad\" crashed: its runner exited with code 42");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard lock(cleanup.mutex);
  CHECK(cleanup.calls == 1);
}

TEST_CASE("a predict that never finishes: cancel cannot end it, kill() does") {
  ScratchDir scratch("stuck");
  RecordingHost host;
  InitOutcome init;
  CrashRecorder crashes;
  auto backend = start_and_init(settings_for(MH_NEVER_FINISHES_PLUGIN, "bad", scratch), host, init);
  backend->set_crash_callback(crashes.callback());

  RecordedCall stuck(R"({})", false);
  backend->predict(init.instance, &stuck.request, &stuck.response);
  stuck.cancellation.store(MH_CANCELLED);
  REQUIRE(still_open(stuck));  // the plugin ignores the cancel it was sent
  CHECK(backend->in_flight() == 1);

  backend->kill("1 request stuck past its deadline");
  REQUIRE(stuck.wait());
  CHECK(stuck.status == MH_INTERNAL);
  CHECK(stuck.final_body ==
        "model \"bad\" was stopped by hostd (1 request stuck past its deadline): its runner was "
        "killed by signal 9 (SIGKILL)");
  REQUIRE(crashes.wait());
  CHECK(crashes.first().stopped_by_host);
  CHECK(crashes.first().exit.killed_by(SIGKILL));
  CHECK(backend->in_flight() == 0);
}

TEST_CASE("an infinite loop in init: init stays pending until kill(), which answers it") {
  ScratchDir scratch("loop");
  RecordingHost host;
  CrashRecorder crashes;
  auto backend = ProcessBackend::start(settings_for(MH_INIT_LOOPS_PLUGIN, "bad", scratch));
  backend->set_crash_callback(crashes.callback());
  InitOutcome init;
  mh_model_meta meta = meta_for("bad", "{}");
  backend->init(&host.host, &meta, &InitOutcome::done, &init);
  CHECK(!wait_for(
      init.mutex, init.changed, [&] { return init.calls > 0; }, std::chrono::milliseconds(200)));
  CHECK(backend->phase() == RunnerPhase::initializing);

  backend->kill("init did not finish within 200 ms");
  REQUIRE(init.wait());
  CHECK(init.status == MH_INTERNAL);
  CHECK(init.message ==
        "model \"bad\" was stopped by hostd (init did not finish within 200 ms): its runner was "
        "killed by signal 9 (SIGKILL)");
  REQUIRE(crashes.wait());
  CHECK(crashes.first().phase == RunnerPhase::initializing);
}
