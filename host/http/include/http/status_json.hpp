#pragma once
// The JSON edge of the model layer's reports: a model's status (GET /admin/status) and a
// reload's changes (POST /admin/reload), with every enum spelled as its string here and only
// here. The shapes are the admin API's (docs/admin-api.md); hostctl reads them.
#include "model/model_status.hpp"
#include "model/reload_change.hpp"

#include <boost/json/value.hpp>

namespace mh::host {

// {"name", "state", "generation", "plugin", "plugin_version", "plugin_path", "manifest_dir",
//  "files_dir", "error", "pending": {"generation", "state", "error"} | null,
//  "draining": [{"generation", "state", "in_flight"}], "in_flight", "requests_total",
//  "load_ms", "sync": sync_view_json(...), "mode": "process" | "none", "pid": n | null,
//  "restarts", "crash": {"reason", "signal", "signal_number", "exit_code", "at"} | null,
//  "stuck"}
boost::json::object model_status_json(const ModelStatus& status);

// {"state", "bytes_done", "bytes_total", "files_done", "files_total", "current_file", "error"}
boost::json::object sync_view_json(const SyncView& sync);

// {"name", "action", "state", "error", "warnings": ["..."]}
boost::json::object reload_change_json(const ReloadChange& change);

}  // namespace mh::host
