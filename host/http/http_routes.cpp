#include "http/http_routes.hpp"

#include "http/error_mapping.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>

namespace mh::host {

namespace json = boost::json;

namespace {

struct InferenceRouteRow {
  std::string_view method;
  std::string_view pattern;
  InferenceRoute route;
};

// The inference routes: issue 6 (OpenAI) and later routes add rows here.
constexpr InferenceRouteRow kInferenceRoutes[] = {
    {"POST", "/v1/models/{name}/predict", {"predict", false, false}},
    {"POST", "/v1/models/{name}/tokenize", {"tokenize", false, false}},
    {"POST", "/v1/models/{name}/detokenize", {"detokenize", false, false}},
    {"POST", "/v1/models/{name}/stats", {"stats", false, false}},
    {"POST", "/v1/chat/completions", {"chat.completions", true, true}},
    {"POST", "/v1/completions", {"completions", true, true}},
};

HttpReply json_reply(unsigned status, const json::value& value) {
  return HttpReply{status, "application/json", json::serialize(value), {}};
}

HttpReply error_reply(unsigned status, std::string_view message, HttpHeaders headers = {}) {
  return HttpReply{status, "application/json", error_json(status, message), std::move(headers)};
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool bearer_matches(std::string_view authorization, std::string_view secret) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!starts_with(authorization, kBearer)) return false;
  std::string_view given = authorization.substr(kBearer.size());
  // Constant time in the length of the secret.
  unsigned char difference = given.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    difference |= static_cast<unsigned char>(secret[i] ^ (i < given.size() ? given[i] : 0));
  }
  return difference == 0;
}

}  // namespace

bool match_route(std::string_view pattern, std::string_view path, std::string& name) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') {
      return false;
    }
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pattern_end = std::min(pattern.find('/'), pattern.size());
    const auto path_end = std::min(path.find('/'), path.size());
    const std::string_view pattern_segment = pattern.substr(0, pattern_end);
    const std::string_view path_segment = path.substr(0, path_end);
    if (pattern_segment == "{name}") {
      if (path_segment.empty()) return false;
      name = std::string(path_segment);
    } else if (pattern_segment != path_segment) {
      return false;
    }
    pattern.remove_prefix(pattern_end);
    path.remove_prefix(path_end);
  }
  return true;
}

Router::Router(std::shared_ptr<ModelRegistry> registry, Metrics& metrics, AdminApi& admin,
               RouterSettings settings)
    : registry_(std::move(registry)),
      metrics_(metrics),
      admin_(admin),
      inference_(registry_, metrics),
      settings_(std::move(settings)),
      created_unix_s_(std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()) {}

void Router::handle(HttpRequest request, const std::shared_ptr<Exchange>& exchange) {
  const std::string& path = request.path;
  const bool admin_listener = request.listener != Listener::public_api;

  if (request.listener == Listener::admin_tcp &&
      !bearer_matches(request.authorization, settings_.admin_token)) {
    exchange->reply(error_reply(401, "the admin listener needs \"Authorization: Bearer <token>\""));
    return;
  }
  if (starts_with(path, "/admin/")) {
    if (admin_listener && admin_.handle(request, exchange)) return;
    exchange->reply(error_reply(404, admin_listener
                                         ? "no admin route " + path
                                         : "the admin API is served on the admin socket only"));
    return;
  }
  if (!admin_listener && !settings_.api_key.empty() && starts_with(path, "/v1/") &&
      !bearer_matches(request.authorization, settings_.api_key)) {
    exchange->reply(error_reply(401, "missing or wrong API key (\"Authorization: Bearer <key>\")",
                                {{"WWW-Authenticate", "Bearer"}}));
    return;
  }

  std::string name;
  bool path_known = false;
  for (const auto& row : kInferenceRoutes) {
    if (!match_route(row.pattern, path, name)) continue;
    path_known = true;
    if (request.method != row.method) continue;
    inference_.handle(row.route, name, std::move(request), exchange);
    return;
  }

  if (request.method == "GET") {
    if (path == "/v2/health/live") {
      exchange->reply(json_reply(200, json::object{{"live", true}}));
      return;
    }
    if (path == "/v2/health/ready") {
      const bool ready = !shutting_down_.load() && registry_->ready();
      exchange->reply(json_reply(ready ? 200 : 503, json::object{{"ready", ready}}));
      return;
    }
    if (match_route("/v2/models/{name}/ready", path, name)) {
      RouteResult target = registry_->route(name);
      if (target.kind == RouteResult::Kind::unknown) {
        exchange->reply(error_reply(404, target.message));
        return;
      }
      const bool ready = target.kind == RouteResult::Kind::ok;
      exchange->reply(
          json_reply(ready ? 200 : 503, json::object{{"name", name}, {"ready", ready}}));
      return;
    }
    if (path == "/v1/models") {
      json::array data;
      for (const ModelStatus& model : registry_->status()) {
        data.push_back(json::object{{"id", model.name},
                                    {"object", "model"},
                                    {"created", created_unix_s_},
                                    {"owned_by", "modelhost"},
                                    {"state", to_string(model.state)},
                                    {"plugin", model.plugin},
                                    {"plugin_version", model.plugin_version}});
      }
      exchange->reply(json_reply(200, json::object{{"object", "list"}, {"data", std::move(data)}}));
      return;
    }
    if (path == "/metrics") {
      exchange->reply(HttpReply{200,
                                "text/plain; version=0.0.4; charset=utf-8",
                                metrics_.render(registry_->status()),
                                {}});
      return;
    }
  }
  const bool other_method = path_known || path == "/v2/health/live" || path == "/v2/health/ready" ||
                            path == "/v1/models" || path == "/metrics" ||
                            match_route("/v2/models/{name}/ready", path, name);
  if (other_method) {
    exchange->reply(error_reply(405, "method " + request.method + " is not allowed on " + path));
    return;
  }
  exchange->reply(error_reply(404, "no route " + request.method + " " + path));
}

}  // namespace mh::host
