#pragma once
// How a runner process ended, in words an operator reads ("was killed by signal 11
// (SIGSEGV)"), and reaping it without blocking.
#include <sys/types.h>

#include <optional>
#include <string>

namespace mh::isolation {

struct RunnerExit {
  // `lost`: something else reaped it (hostd's SIGCHLD set to SIG_IGN), the status is gone.
  enum class How { exited, signaled, lost };
  How how = How::exited;
  int code = 0;  // the exit code (exited) or the signal number (signaled); 0 when lost

  // From waitpid's status.
  static RunnerExit from_wait_status(int status) noexcept;
  // "exited with code 3", "was killed by signal 11 (SIGSEGV)".
  std::string describe() const;
  bool clean() const noexcept { return how == How::exited && code == 0; }
  bool killed_by(int signal) const noexcept { return how == How::signaled && code == signal; }
};

// "SIGSEGV" for 11; "signal 77" for a number without a name.
std::string signal_name(int signal);

// Reaps `pid` if it has ended (never blocks); nullopt while it runs. Before reaping, kills
// what is left in its process group (processes the plugin started): a runner leaves nothing
// behind. Only the owner of the child calls this, so a pid is never used after it was reaped.
std::optional<RunnerExit> try_reap(pid_t pid);

}  // namespace mh::isolation
