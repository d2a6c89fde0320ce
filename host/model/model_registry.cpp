#include "model/model_registry.hpp"

#include "sync/synchronizer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <set>
#include <stop_token>

namespace mh::host {

namespace asio = boost::asio;

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
  std::stop_source stop;     // stops its sync
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
  // The latest sync.
  std::shared_ptr<sync::SyncProgress> sync_progress;
  std::string sync_state = "idle";
  std::optional<std::string> sync_error;
  // Totals.
  std::uint64_t requests_retired = 0;
  std::uint64_t sync_bytes = 0;
  double sync_seconds = 0;
  std::uint64_t syncs = 0;
  std::uint64_t sync_failures = 0;
};

struct ModelRegistry::Waiter {
  std::function<bool()> settled;  // evaluated with mutex_ held
  std::function<void()> callback;
  std::atomic<bool> fired{false};
  std::unique_ptr<asio::steady_timer> timer;
};

struct ModelRegistry::PendingChange {
  std::string name;
  std::string action;
  std::uint64_t generation = 0;  // the generation the change started (0: none)
};

std::shared_ptr<ModelRegistry> ModelRegistry::create(RegistrySettings settings,
                                                     LoaderServices services) {
  return std::shared_ptr<ModelRegistry>(new ModelRegistry(std::move(settings), services));
}

ModelRegistry::ModelRegistry(RegistrySettings settings, LoaderServices services)
    : settings_(std::move(settings)), services_(services) {}

ModelRegistry::~ModelRegistry() = default;

// ---- routing ---------------------------------------------------------------------------------

RouteResult ModelRegistry::route(std::string_view name) const {
  RouteResult result;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.removed) {
    result.message = "model \"" + std::string(name) + "\" not found";
    return result;
  }
  const Entry& entry = it->second;
  if (shutting_down_) {
    result.kind = RouteResult::Kind::unavailable;
    result.message = "hostd is shutting down";
  } else if (entry.serving) {
    result.kind = RouteResult::Kind::ok;
    result.instance = entry.serving->instance;
    result.timeout_ms = entry.serving->source.manifest->timeout_ms;
  } else if (entry.unloaded) {
    result.message = "model \"" + entry.name + "\" is unloaded (`hostctl reload` loads it again)";
  } else if (entry.pending) {
    result.kind = RouteResult::Kind::loading;
    result.message = "model \"" + entry.name + "\" is " +
                     std::string(to_string(entry.pending->state)) + "; retry shortly";
  } else {
    result.kind = RouteResult::Kind::unavailable;
    result.message = "model \"" + entry.name + "\" is not available: " +
                     entry.error.value_or(std::string(to_string(state_of(entry))));
  }
  return result;
}

ModelState ModelRegistry::state_of(const Entry& entry) {
  if (entry.serving) return ModelState::ready;
  if (entry.pending) return entry.pending->state;
  if (!entry.retiring.empty()) return ModelState::draining;
  if (entry.unloaded || entry.removed) return ModelState::unloaded;
  return ModelState::failed;
}

// ---- reload ----------------------------------------------------------------------------------

void ModelRegistry::reload(std::optional<std::string> name, bool wait,
                           std::chrono::milliseconds timeout, ReloadDone done) {
  asio::post(services_.lifecycle,
             [self = shared_from_this(), name = std::move(name), wait, timeout,
              done = std::move(done)] { self->run_reload(name, wait, timeout, done); });
}

