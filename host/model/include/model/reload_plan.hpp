#pragma once
// The reload decision, as a pure function: the scanned models directory against what the
// registry holds gives one planned change per model. No threads, no files, no locks: the
// registry gathers plain views of both sides under its lock and applies the plan.
//
//   scanned, unreadable                        -> failed    (an older generation keeps serving)
//   scanned, not held (or removed, or unloaded) -> added     (a first generation)
//   scanned, held, hash differs                 -> changed   (a new generation beside the old)
//   scanned, held, same hash, last one failed   -> changed   (failed-then-fixed: tried again)
//   scanned, held, same hash                    -> unchanged (files re-sync when it has files
//                                                             and serves with nothing running)
//   held, not scanned                           -> removed   (not reported when it was unloaded)
#include "model/reload_change.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mh::host {

// One directory of the scan, as the plan needs it.
struct ScannedModel {
  std::string name;
  std::string content_hash;
  bool loadable = true;    // the scan found no error
  bool has_files = false;  // its manifest names files to sync
};

// One model the registry holds, as the plan needs it.
struct HeldModel {
  std::string name;
  std::string attempted_hash;   // content hash of the latest attempt
  bool attempt_failed = false;  // that attempt failed (or a sync asked for another)
  bool removed = false;         // its directory went; still on its way out
  bool unloaded = false;        // `hostctl unload`
  bool can_refresh = false;     // it serves, and no generation or re-sync is on its way
};

struct PlannedChange {
  std::string name;
  ReloadAction action = ReloadAction::unchanged;
  std::optional<std::size_t> scanned;  // its index in the scan (not for removed)
  bool refresh_files = false;          // unchanged, but its files re-sync
  bool reported = true;                // false: removed after an unload (no visible change)
};

// Scanned models (in the scan's order), then removed ones (in `held`'s order). `only`: plan
// for that model alone (`hostctl reload NAME`).
std::vector<PlannedChange> plan_reload(const std::vector<ScannedModel>& scanned,
                                       const std::vector<HeldModel>& held,
                                       const std::optional<std::string>& only = std::nullopt);

// The action to report once the model settled. `first_generation`: the generation number the
// change started (or the next free one when it started none); `next_generation`: the next
// free number now; `failed_generation`: the latest failed attempt, if any. An unchanged model
// whose re-sync found new files started a generation (changed); a generation this reload
// started that failed makes it failed.
ReloadAction settled_action(ReloadAction planned, std::uint64_t first_generation,
                            std::uint64_t next_generation,
                            std::optional<std::uint64_t> failed_generation);

}  // namespace mh::host
