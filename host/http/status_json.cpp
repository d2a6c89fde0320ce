#include "http/status_json.hpp"

#include <ctime>

namespace mh::host {

namespace json = boost::json;

namespace {

json::value optional_string(const std::optional<std::string>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

// "2026-12-03T15:41:44.123Z"
std::string utc_timestamp(std::chrono::system_clock::time_point at) {
  const auto since_epoch = at.time_since_epoch();
  const std::time_t seconds = static_cast<std::time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count());
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[40];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(text, length) + "." + std::to_string(1000 + millis).substr(1) + "Z";
}

json::value crash_json(const std::optional<CrashReport>& crash) {
  if (!crash) return nullptr;
  json::object object;
  object["reason"] = crash->reason;
  object["signal"] = crash->signal ? json::value(crash->signal_name) : json::value(nullptr);
  object["signal_number"] = crash->signal ? json::value(*crash->signal) : json::value(nullptr);
  object["exit_code"] = crash->exit_code ? json::value(*crash->exit_code) : json::value(nullptr);
  object["at"] = utc_timestamp(crash->at);
  return object;
}

}  // namespace

json::object sync_view_json(const SyncView& sync) {
  json::object object;
  object["state"] = to_string(sync.state);
  object["bytes_done"] = sync.bytes_done;
  object["bytes_total"] = sync.bytes_total;
  object["files_done"] = sync.files_done;
  object["files_total"] = sync.files_total;
  object["current_file"] = sync.current_file;
  object["error"] = optional_string(sync.error);
  return object;
}

json::object model_status_json(const ModelStatus& status) {
  json::object object;
  object["name"] = status.name;
  object["state"] = to_string(status.state);
  object["generation"] = status.generation;
  object["plugin"] = status.plugin;
  object["plugin_version"] = status.plugin_version;
  object["plugin_path"] = status.plugin_path;
  object["mode"] = to_string(status.isolation);
  object["pid"] = status.pid ? json::value(*status.pid) : json::value(nullptr);
  object["restarts"] = status.restarts;
  object["crash"] = crash_json(status.crash);
  object["stuck"] = status.stuck;
  object["manifest_dir"] = status.manifest_dir;
  object["files_dir"] = status.files_dir;
  object["error"] = optional_string(status.error);
  if (status.pending) {
    json::object pending;
    pending["generation"] = status.pending->generation;
    pending["state"] = to_string(status.pending->state);
    pending["error"] = optional_string(status.pending->error);
    object["pending"] = std::move(pending);
  } else {
    object["pending"] = nullptr;
  }
  json::array draining;
  for (const auto& retiring : status.draining) {
    json::object generation;
    generation["generation"] = retiring.generation;
    generation["state"] = to_string(retiring.state);
    generation["in_flight"] = retiring.in_flight;
    draining.push_back(std::move(generation));
  }
  object["draining"] = std::move(draining);
  object["in_flight"] = status.in_flight;
  object["requests_total"] = status.requests_total;
  object["load_ms"] = status.load_ms ? json::value(*status.load_ms) : json::value(nullptr);
  object["sync"] = sync_view_json(status.sync);
  return object;
}

json::object reload_change_json(const ReloadChange& change) {
  json::object object;
  object["name"] = change.name;
  object["action"] = to_string(change.action);
  object["state"] = to_string(change.state);
  object["error"] = optional_string(change.error);
  json::array warnings;
  for (const auto& warning : change.warnings) warnings.emplace_back(warning);
  object["warnings"] = std::move(warnings);
  return object;
}

}  // namespace mh::host
