#pragma once
// Where one request's answer goes. The HTTP layer implements it (framing JSON or Server-Sent
// Events); the model layer calls it from whatever thread the plugin used.
#include <modelhost/plugin.h>

#include <string>

namespace mh::host {

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // One streamed chunk (only for stream requests). [thread: any; calls do not overlap]
  virtual void chunk(std::string data) = 0;
  // The end: MH_OK with the reply (for a stream: an optional last chunk), or an error code
  // with a message. Called exactly once per request. [thread: any]
  virtual void finish(mh_status status, std::string body) = 0;
};

}  // namespace mh::host
