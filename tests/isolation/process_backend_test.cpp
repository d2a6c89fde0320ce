// ProcessBackend driving the real echo plugin through a real mh-runner: the plugin's identity,
// init, predict (JSON and streamed chunks), log lines, cancellation from the host and the
// request's own deadline, stats, cleanup and the runner exiting 0 — the same behaviour as
// in-process, through a process boundary.
#include "isolation_support.hpp"

#include <atomic>
#include <csignal>
#include <fstream>
#include <iterator>

using namespace mh::test;
using mh::isolation::ProcessBackend;
using mh::isolation::RunnerPhase;

namespace {

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void cleanup_ok(ProcessBackend& backend, mh_instance* instance) {
  CleanupOutcome cleanup;
  backend.cleanup(instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
  const auto exit = backend.wait_for_exit(std::chrono::seconds(10));
  REQUIRE(exit.has_value());
  CHECK(exit->clean());  // the runner exits 0 after cleanup's done
  std::lock_guard lock(cleanup.mutex);
  CHECK(cleanup.calls == 1);
}

}  // namespace

TEST_CASE("echo in a runner: identity, init, JSON and streamed predict, cleanup, exit 0") {
  ScratchDir scratch("echo");
  RecordingHost host;
  InitOutcome init;
  CrashRecorder crashes;
  auto backend = start_and_init(settings_for(MH_ECHO_PLUGIN, "echo", scratch), host, init,
                                R"({"stream_chunks": 4})");
  backend->set_crash_callback(crashes.callback());
  CHECK(backend->name() == "echo");
  CHECK(!backend->version().empty());
  CHECK(backend->description().find("Echoes") != std::string::npos);
  CHECK(MH_ABI_MAJOR_OF(backend->abi_version()) == MH_ABI_VERSION_MAJOR);
  CHECK(backend->pid() > 0);
  CHECK(backend->pid() != ::getpid());
  CHECK(backend->phase() == RunnerPhase::serving);
  CHECK(backend->get_extension(MH_PLUGIN_STATS_EXTENSION) == nullptr);  // echo has none
  CHECK(has_log_line(host, "ready"));  // the plugin's mh_host.log reached the host's

  RecordedCall plain(R"({"hello": "world"})", false);
  backend->predict(init.instance, &plain.request, &plain.response);
  REQUIRE(plain.wait());
  CHECK(plain.status == MH_OK);
  CHECK(plain.final_body.find(R"("echo":{"hello": "world"})") != std::string::npos);
  CHECK(plain.final_body.find(R"("model":"echo")") != std::string::npos);
  CHECK(plain.finish_calls_after_settling() == 1);

  RecordedCall streamed(R"({"chunks": 3, "delay_ms": 30})", true);
  backend->predict(init.instance, &streamed.request, &streamed.response);
  REQUIRE(streamed.wait());
  CHECK(streamed.status == MH_OK);
  REQUIRE(streamed.chunks.size() == 3);
  CHECK(streamed.chunks[0] == R"({"chunk":1,"of":3})");
  CHECK(streamed.chunks[2] == R"({"chunk":3,"of":3})");

  // Many at once, from several threads.
  std::vector<std::unique_ptr<RecordedCall>> calls;
  for (int i = 0; i < 64; ++i) {
    calls.push_back(std::make_unique<RecordedCall>("{\"n\": " + std::to_string(i) + "}", false));
  }
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < 64; i += 4) {
        backend->predict(init.instance, &calls[i]->request, &calls[i]->response);
      }
    });
  }
  for (auto& sender : senders) sender.join();
  for (int i = 0; i < 64; ++i) {
    REQUIRE(calls[i]->wait());
    CHECK(calls[i]->status == MH_OK);
    CHECK(calls[i]->final_body.find("{\"n\": " + std::to_string(i) + "}") != std::string::npos);
  }
  CHECK(backend->in_flight() == 0);

  cleanup_ok(*backend, init.instance);
  CHECK(has_log_line(host, "echo cleanup done"));
  CHECK(crashes.count() == 0);
}

TEST_CASE("cancellation: the host's check_cancelled reaches the plugin, and so does the deadline") {
  ScratchDir scratch("cancel");
  RecordingHost host;
  InitOutcome init;
  auto backend = start_and_init(settings_for(MH_ECHO_PLUGIN, "echo", scratch), host, init);

  RecordedCall slow(R"({"delay_ms": 20000})", false);
  backend->predict(init.instance, &slow.request, &slow.response);
  REQUIRE(backend->in_flight() == 1);
  slow.cancellation.store(MH_CANCELLED);  // the client went away
  REQUIRE(slow.wait());
  CHECK(slow.status == MH_CANCELLED);
  CHECK(has_log_line(host, "stopped early: cancelled"));

  RecordedCall streaming(R"({"chunks": 1000, "delay_ms": 20000})", true);
  backend->predict(init.instance, &streaming.request, &streaming.response);
  REQUIRE(has_chunk(streaming));
  streaming.cancellation.store(MH_CANCELLED);  // now reported by write and check_cancelled
  REQUIRE(streaming.wait());
  CHECK(streaming.status == MH_CANCELLED);

  // The runner knows the request's deadline itself: no host poll is needed for it.
  RecordedCall late(R"({"delay_ms": 20000})", false);
  late.request.deadline_unix_ms = now_unix_ms() + 100;
  backend->predict(init.instance, &late.request, &late.response);
  REQUIRE(late.wait());
  CHECK(late.status == MH_DEADLINE_EXCEEDED);
  CHECK(has_log_line(host, "stopped early: deadline exceeded"));

  // A request whose deadline passed before it started is not handed to the plugin at all.
  RecordedCall expired(R"({})", false);
  expired.request.deadline_unix_ms = now_unix_ms() - 1;
  backend->predict(init.instance, &expired.request, &expired.response);
  REQUIRE(expired.wait());
  CHECK(expired.status == MH_DEADLINE_EXCEEDED);
  CHECK(expired.final_body == "the deadline passed before the request started");

  cleanup_ok(*backend, init.instance);
}

