#pragma once
// hostd's public HTTP API: its route table (Router::routes(), printed by hostd --print-routes)
// and the handlers of the small routes (probes, model list, metrics); inference routes go to
// InferenceDispatch. The Router also picks each listener's table:
//   public listener (--listen)                 Router::routes()
//   admin listeners (socket, --admin-listen)   AdminApi::routes(), then Router::routes()
// and applies each listener's guard first (--api-key on /v1/*, the admin token on TCP).
//
// Errors: 400 malformed JSON (or a missing "model" on OpenAI routes), 404 unknown model or
// route, 405 + Allow for a method the path does not take, 413 body over --max-body-bytes
// (refused from Content-Length before the body is read), 415 a Content-Type that is not JSON (a
// missing one counts as JSON), 429 over max_concurrency + max_queue, 503 + Retry-After while a
// model loads (or failed, or hostd shuts down), 504 past timeout_ms; plugin codes map through
// error_mapping.cpp.
#include "http/admin_api.hpp"
#include "http/http_exchange.hpp"
#include "http/inference_dispatch.hpp"
#include "http/route_table.hpp"
#include "metrics/metrics.hpp"
#include "model/model_registry.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace mh::host {

struct RouterSettings {
  std::string api_key;      // guards /v1/* on the public listener when set
  std::string admin_token;  // guards the TCP admin listener
};

class Router {
 public:
  Router(std::shared_ptr<ModelRegistry> registry, Metrics& metrics, AdminApi& admin,
         RouterSettings settings);

  // The RequestHandler of every listener. [thread: the connection's strand]
  void handle(HttpRequest request, const std::shared_ptr<Exchange>& exchange);
  // The HeadCheck of every listener: the key or token (401), then the route (404, 405), from
  // the head alone, so that a refused request's body is never read. [thread: any]
  std::optional<HttpReply> check_head(const HttpRequest& request) const;

  // Shutdown has begun: readiness reports 503.
  void set_shutting_down() noexcept { shutting_down_.store(true); }

  // The public API's rows, in the order they are matched.
  static std::span<const Route<Router>> routes();

 private:
  // An inference route: the plugin sees `route.plugin_route` (the rows name them).
  template <const InferenceRoute& route>
  void infer(RouteCall call);
  void model_stats(RouteCall call);
  void list_models(RouteCall call);
  void retrieve_model(RouteCall call);
  void health_live(RouteCall call);
  void health_ready(RouteCall call);
  void model_ready(RouteCall call);
  void prometheus_metrics(RouteCall call);

  std::shared_ptr<ModelRegistry> registry_;
  Metrics& metrics_;
  InferenceDispatch inference_;
  RouterSettings settings_;
  std::atomic<bool> shutting_down_{false};
  const std::int64_t created_unix_s_;
  RouteTable public_listener_;
  RouteTable admin_listener_;
};

}  // namespace mh::host