void ModelRegistry::run_reload(const std::optional<std::string>& name, bool wait,
                               std::chrono::milliseconds timeout, const ReloadDone& done) {
  std::unique_lock reload_lock(reload_mutex_);
  std::vector<ModelSource> scanned;
  try {
    scanned = scan_models_directory(settings_.scan);
  } catch (const std::exception& error) {
    spdlog::error("reload: {}", error.what());
    done({ReloadChange{name.value_or(""), "failed", ModelState::failed, error.what()}});
    return;
  }
  std::vector<PendingChange> changes;
  After after;
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) {
      done({});
      return;
    }
    std::set<std::string> seen;
    for (const ModelSource& model : scanned) {
      if (name && model.name != *name) continue;
      seen.insert(model.name);
      for (const auto& warning : model.warnings) spdlog::warn("{}", warning);
      auto [it, fresh] = entries_.try_emplace(model.name);
      Entry& entry = it->second;
      entry.name = model.name;
      const bool known = !fresh && !entry.removed && !entry.unloaded;
      if (!model.error.empty()) {
        spdlog::error("model {}: {}", model.name, model.error);
        abandon_pending_locked(entry);
        entry.removed = false;
        entry.error = model.error;
        entry.attempted_hash = model.content_hash;
        entry.attempt_failed = true;
        entry.failed.reset();
        changes.push_back({model.name, "failed", entry.next_generation});
        continue;
      }
      if (known && model.content_hash == entry.attempted_hash && !entry.attempt_failed) {
        if (model.files_source && entry.serving && !entry.pending && !entry.refreshing) {
          start_refresh_locked(entry, after);
        }
        changes.push_back({model.name, "unchanged", entry.next_generation});
        continue;
      }
      const std::uint64_t number = entry.next_generation;
      start_generation_locked(entry, model, false, after);
      changes.push_back({model.name, known ? "changed" : "added", number});
    }
    for (auto& [entry_name, entry] : entries_) {
      if (seen.count(entry_name) || entry.removed || (name && entry_name != *name)) continue;
      spdlog::info("model {}: its directory is gone; unloading it", entry_name);
      const bool was_unloaded = entry.unloaded;
      entry.removed = true;
      abandon_pending_locked(entry);
      entry.refresh_stop.request_stop();
      retire_serving_locked(entry, after);
      if (!was_unloaded) changes.push_back({entry_name, "removed", entry.next_generation});
    }
    std::vector<std::string> names;
    for (const auto& [entry_name, entry] : entries_) names.push_back(entry_name);
    for (const auto& entry_name : names) forget_if_gone_locked(entry_name);
  }
  for (auto& action : after) action();
  reload_lock.unlock();
  notify_changed();

  auto finish = [self = shared_from_this(), changes, done] { done(self->finish_changes(changes)); };
  if (!wait) {
    finish();
    return;
  }
  std::vector<std::string> affected;
  for (const auto& change : changes) affected.push_back(change.name);
  when_settled(
      [self = this, affected] {
        return std::all_of(affected.begin(), affected.end(),
                           [&](const std::string& n) { return self->settled_locked(n); });
      },
      timeout, finish);
}

std::vector<ReloadChange> ModelRegistry::finish_changes(
    const std::vector<PendingChange>& changes) const {
  std::vector<ReloadChange> result;
  std::lock_guard lock(mutex_);
  for (const auto& change : changes) {
    ReloadChange out{change.name, change.action, ModelState::unloaded, std::nullopt};
    auto it = entries_.find(change.name);
    if (it != entries_.end()) {
      const Entry& entry = it->second;
      out.state = state_of(entry);
      out.error = entry.error;
      // A re-sync that found changed files started a generation of its own.
      if (change.action == "unchanged" && entry.next_generation > change.generation) {
        out.action = "changed";
      }
      if (out.action != "removed" && entry.failed && entry.failed->number >= change.generation) {
        out.action = "failed";
      }
    }
    result.push_back(std::move(out));
  }
  return result;
}

void ModelRegistry::start_generation_locked(Entry& entry, const ModelSource& source,
                                            bool files_ready, After& after) {
  abandon_pending_locked(entry);
  auto generation = std::make_shared<Generation>();
  generation->number = entry.next_generation++;
  generation->source = source;
  generation->files_ready = files_ready;
  generation->state =
      source.files_source && !files_ready ? ModelState::syncing : ModelState::loading;
  entry.pending = generation;
  entry.latest_source = source;
  entry.attempted_hash = source.content_hash;
  entry.attempt_failed = false;
  entry.removed = false;
  entry.unloaded = false;
  spdlog::info("model {}: generation {} {}", entry.name, generation->number,
               to_string(generation->state));
  after.push_back([self = shared_from_this(), name = entry.name, generation] {
    asio::post(self->services_.lifecycle,
               [self, name, generation] { self->load_generation(name, generation); });
  });
}

void ModelRegistry::abandon_pending_locked(Entry& entry) {
  if (!entry.pending) return;
  auto generation = std::move(entry.pending);
  generation->abandoned = true;
  generation->stop.request_stop();
  entry.retiring.push_back(std::move(generation));
  // Its loader notices and cleans up whatever it made.
}

