#include "model/model_registry.hpp"

#include "registry_entry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>

namespace mh::host {

namespace {

// How often a request follows a generation that began to drain between routing and
// admission before it gives up (each time a reload swapped the model under it).
constexpr int kMaxReroutes = 8;

// Retry-After hints: a load takes seconds, a failed model needs an operator, a full queue
// empties fast.
constexpr std::chrono::seconds kRetryLoading{2};
constexpr std::chrono::seconds kRetryUnavailable{10};
constexpr std::chrono::seconds kRetryBusy{1};
constexpr std::chrono::seconds kRetryReplaced{1};

std::string model_named(std::string_view name) {
  return "model \"" + std::string(name) + "\"";
}

}  // namespace

std::shared_ptr<ModelRegistry> ModelRegistry::create(RegistrySettings settings,
                                                     LoaderServices services) {
  return std::shared_ptr<ModelRegistry>(new ModelRegistry(std::move(settings), services));
}

ModelRegistry::ModelRegistry(RegistrySettings settings, LoaderServices services)
    : settings_(std::move(settings)), services_(services) {}

ModelRegistry::~ModelRegistry() = default;

// ---- requests --------------------------------------------------------------------------------

ModelRegistry::Target ModelRegistry::find_target(std::string_view name) const {
  assert(mutex_.held());
  Target target;
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.removed) {
    target.message = model_named(name) + " not found";
    return target;
  }
  const Entry& entry = it->second;
  if (shutting_down_) {
    target.outcome = ModelOutcome::shutting_down;
    target.message = "hostd is shutting down";
    target.retry_after = kRetryUnavailable;
  } else if (entry.serving) {
    target.outcome = ModelOutcome::accepted;
    target.instance = entry.serving->instance;
  } else if (entry.unloaded) {
    target.message = model_named(entry.name) + " is unloaded (`hostctl reload` loads it again)";
  } else if (entry.crashed) {
    // Its runner died; a restart is scheduled or loading (registry_faults.cpp).
    target.outcome = ModelOutcome::unavailable;
    const auto left = std::chrono::ceil<std::chrono::seconds>(entry.restart_at -
                                                              std::chrono::steady_clock::now());
    target.retry_after = entry.pending ? kRetryLoading : std::max(left, kRetryReplaced);
    target.message = entry.error.value_or(model_named(entry.name) + " crashed") +
                     "; it is restarting, retry shortly";
  } else if (entry.pending) {
    target.outcome = ModelOutcome::loading;
    target.message = model_named(entry.name) + " is " +
                     std::string(to_string(entry.pending->state)) + "; retry shortly";
    target.retry_after = kRetryLoading;
  } else {
    target.outcome = ModelOutcome::unavailable;
    target.message = model_named(entry.name) + " is not available: " +
                     entry.error.value_or(std::string(to_string(state_of(entry))));
    target.retry_after = kRetryUnavailable;
  }
  return target;
}

RouteResult ModelRegistry::route(std::string_view name) const {
  Target target;
  {
    std::lock_guard lock(mutex_);
    target = find_target(name);
  }
  RouteResult result;
  result.message = std::move(target.message);
  switch (target.outcome) {
    case ModelOutcome::accepted:
      result.kind = RouteResult::Kind::ok;
      break;
    case ModelOutcome::unknown:
      result.kind = RouteResult::Kind::unknown;
      break;
    case ModelOutcome::loading:
      result.kind = RouteResult::Kind::loading;
      break;
    default:
      result.kind = RouteResult::Kind::unavailable;
      break;
  }
  return result;
}

SubmitResult ModelRegistry::submit(std::string_view name, InferenceRequest request,
                                   std::shared_ptr<ReplySink> sink) {
  if (request.id.empty()) request.id = make_request_id();
  auto call = std::make_shared<PredictCall>(std::move(request), std::move(sink));
  SubmitResult result;
  // The serving generation may start draining between finding it and admission; then
  // admission says `closed` and the call, untouched, goes to the successor.
  for (int attempt = 0; attempt < kMaxReroutes; ++attempt) {
    Target target;
    {
      std::lock_guard lock(mutex_);
      target = find_target(name);
    }
    if (target.outcome != ModelOutcome::unknown) result.metrics_label = std::string(name);
    if (target.outcome != ModelOutcome::accepted) {
      result.outcome = target.outcome;
      result.message = std::move(target.message);
      result.retry_after = target.retry_after;
      return result;
    }
    const std::shared_ptr<ModelInstance>& instance = target.instance;
    switch (instance->submit(call)) {
      case Admission::Outcome::closed:
        continue;
      case Admission::Outcome::rejected:
        result.outcome = ModelOutcome::busy;
        result.message = model_named(name) +
                         " is busy: " + std::to_string(instance->spec().max_concurrency) +
                         " requests running and " + std::to_string(instance->spec().max_queue) +
                         " waiting (max_concurrency, max_queue)";
        result.retry_after = kRetryBusy;
        return result;
      case Admission::Outcome::started:
      case Admission::Outcome::queued:
        result.outcome = ModelOutcome::accepted;
        result.handle = RequestHandle(call, instance);
        return result;
    }
  }
  result.outcome = ModelOutcome::unavailable;
  result.message = model_named(name) + " is being replaced; retry";
  result.retry_after = kRetryReplaced;
  return result;
}

PluginStatsResult ModelRegistry::plugin_stats(std::string_view name) {
  Target target;
  {
    std::lock_guard lock(mutex_);
    target = find_target(name);
  }
  if (target.outcome != ModelOutcome::accepted) {
    PluginStatsResult result;
    result.outcome = target.outcome;
    result.message = std::move(target.message);
    result.retry_after = target.retry_after;
    return result;
  }
  // Outside the lock: the plugin runs code. The instance's gate keeps it from cleanup.
  return target.instance->read_stats();
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
    change = {name, ReloadAction::unloaded, state_of(entry), entry.error, {}};
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
      entry.sync.nothing_to_sync();
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

bool ModelRegistry::ready() const {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return false;
  // Orchestrators hold traffic back while a model is still on its way up with nothing
  // serving it; failed models do not hold the whole host back.
  // (A model restarting after a crash served before: it does not hold the host back either.)
  return std::none_of(entries_.begin(), entries_.end(), [](const auto& item) {
    return !item.second.serving && item.second.pending && !item.second.crashed;
  });
}

// ---- shutdown --------------------------------------------------------------------------------

void ModelRegistry::shutdown(std::function<void()> done) {
  After after;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [name, entry] : entries_) {
      entry.refresh_stop.request_stop();
      if (entry.restart_timer) entry.restart_timer->cancel();  // no restart on the way out
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
