#pragma once
// The bytes of HTTP/1.1 replies as a connection writes them: a whole reply with its
// Content-Length, or a chunked stream's head, its chunks and its end. Private to the server.
#include "http/http_exchange.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace mh::host {

// Head and body of a whole reply; "Connection: keep-alive" or "close" per `keep_alive`.
std::string whole_reply_bytes(const HttpReply& reply, bool keep_alive);

// The head of a streamed reply (no caching, no proxy buffering): Transfer-Encoding: chunked, or,
// for an HTTP/1.0 client (`chunked` false), a body that ends when the connection closes.
std::string stream_head_bytes(unsigned status, std::string_view content_type,
                              const HttpHeaders& headers, bool keep_alive, bool chunked = true);

// One chunk of a streamed body (`data` must not be empty: an empty chunk ends the stream).
std::string chunk_bytes(std::string_view data);

// At least what chunk_bytes adds around a chunk's data (the size line and two CRLFs): what a
// stream's budget counts per chunk beyond its data.
inline constexpr std::size_t kChunkFramingBytes = 24;

// The last chunk: the end of a streamed body.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The interim answer to "Expect: 100-continue".
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace mh::host
