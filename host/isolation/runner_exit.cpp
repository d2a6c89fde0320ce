#include "isolation/runner_exit.hpp"

#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace mh::isolation {

RunnerExit RunnerExit::from_wait_status(int status) noexcept {
  RunnerExit exit;
  if (WIFSIGNALED(status)) {
    exit.how = How::signaled;
    exit.code = WTERMSIG(status);
  } else {
    exit.how = How::exited;
    exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  }
  return exit;
}

std::string RunnerExit::describe() const {
  switch (how) {
    case How::signaled:
      return "was killed by signal " + std::to_string(code) + " (" + signal_name(code) + ")";
    case How::lost:
      return "ended (its exit status was lost)";
    case How::exited:
      break;
  }
  return "exited with code " + std::to_string(code);
}

std::string signal_name(int signal) {
  if (const char* abbreviation = ::sigabbrev_np(signal)) return std::string("SIG") + abbreviation;
  return "signal " + std::to_string(signal);
}

std::optional<RunnerExit> try_reap(pid_t pid) {
  siginfo_t info{};
  int peeked = 0;
  do {
    peeked = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (peeked < 0 && errno == EINTR);
  if (peeked < 0) {
    // Reaped by someone else (hostd's SIGCHLD set to SIG_IGN): the status is lost.
    return errno == ECHILD ? std::optional(RunnerExit{RunnerExit::How::lost, 0}) : std::nullopt;
  }
  if (info.si_pid != pid) return std::nullopt;  // still running
  // Ended but not reaped, so its process group id cannot belong to anyone else yet.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return RunnerExit::from_wait_status(status);
}

}  // namespace mh::isolation
