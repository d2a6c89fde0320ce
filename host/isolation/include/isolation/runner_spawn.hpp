#pragma once
// Starting a runner process: posix_spawn (glibc's vfork-style clone, cheap even from a large
// hostd) with one end of a new Unix socket pair as its channel on kRunnerSocketFd, /dev/null
// as stdin, hostd's stdout and stderr, and every other descriptor closed; its own process group
// (a Ctrl-C at hostd's terminal reaches hostd, which then stops its models in order); every
// signal at its default and none blocked. Resource limits are applied by the runner itself,
// from the load frame, before it loads the plugin (posix_spawn cannot set them).
#include "files/unique_fd.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace mh::isolation {

struct RunnerCommand {
  std::filesystem::path executable;
  std::vector<std::string> arguments;  // after argv[0]
  // Set in the runner's environment (hostd's own, with these added or replaced), e.g.
  // CUDA_VISIBLE_DEVICES.
  std::vector<std::pair<std::string, std::string>> environment;
};

struct SpawnedRunner {
  pid_t pid = -1;
  files::UniqueFd channel;  // hostd's end, close-on-exec, blocking
};

// Throws std::runtime_error naming the executable when it cannot be started.
SpawnedRunner spawn_runner(const RunnerCommand& command);

}  // namespace mh::isolation
