// hostctl reload [NAME] [--wait]: POST /admin/reload, one line per change.
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <iostream>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "status_table.hpp"

namespace hostctl {
namespace {

namespace json = boost::json;

struct ReloadChange {
  std::string name;
  std::string action;  // added | changed | removed | unchanged | failed
  std::string state;
  std::string error;
};

std::string string_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
}

std::vector<ReloadChange> parse_changes(const std::string& body) {
  json::error_code ec;
  auto root = json::parse(body, ec);
  const json::value* changes = nullptr;
  if (!ec && root.is_object()) changes = root.as_object().if_contains("changes");
  if (changes == nullptr || !changes->is_array())
    throw OperationFailed("hostd's reload reply has no \"changes\" array: " + body);
  std::vector<ReloadChange> out;
  for (const auto& entry : changes->as_array()) {
    if (!entry.is_object()) continue;
    const auto& change = entry.as_object();
    out.push_back({string_field(change, "name"), string_field(change, "action"),
                   string_field(change, "state"), string_field(change, "error")});
  }
  return out;
}

bool settled(const std::string& state) {
  return state == "ready" || state == "failed" || state == "unloaded";
}

}  // namespace

int run_reload(AdminClient& client, const ReloadOptions& options) {
  json::object request;
  if (options.name) request["name"] = *options.name;
  auto http_timeout = std::chrono::seconds(60);
  if (options.wait) {
    request["wait"] = true;
    request["timeout_ms"] = static_cast<std::int64_t>(std::llround(options.timeout_s * 1000));
    // hostd answers when the wait ends; leave it room to say so itself.
    http_timeout = std::chrono::seconds(static_cast<long>(std::ceil(options.timeout_s)) + 30);
  }
  const HttpReply reply = client.post_json("/admin/reload", json::serialize(request), http_timeout);
  if (!reply.ok()) throw OperationFailed("reload failed: " + error_message(reply));
  const auto changes = parse_changes(reply.body);
  if (changes.empty()) {
    std::cout << "nothing to reload: the models directory has no models\n";
    return kExitOk;
  }
  bool failed = false;
  std::vector<std::vector<std::string>> rows;
  for (const auto& change : changes) {
    std::vector<std::string> row = {change.name, change.action, change.state};
    if (!change.error.empty()) row.push_back(change.error);
    if (change.action == "failed" || change.state == "failed") failed = true;
    if (options.wait && !settled(change.state) && change.action != "unchanged") {
      row.push_back("(still " + change.state + " when the wait ended)");
      failed = true;
    }
    rows.push_back(std::move(row));
  }
  std::cout << format_table(rows);
  return failed ? kExitFailed : kExitOk;
}

}  // namespace hostctl
