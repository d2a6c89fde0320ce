// ModelRegistry: what happens when a plugin misbehaves — an isolated generation's runner that
// dies (crashed, restarted with backoff, or failed after too many crashes), requests that stay
// unfinished past their deadline (stuck: an isolated generation is replaced as in a reload),
// an init past the load timeout (its runner is killed) — and the private plugin copies that no
// generation uses any more.
#include "model/model_registry.hpp"

#include "isolation/process_backend.hpp"
#include "registry_entry.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cassert>
#include <csignal>
#include <set>

namespace mh::host {

namespace asio = boost::asio;

namespace {

constexpr auto kMaxRestartBackoff = std::chrono::seconds(60);

// The metric label of a crash: the signal's name, or "exit".
std::string crash_label(const isolation::RunnerExit& exit) {
  switch (exit.how) {
    case isolation::RunnerExit::How::signaled:
      return isolation::signal_name(exit.code);
    case isolation::RunnerExit::How::exited:
      return "exit";
    case isolation::RunnerExit::How::lost:
      break;
  }
  return "unknown";
}

CrashReport crash_report(const isolation::RunnerCrash& crash) {
  CrashReport report;
  report.reason = crash.reason;
  if (crash.exit.how == isolation::RunnerExit::How::signaled) {
    report.signal = crash.exit.code;
    report.signal_name = isolation::signal_name(crash.exit.code);
  }
  if (crash.exit.how == isolation::RunnerExit::How::exited) report.exit_code = crash.exit.code;
  report.at = std::chrono::system_clock::now();
  return report;
}

}  // namespace

StoredPlugin ModelRegistry::store_plugin(const std::shared_ptr<Generation>& generation) {
  std::lock_guard files(plugin_files_mutex_);
  StoredPlugin stored = services_.store.store(generation->source.plugin_path);
  spdlog::debug("model {}: plugin {} copied to {}", generation->source.name,
                generation->source.plugin_path.string(), stored.path.string());
  std::lock_guard lock(mutex_);
  generation->stored_plugin = stored.path;
  return stored;
}

void ModelRegistry::sweep_plugin_copies() {
  std::lock_guard files(plugin_files_mutex_);
  std::set<std::filesystem::path> live;
  {
    std::lock_guard lock(mutex_);
    auto keep = [&live](const std::shared_ptr<Generation>& generation) {
      if (generation && !generation->stored_plugin.empty()) live.insert(generation->stored_plugin);
    };
    for (const auto& [name, entry] : entries_) {
      keep(entry.serving);
      keep(entry.pending);
      for (const auto& generation : entry.retiring) keep(generation);
    }
  }
  try {
    const std::size_t removed = services_.store.remove_unused(live);
    if (removed > 0) spdlog::debug("removed {} unused plugin copies", removed);
  } catch (const std::exception& error) {
    spdlog::warn("cannot remove unused plugin copies: {}", error.what());
  }
}

void ModelRegistry::watch_faults(const std::string& name,
                                 const std::shared_ptr<Generation>& generation,
                                 const LoadedGeneration& loaded) {
  // Weak both ways: the callbacks live in the instance and its backend, which the generation
  // (and through it the registry) holds.
  std::weak_ptr<ModelRegistry> weak_self = weak_from_this();
  std::weak_ptr<Generation> weak_generation = generation;
  asio::any_io_executor lifecycle = services_.lifecycle;
  loaded.instance->set_stuck_callback([weak_self, weak_generation, lifecycle, name] {
    asio::post(lifecycle, [weak_self, weak_generation, name] {
      auto self = weak_self.lock();
      auto generation = weak_generation.lock();
      if (self && generation) self->on_requests_stuck(name, generation);
    });
  });
  if (!loaded.process) return;
  // On the runner's I/O thread: hand over to a lifecycle thread at once.
  loaded.process->set_crash_callback(
      [weak_self, weak_generation, lifecycle, name](const isolation::RunnerCrash& crash) {
        asio::post(lifecycle, [weak_self, weak_generation, name, crash] {
          auto self = weak_self.lock();
          auto generation = weak_generation.lock();
          if (self && generation) self->on_runner_crash(name, generation, crash);
        });
      });
}

void ModelRegistry::on_runner_crash(const std::string& name,
                                    const std::shared_ptr<Generation>& generation,
                                    const isolation::RunnerCrash& crash) {
  After after;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    // Killed by hostd (stuck requests, load timeout): not a crash of the plugin.
    if (crash.stopped_by_host) return;
    const CrashReport report = crash_report(crash);
    ++entry.crashes_by_signal[crash_label(crash.exit)];
    entry.last_crash = report;
    if (entry.serving != generation || shutting_down_) return;  // not serving: nothing to restart
    retire_serving_locked(entry, after);  // its requests were answered; it cleans up at once
    generation->state = ModelState::crashed;
    const auto now = std::chrono::steady_clock::now();
    const RestartPolicy& policy = generation->source.manifest->restart;
    const auto window = std::chrono::seconds(policy.window_seconds);
    while (!entry.crash_times.empty() && now - entry.crash_times.front() > window) {
      entry.crash_times.pop_front();
    }
    entry.crash_times.push_back(now);
    const std::size_t crashes = entry.crash_times.size();
    if (crashes > policy.max_restarts) {
      entry.crashed = false;
      entry.attempt_failed = true;  // the next reload tries it again
      entry.failed = generation;
      entry.error = crash.reason + "; not restarted: " + std::to_string(crashes) +
                    " crashes within " + std::to_string(policy.window_seconds) +
                    " s (restart.max_restarts is " + std::to_string(policy.max_restarts) + ")";
      spdlog::error("model {}: {}", name, *entry.error);
    } else {
      const auto backoff = std::min<std::chrono::seconds>(
          std::chrono::seconds(std::int64_t{1} << std::min<std::size_t>(crashes - 1, 6)),
          kMaxRestartBackoff);
      entry.crashed = true;
      entry.error = crash.reason;
      entry.restart_at = now + backoff;
      entry.restart_timer = std::make_shared<asio::steady_timer>(services_.lifecycle, backoff);
      entry.restart_timer->async_wait(
          [weak = weak_from_this(), name, generation](const boost::system::error_code& error) {
            if (error) return;
            if (auto self = weak.lock()) self->restart_after_crash(name, generation);
          });
      spdlog::warn(
          "model {}: generation {} crashed; restarting in {} s (crash {} of at most {} "
          "within {} s)",
          name, generation->number, backoff.count(), crashes, policy.max_restarts,
          policy.window_seconds);
    }
  }
  for (auto& action : after) action();
  notify_changed();
}

