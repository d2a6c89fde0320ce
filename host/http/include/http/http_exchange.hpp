#pragma once
// The HTTP layer's plain types: a request as the routes see it, a whole reply, and the
// Exchange through which a route answers — at once, later (from any thread), or as a stream.
// Routes never see Beast or sockets; the server never sees models.
#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mh::host {

enum class Listener {
  public_api,    // --listen
  admin_socket,  // --admin-socket: file permissions are the access control
  admin_tcp,     // --admin-listen: needs the admin token
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target without its query, percent-decoding not applied
  std::string query;
  std::string content_type;   // "" when absent
  std::string accept;         // "" when absent
  std::string authorization;  // "" when absent
  std::string body;
  Listener listener = Listener::public_api;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  HttpHeaders headers;
};

// One request's way back to its client. Every function may be called from any thread; the
// exchange serialises them on its connection's strand. Calls after the client left, or after
// the reply completed, are ignored.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // A whole reply; completes the exchange.
  virtual void reply(HttpReply reply) = 0;
  // A streamed reply (chunked transfer encoding): the head, then body pieces, then the end.
  virtual void start_stream(unsigned status, std::string content_type, HttpHeaders headers) = 0;
  virtual void write(std::string data) = 0;
  virtual void end_stream() = 0;
  // Back-pressure for streams (plugin.h's `write` contract). reserve_stream_bytes reserves room
  // for `bytes` more of this stream's body; it is false when the client has not yet taken what
  // was written before and `bytes` more would pass --max-stream-buffer-bytes (while nothing is
  // unsent, any size fits). After a true, the caller writes those bytes with write_reserved;
  // their room is given back once the socket took them. Defaults: no bound.
  virtual bool reserve_stream_bytes(std::size_t bytes) {
    (void)bytes;
    return true;
  }
  virtual void write_reserved(std::string data) { write(std::move(data)); }
  // Runs `task` on the connection's strand.
  virtual void post(std::function<void()> task) = 0;
  // The strand, for timers whose handlers touch state that only the strand touches.
  virtual boost::asio::any_io_executor executor() = 0;
  // `callback` runs once, on the strand, if the client disconnects before the reply completed.
  virtual void on_client_gone(std::function<void()> callback) = 0;
  // `callback` runs once, on the strand, when the reply was handed to the socket completely
  // (or the client left): with the HTTP status sent (0 when none was).
  virtual void on_complete(std::function<void(unsigned status)> callback) = 0;
};

using RequestHandler = std::function<void(HttpRequest request, std::shared_ptr<Exchange> exchange)>;

// Looks at a request when its head is complete, before a byte of its body is read (`head` has
// an empty body): a reply refuses it at once (401, 404, 405), so that a client without the key
// or with a wrong path never gets its body buffered; nullopt lets the body be read and the
// request handled. [thread: the connection's strand; quick, never blocks]
using HeadCheck = std::function<std::optional<HttpReply>(const HttpRequest& head)>;

}  // namespace mh::host
