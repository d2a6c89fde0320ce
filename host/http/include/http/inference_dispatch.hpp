#pragma once
// One inference request from HTTP into a model and back: body checks, routing to the serving
// generation, admission (429), the deadline (504, and the plugin is told through
// check_cancelled), cancellation when the client leaves, and the framing of the answer —
// JSON, or Server-Sent Events for streams (OpenAI routes end with "data: [DONE]").
#include "config/host_config.hpp"
#include "http/http_exchange.hpp"
#include "metrics/metrics.hpp"
#include "model/model_registry.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace mh::host {

// An inference route of the public API (see kInferenceRoutes in http_routes.cpp).
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

 private:
  std::shared_ptr<ModelRegistry> registry_;
  Metrics& metrics_;
};

// Whether a Content-Type header names JSON: application/json (any parameters), a +json
// type, or none at all.
bool is_json_content_type(std::string_view content_type);

}  // namespace mh::host
