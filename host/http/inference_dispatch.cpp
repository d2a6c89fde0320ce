#include "http/inference_dispatch.hpp"

#include "http/error_mapping.hpp"
#include "http/replies.hpp"
#include "http/sse_writer.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>

namespace mh::host {

namespace json = boost::json;

namespace {

// The HTTP side of one request: frames what the model layer sends. chunk() and finish() come
// from any thread and are posted to the connection's strand, where everything else runs, so
// the state needs no lock.
class HttpReplySink final : public ReplySink, public std::enable_shared_from_this<HttpReplySink> {
 public:
  HttpReplySink(std::shared_ptr<Exchange> exchange, bool stream, bool done_marker)
      : exchange_(std::move(exchange)), stream_(stream), done_marker_(done_marker) {}

  void chunk(std::string data) override { (void)try_chunk(std::move(data)); }
  // Framed here, so that the budget counts the bytes that go out: a client that stops reading
  // holds at most --max-stream-buffer-bytes of its stream in hostd.
  mh_status try_chunk(std::string data) override {
    std::string event = sse_event(data);
    if (!exchange_->reserve_stream_bytes(event.size())) return MH_RESOURCE_EXHAUSTED;
    exchange_->post([self = shared_from_this(), event = std::move(event)]() mutable {
      self->on_chunk(std::move(event));
    });
    return MH_OK;
  }
  void finish(mh_status status, std::string body) override {
    exchange_->post([self = shared_from_this(), status, body = std::move(body)]() mutable {
      self->on_finish(status, std::move(body));
    });
  }

 private:
  void on_chunk(std::string event) {
    if (answered_) return;
    open_stream();
    exchange_->write_reserved(std::move(event));
  }

  void on_finish(mh_status status, std::string body) {
    if (answered_) return;
    answered_ = true;
    if (status != MH_OK) {
      // MH_DEADLINE_EXCEEDED becomes 504, MH_CANCELLED 499 (nobody reads it), ...
      const auto mapped = http_status_for(status);
      fail(mapped.status, body.empty() ? std::string(status_name(status)) : body);
      return;
    }
    if (!stream_) {
      exchange_->reply(serialized_json_reply(200, std::move(body)));
      return;
    }
    open_stream();
    if (!body.empty()) exchange_->write(sse_event(body));
    if (done_marker_) exchange_->write(sse_done());
    exchange_->end_stream();
  }

  void fail(unsigned status, const std::string& message) {
    if (!stream_open_) {
      exchange_->reply(error_reply(status, message));
      return;
    }
    // The stream's head (200) went out already: the error becomes its last event.
    exchange_->write(sse_event(error_json(status, message)));
    if (done_marker_) exchange_->write(sse_done());
    exchange_->end_stream();
  }

  void open_stream() {
    if (stream_open_) return;
    stream_open_ = true;
    exchange_->start_stream(200, "text/event-stream", {});
  }

  std::shared_ptr<Exchange> exchange_;
  const bool stream_;
  const bool done_marker_;
  bool stream_open_ = false;
  bool answered_ = false;
};

bool accepts_event_stream(std::string_view accept) {
  // A client that asks for text/event-stream (and not only as one option among JSON).
  return accept.find("text/event-stream") != std::string_view::npos &&
         accept.find("application/json") == std::string_view::npos;
}

// The HTTP answer to a model layer refusal.
HttpReply refusal_reply(ModelOutcome outcome, const std::string& message,
                        std::chrono::seconds retry_after, mh_status plugin_status = MH_OK) {
  unsigned status = 503;
  switch (outcome) {
    case ModelOutcome::unknown:
      status = 404;
      break;
    case ModelOutcome::busy:
      status = 429;
      break;
    case ModelOutcome::unimplemented:
      status = 501;
      break;
    case ModelOutcome::plugin_error:
      status = http_status_for(plugin_status).status;
      break;
    case ModelOutcome::accepted:  // not a refusal; callers do not get here
    case ModelOutcome::loading:
    case ModelOutcome::unavailable:
    case ModelOutcome::shutting_down:
      status = 503;
      break;
  }
  HttpHeaders headers;
  if (retry_after.count() > 0)
    headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return error_reply(status, message, std::move(headers));
}

}  // namespace

bool is_json_content_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  if (type.empty()) return true;
  if (boost::beast::iequals(type, "application/json")) return true;
  return type.size() > 5 && boost::beast::iequals(type.substr(type.size() - 5), "+json");
}

InferenceDispatch::InferenceDispatch(std::shared_ptr<ModelRegistry> registry, Metrics& metrics)
    : registry_(std::move(registry)), metrics_(metrics) {}

void InferenceDispatch::handle(const InferenceRoute& route, std::string model, HttpRequest request,
                               const std::shared_ptr<Exchange>& exchange) {
  // Every answer counts in /metrics, refusals too, under the label the registry gives ("" until
  // it knows the model).
  auto label = std::make_shared<std::string>();
  const auto started = std::chrono::steady_clock::now();
  exchange->on_complete([&metrics = metrics_, label, started](unsigned status) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.observe_request(*label, status == 0 ? 499 : status, seconds);
  });
  if (!is_json_content_type(request.content_type)) {
    exchange->reply(error_reply(
        415, "Content-Type must be application/json, got \"" + request.content_type + "\""));
    return;
  }
  if (request.body.empty()) {
    exchange->reply(error_reply(400, "the request body is empty; expected JSON"));
    return;
  }
  boost::system::error_code parse_error;
  json::value body = json::parse(request.body, parse_error);
  if (parse_error) {
    exchange->reply(
        error_reply(400, "malformed JSON in the request body: " + parse_error.message()));
    return;
  }
  if (route.model_in_body) {
    const json::value* name = body.is_object() ? body.as_object().if_contains("model") : nullptr;
    if (name == nullptr || !name->is_string() || name->as_string().empty()) {
      exchange->reply(error_reply(400, "the request body needs \"model\": the name of a model"));
      return;
    }
    model = std::string(name->as_string());
  }
  bool stream = accepts_event_stream(request.accept);
  if (body.is_object()) {
    if (const json::value* flag = body.as_object().if_contains("stream")) {
      if (flag->is_bool()) stream = flag->as_bool();
    }
  }

  InferenceRequest inference;
  inference.route = std::string(route.plugin_route);
  inference.body = std::move(request.body);
  inference.stream = stream;
  auto sink = std::make_shared<HttpReplySink>(exchange, stream, route.done_marker);
  SubmitResult result = registry_->submit(model, std::move(inference), std::move(sink));
  *label = std::move(result.metrics_label);
  if (result.outcome != ModelOutcome::accepted) {
    exchange->reply(refusal_reply(result.outcome, result.message, result.retry_after));
    return;
  }
  // On the strand: the answer, posted there, cannot overtake this registration.
  exchange->on_client_gone([handle = std::move(result.handle)] { handle.cancel(); });
}

void InferenceDispatch::handle_stats(std::string model, const std::shared_ptr<Exchange>& exchange) {
  PluginStatsResult stats = registry_->plugin_stats(model);
  if (stats.outcome != ModelOutcome::accepted) {
    exchange->reply(
        refusal_reply(stats.outcome, stats.message, stats.retry_after, stats.plugin_status));
    return;
  }
  exchange->reply(serialized_json_reply(200, std::move(stats.json)));
}

}  // namespace mh::host
