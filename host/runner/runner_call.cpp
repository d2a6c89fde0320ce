#include "runner_call.hpp"

#include "plugin_host.hpp"

#include "plugin/request_deadline.hpp"

namespace mh::runner {

RunnerCall::RunnerCall(PluginHost& host, isolation::PredictMessage message)
    : host_(host), message_(std::move(message)) {
  request_.struct_size = sizeof(mh_request);
  request_.id = message_.id.c_str();
  request_.route = message_.route.c_str();
  request_.body = message_.body.data();
  request_.body_size = message_.body.size();
  request_.stream = message_.stream ? 1 : 0;
  request_.deadline_unix_ms = message_.deadline_unix_ms;
  response_.struct_size = sizeof(mh_response);
  response_.write = &RunnerCall::write_fn;
  response_.finish = &RunnerCall::finish_fn;
  response_.check_cancelled = &RunnerCall::check_cancelled_fn;
  response_.host_data = this;
}

mh_status RunnerCall::stop_reason() const noexcept {
  if (mh_status stop = stop_.load(); stop != MH_OK) return stop;
  if (host::deadline_passed(message_.deadline_unix_ms)) {
    return MH_DEADLINE_EXCEEDED;
  }
  return MH_OK;
}

void RunnerCall::cancel(mh_status status) noexcept {
  mh_status expected = MH_OK;
  stop_.compare_exchange_strong(expected, status);
}

mh_status RunnerCall::write_fn(mh_response* response, const char* data, std::size_t size) {
  auto* self = static_cast<RunnerCall*>(response->host_data);
  return self->host_.write(*self, data, size);
}

void RunnerCall::finish_fn(mh_response* response, mh_status status, const char* body,
                           std::size_t size) {
  auto* self = static_cast<RunnerCall*>(response->host_data);
  self->host_.finish(*self, status, body, size);
}

mh_status RunnerCall::check_cancelled_fn(const mh_response* response) {
  return static_cast<const RunnerCall*>(response->host_data)->stop_reason();
}

}  // namespace mh::runner
