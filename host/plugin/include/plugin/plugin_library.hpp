#pragma once
// A loaded plugin library: the shared object, its negotiated mh_plugin table, and its identity.
//
// Everything made from a library (model instances, in-flight requests) holds a
// shared_ptr<const PluginLibrary>, so the library cannot be unloaded while any of it lives
// (Boost.DLL's refcounting pattern).
#include <modelhost/plugin.h>

#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace mh::host {

// Why a plugin could not be loaded; the message names the file and the reason.
class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PluginLibrary {
 public:
  // Loads `path`, resolves mh_plugin_get, negotiates the ABI version. Throws PluginLoadError.
  static std::shared_ptr<const PluginLibrary> load(const std::filesystem::path& path);

  const mh_plugin& table() const noexcept { return *table_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string name() const { return table_->name ? table_->name : ""; }
  std::string version() const { return table_->version ? table_->version : ""; }
  uint32_t abi_version() const noexcept { return table_->abi_version; }

  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

 private:
  PluginLibrary(std::filesystem::path path, boost::dll::shared_library library,
                const mh_plugin* table);

  std::filesystem::path path_;
  boost::dll::shared_library library_;
  const mh_plugin* table_;  // owned by the library, valid while library_ is loaded
};

// "1.0" for MH_ABI_MAKE_VERSION(1, 0).
std::string format_abi_version(uint32_t version);

}  // namespace mh::host
