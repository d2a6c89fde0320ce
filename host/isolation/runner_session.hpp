#pragma once
// Private to mh_isolation: the state of one runner shared by ProcessBackend (the API side, any
// thread) and the runner's I/O thread, which holds it alive until the runner was reaped.
//
// Locks: mutex_ guards the state below it and is never held while a host callback runs or a
// frame is sent; send_mutex_ guards the channel's write side (frames go out whole, in the
// order the senders took it, and a request's frames before any cancel of it); callback_mutex_
// is held (by the I/O thread) around mh_host.log and the crash callback, so that release()
// from another thread returns only once neither can run any more. Order: callback_mutex_,
// then send_mutex_, then mutex_; never the other way.
#include "isolation/frame.hpp"
#include "isolation/messages.hpp"
#include "isolation/process_backend.hpp"

#include "files/unique_fd.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace mh::isolation {

class RunnerSession : public std::enable_shared_from_this<RunnerSession> {
 public:
  explicit RunnerSession(ProcessSettings settings);
  ~RunnerSession();
  RunnerSession(const RunnerSession&) = delete;
  RunnerSession& operator=(const RunnerSession&) = delete;

  // Starts the I/O thread, which spawns the runner and sends `load`.
  void launch();
  // Waits for the runner's answer to `load`. Throws host::PluginLoadError (after release()).
  LoadedMessage await_loaded();
  // The owner lets go: the channel is closed (the runner then exits), the crash callback and
  // mh_host.log are not called any more. Joins the I/O thread unless called on it.
  void release();

  void init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done, void* done_ctx);
  void predict(mh_instance* instance, const mh_request* request, mh_response* response);
  void cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx);
  mh_status read_stats(mh_stats_write_fn write, void* write_ctx);
  void set_crash_callback(ProcessBackend::CrashCallback callback);
  void kill(const std::string& reason);

  // The mh_instance* the host gets from init: this session.
  mh_instance* token() noexcept { return reinterpret_cast<mh_instance*>(this); }
  static RunnerSession* from_token(mh_instance* instance) noexcept {
    return reinterpret_cast<RunnerSession*>(instance);
  }

  const ProcessSettings& settings() const noexcept { return settings_; }
  const LoadedMessage& identity() const noexcept { return identity_; }
  pid_t pid() const;
  RunnerPhase phase() const;
  std::size_t in_flight() const;
  std::optional<RunnerExit> exit_status() const;
  std::optional<RunnerExit> wait_for_exit(std::chrono::milliseconds limit) const;

 private:
  struct PendingInit {
    mh_init_done_fn done;
    void* done_ctx;
  };
  struct PendingCleanup {
    mh_cleanup_done_fn done;
    void* done_ctx;
  };
  struct OpenCall {
    mh_response* response;
    mh_status cancel_sent = MH_OK;  // what the runner was told (MH_OK: nothing yet)
    // The host refused a chunk (MH_RESOURCE_EXHAUSTED: the client does not read): the
    // chunks the runner sent after it are not delivered either, so the client never gets a
    // stream with a hole in it, and the plugin hears the refusal at its next write.
    bool refused = false;
    std::uint64_t chunks_not_delivered = 0;
  };
  struct StatsWait {
    bool answered = false;
    StatsReplyMessage reply;
  };

  // --- the I/O thread (runner_session_io.cpp) ---
  void run();
  void loop();
  bool read_available();  // false once the channel ended (EOF, error, protocol violation)
  void handle_frame(const Frame& frame);
  void on_loaded(const LoadedMessage& message);
  void on_init_done(const InitDoneMessage& message);
  void on_write(const WriteMessage& message);
  void on_finish(const FinishMessage& message);
  void on_cleanup_done();
  void on_log(const LogMessage& message);
  void on_stats_reply(const StatsReplyMessage& message);
  void poll_cancellations();
  void forward_cancel(std::uint64_t call, mh_status status);
  // Reaps the runner, waiting up to `limit`; nullopt when it still runs.
  std::optional<RunnerExit> reap_within(std::chrono::milliseconds limit);
  RunnerExit wait_for_runner_exit();
  void finish_session(const RunnerExit& exit);
  void protocol_violation(const std::string& what);

  // --- either side, under send_mutex_ (and not mutex_) ---
  // Sends `bytes` at once when nothing is queued, else queues them (and wakes the I/O
  // thread); false when `counted` and the queue is at max_queued_bytes.
  bool send_locked(std::string bytes, bool counted);
  void flush_locked();
  // Drops what is queued; nothing is sent any more.
  void stop_sending_locked();

  // --- either side, under mutex_ ---
  void kill_locked(const std::string& reason);
  void wake() noexcept;
  bool on_io_thread() const noexcept { return std::this_thread::get_id() == io_thread_id_; }
  std::string shown_path() const;

  const ProcessSettings settings_;
  files::UniqueFd wake_;    // eventfd
  LoadedMessage identity_;  // written once before start() returns

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;  // handshake, exit, stats replies
  RunnerPhase phase_ = RunnerPhase::loading;
  pid_t pid_ = -1;
  bool reaped_ = false;      // pid_ was reaped: it must never be signalled again
  files::UniqueFd channel_;  // set by the I/O thread before anything else is sent
  std::optional<LoadedMessage> loaded_;
  std::optional<std::string> load_error_;
  bool init_called_ = false;
  std::optional<PendingInit> init_;
  std::optional<PendingCleanup> cleanup_;
  std::unordered_map<std::uint64_t, OpenCall> calls_;
  std::unordered_map<std::uint64_t, StatsWait*> stats_waits_;
  std::uint64_t next_stats_seq_ = 1;
  std::string kill_reason_;  // non-empty once hostd killed the runner
  bool closing_ = false;     // release() was called
  bool ended_ = false;       // the runner was reaped and everything pending answered
  std::optional<RunnerExit> exit_;
  std::string end_message_;  // what calls after the end are answered with
  std::optional<RunnerCrash> crash_;

  std::mutex send_mutex_;
  bool write_broken_ = false;         // guarded by send_mutex_
  std::deque<std::string> outbound_;  // guarded by send_mutex_
  std::size_t outbound_bytes_ = 0;    // guarded by send_mutex_
  std::size_t front_sent_ = 0;        // guarded by send_mutex_: bytes of outbound_.front() sent
  // !outbound_.empty() && !write_broken_, for the I/O thread's poll without send_mutex_.
  std::atomic<bool> want_out_{false};
  std::atomic<std::uint64_t> next_call_{1};

  // Recursive: a crash callback may drop the last reference to the backend (release() on the
  // I/O thread) or set another callback.
  std::recursive_mutex callback_mutex_;
  const mh_host* host_ = nullptr;  // guarded by callback_mutex_: from init to cleanup's done
  ProcessBackend::CrashCallback crash_callback_;  // guarded by callback_mutex_
  bool crash_reported_ = false;                   // guarded by callback_mutex_
  bool released_ = false;                         // guarded by callback_mutex_

  // The I/O thread's own.
  FrameDecoder decoder_;
  std::thread io_thread_;
  std::thread::id io_thread_id_;
};

}  // namespace mh::isolation
