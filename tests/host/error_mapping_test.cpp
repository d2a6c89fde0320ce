#include "http/error_mapping.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

using namespace mh::host;

TEST_CASE("error mapping: the one table from mh_status to HTTP") {
  CHECK(http_status_for(MH_OK).status == 200);
  CHECK(http_status_for(MH_INVALID_ARGUMENT).status == 400);
  CHECK(http_status_for(MH_NOT_FOUND).status == 404);
  CHECK(http_status_for(MH_UNAVAILABLE).status == 503);
  CHECK(http_status_for(MH_RESOURCE_EXHAUSTED).status == 429);
  CHECK(http_status_for(MH_DEADLINE_EXCEEDED).status == 504);
  CHECK(http_status_for(MH_CANCELLED).status == 499);
  CHECK(http_status_for(MH_INTERNAL).status == 500);
  CHECK(http_status_for(MH_UNIMPLEMENTED).status == 501);
  CHECK(http_status_for(MH_FAILED_PRECONDITION).status == 409);
  CHECK(http_status_for(MH_PERMISSION_DENIED).status == 403);
  CHECK(http_status_for(static_cast<mh_status>(999)).status == 500);
  CHECK(status_name(MH_DEADLINE_EXCEEDED) == "MH_DEADLINE_EXCEEDED");
  CHECK(error_type_for(404) == "not_found_error");
  CHECK(error_type_for(413) == "invalid_request_error");
  CHECK(error_type_for(429) == "rate_limit_error");
}

TEST_CASE("error mapping: the JSON error shape") {
  auto value = boost::json::parse(error_json(413, "too \"big\""));
  CHECK(value.at("error").at("code") == 413);
  CHECK(value.at("error").at("message") == "too \"big\"");
  CHECK(value.at("error").at("type") == "invalid_request_error");
}
