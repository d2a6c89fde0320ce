#include "http/inference_dispatch.hpp"

#include "http/error_mapping.hpp"
#include "http/sse_writer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>

namespace mh::host {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpReply error_reply(unsigned status, std::string_view message, HttpHeaders headers = {}) {
  return HttpReply{status, "application/json", error_json(status, message), std::move(headers)};
}

// The HTTP side of one request: frames what the plugin sends. Everything but chunk() and
// finish() runs on the connection's strand, so the state needs no lock.
class HttpResponseSink final : public ResponseSink,
                               public std::enable_shared_from_this<HttpResponseSink> {
 public:
  HttpResponseSink(std::shared_ptr<Exchange> exchange, bool stream, bool done_marker,
                   std::string request_id)
      : exchange_(std::move(exchange)),
        stream_(stream),
        done_marker_(done_marker),
        request_id_(std::move(request_id)) {}

  void chunk(std::string data) override {
    exchange_->post([self = shared_from_this(), data = std::move(data)]() mutable {
      self->on_chunk(std::move(data));
    });
  }
  void finish(mh_status status, std::string body) override {
    exchange_->post([self = shared_from_this(), status, body = std::move(body)]() mutable {
      self->on_finish(status, std::move(body));
    });
  }

  // [strand] The request's deadline passed: answer 504 now; the plugin sees
  // MH_DEADLINE_EXCEEDED from check_cancelled and write.
  void on_deadline(std::uint64_t timeout_ms) {
    if (answered_) return;
    answered_ = true;
    const std::string message = "the request took longer than the model's timeout_ms (" +
                                std::to_string(timeout_ms) + " ms)";
    spdlog::info("request {}: {}", request_id_, message);
    fail(504, message);
  }

  void set_timer(std::shared_ptr<asio::steady_timer> timer) { timer_ = std::move(timer); }

 private:
  void on_chunk(std::string data) {
    if (answered_) return;
    open_stream();
    exchange_->write(sse_event(data));
  }

  void on_finish(mh_status status, std::string body) {
    if (timer_) timer_->cancel();
    if (answered_) return;  // the host answered already (deadline)
    answered_ = true;
    if (status != MH_OK) {
      const auto mapped = http_status_for(status);
      fail(mapped.status, body.empty() ? std::string(status_name(status)) : body);
      return;
    }
    if (!stream_) {
      exchange_->reply(HttpReply{200, "application/json", std::move(body), {}});
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
  const std::string request_id_;
  std::shared_ptr<asio::steady_timer> timer_;
  bool stream_open_ = false;
  bool answered_ = false;
};

bool accepts_event_stream(std::string_view accept) {
  // A client that asks for text/event-stream (and not only as one option among JSON).
  return accept.find("text/event-stream") != std::string_view::npos &&
         accept.find("application/json") == std::string_view::npos;
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
  // Every answer counts in /metrics, refusals too. The label is the model's name once the
  // registry knows it, else "" (so that random names cannot grow the series without bound).
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

  // The serving generation may start draining between route() and submit(); then submit says
  // `closed` and the next route() finds its successor.
  for (int attempt = 0; attempt < 8; ++attempt) {
    RouteResult target = registry_->route(model);
    if (target.kind != RouteResult::Kind::unknown) *label = model;
    switch (target.kind) {
      case RouteResult::Kind::unknown:
        exchange->reply(error_reply(404, target.message));
        return;
      case RouteResult::Kind::loading:
        exchange->reply(error_reply(503, target.message, {{"Retry-After", "2"}}));
        return;
      case RouteResult::Kind::unavailable:
        exchange->reply(error_reply(503, target.message, {{"Retry-After", "10"}}));
        return;
      case RouteResult::Kind::ok:
        break;
    }
    InferenceRequest inference;
    inference.id = make_request_id();
    inference.route = std::string(route.plugin_route);
    inference.body = std::move(request.body);
    inference.stream = stream;
    if (target.timeout_ms > 0) {
      inference.deadline_unix_ms = now_unix_ms() + static_cast<std::int64_t>(target.timeout_ms);
    }
    const std::string request_id = inference.id;
    auto sink = std::make_shared<HttpResponseSink>(exchange, stream, route.done_marker, request_id);
    auto call = std::make_shared<PredictCall>(std::move(inference), sink);
    Admission::Ticket ticket = 0;
    auto instance = target.instance;
    const auto outcome = instance->submit(call, &ticket);
    if (outcome == Admission::Outcome::closed) {
      request.body = call->request().body;  // not started: take the body back and re-route
      continue;
    }
    if (outcome == Admission::Outcome::rejected) {
      exchange->reply(error_reply(
          429,
          "model \"" + model + "\" is busy: " + std::to_string(instance->spec().max_concurrency) +
              " requests running and " + std::to_string(instance->spec().max_queue) +
              " waiting (max_concurrency, max_queue)",
          {{"Retry-After", "1"}}));
      return;
    }
    exchange->on_client_gone([call, instance, ticket, request_id] {
      spdlog::debug("request {}: the client left; cancelling", request_id);
      call->cancel();
      instance->withdraw(ticket, call, MH_CANCELLED, "the client left");
    });
    if (target.timeout_ms > 0) {
      // We are on the strand: the answer (posted there) cannot overtake the timer's setup.
      auto timer = std::make_shared<asio::steady_timer>(
          exchange->executor(), std::chrono::milliseconds(target.timeout_ms));
      sink->set_timer(timer);
      timer->async_wait([sink, instance, call, ticket,
                         timeout_ms = target.timeout_ms](boost::system::error_code error) {
        if (error) return;
        sink->on_deadline(timeout_ms);
        instance->withdraw(ticket, call, MH_DEADLINE_EXCEEDED, "deadline passed in the queue");
      });
    }
    return;
  }
  exchange->reply(
      error_reply(503, "model \"" + model + "\" is being replaced; retry", {{"Retry-After", "1"}}));
}

}  // namespace mh::host
