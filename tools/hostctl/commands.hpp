// hostctl's subcommands. Each returns an exit code (exit_codes.hpp) and throws UsageError,
// OperationFailed or HostdUnreachable; main() prints those and maps them to exit codes.
#ifndef MODELHOST_HOSTCTL_COMMANDS_HPP
#define MODELHOST_HOSTCTL_COMMANDS_HPP

#include <chrono>
#include <optional>
#include <string>

#include "admin_client.hpp"

namespace hostctl {

struct ReloadOptions {
  std::optional<std::string> name;  // all models when absent
  bool wait = false;
  double timeout_s = 600;  // with wait: how long hostd waits for the models to settle
};
int run_reload(AdminClient& client, const ReloadOptions& options);

struct StatusOptions {
  bool json = false;
};
int run_status(AdminClient& client, const StatusOptions& options);

struct PredictOptions {
  std::string name;
  std::string data;  // JSON text, @file, or @- for standard input
  bool stream = false;
  double timeout_s = 600;  // the whole reply, or (streaming) each wait for the next event
};
int run_predict(AdminClient& client, const PredictOptions& options);

struct UnloadOptions {
  std::string name;
};
int run_unload(AdminClient& client, const UnloadOptions& options);

struct SyncOptions {
  std::string name;
  double timeout_s = 0;  // 0: wait as long as the sync takes
  std::chrono::milliseconds poll_interval{200};
};
int run_sync(AdminClient& client, const SyncOptions& options);

struct InitOptions {
  std::string name;
  std::string dir = ".";
};
int run_init(const InitOptions& options);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_COMMANDS_HPP