void ModelRegistry::restart_after_crash(const std::string& name,
                                        const std::shared_ptr<Generation>& crashed) {
  After after;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    // A reload, an unload or a removal since the crash decides instead.
    if (!entry.crashed || entry.serving || entry.pending || entry.removed || entry.unloaded ||
        shutting_down_) {
      return;
    }
    ++entry.restarts;
    spdlog::info("model {}: restarting after the crash of generation {} (restart {})", name,
                 crashed->number, entry.restarts);
    start_generation_locked(entry, crashed->source, true, after);
  }
  for (auto& action : after) action();
  notify_changed();
}

void ModelRegistry::on_requests_stuck(const std::string& name,
                                      const std::shared_ptr<Generation>& generation) {
  After after;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    // In-process: reported only (the slot came back; the plugin's thread cannot be taken back).
    if (generation->isolation != Isolation::process || entry.serving != generation ||
        generation->replacing_stuck || entry.pending || shutting_down_) {
      return;
    }
    generation->replacing_stuck = true;
    spdlog::warn(
        "model {}: generation {} has stuck requests; a new runner takes over (the old "
        "one is killed once its other requests finished)",
        name, generation->number);
    start_generation_locked(entry, generation->source, true, after);
  }
  for (auto& action : after) action();
  notify_changed();
}

void ModelRegistry::stop_stuck_runner(const std::shared_ptr<Generation>& generation) {
  std::shared_ptr<isolation::ProcessBackend> process;
  std::uint64_t stuck = 0;
  {
    std::lock_guard lock(mutex_);
    process = generation->process.lock();
    stuck = generation->instance ? generation->instance->stuck_now() : 0;
  }
  if (process && stuck > 0) {
    process->kill(std::to_string(stuck) + " request(s) stuck past their deadline");
  }
}

void ModelRegistry::stop_initializing_runner(const std::shared_ptr<Generation>& generation,
                                             const std::string& reason) {
  std::shared_ptr<isolation::ProcessBackend> process;
  {
    std::lock_guard lock(mutex_);
    process = generation->process.lock();
  }
  // Its pending init is answered by the kill, and the runner's memory returns.
  if (process) process->kill(reason);
}

}  // namespace mh::host
