// hostctl's exit codes and the errors that carry them to main().
#ifndef MODELHOST_HOSTCTL_EXIT_CODES_HPP
#define MODELHOST_HOSTCTL_EXIT_CODES_HPP

#include <stdexcept>
#include <string>

namespace hostctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // the operation ran and failed (a model failed, an HTTP error, ...)
  kExitUsage = 2,        // bad arguments; nothing was attempted
  kExitUnreachable = 3,  // hostd is not running, or its admin endpoint cannot be reached
};

// Thrown for a usage error found after parsing (e.g. -d that is not JSON).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when the operation failed; the message says what and why.
class OperationFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when hostd cannot be reached; the message names the endpoint and how to change it.
class HostdUnreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_EXIT_CODES_HPP
