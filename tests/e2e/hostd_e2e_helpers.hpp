#pragma once
// Small helpers shared by hostd's end-to-end test files.
#include "support/admin_client.hpp"
#include "support/hostd_process.hpp"

#include <doctest/doctest.h>

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace mh::e2e {

inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// POST a JSON body to /v1/models/<model>/predict.
inline HttpResponse predict(HttpClient& client, const std::string& model, std::string_view body,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return client.request("POST", "/v1/models/" + model + "/predict", body, {}, timeout);
}

// The "version" an echo reply reports.
inline std::string echo_version(const HttpResponse& response) {
  return std::string(response.json().at("version").as_string());
}

// The "error" object's fields of an error reply.
inline std::string error_message(const HttpResponse& response) {
  return std::string(response.json().at("error").at("message").as_string());
}

// Reloads everything and waits; fails the test when the reload itself fails.
inline boost::json::value reload_all(HostdProcess& hostd) {
  return AdminClient(hostd.admin()).reload();
}

}  // namespace mh::e2e
