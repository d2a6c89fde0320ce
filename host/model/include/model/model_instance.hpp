#pragma once
// One generation of one model: a plugin behind a PluginBackend (in hostd's process, or in a
// runner process of its own) and the instance its init made, driven through plugin.h's
// asynchronous calls. Implements mh_host for the plugin.
//
//   init ──► predict (admitted through Admission, on a worker) ──► cleanup
//
// The instance outlives every request it runs (each PredictCall holds it) and drops its
// backend when it dies: an in-process backend hands its library to the LibraryUnloader (it
// unloads at least one second after the last done, never from a plugin thread); a process
// backend lets its runner go.
//
// Stuck requests: a request still unfinished `stuck_grace` after its deadline passed, after it
// was cancelled, or after the instance was set unloading (the drain timeout cut it) is stuck:
// logged once, counted, its admission slot given back at once (its late finish gives back
// nothing), a client still waiting hears 503 (unloaded) then, and the stuck callback runs (the
// registry replaces an isolated generation; one that unloads has its runner killed before
// cleanup).
#include "model/admission.hpp"
#include "model/isolation_policy.hpp"
#include "model/model_outcome.hpp"
#include "model/predict_call.hpp"
#include "plugin/plugin_backend.hpp"

#include <modelhost/plugin.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace mh::host {

struct InstanceSpec {
  std::string name;
  std::uint64_t generation = 1;
  std::filesystem::path files_dir;
  std::filesystem::path manifest_dir;
  std::string config_json = "{}";
  std::size_t max_concurrency = 64;
  std::size_t max_queue = 128;
  std::uint64_t timeout_ms = 0;           // each request's deadline from its admission (0: none)
  Isolation isolation = Isolation::none;  // how `backend` runs the plugin (for status)
  // Past a request's deadline or cancellation, how long until an unfinished one is stuck.
  std::chrono::milliseconds stuck_grace{10'000};
};

class ModelInstance : public std::enable_shared_from_this<ModelInstance> {
 public:
  using InitDone = std::function<void(mh_status status, std::string message)>;

  // `timers` runs the init timeout; `workers` runs predict calls and request deadlines.
  static std::shared_ptr<ModelInstance> create(InstanceSpec spec,
                                               std::shared_ptr<PluginBackend> backend,
                                               boost::asio::any_io_executor timers,
                                               boost::asio::any_io_executor workers);
  ~ModelInstance();
  ModelInstance(const ModelInstance&) = delete;
  ModelInstance& operator=(const ModelInstance&) = delete;

  // Calls the plugin's init; call on a lifecycle worker, never an HTTP thread. `done` runs
  // exactly once, from any thread: with the plugin's answer, or MH_DEADLINE_EXCEEDED when
  // `timeout` passes first — an instance the plugin delivers after that is cleaned up at once.
  // A plugin that never answers keeps this object (and its backend) alive for good, which is
  // the only safe thing to do with code that may still run in hostd (a process backend's
  // owner kills its runner instead, which answers the init).
  void init(std::chrono::milliseconds timeout, InitDone done);

  // Admits one request (see Admission); once admitted it runs on a worker: the plugin's
  // predict, or an immediate finish when the call was cancelled, expired or the instance is
  // unloading. (An isolated model's call admitted at once is sent to its runner from the
  // calling thread instead: that predict only queues a frame; it may finish the call, and so
  // reply, before submit returns.) With a timeout_ms, the call gets its deadline here and a timer
  // that answers MH_DEADLINE_EXCEEDED when it passes (taking a still queued call out). `closed`:
  // this generation drains; the call is untouched and may go to the successor.
  Admission::Outcome submit(const std::shared_ptr<PredictCall>& call);
  // Takes a queued call out (client gone, deadline) and finishes it with `status`; false when
  // it is not queued (it started, or it was taken out already).
  bool withdraw(const std::shared_ptr<PredictCall>& call, mh_status status,
                const std::string& message);

  // The plugin's mh.plugin.stats/1 for this instance: `accepted` with its JSON object,
  // `unimplemented` when the plugin lacks the extension, `unavailable` once cleanup began
  // (the plugin is never called after that), `plugin_error` when it answered an error.
  // Synchronous (the plugin promises to be quick). [thread: any but a plugin callback]
  PluginStatsResult read_stats();

