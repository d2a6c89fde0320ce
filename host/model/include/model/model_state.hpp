#pragma once
// The lifecycle of a model generation (docs/architecture.md):
//
//   syncing ──► loading ──► ready ──► draining ──► unloaded
//      │           │            │
//      │           │            └──► crashed ──(restart, with backoff)──► loading
//      │           │                    │ (restart.max_restarts within restart.window_seconds)
//      └───────────┴────────────────────┴──► failed (with the reason)
//
// syncing: its files are fetched into the cache; loading: the plugin library is copied,
// loaded and its init runs; ready: requests are routed to it; draining: replaced or removed,
// its in-flight requests finish (bounded by --drain-timeout-ms), then cleanup runs;
// unloaded: cleanup done (the library unloads a second later); crashed: the runner of an
// isolated generation died while it served (requests get 503 until the restart is ready).
#include <string_view>

namespace mh::host {

enum class ModelState { syncing, loading, ready, draining, unloaded, failed, crashed };

constexpr std::string_view to_string(ModelState state) {
  switch (state) {
    case ModelState::syncing:
      return "syncing";
    case ModelState::loading:
      return "loading";
    case ModelState::ready:
      return "ready";
    case ModelState::draining:
      return "draining";
    case ModelState::unloaded:
      return "unloaded";
    case ModelState::failed:
      return "failed";
    case ModelState::crashed:
      return "crashed";
  }
  return "failed";
}

inline constexpr ModelState kAllModelStates[] = {
    ModelState::syncing,  ModelState::loading, ModelState::ready,  ModelState::draining,
    ModelState::unloaded, ModelState::failed,  ModelState::crashed};

}  // namespace mh::host
