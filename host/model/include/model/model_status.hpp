#pragma once
// The status report of one model: what serves, what is on its way up, what is on its way out,
// the latest error and the latest sync. Plain values, taken under the registry's lock;
// the admin API, /v1/models and /metrics read it.
#include "model/isolation_policy.hpp"
#include "model/model_state.hpp"
#include "model/sync_tracker.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mh::host {

// How an isolated generation's runner died (the latest crash of a model).
struct CrashReport {
  std::string reason;            // model "x" crashed: its runner was killed by signal 11 (SIGSEGV)
  std::optional<int> signal;     // the signal that killed it
  std::string signal_name;       // "SIGSEGV" with `signal`, else ""
  std::optional<int> exit_code;  // or the code it exited with
  std::chrono::system_clock::time_point at;
};

struct ModelStatus {
  std::string name;
  ModelState state = ModelState::failed;
  std::uint64_t generation = 0;
  std::string plugin;  // the plugin's own name ("" before it loaded)
  std::string plugin_version;
  std::string plugin_path;  // the operator's plugin file (never hostd's private copy)
  Isolation isolation = Isolation::process;  // how the shown generation runs its plugin
  std::optional<long> pid;                   // its runner's process id (isolated, running)
  std::uint64_t restarts = 0;                // restarts after crashes, since hostd started
  std::optional<CrashReport> crash;          // the latest crash
  std::uint64_t stuck = 0;                   // requests stuck now (see ModelInstance)
  std::string manifest_dir;
  std::string files_dir;
  std::optional<std::string> error;  // the latest failure, also while an older generation serves
  struct Pending {
    std::uint64_t generation = 0;
    ModelState state = ModelState::loading;
    std::optional<std::string> error;
  };
  std::optional<Pending> pending;  // a new generation on its way while another serves
  // Generations on their way out: replaced or removed ones that drain their requests, and
  // ones abandoned while they loaded. Oldest first.
  struct Retiring {
    std::uint64_t generation = 0;
    ModelState state = ModelState::draining;
    std::size_t in_flight = 0;
  };
  std::vector<Retiring> draining;
  std::size_t in_flight = 0;  // of every generation, the draining ones included
  std::uint64_t requests_total = 0;
  std::optional<double> load_ms;
  SyncView sync;
  // Totals for /metrics.
  std::uint64_t sync_bytes_total = 0;
  double sync_seconds_total = 0;
  std::uint64_t syncs_total = 0;
  std::uint64_t sync_failures_total = 0;
  std::uint64_t stuck_total = 0;
  std::map<std::string, std::uint64_t> crashes_by_signal;  // "SIGSEGV", "exit": crashes
};

}  // namespace mh::host
