#include "http/error_mapping.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace mh::host {

namespace {

struct Row {
  mh_status code;
  std::string_view name;
  unsigned http;
  std::string_view type;
};

// The table. 499 is nginx's "client closed request": the client is gone, so nobody reads it;
// it shows in logs and metrics.
constexpr Row kTable[] = {
    {MH_OK, "MH_OK", 200, ""},
    {MH_INVALID_ARGUMENT, "MH_INVALID_ARGUMENT", 400, "invalid_request_error"},
    {MH_NOT_FOUND, "MH_NOT_FOUND", 404, "not_found_error"},
    {MH_UNAVAILABLE, "MH_UNAVAILABLE", 503, "unavailable_error"},
    {MH_RESOURCE_EXHAUSTED, "MH_RESOURCE_EXHAUSTED", 429, "rate_limit_error"},
    {MH_DEADLINE_EXCEEDED, "MH_DEADLINE_EXCEEDED", 504, "timeout_error"},
    {MH_CANCELLED, "MH_CANCELLED", 499, "cancelled_error"},
    {MH_INTERNAL, "MH_INTERNAL", 500, "internal_error"},
    {MH_UNIMPLEMENTED, "MH_UNIMPLEMENTED", 501, "not_implemented_error"},
    {MH_FAILED_PRECONDITION, "MH_FAILED_PRECONDITION", 409, "conflict_error"},
    {MH_PERMISSION_DENIED, "MH_PERMISSION_DENIED", 403, "permission_error"},
};

}  // namespace

HttpStatusFor http_status_for(mh_status status) {
  for (const auto& row : kTable) {
    if (row.code == status) return {row.http, row.type};
  }
  return {500, "internal_error"};
}

std::string_view status_name(mh_status status) {
  for (const auto& row : kTable) {
    if (row.code == status) return row.name;
  }
  return "MH_UNKNOWN";
}

std::string_view error_type_for(unsigned http_status) {
  for (const auto& row : kTable) {
    if (row.http == http_status && !row.type.empty()) return row.type;
  }
  switch (http_status) {
    case 401:
      return "authentication_error";
    case 405:
      return "invalid_request_error";
    case 413:
      return "invalid_request_error";
    case 415:
      return "invalid_request_error";
    case 431:
      return "invalid_request_error";
    default:
      return http_status >= 500 ? "internal_error" : "invalid_request_error";
  }
}

std::string error_json(unsigned http_status, std::string_view message) {
  boost::json::object error;
  error["code"] = http_status;
  error["message"] = message;
  error["type"] = error_type_for(http_status);
  boost::json::object root;
  root["error"] = std::move(error);
  return boost::json::serialize(root);
}

}  // namespace mh::host
