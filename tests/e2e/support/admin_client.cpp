#include "support/admin_client.hpp"

#include <boost/json/serialize.hpp>
#include <stdexcept>
#include <thread>

namespace mh::e2e {

namespace json = boost::json;

json::value AdminClient::reload(const std::optional<std::string>& name, bool wait,
                                std::chrono::milliseconds timeout) {
  json::object body;
  if (name) body["name"] = *name;
  body["wait"] = wait;
  body["timeout_ms"] = timeout.count();
  auto response = client_.request("POST", "/admin/reload", json::serialize(body), {},
                                  timeout + std::chrono::seconds(5));
  if (response.status != 200) {
    throw std::runtime_error("reload: HTTP " + std::to_string(response.status) + ": " +
                             response.body);
  }
  return response.json();
}

json::value AdminClient::status() {
  auto response = client_.get("/admin/status");
  if (response.status != 200) {
    throw std::runtime_error("status: HTTP " + std::to_string(response.status) + ": " +
                             response.body);
  }
  return response.json();
}

std::optional<json::object> AdminClient::model(const std::string& name) {
  auto reply = status();
  for (const auto& entry : reply.at("models").as_array()) {
    if (entry.at("name").as_string() == name) return entry.as_object();
  }
  return std::nullopt;
}

std::string AdminClient::state(const std::string& name) {
  auto entry = model(name);
  return entry ? std::string(entry->at("state").as_string()) : std::string();
}

bool AdminClient::wait_for_state(const std::string& name, const std::string& wanted,
                                 std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (state(name) == wanted) return true;
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

HttpResponse AdminClient::unload(const std::string& name) {
  json::object body;
  body["name"] = name;
  return client_.request("POST", "/admin/unload", json::serialize(body));
}

std::string reload_action(const json::value& reply, const std::string& name) {
  for (const auto& change : reply.at("changes").as_array()) {
    if (change.at("name").as_string() == name) {
      return std::string(change.at("action").as_string());
    }
  }
  return {};
}

}  // namespace mh::e2e
