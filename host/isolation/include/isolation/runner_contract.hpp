#pragma once
// How hostd starts a runner, written once for both sides: the executable's name and where it
// is found, its arguments, the descriptor that carries the channel, and its exit codes.
//
//   mh-runner --model <name#generation> --parent-pid <hostd pid>
//   fd 0: /dev/null; fd 1, 2: hostd's; fd 3: the channel (a Unix stream socket); nothing else.
namespace mh::isolation {

inline constexpr const char* kRunnerExecutableName = "mh-runner";
// Overrides where hostd looks for the runner (tests, unusual installs).
inline constexpr const char* kRunnerPathVariable = "MODELHOST_RUNNER";
inline constexpr int kRunnerSocketFd = 3;
inline constexpr const char* kModelArgument = "--model";
inline constexpr const char* kParentPidArgument = "--parent-pid";

// The runner's exit codes. Anything else (or a signal) comes from the plugin.
inline constexpr int kRunnerExitClean = 0;  // after cleanup's done, or hostd closed the channel
inline constexpr int kRunnerExitLoadFailed = 2;  // after a load_failed frame
inline constexpr int kRunnerExitProtocol = 3;    // hostd sent what the runner cannot read
inline constexpr int kRunnerExitUsage = 64;      // not started by hostd (no channel on fd 3)

}  // namespace mh::isolation
