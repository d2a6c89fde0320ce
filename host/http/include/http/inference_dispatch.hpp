#pragma once
// One inference request from HTTP into the model layer and back. This is translation only:
// body checks (415 content type, 400 empty or malformed JSON, the body's "model" on OpenAI
// routes), stream detection, ModelRegistry::submit's outcome as a status with headers (404,
// 503 + Retry-After, 429 + Retry-After), the framing of the answer — JSON, or Server-Sent Events
// for streams (OpenAI routes end with "data: [DONE]") — and cancelling through the request's
// handle when the client leaves. Admission, deadlines and re-routing are the model layer's.
#include "http/http_exchange.hpp"
#include "metrics/metrics.hpp"
#include "model/model_registry.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace mh::host {

// An inference route of the public API (see the route table in http_routes.cpp).
struct InferenceRoute {
  std::string_view plugin_route;  // what the plugin sees in mh_request.route
  bool model_in_body = false;     // OpenAI style: the body's "model" names the model
  bool done_marker = false;       // SSE streams end with "data: [DONE]"
};

class InferenceDispatch {
 public:
  InferenceDispatch(std::shared_ptr<ModelRegistry> registry, Metrics& metrics);

  // `model` is the name from the path ("" for routes that take it from the body).
  // [thread: the exchange's strand, as the server calls handlers]
  void handle(const InferenceRoute& route, std::string model, HttpRequest request,
              const std::shared_ptr<Exchange>& exchange);

  // GET /v1/models/{name}/stats: the serving plugin's mh.plugin.stats/1 object with 200; 404
  // unknown model, 503 + Retry-After while it loads (or is unavailable), 501 when the plugin
  // has no such extension; a plugin error maps through error_mapping.
  // [thread: the exchange's strand]
  void handle_stats(std::string model, const std::shared_ptr<Exchange>& exchange);

 private:
  std::shared_ptr<ModelRegistry> registry_;
  Metrics& metrics_;
};

// Whether a Content-Type header names JSON: application/json (any parameters), a +json
// type, or none at all.
bool is_json_content_type(std::string_view content_type);

}  // namespace mh::host
