#pragma once
// Runs a command-line program for hostctl's end-to-end tests (hostctl itself, cmake) the way a
// user's shell would: stdout and stderr captured apart, no terminal, bounded in time.
#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace mh::e2e {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when it died of one
  std::string out;
  std::string err;
  std::string describe() const;  // exit code, stdout and stderr, for failure messages
};

struct CommandOptions {
  std::filesystem::path cwd;                                    // empty: the test's own
  std::vector<std::pair<std::string, std::string>> env;         // set over the test's environment
  std::vector<std::string> unset_env;                           // removed from it
  std::chrono::milliseconds timeout = std::chrono::minutes(5);  // killed after that
};

// Runs argv[0] (a path) with argv. Throws std::runtime_error when it cannot start or times out.
CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

// The hostctl under test (MH_HOSTCTL_BINARY) with `args`; MODELHOST_ADMIN_SOCKET,
// MODELHOST_ADMIN_TOKEN and XDG_RUNTIME_DIR are unset unless `options.env` sets them.
CommandResult run_hostctl(const std::vector<std::string>& args, CommandOptions options = {});

}  // namespace mh::e2e
