// An S3-compatible bucket prefix as a source: ListObjectsV2 (paginated) and GetObject (with
// Range to resume), path-style URLs, SigV4 signed by libcurl.
#pragma once

#include <string>

#include "sync/source.hpp"
#include "sync/sources/http_client.hpp"
#include "sync/sources/s3_settings.hpp"

namespace mh::sync {

// version = ETag (LastModified where a store omits it). A single-part ETag (32 hex digits, no '-')
// is the object's MD5 and is verified after the transfer; multipart ETags are not digests and only
// detect change. A listing answer larger than limits.max_page_bytes, or more objects in all than
// limits.max_objects, fails the listing (permanent): a hostile store cannot exhaust memory.
class S3Source final : public Source {
 public:
  S3Source(std::string bucket, std::string prefix, S3Settings settings, ListingLimits limits = {});

  std::vector<RemoteObject> list(const std::stop_token& stop) override;
  void fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) override;

 private:
  HttpRequest signed_request(std::string url) const;

  std::string bucket_;
  std::string prefix_;
  S3Settings settings_;
  ListingLimits limits_;
  HttpClient http_;
};

}  // namespace mh::sync
