// hostctl reload [NAME] [--wait]: POST /admin/reload, one line per change on stdout and the
// scan's warnings (unknown model.json keys, ...) on stderr.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "reload_report.hpp"

namespace hostctl {

namespace json = boost::json;

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
  const auto changes = parse_reload_reply(reply.body);
  if (changes.empty()) {
    std::cout << "nothing to reload: the models directory has no models\n";
    return kExitOk;
  }
  const ReloadOutput output = format_reload(changes, options.wait);
  std::cout << output.table << std::flush;
  std::cerr << output.warnings;
  return output.failed ? kExitFailed : kExitOk;
}

}  // namespace hostctl
