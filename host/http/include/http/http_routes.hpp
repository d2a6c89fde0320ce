#pragma once
// The route table of hostd's HTTP API and the handlers of the small routes (probes, model
// list, metrics). Inference routes go to InferenceDispatch, /admin/* to AdminApi.
//
//   POST /v1/models/{name}/predict      -> plugin route "predict"
//   POST /v1/models/{name}/tokenize     -> "tokenize"
//   POST /v1/models/{name}/detokenize   -> "detokenize"
//   POST /v1/chat/completions           -> "chat.completions" (model from the body)
//   POST /v1/completions                -> "completions"      (model from the body)
//   GET  /v1/models                     OpenAI's list shape, with each model's state
//   GET  /v2/health/live, /v2/health/ready, /v2/models/{name}/ready   probes (KServe v2)
//   GET  /metrics                       Prometheus text
//   /admin/*                            the admin API (admin listeners only)
//
// Errors: 400 malformed JSON (or a missing "model" on OpenAI routes), 404 unknown model or
// route, 405 wrong method, 413 body over --max-body-bytes (refused from Content-Length before
// the body is read), 415 a Content-Type that is not JSON (a missing one counts as JSON), 429
// over max_concurrency + max_queue, 503 + Retry-After while a model loads (or failed, or
// hostd shuts down), 504 past timeout_ms; plugin codes map through error_mapping.cpp.
#include "config/host_config.hpp"
#include "http/admin_api.hpp"
#include "http/http_exchange.hpp"
#include "http/inference_dispatch.hpp"
#include "metrics/metrics.hpp"
#include "model/model_registry.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

  // Shutdown has begun: readiness reports 503.
  void set_shutting_down() noexcept { shutting_down_.store(true); }

 private:
  std::shared_ptr<ModelRegistry> registry_;
  Metrics& metrics_;
  AdminApi& admin_;
  InferenceDispatch inference_;
  RouterSettings settings_;
  std::atomic<bool> shutting_down_{false};
  const std::int64_t created_unix_s_;
};

// Matches `path` against a pattern with {name} segments; fills `name` with the segment.
bool match_route(std::string_view pattern, std::string_view path, std::string& name);

}  // namespace mh::host
