#pragma once
// What the model layer answers when asked to run a request (ModelRegistry::submit) or to read a
// plugin's stats (ModelRegistry::plugin_stats): an outcome, with a message and a retry hint for
// the refusals. The HTTP layer turns outcomes into statuses and headers; the model layer never
// speaks HTTP.
#include <modelhost/plugin.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace mh::host {

class ModelInstance;
class PredictCall;

enum class ModelOutcome {
  accepted,       // submit: admitted, the sink will hear the answer; stats: `json` holds them
  unknown,        // no such model (or it was removed, or unloaded by the operator)
  loading,        // its first generation is still syncing or loading
  unavailable,    // it failed, or its generation was being replaced too often to admit
  busy,           // max_concurrency requests run and max_queue wait
  shutting_down,  // hostd stops
  unimplemented,  // stats: the plugin has no mh.plugin.stats/1
  plugin_error,   // stats: the plugin answered with an error (`plugin_status`)
};

// The way back to an admitted request, for its caller: cancel() when the client left.
// Copyable; holds the request (not its answer) alive. [thread: any]
class RequestHandle {
 public:
  RequestHandle() = default;
  RequestHandle(std::shared_ptr<PredictCall> call, std::shared_ptr<ModelInstance> instance);

  // The client is gone: a queued request is withdrawn and finished with MH_CANCELLED, a
  // running one sees MH_CANCELLED from check_cancelled and write. Idempotent; a no-op on an
  // empty handle or a finished request.
  void cancel() const;
  // The request's id ("" on an empty handle), for logs.
  std::string_view request_id() const noexcept;

 private:
  std::shared_ptr<PredictCall> call_;
  std::shared_ptr<ModelInstance> instance_;
};

struct SubmitResult {
  ModelOutcome outcome = ModelOutcome::unknown;
  std::string message;                  // why, when not accepted (names the model)
  std::chrono::seconds retry_after{0};  // a hint for refusals that may pass later (0: none)
  // The model label for per-model metrics: the name once the registry knows the model, else
  // "" (so that random names cannot grow the series without bound).
  std::string metrics_label;
  RequestHandle handle;  // when accepted
};

struct PluginStatsResult {
  ModelOutcome outcome = ModelOutcome::unknown;
  std::string json;  // accepted: the plugin's JSON object, as it wrote it
  std::string message;
  std::chrono::seconds retry_after{0};
  mh_status plugin_status = MH_OK;  // plugin_error: what the plugin answered
};

}  // namespace mh::host
