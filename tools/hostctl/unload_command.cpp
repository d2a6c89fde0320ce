// hostctl unload NAME: POST /admin/unload; hostd answers at once (draining or unloaded) and
// the model drains, cleans up and unloads behind it.
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"

namespace hostctl {

int run_unload(AdminClient& client, const UnloadOptions& options) {
  boost::json::object request{{"name", options.name}};
  // Unloading waits for the model's requests in flight, which may be long generations.
  const HttpReply reply =
      client.post_json("/admin/unload", boost::json::serialize(request), std::chrono::seconds(600));
  if (!reply.ok())
    throw OperationFailed("unload " + options.name + " failed: " + error_message(reply));
  std::string state = "unloaded";
  boost::json::error_code ec;
  auto parsed = boost::json::parse(reply.body, ec);
  if (!ec && parsed.is_object()) {
    if (const auto* value = parsed.as_object().if_contains("state"); value && value->is_string())
      state = std::string(value->as_string());
  }
  std::cout << options.name << ": " << state << '\n';
  return kExitOk;
}

}  // namespace hostctl
