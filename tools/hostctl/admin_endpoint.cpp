#include "admin_endpoint.hpp"

#include <unistd.h>

#include <boost/url/parse.hpp>
#include <cstdlib>

#include "exit_codes.hpp"

namespace hostctl {
namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

AdminEndpoint tcp_endpoint(const std::string& url, const AdminEndpointFlags& flags) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    throw UsageError("--admin-url: \"" + url + "\" is not a URL (" + parsed.error().message() +
                     "); expected http://HOST:PORT");
  }
  if (parsed->scheme() != "http") {
    throw UsageError("--admin-url: \"" + url + "\" must start with http:// (hostd's TCP admin " +
                     "listener speaks plain HTTP; put TLS in front of it if it leaves the host)");
  }
  AdminEndpoint endpoint;
  endpoint.host = parsed->host_address();
  if (endpoint.host.empty()) throw UsageError("--admin-url: \"" + url + "\" names no host");
  endpoint.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  endpoint.source = "--admin-url";
  if (flags.admin_token) {
    endpoint.token = *flags.admin_token;
  } else if (auto token = environment("MODELHOST_ADMIN_TOKEN")) {
    endpoint.token = *token;
  } else {
    throw UsageError("--admin-url needs a token: pass --admin-token TOKEN or set " +
                     std::string("MODELHOST_ADMIN_TOKEN (the one hostd was started with)"));
  }
  return endpoint;
}

}  // namespace

std::string AdminEndpoint::describe() const {
  if (is_tcp()) return "http://" + host + ":" + port;
  return "unix socket " + socket_path;
}

std::string default_admin_socket_path() {
  if (auto runtime = environment("XDG_RUNTIME_DIR")) return *runtime + "/modelhost/admin.sock";
  return "/tmp/modelhost-" + std::to_string(::getuid()) + "/admin.sock";
}

AdminEndpoint resolve_admin_endpoint(const AdminEndpointFlags& flags) {
  if (flags.admin_url) return tcp_endpoint(*flags.admin_url, flags);
  AdminEndpoint endpoint;
  if (flags.admin_socket) {
    endpoint.socket_path = *flags.admin_socket;
    endpoint.source = "--admin-socket";
  } else if (auto from_env = environment("MODELHOST_ADMIN_SOCKET")) {
    endpoint.socket_path = *from_env;
    endpoint.source = "MODELHOST_ADMIN_SOCKET";
  } else {
    endpoint.socket_path = default_admin_socket_path();
    endpoint.source = "the default";
  }
  return endpoint;
}

}  // namespace hostctl