void ModelRegistry::retire_serving_locked(Entry& entry, After& after) {
  if (!entry.serving) return;
  auto generation = std::move(entry.serving);
  generation->state = ModelState::draining;
  entry.retiring.push_back(generation);
  after.push_back([self = shared_from_this(), name = entry.name, generation] {
    self->retire(name, generation);
  });
}

void ModelRegistry::forget_if_gone_locked(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  const Entry& entry = it->second;
  if (entry.removed && !entry.serving && !entry.pending && entry.retiring.empty() &&
      !entry.refreshing) {
    entries_.erase(it);
  }
}

// ---- a generation's way up -------------------------------------------------------------------

void ModelRegistry::load_generation(const std::string& name,
                                    const std::shared_ptr<Generation>& generation) {
  try {
    if (generation->source.files_source && !generation->files_ready) {
      bool changed = false;
      if (!run_sync(name, generation->source, generation->stop.get_token(), &changed)) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(name);
        throw std::runtime_error("sync failed: " + (it != entries_.end() && it->second.sync_error
                                                        ? *it->second.sync_error
                                                        : std::string("cancelled")));
      }
    }
    bool abandoned = false;
    {
      std::lock_guard lock(mutex_);
      abandoned = generation->abandoned;
      if (!abandoned) {
        generation->state = ModelState::loading;
        generation->load_started = std::chrono::steady_clock::now();
      }
    }
    notify_changed();
    if (abandoned) throw std::runtime_error("superseded before it loaded");
    auto instance = load_model_instance(generation->source, generation->number, services_);
    {
      std::lock_guard lock(mutex_);
      generation->instance = instance;
      generation->plugin_name = instance->library().name();
      generation->plugin_version = instance->library().version();
      generation->plugin_path = instance->library().path().string();
    }
    spdlog::info("model {}: generation {} loaded plugin {} {} (ABI {}); init", name,
                 generation->number, generation->plugin_name, generation->plugin_version,
                 format_abi_version(instance->library().abi_version()));
    const auto timeout =
        generation->source.manifest->load_timeout_ms
            ? std::chrono::milliseconds(*generation->source.manifest->load_timeout_ms)
            : settings_.load_timeout;
    instance->init(timeout, [self = shared_from_this(), name, generation](mh_status status,
                                                                          std::string message) {
      self->on_init_done(name, generation, status, std::move(message));
    });
  } catch (const std::exception& error) {
    fail_generation(name, generation, error.what());
  }
}

void ModelRegistry::on_init_done(const std::string& name,
                                 const std::shared_ptr<Generation>& generation, mh_status status,
                                 std::string message) {
  if (status != MH_OK) {
    fail_generation(name, generation,
                    status == MH_DEADLINE_EXCEEDED ? message : "init failed: " + message);
    return;
  }
  After after;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    generation->load_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - generation->load_started)
                              .count();
    if (it == entries_.end() || generation->abandoned || shutting_down_ ||
        it->second.pending != generation) {
      // Nobody wants it any more: clean it up right away.
      generation->state = ModelState::draining;
      if (it != entries_.end() && std::find(it->second.retiring.begin(), it->second.retiring.end(),
                                            generation) == it->second.retiring.end()) {
        it->second.retiring.push_back(generation);
      }
      after.push_back(
          [self = shared_from_this(), name, generation] { self->retire(name, generation); });
    } else {
      Entry& entry = it->second;
      generation->state = ModelState::ready;
      retire_serving_locked(entry, after);
      entry.serving = generation;  // the atomic swap: the next route() goes here
      entry.pending.reset();
      entry.error.reset();
      entry.failed.reset();
      spdlog::info("model {}: generation {} ready ({} {}, init {:.1f} ms)", name,
                   generation->number, generation->plugin_name, generation->plugin_version,
                   *generation->load_ms);
    }
  }
  for (auto& action : after) action();
  notify_changed();
}

