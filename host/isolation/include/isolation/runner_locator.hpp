#pragma once
// Where hostd finds the runner executable: $MODELHOST_RUNNER when set (tests, unusual
// installs), else mh-runner beside hostd's own executable (/proc/self/exe) — where both are
// installed, and where the build puts it.
#include <filesystem>

namespace mh::isolation {

// Throws std::runtime_error saying where it looked.
std::filesystem::path find_runner_executable();

}  // namespace mh::isolation