  // Drain: refuses new requests (submit answers `closed`), then runs `callback` once no
  // request runs or waits.
  void drain(std::function<void()> callback) {
    admission_.close();
    admission_.when_idle(std::move(callback));
  }
  // From now on check_cancelled reports MH_CANCELLED and new calls are not started; each call
  // in the plugin now is watched for being stuck, as after a cancel.
  void set_unloading();
  bool unloading() const noexcept { return unloading_.load(); }

  // Calls the plugin's cleanup (on a lifecycle worker); `done` runs once it completed (at once
  // when init never delivered an instance). Call at most once, after init's done.
  void cleanup(std::function<void()> done);

  // A call finished (from PredictCall): frees its slot; keeps the finished call's memory a
  // while so that a buggy second finish can still be detected and ignored.
  // `call` is null when the plugin never held it; `held_slot` says whether it ran.
  void request_finished(std::shared_ptr<PredictCall> call, bool held_slot);

  // A request turned stuck (see above); `call` has its slot released already. Runs on a worker.
  void request_stuck(const std::shared_ptr<PredictCall>& call);
  // Runs (on a worker) each time a request of this instance turns stuck. Set before serving.
  void set_stuck_callback(std::function<void()> callback) { stuck_callback_ = std::move(callback); }
  // A stuck request finished after all.
  void stuck_request_finished() noexcept { stuck_now_.fetch_sub(1); }

  const InstanceSpec& spec() const noexcept { return spec_; }
  const PluginBackend& backend() const noexcept { return *backend_; }
  // Requests stuck now (unfinished), and ever.
  std::uint64_t stuck_now() const noexcept {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(stuck_now_.load(), 0));
  }
  std::uint64_t stuck_total() const noexcept { return stuck_total_.load(); }
  // "echo#3", for logs.
  const std::string& log_name() const noexcept { return log_name_; }
  std::size_t in_flight() const { return admission_.running() + admission_.queued(); }
  std::uint64_t requests_total() const noexcept { return requests_total_.load(); }

 private:
  ModelInstance(InstanceSpec spec, std::shared_ptr<PluginBackend> backend,
                boost::asio::any_io_executor timers, boost::asio::any_io_executor workers);
  void run_predict(const std::shared_ptr<PredictCall>& call);
  static void log_fn(const mh_host* host, mh_log_level level, const char* message);
  static const void* get_extension_fn(const mh_host* host, const char* extension_id);

  struct InitCall;
  struct CleanupCall;
  static void init_done_fn(void* context, mh_status status, const char* message,
                           mh_instance* instance);
  static void cleanup_done_fn(void* context);

  const InstanceSpec spec_;
  const std::string log_name_;
  std::shared_ptr<PluginBackend> backend_;
  boost::asio::any_io_executor timers_;
  boost::asio::any_io_executor workers_;
  mh_host host_{};
  Admission admission_;

  // Held shared by each predict call while it enters the plugin, exclusively by cleanup, so
  // no predict call ever overlaps or follows the start of cleanup.
  std::shared_mutex gate_;
  mh_instance* instance_ = nullptr;  // guarded by gate_
  bool cleanup_started_ = false;     // guarded by gate_
  std::atomic<bool> unloading_{false};
  std::atomic<std::uint64_t> requests_total_{0};
  // Signed: a stuck call's late finish may be counted a moment before its stuck.
  std::atomic<std::int64_t> stuck_now_{0};
  std::atomic<std::uint64_t> stuck_total_{0};
  std::function<void()> stuck_callback_;

  // The calls the plugin holds (from predict to their finish), for set_unloading.
  std::mutex running_mutex_;
  std::unordered_map<const PredictCall*, std::weak_ptr<PredictCall>> running_;

  std::mutex retired_mutex_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<PredictCall>>>
      retired_;
};

// Maps plugin log levels to the host's log.
void log_plugin_line(const std::string& who, mh_log_level level, const char* message);

}  // namespace mh::host
