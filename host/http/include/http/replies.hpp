#pragma once
// The replies every route builds: JSON documents, the error shape of error_mapping.hpp
// ({"error": {"code", "message", "type"}}), and the 405 that route tables derive. One place, so
// that every listener answers errors alike.
#include "http/http_exchange.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace mh::host {

// `value` serialised, as application/json.
HttpReply json_reply(unsigned status, const boost::json::value& value);

// A body that is JSON text already (a plugin's reply, a document serialised elsewhere).
HttpReply serialized_json_reply(unsigned status, std::string json_text);

// {"error": {"code": status, "message": message, "type": error_type_for(status)}}, with
// `headers` (e.g. Retry-After, WWW-Authenticate) added.
HttpReply error_reply(unsigned status, std::string_view message, HttpHeaders headers = {});

// 405 for a path that exists with other methods: `allow` ("GET, POST") goes into the Allow
// header (RFC 9110 requires it) and into the message.
HttpReply method_not_allowed_reply(std::string_view method, std::string_view path,
                                   std::string_view allow);

}  // namespace mh::host
