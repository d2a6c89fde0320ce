// The small pure parts of the HTTP layer: route matching and route tables, replies, SSE
// framing, content types, and the --listen address syntax.
#include "config/host_config.hpp"
#include "http/admin_api.hpp"
#include "http/http_routes.hpp"
#include "http/inference_dispatch.hpp"
#include "http/replies.hpp"
#include "http/route_table.hpp"
#include "http/sse_writer.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

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

namespace {

// An owner whose handlers record what they were called with.
struct Recorder {
  std::vector<std::string> calls;
  void get_thing(RouteCall call) { calls.push_back("get " + call.name); }
  void put_thing(RouteCall call) { calls.push_back("put " + call.name + " " + call.request.body); }
  void list(RouteCall) { calls.push_back("list"); }
};

constexpr Route<Recorder> kRecorderRoutes[] = {
    {"GET", "/things/{name}", &Recorder::get_thing, "one thing"},
    {"PUT", "/things/{name}", &Recorder::put_thing, "replace it"},
    {"GET", "/things", &Recorder::list, "every thing"},
    {"POST", "/things/{name}", &Recorder::get_thing, "never reached by GET"},
    {"GET", "/things/{name}", &Recorder::list, "shadowed by the first row"},
};

}  // namespace

TEST_CASE("route table: handler, 405 with the allowed methods, 404") {
  Recorder recorder;
  RouteTable table;
  table.add(std::span<const Route<Recorder>>(kRecorderRoutes), recorder);

  RouteMatch match = table.match("GET", "/things/a");
  REQUIRE(match.outcome == RouteMatch::Outcome::found);
  CHECK(match.name == "a");
  (*match.handler)(RouteCall{{}, match.name, nullptr});
  match = table.match("PUT", "/things/b");
  REQUIRE(match.outcome == RouteMatch::Outcome::found);
  HttpRequest request;
  request.body = "{}";
  (*match.handler)(RouteCall{request, match.name, nullptr});
  match = table.match("GET", "/things");
  REQUIRE(match.outcome == RouteMatch::Outcome::found);
  CHECK(match.name.empty());
  (*match.handler)(RouteCall{});
  CHECK(recorder.calls == std::vector<std::string>{"get a", "put b {}", "list"});

  // Every method the path takes, once each, in row order.
  match = table.match("DELETE", "/things/a");
  CHECK(match.outcome == RouteMatch::Outcome::method_not_allowed);
  CHECK(match.handler == nullptr);
  CHECK(match.allow == "GET, PUT, POST");
  match = table.match("POST", "/things");
  CHECK(match.outcome == RouteMatch::Outcome::method_not_allowed);
  CHECK(match.allow == "GET");
  CHECK(table.match("get", "/things").outcome == RouteMatch::Outcome::method_not_allowed);

  CHECK(table.match("GET", "/things/a/b").outcome == RouteMatch::Outcome::not_found);
  CHECK(table.match("GET", "/other").outcome == RouteMatch::Outcome::not_found);
  CHECK(table.match("GET", "/things/").outcome == RouteMatch::Outcome::not_found);
  CHECK(table.match("GET", "").outcome == RouteMatch::Outcome::not_found);
}

TEST_CASE("route tables: a Markdown table, one row each") {
  const RouteInfo rows[] = {{"GET", "/a/{name}", "the a"}, {"POST", "/b", "the `b`"}};
  CHECK(routes_markdown(rows) ==
        "| route | what |\n| --- | --- |\n| `GET /a/{name}` | the a |\n| `POST /b` | the `b` |\n");
  CHECK(routes_markdown(std::span(rows, 1), "admin route") ==
        "| admin route | what |\n| --- | --- |\n| `GET /a/{name}` | the a |\n");
}

TEST_CASE("hostd's route tables: rows unique, reachable, described") {
  std::vector<RouteInfo> all = describe(AdminApi::routes());
  const auto public_rows = describe(Router::routes());
  all.insert(all.end(), public_rows.begin(), public_rows.end());
  REQUIRE(all.size() > 10);
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const RouteInfo& row = all[i];
    CAPTURE(row.pattern);
    CHECK(seen.emplace(row.method, row.pattern).second);
    CHECK((row.method == "GET" || row.method == "POST"));
    CHECK(row.pattern.front() == '/');
    CHECK(!row.description.empty());
    CHECK(row.description.find('|') == std::string_view::npos);  // it would split the table
    CHECK(row.description.find('\n') == std::string_view::npos);
    // No earlier row with the same method takes this row's paths.
    std::string path(row.pattern);
    if (const auto at = path.find("{name}"); at != std::string::npos) path.replace(at, 6, "m");
    std::string name;
    for (std::size_t j = 0; j < i; ++j) {
      if (all[j].method == row.method) CHECK_FALSE(match_route(all[j].pattern, path, name));
    }
  }
  // The admin API is its own table: only /admin/ paths there, none in the public one.
  for (const RouteInfo& row : describe(AdminApi::routes())) {
    CHECK(row.pattern.substr(0, 7) == "/admin/");
  }
  for (const RouteInfo& row : public_rows) CHECK(row.pattern.substr(0, 7) != "/admin/");
}

TEST_CASE("replies: JSON, errors in one shape, 405 with Allow") {
  auto reply = json_reply(201, boost::json::object{{"a", 1}});
  CHECK(reply.status == 201);
  CHECK(reply.content_type == "application/json");
  CHECK(reply.body == R"({"a":1})");
  CHECK(serialized_json_reply(200, "[1]").body == "[1]");
  reply = error_reply(503, "loading", {{"Retry-After", "2"}});
  CHECK(reply.status == 503);
  CHECK(reply.body == R"({"error":{"code":503,"message":"loading","type":"unavailable_error"}})");
  CHECK(reply.headers == HttpHeaders{{"Retry-After", "2"}});
  reply = method_not_allowed_reply("PUT", "/metrics", "GET");
  CHECK(reply.status == 405);
  CHECK(reply.headers == HttpHeaders{{"Allow", "GET"}});
  CHECK(reply.body.find("PUT") != std::string::npos);
  CHECK(reply.body.find("invalid_request_error") != std::string::npos);
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
