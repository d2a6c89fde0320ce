// HTTP GET/HEAD through libcurl for the S3 and HTTPS sources: a pool of easy handles (so
// connections are reused across files), response bodies streamed into a ByteSink, and curl
// failures and HTTP statuses sorted into transient and permanent SyncErrors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "sync/source.hpp"
#include "sync/sources/redirect_policy.hpp"
#include "sync/sync_error.hpp"

namespace mh::sync {

struct HttpRequest {
  std::string method = "GET";  // GET or HEAD
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Unset: a 3xx answer is returned as it is. Set: redirects are followed one hop at a time, each
  // checked against the policy first (a refused or one too many is a permanent error).
  std::optional<RedirectPolicy> redirects;
  // A body kept in memory (no sink) larger than this fails the request (permanent error).
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  // SigV4 through CURLOPT_AWS_SIGV4 when not empty, e.g. "aws:amz:us-east-1:s3", with the
  // credentials in `user_password` ("ACCESS_KEY:SECRET").
  std::string aws_sigv4;
  std::string user_password;
};

struct HttpResponse {
  long status = 0;
  std::string body;  // error bodies always; success bodies only when no sink was given
  std::map<std::string, std::string> headers;  // names lowercased; the last value wins
  std::int64_t content_length = -1;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs `request`. With a `sink`, a 2xx body goes to it (a 200 answer to a request that
  // resumes at sink->offset() > 0 restarts the sink first); without, into response.body.
  // Before a byte reaches the sink, the answer is checked against it: a 206 must start at
  // sink->offset(), and neither its Content-Length nor its Content-Range total may take the object
  // past sink->size_limit() (permanent errors: the server is not sending what was listed).
  // Throws SyncError for transport failures (transient: refused, reset, timeout, short body;
  // cancelled: `stop`); HTTP error statuses are returned, not thrown: see status_error().
  HttpResponse perform(const HttpRequest& request, ByteSink* sink, const std::stop_token& stop);

 private:
  HttpResponse perform_once(const HttpRequest& request, const std::string& url, ByteSink* sink,
                            const std::stop_token& stop);

  struct Pool;
  std::unique_ptr<Pool> pool_;
};

// The SyncError for a non-2xx answer: transient for 408, 429 and 5xx, permanent otherwise.
// The message names `what` (e.g. the key), the status and the S3 error code/message if any.
SyncError status_error(const HttpResponse& response, const std::string& what);

bool is_success(long status);

}  // namespace mh::sync
