#include "sync/sources/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <exception>

#include "sync/sources/s3_xml.hpp"

namespace mh::sync {

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// "16 MiB" for whole MiB, else bytes.
std::string size_text(std::uint64_t bytes) {
  if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The absolute URL a Location header names, resolved against the URL that answered; "" when
// malformed. (Without CURLOPT_FOLLOWLOCATION libcurl only reports redirects: each hop is checked
// against the request's policy before it is taken.)
std::string resolve_location(const std::string& base, const std::string& location) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), &curl_url_cleanup);
  char* text = nullptr;
  if (!url || curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      curl_url_set(url.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK ||
      curl_url_get(url.get(), CURLUPART_URL, &text, 0) != CURLUE_OK || text == nullptr) {
    return {};
  }
  std::string resolved(text);
  curl_free(text);
  return resolved;
}

// Everything the callbacks need; exceptions are parked here, never thrown through libcurl.
struct TransferContext {
  CURL* curl = nullptr;
  ByteSink* sink = nullptr;
  const std::stop_token* stop = nullptr;
  HttpResponse* response = nullptr;
  const std::string* url = nullptr;
  std::size_t max_body_bytes = 0;
  bool status_checked = false;
  bool to_sink = false;
  std::exception_ptr error;
};

// "bytes 100-199/1000" -> {100, 1000}; total -1 for "*"; nullopt when malformed.
std::optional<std::pair<std::uint64_t, std::int64_t>> parse_content_range(std::string_view text) {
  if (!text.starts_with("bytes ")) return std::nullopt;
  text.remove_prefix(6);
  const std::size_t dash = text.find('-');
  const std::size_t slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  std::uint64_t first = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + dash, first);
  if (ec != std::errc() || end != text.data() + dash) return std::nullopt;
  const std::string_view total_text = text.substr(slash + 1);
  if (total_text == "*") return std::pair{first, std::int64_t{-1}};
  std::uint64_t total = 0;
  auto [total_end, total_ec] =
      std::from_chars(total_text.data(), total_text.data() + total_text.size(), total);
  if (total_ec != std::errc() || total_end != total_text.data() + total_text.size()) {
    return std::nullopt;
  }
  return std::pair{first, static_cast<std::int64_t>(total)};
}

// A 2xx answer is about to go to the sink: check that it continues the sink where it stands and
// cannot grow the object past what was listed. Runs before the first byte is written.
void check_answer_fits(const TransferContext& ctx, long status) {
  ByteSink& sink = *ctx.sink;
  const std::uint64_t limit = sink.size_limit();
  std::uint64_t start = 0;
  if (status == 206) {
    const auto header = ctx.response->headers.find("content-range");
    const auto range =
        header == ctx.response->headers.end() ? std::nullopt : parse_content_range(header->second);
    if (!range || range->first != sink.offset()) {
      throw permanent_error("the server answered a request for the bytes from " +
                            std::to_string(sink.offset()) + " with " +
                            (range ? "bytes from " + std::to_string(range->first)
                                   : std::string("no usable Content-Range")));
    }
    start = range->first;
    if (range->second >= 0 && limit != UINT64_MAX &&
        static_cast<std::uint64_t>(range->second) != limit) {
      throw permanent_error("the object now has " + std::to_string(range->second) +
                            " bytes, not the " + std::to_string(limit) +
                            " bytes listed: it changed during the sync; sync again");
    }
  }
  curl_off_t length = -1;
  curl_easy_getinfo(ctx.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length >= 0 && limit != UINT64_MAX &&
      (start > limit || static_cast<std::uint64_t>(length) > limit - start)) {
    throw permanent_error("the answer announces " +
                          std::to_string(start + static_cast<std::uint64_t>(length)) +
                          " bytes, more than the " + std::to_string(limit) + " bytes listed");
  }
}

std::size_t on_body(char* data, std::size_t one, std::size_t n, void* user) {
  auto* ctx = static_cast<TransferContext*>(user);
  const std::size_t size = one * n;
  try {
    if (!ctx->status_checked) {
      ctx->status_checked = true;
      long status = 0;
      curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &status);
      ctx->to_sink = ctx->sink != nullptr && is_success(status);
      // A full body (200) to a request that asked for the rest (Range): start over.
      if (ctx->to_sink && status == 200 && ctx->sink->offset() > 0) ctx->sink->restart();
      if (ctx->to_sink) check_answer_fits(*ctx, status);
    }
    std::string& body = ctx->response->body;
    if (ctx->to_sink) {
      ctx->sink->write(data, size);
    } else if (ctx->sink == nullptr) {
      if (size > ctx->max_body_bytes - std::min(body.size(), ctx->max_body_bytes)) {
        throw permanent_error(*ctx->url + ": the answer is larger than " +
                              size_text(ctx->max_body_bytes));
      }
      body.append(data, size);
    } else if (body.size() < kMaxErrorBody) {
      body.append(data, size);
    }
    return size;
  } catch (...) {
    ctx->error = std::current_exception();
    return 0;  // makes curl fail with CURLE_WRITE_ERROR; the parked exception is rethrown
  }
}

