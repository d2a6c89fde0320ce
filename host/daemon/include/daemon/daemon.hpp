#pragma once
// hostd assembled: the components wired together, the listeners opened, the first scan of the
// models directory, and the shutdown on SIGTERM / SIGINT:
//   stop accepting (listeners closed, idle connections closed, readiness 503) -> every model
//   drains its in-flight requests (bounded by --drain-timeout-ms; then the plugin is told to
//   stop) -> cleanup of every model -> libraries unloaded -> exit 0.
#include "config/host_config.hpp"

namespace mh::host {

// Runs until a signal asks it to stop; returns the process exit code.
int run_daemon(const HostConfig& config);

}  // namespace mh::host
