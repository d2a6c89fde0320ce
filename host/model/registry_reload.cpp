// ModelRegistry: a reload — scan, plan (reload_plan.hpp), apply — and the bookkeeping of
// generations entering and leaving an entry.
#include "model/model_registry.hpp"
#include "model/reload_plan.hpp"

#include "registry_entry.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cassert>

namespace mh::host {

namespace asio = boost::asio;

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
    done({ReloadChange{
        name.value_or(""), ReloadAction::failed, ModelState::failed, error.what(), {}}});
    return;
  }
  std::vector<ScannedModel> scan_view;
  scan_view.reserve(scanned.size());
  for (const ModelSource& model : scanned) {
    scan_view.push_back(ScannedModel{model.name, model.content_hash, model.error.empty(),
                                     model.files_source.has_value()});
  }
  std::vector<PendingChange> changes;
  After after;
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) {
      done({});
      return;
    }
    std::vector<HeldModel> held;
    held.reserve(entries_.size());
    for (const auto& [entry_name, entry] : entries_) held.push_back(entry.held());

    for (const PlannedChange& planned : plan_reload(scan_view, held, name)) {
      if (planned.action == ReloadAction::removed) {
        Entry& entry = entries_.find(planned.name)->second;
        spdlog::info("model {}: its directory is gone; unloading it", planned.name);
        entry.removed = true;
        abandon_pending_locked(entry);
        entry.refresh_stop.request_stop();
        retire_serving_locked(entry, after);
        if (planned.reported) {
          changes.push_back({planned.name, planned.action, entry.next_generation, {}});
        }
        continue;
      }
      const ModelSource& model = scanned[*planned.scanned];
      for (const auto& warning : model.warnings) spdlog::warn("{}", warning);
      Entry& entry = entries_.try_emplace(model.name).first->second;
      entry.name = model.name;
      const std::uint64_t number = entry.next_generation;
      switch (planned.action) {
        case ReloadAction::failed:
          spdlog::error("model {}: {}", model.name, model.error);
          abandon_pending_locked(entry);
          entry.removed = false;
          entry.error = model.error;
          entry.attempted_hash = model.content_hash;
          entry.attempt_failed = true;
          entry.failed.reset();
          break;
        case ReloadAction::unchanged:
          if (planned.refresh_files) start_refresh_locked(entry, after);
          break;
        default:  // added, changed
          start_generation_locked(entry, model, false, after);
          break;
      }
      changes.push_back({model.name, planned.action, number, model.warnings});
    }
    std::vector<std::string> names;
    for (const auto& [entry_name, entry] : entries_) names.push_back(entry_name);
    for (const auto& entry_name : names) forget_if_gone_locked(entry_name);
  }
  for (auto& action : after) action();
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
    ReloadChange out{change.name, change.action, ModelState::unloaded, std::nullopt,
                     change.warnings};
    auto it = entries_.find(change.name);
    if (it != entries_.end()) {
      const Entry& entry = it->second;
      out.state = state_of(entry);
      out.error = entry.error;
      out.action = settled_action(
          change.action, change.generation, entry.next_generation,
          entry.failed ? std::optional<std::uint64_t>(entry.failed->number) : std::nullopt);
    }
    result.push_back(std::move(out));
  }
  return result;
}

void ModelRegistry::start_generation_locked(Entry& entry, const ModelSource& source,
                                            bool files_ready, After& after) {
  assert(mutex_.held());
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
  assert(mutex_.held());
  if (!entry.pending) return;
  auto generation = std::move(entry.pending);
  generation->abandoned = true;
  generation->stop.request_stop();
  entry.retiring.push_back(std::move(generation));
  // Its loader notices and cleans up whatever it made.
}

void ModelRegistry::retire_serving_locked(Entry& entry, After& after) {
  assert(mutex_.held());
  if (!entry.serving) return;
  auto generation = std::move(entry.serving);
  generation->state = ModelState::draining;
  entry.retiring.push_back(generation);
  after.push_back([self = shared_from_this(), name = entry.name, generation] {
    self->retire(name, generation);
  });
}

void ModelRegistry::forget_if_gone_locked(const std::string& name) {
  assert(mutex_.held());
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  const Entry& entry = it->second;
  if (entry.removed && !entry.serving && !entry.pending && entry.retiring.empty() &&
      !entry.refreshing) {
    entries_.erase(it);
  }
}

}  // namespace mh::host
