#include "model/reload_plan.hpp"

#include <set>

namespace mh::host {

std::vector<PlannedChange> plan_reload(const std::vector<ScannedModel>& scanned,
                                       const std::vector<HeldModel>& held,
                                       const std::optional<std::string>& only) {
  auto find_held = [&held](const std::string& name) -> const HeldModel* {
    for (const auto& model : held) {
      if (model.name == name) return &model;
    }
    return nullptr;
  };
  std::vector<PlannedChange> plan;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < scanned.size(); ++i) {
    const ScannedModel& model = scanned[i];
    if (only && model.name != *only) continue;
    seen.insert(model.name);
    PlannedChange change{model.name, ReloadAction::unchanged, i, false, true};
    const HeldModel* current = find_held(model.name);
    const bool known = current != nullptr && !current->removed && !current->unloaded;
    if (!model.loadable) {
      change.action = ReloadAction::failed;
    } else if (known && model.content_hash == current->attempted_hash && !current->attempt_failed) {
      change.refresh_files = model.has_files && current->can_refresh;
    } else {
      change.action = known ? ReloadAction::changed : ReloadAction::added;
    }
    plan.push_back(std::move(change));
  }
  for (const HeldModel& model : held) {
    if (seen.count(model.name) != 0 || model.removed || (only && model.name != *only)) continue;
    plan.push_back({model.name, ReloadAction::removed, std::nullopt, false, !model.unloaded});
  }
  return plan;
}

ReloadAction settled_action(ReloadAction planned, std::uint64_t first_generation,
                            std::uint64_t next_generation,
                            std::optional<std::uint64_t> failed_generation) {
  ReloadAction action = planned;
  if (action == ReloadAction::unchanged && next_generation > first_generation) {
    action = ReloadAction::changed;
  }
  if (action != ReloadAction::removed && failed_generation &&
      *failed_generation >= first_generation) {
    action = ReloadAction::failed;
  }
  return action;
}

}  // namespace mh::host
