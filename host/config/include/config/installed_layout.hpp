#pragma once
// Where an installed hostd finds what was installed with it, relative to its own executable
// (/proc/self/exe), so that an installed tree works from any prefix: the bundled plugins in
// <prefix>/<libdir>/modelhost/plugins (CMake computes the path from <prefix>/<bindir>).
#include <filesystem>
#include <optional>

namespace mh::host {

// The installed plugin folder beside this hostd, when it exists (it does not in a build tree).
// Searched after every --plugin-dir for a manifest's "plugin".
std::optional<std::filesystem::path> installed_plugin_dir();

}  // namespace mh::host
