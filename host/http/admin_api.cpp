#include "http/admin_api.hpp"

#include "http/error_mapping.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace mh::host {

namespace json = boost::json;

namespace {

HttpReply json_reply(unsigned status, const json::value& value) {
  return HttpReply{status, "application/json", json::serialize(value), {}};
}

HttpReply error_reply(unsigned status, std::string_view message) {
  return HttpReply{status, "application/json", error_json(status, message), {}};
}

json::value optional_string(const std::optional<std::string>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

// The body of an admin POST: {} or an object; throws std::invalid_argument with the reason.
json::object parse_body(const std::string& body) {
  if (body.empty()) return {};
  boost::system::error_code error;
  json::value value = json::parse(body, error);
  if (error) throw std::invalid_argument("malformed JSON in the request body: " + error.message());
  if (!value.is_object()) throw std::invalid_argument("the request body must be a JSON object");
  return value.as_object();
}

std::optional<std::string> string_field(const json::object& body, std::string_view key,
                                        bool required) {
  const json::value* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) throw std::invalid_argument("\"" + std::string(key) + "\" is required");
    return std::nullopt;
  }
  if (!value->is_string() || value->as_string().empty()) {
    throw std::invalid_argument("\"" + std::string(key) + "\" must be a non-empty string");
  }
  return std::string(value->as_string());
}

// The "name" of a {"name": ...} body; answers 400 and returns nullopt when there is none.
std::optional<std::string> required_name(const HttpRequest& request,
                                         const std::shared_ptr<Exchange>& exchange) {
  try {
    return *string_field(parse_body(request.body), "name", true);
  } catch (const std::invalid_argument& error) {
    exchange->reply(error_reply(400, error.what()));
    return std::nullopt;
  }
}

json::object change_json(const ReloadChange& change) {
  json::object object;
  object["name"] = change.name;
  object["action"] = change.action;
  object["state"] = to_string(change.state);
  object["error"] = optional_string(change.error);
  return object;
}

}  // namespace

AdminApi::AdminApi(std::shared_ptr<ModelRegistry> registry, HostIdentity identity)
    : registry_(std::move(registry)), identity_(std::move(identity)) {}

bool AdminApi::handle(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange) {
  const std::string& path = request.path;
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  if (path == "/admin/status") {
    if (!get) {
      exchange->reply(error_reply(405, "use GET for /admin/status"));
    } else {
      exchange->reply(HttpReply{200, "application/json", status_json(), {}});
    }
    return true;
  }
  if (path == "/admin/reload" || path == "/admin/unload" || path == "/admin/sync") {
    if (!post) {
      exchange->reply(error_reply(405, "use POST for " + path));
    } else if (path == "/admin/reload") {
      reload(request, exchange);
    } else if (path == "/admin/unload") {
      unload(request, exchange);
    } else {
      sync(request, exchange);
    }
    return true;
  }
  return false;
}

std::string AdminApi::status_json() const {
  json::object hostd;
  hostd["version"] = identity_.version;
  hostd["pid"] = identity_.pid;
  hostd["uptime_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - identity_.started).count();
  hostd["listen"] = identity_.listen;
  hostd["models_dir"] = identity_.models_dir;
  json::array models;
  for (const ModelStatus& model : registry_->status()) {
    json::object entry;
    entry["name"] = model.name;
    entry["state"] = to_string(model.state);
    entry["generation"] = model.generation;
    entry["plugin"] = model.plugin;
    entry["plugin_version"] = model.plugin_version;
    entry["plugin_path"] = model.plugin_path;
    entry["manifest_dir"] = model.manifest_dir;
    entry["files_dir"] = model.files_dir;
    entry["error"] = optional_string(model.error);
    if (model.pending) {
      json::object pending;
      pending["generation"] = model.pending->generation;
      pending["state"] = to_string(model.pending->state);
      pending["error"] = optional_string(model.pending->error);
      entry["pending"] = std::move(pending);
    } else {
      entry["pending"] = nullptr;
    }
    entry["in_flight"] = model.in_flight;
    entry["requests_total"] = model.requests_total;
    entry["load_ms"] = model.load_ms ? json::value(*model.load_ms) : json::value(nullptr);
    json::object sync;
    sync["state"] = model.sync.state;
    sync["bytes_done"] = model.sync.bytes_done;
    sync["bytes_total"] = model.sync.bytes_total;
    sync["files_done"] = model.sync.files_done;
    sync["files_total"] = model.sync.files_total;
    sync["current_file"] = model.sync.current_file;
    sync["error"] = optional_string(model.sync.error);
    entry["sync"] = std::move(sync);
    models.push_back(std::move(entry));
  }
  json::object root;
  root["hostd"] = std::move(hostd);
  root["models"] = std::move(models);
  return json::serialize(root);
}

void AdminApi::reload(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange) {
  std::optional<std::string> name;
  bool wait = false;
  std::uint64_t timeout_ms = 600000;
  try {
    json::object body = parse_body(request.body);
    name = string_field(body, "name", false);
    if (const json::value* value = body.if_contains("wait"); value && !value->is_null()) {
      if (!value->is_bool()) throw std::invalid_argument("\"wait\" must be true or false");
      wait = value->as_bool();
    }
    if (const json::value* value = body.if_contains("timeout_ms"); value && !value->is_null()) {
      if (value->is_uint64()) {
        timeout_ms = value->as_uint64();
      } else if (value->is_int64() && value->as_int64() >= 0) {
        timeout_ms = static_cast<std::uint64_t>(value->as_int64());
      } else {
        throw std::invalid_argument("\"timeout_ms\" must be a non-negative integer");
      }
    }
  } catch (const std::invalid_argument& error) {
    exchange->reply(error_reply(400, error.what()));
    return;
  }
  registry_->reload(name, wait, std::chrono::milliseconds(timeout_ms),
                    [exchange, name](std::vector<ReloadChange> changes) {
                      if (name && changes.empty()) {
                        exchange->reply(error_reply(
                            404, "no model \"" + *name +
                                     "\": neither a directory with a "
                                     "model.json in the models directory nor a loaded model"));
                        return;
                      }
                      json::array list;
                      for (const auto& change : changes) list.push_back(change_json(change));
                      json::object root;
                      root["changes"] = std::move(list);
                      exchange->reply(json_reply(200, root));
                    });
}

void AdminApi::unload(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange) {
  const auto name = required_name(request, exchange);
  if (!name) return;
  auto change = registry_->unload(*name);
  if (!change) {
    exchange->reply(error_reply(404, "model \"" + *name + "\" not found"));
    return;
  }
  json::object root;
  root["name"] = *name;
  root["state"] = to_string(change->state);
  exchange->reply(json_reply(200, root));
}

void AdminApi::sync(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange) {
  const auto name = required_name(request, exchange);
  if (!name) return;
  if (!registry_->sync(*name)) {
    exchange->reply(error_reply(404, "model \"" + *name + "\" not found"));
    return;
  }
  json::object root;
  root["name"] = *name;
  exchange->reply(json_reply(202, root));
}

}  // namespace mh::host
