#include "sync/sources/source_https.hpp"

#include "sync/sources/s3_url.hpp"
#include "sync/sync_error.hpp"

namespace mh::sync {

HttpsSource::HttpsSource(std::string base_url, std::vector<std::string> files,
                         RedirectPolicy redirects)
    : base_url_(std::move(base_url)), files_(std::move(files)), redirects_(std::move(redirects)) {}

std::string HttpsSource::url_of(const std::string& key) const {
  return base_url_ + aws_uri_encode(key, true);
}

std::vector<RemoteObject> HttpsSource::list(const std::stop_token& stop) {
  std::vector<RemoteObject> objects;
  for (const std::string& key : files_) {
    HttpRequest request;
    request.method = "HEAD";
    request.url = url_of(key);
    request.redirects = redirects_;
    HttpResponse response = http_.perform(request, nullptr, stop);
    if (!is_success(response.status)) throw status_error(response, request.url);
    if (response.content_length < 0) {
      throw permanent_error(request.url + ": the server gives no Content-Length");
    }
    RemoteObject object;
    object.key = key;
    object.size = static_cast<std::uint64_t>(response.content_length);
    if (auto etag = response.headers.find("etag");
        etag != response.headers.end() && !etag->second.starts_with("W/")) {
      object.version = etag->second;
    } else if (auto modified = response.headers.find("last-modified");
               modified != response.headers.end()) {
      object.version = modified->second;
    } else {
      object.version = "size:" + std::to_string(object.size);
    }
    objects.push_back(std::move(object));
  }
  return objects;
}

void HttpsSource::fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) {
  HttpRequest request;
  request.url = url_of(object.key);
  request.redirects = redirects_;
  if (sink.offset() > 0) {
    request.headers.push_back("Range: bytes=" + std::to_string(sink.offset()) + "-");
    if (!object.version.starts_with("size:")) {
      request.headers.push_back("If-Range: " + object.version);
    }
  }
  HttpResponse response = http_.perform(request, &sink, stop);
  if (!is_success(response.status)) throw status_error(response, request.url);
}

}  // namespace mh::sync
