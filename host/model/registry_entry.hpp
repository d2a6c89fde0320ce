#pragma once
// The registry's state per model name (private to the model component): its generations, the
// latest attempt and error, the sync tracker, and the totals. Every field is guarded by
// ModelRegistry::mutex_, except where a comment says otherwise.
#include "model/model_registry.hpp"
#include "model/reload_plan.hpp"
#include "model/sync_tracker.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <stop_token>

namespace mh::isolation {
class ProcessBackend;
}

namespace mh::host {

struct ModelRegistry::Generation {
  std::uint64_t number = 0;
  ModelSource source;
  ModelState state = ModelState::loading;
  std::string error;
  std::shared_ptr<ModelInstance> instance;
  std::string plugin_name;
  std::string plugin_version;
  std::string plugin_path;              // the operator's file
  std::filesystem::path stored_plugin;  // its private copy (kept while the generation lives)
  Isolation isolation = Isolation::process;
  // The runner of an isolated generation (the instance owns it): for its pid, and to kill it.
  std::weak_ptr<isolation::ProcessBackend> process;
  bool replacing_stuck = false;  // a successor is on its way because requests got stuck
  std::optional<double> load_ms;
  bool files_ready = false;  // its files were synced already (a refresh found them changed)
  bool abandoned = false;    // superseded, removed or shut down before it served
  std::stop_source stop;     // stops its sync (thread-safe)
  std::chrono::steady_clock::time_point load_started = std::chrono::steady_clock::now();
};

struct ModelRegistry::Entry {
  std::string name;
  ModelSource latest_source;                          // from the latest scan that could be read
  std::shared_ptr<Generation> serving;                // ready; requests go here
  std::shared_ptr<Generation> pending;                // syncing or loading beside it
  std::shared_ptr<Generation> failed;                 // the latest failed attempt (for status)
  std::vector<std::shared_ptr<Generation>> retiring;  // draining, or abandoned while loading
  std::optional<std::string> error;                   // the latest failure
  std::string attempted_hash;                         // content hash of the latest attempt
  bool attempt_failed = false;
  std::uint64_t next_generation = 1;
  bool removed = false;   // its directory is gone: not routed, forgotten once unloaded
  bool unloaded = false;  // `hostctl unload`: kept, state unloaded, until a reload
  bool refreshing = false;
  std::stop_source refresh_stop;
  SyncTracker sync;
  std::uint64_t requests_retired = 0;  // requests of generations that unloaded
  std::uint64_t stuck_retired = 0;     // stuck requests of generations that unloaded

  // Crashes (registry_faults.cpp). `crashed`: the serving generation's runner died and a
  // restart is scheduled (at `restart_at`) or loading; requests get 503 until it is ready.
  bool crashed = false;
  std::chrono::steady_clock::time_point restart_at;
  std::shared_ptr<boost::asio::steady_timer> restart_timer;
  std::deque<std::chrono::steady_clock::time_point> crash_times;  // within restart.window
  std::uint64_t restarts = 0;
  std::optional<CrashReport> last_crash;
  std::map<std::string, std::uint64_t> crashes_by_signal;

  // What the reload plan needs of it.
  HeldModel held() const {
    return HeldModel{name,    attempted_hash, attempt_failed,
                     removed, unloaded,       serving && !pending && !refreshing};
  }
};

struct ModelRegistry::Waiter {
  std::function<bool()> settled;  // evaluated with mutex_ held
  std::function<void()> callback;
  std::atomic<bool> fired{false};
  std::unique_ptr<boost::asio::steady_timer> timer;
};

// One change of a reload, until the models settle.
struct ModelRegistry::PendingChange {
  std::string name;
  ReloadAction action = ReloadAction::unchanged;
  std::uint64_t generation = 0;  // the generation the change started (else the next number)
  std::vector<std::string> warnings;
};

// A request's destination, or why there is none.
struct ModelRegistry::Target {
  ModelOutcome outcome = ModelOutcome::unknown;
  std::string message;
  std::chrono::seconds retry_after{0};
  std::shared_ptr<ModelInstance> instance;  // when accepted
};

}  // namespace mh::host
