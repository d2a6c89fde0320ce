// hostctl init NAME [--dir DIR]: writes a new plugin project and says how to build and run it.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "init_template.hpp"

namespace hostctl {

int run_init(const InitOptions& options) {
  const auto root = write_plugin_project(options.name, options.dir);
  const std::string folder = root.lexically_normal().string();
  std::cout << "created " << folder << "/, a modelhost plugin project:\n";
  for (const auto& file : plugin_project_files(options.name))
    std::cout << "  " << (root / file.path).lexically_normal().string() << '\n';
  std::cout << "\nnext:\n"
            << "  cmake --install build --component sdk --prefix " << kSdkPrefix
            << "   # once, in the modelhost tree: the SDK\n"
            << "  cmake -S " << folder << " -B " << folder
            << "/build -DCMAKE_PREFIX_PATH=" << kSdkPrefix << "\n"
            << "  cmake --build " << folder << "/build      # builds " << folder << "/lib"
            << options.name << ".so\n"
            << "  mkdir -p MODELS/" << options.name << " && cp " << folder << "/model.json "
            << folder << "/lib" << options.name << ".so MODELS/" << options.name << "/\n"
            << "  hostctl reload " << options.name << " --wait && hostctl predict " << options.name
            << " -d '{\"text\": \"hi\"}'\n"
            << "(" << folder << "/README.md has the details; MODELS is hostd's --models-dir)\n";
  return kExitOk;
}

}  // namespace hostctl
