#include "reload_report.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "exit_codes.hpp"
#include "status_table.hpp"

namespace hostctl {
namespace {

namespace json = boost::json;

std::string string_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
}

std::vector<std::string> string_list(const json::object& object, std::string_view key) {
  std::vector<std::string> out;
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_array()) return out;
  for (const auto& item : value->as_array())
    if (item.is_string()) out.emplace_back(item.as_string());
  return out;
}

bool settled(const std::string& state) {
  return state == "ready" || state == "failed" || state == "unloaded";
}

std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return text;
}

}  // namespace

std::vector<ReloadChange> parse_reload_reply(std::string_view body) {
  json::error_code ec;
  auto root = json::parse(body, ec);
  const json::value* changes = nullptr;
  if (!ec && root.is_object()) changes = root.as_object().if_contains("changes");
  if (changes == nullptr || !changes->is_array())
    throw OperationFailed("hostd's reload reply has no \"changes\" array: " + std::string(body));
  std::vector<ReloadChange> out;
  for (const auto& entry : changes->as_array()) {
    if (!entry.is_object()) continue;
    const auto& change = entry.as_object();
    out.push_back({string_field(change, "name"), string_field(change, "action"),
                   string_field(change, "state"), string_field(change, "error"),
                   string_list(change, "warnings")});
  }
  return out;
}

ReloadOutput format_reload(const std::vector<ReloadChange>& changes, bool waited) {
  ReloadOutput output;
  std::vector<std::vector<std::string>> rows;
  for (const auto& change : changes) {
    std::vector<std::string> row = {change.name, change.action, change.state};
    if (!change.error.empty()) row.push_back(one_line(change.error));
    if (change.action == "failed" || change.state == "failed") output.failed = true;
    if (waited && !settled(change.state) && change.action != "unchanged") {
      row.push_back("(still " + change.state + " when the wait ended)");
      output.failed = true;
    }
    rows.push_back(std::move(row));
    for (const auto& warning : change.warnings)
      output.warnings += "warning: " + change.name + ": " + one_line(warning) + "\n";
  }
  output.table = format_table(rows);
  return output;
}

}  // namespace hostctl
