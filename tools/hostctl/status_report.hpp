// GET /admin/status parsed into plain structs (docs/admin-api.md). Formatting never sees JSON.
#ifndef MODELHOST_HOSTCTL_STATUS_REPORT_HPP
#define MODELHOST_HOSTCTL_STATUS_REPORT_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hostctl {

struct SyncProgress {
  std::string state = "idle";  // idle | running | done | failed
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t files_done = 0;
  std::uint64_t files_total = 0;
  std::string current_file;
  std::optional<std::string> error;
};

// A new generation on its way while an older one may still serve.
struct PendingGeneration {
  std::uint64_t generation = 0;
  std::string state;
  std::optional<std::string> error;
};

// An older generation still finishing its requests after a swap or a removal.
struct DrainingGeneration {
  std::uint64_t generation = 0;
  std::uint64_t in_flight = 0;
};

struct ModelStatus {
  std::string name;
  std::string state;  // syncing | loading | ready | draining | unloaded | failed | crashed
  std::uint64_t generation = 0;
  std::string plugin;
  std::string plugin_version;
  std::optional<std::string> error;
  std::optional<PendingGeneration> pending;
  std::vector<DrainingGeneration> draining;  // empty when none, or when hostd does not say
  std::uint64_t in_flight = 0;
  std::uint64_t requests_total = 0;
  SyncProgress sync;
  std::string mode;      // process | none ("" from a hostd without isolation)
  std::int64_t pid = 0;  // the runner of an isolated model (0: none)
  std::uint64_t restarts = 0;
  std::uint64_t stuck = 0;
};

struct HostdInfo {
  std::string version;
  std::int64_t pid = 0;
  double uptime_s = 0;
  std::string listen;
  std::string models_dir;
};

struct StatusReport {
  HostdInfo hostd;
  std::vector<ModelStatus> models;

  const ModelStatus* find(std::string_view name) const;
};

// Parses the reply body. Absent or null fields keep their defaults, so an older or newer hostd
// still reads; a body that is not the status object throws std::runtime_error.
StatusReport parse_status_report(std::string_view json);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_STATUS_REPORT_HPP
