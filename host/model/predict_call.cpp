#include "model/predict_call.hpp"

#include "model/model_instance.hpp"
#include "model/model_outcome.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <random>

namespace mh::host {

namespace {

// What a client hears when the host stopped its request to unload the model.
constexpr const char* kUnloadedMessage =
    "the model was unloaded before the request finished (--drain-timeout-ms); retry";

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

PredictCall::PredictCall(InferenceRequest request, std::shared_ptr<ReplySink> sink)
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
  owner_ = instance;
  instance_ = std::move(instance);
  unloading_ = unloading;
}

void PredictCall::set_stuck_watch(boost::asio::any_io_executor timers,
                                  std::chrono::milliseconds grace) noexcept {
  stuck_timers_ = std::move(timers);
  stuck_grace_ = grace;
}

void PredictCall::watch_for_stuck() {
  if (!in_plugin_.load() || finished_.load() || !stuck_timers_) return;
  std::lock_guard lock(timer_mutex_);
  if (finished_.load() || stuck_timer_) return;
  stuck_timer_ = std::make_unique<boost::asio::steady_timer>(stuck_timers_, stuck_grace_);
  stuck_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    if (error) return;
    if (auto call = weak.lock()) call->on_stuck_timer();
  });
}

void PredictCall::on_stuck_timer() {
  auto owner = owner_.lock();
  if (!owner) return;
  {
    // complete() reads stuck_ under this lock after setting finished_: a call is counted
    // stuck only when its finish has not begun, and its finish then uncounts it.
    std::lock_guard lock(timer_mutex_);
    if (finished_.load() || stuck_.exchange(true)) return;
  }
  // Cut by the drain timeout: the client waits no longer (as it would not past a deadline).
  if (!cancelled_.load() && unloading_ != nullptr && unloading_->load()) {
    answer(MH_UNAVAILABLE, kUnloadedMessage);
  }
  owner->request_stuck(shared_from_this());
}

void PredictCall::set_deadline(std::int64_t deadline_unix_ms) noexcept {
  request_.deadline_unix_ms = deadline_unix_ms;
  c_request_.deadline_unix_ms = deadline_unix_ms;
}

void PredictCall::start_deadline_timer(boost::asio::any_io_executor timers,
                                       std::uint64_t timeout_ms, Expired expired) {
  std::lock_guard lock(timer_mutex_);
  // complete() cancels the timer under the same lock after setting finished_: a call that
  // completed already needs none.
  if (finished_.load() || deadline_timer_) return;
  deadline_timer_ = std::make_unique<boost::asio::steady_timer>(
      std::move(timers), std::chrono::milliseconds(timeout_ms));
  deadline_timer_->async_wait([weak = weak_from_this(), timeout_ms, expired = std::move(expired)](
                                  const boost::system::error_code& error) {
    if (error) return;
    auto call = weak.lock();
    if (call && !call->finished()) call->on_deadline(timeout_ms, expired);
  });
}

void PredictCall::on_deadline(std::uint64_t timeout_ms, const Expired& expired) {
  deadline_passed_.store(true);  // from now on the plugin hears it too
  const std::string message =
      "the request took longer than the model's timeout_ms (" + std::to_string(timeout_ms) + " ms)";
  spdlog::info("request {}: {}", id_, message);
  // A queued call leaves the queue before its client hears, so that the client's next request
  // finds the queue as the answer says.
  if (expired) expired(shared_from_this(), message);
  answer(MH_DEADLINE_EXCEEDED, message);
  watch_for_stuck();
}

mh_request* PredictCall::arm() noexcept {
  self_ = shared_from_this();
  in_plugin_.store(true);
  // Told to stop between the worker's check and now: watched as if told later.
  if (stop_reason() != MH_OK) {
    try {
      watch_for_stuck();
    } catch (...) {
      // no timer (out of memory): the call is simply not watched
    }
  }
  return &c_request_;
}

mh_status PredictCall::stop_reason() const noexcept {
  if (cancelled_.load()) return MH_CANCELLED;
  if (unloading_ != nullptr && unloading_->load()) return MH_CANCELLED;
  if (deadline_passed_.load()) return MH_DEADLINE_EXCEEDED;
  if (deadline_passed(request_.deadline_unix_ms)) {
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
  std::lock_guard lock(call->sink_mutex_);
  if (!call->sink_) return MH_DEADLINE_EXCEEDED;  // the deadline answered while it wrote
  return call->sink_->try_chunk(
      std::string(data == nullptr ? "" : data, data == nullptr ? 0 : size));
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

bool PredictCall::answer(mh_status status, std::string body) {
  std::shared_ptr<ReplySink> sink;
  {
    std::lock_guard lock(sink_mutex_);
    sink = std::move(sink_);
    if (!sink) return false;
    // Under the lock, so that a write racing with this finish cannot deliver a chunk after it.
    sink->finish(status, std::move(body));
  }
  return true;
}

void PredictCall::complete(mh_status status, std::string body) {
  // Whatever holds this call, it stays alive until this function returns.
  std::shared_ptr<PredictCall> keep = std::move(self_);
  std::shared_ptr<ModelInstance> instance = std::move(instance_);
  bool was_stuck = false;
  {
    std::lock_guard lock(timer_mutex_);
    if (deadline_timer_) deadline_timer_->cancel();
    if (stuck_timer_) stuck_timer_->cancel();
    was_stuck = stuck_.load();
  }
  // The plugin may no longer read the request: drop the large part now.
  std::string().swap(request_.body);
  // The slot is free before the client hears back, so its next request finds it free (a stuck
  // call gave it back already: the exchange makes sure only one of the two does).
  if (instance) {
    instance->request_finished(keep, take_slot());
    if (was_stuck) instance->stuck_request_finished();
  }
  if (status == MH_CANCELLED && !cancelled_.load() && unloading_ != nullptr && unloading_->load()) {
    // The client is still there; the host stopped the request (drain timeout, shutdown).
    status = MH_UNAVAILABLE;
    body = kUnloadedMessage;
  }
  answer(status, std::move(body));
}

RequestHandle::RequestHandle(std::shared_ptr<PredictCall> call,
                             std::shared_ptr<ModelInstance> instance)
    : call_(std::move(call)), instance_(std::move(instance)) {}

void RequestHandle::cancel() const {
  if (!call_ || call_->finished()) return;
  spdlog::debug("request {}: the client left; cancelling", call_->id());
  call_->cancel();
  if (instance_) instance_->withdraw(call_, MH_CANCELLED, "the client left");
  call_->watch_for_stuck();
}

std::string_view RequestHandle::request_id() const noexcept {
  return call_ ? std::string_view(call_->id()) : std::string_view();
}

}  // namespace mh::host
