#pragma once
// One request to one model generation, and the host's side of plugin.h's mh_request and
// mh_response: the plugin writes chunks and finishes through the C function pointers here,
// from any thread, and asks whether to stop (client gone, unloading, deadline passed).
#include "model/response_sink.hpp"

#include <modelhost/plugin.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace mh::host {

class ModelInstance;

struct InferenceRequest {
  std::string id;     // e.g. "req-00f3a1..."; unique per hostd process
  std::string route;  // "predict", "chat.completions", ...
  std::string body;   // JSON text, validated by the HTTP layer
  bool stream = false;
  std::int64_t deadline_unix_ms = 0;  // 0: none
};

// A fresh request id.
std::string make_request_id();

class PredictCall {
 public:
  PredictCall(InferenceRequest request, std::shared_ptr<ResponseSink> sink);
  PredictCall(const PredictCall&) = delete;
  PredictCall& operator=(const PredictCall&) = delete;

  const std::string& id() const noexcept { return id_; }
  const InferenceRequest& request() const noexcept { return request_; }

  // The client went away: check_cancelled and write report MH_CANCELLED from now on.
  void cancel() noexcept { cancelled_.store(true); }
  bool cancelled() const noexcept { return cancelled_.load(); }
  // What check_cancelled reports now.
  mh_status stop_reason() const noexcept;
  bool finished() const noexcept { return finished_.load(); }

  // --- used by ModelInstance ---
  // Ties the call to the generation that will run it (for the unloading flag, and so the
  // instance outlives the call).
  void bind(std::shared_ptr<ModelInstance> instance, const std::atomic<bool>* unloading);
  // Keeps the call alive until the plugin's finish; returns the C structs to hand to predict.
  mh_request* arm(std::shared_ptr<PredictCall> self) noexcept;
  mh_response* c_response() noexcept { return &response_; }
  // Admission gave the call a slot, which its end must give back.
  void mark_holds_slot() noexcept { holds_slot_.store(true); }
  // Finishes the call without the plugin (cancelled or expired before it started, or
  // refused). No-op when already finished.
  void finish_by_host(mh_status status, std::string message);

 private:
  static mh_status write_fn(mh_response* response, const char* data, std::size_t size);
  static void finish_fn(mh_response* response, mh_status status, const char* body,
                        std::size_t size);
  static mh_status check_cancelled_fn(const mh_response* response);
  void complete(mh_status status, std::string body);

  const std::string id_;
  InferenceRequest request_;
  std::shared_ptr<ResponseSink> sink_;
  std::shared_ptr<ModelInstance> instance_;
  const std::atomic<bool>* unloading_ = nullptr;
  std::shared_ptr<PredictCall> self_;  // set while the plugin holds the call
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> holds_slot_{false};
  mh_request c_request_{};
  mh_response response_{};
};

}  // namespace mh::host
