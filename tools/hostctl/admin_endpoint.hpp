// Where hostctl finds hostd's admin API: a Unix socket (the default) or a TCP URL with a token.
#ifndef MODELHOST_HOSTCTL_ADMIN_ENDPOINT_HPP
#define MODELHOST_HOSTCTL_ADMIN_ENDPOINT_HPP

#include <optional>
#include <string>

namespace hostctl {

struct AdminEndpoint {
  // Unix socket (when host is empty).
  std::string socket_path;
  // TCP (from --admin-url).
  std::string host;
  std::string port;
  std::string token;
  // How the endpoint was chosen, for messages: "--admin-socket", "MODELHOST_ADMIN_SOCKET", ...
  std::string source;

  bool is_tcp() const { return !host.empty(); }
  // "unix socket /run/user/1000/modelhost/admin.sock" or "http://127.0.0.1:9090".
  std::string describe() const;
};

// What the command line said; empty optionals were not given.
struct AdminEndpointFlags {
  std::optional<std::string> admin_socket;
  std::optional<std::string> admin_url;
  std::optional<std::string> admin_token;
};

// The default socket path (docs/admin-api.md), the same as hostd's:
// $XDG_RUNTIME_DIR/modelhost/admin.sock, else /tmp/modelhost-$UID/admin.sock.
std::string default_admin_socket_path();

// Applies the precedence --admin-url > --admin-socket > MODELHOST_ADMIN_SOCKET > default, and
// MODELHOST_ADMIN_TOKEN when --admin-token is absent. Throws UsageError for a bad URL or a URL
// without a token.
AdminEndpoint resolve_admin_endpoint(const AdminEndpointFlags& flags);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_ADMIN_ENDPOINT_HPP
