#include "request_head.hpp"

#include <boost/beast/core/string.hpp>

namespace mh::host {

namespace http = boost::beast::http;

namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<std::string> framing_problem(const http::request_header<>& head) {
  const std::size_t codings = head.count(http::field::transfer_encoding);
  if (codings == 0) return std::nullopt;
  if (codings > 1) return "more than one Transfer-Encoding header";
  if (head.version() < 11) return "Transfer-Encoding is not allowed in an HTTP/1.0 request";
  const std::string_view value = trimmed(head[http::field::transfer_encoding]);
  if (!boost::beast::iequals(value, "chunked")) {
    return "Transfer-Encoding \"" + std::string(value) +
           "\" is not supported; only \"chunked\" alone is";
  }
  if (head.count(http::field::content_length) != 0) {
    return "a request may not have both Transfer-Encoding and Content-Length";
  }
  return std::nullopt;
}

HttpRequest request_from_head(const http::request_header<>& head, Listener listener) {
  HttpRequest request;
  request.method = std::string(head.method_string());
  const std::string_view target = head.target();
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  request.content_type = std::string(head[http::field::content_type]);
  request.accept = std::string(head[http::field::accept]);
  request.authorization = std::string(head[http::field::authorization]);
  request.listener = listener;
  return request;
}

}  // namespace mh::host
