#include "http_wire_format.hpp"

#include <boost/beast/http/status.hpp>

#include <cstdio>

namespace mh::host {

namespace http = boost::beast::http;

namespace {

std::string reason_phrase(unsigned status) {
  if (status == 499) return "Client Closed Request";
  auto reason = http::obsolete_reason(http::int_to_status(status));
  return reason.empty() ? "Unknown" : std::string(reason);
}

std::string status_line(unsigned status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
}

std::string header_lines(const HttpHeaders& headers, bool keep_alive) {
  std::string lines;
  for (const auto& [name, value] : headers) lines += name + ": " + value + "\r\n";
  lines += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  lines += "\r\n";
  return lines;
}

}  // namespace

std::string whole_reply_bytes(const HttpReply& reply, bool keep_alive) {
  std::string bytes = status_line(reply.status);
  bytes += "Content-Type: " + reply.content_type + "\r\n";
  bytes += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  bytes += header_lines(reply.headers, keep_alive);
  bytes += reply.body;
  return bytes;
}

std::string stream_head_bytes(unsigned status, std::string_view content_type,
                              const HttpHeaders& headers, bool keep_alive, bool chunked) {
  std::string bytes = status_line(status);
  bytes += "Content-Type: ";
  bytes += content_type;
  bytes += "\r\n";
  if (chunked) bytes += "Transfer-Encoding: chunked\r\n";
  bytes += "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
  bytes += header_lines(headers, keep_alive);
  return bytes;
}

std::string chunk_bytes(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string bytes = size;
  bytes += data;
  bytes += "\r\n";
  return bytes;
}

}  // namespace mh::host