void ModelRegistry::fail_generation(const std::string& name,
                                    const std::shared_ptr<Generation>& generation,
                                    std::string message) {
  {
    std::lock_guard lock(mutex_);
    generation->state = ModelState::failed;
    generation->error = message;
    generation->instance.reset();  // its library unloads a second later
    auto it = entries_.find(name);
    if (it != entries_.end()) {
      Entry& entry = it->second;
      auto& retiring = entry.retiring;
      retiring.erase(std::remove(retiring.begin(), retiring.end(), generation), retiring.end());
      if (entry.pending == generation) {
        entry.pending.reset();
        entry.error = message;
        entry.attempt_failed = true;
        entry.failed = generation;
        spdlog::error("model {}: generation {} failed: {}{}", name, generation->number, message,
                      entry.serving ? " (the previous generation keeps serving)" : "");
      } else {
        spdlog::info("model {}: abandoned generation {} stopped: {}", name, generation->number,
                     message);
      }
      forget_if_gone_locked(name);
    }
  }
  notify_changed();
}

// ---- a generation's way down -----------------------------------------------------------------

void ModelRegistry::retire(const std::string& name, const std::shared_ptr<Generation>& generation) {
  std::shared_ptr<ModelInstance> instance;
  {
    std::lock_guard lock(mutex_);
    instance = generation->instance;
  }
  if (!instance) {
    on_unloaded(name, generation);
    return;
  }
  spdlog::info("model {}: generation {} draining ({} in flight)", name, generation->number,
               instance->in_flight());
  auto begun = std::make_shared<std::atomic<bool>>(false);
  auto begin_cleanup = [self = shared_from_this(), name, generation, instance, begun](bool forced) {
    if (begun->exchange(true)) return;
    if (forced) {
      spdlog::warn(
          "model {}: generation {} still has {} request(s) after the drain timeout; "
          "telling the plugin to stop",
          name, generation->number, instance->in_flight());
    }
    instance->set_unloading();
    asio::post(self->services_.lifecycle, [self, name, generation, instance] {
      instance->cleanup([self, name, generation] { self->on_unloaded(name, generation); });
    });
  };
  auto timer = std::make_shared<asio::steady_timer>(services_.lifecycle, settings_.drain_timeout);
  timer->async_wait([begin_cleanup](const boost::system::error_code& error) {
    if (!error) begin_cleanup(true);
  });
  instance->drain([begin_cleanup, timer] {
    begin_cleanup(false);
    timer->cancel();  // only this callback touches the timer after async_wait
  });
}

void ModelRegistry::on_unloaded(const std::string& name,
                                const std::shared_ptr<Generation>& generation) {
  {
    std::lock_guard lock(mutex_);
    generation->state = ModelState::unloaded;
    auto it = entries_.find(name);
    if (it != entries_.end()) {
      Entry& entry = it->second;
      auto& retiring = entry.retiring;
      retiring.erase(std::remove(retiring.begin(), retiring.end(), generation), retiring.end());
      if (generation->instance) entry.requests_retired += generation->instance->requests_total();
      forget_if_gone_locked(name);
    }
    generation->instance.reset();  // the library unloads a second after the last holder
    spdlog::info("model {}: generation {} unloaded", name, generation->number);
  }
  notify_changed();
}

// ---- files -----------------------------------------------------------------------------------

void ModelRegistry::start_refresh_locked(Entry& entry, After& after) {
  entry.refreshing = true;
  // Shown as running before the admin API answers 202, so a client polling status right away
  // never mistakes an earlier sync's outcome for this one's.
  entry.sync_state = "running";
  entry.sync_error.reset();
  entry.refresh_stop = std::stop_source();
  after.push_back([self = shared_from_this(), name = entry.name, source = entry.latest_source] {
    asio::post(self->services_.lifecycle,
               [self, name, source] { self->refresh_files(name, source); });
  });
}

void ModelRegistry::refresh_files(const std::string& name, const ModelSource& source) {
  std::stop_token stop;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    stop = it->second.refresh_stop.get_token();
  }
  bool changed = false;
  const bool ok = run_sync(name, source, stop, &changed);
  After after;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    entry.refreshing = false;
    if (!ok) {
      entry.error = "sync failed: " + entry.sync_error.value_or("cancelled");
    } else if (changed && !entry.removed && !entry.unloaded && !shutting_down_ &&
               entry.attempted_hash == source.content_hash) {
      spdlog::info("model {}: its files changed; loading a new generation", name);
      start_generation_locked(entry, source, true, after);
    }
    forget_if_gone_locked(name);
  }
  for (auto& action : after) action();
  notify_changed();
}

