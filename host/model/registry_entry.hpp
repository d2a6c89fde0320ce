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
#include <stop_token>

namespace mh::host {

struct ModelRegistry::Generation {
  std::uint64_t number = 0;
  ModelSource source;
  ModelState state = ModelState::loading;
  std::string error;
  std::shared_ptr<ModelInstance> instance;
  std::string plugin_name;
  std::string plugin_version;
  std::string plugin_path;
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
