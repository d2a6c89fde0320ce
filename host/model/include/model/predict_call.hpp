#pragma once
// One request to one model generation, and the host's side of plugin.h's mh_request and
// mh_response: the plugin writes chunks and finishes through the C function pointers here,
// from any thread, and asks whether to stop (client gone, unloading, deadline passed).
//
// Two ends, kept apart: the *answer* (the sink's finish, at most once) and the *completion*
// (the plugin's finish, or the host's when the plugin never got the call, which frees the
// admission slot). They usually coincide; when the deadline passes first, the client hears
// 504 at once and the plugin's later finish only frees the slot.
#include "model/admission.hpp"
#include "model/reply_sink.hpp"
#include "plugin/request_deadline.hpp"

#include <modelhost/plugin.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace mh::host {

class ModelInstance;

struct InferenceRequest {
  std::string id;     // e.g. "req-00f3a1..."; unique per hostd process ("" : submit makes one)
  std::string route;  // "predict", "chat.completions", ...
  std::string body;   // JSON text, validated by the HTTP layer
  bool stream = false;
  std::int64_t deadline_unix_ms = 0;  // 0: none; set from the model's timeout_ms on submit
};

// A fresh request id.
std::string make_request_id();

class PredictCall : public std::enable_shared_from_this<PredictCall> {
 public:
  PredictCall(InferenceRequest request, std::shared_ptr<ReplySink> sink);
  PredictCall(const PredictCall&) = delete;
  PredictCall& operator=(const PredictCall&) = delete;

  const std::string& id() const noexcept { return id_; }
  // What the plugin sees as mh_request.deadline_unix_ms (0: none).
  std::int64_t deadline_unix_ms() const noexcept { return c_request_.deadline_unix_ms; }

  // The client went away: check_cancelled and write report MH_CANCELLED from now on.
  // (RequestHandle::cancel also takes a queued call out.)
  void cancel() noexcept { cancelled_.store(true); }
  bool cancelled() const noexcept { return cancelled_.load(); }
  // What check_cancelled reports now.
  mh_status stop_reason() const noexcept;
  // Completed: the plugin finished, or the host did for it.
  bool finished() const noexcept { return finished_.load(); }

  // --- used by ModelInstance ---
  // Ties the call to the generation that will run it (for the unloading flag, and so the
  // instance outlives the call). Again when a closed generation handed it to its successor.
  void bind(std::shared_ptr<ModelInstance> instance, const std::atomic<bool>* unloading);
  // The deadline the plugin sees; before admission only.
  void set_deadline(std::int64_t deadline_unix_ms) noexcept;
  // Admission queued the call under this ticket (0: not queued).
  void set_ticket(Admission::Ticket ticket) noexcept { ticket_.store(ticket); }
  Admission::Ticket ticket() const noexcept { return ticket_.load(); }
  // Starts the deadline timer on `timers` (an executor whose tasks never block): when it fires
  // before completion, `expired` runs first (it takes a still queued call out, finishing it
  // with the message) and then the sink hears MH_DEADLINE_EXCEEDED with "the request took
  // longer than the model's timeout_ms (N ms)" unless it heard already; from then on the plugin
  // sees MH_DEADLINE_EXCEEDED. The timer is cancelled when the call completes. Once, after
  // admission.
  using Expired = std::function<void(const std::shared_ptr<PredictCall>&, const std::string&)>;
  void start_deadline_timer(boost::asio::any_io_executor timers, std::uint64_t timeout_ms,
                            Expired expired);
  // Where and after how long a call still in the plugin past its deadline or cancellation
  // turns stuck (ModelInstance::request_stuck); before admission.
  void set_stuck_watch(boost::asio::any_io_executor timers,
                       std::chrono::milliseconds grace) noexcept;
  // The call was told to stop (deadline, cancel, unloading): when it is in the plugin, a timer
  // of the stuck grace starts (once); still unfinished when it fires, the call is stuck — and
  // when the instance unloads and the client still waits, the client hears 503 then.
  void watch_for_stuck();
  bool stuck() const noexcept { return stuck_.load(); }
  // The deadline timer fired (the client heard 504).
  bool deadline_told() const noexcept { return deadline_passed_.load(); }
  // Keeps the call alive until the plugin's finish; returns the C structs to hand to predict.
  mh_request* arm() noexcept;
  mh_response* c_response() noexcept { return &response_; }
  // Admission gave the call a slot, which its completion must give back.
  void mark_holds_slot() noexcept { holds_slot_.store(true); }
  // Takes the slot from the call (true once, for whoever gives it back: its completion, or
  // the stuck path before it).
  bool take_slot() noexcept { return holds_slot_.exchange(false); }
  // Completes the call without the plugin (cancelled or expired before it started, or
  // refused). No-op when already completed.
  void finish_by_host(mh_status status, std::string message);

 private:
  static mh_status write_fn(mh_response* response, const char* data, std::size_t size);
  static void finish_fn(mh_response* response, mh_status status, const char* body,
                        std::size_t size);
  static mh_status check_cancelled_fn(const mh_response* response);
  void complete(mh_status status, std::string body);
  void on_deadline(std::uint64_t timeout_ms, const Expired& expired);
  void on_stuck_timer();
  // Gives the sink its finish unless it had one; false when it had.
  bool answer(mh_status status, std::string body);

  const std::string id_;
  InferenceRequest request_;
  std::shared_ptr<ModelInstance> instance_;
  std::weak_ptr<ModelInstance> owner_;  // instance_, for the stuck timer (instance_ moves)
  const std::atomic<bool>* unloading_ = nullptr;
  std::shared_ptr<PredictCall> self_;  // set while the plugin holds the call
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> deadline_passed_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> holds_slot_{false};  // exchanged to false by whoever gives the slot back
  std::atomic<bool> in_plugin_{false};   // armed: the plugin holds the call
  std::atomic<bool> stuck_{false};
  std::atomic<Admission::Ticket> ticket_{0};

  // The sink, until it had its finish: chunks and the finish are delivered under this lock,
  // so no chunk follows the finish (the deadline may answer while the plugin writes).
  std::mutex sink_mutex_;
  std::shared_ptr<ReplySink> sink_;  // guarded by sink_mutex_; null once answered

  std::mutex timer_mutex_;
  std::unique_ptr<boost::asio::steady_timer> deadline_timer_;  // guarded by timer_mutex_
  std::unique_ptr<boost::asio::steady_timer> stuck_timer_;     // guarded by timer_mutex_
  boost::asio::any_io_executor stuck_timers_;                  // set before admission
  std::chrono::milliseconds stuck_grace_{0};

  mh_request c_request_{};
  mh_response response_{};
};

}  // namespace mh::host
