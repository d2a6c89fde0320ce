// Where model files come from. A Source lists objects and streams one object's bytes into a
// ByteSink; it never touches the target directory (the synchronizer owns every local path).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "sync/source_uri.hpp"
#include "sync/sources/redirect_policy.hpp"
#include "sync/sources/s3_settings.hpp"

namespace mh::sync {

struct RemoteObject {
  std::string key;  // relative to the source root, '/'-separated; validated by the caller
  std::uint64_t size = 0;
  std::string version;  // changes whenever the content may have: ETag, or mtime for files
  std::string md5;      // lowercase hex, when the source guarantees it (single-part S3 ETag)
  std::string sha256;   // lowercase hex, when the source gives it
};

// Receives one object's bytes, in order, from offset() on.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Appends. Throws SyncError: permanent on a local write error (disk full), cancelled on stop.
  virtual void write(const char* data, std::size_t size) = 0;
  // The source cannot continue from offset() (the server ignored a Range request, say): forget
  // everything written so far; the bytes that follow start at 0.
  virtual void restart() = 0;
  // Bytes held so far: where a fetch starts (resuming with a Range request when > 0).
  virtual std::uint64_t offset() const = 0;
  // The most bytes the object may have in all (the size its listing announced). write() refuses
  // bytes past it, and a source refuses an answer that announces more before writing any.
  virtual std::uint64_t size_limit() const { return UINT64_MAX; }
};

// Every method may be called from several threads at once (parallel transfers).
class Source {
 public:
  virtual ~Source() = default;

  // All objects under the source root. Throws SyncError (transient ones are retried).
  virtual std::vector<RemoteObject> list(const std::stop_token& stop) = 0;

  // Streams `object` from sink.offset() to its end into `sink`. Throws SyncError; a transfer cut
  // short may leave fewer bytes than object.size in the sink without throwing: the caller checks.
  virtual void fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) = 0;
};

// Bounds on what a listing may hold in memory; a source that exceeds one fails the listing with a
// permanent error naming the limit.
struct ListingLimits {
  std::size_t max_objects = 100'000;              // objects in one listing (all pages together)
  std::size_t max_page_bytes = 16 * 1024 * 1024;  // one S3 ListObjectsV2 answer body
};

struct SourceSettings {
  std::optional<S3Settings> s3;           // unset: S3Settings::from_env() when an S3 source is made
  RedirectPolicy https_redirects{5, {}};  // for HTTP(S) sources: same host, never https -> http
  ListingLimits listing;
};

std::unique_ptr<Source> make_source(const SourceUri& uri, const SourceSettings& settings = {});

}  // namespace mh::sync
