// Files under an HTTP(S) base URL, named by an explicit list (HTTP cannot list a directory).
#pragma once

#include <string>
#include <vector>

#include "sync/source.hpp"
#include "sync/sources/http_client.hpp"

namespace mh::sync {

// list() sends a HEAD per file: size from Content-Length, version from ETag (else
// Last-Modified). fetch() resumes with Range + If-Range, so a file replaced on the server is
// sent whole and the transfer restarts cleanly. Redirects (CDNs) are followed as `redirects`
// allows: by default up to 5 hops on the same host, never from https down to http.
class HttpsSource final : public Source {
 public:
  HttpsSource(std::string base_url, std::vector<std::string> files,
              RedirectPolicy redirects = RedirectPolicy{5, {}});

  std::vector<RemoteObject> list(const std::stop_token& stop) override;
  void fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) override;

 private:
  std::string url_of(const std::string& key) const;

  std::string base_url_;
  std::vector<std::string> files_;
  RedirectPolicy redirects_;
  HttpClient http_;
};

}  // namespace mh::sync