bool ModelRegistry::run_sync(const std::string& name, const ModelSource& source,
                             std::stop_token stop, bool* changed) {
  auto progress = std::make_shared<sync::SyncProgress>();
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it != entries_.end()) {
      it->second.sync_progress = progress;
      it->second.sync_state = "running";
      it->second.sync_error.reset();
    }
  }
  notify_changed();
  sync::SyncJob job;
  job.source = *source.files_source;
  job.target = source.files_target;
  spdlog::info("model {}: syncing {} into {}", name, job.source.to_string(), job.target.string());
  const sync::SyncResult result = sync::sync(job, *progress, stop);
  if (result.ok) {
    spdlog::info("model {}: synced {} file(s), {} bytes in {} ms ({} unchanged, {} deleted)", name,
                 result.files_transferred, result.bytes_transferred, result.duration.count(),
                 result.files_unchanged, result.files_deleted);
  } else {
    spdlog::error("model {}: sync failed: {}", name, result.error);
  }
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it != entries_.end()) {
      Entry& entry = it->second;
      entry.sync_state = result.ok ? "done" : "failed";
      if (!result.ok) entry.sync_error = result.cancelled ? "cancelled" : result.error;
      entry.sync_bytes += result.bytes_transferred;
      entry.sync_seconds += std::chrono::duration<double>(result.duration).count();
      ++entry.syncs;
      if (!result.ok) ++entry.sync_failures;
    }
  }
  *changed = result.changed;
  return result.ok;
}

// ---- admin -----------------------------------------------------------------------------------

std::optional<ReloadChange> ModelRegistry::unload(const std::string& name) {
  After after;
  ReloadChange change;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.removed) return std::nullopt;
    Entry& entry = it->second;
    if (!entry.unloaded) spdlog::info("model {}: unloading (admin request)", name);
    entry.unloaded = true;
    entry.refresh_stop.request_stop();
    abandon_pending_locked(entry);
    retire_serving_locked(entry, after);
    change = {name, "unloaded", state_of(entry), entry.error};
  }
  for (auto& action : after) action();
  notify_changed();
  return change;
}

bool ModelRegistry::sync(const std::string& name) {
  After after;
  bool reload_instead = false;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.removed) return false;
    Entry& entry = it->second;
    if (entry.pending) {
      // A generation is on its way; it syncs before it loads.
    } else if (entry.serving && !entry.latest_source.files_source) {
      entry.sync_state = "done";  // nothing to sync
      entry.sync_error.reset();
    } else if (entry.serving) {
      if (!entry.refreshing) start_refresh_locked(entry, after);
    } else {
      reload_instead = true;
      entry.attempt_failed = true;  // so that the reload tries it again
    }
  }
  for (auto& action : after) action();
  if (reload_instead) reload(name, false, std::chrono::milliseconds(0), [](auto&&) {});
  notify_changed();
  return true;
}

// ---- status ----------------------------------------------------------------------------------

