#pragma once
// What the server makes of a request's head before it reads the body: the framing checks that
// keep one request from being read as two (request smuggling behind a proxy), and the plain
// HttpRequest the routes see. Private to the server.
#include "http/http_exchange.hpp"

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>

namespace mh::host {

// Why the head's body framing is refused (the text of a 400), or nullopt. Refused: a
// Transfer-Encoding other than exactly "chunked" (another coding, a list, chunked not last,
// the header twice), Transfer-Encoding on HTTP/1.0, and Transfer-Encoding together with
// Content-Length.
std::optional<std::string> framing_problem(const boost::beast::http::request_header<>& head);

// The request as the routes see it, with an empty body.
HttpRequest request_from_head(const boost::beast::http::request_header<>& head, Listener listener);

}  // namespace mh::host
