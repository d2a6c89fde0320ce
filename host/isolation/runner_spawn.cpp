#include "isolation/runner_spawn.hpp"

#include "isolation/runner_contract.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace mh::isolation {

namespace {

// hostd's environment with `overrides` added or replacing variables of the same name.
std::vector<std::string> runner_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    bool replaced = false;
    for (const auto& [key, value] : overrides) replaced = replaced || key == name;
    if (!replaced) result.emplace_back(text);
  }
  for (const auto& [key, value] : overrides) result.push_back(key + "=" + value);
  return result;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& text : strings) result.push_back(text.data());
  result.push_back(nullptr);
  return result;
}

// RAII for the posix_spawn attribute objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

SpawnedRunner spawn_runner(const RunnerCommand& command) {
  const std::string where = "cannot start the runner " + command.executable.string() + ": ";
  for (const auto& [key, value] : command.environment) {
    if (key.empty() || key.find('=') != std::string::npos) {
      throw std::runtime_error(where + "invalid environment variable name \"" + key + "\"");
    }
  }
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
    throw std::runtime_error(where + "socketpair: " + std::strerror(errno));
  }
  files::UniqueFd host_end(ends[0]);
  files::UniqueFd runner_end(ends[1]);
  if (runner_end.get() == kRunnerSocketFd) {
    // dup2 onto itself would keep close-on-exec set: move it out of the way first.
    runner_end = files::UniqueFd(::fcntl(runner_end.get(), F_DUPFD_CLOEXEC, kRunnerSocketFd + 1));
    if (!runner_end) throw std::runtime_error(where + "fcntl: " + std::strerror(errno));
  }

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, runner_end.get(), kRunnerSocketFd);
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, kRunnerSocketFd + 1);
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&setup.attributes, &none);
  posix_spawnattr_setsigdefault(&setup.attributes, &all);
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> argv_text{command.executable.string()};
  argv_text.insert(argv_text.end(), command.arguments.begin(), command.arguments.end());
  std::vector<std::string> env_text = runner_environment(command.environment);
  std::vector<char*> argv = pointers(argv_text);
  std::vector<char*> envp = pointers(env_text);

  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, command.executable.c_str(), &setup.actions,
                                  &setup.attributes, argv.data(), envp.data());
  if (error != 0) throw std::runtime_error(where + std::strerror(error));
  return SpawnedRunner{pid, std::move(host_end)};
}

}  // namespace mh::isolation
