#include "sync/source.hpp"

#include "sync/sources/source_https.hpp"
#include "sync/sources/source_local.hpp"
#include "sync/sources/source_s3.hpp"

namespace mh::sync {

std::unique_ptr<Source> make_source(const SourceUri& uri, const SourceSettings& settings) {
  switch (uri.kind) {
    case SourceUri::Kind::local:
      return std::make_unique<LocalSource>(uri.path, settings.listing);
    case SourceUri::Kind::s3:
      return std::make_unique<S3Source>(uri.bucket, uri.prefix,
                                        settings.s3 ? *settings.s3 : S3Settings::from_env(),
                                        settings.listing);
    case SourceUri::Kind::http:
      return std::make_unique<HttpsSource>(uri.base_url, uri.keys(), settings.https_redirects);
  }
  return nullptr;
}

}  // namespace mh::sync