TEST_CASE("backpressure: a chunk the host refuses reaches the plugin as MH_RESOURCE_EXHAUSTED") {
  ScratchDir scratch("refused");
  RecordingHost host;
  InitOutcome init;
  auto backend = start_and_init(settings_for(MH_ECHO_PLUGIN, "echo", scratch), host, init);

  // The host takes one chunk, then refuses (a client that does not read); its check_cancelled
  // keeps saying MH_OK: only the refused write can tell the plugin.
  static std::atomic<int> writes{0};
  RecordedCall streaming(R"({"chunks": 1000, "delay_ms": 20000})", true);
  streaming.response.write = [](mh_response*, const char*, size_t) -> mh_status {
    return ++writes == 1 ? MH_OK : MH_RESOURCE_EXHAUSTED;
  };
  backend->predict(init.instance, &streaming.request, &streaming.response);
  REQUIRE(streaming.wait());
  CHECK(streaming.status == MH_RESOURCE_EXHAUSTED);  // the plugin's next write heard it
  CHECK(writes.load() >= 2);
  CHECK(writes.load() < 1000);

  cleanup_ok(*backend, init.instance);
}

TEST_CASE("bounds: a body over the frame limit and a runner that stops reading are refused") {
  ScratchDir scratch("bounds");
  RecordingHost host;
  InitOutcome init;
  auto settings = settings_for(MH_ECHO_PLUGIN, "echo", scratch);
  settings.max_frame_payload = 8192;
  settings.max_queued_bytes = 64 * 1024;
  auto backend = start_and_init(std::move(settings), host, init);

  RecordedCall huge(R"({"x": ")" + std::string(9000, 'a') + R"("})", false);
  backend->predict(init.instance, &huge.request, &huge.response);
  REQUIRE(huge.wait());
  CHECK(huge.status == MH_INVALID_ARGUMENT);
  CHECK(huge.final_body.find("larger than an isolated model takes (8192 bytes)") !=
        std::string::npos);

  // The reply is larger than the request (echo wraps it): the runner refuses to send it whole.
  RecordedCall big_reply(R"({"x": ")" + std::string(8120, 'b') + R"("})", false);
  backend->predict(init.instance, &big_reply.request, &big_reply.response);
  REQUIRE(big_reply.wait());
  CHECK(big_reply.status == MH_INTERNAL);
  CHECK(big_reply.final_body.find("larger than an isolated model may send") != std::string::npos);

  // A runner that reads nothing (stopped): the socket fills, then hostd's queue, then refusal.
  REQUIRE(::kill(backend->pid(), SIGSTOP) == 0);
  std::vector<std::unique_ptr<RecordedCall>> calls;
  bool refused = false;
  for (int i = 0; i < 400 && !refused; ++i) {
    calls.push_back(
        std::make_unique<RecordedCall>(R"({"x": ")" + std::string(7000, 'c') + R"("})", false));
    backend->predict(init.instance, &calls.back()->request, &calls.back()->response);
    std::lock_guard lock(calls.back()->mutex);
    refused = calls.back()->finish_calls == 1 && calls.back()->status == MH_RESOURCE_EXHAUSTED;
  }
  REQUIRE(::kill(backend->pid(), SIGCONT) == 0);
  REQUIRE(refused);
  CHECK(calls.back()->final_body.find("not taking requests") != std::string::npos);
  for (std::size_t i = 0; i + 1 < calls.size(); ++i) {
    REQUIRE(calls[i]->wait());
    CHECK(calls[i]->status == MH_OK);  // queued, then served once the runner went on
  }
  cleanup_ok(*backend, init.instance);
}

TEST_CASE("a runner killed from outside mid-stream: in-flight requests end at once") {
  ScratchDir scratch("killed");
  RecordingHost host;
  InitOutcome init;
  CrashRecorder crashes;
  auto backend = start_and_init(settings_for(MH_ECHO_PLUGIN, "echo", scratch), host, init);
  backend->set_crash_callback(crashes.callback());

  RecordedCall streaming(R"({"chunks": 1000, "delay_ms": 60000})", true);
  backend->predict(init.instance, &streaming.request, &streaming.response);
  REQUIRE(has_chunk(streaming));
  REQUIRE(::kill(backend->pid(), SIGKILL) == 0);
  REQUIRE(streaming.wait());
  CHECK(streaming.status == MH_INTERNAL);
  CHECK(streaming.final_body ==
        "model \"echo\" crashed: its runner was killed by signal 9 (SIGKILL)");
  REQUIRE(crashes.wait());
  CHECK(crashes.first().phase == RunnerPhase::serving);
  CHECK(!crashes.first().stopped_by_host);
  CHECK(crashes.first().exit.killed_by(SIGKILL));
}

TEST_CASE("a backend let go without cleanup closes the channel; the runner exits, no crash") {
  ScratchDir scratch("release");
  RecordingHost host;
  InitOutcome init;
  CrashRecorder crashes;
  auto backend = start_and_init(settings_for(MH_ECHO_PLUGIN, "echo", scratch), host, init);
  backend->set_crash_callback(crashes.callback());
  const pid_t pid = backend->pid();
  backend.reset();  // joins the I/O thread once the runner was reaped
  std::ifstream command_line("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text((std::istreambuf_iterator<char>(command_line)), {});
  CHECK(text.find("echo#1") == std::string::npos);  // gone (the pid is not our runner's)
  CHECK(crashes.count() == 0);
}
