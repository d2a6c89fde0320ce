#pragma once
// Where one request's answer goes. The HTTP layer implements it (framing JSON or Server-Sent
// Events); the model layer calls it from whatever thread the plugin, or the deadline timer,
// used. (Named apart from the Llama plugin's own ResponseSink, which is unrelated.)
#include <modelhost/plugin.h>

#include <string>
#include <utility>

namespace mh::host {

class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // One streamed chunk (only for stream requests). Never after finish.
  // [thread: any; calls do not overlap]
  virtual void chunk(std::string data) = 0;
  // chunk() with back-pressure: MH_OK when the chunk was queued, MH_RESOURCE_EXHAUSTED when the
  // client has not read enough of what was sent before (the chunk was dropped; see plugin.h's
  // `write`). The default queues always. [thread: any; calls do not overlap]
  virtual mh_status try_chunk(std::string data) {
    chunk(std::move(data));
    return MH_OK;
  }
  // The end: MH_OK with the reply (for a stream: an optional last chunk), or an error code
  // with a message. Called at most once per request: exactly once for a request that
  // ModelRegistry::submit accepted, never for one it refused. [thread: any]
  virtual void finish(mh_status status, std::string body) = 0;
};

}  // namespace mh::host
