#include "admin_endpoint.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "exit_codes.hpp"

using namespace hostctl;

namespace {

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_SUITE("endpoint") {
  TEST_CASE("the default socket: $XDG_RUNTIME_DIR/modelhost/admin.sock, else /tmp/modelhost-UID") {
    ScopedEnv socket_env("MODELHOST_ADMIN_SOCKET", std::nullopt);
    {
      ScopedEnv runtime("XDG_RUNTIME_DIR", "/run/user/1000");
      CHECK(default_admin_socket_path() == "/run/user/1000/modelhost/admin.sock");
      const AdminEndpoint endpoint = resolve_admin_endpoint({});
      CHECK(endpoint.socket_path == "/run/user/1000/modelhost/admin.sock");
      CHECK(endpoint.source == "the default");
      CHECK_FALSE(endpoint.is_tcp());
    }
    ScopedEnv runtime("XDG_RUNTIME_DIR", std::nullopt);
    CHECK(default_admin_socket_path() ==
          "/tmp/modelhost-" + std::to_string(::getuid()) + "/admin.sock");
  }

  TEST_CASE("--admin-socket beats MODELHOST_ADMIN_SOCKET, which beats the default") {
    ScopedEnv socket_env("MODELHOST_ADMIN_SOCKET", "/env/admin.sock");
    AdminEndpointFlags flags;
    CHECK(resolve_admin_endpoint(flags).socket_path == "/env/admin.sock");
    CHECK(resolve_admin_endpoint(flags).source == "MODELHOST_ADMIN_SOCKET");
    flags.admin_socket = "/flag/admin.sock";
    CHECK(resolve_admin_endpoint(flags).socket_path == "/flag/admin.sock");
    CHECK(resolve_admin_endpoint(flags).source == "--admin-socket");
    CHECK(resolve_admin_endpoint(flags).describe() == "unix socket /flag/admin.sock");
  }

  TEST_CASE("--admin-url: http only, with a token from the flag or MODELHOST_ADMIN_TOKEN") {
    ScopedEnv token_env("MODELHOST_ADMIN_TOKEN", std::nullopt);
    AdminEndpointFlags flags;
    flags.admin_url = "http://10.0.0.5:9090";
    CHECK_THROWS_WITH_AS(resolve_admin_endpoint(flags), doctest::Contains("needs a token"),
                         UsageError);
    flags.admin_token = "s3cret";
    AdminEndpoint endpoint = resolve_admin_endpoint(flags);
    CHECK(endpoint.is_tcp());
    CHECK(endpoint.host == "10.0.0.5");
    CHECK(endpoint.port == "9090");
    CHECK(endpoint.token == "s3cret");
    CHECK(endpoint.describe() == "http://10.0.0.5:9090");
    {
      ScopedEnv env_token("MODELHOST_ADMIN_TOKEN", "from-env");
      flags.admin_token.reset();
      CHECK(resolve_admin_endpoint(flags).token == "from-env");
    }
    flags.admin_token = "t";
    flags.admin_url = "http://localhost";
    CHECK(resolve_admin_endpoint(flags).port == "80");
    flags.admin_url = "https://10.0.0.5:9090";
    CHECK_THROWS_WITH_AS(resolve_admin_endpoint(flags),
                         doctest::Contains("must start with http://"), UsageError);
    flags.admin_url = "not a url";
    CHECK_THROWS_AS(resolve_admin_endpoint(flags), UsageError);
  }
}
