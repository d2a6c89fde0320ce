#pragma once
// The model layer's one entry for the rest of hostd: which generation serves each model name,
// the requests sent to it, and the lifecycle of every generation: reload, sync, load, atomic
// swap, drain, cleanup, unload.
//
// For each model name there is at most one serving generation (ready; requests go there), at
// most one pending one (syncing or loading beside it), and any number retiring (draining, or
// abandoned while loading). A reload compares each directory's content hash (manifest and
// plugin) with the latest attempt (see reload_plan.hpp): new -> a first generation; changed ->
// a new generation beside the old, swapped in atomically once ready (the old drains, cleans
// up, unloads); a failed new generation leaves the old serving with the error in status;
// removed -> routing stops at once, then drain, cleanup, unload; unchanged -> nothing, except
// that a model with files re-syncs them and loads anew when they changed.
//
// Requests (submit): admission, the deadline, cancellation, and the re-route of a request
// whose generation began to drain between routing and admission (it goes to the successor,
// body and all) happen here; the caller only frames the answer. A request admitted to a
// generation that then drains still completes.
//
// Faults (isolated models): a serving generation whose runner dies is `crashed` and restarted
// with backoff (model.json "restart"), or left `failed`; a generation with stuck requests is
// replaced as in a reload (isolated) or only reported (in-process); init past the load
// timeout kills the runner.
//
// Files: model_registry.cpp (requests, admin), registry_reload.cpp (applying a reload plan),
// registry_lifecycle.cpp (a generation's way up and down, syncs), registry_faults.cpp
// (crashes, restarts, stuck requests, unused plugin copies), registry_status.cpp,
// registry_waiters.cpp (waiting until models settle); registry_entry.hpp holds the state.
//
// Thread-safety: every public function may be called from any thread. Slow work (scanning,
// syncing, loading, init, cleanup) runs on the lifecycle executor, never on the caller's.
#include "model/checked_mutex.hpp"
#include "model/model_instance.hpp"
#include "model/model_loader.hpp"
#include "model/model_outcome.hpp"
#include "model/model_state.hpp"
#include "model/model_status.hpp"
#include "model/models_directory.hpp"
#include "model/predict_call.hpp"
#include "model/reload_change.hpp"
#include "model/reply_sink.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace mh::isolation {
struct RunnerCrash;
}

namespace mh::host {

// Whether a model could take a request now (the readiness probe's question).
struct RouteResult {
  enum class Kind { ok, unknown, loading, unavailable };
  Kind kind = Kind::unknown;
  std::string message;  // when not ok
};

struct RegistrySettings {
  ScanSettings scan;
  std::chrono::milliseconds load_timeout{600000};
  std::chrono::milliseconds drain_timeout{30000};
  IsolationDefaults isolation;  // hostd's --default-isolation and friends
};

class ModelRegistry : public std::enable_shared_from_this<ModelRegistry> {
 public:
  using ReloadDone = std::function<void(std::vector<ReloadChange>)>;

  static std::shared_ptr<ModelRegistry> create(RegistrySettings settings, LoaderServices services);
  ~ModelRegistry();

  // Runs `request` on the generation serving `name`. `accepted`: the sink hears the answer
  // exactly once (from any thread): the plugin's, MH_DEADLINE_EXCEEDED once the model's
  // timeout_ms passed (at once, while the plugin is told to stop), MH_CANCELLED after
  // handle.cancel(), or MH_UNAVAILABLE when the generation was unloaded under it. Any other
  // outcome: the sink is never called and the result says why. An empty request id gets one.
  SubmitResult submit(std::string_view name, InferenceRequest request,
                      std::shared_ptr<ReplySink> sink);

  // The serving generation's plugin stats (mh.plugin.stats/1). Never calls the plugin once its
  // cleanup began. [thread: any but a plugin callback]
  PluginStatsResult plugin_stats(std::string_view name);

  // Whether `name` would take a request now (readiness; submit() decides for real).
  RouteResult route(std::string_view name) const;

