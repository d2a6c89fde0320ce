#pragma once
// A plugin running in hostd's own process: forwards every PluginBackend call to the loaded
// library's mh_plugin table, unchanged. Fastest, and shares hostd's fate (a crash in the plugin
// is a crash of hostd). The runner process (host/runner) drives its plugin through this too.
#include "plugin/library_unloader.hpp"
#include "plugin/plugin_backend.hpp"
#include "plugin/plugin_library.hpp"

#include <filesystem>
#include <memory>

namespace mh::host {

class InProcessBackend final : public PluginBackend {
 public:
  // `unloader` (optional, must outlive the backend): the library is handed to it when the
  // backend dies, so it unloads a safe while after the last done and never on a plugin thread
  // (see LibraryUnloader). Without one, the library goes with the last holder.
  explicit InProcessBackend(std::shared_ptr<const PluginLibrary> library,
                            LibraryUnloader* unloader = nullptr);
  ~InProcessBackend() override;

  // Loads `stored` (hostd's private copy, see PluginStore) with PluginLibrary::load; error
  // messages name `shown` (the operator's file) in place of the private path.
  // Throws PluginLoadError.
  static std::shared_ptr<InProcessBackend> load(const std::filesystem::path& stored,
                                                const std::filesystem::path& shown,
                                                LibraryUnloader* unloader = nullptr);

  const PluginLibrary& library() const noexcept { return *library_; }

  std::string name() const override { return library_->name(); }
  std::string version() const override { return library_->version(); }
  std::string description() const override;
  std::uint32_t abi_version() const noexcept override { return library_->abi_version(); }

  void init(const mh_host* host, const mh_model_meta* meta, mh_init_done_fn done,
            void* done_ctx) noexcept override;
  void predict(mh_instance* instance, const mh_request* request,
               mh_response* response) noexcept override;
  void cleanup(mh_instance* instance, mh_cleanup_done_fn done, void* done_ctx) noexcept override;
  const void* get_extension(const char* extension_id) const noexcept override;

 private:
  std::shared_ptr<const PluginLibrary> library_;
  LibraryUnloader* unloader_;
};

// `message` with every occurrence of `stored` replaced by `shown`: what a user sees names the
// file they gave, never hostd's private copy of it.
std::string name_shown_path(std::string message, const std::filesystem::path& stored,
                            const std::filesystem::path& shown);

}  // namespace mh::host
