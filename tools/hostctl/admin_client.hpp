// HTTP/1.1 client for hostd's admin API (docs/admin-api.md): over the Unix socket by default, over
// TCP with a bearer token when --admin-url is given. One connection per request.
#ifndef MODELHOST_HOSTCTL_ADMIN_CLIENT_HPP
#define MODELHOST_HOSTCTL_ADMIN_CLIENT_HPP

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "admin_endpoint.hpp"

namespace hostctl {

struct HttpReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;  // empty for a 2xx streamed reply: its body went to the callback

  bool ok() const { return status >= 200 && status < 300; }
};

// Called with each piece of a streamed 2xx body as it arrives; `head` has the status and the
// content type (its body stays empty).
using BodyChunkHandler = std::function<void(const HttpReply& head, std::string_view chunk)>;

class AdminClient {
 public:
  explicit AdminClient(AdminEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

  // Errors: HostdUnreachable when nothing answers at the endpoint; OperationFailed when the
  // connection breaks or `timeout` passes before the reply is complete. An HTTP error status is
  // not an exception: look at HttpReply::status.
  HttpReply get(std::string_view target, std::chrono::seconds timeout);
  HttpReply post_json(std::string_view target, std::string body, std::chrono::seconds timeout);

  // POSTs with `Accept: text/event-stream` and hands a 2xx body to `on_chunk` piece by piece as
  // it arrives; `idle_timeout` bounds each wait for the next piece. A non-2xx body is collected
  // into the reply instead.
  HttpReply post_streaming(std::string_view target, std::string body,
                           std::chrono::seconds idle_timeout, const BodyChunkHandler& on_chunk);

  const AdminEndpoint& endpoint() const { return endpoint_; }

 private:
  AdminEndpoint endpoint_;
};

// A one-line reason from an error reply: the message of {"error": {"code", "message", "type"}}
// with the status, or the raw body when hostd sent something else.
std::string error_message(const HttpReply& reply);

// Percent-encodes one path segment (a model name) for a request target.
std::string encode_path_segment(std::string_view segment);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_ADMIN_CLIENT_HPP
