// `hostctl init NAME`: a new plugin project, like `truss init`: a C++ class over the SDK
// helper, a CMakeLists.txt that finds the installed SDK, a model.json and a README.
#ifndef MODELHOST_HOSTCTL_INIT_TEMPLATE_HPP
#define MODELHOST_HOSTCTL_INIT_TEMPLATE_HPP

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hostctl {

struct ProjectFile {
  std::string path;  // relative to the project folder
  std::string content;
};

// Where the generated README, `hostctl init`'s hints and the top-level README install the SDK
// (`cmake --install build --component sdk --prefix ...`); CMake expands the "~".
inline constexpr std::string_view kSdkPrefix = "~/.local/modelhost";

// [a-z0-9][a-z0-9-_]*: a folder name, a library name and a model name at once.
bool is_valid_model_name(std::string_view name);

// The files of a new project for model NAME (valid name assumed).
std::vector<ProjectFile> plugin_project_files(std::string_view name);

// Writes the project into parent/NAME and returns that folder. Throws UsageError for an
// invalid name and OperationFailed when parent/NAME exists and is not an empty folder, or a
// file cannot be written.
std::filesystem::path write_plugin_project(std::string_view name,
                                           const std::filesystem::path& parent);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_INIT_TEMPLATE_HPP
