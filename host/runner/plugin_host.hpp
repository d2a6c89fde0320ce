#pragma once
// The runner as its plugin's host: it implements mh_host and (through RunnerCall) mh_response
// by sending frames to hostd, and turns hostd's frames into the plugin's calls — so a plugin
// cannot tell that it runs apart from hostd.
//
// Threads: serve() reads frames on the main thread; predict runs on the reading thread itself
// while the plugin returns at once, with a spare thread ready to read on when it does not
// (ReaderRelay), else on the worker threads; init and cleanup go to the workers; cancel and
// stats_read are answered by the reader itself (both are quick). The plugin calls back from
// any thread; frames go out whole through BlockingChannel.
// After cleanup's done the runner exits at once (exit code 0): the process exit frees whatever
// the plugin still held, GPU context included.
#include "isolation/blocking_channel.hpp"
#include "isolation/messages.hpp"
#include "plugin/in_process_backend.hpp"
#include "reader_relay.hpp"
#include "runner_call.hpp"
#include "work_queue.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace mh::runner {

class PluginHost {
 public:
  PluginHost(isolation::BlockingChannel& channel, std::shared_ptr<host::PluginBackend> backend,
             std::string model);
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Serves hostd's frames until the runner exits: after cleanup's done, or when hostd closed
  // the channel (code 0), or on a frame it cannot read (kRunnerExitProtocol).
  [[noreturn]] void serve();

  // mh_response of one call (RunnerCall forwards here).
  mh_status write(RunnerCall& call, const char* data, std::size_t size);
  void finish(RunnerCall& call, mh_status status, const char* body, std::size_t size);

  // One line for hostd's log, attributed to the model.
  void log(mh_log_level level, std::string message);

 private:
  // Reads and serves frames while this thread holds the reader's `turn`.
  void read_frames(std::uint64_t turn);
  // False when the frame's plugin call ran inline and the reader role passed to the spare.
  bool dispatch(const isolation::Frame& frame, std::uint64_t turn);
  void on_init(isolation::InitMessage message);
  bool on_predict(isolation::PredictMessage message, std::uint64_t turn);
  void on_cancel(const isolation::CancelMessage& message);
  void on_cleanup();
  void on_stats_read(const isolation::StatsReadMessage& message);
  void run_predict(const std::shared_ptr<RunnerCall>& call);
  void send(const isolation::Frame& frame);
  // The call leaves the open set; kept a while so a second finish is still caught.
  void retire(std::uint64_t call);

  static void log_fn(const mh_host* host, mh_log_level level, const char* message);
  static const void* get_extension_fn(const mh_host* host, const char* extension_id);
  static void init_done_fn(void* context, mh_status status, const char* message,
                           mh_instance* instance);
  static void cleanup_done_fn(void* context);

  isolation::BlockingChannel& channel_;
  std::shared_ptr<host::PluginBackend> backend_;
  const std::string model_;
  const mh_plugin_stats* stats_ = nullptr;  // the plugin's, when it has a usable one
  mh_host host_{};
  std::atomic<bool> init_reported_{false};

  // Held shared by a predict call and a stats read while they are in the plugin, exclusively
  // by cleanup: no plugin call overlaps or follows the start of cleanup.
  std::shared_mutex gate_;
  mh_instance* instance_ = nullptr;  // guarded by gate_
  bool cleanup_started_ = false;     // guarded by gate_

  std::mutex calls_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<RunnerCall>> calls_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<RunnerCall>>>
      retired_;

  ReaderRelay relay_;
  WorkQueue workers_;  // last: its threads stop before the rest goes
};

// Ends the runner now with `code`, whatever plugin threads still run.
[[noreturn]] void exit_runner(int code);

}  // namespace mh::runner
