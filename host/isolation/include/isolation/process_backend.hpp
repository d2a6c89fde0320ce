#pragma once
// A plugin running in a runner process of its own (host/runner), driven through the same
// PluginBackend seam as an in-process one: a crash or a hang of the plugin ends only its runner.
//
// hostd's side of the channel. Every PluginBackend call becomes a frame; the runner's frames
// come back on one I/O thread per runner, which calls the host's callbacks (init's and
// cleanup's done, the request's write and finish, mh_host.log), polls each in-flight request's
// host check_cancelled every cancel_poll_interval and forwards a change as a `cancel` frame,
// and watches the runner: when it dies, every in-flight request finishes at once with
// MH_INTERNAL and `model "x" crashed: its runner was killed by signal 11 (SIGSEGV)`, a pending
// init is answered with that error, a pending cleanup's done is called, and the crash callback
// reports it.
//
// One runner serves one instance: init is called at most once. The mh_instance* init hands
// out is this backend's token; pass it back unchanged. The runner exits after cleanup's done.
#include "isolation/process_settings.hpp"
#include "isolation/runner_crash.hpp"
#include "plugin/plugin_backend.hpp"
#include "plugin/plugin_library.hpp"  // host::PluginLoadError

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace mh::isolation {

class RunnerSession;

class ProcessBackend final : public host::PluginBackend {
 public:
  using CrashCallback = std::function<void(const RunnerCrash&)>;

  // Starts a runner and has it load the plugin (same loader, same checks as in-process);
  // returns once it did. Throws host::PluginLoadError naming settings.shown_path (or the runner
  // when it cannot be started), also when the runner gives no answer within handshake_timeout.
  // [thread: a host worker thread; blocks up to handshake_timeout]
  static std::shared_ptr<ProcessBackend> start(ProcessSettings settings);

  // Closes the channel (the runner exits; one that has not after exit_grace is killed) and
  // waits until it was reaped — except on the runner's I/O thread (from inside a host
  // callback), where the I/O thread finishes that on its own. Neither the crash callback nor
  // mh_host.log is called after this returns. Destroy the backend only after cleanup's done
  // (or when init never delivered an instance): pending callbacks are still answered.
  ~ProcessBackend() override;

  std::string name() const override;
  std::string version() const override;
  std::string description() const override;
  std::uint32_t abi_version() const noexcept override;

  void init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
            void* done_ctx) noexcept override;
  // A request whose frame exceeds max_frame_payload finishes with MH_INVALID_ARGUMENT, one that
  // finds max_queued_bytes queued with MH_RESOURCE_EXHAUSTED, one after the runner died with
  // MH_INTERNAL and the crash reason — each at once, on the calling thread.
  void predict(mh_instance* instance, const mh_request* request,
               mh_response* response) noexcept override;
  void cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) noexcept override;
  // mh.plugin.stats/1 when the plugin has it: its read asks the runner and waits at most
  // stats_timeout (then MH_UNAVAILABLE). Other extensions are tables of function pointers into
  // the plugin and cannot cross a process boundary: NULL.
  const void* get_extension(const char* extension_id) const noexcept override;

  // `callback` runs once when the runner ends in any other way than exiting 0 after cleanup's
  // done (or after this backend closed the channel), once everything pending was answered.
  // It replaces an earlier callback; one set after the crash hears of it at once.
  // [thread: the runner's I/O thread; the calling thread when the crash happened already]
  void set_crash_callback(CrashCallback callback);

  // Kills the runner (SIGKILL), e.g. when its requests are stuck; `reason` is named in the
  // answers: `model "x" was stopped by hostd (REASON): its runner was killed by signal 9
  // (SIGKILL)`. The crash path then runs as for any other death.
  void kill(const std::string& reason);

  pid_t pid() const noexcept;
  RunnerPhase phase() const;
  std::size_t in_flight() const;
  // How the runner ended; nullopt while it runs (or when still unknown after `limit`).
  std::optional<RunnerExit> exit_status() const;
  std::optional<RunnerExit> wait_for_exit(std::chrono::milliseconds limit) const;
  const ProcessSettings& settings() const noexcept;

 private:
  explicit ProcessBackend(std::shared_ptr<RunnerSession> session);

  std::shared_ptr<RunnerSession> session_;
};

// Waits until the I/O thread of every runner session has ended (a session released from its
// own thread detaches it, and that thread may still be calling the host's callbacks, which post
// to hostd's thread pools); false when `timeout` passed first. hostd calls it before its pools
// go away at exit.
bool wait_for_runner_io_threads(std::chrono::milliseconds timeout);

}  // namespace mh::isolation
