#include "http/http_routes.hpp"

#include "http/replies.hpp"

#include <modelhost/plugin.h>

#include <boost/beast/core/string.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <string_view>
#include <utility>

namespace mh::host {

namespace json = boost::json;

namespace {

// What each inference route tells InferenceDispatch: the plugin's route name, whether the
// body's "model" names the model (OpenAI style), whether streams end with "data: [DONE]".
constexpr InferenceRoute kPredict{MH_ROUTE_PREDICT, false, false};
constexpr InferenceRoute kTokenize{MH_ROUTE_TOKENIZE, false, false};
constexpr InferenceRoute kDetokenize{MH_ROUTE_DETOKENIZE, false, false};
constexpr InferenceRoute kChatCompletions{MH_ROUTE_CHAT_COMPLETIONS, true, true};
constexpr InferenceRoute kCompletions{MH_ROUTE_COMPLETIONS, true, true};

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// "Authorization: Bearer <secret>": the scheme in any case (RFC 7235), then one or more spaces.
bool bearer_matches(std::string_view authorization, std::string_view secret) {
  constexpr std::string_view kBearer = "bearer";
  if (authorization.size() <= kBearer.size() ||
      !boost::beast::iequals(authorization.substr(0, kBearer.size()), kBearer) ||
      authorization[kBearer.size()] != ' ') {
    return false;
  }
  std::string_view given = authorization.substr(kBearer.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  // Constant time in the length of the secret.
  unsigned char difference = given.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    difference |= static_cast<unsigned char>(secret[i] ^ (i < given.size() ? given[i] : 0));
  }
  return difference == 0;
}

// A model as OpenAI's model object, plus modelhost's own fields (state, plugin).
json::object model_object(const ModelStatus& model, std::int64_t created_unix_s) {
  return json::object{{"id", model.name},
                      {"object", "model"},
                      {"created", created_unix_s},
                      {"owned_by", "modelhost"},
                      {"state", to_string(model.state)},
                      {"plugin", model.plugin},
                      {"plugin_version", model.plugin_version}};
}

// The 404 of a path no row of the listener's table matches.
HttpReply no_route_reply(const HttpRequest& request) {
  if (starts_with(request.path, "/admin/")) {
    return error_reply(404, request.listener == Listener::public_api
                                ? "the admin API is served on the admin socket only"
                                : "no admin route " + request.path);
  }
  return error_reply(404, "no route " + request.method + " " + request.path);
}

}  // namespace

std::span<const Route<Router>> Router::routes() {
  static constexpr Route<Router> kRoutes[] = {
      {"POST", "/v1/models/{name}/predict", &Router::infer<kPredict>,
       "JSON in, JSON out; `\"stream\": true` or `Accept: text/event-stream` gives Server-Sent "
       "Events"},
      {"POST", "/v1/models/{name}/tokenize", &Router::infer<kTokenize>,
       "the model's tokenizer (Llama plugin): `{\"text\"}` → `{\"ids\"}`"},
      {"POST", "/v1/models/{name}/detokenize", &Router::infer<kDetokenize>,
       "and back: `{\"ids\"}` → `{\"text\"}`"},
      {"GET", "/v1/models/{name}/stats", &Router::model_stats,
       "the plugin's own counters (the `mh.plugin.stats/1` extension; the Llama plugin: tokens "
       "generated, requests finished and cancelled, active); 501 when the plugin has none"},
      {"POST", "/v1/chat/completions", &Router::infer<kChatCompletions>,
       "OpenAI's chat completions, routed by the body's `model`; streams end with `data: [DONE]`"},
      {"POST", "/v1/completions", &Router::infer<kCompletions>,
       "OpenAI's (legacy) completions, routed by the body's `model`; streams end with "
       "`data: [DONE]`"},
      {"GET", "/v1/models", &Router::list_models, "OpenAI's list shape, each model with its state"},
      {"GET", "/v1/models/{name}", &Router::retrieve_model,
       "one model in OpenAI's shape (retrieve model); 404 when unknown"},
      {"GET", "/v2/health/live", &Router::health_live, "liveness probe (KServe v2 names)"},
      {"GET", "/v2/health/ready", &Router::health_ready,
       "readiness probe: 503 while a model is on its first load or hostd shuts down"},
      {"GET", "/v2/models/{name}/ready", &Router::model_ready,
       "one model's readiness: 200 ready, 503 loading or failed, 404 unknown"},
      {"GET", "/metrics", &Router::prometheus_metrics,
       "Prometheus text: requests by model and status, latency histogram, in-flight, model "
       "state, load and sync figures"},
  };
  return kRoutes;
}

Router::Router(std::shared_ptr<ModelRegistry> registry, Metrics& metrics, AdminApi& admin,
               RouterSettings settings)
    : registry_(std::move(registry)),
      metrics_(metrics),
      inference_(registry_, metrics),
      settings_(std::move(settings)),
      created_unix_s_(std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()) {
  public_listener_.add(routes(), *this);
  admin_listener_.add(AdminApi::routes(), admin).add(routes(), *this);
}

std::optional<HttpReply> Router::check_head(const HttpRequest& request) const {
  const bool public_listener = request.listener == Listener::public_api;
  if (request.listener == Listener::admin_tcp &&
      !bearer_matches(request.authorization, settings_.admin_token)) {
    return error_reply(401, "the admin listener needs \"Authorization: Bearer <token>\"");
  }
  if (public_listener && !settings_.api_key.empty() && starts_with(request.path, "/v1/") &&
      !bearer_matches(request.authorization, settings_.api_key)) {
    return error_reply(401, "missing or wrong API key (\"Authorization: Bearer <key>\")",
                       {{"WWW-Authenticate", "Bearer"}});
  }
  const RouteTable& table = public_listener ? public_listener_ : admin_listener_;
  RouteMatch match = table.match(request.method, request.path);
  switch (match.outcome) {
    case RouteMatch::Outcome::found:
      return std::nullopt;
    case RouteMatch::Outcome::method_not_allowed:
      return method_not_allowed_reply(request.method, request.path, match.allow);
    case RouteMatch::Outcome::not_found:
      return no_route_reply(request);
  }
  return std::nullopt;
}

void Router::handle(HttpRequest request, const std::shared_ptr<Exchange>& exchange) {
  // The server asked check_head already (before the body); asked again here, so that the
  // router stands on its own.
  if (std::optional<HttpReply> refusal = check_head(request)) {
    exchange->reply(std::move(*refusal));
    return;
  }
  const RouteTable& table =
      request.listener == Listener::public_api ? public_listener_ : admin_listener_;
  RouteMatch match = table.match(request.method, request.path);
  (*match.handler)(RouteCall{std::move(request), std::move(match.name), exchange});
}

template <const InferenceRoute& route>
void Router::infer(RouteCall call) {
  inference_.handle(route, std::move(call.name), std::move(call.request), call.exchange);
}

void Router::model_stats(RouteCall call) {
  inference_.handle_stats(std::move(call.name), call.exchange);
}

void Router::list_models(RouteCall call) {
  json::array data;
  for (const ModelStatus& model : registry_->status()) {
    data.push_back(model_object(model, created_unix_s_));
  }
  call.exchange->reply(
      json_reply(200, json::object{{"object", "list"}, {"data", std::move(data)}}));
}

void Router::retrieve_model(RouteCall call) {
  for (const ModelStatus& model : registry_->status()) {
    if (model.name != call.name) continue;
    call.exchange->reply(json_reply(200, model_object(model, created_unix_s_)));
    return;
  }
  call.exchange->reply(error_reply(404, "model \"" + call.name + "\" not found"));
}

void Router::health_live(RouteCall call) {
  call.exchange->reply(json_reply(200, json::object{{"live", true}}));
}

void Router::health_ready(RouteCall call) {
  const bool ready = !shutting_down_.load() && registry_->ready();
  call.exchange->reply(json_reply(ready ? 200 : 503, json::object{{"ready", ready}}));
}

void Router::model_ready(RouteCall call) {
  RouteResult target = registry_->route(call.name);
  if (target.kind == RouteResult::Kind::unknown) {
    call.exchange->reply(error_reply(404, target.message));
    return;
  }
  const bool ready = target.kind == RouteResult::Kind::ok;
  call.exchange->reply(
      json_reply(ready ? 200 : 503, json::object{{"name", call.name}, {"ready", ready}}));
}

void Router::prometheus_metrics(RouteCall call) {
  call.exchange->reply(HttpReply{
      200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render(registry_->status()), {}});
}

}  // namespace mh::host
