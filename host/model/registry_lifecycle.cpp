// ModelRegistry: a generation's way up (sync, load, init, the atomic swap), its way down
// (drain, cleanup, unload), and the re-sync of a serving model's files.
#include "model/model_registry.hpp"

#include "registry_entry.hpp"
#include "sync/synchronizer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cassert>
#include <mutex>

namespace mh::host {

namespace asio = boost::asio;

// ---- a generation's way up -------------------------------------------------------------------

void ModelRegistry::load_generation(const std::string& name,
                                    const std::shared_ptr<Generation>& generation) {
  try {
    if (generation->source.files_source && !generation->files_ready) {
      bool changed = false;
      if (!run_sync(name, generation->source, generation->stop.get_token(), &changed)) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(name);
        throw std::runtime_error("sync failed: " + (it != entries_.end() && it->second.sync.error()
                                                        ? *it->second.sync.error()
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
    const StoredPlugin stored = store_plugin(generation);
    const LoadedGeneration loaded = load_model_instance(generation->source, generation->number,
                                                        stored, services_, settings_.isolation);
    const std::shared_ptr<ModelInstance>& instance = loaded.instance;
    {
      std::lock_guard lock(mutex_);
      generation->instance = instance;
      generation->plugin_name = instance->backend().name();
      generation->plugin_version = instance->backend().version();
      generation->plugin_path = generation->source.plugin_path.string();
      generation->isolation = instance->spec().isolation;
      generation->process = loaded.process;
    }
    watch_faults(name, generation, loaded);
    spdlog::info("model {}: generation {} loaded plugin {} {} (ABI {}, isolation {}); init", name,
                 generation->number, generation->plugin_name, generation->plugin_version,
                 format_abi_version(instance->backend().abi_version()),
                 to_string(generation->isolation));
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
    if (status == MH_DEADLINE_EXCEEDED) stop_initializing_runner(generation, message);
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
      entry.serving = generation;  // the atomic swap: the next request goes here
      entry.pending.reset();
      entry.error.reset();
      entry.failed.reset();
      entry.crashed = false;
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
        entry.crashed = false;  // a restart that failed leaves the model failed
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
  sweep_plugin_copies();
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
          "model {}: generation {} still has {} request(s) past the stuck grace; "
          "cleaning up anyway",
          name, generation->number, instance->in_flight());
    }
    instance->set_unloading();
    asio::post(self->services_.lifecycle, [self, name, generation, instance] {
      self->stop_stuck_runner(generation);
      instance->cleanup([self, name, generation] { self->on_unloaded(name, generation); });
    });
  };
  // At the drain timeout the plugin is told to stop, and its requests are watched as after a
  // deadline: each finishes or turns stuck (its slot back, its client answered) within the
  // stuck grace, and then the drain completes — with the stuck ones counted before cleanup (a
  // stuck runner is killed there). A last timer bounds it all should a request still hold on.
  struct DrainTimer {
    explicit DrainTimer(const asio::any_io_executor& executor) : timer(executor) {}
    std::mutex mutex;  // after async_wait, its handler and the drain's callback touch the timer
    asio::steady_timer timer;
    bool drained = false;
  };
  auto watch = std::make_shared<DrainTimer>(services_.lifecycle);
  const auto last_chance = instance->spec().stuck_grace + std::chrono::seconds(1);
  watch->timer.expires_after(settings_.drain_timeout);
  watch->timer.async_wait([name, generation, instance, watch, last_chance,
                           begin_cleanup](const boost::system::error_code& error) {
    std::lock_guard lock(watch->mutex);
    if (error || watch->drained) return;
    spdlog::warn(
        "model {}: generation {} still has {} request(s) after the drain timeout; telling the "
        "plugin to stop",
        name, generation->number, instance->in_flight());
    instance->set_unloading();
    watch->timer.expires_after(last_chance);
    watch->timer.async_wait([begin_cleanup](const boost::system::error_code& error) {
      if (!error) begin_cleanup(true);
    });
  });
  instance->drain([begin_cleanup, watch] {
    begin_cleanup(false);
    std::lock_guard lock(watch->mutex);
    watch->drained = true;
    watch->timer.cancel();
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
      if (generation->instance) {
        entry.requests_retired += generation->instance->requests_total();
        entry.stuck_retired += generation->instance->stuck_total();
      }
      forget_if_gone_locked(name);
    }
    generation->instance.reset();  // the library unloads a second after the last holder
    spdlog::info("model {}: generation {} unloaded", name, generation->number);
  }
  sweep_plugin_copies();
  notify_changed();
}

// ---- files -----------------------------------------------------------------------------------

void ModelRegistry::start_refresh_locked(Entry& entry, After& after) {
  assert(mutex_.held());
  entry.refreshing = true;
  entry.sync.announce();  // before the admin API answers 202
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
      entry.error = "sync failed: " + entry.sync.error().value_or("cancelled");
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
  std::shared_ptr<sync::SyncProgress> progress;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    progress =
        it != entries_.end() ? it->second.sync.start() : std::make_shared<sync::SyncProgress>();
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
    if (it != entries_.end()) it->second.sync.finish(result);
  }
  *changed = result.changed;
  return result.ok;
}

}  // namespace mh::host
