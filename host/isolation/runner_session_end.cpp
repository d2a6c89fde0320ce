// How a runner's session ends: protocol violations, reaping the process within bounds, and
// answering everything still pending with the reason — the crash path.
#include "runner_session.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

namespace mh::isolation {

namespace {

using Clock = std::chrono::steady_clock;

// After SIGKILL, how long the process may take to disappear (uninterruptible I/O, a GPU
// driver tearing down a context) before hostd stops waiting for its status.
constexpr auto kKillWait = std::chrono::seconds(5);

}  // namespace

void RunnerSession::protocol_violation(const std::string& what) {
  spdlog::error("[{}] the runner broke the protocol: {}", settings_.model, what);
  std::lock_guard lock(mutex_);
  if (phase_ == RunnerPhase::loading && !load_error_) {
    load_error_ = shown_path() + ": the runner broke the protocol while loading: " + what;
    changed_.notify_all();
  }
  kill_locked("its runner broke the protocol: " + what);
}

std::optional<RunnerExit> RunnerSession::reap_within(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (auto exit = try_reap(pid_)) {
        reaped_ = true;
        return exit;
      }
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

RunnerExit RunnerSession::wait_for_runner_exit() {
  if (auto exit = reap_within(settings_.exit_grace)) return *exit;
  {
    std::lock_guard lock(mutex_);
    kill_locked("its runner closed its channel but did not exit");
  }
  if (auto exit = reap_within(kKillWait)) return *exit;
  spdlog::error("[{}] the runner (pid {}) did not end {} s after SIGKILL; giving up on it",
                settings_.model, pid(), kKillWait.count());
  return RunnerExit{RunnerExit::How::lost, 0};
}

void RunnerSession::finish_session(const RunnerExit& exit) {
  std::unordered_map<std::uint64_t, OpenCall> calls;
  std::optional<PendingInit> init;
  std::optional<PendingCleanup> cleanup;
  std::optional<RunnerCrash> crash;
  std::string message;
  RunnerPhase phase = RunnerPhase::loading;
  {
    std::lock_guard lock(mutex_);
    phase = phase_;
    const std::string model = "model \"" + settings_.model + "\"";
    const bool finished_with = phase_ == RunnerPhase::cleaned_up || closing_;
    if (phase_ == RunnerPhase::loading) {
      if (!load_error_) {
        load_error_ = shown_path() + ": cannot load plugin library: the runner " + exit.describe() +
                      " while loading it";
      }
      message = *load_error_;
    } else if (!kill_reason_.empty() && !finished_with) {
      message =
          model + " was stopped by hostd (" + kill_reason_ + "): its runner " + exit.describe();
    } else if (finished_with) {
      message = model + " is unloaded";
    } else {
      message = model + " crashed: its runner " + exit.describe();
    }
    if (phase_ != RunnerPhase::loading && !finished_with) {
      crash = RunnerCrash{settings_.model, phase_, exit, !kill_reason_.empty(), message};
    }
    end_message_ = message;
    exit_ = exit;
    ended_ = true;
    calls.swap(calls_);
    init.swap(init_);
    cleanup.swap(cleanup_);
    changed_.notify_all();
  }
  {
    std::lock_guard sending(send_mutex_);
    stop_sending_locked();
  }
  {
    std::lock_guard callbacks(callback_mutex_);
    if (!released_ && crash) {
      spdlog::error("[{}] {} (while {})",
                    settings_.log_name.empty() ? settings_.model : settings_.log_name, message,
                    runner_phase_name(phase));
    } else if (!released_ && phase == RunnerPhase::cleaned_up && !exit.clean()) {
      spdlog::warn("[{}] the runner {} after cleanup", settings_.model, exit.describe());
    }
  }
  for (auto& [call, state] : calls) {
    state.response->finish(state.response, MH_INTERNAL, message.data(), message.size());
  }
  if (init) init->done(init->done_ctx, MH_INTERNAL, message.c_str(), nullptr);
  if (cleanup) cleanup->done(cleanup->done_ctx);
  // Published only now, so that a callback set from here on finds everything answered.
  std::lock_guard callbacks(callback_mutex_);
  {
    std::lock_guard lock(mutex_);
    crash_ = crash;
  }
  if (crash && !released_ && !crash_reported_ && crash_callback_) {
    crash_reported_ = true;
    ProcessBackend::CrashCallback callback = crash_callback_;
    callback(*crash);
  }
}

}  // namespace mh::isolation
