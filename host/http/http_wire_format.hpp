#pragma once
// The bytes of HTTP/1.1 replies as a connection writes them: a whole reply with its
// Content-Length, or a chunked stream's head, its chunks and its end. Private to the server.
#include "http/http_exchange.hpp"

#include <string>
#include <string_view>

namespace mh::host {

// Head and body of a whole reply; "Connection: keep-alive" or "close" per `keep_alive`.
std::string whole_reply_bytes(const HttpReply& reply, bool keep_alive);

// The head of a streamed reply (Transfer-Encoding: chunked, no caching, no proxy buffering).
std::string stream_head_bytes(unsigned status, std::string_view content_type,
                              const HttpHeaders& headers, bool keep_alive);

// One chunk of a streamed body (`data` must not be empty: an empty chunk ends the stream).
std::string chunk_bytes(std::string_view data);

// The last chunk: the end of a streamed body.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The interim answer to "Expect: 100-continue".
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace mh::host
