#include "http/route_table.hpp"

#include <algorithm>

namespace mh::host {

RouteMatch RouteTable::match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  std::string name;
  std::vector<std::string_view> other_methods;  // the path exists with these (once each)
  for (const Row& row : rows_) {
    if (!match_route(row.info.pattern, path, name)) continue;
    if (row.info.method == method) {
      result.outcome = RouteMatch::Outcome::found;
      result.handler = &row.handler;
      result.name = std::move(name);
      return result;
    }
    if (std::find(other_methods.begin(), other_methods.end(), row.info.method) ==
        other_methods.end()) {
      other_methods.push_back(row.info.method);
    }
  }
  if (other_methods.empty()) return result;  // not_found
  result.outcome = RouteMatch::Outcome::method_not_allowed;
  for (const std::string_view other : other_methods) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += other;
  }
  return result;
}

std::vector<RouteInfo> RouteTable::describe() const {
  std::vector<RouteInfo> infos;
  for (const Row& row : rows_) infos.push_back(row.info);
  return infos;
}

bool match_route(std::string_view pattern, std::string_view path, std::string& name) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') {
      return false;
    }
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pattern_end = std::min(pattern.find('/'), pattern.size());
    const auto path_end = std::min(path.find('/'), path.size());
    const std::string_view pattern_segment = pattern.substr(0, pattern_end);
    const std::string_view path_segment = path.substr(0, path_end);
    if (pattern_segment == "{name}") {
      if (path_segment.empty()) return false;
      name = std::string(path_segment);
    } else if (pattern_segment != path_segment) {
      return false;
    }
    pattern.remove_prefix(pattern_end);
    path.remove_prefix(path_end);
  }
  return true;
}

std::string routes_markdown(std::span<const RouteInfo> routes, std::string_view heading) {
  std::string text = "| ";
  text += heading;
  text += " | what |\n| --- | --- |\n";
  for (const RouteInfo& route : routes) {
    text += "| `";
    text += route.method;
    text += ' ';
    text += route.pattern;
    text += "` | ";
    text += route.description;
    text += " |\n";
  }
  return text;
}

}  // namespace mh::host
