#include "http/admin_api.hpp"

#include "http/replies.hpp"
#include "http/status_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace mh::host {

namespace json = boost::json;

namespace {

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
  return reload_change_json(change);
}

}  // namespace

AdminApi::AdminApi(std::shared_ptr<ModelRegistry> registry, HostIdentity identity)
    : registry_(std::move(registry)), identity_(std::move(identity)) {}

std::span<const Route<AdminApi>> AdminApi::routes() {
  static constexpr Route<AdminApi> kRoutes[] = {
      {"GET", "/admin/status", &AdminApi::status,
       "hostd and every model: state, generation, plugin, errors, in-flight requests, sync "
       "progress (`hostctl status`)"},
      {"POST", "/admin/reload", &AdminApi::reload,
       "rescan the models directory, or one model: `{\"name\", \"wait\", \"timeout_ms\"}` "
       "(`hostctl reload`)"},
      {"POST", "/admin/unload", &AdminApi::unload,
       "stop serving a model: it drains, cleans up and unloads; `{\"name\"}` (`hostctl unload`)"},
      {"POST", "/admin/sync", &AdminApi::sync,
       "sync a model's files again; 202 at once, progress in status; `{\"name\"}` (`hostctl "
       "sync`)"},
  };
  return kRoutes;
}

void AdminApi::status(RouteCall call) {
  call.exchange->reply(serialized_json_reply(200, status_json()));
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
  for (const ModelStatus& model : registry_->status()) models.push_back(model_status_json(model));
  json::object root;
  root["hostd"] = std::move(hostd);
  root["models"] = std::move(models);
  return json::serialize(root);
}

void AdminApi::reload(RouteCall call) {
  const HttpRequest& request = call.request;
  const std::shared_ptr<Exchange>& exchange = call.exchange;
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

void AdminApi::unload(RouteCall call) {
  const std::shared_ptr<Exchange>& exchange = call.exchange;
  const auto name = required_name(call.request, exchange);
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

void AdminApi::sync(RouteCall call) {
  const std::shared_ptr<Exchange>& exchange = call.exchange;
  const auto name = required_name(call.request, exchange);
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
