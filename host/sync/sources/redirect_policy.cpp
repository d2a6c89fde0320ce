#include "sync/sources/redirect_policy.hpp"

#include <curl/curl.h>

#include <memory>
#include <optional>

namespace mh::sync {

namespace {

struct UrlParts {
  std::string scheme;  // lowercase
  std::string host;    // lowercase
};

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

std::string part(CURLU* url, CURLUPart which) {
  char* text = nullptr;
  if (curl_url_get(url, which, &text, 0) != CURLUE_OK || text == nullptr) return {};
  std::string out(text);
  curl_free(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<UrlParts> parse(std::string_view text) {
  std::unique_ptr<CURLU, CurlUrlDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, std::string(text).c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  UrlParts parts{part(url.get(), CURLUPART_SCHEME), part(url.get(), CURLUPART_HOST)};
  if (parts.scheme.empty()) return std::nullopt;
  return parts;
}

bool host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  for (std::string entry : allowed) {
    for (char& c : entry) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (entry.starts_with("*.")) {
      const std::string_view suffix = std::string_view(entry).substr(1);  // ".example.org"
      if (host.size() > suffix.size() && host.ends_with(suffix)) return true;
    } else if (host == entry) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string redirect_refusal(std::string_view from, std::string_view to,
                             const RedirectPolicy& policy) {
  if (policy.max_redirects <= 0) return "redirects are not followed for this source";
  const auto source = parse(from);
  const auto target = parse(to);
  if (!source || !target) return "redirect to a malformed URL refused";
  if (target->scheme != "https" && target->scheme != "http") {
    return "redirect to a \"" + target->scheme + "\" URL refused";
  }
  if (source->host.empty() || target->host.empty()) return "redirect to a malformed URL refused";
  if (source->scheme == "https" && target->scheme != "https") {
    return "redirect from https down to http refused";
  }
  if (target->host != source->host && !host_allowed(target->host, policy.allowed_hosts)) {
    return "redirect to another host \"" + target->host +
           "\" refused (not in the allowed redirect hosts)";
  }
  return {};
}

}  // namespace mh::sync
