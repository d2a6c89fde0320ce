#pragma once
// The admin API (docs/admin-api.md) spoken directly over hostd's Unix socket (what hostctl
// does), for tests that drive reloads without going through hostctl.
#include "support/http_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace mh::e2e {

class AdminClient {
 public:
  explicit AdminClient(Endpoint admin_socket) : client_(std::move(admin_socket)) {}

  // POST /admin/reload {"name"?, "wait": wait}; returns the reply's JSON, throws on non-200.
  boost::json::value reload(const std::optional<std::string>& name = std::nullopt, bool wait = true,
                            std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // GET /admin/status; throws on non-200.
  boost::json::value status();
  // The status entry of one model, nullopt when status does not list it.
  std::optional<boost::json::object> model(const std::string& name);
  // The model's "state" ("" when not listed).
  std::string state(const std::string& name);
  // Polls status until the model's state is `state`; false on timeout.
  bool wait_for_state(const std::string& name, const std::string& state,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // POST /admin/unload {"name"}; returns the response whatever its status.
  HttpResponse unload(const std::string& name);

  HttpClient& http() { return client_; }

 private:
  HttpClient client_;
};

// The "action" a reload reply gives `name`, "" when it is not listed.
std::string reload_action(const boost::json::value& reply, const std::string& name);

}  // namespace mh::e2e