std::vector<ModelStatus> ModelRegistry::status() const {
  std::vector<ModelStatus> result;
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : entries_) {
    ModelStatus status;
    status.name = name;
    status.state = state_of(entry);
    status.error = entry.error;
    const Generation* shown = entry.serving   ? entry.serving.get()
                              : entry.pending ? entry.pending.get()
                              : entry.failed  ? entry.failed.get()
                                              : nullptr;
    if (!shown && !entry.retiring.empty()) shown = entry.retiring.back().get();
    if (shown) {
      status.generation = shown->number;
      status.plugin = shown->plugin_name;
      status.plugin_version = shown->plugin_version;
      status.plugin_path = shown->plugin_path;
      status.load_ms = shown->load_ms;
    }
    const ModelSource& source = shown ? shown->source : entry.latest_source;
    status.manifest_dir = source.dir.string();
    status.files_dir = source.files_source ? source.files_target.string() : source.dir.string();
    if (entry.serving && entry.pending) {
      status.pending =
          ModelStatus::Pending{entry.pending->number, entry.pending->state, std::nullopt};
    }
    status.requests_total = entry.requests_retired;
    auto count = [&status](const std::shared_ptr<Generation>& generation) {
      if (!generation->instance) return;
      status.in_flight += generation->instance->in_flight();
      status.requests_total += generation->instance->requests_total();
    };
    if (entry.serving) count(entry.serving);
    for (const auto& generation : entry.retiring) count(generation);
    status.sync.state = entry.sync_state;
    status.sync.error = entry.sync_error;
    if (entry.sync_progress) {
      auto snapshot = entry.sync_progress->snapshot();
      status.sync.bytes_done = snapshot.bytes_done;
      status.sync.bytes_total = snapshot.bytes_total;
      status.sync.files_done = snapshot.files_done;
      status.sync.files_total = snapshot.files_total;
      if (!snapshot.current.empty()) status.sync.current_file = snapshot.current.front();
    }
    status.sync_bytes_total = entry.sync_bytes;
    status.sync_seconds_total = entry.sync_seconds;
    status.syncs_total = entry.syncs;
    status.sync_failures_total = entry.sync_failures;
    result.push_back(std::move(status));
  }
  return result;
}

bool ModelRegistry::ready() const {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return false;
  // Orchestrators hold traffic back while a model is still on its way up with nothing
  // serving it; failed models do not hold the whole host back.
  return std::none_of(entries_.begin(), entries_.end(),
                      [](const auto& item) { return !item.second.serving && item.second.pending; });
}

// ---- settling --------------------------------------------------------------------------------

bool ModelRegistry::settled_locked(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return true;
  const Entry& entry = it->second;
  if (entry.pending || entry.refreshing) return false;
  if ((entry.removed || entry.unloaded) && !entry.retiring.empty()) return false;
  return true;
}

void ModelRegistry::when_settled(std::function<bool()> settled,
                                 std::optional<std::chrono::milliseconds> timeout,
                                 std::function<void()> callback) {
  auto waiter = std::make_shared<Waiter>();
  waiter->settled = std::move(settled);
  waiter->callback = std::move(callback);
  {
    std::lock_guard lock(mutex_);
    if (!waiter->settled()) {
      if (timeout) {
        waiter->timer = std::make_unique<asio::steady_timer>(services_.lifecycle, *timeout);
        waiter->timer->async_wait([weak = std::weak_ptr<ModelRegistry>(shared_from_this()),
                                   waiter](const boost::system::error_code& error) {
          if (error) return;
          if (auto self = weak.lock()) {
            std::lock_guard lock(self->mutex_);
            auto& list = self->waiters_;
            list.erase(std::remove(list.begin(), list.end(), waiter), list.end());
          }
          if (!waiter->fired.exchange(true)) waiter->callback();
        });
      }
      waiters_.push_back(waiter);
      return;
    }
  }
  if (!waiter->fired.exchange(true)) waiter->callback();
}

void ModelRegistry::notify_changed() {
  std::vector<std::shared_ptr<Waiter>> ready;
  {
    std::lock_guard lock(mutex_);
    auto split = std::stable_partition(waiters_.begin(), waiters_.end(),
                                       [](const auto& waiter) { return !waiter->settled(); });
    ready.assign(split, waiters_.end());
    waiters_.erase(split, waiters_.end());
  }
  for (auto& waiter : ready) {
    if (waiter->fired.exchange(true)) continue;
    // Only the thread that took the waiter off the list touches its timer now.
    if (waiter->timer) waiter->timer->cancel();
    asio::post(services_.lifecycle, [waiter] { waiter->callback(); });
  }
}

// ---- shutdown --------------------------------------------------------------------------------

void ModelRegistry::shutdown(std::function<void()> done) {
  After after;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [name, entry] : entries_) {
      entry.refresh_stop.request_stop();
      abandon_pending_locked(entry);
      retire_serving_locked(entry, after);
    }
  }
  for (auto& action : after) action();
  when_settled(
      [this] {
        return std::all_of(entries_.begin(), entries_.end(), [](const auto& item) {
          const Entry& entry = item.second;
          return !entry.serving && !entry.pending && entry.retiring.empty() && !entry.refreshing;
        });
      },
      std::nullopt, std::move(done));
  notify_changed();
}

}  // namespace mh::host
