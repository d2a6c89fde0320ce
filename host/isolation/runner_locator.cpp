#include "isolation/runner_locator.hpp"

#include "isolation/runner_contract.hpp"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace mh::isolation {

namespace fs = std::filesystem;

namespace {

bool is_executable_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

fs::path find_runner_executable() {
  if (const char* configured = std::getenv(kRunnerPathVariable);
      configured != nullptr && *configured != '\0') {
    if (!is_executable_file(configured)) {
      throw std::runtime_error(std::string(kRunnerPathVariable) + "=" + configured +
                               ": not an executable file");
    }
    return configured;
  }
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) {
    throw std::runtime_error("cannot find " + std::string(kRunnerExecutableName) +
                             ": /proc/self/exe: " + error.message() + " (set " +
                             kRunnerPathVariable + ")");
  }
  const fs::path beside = self.parent_path() / kRunnerExecutableName;
  if (!is_executable_file(beside)) {
    throw std::runtime_error("cannot find " + beside.string() + " (install " +
                             kRunnerExecutableName + " beside " + self.filename().string() +
                             ", or set " + kRunnerPathVariable + ")");
  }
  return beside;
}

}  // namespace mh::isolation