  // Rescans the models directory (all models, or only `name`) and applies the differences.
  // `done` gets the changes, at once or — with `wait` — once every affected model settled
  // (ready, failed or unloaded) or `timeout` passed. [done: on a lifecycle thread]
  void reload(std::optional<std::string> name, bool wait, std::chrono::milliseconds timeout,
              ReloadDone done);
  // Stops serving `name` (it drains, cleans up, unloads; a reload loads it again).
  // nullopt when no such model is loaded.
  std::optional<ReloadChange> unload(const std::string& name);
  // Re-syncs `name`'s files (a new generation when they changed); a model that does not serve
  // is reloaded. False when the model is unknown.
  bool sync(const std::string& name);

  std::vector<ModelStatus> status() const;
  // The readiness probe: not shutting down, and no model is still on its first load.
  bool ready() const;

  // Stops routing everything, drains (bounded by the drain timeout), cleans every model up;
  // `done` runs once every generation is unloaded. [done: any thread]
  void shutdown(std::function<void()> done);

 private:
  struct Generation;
  struct Entry;
  struct Waiter;
  struct PendingChange;
  struct Target;
  using After = std::vector<std::function<void()>>;

  ModelRegistry(RegistrySettings settings, LoaderServices services);

  // Where a request for `name` goes now. [requires mutex_]
  Target find_target(std::string_view name) const;

  // registry_reload.cpp
  void run_reload(const std::optional<std::string>& name, bool wait,
                  std::chrono::milliseconds timeout, const ReloadDone& done);
  std::vector<ReloadChange> finish_changes(const std::vector<PendingChange>& changes) const;
  // The functions named *_locked require mutex_ (they assert it); `after` collects what to run
  // once it is released.
  void start_generation_locked(Entry& entry, const ModelSource& source, bool files_ready,
                               After& after);
  void abandon_pending_locked(Entry& entry);
  void retire_serving_locked(Entry& entry, After& after);
  void forget_if_gone_locked(const std::string& name);

  // registry_lifecycle.cpp
  void start_refresh_locked(Entry& entry, After& after);
  void load_generation(const std::string& name, const std::shared_ptr<Generation>& generation);
  void on_init_done(const std::string& name, const std::shared_ptr<Generation>& generation,
                    mh_status status, std::string message);
  void fail_generation(const std::string& name, const std::shared_ptr<Generation>& generation,
                       std::string message);
  void retire(const std::string& name, const std::shared_ptr<Generation>& generation);
  void on_unloaded(const std::string& name, const std::shared_ptr<Generation>& generation);
  void refresh_files(const std::string& name, const ModelSource& source);
  bool run_sync(const std::string& name, const ModelSource& source, std::stop_token stop,
                bool* changed);

  // registry_faults.cpp
  // Copies the plugin into the private store and records the copy as the generation's.
  StoredPlugin store_plugin(const std::shared_ptr<Generation>& generation);
  // Hooks a freshly loaded generation's crash and stuck reports to the registry.
  void watch_faults(const std::string& name, const std::shared_ptr<Generation>& generation,
                    const LoadedGeneration& loaded);
  void on_runner_crash(const std::string& name, const std::shared_ptr<Generation>& generation,
                       const isolation::RunnerCrash& crash);
  void restart_after_crash(const std::string& name, const std::shared_ptr<Generation>& crashed);
  void on_requests_stuck(const std::string& name, const std::shared_ptr<Generation>& generation);
  // Before a retiring generation's cleanup: kills an isolated one's runner when requests of
  // it are stuck (its cleanup is then answered at once).
  void stop_stuck_runner(const std::shared_ptr<Generation>& generation);
  // Kills the runner of a generation whose init passed the load timeout.
  void stop_initializing_runner(const std::shared_ptr<Generation>& generation,
                                const std::string& reason);
  // Removes the private plugin copies no live generation uses.
  void sweep_plugin_copies();

  // registry_status.cpp
  static ModelState state_of(const Entry& entry);
  static ModelStatus status_of(const Entry& entry);

  // registry_waiters.cpp
  bool settled_locked(const std::string& name) const;
  void when_settled(std::function<bool()> settled, std::optional<std::chrono::milliseconds> timeout,
                    std::function<void()> callback);
  void notify_changed();

  const RegistrySettings settings_;
  const LoaderServices services_;
  std::mutex reload_mutex_;        // one reload at a time (held on a lifecycle thread)
  std::mutex plugin_files_mutex_;  // a copy made and recorded, or a sweep (never both at once)
  mutable CheckedMutex mutex_;     // everything below
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::shared_ptr<Waiter>> waiters_;
  bool shutting_down_ = false;
};

}  // namespace mh::host
