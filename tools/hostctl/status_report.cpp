#include "status_report.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

namespace hostctl {
namespace {

namespace json = boost::json;

const json::value* field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr || value->is_null() ? nullptr : value;
}

void read(const json::object& object, std::string_view key, std::string& out) {
  if (const auto* value = field(object, key); value != nullptr && value->is_string())
    out = std::string(value->as_string());
}

void read(const json::object& object, std::string_view key, std::optional<std::string>& out) {
  if (const auto* value = field(object, key); value != nullptr && value->is_string())
    out = std::string(value->as_string());
}

template <typename Number>
void read(const json::object& object, std::string_view key, Number& out) {
  const auto* value = field(object, key);
  if (value == nullptr || !value->is_number()) return;
  json::error_code ec;
  auto number = value->to_number<Number>(ec);  // fails for -1 into unsigned, 1.5 into integers
  if (!ec) out = number;
}

const json::object* object_field(const json::object& object, std::string_view key) {
  const auto* value = field(object, key);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

SyncProgress parse_sync(const json::object& object) {
  SyncProgress sync;
  read(object, "state", sync.state);
  read(object, "bytes_done", sync.bytes_done);
  read(object, "bytes_total", sync.bytes_total);
  read(object, "files_done", sync.files_done);
  read(object, "files_total", sync.files_total);
  read(object, "current_file", sync.current_file);
  read(object, "error", sync.error);
  return sync;
}

ModelStatus parse_model(const json::object& object) {
  ModelStatus model;
  read(object, "name", model.name);
  read(object, "state", model.state);
  read(object, "generation", model.generation);
  read(object, "plugin", model.plugin);
  read(object, "plugin_version", model.plugin_version);
  read(object, "error", model.error);
  read(object, "in_flight", model.in_flight);
  read(object, "requests_total", model.requests_total);
  read(object, "mode", model.mode);
  read(object, "pid", model.pid);
  read(object, "restarts", model.restarts);
  read(object, "stuck", model.stuck);
  if (const auto* pending = object_field(object, "pending")) {
    PendingGeneration next;
    read(*pending, "generation", next.generation);
    read(*pending, "state", next.state);
    read(*pending, "error", next.error);
    model.pending = std::move(next);
  }
  if (const auto* draining = field(object, "draining");
      draining != nullptr && draining->is_array()) {
    for (const auto& entry : draining->as_array()) {
      if (!entry.is_object()) continue;
      DrainingGeneration old;
      read(entry.as_object(), "generation", old.generation);
      read(entry.as_object(), "in_flight", old.in_flight);
      model.draining.push_back(old);
    }
  }
  if (const auto* sync = object_field(object, "sync")) model.sync = parse_sync(*sync);
  return model;
}

}  // namespace

const ModelStatus* StatusReport::find(std::string_view name) const {
  for (const auto& model : models)
    if (model.name == name) return &model;
  return nullptr;
}

StatusReport parse_status_report(std::string_view text) {
  json::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) throw std::runtime_error("hostd's status is not JSON: " + ec.message());
  if (!root.is_object()) throw std::runtime_error("hostd's status is not a JSON object");
  StatusReport report;
  if (const auto* hostd = object_field(root.as_object(), "hostd")) {
    read(*hostd, "version", report.hostd.version);
    read(*hostd, "pid", report.hostd.pid);
    read(*hostd, "uptime_s", report.hostd.uptime_s);
    read(*hostd, "listen", report.hostd.listen);
    read(*hostd, "models_dir", report.hostd.models_dir);
  }
  const auto* models = field(root.as_object(), "models");
  if (models == nullptr || !models->is_array())
    throw std::runtime_error("hostd's status has no \"models\" array");
  for (const auto& entry : models->as_array())
    if (entry.is_object()) report.models.push_back(parse_model(entry.as_object()));
  return report;
}

}  // namespace hostctl
