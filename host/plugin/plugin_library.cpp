#include "plugin/plugin_library.hpp"

#include "plugin/elf_completeness.hpp"

#include <system_error>

namespace mh::host {

std::string format_abi_version(uint32_t version) {
  return std::to_string(MH_ABI_MAJOR_OF(version)) + "." + std::to_string(MH_ABI_MINOR_OF(version));
}

PluginLibrary::PluginLibrary(std::filesystem::path path, boost::dll::shared_library library,
                             const mh_plugin* table)
    : path_(std::move(path)), library_(std::move(library)), table_(table) {}

std::shared_ptr<const PluginLibrary> PluginLibrary::load(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::error_code exists_error;
  if (!std::filesystem::is_regular_file(path, exists_error)) {
    throw PluginLoadError(where + ": plugin file not found");
  }
  if (auto problem = find_elf_incompleteness(path)) {
    throw PluginLoadError(where + ": cannot load plugin library: " + *problem);
  }
  boost::system::error_code error;
  // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NOW reports missing symbols here
  // rather than in the middle of a request.
  boost::dll::shared_library library(
      boost::dll::fs::path(where),
      boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now, error);
  if (error) {
    throw PluginLoadError(where + ": cannot load plugin library: " + error.message() +
                          " (a truncated, half-copied or wrong-architecture file?)");
  }
  if (!library.has(MH_PLUGIN_ENTRY_SYMBOL)) {
    throw PluginLoadError(where + ": not a modelhost plugin: it does not export " +
                          std::string(MH_PLUGIN_ENTRY_SYMBOL) +
                          " (build it with MH_PLUGIN(...) or modelhost_add_plugin)");
  }
  auto get = library.get<const mh_plugin*(uint32_t)>(MH_PLUGIN_ENTRY_SYMBOL);
  const mh_plugin* table = get(MH_ABI_VERSION);
  const std::string host_version = format_abi_version(MH_ABI_VERSION);
  if (table == nullptr) {
    throw PluginLoadError(where + ": the plugin refused to work with host ABI " + host_version);
  }
  if (table->struct_size < sizeof(uint32_t) * 2) {
    throw PluginLoadError(where + ": the plugin's table is malformed (struct_size " +
                          std::to_string(table->struct_size) + ")");
  }
  if (MH_ABI_MAJOR_OF(table->abi_version) != MH_ABI_VERSION_MAJOR) {
    throw PluginLoadError(where + ": plugin ABI " + format_abi_version(table->abi_version) +
                          " is incompatible with host ABI " + host_version +
                          " (the major versions must match)");
  }
  // A same-major table is at least as large as version 1.0's.
  if (table->struct_size < offsetof(mh_plugin, get_extension) + sizeof(table->get_extension) ||
      table->init == nullptr || table->predict == nullptr || table->cleanup == nullptr) {
    throw PluginLoadError(where + ": the plugin's table lacks init, predict or cleanup");
  }
  return std::shared_ptr<const PluginLibrary>(new PluginLibrary(path, std::move(library), table));
}

}  // namespace mh::host
