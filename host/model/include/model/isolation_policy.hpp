#pragma once
// How a model's plugin runs (model.json "isolation", "restart", "limits", "stuck_grace_ms"):
// in a runner process of its own (the default) or in hostd's process, what the runner may use,
// and how often a crashed runner is restarted before the model is reported failed.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mh::host {

// `process`: a runner process per generation (a crash or a hang ends only that model);
// `none`: the plugin is loaded into hostd (fastest; shares hostd's fate).
enum class Isolation { process, none };

constexpr std::string_view to_string(Isolation isolation) {
  return isolation == Isolation::none ? "none" : "process";
}

// A crash of a serving runner is followed by a restart after 1 s, 2 s, 4 s ... (at most
// kMaxRestartBackoff); more than `max_restarts` crashes within `window_seconds` leave the model
// failed (a reload tries it again).
struct RestartPolicy {
  std::uint32_t max_restarts = 5;
  std::uint64_t window_seconds = 300;
};

// What the runner of an isolated model lives under (isolation::RunnerLimits, from model.json).
struct IsolationLimits {
  std::uint64_t address_space_bytes = 0;                         // RLIMIT_AS ("memory"); 0: none
  std::vector<std::uint32_t> cpus;                               // CPU affinity; empty: hostd's
  std::vector<std::pair<std::string, std::string>> environment;  // added to hostd's
  bool core_dumps = false;
};

}  // namespace mh::host
