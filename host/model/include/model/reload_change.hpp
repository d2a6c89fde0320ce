#pragma once
// What a reload (or an unload) did to one model, as the admin API reports it.
#include "model/model_state.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mh::host {

enum class ReloadAction {
  added,      // a new model (or one back after removal or unload): its first generation loads
  changed,    // manifest, plugin or synced files changed (or the last attempt failed): a new
              // generation loads beside the serving one
  removed,    // its directory is gone: it drains, cleans up, unloads
  unchanged,  // nothing to do (a model with files re-syncs them)
  failed,     // its directory cannot load (broken model.json, no plugin ...), or the new
              // generation failed; an older one keeps serving
  unloaded,   // `hostctl unload`
};

constexpr std::string_view to_string(ReloadAction action) {
  switch (action) {
    case ReloadAction::added:
      return "added";
    case ReloadAction::changed:
      return "changed";
    case ReloadAction::removed:
      return "removed";
    case ReloadAction::unchanged:
      return "unchanged";
    case ReloadAction::failed:
      return "failed";
    case ReloadAction::unloaded:
      return "unloaded";
  }
  return "failed";
}

struct ReloadChange {
  std::string name;
  ReloadAction action = ReloadAction::failed;
  ModelState state = ModelState::failed;
  std::optional<std::string> error;
  std::vector<std::string> warnings;  // the scan's, e.g. unknown model.json keys
};

}  // namespace mh::host
