#pragma once
// The routing table (model name -> the generation that serves it) and the lifecycle of every
// generation: reload diffing, sync, load, atomic swap, drain, cleanup, unload.
//
// For each model name there is at most one serving generation (ready; requests go there), at
// most one pending one (syncing or loading beside it), and any number retiring (draining, or
// abandoned while loading). A reload compares each directory's content hash (manifest and
// plugin) with the latest attempt: new -> a first generation; changed -> a new generation
// beside the old, swapped in atomically once ready (the old drains, cleans up, unloads); a
// failed new generation leaves the old serving with the error in status; removed -> routing
// stops at once, then drain, cleanup, unload; unchanged -> nothing, except that a model with
// files re-syncs them and loads anew when they changed.
//
// Thread-safety: every public function may be called from any thread. Slow work (scanning,
// syncing, loading, init, cleanup) runs on the lifecycle executor, never on the caller's.
#include "model/model_instance.hpp"
#include "model/model_loader.hpp"
#include "model/model_state.hpp"
#include "model/models_directory.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mh::sync {
class SyncProgress;
}

namespace mh::host {

struct SyncView {
  std::string state = "idle";  // idle | running | done | failed
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::size_t files_done = 0;
  std::size_t files_total = 0;
  std::string current_file;
  std::optional<std::string> error;
};

struct ModelStatus {
  std::string name;
  ModelState state = ModelState::failed;
  std::uint64_t generation = 0;
  std::string plugin;  // the plugin's own name ("" before it loaded)
  std::string plugin_version;
  std::string plugin_path;  // the private copy that was loaded
  std::string manifest_dir;
  std::string files_dir;
  std::optional<std::string> error;  // the latest failure, also while an older generation serves
  struct Pending {
    std::uint64_t generation = 0;
    ModelState state = ModelState::loading;
    std::optional<std::string> error;
  };
  std::optional<Pending> pending;  // a new generation on its way while another serves
  std::size_t in_flight = 0;
  std::uint64_t requests_total = 0;
  std::optional<double> load_ms;
  SyncView sync;
  // Totals for /metrics.
  std::uint64_t sync_bytes_total = 0;
  double sync_seconds_total = 0;
  std::uint64_t syncs_total = 0;
  std::uint64_t sync_failures_total = 0;
};

struct ReloadChange {
  std::string name;
  std::string action;  // added | changed | removed | unchanged | failed | unloaded
  ModelState state = ModelState::failed;
  std::optional<std::string> error;
};

struct RouteResult {
  enum class Kind { ok, unknown, loading, unavailable };
  Kind kind = Kind::unknown;
  std::shared_ptr<ModelInstance> instance;  // when ok
  std::string message;                      // otherwise
  std::uint64_t timeout_ms = 0;             // the model's request deadline (0: none)
};

struct RegistrySettings {
  ScanSettings scan;
  std::chrono::milliseconds load_timeout{600000};
  std::chrono::milliseconds drain_timeout{30000};
};

class ModelRegistry : public std::enable_shared_from_this<ModelRegistry> {
 public:
  using ReloadDone = std::function<void(std::vector<ReloadChange>)>;

  static std::shared_ptr<ModelRegistry> create(RegistrySettings settings, LoaderServices services);
  ~ModelRegistry();

  // Where a request for `name` goes now.
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
  using After = std::vector<std::function<void()>>;

  ModelRegistry(RegistrySettings settings, LoaderServices services);

  void run_reload(const std::optional<std::string>& name, bool wait,
                  std::chrono::milliseconds timeout, const ReloadDone& done);
  std::vector<ReloadChange> finish_changes(const std::vector<PendingChange>& changes) const;
  void start_generation_locked(Entry& entry, const ModelSource& source, bool files_ready,
                               After& after);
  void abandon_pending_locked(Entry& entry);
  void retire_serving_locked(Entry& entry, After& after);
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
  void forget_if_gone_locked(const std::string& name);

  static ModelState state_of(const Entry& entry);
  bool settled_locked(const std::string& name) const;
  void when_settled(std::function<bool()> settled, std::optional<std::chrono::milliseconds> timeout,
                    std::function<void()> callback);
  void notify_changed();

  const RegistrySettings settings_;
  const LoaderServices services_;
  std::mutex reload_mutex_;   // one reload at a time (held on a lifecycle thread)
  mutable std::mutex mutex_;  // everything below
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::shared_ptr<Waiter>> waiters_;
  bool shutting_down_ = false;
};

}  // namespace mh::host
