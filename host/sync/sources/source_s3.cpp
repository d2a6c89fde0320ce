#include "sync/sources/source_s3.hpp"

#include <spdlog/spdlog.h>

#include "sync/sources/s3_url.hpp"
#include "sync/sources/s3_xml.hpp"
#include "sync/sync_error.hpp"

namespace mh::sync {

namespace {

// SHA-256 of an empty body. libcurl 7.88 does not send x-amz-content-sha256, which S3 requires
// for SigV4; this value is also what curl hashes for our empty GET bodies, so the header, the
// signed payload hash and newer curls (which read the header) all agree.
constexpr const char* kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

constexpr int kMaxListPages = 100000;  // 100 million keys at the usual 1000 per page

bool is_md5_etag(const std::string& etag) {
  if (etag.size() != 32) return false;
  for (const char c : etag) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

S3Source::S3Source(std::string bucket, std::string prefix, S3Settings settings,
                   ListingLimits limits)
    : bucket_(std::move(bucket)),
      prefix_(std::move(prefix)),
      settings_(std::move(settings)),
      limits_(limits) {
  while (!settings_.endpoint.empty() && settings_.endpoint.back() == '/') {
    settings_.endpoint.pop_back();
  }
  if (settings_.endpoint.empty()) {
    settings_.endpoint = "https://s3." + settings_.region + ".amazonaws.com";
  }
  if (settings_.access_key_id.empty()) {
    spdlog::info("sync: no AWS_ACCESS_KEY_ID; requests to s3://{}/{} are unsigned", bucket_,
                 prefix_);
  }
}

HttpRequest S3Source::signed_request(std::string url) const {
  HttpRequest request;
  request.url = std::move(url);
  if (!settings_.access_key_id.empty()) {
    request.aws_sigv4 = "aws:amz:" + settings_.region + ":s3";
    request.user_password = settings_.access_key_id + ":" + settings_.secret_access_key;
    request.headers.push_back(std::string("x-amz-content-sha256: ") + kEmptyPayloadSha256);
    if (!settings_.session_token.empty()) {
      request.headers.push_back("x-amz-security-token: " + settings_.session_token);
    }
  }
  return request;
}

std::vector<RemoteObject> S3Source::list(const std::stop_token& stop) {
  std::vector<RemoteObject> objects;
  std::string token;
  const std::string where = "s3://" + bucket_ + "/" + prefix_;
  for (int page_number = 1;; ++page_number) {
    HttpRequest request = signed_request(
        list_objects_v2_url(settings_.endpoint, bucket_, prefix_, token, settings_.list_page_size));
    request.max_body_bytes = limits_.max_page_bytes;
    HttpResponse response;
    try {
      response = http_.perform(request, nullptr, stop);
    } catch (const SyncError& e) {
      if (e.kind() != ErrorKind::permanent) throw;  // retried by the caller as it is
      throw permanent_error("listing " + where + ": " + e.what());
    }
    if (!is_success(response.status)) throw status_error(response, "listing " + where);
    ListPage page;
    try {
      page = parse_list_objects_v2(response.body);
    } catch (const std::runtime_error& e) {
      throw transient_error("listing " + where + ": " + e.what());
    }
    for (ListedObject& listed : page.objects) {
      if (!listed.key.starts_with(prefix_)) {
        throw permanent_error("listing " + where + ": the server returned key \"" + listed.key +
                              "\" outside the prefix");
      }
      std::string key = listed.key.substr(prefix_.size());
      if (key.empty() || key.back() == '/') continue;  // "directory" marker objects
      if (objects.size() >= limits_.max_objects) {
        throw permanent_error("listing " + where + ": more than " +
                              std::to_string(limits_.max_objects) +
                              " objects (the listing limit); sync a prefix further down");
      }
      RemoteObject object;
      object.key = std::move(key);
      object.size = listed.size;
      // Some S3-compatible stores leave ETag out of listings: fall back to the modification time.
      object.version = !listed.etag.empty() ? listed.etag : "modified:" + listed.last_modified;
      if (is_md5_etag(listed.etag)) object.md5 = lower(listed.etag);
      objects.push_back(std::move(object));
    }
    spdlog::debug("sync: {} page {}: {} objects", where, page_number, page.objects.size());
    if (!page.truncated) break;
    // A server that hands back the same token, or pages without end, would loop forever.
    if (page.next_continuation_token == token || page_number >= kMaxListPages) {
      throw permanent_error("listing " + where + ": the server's pagination does not end (page " +
                            std::to_string(page_number) + ")");
    }
    token = page.next_continuation_token;
  }
  return objects;
}

void S3Source::fetch(const RemoteObject& object, ByteSink& sink, const std::stop_token& stop) {
  HttpRequest request =
      signed_request(object_url(settings_.endpoint, bucket_, prefix_ + object.key));
  if (sink.offset() > 0) {
    request.headers.push_back("Range: bytes=" + std::to_string(sink.offset()) + "-");
    // Resume only the very object we started: a replaced one answers 412.
    if (!object.version.starts_with("modified:")) {
      request.headers.push_back("If-Match: \"" + object.version + "\"");
    }
  }
  HttpResponse response = http_.perform(request, &sink, stop);
  const std::string what = "s3://" + bucket_ + "/" + prefix_ + object.key;
  if (response.status == 412) {
    throw permanent_error(what + ": the object changed during the sync (ETag no longer \"" +
                          object.version + "\"); sync again");
  }
  if (!is_success(response.status)) throw status_error(response, what);
}

}  // namespace mh::sync
