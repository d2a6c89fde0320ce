// ModelRegistry: the status report — what each model's entry looks like from outside.
#include "model/model_registry.hpp"

#include "isolation/process_backend.hpp"
#include "registry_entry.hpp"

namespace mh::host {

ModelState ModelRegistry::state_of(const Entry& entry) {
  if (entry.serving) return ModelState::ready;
  // Until its restart is ready (an unload or a removal decides instead).
  if (entry.crashed && !entry.unloaded && !entry.removed) return ModelState::crashed;
  if (entry.pending) return entry.pending->state;
  if (!entry.retiring.empty()) return ModelState::draining;
  if (entry.unloaded || entry.removed) return ModelState::unloaded;
  return ModelState::failed;
}

ModelStatus ModelRegistry::status_of(const Entry& entry) {
  ModelStatus status;
  status.name = entry.name;
  status.state = state_of(entry);
  status.error = entry.error;
  // The generation shown: the serving one, else the one on its way, else the latest failure,
  // else the newest on its way out.
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
    status.isolation = shown->isolation;
    if (auto process = shown->process.lock(); process && shown->instance) {
      if (!process->exit_status()) status.pid = static_cast<long>(process->pid());
    }
  }
  status.restarts = entry.restarts;
  status.crash = entry.last_crash;
  status.crashes_by_signal = entry.crashes_by_signal;
  status.stuck_total = entry.stuck_retired;
  const ModelSource& source = shown ? shown->source : entry.latest_source;
  status.manifest_dir = source.dir.string();
  status.files_dir = source.files_dir().string();
  if ((entry.serving || entry.crashed) && entry.pending) {
    status.pending =
        ModelStatus::Pending{entry.pending->number, entry.pending->state, std::nullopt};
  }
  status.requests_total = entry.requests_retired;
  if (entry.serving && entry.serving->instance) {
    status.in_flight += entry.serving->instance->in_flight();
    status.requests_total += entry.serving->instance->requests_total();
    status.stuck += entry.serving->instance->stuck_now();
    status.stuck_total += entry.serving->instance->stuck_total();
  }
  for (const auto& generation : entry.retiring) {
    ModelStatus::Retiring retiring{generation->number, generation->state, 0};
    if (generation->instance) {
      retiring.in_flight = generation->instance->in_flight();
      status.in_flight += retiring.in_flight;
      status.requests_total += generation->instance->requests_total();
      status.stuck += generation->instance->stuck_now();
      status.stuck_total += generation->instance->stuck_total();
    }
    status.draining.push_back(retiring);
  }
  status.sync = entry.sync.view();
  const SyncTotals& totals = entry.sync.totals();
  status.sync_bytes_total = totals.bytes;
  status.sync_seconds_total = totals.seconds;
  status.syncs_total = totals.runs;
  status.sync_failures_total = totals.failures;
  return status;
}

std::vector<ModelStatus> ModelRegistry::status() const {
  std::vector<ModelStatus> result;
  std::lock_guard lock(mutex_);
  result.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) result.push_back(status_of(entry));
  return result;
}

}  // namespace mh::host
