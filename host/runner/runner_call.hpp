#pragma once
// One request inside the runner: the plugin's mh_request and mh_response, backed by the
// predict frame's strings. write and finish become frames (through PluginHost); check_cancelled
// answers from what hostd's cancel frames said and from the request's own deadline, without a
// round trip — cheap enough per token, as plugin.h promises.
#include "isolation/messages.hpp"

#include <modelhost/plugin.h>

#include <atomic>

namespace mh::runner {

class PluginHost;

class RunnerCall {
 public:
  RunnerCall(PluginHost& host, isolation::PredictMessage message);
  RunnerCall(const RunnerCall&) = delete;
  RunnerCall& operator=(const RunnerCall&) = delete;

  std::uint64_t call() const noexcept { return message_.call; }
  const std::string& id() const noexcept { return message_.id; }
  bool stream() const noexcept { return message_.stream; }
  mh_request* request() noexcept { return &request_; }
  mh_response* response() noexcept { return &response_; }

  // What check_cancelled reports now: hostd's cancel, else the deadline, else MH_OK.
  mh_status stop_reason() const noexcept;
  // hostd said stop (the first reason wins).
  void cancel(mh_status status) noexcept;
  // True for the first finish only.
  bool mark_finished() noexcept { return !finished_.exchange(true); }
  bool finished() const noexcept { return finished_.load(); }

 private:
  static mh_status write_fn(mh_response* response, const char* data, std::size_t size);
  static void finish_fn(mh_response* response, mh_status status, const char* body,
                        std::size_t size);
  static mh_status check_cancelled_fn(const mh_response* response);

  PluginHost& host_;
  const isolation::PredictMessage message_;
  mh_request request_{};
  mh_response response_{};
  std::atomic<mh_status> stop_{MH_OK};
  std::atomic<bool> finished_{false};
};

}  // namespace mh::runner
