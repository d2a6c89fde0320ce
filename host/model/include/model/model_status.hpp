#pragma once
// The status report of one model: what serves, what is on its way up, what is on its way out,
// the latest error and the latest sync. Plain values, taken under the registry's lock;
// the admin API, /v1/models and /metrics read it.
#include "model/model_state.hpp"
#include "model/sync_tracker.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mh::host {

struct ModelStatus {
  std::string name;
  ModelState state = ModelState::failed;
  std::uint64_t generation = 0;
  std::string plugin;  // the plugin's own name ("" before it loaded)
  std::string plugin_version;
  std::string plugin_path;  // the private copy that was loaded
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
};

}  // namespace mh::host
