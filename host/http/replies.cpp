#include "http/replies.hpp"

#include "http/error_mapping.hpp"

#include <boost/json/serialize.hpp>

#include <utility>

namespace mh::host {

HttpReply json_reply(unsigned status, const boost::json::value& value) {
  return HttpReply{status, "application/json", boost::json::serialize(value), {}};
}

HttpReply serialized_json_reply(unsigned status, std::string json_text) {
  return HttpReply{status, "application/json", std::move(json_text), {}};
}

HttpReply error_reply(unsigned status, std::string_view message, HttpHeaders headers) {
  return HttpReply{status, "application/json", error_json(status, message), std::move(headers)};
}

HttpReply method_not_allowed_reply(std::string_view method, std::string_view path,
                                   std::string_view allow) {
  return error_reply(405,
                     "method " + std::string(method) + " is not allowed on " + std::string(path) +
                         " (allowed: " + std::string(allow) + ")",
                     {{"Allow", std::string(allow)}});
}

}  // namespace mh::host
