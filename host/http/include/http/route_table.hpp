#pragma once
// A listener's routes as one declarative table. Each row is a method, a path pattern with
// {name} segments, the handler, and a one-line description (hostd --print-routes prints the
// rows; README.md's route list is checked against that). match() finds a request's handler; a
// path that exists only with other methods gives 405 with the methods for the Allow header, any
// other path 404: both derived from the rows, never listed by hand.
//
// A component declares its rows once, with its own member functions as handlers:
//
//   std::span<const Route<Router>> Router::routes() {
//     static constexpr Route<Router> kRoutes[] = {
//         {"GET", "/v2/health/live", &Router::health_live, "liveness probe"},
//         ...};
//     return kRoutes;
//   }
//
// and a listener's table binds the rows of one or more components to their objects:
//
//   RouteTable admin_listener;
//   admin_listener.add(AdminApi::routes(), admin).add(Router::routes(), router);
#include "http/http_exchange.hpp"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mh::host {

// What a handler gets: the request, the pattern's {name} segment, and the way back.
struct RouteCall {
  HttpRequest request;
  std::string name;  // "" when the pattern has no {name} segment
  std::shared_ptr<Exchange> exchange;
};

// One row, as a component declares it. [thread: handlers run on the connection's strand]
template <typename Owner>
struct Route {
  std::string_view method;   // "GET", "POST": compared exactly (methods are case-sensitive)
  std::string_view pattern;  // e.g. "/v1/models/{name}/predict" (see match_route)
  void (Owner::*handler)(RouteCall call);
  std::string_view description;  // one line of Markdown, without '|'
};

// A row without its handler: what documentation shows.
struct RouteInfo {
  std::string_view method;
  std::string_view pattern;
  std::string_view description;
};

template <typename Owner>
std::vector<RouteInfo> describe(std::span<const Route<Owner>> routes) {
  std::vector<RouteInfo> infos;
  for (const auto& route : routes)
    infos.push_back({route.method, route.pattern, route.description});
  return infos;
}

using RouteHandler = std::function<void(RouteCall call)>;

// What a table makes of a request's method and path.
struct RouteMatch {
  enum class Outcome { found, method_not_allowed, not_found };
  Outcome outcome = Outcome::not_found;
  const RouteHandler* handler = nullptr;  // found: lives as long as the table
  std::string name;                       // found: the path's {name} segment
  std::string allow;                      // method_not_allowed: "GET, POST", in row order
};

class RouteTable {
 public:
  // Appends `routes`, bound to `owner` (which must outlive the table). Earlier rows win.
  template <typename Owner>
  RouteTable& add(std::span<const Route<Owner>> routes, Owner& owner) {
    for (const auto& route : routes) {
      rows_.push_back(Row{{route.method, route.pattern, route.description},
                          [&owner, handler = route.handler](RouteCall call) {
                            (owner.*handler)(std::move(call));
                          }});
    }
    return *this;
  }

  // The first row whose pattern and method match; otherwise 405 (with every method the path
  // has) or 404. [thread: any; the table does not change after it was built]
  RouteMatch match(std::string_view method, std::string_view path) const;

  std::vector<RouteInfo> describe() const;

 private:
  struct Row {
    RouteInfo info;
    RouteHandler handler;
  };
  std::vector<Row> rows_;
};

// Matches `path` against a pattern with {name} segments; fills `name` with the segment. A
// {name} segment matches one non-empty path segment; the others match literally.
bool match_route(std::string_view pattern, std::string_view path, std::string& name);

// A Markdown table: a head row "| <heading> | what |", then "| `METHOD pattern` | description |"
// per row, each line ending in '\n'.
std::string routes_markdown(std::span<const RouteInfo> routes, std::string_view heading = "route");

}  // namespace mh::host
