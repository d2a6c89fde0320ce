// The small pure parts of the HTTP layer: route matching, SSE framing, content types, and the
// --listen address syntax.
#include "config/host_config.hpp"
#include "http/http_routes.hpp"
#include "http/inference_dispatch.hpp"
#include "http/sse_writer.hpp"

#include <doctest/doctest.h>

using namespace mh::host;

TEST_CASE("routes: patterns with {name}") {
  std::string name;
  CHECK(match_route("/v1/models/{name}/predict", "/v1/models/echo/predict", name));
  CHECK(name == "echo");
  CHECK_FALSE(match_route("/v1/models/{name}/predict", "/v1/models//predict", name));
  CHECK_FALSE(match_route("/v1/models/{name}/predict", "/v1/models/echo/predict/x", name));
  CHECK_FALSE(match_route("/v1/models/{name}/predict", "/v1/models/echo", name));
  CHECK(match_route("/v1/completions", "/v1/completions", name));
  CHECK_FALSE(match_route("/v1/completions", "/v1/chat/completions", name));
}

TEST_CASE("sse: one event per chunk, [DONE] at the end") {
  CHECK(sse_event("{\"a\":1}") == "data: {\"a\":1}\n\n");
  CHECK(sse_event("one\ntwo") == "data: one\ndata: two\n\n");
  CHECK(sse_done() == "data: [DONE]\n\n");
}

TEST_CASE("content types that count as JSON") {
  CHECK(is_json_content_type(""));
  CHECK(is_json_content_type("application/json"));
  CHECK(is_json_content_type("Application/JSON; charset=utf-8"));
  CHECK(is_json_content_type("application/vnd.api+json"));
  CHECK_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  CHECK_FALSE(is_json_content_type("text/plain"));
}

TEST_CASE("--listen addresses") {
  auto address = parse_listen_address("127.0.0.1:8080");
  CHECK(address.host == "127.0.0.1");
  CHECK(address.port == 8080);
  address = parse_listen_address("[::1]:0");
  CHECK(address.host == "::1");
  CHECK(address.port == 0);
  CHECK(address.to_string() == "[::1]:0");
  CHECK_THROWS(parse_listen_address("localhost"));
  CHECK_THROWS(parse_listen_address("localhost:99999"));
  CHECK_THROWS(parse_listen_address(":80"));
}
