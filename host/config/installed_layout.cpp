#include "config/installed_layout.hpp"

#ifndef MH_PLUGIN_DIR_FROM_BINDIR
#error \
    "MH_PLUGIN_DIR_FROM_BINDIR: the plugin folder relative to the bindir (host/config/CMakeLists.txt)"
#endif

namespace mh::host {

namespace fs = std::filesystem;

std::optional<fs::path> installed_plugin_dir() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return std::nullopt;
  const fs::path dir = (self.parent_path() / MH_PLUGIN_DIR_FROM_BINDIR).lexically_normal();
  if (!fs::is_directory(dir, error)) return std::nullopt;
  return dir;
}

}  // namespace mh::host
