#include "model/predict_call.hpp"

#include "model/model_instance.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <random>

namespace mh::host {

namespace {

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string make_request_id() {
  // A random per-process prefix and a counter: unique, short, and cheap.
  static const std::uint32_t prefix = std::random_device{}();
  static std::atomic<std::uint64_t> counter{0};
  char text[40];
  std::snprintf(text, sizeof text, "req-%08x-%llx", prefix,
                static_cast<unsigned long long>(++counter));
  return text;
}

PredictCall::PredictCall(InferenceRequest request, std::shared_ptr<ResponseSink> sink)
    : id_(request.id), request_(std::move(request)), sink_(std::move(sink)) {
  c_request_.struct_size = sizeof(mh_request);
  c_request_.id = id_.c_str();
  c_request_.route = request_.route.c_str();
  c_request_.body = request_.body.data();
  c_request_.body_size = request_.body.size();
  c_request_.stream = request_.stream ? 1 : 0;
  c_request_.deadline_unix_ms = request_.deadline_unix_ms;
  response_.struct_size = sizeof(mh_response);
  response_.write = &PredictCall::write_fn;
  response_.finish = &PredictCall::finish_fn;
  response_.check_cancelled = &PredictCall::check_cancelled_fn;
  response_.host_data = this;
}

void PredictCall::bind(std::shared_ptr<ModelInstance> instance,
                       const std::atomic<bool>* unloading) {
  instance_ = std::move(instance);
  unloading_ = unloading;
}

mh_request* PredictCall::arm(std::shared_ptr<PredictCall> self) noexcept {
  self_ = std::move(self);
  return &c_request_;
}

mh_status PredictCall::stop_reason() const noexcept {
  if (cancelled_.load()) return MH_CANCELLED;
  if (unloading_ != nullptr && unloading_->load()) return MH_CANCELLED;
  if (request_.deadline_unix_ms != 0 && now_unix_ms() >= request_.deadline_unix_ms) {
    return MH_DEADLINE_EXCEEDED;
  }
  return MH_OK;
}

mh_status PredictCall::write_fn(mh_response* response, const char* data, std::size_t size) {
  auto* call = static_cast<PredictCall*>(response->host_data);
  if (call->finished_.load()) {
    spdlog::error("plugin bug: write after finish on request {} ignored", call->id_);
    return MH_FAILED_PRECONDITION;
  }
  if (!call->request_.stream) return MH_FAILED_PRECONDITION;
  if (mh_status reason = call->stop_reason(); reason != MH_OK) return reason;
  call->sink_->chunk(std::string(data == nullptr ? "" : data, data == nullptr ? 0 : size));
  return MH_OK;
}

void PredictCall::finish_fn(mh_response* response, mh_status status, const char* body,
                            std::size_t size) {
  auto* call = static_cast<PredictCall*>(response->host_data);
  if (call->finished_.exchange(true)) {
    spdlog::error("plugin bug: a second finish on request {} ignored", call->id_);
    return;
  }
  call->complete(status, std::string(body == nullptr ? "" : body, body == nullptr ? 0 : size));
}

mh_status PredictCall::check_cancelled_fn(const mh_response* response) {
  return static_cast<const PredictCall*>(response->host_data)->stop_reason();
}

void PredictCall::finish_by_host(mh_status status, std::string message) {
  if (finished_.exchange(true)) return;
  complete(status, std::move(message));
}

void PredictCall::complete(mh_status status, std::string body) {
  // Whatever holds this call, it stays alive until this function returns.
  std::shared_ptr<PredictCall> keep = std::move(self_);
  std::shared_ptr<ResponseSink> sink = std::move(sink_);
  std::shared_ptr<ModelInstance> instance = std::move(instance_);
  // The plugin may no longer read the request: drop the large part now.
  std::string().swap(request_.body);
  // The slot is free before the client hears back, so its next request finds it free.
  if (instance) instance->request_finished(keep, holds_slot_.load());
  if (status == MH_CANCELLED && !cancelled_.load() && unloading_ != nullptr && unloading_->load()) {
    // The client is still there; the host stopped the request (drain timeout, shutdown).
    status = MH_UNAVAILABLE;
    body = "the model was unloaded before the request finished (--drain-timeout-ms); retry";
  }
  if (sink) sink->finish(status, std::move(body));
}

}  // namespace mh::host