std::size_t on_header(char* data, std::size_t one, std::size_t n, void* user) {
  auto* ctx = static_cast<TransferContext*>(user);
  const std::size_t size = one * n;
  std::string_view line(data, size);
  if (line.starts_with("HTTP/")) {
    ctx->response->headers.clear();  // a new response (after a redirect or 100-continue)
    return size;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  ctx->response->headers[name] = std::string(value);
  return size;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ctx = static_cast<TransferContext*>(user);
  return ctx->stop->stop_requested() ? 1 : 0;
}

const char* reason_phrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return nullptr;
  }
}

}  // namespace

struct HttpClient::Pool {
  std::mutex mutex;
  std::vector<CURL*> idle;
  ~Pool() {
    for (CURL* curl : idle) curl_easy_cleanup(curl);
  }
  CURL* take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CURL* curl = idle.back();
        idle.pop_back();
        curl_easy_reset(curl);  // clears options, keeps the connection and DNS caches
        return curl;
      }
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) throw transient_error("curl_easy_init failed");
    return curl;
  }
  void give_back(CURL* curl) {
    std::lock_guard lock(mutex);
    idle.push_back(curl);
  }
};

HttpClient::HttpClient() : pool_(std::make_unique<Pool>()) {
  global_init();
}
HttpClient::~HttpClient() = default;

bool is_success(long status) {
  return status >= 200 && status < 300;
}

HttpResponse HttpClient::perform(const HttpRequest& request, ByteSink* sink,
                                 const std::stop_token& stop) {
  std::string url = request.url;
  for (int hops = 0;; ++hops) {
    HttpResponse response = perform_once(request, url, sink, stop);
    if (!request.redirects || !is_redirect(response.status)) return response;
    const auto location = response.headers.find("location");
    if (location == response.headers.end()) return response;  // a 3xx without a target: an error
    std::string target = resolve_location(url, location->second);
    if (target.empty()) throw permanent_error(request.url + ": redirect to a malformed URL");
    if (std::string why = redirect_refusal(url, target, *request.redirects); !why.empty()) {
      throw permanent_error(request.url + ": " + why);
    }
    if (hops >= request.redirects->max_redirects) {
      throw permanent_error(request.url + ": more than " +
                            std::to_string(request.redirects->max_redirects) + " redirects");
    }
    url = std::move(target);
  }
}

HttpResponse HttpClient::perform_once(const HttpRequest& request, const std::string& url,
                                      ByteSink* sink, const std::stop_token& stop) {
  CURL* curl = pool_->take();
  struct Return {
    Pool* pool;
    CURL* curl;
    ~Return() { pool->give_back(curl); }
  } give_back{pool_.get(), curl};

  HttpResponse response;
  TransferContext ctx;
  ctx.curl = curl;
  ctx.sink = sink;
  ctx.stop = &stop;
  ctx.response = &response;
  ctx.url = &request.url;
  ctx.max_body_bytes = request.max_body_bytes;

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& header : request.headers) {
    curl_slist* appended = curl_slist_append(headers.get(), header.c_str());
    if (appended == nullptr) throw transient_error("curl_slist_append failed");
    headers.release();
    headers.reset(appended);
  }

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // Only the schemes a source may use, for the request and (were curl to follow) redirects.
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  // A transfer that moves less than 1 KiB/s for 30 s is a stalled one: time out and retry.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);  // bytes as stored, no decoding
  if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!request.aws_sigv4.empty()) {
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, request.user_password.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  response.content_length = length;
  if (ctx.error) std::rethrow_exception(ctx.error);
  if (code == CURLE_OK) return response;
  if (code == CURLE_ABORTED_BY_CALLBACK && stop.stop_requested()) throw cancelled_error();
  const std::string why = curl_easy_strerror(code);
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      throw permanent_error(request.url + ": " + why);
    default:
      // Refused, reset, timed out, body cut short, DNS hiccups, TLS handshake failures: retry.
      throw transient_error(request.url + ": " + why);
  }
}

SyncError status_error(const HttpResponse& response, const std::string& what) {
  std::string message = what + ": HTTP " + std::to_string(response.status);
  if (auto s3 = parse_s3_error(response.body)) {
    if (!s3->code.empty()) message += " " + s3->code;
    if (!s3->message.empty()) message += ": " + s3->message;
  } else if (const char* reason = reason_phrase(response.status)) {
    message += std::string(" ") + reason;  // HEAD answers and non-S3 servers have no XML body
  }
  const long s = response.status;
  if (s == 408 || s == 429 || s >= 500) return transient_error(message);
  return permanent_error(message);
}

}  // namespace mh::sync
